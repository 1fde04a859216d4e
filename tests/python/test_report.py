"""`fathom report`'s picture: what a reader must be able to see in it."""

from __future__ import annotations

from fathom.chain.market import WAD
from fathom.cli.report import figure, render

ALICE, BOB = "0x" + "aa" * 20, "0x" + "bb" * 20


def data(target: int = 9_900) -> dict:
    versions = [{"version": 0, "parent": None, "score": 4_500, "author": None, "submission": None, "reward": 0}]
    for v, score in ((1, 5_200), (2, 5_600), (3, 6_000)):
        versions.append({"version": v, "parent": v - 1, "score": score, "author": ALICE, "submission": v, "reward": WAD // 4})
    payouts = {ALICE: {"submitted": 3, "accepted": 3, "rejected": 0, "slashed": 0, "reward": 3 * WAD // 4, "burned": 0},
               BOB: {"submitted": 1, "accepted": 0, "rejected": 0, "slashed": 1, "reward": 0, "burned": 5 * 10**15}}
    return {"bounty": 1, "state": "Closed", "view": {"baselineScore": 4_500, "target": target}, "versions": versions,
            "payouts": payouts, "curve": ([0, WAD], [0, WAD])}


def test_the_target_line_lies_inside_the_score_axes_however_far_off_it_is():
    for target in (9_900, 10_000, 4_000):
        ax = figure(data(target)).axes[0]
        lo, hi = ax.get_ylim()
        assert lo < target / 1e4 < hi
        assert lo < 0.45 and 0.6 < hi  # and the scores with it


def test_version_ticks_are_whole_numbers():
    ax = figure(data()).axes[0]
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_a_small_burned_stake_is_visible_beside_a_large_reward():
    fig = figure(data())
    burn_ax = next(a for a in fig.axes if a.get_ylabel().startswith("stake burned"))
    (bar,) = [b for b in burn_ax.patches if b.get_height() > 0]
    lo, hi = burn_ax.get_ylim()
    assert bar.get_height() / (hi - lo) > 0.5  # 0.005 ETH fills most of its own axis, not 0.5 % of the reward's
    assert any(t.get_text() == "0.005" for t in burn_ax.texts)


def test_render_writes_the_png_and_the_page(tmp_path):
    png, page = render(data(), tmp_path, {ALICE: "alice", BOB: "bob"})
    assert png.stat().st_size > 10_000 and "alice" in page.read_text()
