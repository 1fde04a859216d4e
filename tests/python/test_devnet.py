"""`fathom devnet --ipfs`: a chain, the contracts, funded accounts and the bundled IPFS
node in one command; the env.sh it writes points every role at them; SIGTERM (or
Ctrl-C) stops what it started."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from fathom.chain.client import connect
from fathom.errors import FathomError
from fathom.storage.store import IpfsStore

ROOT = Path(__file__).resolve().parents[2]


def test_devnet_with_ipfs_sets_up_every_role_and_stops_what_it_started(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FATHOM_")}
    env.update(PYTHONPATH=str(ROOT), FATHOM_DEPLOYMENTS=str(tmp_path / "deployments"))
    proc = subprocess.Popen([sys.executable, "-m", "fathom", "devnet", "--port", "0", "--ipfs", "--accounts", "2",
                             "--eth", "7", "--dir", str(tmp_path / "dev")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 180
        while not any(line.startswith("running;") for line in lines):
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "".join(lines)
            lines.append(line)
            assert time.monotonic() < deadline, "".join(lines)
        exported = dict(line.removeprefix("export ").strip().split("=", 1)
                        for line in (tmp_path / "dev" / "env.sh").read_text().splitlines())
        assert exported["FATHOM_NETWORK"] == "devnet" and exported["FATHOM_CONFIRMATIONS"] == "0"
        assert exported["FATHOM_DEPLOYMENTS"] == str(tmp_path / "deployments")
        assert (tmp_path / "deployments" / "devnet.json").exists() and "FATHOM_STORE_DIR" not in exported
        w3 = connect(exported["FATHOM_RPC_URL"])
        for i in range(2):
            key_file = tmp_path / "dev" / "keys" / f"account{i}.key"
            address = (tmp_path / "dev" / "keys" / f"account{i}.address").read_text().strip()
            assert w3.eth.get_balance(address) == 7 * 10**18
            assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        store = IpfsStore(exported["FATHOM_IPFS_API"], timeout=10)
        assert store.cat(store.add(b"fathom"), 6) == b"fathom"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "devnet stopped" in out and "Traceback" not in "".join(lines) + out
    try:
        connect(exported["FATHOM_RPC_URL"], timeout=2)
        raise AssertionError("the chain still answers after the devnet stopped")
    except FathomError:
        pass
    try:
        IpfsStore(exported["FATHOM_IPFS_API"], timeout=2).version()
        raise AssertionError("the IPFS node still answers after the devnet stopped")
    except FathomError:
        pass
