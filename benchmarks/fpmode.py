"""Put this process's x86 floating-point unit in DAZ and / or FTZ mode, for child processes only.

DAZ (denormals are zero, MXCSR bit 6): subnormal inputs of SSE / AVX operations are read
as zero (with their sign). FTZ (flush to zero, MXCSR bit 15): subnormal results are written
as zero (with their sign). Some BLAS builds, -ffast-math libraries loaded in-process, or a
machine's settings leave them on; `benchmarks/kernels.py` and
`tests/python/test_scoring_determinism.py` score under each in child processes.

MXCSR is per thread and a new thread inherits its creator's, while OpenBLAS starts its
threads when numpy is imported: call `enter` BEFORE importing numpy, then `check` (after
importing it) proves that both the main thread and the BLAS threads run in the mode.
Never call this in a process that must keep the machine's settings (the tests' own
process, the benchmarks' parent).
"""

from __future__ import annotations

import ctypes
import sys

#: mode -> MXCSR bits to set (and the other of the two cleared)
MODES = {"none": 0x0, "daz": 0x40, "ftz": 0x8000, "daz+ftz": 0x8040}
_BOTH = 0x8040
#: glibc x86-64 fenv_t: 32 bytes, the MXCSR at offset 28
_FENV_BYTES, _MXCSR_AT = 32, 28


def mxcsr() -> int:
    """This thread's MXCSR (through glibc's fegetenv)."""
    libm = ctypes.CDLL("libm.so.6")
    env = (ctypes.c_ubyte * _FENV_BYTES)()
    if libm.fegetenv(env) != 0:
        raise OSError("fegetenv failed")
    return int.from_bytes(bytes(env[_MXCSR_AT:_MXCSR_AT + 4]), "little")


def enter(mode: str) -> None:
    """Set (or clear) DAZ and FTZ in this thread's MXCSR; refused once numpy is loaded."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    if "numpy" in sys.modules:
        raise RuntimeError("set the FP mode before importing numpy (OpenBLAS's threads inherit it at import)")
    if sys.platform != "linux" or not ctypes.sizeof(ctypes.c_void_p) == 8:
        raise RuntimeError("DAZ / FTZ through glibc's fenv_t is for x86-64 Linux")
    libm = ctypes.CDLL("libm.so.6")
    env = (ctypes.c_ubyte * _FENV_BYTES)()
    if libm.fegetenv(env) != 0:
        raise OSError("fegetenv failed")
    value = (int.from_bytes(bytes(env[_MXCSR_AT:_MXCSR_AT + 4]), "little") & ~_BOTH) | MODES[mode]
    env[_MXCSR_AT:_MXCSR_AT + 4] = list(value.to_bytes(4, "little"))
    if libm.fesetenv(env) != 0 or mxcsr() & _BOTH != MODES[mode]:
        raise OSError(f"could not set MXCSR to {value:#x}")


def check(mode: str) -> dict[str, bool]:
    """Prove the mode by its effects, in the main thread and in a GEMM large enough to run on
    every BLAS thread: DAZ reads a subnormal input times 2^60 (a normal product) as 0;
    FTZ flushes the inexact subnormal product 1e-20 * 1e-20 to 0 (and DAZ zeroes the sum of
    such products too). Raises unless every element shows the mode."""
    import numpy as np
    from threadpoolctl import threadpool_info

    daz, ftz = bool(MODES[mode] & 0x40), bool(MODES[mode] & 0x8000)
    sub = np.array([0x100], np.uint32).view(np.float32)[0]  # a subnormal float32, from its bits
    seen = {"main_daz": float(sub * np.float32(2.0**60)) == 0.0,
            # the product's bits: converting it to a Python float would read it as 0 under DAZ
            "main_ftz": int(np.array([np.float32(1e-20) * np.float32(1e-20)]).view(np.uint32)[0]) == 0}
    A, B = np.full((512, 384), sub, np.float32), np.full((384, 512), 2.0**60, np.float32)
    seen["blas_daz"] = bool((A @ B == 0).all())
    dz = bool((A @ B != 0).all())
    A, B = np.full((512, 384), 1e-20, np.float32), np.full((384, 512), 1e-20, np.float32)
    seen["blas_ftz"] = bool((A @ B == 0).all())
    fz = bool((A @ B != 0).all())
    want = {"main_daz": daz, "main_ftz": ftz, "blas_daz": daz, "blas_ftz": daz or ftz}
    if seen != want or (not daz and not dz) or (not (daz or ftz) and not fz):
        raise RuntimeError(f"FP mode {mode!r} did not take everywhere: {seen}, expected {want}")
    threads = max((i.get("num_threads", 1) for i in threadpool_info() if i.get("user_api") == "blas"), default=1)
    return {**seen, "blas_threads": threads}
