"""The test IPFS node of conftest.py: private, offline, started and stopped cleanly."""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.request

import pytest


def _post(url: str) -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10) as response:
        return json.loads(response.read())


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_the_session_node_is_js_ipfs_alone_in_a_temporary_repo(ipfs_node, ipfs_api):
    assert ipfs_api == f"/ip4/127.0.0.1/tcp/{ipfs_node.port}"
    assert _post(f"{ipfs_node.url}/version")["Version"] == "0.18.1"  # ipfs-core of npm ipfs 0.66.1
    assert _post(f"{ipfs_node.url}/id")["Addresses"] == []  # no swarm listener: offline, alone
    config = json.loads((ipfs_node.repo / "config").read_text())
    assert config["Addresses"]["Swarm"] == [] and config["Bootstrap"] == []
    assert not str(ipfs_node.repo).startswith(os.path.expanduser("~/.jsipfs"))
    assert ipfs_node.proc.poll() is None
    assert 0 < ipfs_node.startup_seconds < 90


def test_a_daemon_reports_a_taken_port_then_starts_and_stops_with_its_process_group(ipfs_daemon_factory):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    daemon = ipfs_daemon_factory(port)
    try:
        started = time.monotonic()
        with pytest.raises(RuntimeError, match=f"(?s)cannot listen on port {port}.*EADDRINUSE"):
            daemon.start()
        assert time.monotonic() - started < 60
        assert daemon.proc is None
    finally:
        holder.close()

    daemon.start()  # the same repository, now that the port is free
    pid = daemon.proc.pid
    assert _post(f"{daemon.url}/version")["Version"]
    daemon.stop()
    assert daemon.proc is None
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # no process of its group is left
    assert not _port_open(port)
