// Formatting of on-chain integers for display. Exact BigInt arithmetic only: no floats.

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
export const INVALID_SCORE = 0xffffffffn;
export const WAD = 10n ** 18n;

/** `value` (an integer with `scale` decimals) rounded half-up to `decimals`, trailing zeros dropped: "1", "0.35". */
export function decimalText(value, scale = 18, decimals = 6) {
  let v = BigInt(value);
  const negative = v < 0n;
  if (negative) v = -v;
  let q = v;
  if (scale > decimals) {
    const drop = 10n ** BigInt(scale - decimals);
    q = (v + drop / 2n) / drop;
  } else {
    decimals = scale;
  }
  const unit = 10n ** BigInt(decimals);
  const frac = decimals ? (q % unit).toString().padStart(decimals, "0").replace(/0+$/, "") : "";
  return (negative && q !== 0n ? "-" : "") + (q / unit).toString() + (frac ? "." + frac : "");
}

/** A token amount: "1.25 ETH" (6 decimals at most; the exact value goes into a title). */
export function amountText(wei, token) {
  return `${decimalText(wei, token?.decimals ?? 18, 6)} ${token?.symbol ?? "ETH"}`;
}

/** A WAD fraction, exactly: "0.3", "1". */
export function fractionText(wad) {
  return decimalText(wad, 18, 18);
}

/** Decimals a score shows at: resolution 1e14 (0.0001) -> 4. */
export function scoreDecimals(resolution) {
  const r = BigInt(resolution);
  let d = 18;
  let p = 1n;
  while (d > 0 && p * 10n <= r && r % (p * 10n) === 0n) {
    p *= 10n;
    d -= 1;
  }
  return d;
}

/** A score in "score units" (metric / resolution) as the metric's value: 9300 at 1e14 -> "0.9300". */
export function scoreText(score, resolution) {
  if (score === null || score === undefined) return "-";
  const s = BigInt(score);
  if (s === INVALID_SCORE) return "invalid";
  const d = scoreDecimals(resolution);
  const text = decimalText(s * BigInt(resolution), 18, d);
  const [int, frac = ""] = text.split(".");
  return d ? `${int}.${frac.padEnd(d, "0")}` : int;
}

/** A score as a JS number, for drawing only. */
export function scoreNumber(score, resolution) {
  return Number(BigInt(score) * BigInt(resolution)) / 1e18;
}

export function shortAddress(a) {
  return a ? `${a.slice(0, 6)}…${a.slice(-4)}` : "-";
}

export function dateText(seconds) {
  const s = Number(seconds);
  if (!s) return "-";
  return new Date(s * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** A tiny DOM builder: h("td", {class: "x", dataset: {wei: "1"}}, "text", child). Text is never parsed as HTML. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
