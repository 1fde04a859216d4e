// Inline SVG charts, drawn here: the lineage (score over versions) and the reward curve.

import { fractionText, scoreNumber, scoreText, shortAddress, amountText } from "./format.js";

const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function niceTicks(lo, hi, count = 5) {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => span / st <= count) ?? 10 * mag;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(+t.toFixed(12));
  return out;
}

/**
 * Score over versions. `versions`: [{version, parent, score, author, reward}], version 0 is the
 * baseline. Each version is a circle.version (data-version, data-score); edges join a version to
 * its parent. Dashed lines mark the baseline and the target.
 */
export function lineageChart({ versions, resolution, target, token, names = {} }) {
  const W = 720, H = 300, L = 64, R = 24, T = 20, B = 44;
  const scored = versions.filter((v) => v.score !== null);
  const values = scored.map((v) => scoreNumber(v.score, resolution));
  const targetValue = scoreNumber(target, resolution);
  let lo = Math.min(...values, targetValue), hi = Math.max(...values, targetValue);
  const pad = (hi - lo || Math.abs(hi) || 1) * 0.08;
  lo -= pad;
  hi += pad;
  const maxV = Math.max(1, ...versions.map((v) => v.version));
  const x = (v) => L + ((W - L - R) * v) / maxV;
  const y = (val) => T + ((H - T - B) * (hi - val)) / (hi - lo);

  const svg = s("svg", { class: "lineage", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "score over versions" });
  svg.append(s("title", {}, `Score over versions: ${scored.length} versions`));
  const grid = s("g", { class: "grid" });
  for (const t of niceTicks(lo, hi)) {
    grid.append(s("line", { x1: L, x2: W - R, y1: y(t), y2: y(t) }));
    grid.append(s("text", { x: L - 8, y: y(t) + 4, "text-anchor": "end" }, t.toFixed(Math.max(0, -Math.floor(Math.log10((hi - lo) / 5)) + 1))));
  }
  const stepX = Math.max(1, Math.ceil(maxV / 12));
  for (let v = 0; v <= maxV; v += stepX) grid.append(s("text", { x: x(v), y: H - B + 18, "text-anchor": "middle" }, `v${v}`));
  grid.append(s("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", class: "axis-label" }, "version"));
  grid.append(s("text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle", class: "axis-label", transform: `rotate(-90 14 ${(T + H - B) / 2})` }, "score"));
  svg.append(grid);

  const marks = s("g", { class: "marks" });
  marks.append(s("line", { class: "target", x1: L, x2: W - R, y1: y(targetValue), y2: y(targetValue) }));
  marks.append(s("text", { class: "target-label", x: L + 6, y: y(targetValue) - 6, "text-anchor": "start" }, `target ${scoreText(target, resolution)}`));
  const base = versions[0];
  if (base?.score !== null && base?.score !== undefined) {
    const yb = y(scoreNumber(base.score, resolution));
    marks.append(s("line", { class: "baseline", x1: L, x2: W - R, y1: yb, y2: yb }));
    marks.append(s("text", { class: "baseline-label", x: W - R, y: yb + 14, "text-anchor": "end" }, `baseline ${scoreText(base.score, resolution)}`));
  }
  svg.append(marks);

  const byVersion = new Map(versions.map((v) => [v.version, v]));
  const edges = s("g", { class: "edges" });
  for (const v of scored) {
    const p = v.parent === null ? null : byVersion.get(v.parent);
    if (p && p.score !== null) {
      edges.append(s("line", { class: "edge", x1: x(p.version), y1: y(scoreNumber(p.score, resolution)), x2: x(v.version), y2: y(scoreNumber(v.score, resolution)) }));
    }
  }
  svg.append(edges);

  const head = scored.reduce((best, v) => (best === null || v.version > best.version ? v : best), null);
  const points = s("g", { class: "points" });
  for (const v of scored) {
    const who = v.version === 0 ? "baseline (initial model)" : `${names[v.author] ?? shortAddress(v.author)}, reward ${amountText(v.reward, token)}`;
    const c = s("circle", {
      class: `version${v === head ? " head" : ""}`, cx: x(v.version), cy: y(scoreNumber(v.score, resolution)), r: v === head ? 7 : 5,
      dataset: { version: String(v.version), score: String(v.score) },
    }, s("title", {}, `v${v.version}: ${scoreText(v.score, resolution)} — ${who}`));
    points.append(c);
    points.append(s("text", { class: "point-label", x: x(v.version), y: y(scoreNumber(v.score, resolution)) - 11, "text-anchor": "middle" }, scoreText(v.score, resolution)));
  }
  svg.append(points);
  return svg;
}

/** The reward curve c(p): progress p -> share of the reward, through its breakpoints (WAD). */
export function curveChart(curve, { width = 240, height = 160, mini = false } = {}) {
  const M = mini ? 2 : 28;
  const W = width, H = height;
  const x = (p) => M + (W - 2 * M) * p;
  const y = (c) => H - M - (H - 2 * M) * c;
  const pts = curve.map(([px, py]) => [Number(px) / 1e18, Number(py) / 1e18]);
  const svg = s("svg", { class: mini ? "curve mini" : "curve", viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img",
    "aria-label": "reward curve " + curve.map(([a, b]) => `(${fractionText(a)}, ${fractionText(b)})`).join(" ") });
  if (!mini) {
    const g = s("g", { class: "grid" });
    g.append(s("rect", { x: M, y: M, width: W - 2 * M, height: H - 2 * M }));
    g.append(s("line", { class: "diagonal", x1: x(0), y1: y(0), x2: x(1), y2: y(1) }));
    g.append(s("text", { x: x(0), y: H - M + 14, "text-anchor": "middle" }, "0"));
    g.append(s("text", { x: x(1), y: H - M + 14, "text-anchor": "middle" }, "1"));
    g.append(s("text", { x: (x(0) + x(1)) / 2, y: H - 4, "text-anchor": "middle", class: "axis-label" }, "progress p"));
    g.append(s("text", { x: M - 6, y: y(1) + 4, "text-anchor": "end" }, "1"));
    g.append(s("text", { x: 10, y: (y(0) + y(1)) / 2, "text-anchor": "middle", class: "axis-label", transform: `rotate(-90 10 ${(y(0) + y(1)) / 2})` }, "c(p)"));
    svg.append(g);
  }
  svg.append(s("polyline", { class: "curve-line", points: pts.map(([a, b]) => `${x(a)},${y(b)}`).join(" ") }));
  if (!mini) for (const [a, b] of pts) svg.append(s("circle", { class: "breakpoint", cx: x(a), cy: y(b), r: 3.5 }));
  return svg;
}
