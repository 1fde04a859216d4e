"""The batch decision does not depend on the BLAS kernel (issue 14.8; SPECIFICATION G2, G7).

`aggregate.decide` names the merged model and the shares that every honest member votes for
(R5): they must be bit-identical among honest members, whatever CPU each runs. Here the
same crafted batches are decided in one child process per ``OPENBLAS_CORETYPE`` this CPU can
run (set only in the child's environment, as `benchmarks/kernels.py` does; this process's
settings are never touched), and the decisions compared.

The batches are mirror ties: the validation rows come in pairs (u, v) and (v, u); the head
weighs both feature blocks alike, update A moves the first block's weights and update B
(another contributor) moves the second block's by the same amounts. In exact arithmetic
A's per-row values are B's on the mirrored rows, so their tests, their lower bounds and
their Shapley values are equal, and ties go to the lower submission id (G4, G5), with an
odd reward so that the last unit goes by that tie. A float32 GEMM sums the two blocks at
other positions, so each kernel rounds A's rows and B's rows differently: decided on those
floats, the tie breaks one way or the other per kernel.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

_REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(_REPO / "benchmarks"))

import kernels  # noqa: E402  (benchmarks/kernels.py: CORETYPES, cpu_flags)

REWARD = 10_001  # odd: an exact tie of two shares leaves one unit to the tie rule
SEEDS = (1, 2, 3)
METRICS = ("log_loss", "mse")


def mirror_batch(metric: str, seed: int):
    """A small mirror tie (`benchmarks/kernels.py`'s builder; it decides d = 784 ones)."""
    return kernels.mirror_batch(metric, seed, rows=300, half=48, k=4)


def decide_all() -> dict:
    """Every mirror batch decided as the oracle node decides (one BLAS thread per GEMM)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from fathom.ml import aggregate

    info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    out = {"architecture": info[0].get("architecture") if info else None, "decisions": {}}
    for metric in METRICS:
        for seed in SEEDS:
            manifest, head, deltas, X, y = mirror_batch(metric, seed)
            subs = [aggregate.Submission(10 + i, d, 0, f"c{i}") for i, d in enumerate(deltas)]
            with threadpool_limits(1, "blas"):
                dec = aggregate.decide(manifest, head, 0, subs, X, y, REWARD, workers=2)
            merged = b"" if dec.delta is None else b"".join(dec.delta[n].tobytes() for n in sorted(dec.delta))
            out["decisions"][f"{metric}/{seed}"] = {
                "merged_ids": list(dec.merged_ids),
                "shares": {str(i): s for i, s in sorted(dec.shares.items())},
                "verdicts": {str(i): o.verdict for i, o in sorted(dec.outcomes.items())},
                "lcb": {str(i): (o.own.lcb.hex() if o.own else None) for i, o in sorted(dec.outcomes.items())},
                "merged": hashlib.sha256(merged).hexdigest()[:16],
            }
    return out


def _child(coretype: str | None) -> dict:
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None) if coretype is None else env.__setitem__("OPENBLAS_CORETYPE", coretype)
    env["PYTHONPATH"] = os.pathsep.join([str(_REPO)] + [p for p in [env.get("PYTHONPATH")] if p])
    done = subprocess.run([sys.executable, str(Path(__file__).resolve())], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_mirror_batches_are_exact_ties():
    """The construction is what the attack needs: A's and B's per-row units are one
    another's on the mirrored rows, so an exact decision sees a tie (and a float one may not)."""
    from fathom.ml import models

    for metric in METRICS:
        for seed in SEEDS:
            manifest, head, deltas, X, y = mirror_batch(metric, seed)
            units, valid, _ = models.row_units(manifest, head, deltas, X, y)
            assert valid.all()
            n = len(y) // 2
            swapped = np.concatenate([units[n:], units[:n]])
            assert (units[:, 1] == swapped[:, 2]).all() and (units[:, 0] == swapped[:, 0]).all()
            assert units[:, 1].sum() != units[:, 0].sum()  # the updates do change the score


def test_attack_merge_decisions_differ_between_blas_kernels():
    flags = kernels.cpu_flags()
    runs = {"default": _child(None)}
    for name, needs in kernels.CORETYPES:
        if needs <= flags:
            runs[name] = _child(name)
    arch = {name: r["architecture"] for name, r in runs.items()}
    assert len(set(arch.values())) >= 2 or len(runs) == 1, arch
    ref = runs["default"]["decisions"]
    for metric in METRICS:  # the batches decide something: both candidates, a merge, shares
        for seed in SEEDS:
            got = ref[f"{metric}/{seed}"]
            assert got["merged_ids"] and sum(got["shares"].values()) == REWARD, got
            assert set(got["verdicts"].values()) <= {"merged", "candidate"}, got
    differ = {name: [key for key in ref if r["decisions"][key] != ref[key]] for name, r in runs.items()}
    assert all(not keys for keys in differ.values()), (arch, differ)
    # and the exact tie goes to the lower submission id everywhere (G4, G5)
    for key, got in ref.items():
        assert got["shares"]["10"] >= got["shares"]["11"], (key, got)


if __name__ == "__main__":
    print(json.dumps(decide_all()))
