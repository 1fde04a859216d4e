"""IPFS throughput: `IpfsStore.add` and `IpfsStore.cat` against a local js-ipfs daemon.

    python benchmarks/ipfs.py              # prints a table and this section's JSON

The daemon is npm's js-ipfs (`node_modules/.bin/jsipfs daemon --offline`), started on a
free port with a fresh repository by the same helper the unit tests use
(`tests/python/conftest.py: IpfsDaemon`), and stopped afterwards.

``add_mb_s``: `IpfsStore.add(data)`: Fathom computes the CID locally, the node chunks,
hashes and stores it (`--cid-version=1 --raw-leaves`, 256 KiB chunks, pinned), and the
two CIDs are compared. Fresh random bytes each repetition, so nothing is deduplicated.
``cat_mb_s``: `IpfsStore.cat(cid)`: `files stat` (size check), the streamed `cat`, and
Fathom's local CID check of what came back. MB = 10**6 bytes. Headline: 16 MiB.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore", category=FutureWarning)  # ipfshttpclient 0.7 on urllib3 2

_SRC = os.environ.get("FATHOM_BENCH_SRC")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, _SRC or str(ROOT))
sys.path.insert(1, str(Path(__file__).resolve().parent))

from fathom.storage.store import IpfsStore, compute_cid  # noqa: E402

from common import load, median, say, section_main, summary  # noqa: E402

SIZES_MIB = [1, 16]
HEADLINE_MIB = 16


def _daemon_module() -> Any:
    """tests/python/conftest.py, loaded under another name (it is not a package)."""
    path = ROOT / "tests" / "python" / "conftest.py"
    spec = importlib.util.spec_from_file_location("fathom_bench_ipfs_daemon", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(quick: bool = False) -> dict[str, Any]:
    helper = _daemon_module()
    workdir = Path(tempfile.mkdtemp(prefix="fathom-bench-ipfs-"))
    daemon = helper.start_ipfs_daemon(workdir)
    try:
        store = IpfsStore(daemon.api, timeout=120)
        version = store.version()
        say(f"  js-ipfs {version} on {daemon.api} (started in {daemon.startup_seconds:.1f} s)")
        detail: dict[str, Any] = {}
        before = load()
        for mib in SIZES_MIB:
            reps = 3 if quick else 5
            n = mib << 20
            warm = os.urandom(n)
            store.cat(store.add(warm), n)
            t_add, t_cat, t_cid = [], [], []
            for _ in range(reps):
                data = os.urandom(n)
                t = time.perf_counter()
                cid = store.add(data)
                t_add.append(time.perf_counter() - t)
                t = time.perf_counter()
                back = store.cat(cid, n)
                t_cat.append(time.perf_counter() - t)
                assert back == data
                t = time.perf_counter()
                compute_cid(data)
                t_cid.append(time.perf_counter() - t)
            row = {
                "bytes": n,
                "add_mb_s": round(n / median(t_add) / 1e6, 1),
                "cat_mb_s": round(n / median(t_cat) / 1e6, 1),
                "local_cid_mb_s": round(n / median(t_cid) / 1e6, 1),
                "add_s": summary(t_add),
                "cat_s": summary(t_cat),
            }
            detail[f"{mib}MiB"] = row
            say(f"  {mib:>3} MiB: add {row['add_mb_s']:>6.1f} MB/s, cat {row['cat_mb_s']:>6.1f} MB/s "
                f"(Fathom's local CID alone: {row['local_cid_mb_s']:.0f} MB/s)")
        head = detail[f"{HEADLINE_MIB}MiB"]
        return {
            "add_mb_s": head["add_mb_s"],
            "cat_mb_s": head["cat_mb_s"],
            "headline": f"{HEADLINE_MIB} MiB of random bytes through IpfsStore (js-ipfs {version}, offline, local repo)",
            "node": f"js-ipfs {version}",
            "daemon_startup_s": round(daemon.startup_seconds or 0, 2),
            "by_size": detail,
            "load_before": before,
            "load_after": load(),
        }
    finally:
        daemon.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    return section_main(__doc__, run)


if __name__ == "__main__":
    sys.exit(main())
