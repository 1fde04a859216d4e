"""Shared helpers of Fathom's benchmarks: timing, medians, load, the machine.

Every figure is a median over repeated runs (the runs are kept too) because the
machine is shared: other jobs run beside the benchmarks, so each section records the
1-minute load average before and after it runs, and ratios (fractions of a peak,
speed-ups, encrypt-vs-hash) are computed from measurements interleaved in the same
loop, so both sides of a ratio see the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages (runnable + waiting tasks; this box has 2 cores)."""
    return [round(x, 2) for x in os.getloadavg()]


def timed(fn: Callable[[], Any], reps: int, warmup: int = 1) -> list[float]:
    """Wall seconds of `reps` calls of `fn` after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def summary(samples: list[float], digits: int = 6) -> dict[str, Any]:
    """Median, min, max and the samples themselves."""
    return {
        "median": round(statistics.median(samples), digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
        "n": len(samples),
        "runs": [round(s, digits) for s in samples],
    }


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info

        return [{k: v for k, v in lib.items() if k != "filepath"} for lib in threadpool_info()]
    except Exception as exc:  # noqa: BLE001 - informational
        return [{"error": str(exc)}]


def machine() -> dict[str, Any]:
    import numpy as np

    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_info(),
    }
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        info["numpy_blas_build"] = {k: blas.get(k) for k in ("name", "version", "openblas configuration")}
        simd = cfg.get("SIMD Extensions", {})
        info["numpy_simd"] = {"baseline": simd.get("baseline"), "found": simd.get("found")}
    except Exception:  # noqa: BLE001 - older numpy
        pass
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
        info["cpu_flags"] = sorted(f for f in flags.split(":", 1)[1].split() if f.startswith(("avx", "fma", "sha", "aes")))
    except (OSError, StopIteration):
        pass
    try:
        import cryptography

        info["cryptography"] = cryptography.__version__
    except ImportError:
        pass
    return info


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)


def say(*args: Any) -> None:
    print(*args, flush=True)


def section_main(doc: str, run: Callable[[bool], Any]) -> int:
    """The command line of a section that takes only --quick and --json (artefacts, ipfs)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    out = run(args.quick)
    if args.json:
        write_json(args.json, out)
    return 0
