"""Fixtures of the fathom unit tests: a real IPFS node (js-ipfs from node_modules).

`ipfs_api` (session-scoped) starts ``jsipfs daemon --offline`` with a fresh repository
in a temporary directory and its API on a free port of 127.0.0.1, waits until the API
answers, yields its multiaddr (``/ip4/127.0.0.1/tcp/PORT``), and stops the daemon's
whole process group afterwards. It needs ``node_modules/.bin/jsipfs`` (``make setup``
runs ``npm ci``); without it the tests that use the node fail and say so.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from fathom.storage import jsipfs
from fathom.storage.jsipfs import JSIPFS, IpfsDaemon, IpfsDaemonError, free_port, start_ipfs_daemon  # noqa: F401 - fixtures, benchmarks/ipfs.py

ROOT = Path(__file__).resolve().parents[2]
#: Seconds allowed for `jsipfs init` and for the daemon's API to answer.
START_DEADLINE = float(os.environ.get("FATHOM_TEST_IPFS_DEADLINE", "90"))
jsipfs.DEADLINE = START_DEADLINE


@pytest.fixture(scope="session")
def ipfs_node():
    """A running js-ipfs node (an `IpfsDaemon`), shared by the whole session."""
    workdir = Path(tempfile.mkdtemp(prefix="fathom-ipfs-"))
    try:
        try:
            daemon = start_ipfs_daemon(workdir)
        except IpfsDaemonError as exc:
            pytest.fail(f"cannot start the test IPFS node: {exc}", pytrace=False)
        try:
            yield daemon
        finally:
            daemon.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def ipfs_api(ipfs_node) -> str:
    """The multiaddr of the session's IPFS node's API, e.g. /ip4/127.0.0.1/tcp/40123."""
    return ipfs_node.api


@pytest.fixture
def fathom_env(monkeypatch, tmp_path):
    """A clean FATHOM_* environment (no key, no node, no network) on a throwaway data
    folder, ``tmp_path / "data"``; returns the monkeypatch, to set more variables."""
    for name in list(os.environ):
        if name.startswith("FATHOM_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FATHOM_DATA_DIR", str(tmp_path / "data"))
    return monkeypatch


@pytest.fixture
def ipfs_daemon_factory(tmp_path):
    """Make extra daemons in a test (stopped at its end): factory(port=None) -> IpfsDaemon, initialised."""
    made: list[IpfsDaemon] = []

    def make(port: int | None = None) -> IpfsDaemon:
        daemon = IpfsDaemon(tmp_path / f"extra{len(made)}", port)
        made.append(daemon)
        daemon.init()
        return daemon

    yield make
    for daemon in made:
        daemon.stop()


# ---------------------------------------------------------------- the fault suite's tally

#: The module whose every test is one fault scenario of the oracle daemon.
FAULT_MODULE = "test_oracle_faults.py"


def fault_tally(stats: dict) -> tuple[int, int]:
    """(survived, run) over the fault scenarios in a session's terminal stats: a scenario
    survived if its call passed and no phase of it failed, errored or was skipped."""
    run: set[str] = set()
    passed: set[str] = set()
    bad: set[str] = set()
    for key in ("passed", "failed", "error", "skipped", "xfailed", "xpassed"):
        for report in stats.get(key, []):
            nodeid = getattr(report, "nodeid", "")
            if not nodeid.split("::")[0].endswith(FAULT_MODULE):
                continue
            run.add(nodeid)
            if key == "passed" and report.when == "call":
                passed.add(nodeid)
            elif key != "passed":
                bad.add(nodeid)
    return len(passed - bad), len(run)


def pytest_terminal_summary(terminalreporter):
    survived, run = fault_tally(terminalreporter.stats)
    if run:
        terminalreporter.write_line(f"{survived} of {run} fault scenarios survived")
