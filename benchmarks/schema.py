"""Mapping a contributor's table onto a bounty's features: time and accuracy.

    python benchmarks/schema.py          # prints a table and this section's JSON

``schema.map_ms``: the wall time of `fathom.ml.tables.map_columns` on a 30-column table
(scikit-learn's breast_cancer, every column renamed and described in the contributor's
own words: the ``breast_cancer_dictionary`` fixture of tests/python/fixtures/paraphrases.json):
embedding the 30 feature descriptions and 30 column descriptions with all-MiniLM-L6-v2
(int8 ONNX, onnxruntime on one thread) plus the Hungarian assignment and the checks.
Median of 7 runs after one warm-up; the model's one-off load is recorded apart
(``load_ms``), and so is the names-only table (no dictionary: shorter texts).

``schema.mapping_accuracy``: per paraphrase fixture, the share of features mapped to the
right column (whether or not the mapping would be accepted), with ``accepted`` saying if
it was accepted as it stands (no doubtful column).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

_SRC = os.environ.get("FATHOM_BENCH_SRC")
sys.path.insert(0, _SRC or str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))

from fathom.ml.embeddings import Embedder  # noqa: E402
from fathom.ml.schema import Feature, FeatureSchema  # noqa: E402
from fathom.ml.tables import map_columns, read_dictionary  # noqa: E402

from common import ROOT, load, say, section_main, summary  # noqa: E402

FIXTURES = ROOT / "tests" / "python" / "fixtures" / "paraphrases.json"
HEADLINE = "breast_cancer_dictionary"


def _case(doc: dict[str, Any], name: str) -> tuple[FeatureSchema, list[str], dict, dict[str, str]]:
    schema = FeatureSchema(tuple(Feature(f["name"], f["description"]) for f in doc["bounty"]["features"]))
    spec = doc["fixtures"][name]["columns"]
    columns = [v["column"] for v in spec.values()]
    dictionary = read_dictionary({v["column"]: v["description"] for v in spec.values() if "description" in v})
    return schema, columns, dictionary, {f: v["column"] for f, v in spec.items()}


def run(quick: bool = False) -> dict[str, Any]:
    doc = json.loads(FIXTURES.read_text())
    before = load()
    t = time.perf_counter()
    embedder = Embedder()
    embedder.embed(["warm up"])
    load_ms = (time.perf_counter() - t) * 1000
    reps = 3 if quick else 7
    timings: dict[str, Any] = {}
    accuracy: dict[str, Any] = {}
    for name in doc["fixtures"]:
        schema, columns, dictionary, truth = _case(doc, name)
        mapping = map_columns(schema, columns, dictionary=dictionary, embedder=embedder)  # warm-up, and the answer
        samples = []
        for _ in range(reps):
            t = time.perf_counter()
            map_columns(schema, columns, dictionary=dictionary, embedder=embedder)
            samples.append((time.perf_counter() - t) * 1000)
        timings[name] = summary(samples, 2)
        right = sum(mapping.columns().get(f) == c for f, c in truth.items())
        accuracy[name] = {"share": round(right / len(truth), 4), "correct": right, "columns": len(truth), "accepted": mapping.ok}
        say(f"schema: {name:<28} {len(columns)} columns  map {timings[name]['median']:8.1f} ms  "
            f"correct {right}/{len(truth)}  {'accepted' if mapping.ok else 'refused (doubtful columns)'}")
    return {
        "map_ms": timings[HEADLINE]["median"],
        "load_ms": round(load_ms, 1),
        "map_ms_by_fixture": timings,
        "mapping_accuracy": {name: a["share"] for name, a in accuracy.items()},
        "mapping_detail": accuracy,
        "columns": 30,
        "threads": 1,
        "load_before": before,
        "load_after": load(),
    }


if __name__ == "__main__":
    sys.exit(section_main(__doc__, run))
