"""Progress of long work: drawn by tqdm on a terminal, silent otherwise; uploads to an
IPFS node and long event reads report through the same hook as training."""

from __future__ import annotations

import io
import os

from fathom.chain.client import LocalChain, Sender, connect, deploy_all
from fathom.chain.market import Market
from fathom.cli._common import Progress
from fathom.storage.store import PROGRESS_MIN_BYTES, IpfsStore


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_by_tqdm_on_a_terminal(monkeypatch):
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    bar = Progress("training", unit="epoch")
    for epoch in (1, 2, 3):
        bar(epoch, 3, 0.25 / epoch)
    text = screen.getvalue()
    assert "training" in text and "3/3" in text and "epoch" in text and "0.08333" in text
    assert bar.bar is None  # closed once done: the next run draws a new bar
    bar(1, 2)
    assert bar.bar is not None and bar.bar.total == 2


def test_progress_is_silent_when_stderr_is_not_a_terminal(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    bar = Progress("uploading", unit="B")
    bar(5, 10)
    bar(10, 10)
    assert log.getvalue() == ""


def test_a_large_upload_reports_its_progress_and_a_small_one_does_not(ipfs_api):
    store = IpfsStore(ipfs_api, timeout=60)
    calls: list[tuple[int, int]] = []
    store.progress = lambda done, total: calls.append((done, total))
    data = os.urandom(3 * PROGRESS_MIN_BYTES)
    store.add(data)
    assert len(calls) > 2 and calls[-1] == (len(data), len(data))
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    calls.clear()
    store.add(os.urandom(1000))
    assert calls == []


def test_reading_a_long_range_of_events_reports_its_progress():
    with LocalChain("anvil", accounts=1) as chain:
        w3 = connect(chain.url)
        contracts = deploy_all(Sender.unlocked(w3, 0))
        w3.provider.make_request("anvil_mine", [hex(12_000)])
        market = Market(w3, {name: c.address for name, c in contracts.items()})
        calls: list[tuple[int, int]] = []
        market.progress = lambda done, total: calls.append((done, total))
        market.events(from_block=0)
        blocks = w3.eth.block_number + 1
        assert [done for done, _ in calls] == [5_000, 10_000, blocks] and {t for _, t in calls} == {blocks}
