"""`fathom report BOUNTY`: a picture of how a bounty went, from the chain alone.

Writes `<out>/bounty-<id>.png` (score over versions, rewards per contributor, the reward
curve that priced them, with each accepted version marked on it) and
`<out>/bounty-<id>.html` (the same picture embedded, plus the lineage and payout tables).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from fathom.chain.market import WAD, Market
from fathom.roles.requester import held_out_report, lineage, payouts
from fathom.storage.store import Store


def collect(market: Market, bounty_id: int, store: Store | None = None) -> dict[str, Any]:
    """The report's data; with `store`, the held-out test set's result too (F14)."""
    view = market.bounty(bounty_id)
    xs, ys = market.market.functions.getCurve(bounty_id).call()
    return {
        "bounty": bounty_id,
        "state": market.state(bounty_id),
        "view": view,
        "versions": lineage(market, bounty_id),
        "payouts": payouts(market, bounty_id),
        "curve": (list(xs), list(ys)),
        "test_set": held_out_report(market, store, bounty_id) if store is not None else None,
    }


def _short(address: str | None, names: dict[str, str]) -> str:
    if address is None:
        return "requester"
    return names.get(address, address[:6] + "…" + address[-4:])


def figure(data: dict[str, Any], names: dict[str, str] | None = None) -> Any:
    """The report's picture as a matplotlib Figure (three panels): score over versions with the
    baseline and target inside the axes and whole-number version ticks; rewards per
    contributor with burned stake on an axis of its own (a 0.005 ETH slash stays visible
    beside a 1 ETH reward); the reward curve with each accepted version on it."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    names = names or {}
    view, versions = data["view"], data["versions"]
    baseline = versions[0]["score"] if versions and versions[0]["score"] is not None else view["baselineScore"]
    target = view["target"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))

    ax = axes[0]
    nums = [v["version"] for v in versions if v["score"] is not None]
    scores = [v["score"] / 1e4 for v in versions if v["score"] is not None]
    ax.plot(nums, scores, marker="o", color="#1f6feb")
    ax.axhline(target / 1e4, color="#2da44e", linestyle="--", label=f"target {target / 1e4:.4f}")
    ax.axhline(baseline / 1e4 if baseline is not None else 0, color="#8c959f", linestyle=":", label="baseline")
    for v in versions[1:]:
        ax.annotate(_short(v["author"], names), (v["version"], v["score"] / 1e4), textcoords="offset points",
                    xytext=(0, 6), ha="center", fontsize=8)
    levels = scores + [target / 1e4] + ([baseline / 1e4] if baseline is not None else [])
    lo, hi = min(levels), max(levels)
    pad = max((hi - lo) * 0.08, 0.005)
    ax.set_ylim(lo - pad, hi + pad)  # the target line inside the picture, however far off
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # versions are whole numbers
    if nums:
        ax.set_xlim(min(nums) - 0.3, max(nums) + 0.3)
    ax.set_title(f"bounty {data['bounty']}: score over versions")
    ax.set_xlabel("version")
    ax.set_ylabel("score (metric units)")
    ax.legend(loc="lower right", fontsize=8)

    ax = axes[1]
    rows = sorted(data["payouts"].items(), key=lambda kv: -kv[1]["reward"])
    labels = [_short(a, names) for a, _ in rows]
    at = list(range(len(rows)))
    rewards = [r["reward"] / 1e18 for _, r in rows]
    burned = [r["burned"] / 1e18 for _, r in rows]
    ax.bar([x - 0.2 for x in at], rewards, width=0.4, color="#1f6feb", label="reward")
    ax.set_ylabel("reward (token units)", color="#1f6feb")
    ax.set_xticks(at, labels)
    burn_ax = ax.twinx()  # its own scale: a small slash stays visible beside a large reward
    burn_ax.bar([x + 0.2 for x in at], burned, width=0.4, color="#cf222e", label="stake burned")
    burn_ax.set_ylabel("stake burned (token units)", color="#cf222e")
    burn_ax.set_ylim(0, max(burned + [0.0]) * 1.15 or 1.0)
    for x, value in zip(at, burned):
        if value:
            burn_ax.annotate(f"{value:g}", (x + 0.2, value), textcoords="offset points", xytext=(0, 2), ha="center",
                             fontsize=7, color="#cf222e")
    ax.set_title("rewards and slashes per contributor")
    handles = ax.get_legend_handles_labels()[0] + burn_ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=8, loc="upper center")

    ax = axes[2]
    xs, ys = data["curve"]
    ax.plot([x / WAD for x in xs], [y / WAD for y in ys], color="#8250df", label="reward curve c(p)")
    if baseline is not None and target != baseline:
        for v in versions[1:]:
            p = min(max((v["score"] - baseline) / (target - baseline), 0.0), 1.0)
            ax.scatter([p], [_curve_at(xs, ys, p)], color="#1f6feb", zorder=3)
    ax.set_title("the curve that priced them")
    ax.set_xlabel("progress p")
    ax.set_ylabel("share of the reward c(p)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def render(data: dict[str, Any], out: Path, names: dict[str, str] | None = None) -> tuple[Path, Path]:
    import matplotlib.pyplot as plt

    names = names or {}
    versions = data["versions"]
    rows = sorted(data["payouts"].items(), key=lambda kv: -kv[1]["reward"])
    fig = figure(data, names)
    out.mkdir(parents=True, exist_ok=True)
    png = out / f"bounty-{data['bounty']}.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)

    table = "".join(
        f"<tr><td>{v['version']}</td><td>{'' if v['parent'] is None else v['parent']}</td>"
        f"<td>{'' if v['score'] is None else format(v['score'] / 1e4, '.4f')}</td><td>{html.escape(_short(v['author'], names))}</td>"
        f"<td>{v['reward'] / 1e18:.6f}</td></tr>"
        for v in versions
    )
    pay = "".join(
        f"<tr><td>{html.escape(_short(a, names))}</td><td>{r['submitted']}</td><td>{r['accepted']}</td>"
        f"<td>{r['rejected']}</td><td>{r['slashed']}</td><td>{r['reward'] / 1e18:.6f}</td><td>{r['burned'] / 1e18:.6f}</td></tr>"
        for a, r in rows
    )
    image = base64.b64encode(png.read_bytes()).decode()
    page = out / f"bounty-{data['bounty']}.html"
    page.write_text(
        f"<!doctype html><meta charset='utf-8'><title>Fathom bounty {data['bounty']}</title>"
        "<style>body{font:14px system-ui;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}</style>"
        f"<h1>Bounty {data['bounty']} ({html.escape(data['state'])})</h1>"
        f"<img alt='score over versions, rewards, curve' src='data:image/png;base64,{image}' style='max-width:100%'>"
        "<h2>Lineage</h2><table><tr><th>version</th><th>parent</th><th>score</th><th>author</th><th>reward</th></tr>"
        f"{table}</table>{_test_set_html(data, versions)}<h2>Contributors</h2><table><tr><th>who</th><th>sent</th><th>accepted</th><th>rejected</th>"
        f"<th>slashed</th><th>reward</th><th>burned</th></tr>{pay}</table>\n"
    )
    return png, page


def _test_set_html(data: dict[str, Any], versions: list[dict[str, Any]]) -> str:
    """The held-out test set's line (F14), beside the head's validation score."""
    from fathom.cli.bounty import held_out_line

    test = data.get("test_set")
    if not test:
        return ""
    head = next((v["score"] for v in reversed(versions) if v["score"] is not None), None)
    return f"<p>{html.escape(held_out_line(test, None if head is None else format(head / 1e4, '.4f')))}</p>"


def _curve_at(xs: list[int], ys: list[int], p: float) -> float:
    for i in range(1, len(xs)):
        x0, x1 = xs[i - 1] / WAD, xs[i] / WAD
        if p <= x1:
            y0, y1 = ys[i - 1] / WAD, ys[i] / WAD
            return y0 + (y1 - y0) * (p - x0) / (x1 - x0)
    return 1.0


def report(market: Market, bounty_id: int, out: Path, names: dict[str, str] | None = None,
           store: Store | None = None) -> tuple[Path, Path]:
    return render(collect(market, bounty_id, store), out, names)
