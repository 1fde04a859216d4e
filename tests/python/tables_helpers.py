"""Shared by the tables, export and schema tests: scikit-learn's breast_cancer as a bounty
whose features are described in words (tests/python/fixtures/paraphrases.json), and a
contributor's table built from it in other words."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fathom.ml.schema import Feature, FeatureSchema, Label

FIXTURES = Path(__file__).parent / "fixtures"
PARAPHRASES = json.loads((FIXTURES / "paraphrases.json").read_text())


def breast_cancer() -> tuple[list[str], np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    return [str(n) for n in d.feature_names], d.data, d.target


def bounty_schema(X: np.ndarray) -> FeatureSchema:
    """The requester's schema: the fixture's words, centre and scale fitted on X."""
    words = {f["name"]: f["description"] for f in PARAPHRASES["bounty"]["features"]}
    names = [f["name"] for f in PARAPHRASES["bounty"]["features"]]
    fitted = FeatureSchema.fit({n: X[:, i] for i, n in enumerate(names)}, descriptions=words,
                               label=Label.from_json(PARAPHRASES["bounty"]["label"]))
    return fitted


def contributor_table(fixture: str, X: np.ndarray, y: np.ndarray, *, seed: int = 0) -> tuple[dict, dict, list[str]]:
    """(columns, dictionary, original feature order of the columns): every column renamed
    and re-described as the fixture says, shuffled, an extra column, the label as words."""
    spec = PARAPHRASES["fixtures"][fixture]["columns"]
    names = [f["name"] for f in PARAPHRASES["bounty"]["features"]]
    order = np.random.default_rng(seed).permutation(len(names))
    columns: dict = {}
    dictionary: dict = {}
    for i in order:
        entry = spec[names[i]]
        columns[entry["column"]] = X[:, i].tolist()
        if "description" in entry:
            dictionary[entry["column"]] = entry["description"]
    columns["patient_ref"] = [f"P{k:05d}" for k in range(len(X))]
    dictionary["patient_ref"] = "the clinic's reference number of the patient"
    columns["outcome"] = ["malignant" if v == 0 else "benign" for v in y]
    return columns, dictionary, [names[i] for i in order]
