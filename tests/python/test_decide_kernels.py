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
import math
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


def near_copy_batch(seed: int):
    """A small near copy (`benchmarks/kernels.py`'s builder; it decides d = 784 ones)."""
    return kernels.near_copy_batch(seed, rows=600, d=96, k=4)


exact_logit_cosine = kernels.exact_logit_cosine


def _summary(dec, X, y, head, deltas) -> dict:
    """What a vote rests on, comparable across child processes: the batch's data digest, the
    merged ids, shares, verdicts and merged bytes' digest."""
    merged = b"" if dec.delta is None else b"".join(dec.delta[n].tobytes() for n in sorted(dec.delta))
    return {
        "data": hashlib.sha256(b"".join(np.ascontiguousarray(v).tobytes() for v in (
            X, y, head["W0"], deltas[0]["W0"], deltas[1]["W0"]))).hexdigest()[:16],
        "merged_ids": list(dec.merged_ids),
        "shares": {str(i): s for i, s in sorted(dec.shares.items())},
        "verdicts": {str(i): o.verdict for i, o in sorted(dec.outcomes.items())},
        "merged": hashlib.sha256(merged).hexdigest()[:16],
    }


def decide_all() -> dict:
    """Every mirror batch decided as the oracle node decides (one BLAS thread per GEMM); and
    every near copy at a G3 threshold equal to its exact logit cosine (FATHOM_TEST_THRESHOLDS)."""
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
            out["decisions"][f"{metric}/{seed}"] = dict(
                _summary(dec, X, y, head, deltas),
                lcb={str(i): (o.own.lcb.hex() if o.own else None) for i, o in sorted(dec.outcomes.items())})
    for seed, threshold in json.loads(os.environ.get("FATHOM_TEST_THRESHOLDS", "{}")).items():
        manifest, head, deltas, X, y = near_copy_batch(int(seed))
        subs = [aggregate.Submission(10 + i, d, 0, f"c{i}") for i, d in enumerate(deltas)]
        with threadpool_limits(1, "blas"):
            dec = aggregate.decide(manifest, head, 0, subs, X, y, REWARD, workers=2,
                                   duplicate_cosine=float.fromhex(threshold))
        out["decisions"][f"near/{seed}"] = _summary(dec, X, y, head, deltas)
    return out


def _child(coretype: str | None, thresholds: dict | None = None) -> dict:
    env = dict(os.environ)
    env["FATHOM_TEST_THRESHOLDS"] = json.dumps(thresholds or {})
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
    for name, r in runs.items():  # every child built the same batches (no BLAS in the builders)
        assert {k: v["data"] for k, v in r["decisions"].items()} == {k: v["data"] for k, v in ref.items()}, name
    differ = {name: [key for key in ref if r["decisions"][key] != ref[key]] for name, r in runs.items()}
    assert all(not keys for keys in differ.values()), (arch, differ)
    # and the exact tie goes to the lower submission id everywhere (G4, G5)
    for key, got in ref.items():
        assert got["shares"]["10"] >= got["shares"]["11"], (key, got)




NEAR_SEEDS = tuple(range(16))


def test_attack_duplicate_verdicts_differ_between_blas_kernels():
    """G3 near its threshold: the second cosine (of the logit changes) was taken on float32
    GEMM logits, whose last bits differ per kernel. With the threshold set exactly at the
    pair's fixed-order cosine, the later update is a duplicate (cosine >= threshold) or a
    candidate depending on how the kernel rounded, and the shares with it: members on other
    CPUs vote differently. Decided where the proven bound leaves it near the threshold on
    the fixed-order logits, it is a duplicate on every kernel."""
    from fathom.ml import aggregate

    thresholds = {}
    for seed in NEAR_SEEDS:
        manifest, head, deltas, X, y = near_copy_batch(seed)
        c = exact_logit_cosine(manifest, head, deltas, X)
        assert 0.98 < c < 1 and aggregate.cosine(aggregate.flatten(deltas[0]), aggregate.flatten(deltas[1])) < c - 1e-3
        thresholds[str(seed)] = c.hex()
    flags = kernels.cpu_flags()
    runs = {"default": _child(None, thresholds)}
    for name, needs in kernels.CORETYPES:
        if needs <= flags:
            runs[name] = _child(name, thresholds)
    ref = runs["default"]["decisions"]
    near = [key for key in ref if key.startswith("near/")]
    assert len(near) == len(NEAR_SEEDS)
    for key in near:  # both beat the head: the second is a candidate unless taken for a duplicate
        assert ref[key]["verdicts"]["10"] in ("merged", "candidate"), ref[key]
        assert ref[key]["verdicts"]["11"] in ("duplicate", "merged", "candidate"), ref[key]
    for name, r in runs.items():  # every child built the same batches (no BLAS in the builders)
        assert {k: v["data"] for k, v in r["decisions"].items()} == {k: v["data"] for k, v in ref.items()}, name
    differ = {name: [key for key in near if r["decisions"][key] != ref[key]] for name, r in runs.items()}
    assert all(not keys for keys in differ.values()), ({n: r["architecture"] for n, r in runs.items()}, differ)
    for key in near:  # at the threshold exactly: a duplicate (cosine >= threshold), everywhere
        assert ref[key]["verdicts"]["11"] == "duplicate", (key, ref[key])


if __name__ == "__main__":
    print(json.dumps(decide_all()))
