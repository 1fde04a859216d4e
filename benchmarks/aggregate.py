"""Issue 17's benchmarks of a batch's decision (fathom.ml.aggregate, SPECIFICATION G1-G7).

    python benchmarks/aggregate.py [--quick] [--json out.json]
    python benchmarks/run.py --only aggregation     # writes results.json's "aggregation"
                                                    # and "scoring.aggregate_b32"

scoring.aggregate_b32: the whole decision of a batch of 32 honest updates (softmax, d = 784,
10 classes, 10,000 validation rows: each alone against the head with the paired test, the
duplicate screen, the greedy merge, the shares) as a multiple of scoring the 32 candidates
alone (`models.score_many`), both on one BLAS thread, interleaved, medians of 5 runs (3 with
--quick). The decision is timed as the oracle runs it: given the exact per-row units its
scoring pass already made (`models.row_units`, which the reports use too; `decide(scored=)`,
issue 14.8); the detail also holds `decide` computing its own units.

aggregation.*: the one-winner rule (R5: the best single candidate per batch takes the
version and the reward) against the new rule (`aggregate.decide`), each run for the same
number of batches from the same seed model, by the same contributors with the same data,
hyperparameters and seeds (each trains on the head of its time, so later updates differ
between the rules), one harmful contributor among them (its update reversed and blown up,
as the demo's c5). Two data sets: scikit-learn's digits, split so that the held-out set is
large enough to tell the rules apart (issue 17 item 5), and a make_classification task.
For each rule: the final validation score, the held-out score, and the share of honest
contributors paid anything.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from common import load, median, say, section_main, summary  # noqa: E402
from fathom.ml import aggregate, models, training  # noqa: E402
from fathom.ml.aggregate import Submission  # noqa: E402

REWARD = 10_000  # per batch, in basis points of the batch's reward


# ---------------------------------------------------------------------------- the cost


def aggregate_b32(quick: bool = False) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    from scoring import blobs, node_kwargs

    d, n, batch = 784, 10_000, 32
    manifest = models.make_manifest("softmax", d, 10, metric="accuracy")
    head = models.init_model(manifest, seed=1)
    X, y = blobs(n, d, seed=3)
    Xt, yt = blobs(batch * 300, d, seed=4)
    with threadpool_limits(1, "blas"):
        subs = [Submission(i, training.make_update(head, training.train(
            manifest, head, Xt[300 * i:300 * (i + 1)], yt[300 * i:300 * (i + 1)], lr=0.05, epochs=1, batch_size=32,
            seed=i)), 0) for i in range(batch)]
    deltas = [s.delta for s in subs]
    kw = node_kwargs()
    reps = 3 if quick else 5
    before = load()
    decide_t, own_t, score_t = [], [], []
    with threadpool_limits(1, "blas"):  # as the oracle scores: one BLAS thread per GEMM
        scored = models.row_units(manifest, head, deltas, X, y)
        decision = aggregate.decide(manifest, head, 0, subs, X, y, REWARD, scored=scored)
        models.score_many(manifest, head, deltas, X, y, **kw)
        for _ in range(reps):
            t = time.perf_counter()
            models.score_many(manifest, head, deltas, X, y, **kw)
            score_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            aggregate.decide(manifest, head, 0, subs, X, y, REWARD, scored=scored)
            decide_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            aggregate.decide(manifest, head, 0, subs, X, y, REWARD)
            own_t.append(time.perf_counter() - t)
    ratio = median(decide_t) / median(score_t)
    verdicts = [o.verdict for o in decision.outcomes.values()]
    say(f"  aggregate_b32: decision {median(decide_t) * 1e3:.0f} ms, scoring the 32 alone {median(score_t) * 1e3:.0f} ms "
        f"-> {ratio:.1f}x ({len(decision.merged_ids)} merged, {verdicts.count('candidate')} not merged)")
    return {
        "aggregate_b32": round(ratio, 2),
        "aggregate_b32_detail": {
            "model": "softmax, d=784, k=10, accuracy, 10,000 validation rows, 32 honest updates (1 epoch of SGD on "
                     "300 rows each), 1 BLAS thread",
            "decide_s": summary(decide_t),
            "decide_computing_its_own_units_s": summary(own_t),
            "score_many_32_s": summary(score_t),
            "score_many_kwargs": kw,
            "merged": len(decision.merged_ids),
            "verdicts": {v: verdicts.count(v) for v in sorted(set(verdicts))},
            "load_before": before,
            "load_after": load(),
        },
    }


# ---------------------------------------------------------------------------- the comparison


def _task(name: str, X: np.ndarray, y: np.ndarray, k: int, cuts: tuple[int, int, int], shards: int, lr: float,
          epochs: int, seed_lr: float, seed_epochs: int, split: str) -> dict[str, Any]:
    """A data set cut into public rows (the seed model), validation, held-out and shards."""
    public, val, held = cuts
    m = models.make_manifest("softmax", X.shape[1], k)
    rest = np.array_split(np.arange(held, len(y)), shards)
    return {
        "name": name, "manifest": m,
        "seed": training.train(m, models.init_model(m, seed=1), X[:public], y[:public], lr=seed_lr, epochs=seed_epochs,
                               batch_size=32, seed=1),
        "validation": (X[public:val], y[public:val]), "held_out": (X[val:held], y[val:held]),
        "shards": [(X[s], y[s]) for s in rest], "lr": lr, "epochs": epochs, "split": split,
    }


def _digits() -> dict[str, Any]:
    from fathom.cli.demo import shuffled_digits

    return _task("digits", *shuffled_digits(), 10, (60, 660, 1160), 6, lr=0.5, epochs=6, seed_lr=0.5, seed_epochs=3,
                 split="60 public (seed model), 600 validation, 500 held out, 637 in 6 shards (5 honest, 1 harmful)")


def _classification() -> dict[str, Any]:
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=20_000, n_features=20, n_informative=10, n_redundant=4, n_classes=4,
                               class_sep=1.5, flip_y=0.02, random_state=17)
    return _task("make_classification", X.astype(np.float32), y, 4, (200, 4200, 10_200), 8, lr=0.05, epochs=1,
                 seed_lr=0.05, seed_epochs=1,
                 split="make_classification(20,000 rows, 20 features, 10 informative, 4 classes, class_sep 1.5, "
                       "seed 17): 200 public, 4,000 validation, 6,000 held out, 9,800 in 8 shards (7 honest, 1 harmful)")


def _play(task: dict[str, Any], rule: str, batches: int) -> dict[str, Any]:
    m, head = task["manifest"], task["seed"]
    shards = task["shards"]
    harmful = len(shards) - 1
    paid: dict[int, int] = {}
    merged_per_batch = []
    for b in range(batches):
        subs = []
        for c, (X, y) in enumerate(shards):
            delta = training.make_update(head, training.train(m, head, X, y, lr=task["lr"], epochs=task["epochs"],
                                                              batch_size=32, seed=100 * b + c))
            if c == harmful:
                delta = {k: (-25 * v).astype(np.float32) for k, v in delta.items()}
            subs.append(Submission(100 * b + c, delta, b, f"c{c}"))
        if rule == "aggregate":
            d = aggregate.decide(m, head, b, subs, *task["validation"], REWARD)
        else:
            d = aggregate.one_winner(m, head, b, subs, *task["validation"], REWARD)
        for sid, share in d.shares.items():
            paid[sid % 100] = paid.get(sid % 100, 0) + share
        merged_per_batch.append(len(d.merged_ids))
        if d.params is not None:
            head = d.params
    honest = range(len(shards) - 1)
    return {
        "validation": round(models.score(m, head, *task["validation"]), 4),
        "held_out": round(models.score(m, head, *task["held_out"]), 4),
        "honest_paid_share": round(sum(1 for c in honest if paid.get(c, 0) > 0) / len(honest), 3),
        "harmful_paid": paid.get(harmful, 0),
        "merged_per_batch": merged_per_batch,
        "paid_bps_by_contributor": {f"c{c}": paid.get(c, 0) for c in range(len(shards))},
    }


def comparison(quick: bool = False) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    batches = 2 if quick else 4
    out: dict[str, Any] = {"batches": batches, "reward_per_batch_bps": REWARD}
    with threadpool_limits(1, "blas"):
        for task in (_digits(), _classification()):
            row: dict[str, Any] = {"split": task["split"],
                                   "seed_model": {"validation": round(models.score(task["manifest"], task["seed"], *task["validation"]), 4),
                                                  "held_out": round(models.score(task["manifest"], task["seed"], *task["held_out"]), 4)}}
            for rule in ("one_winner", "aggregate"):
                row[rule] = _play(task, rule, batches)
                r = row[rule]
                say(f"  {task['name']:<20} {rule:<10} validation {r['validation']:.4f} held out {r['held_out']:.4f} "
                    f"honest paid {r['honest_paid_share']:.2f} merged {r['merged_per_batch']}")
            out[task["name"]] = row
    return out


def run(quick: bool = False) -> dict[str, Any]:
    say("aggregation: the batch decision's cost (scoring.aggregate_b32)")
    cost = aggregate_b32(quick)
    say("aggregation: one winner per batch against the merge, on two data sets")
    out = comparison(quick)
    out["scoring"] = cost  # run.py moves this under "scoring"
    return out


if __name__ == "__main__":
    sys.exit(section_main(__doc__, run))
