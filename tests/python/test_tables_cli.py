"""The table commands without a chain: the requester's schema from its own table, a mock
table, a contributor's dry run of the mapping, and `fathom predict` with every export."""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from fathom.cli import main
from fathom.ml import models, training
from fathom.ml.onnx import to_onnx, to_safetensors
from fathom.ml.schema import FeatureSchema

from tables_helpers import PARAPHRASES, breast_cancer, contributor_table


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("FATHOM_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FATHOM_DATA_DIR", str(tmp_path / "data"))


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def requester_files(tmp_path):
    names, X, y = breast_cancer()
    cols = {n: X[:300, i] for i, n in enumerate(names)}
    cols["diagnosis"] = ["malignant" if v == 0 else "benign" for v in y[:300]]
    pcsv.write_csv(pa.table(cols), tmp_path / "train.csv")
    words = {f["name"]: f["description"] for f in PARAPHRASES["bounty"]["features"]}
    words["diagnosis"] = "diagnosis of the tumour"
    (tmp_path / "words.json").write_text(json.dumps(words))
    return names, X, y


def test_the_requester_fits_a_schema_and_a_mock_table_maps_onto_it(env, capsys, tmp_path, requester_files):
    names, X, _ = requester_files
    code, out, _ = run(capsys, "table", "schema", "--data", tmp_path / "train.csv", "--label", "diagnosis", "--dictionary",
                       tmp_path / "words.json", "--classes", "malignant,benign", "--out", tmp_path / "schema.json")
    assert code == 0 and "30 features, 30 model inputs" in out
    schema = FeatureSchema.load(tmp_path / "schema.json")
    assert schema.names == names and schema.label.classes == ("malignant", "benign")
    assert schema.features[0].description.startswith("mean over the nuclei")
    assert schema.features[0].centre == pytest.approx(float(np.float32(X[:300, 0].mean())))
    code, out, _ = run(capsys, "table", "mock", "--schema", tmp_path / "schema.json", "--rows", 40, "--out", tmp_path / "mock.csv")
    assert code == 0 and "no real row" in out
    code, out, _ = run(capsys, "table", "map", "--schema", tmp_path / "schema.json", "--data", tmp_path / "mock.csv", "--label", "diagnosis")
    assert code == 0 and "mapping accepted: 40 rows -> model inputs of shape (40, 30) and 40 labels" in out
    assert out.count("exact") == 30


def test_a_contributor_dry_runs_the_mapping_and_sees_the_similarities(env, capsys, tmp_path, requester_files):
    names, X, y = requester_files
    run(capsys, "table", "schema", "--data", tmp_path / "train.csv", "--label", "diagnosis", "--dictionary", tmp_path / "words.json",
        "--classes", "malignant,benign", "--out", tmp_path / "schema.json")
    columns, dictionary, _ = contributor_table("breast_cancer_dictionary", X[300:], y[300:])
    pcsv.write_csv(pa.table(columns), tmp_path / "mine.csv")
    (tmp_path / "mine.json").write_text(json.dumps(dictionary))
    code, out, err = run(capsys, "table", "map", "--schema", tmp_path / "schema.json", "--data", tmp_path / "mine.csv",
                         "--label", "outcome", "--dictionary", tmp_path / "mine.json")
    assert code == 0, err
    assert "mean radius              avg_nucleus_radius" in out and "meaning" in out and "ignored columns: patient_ref" in out
    # the ambiguous table: one plain error line naming both columns, after the table
    columns["radius_a"] = columns.pop("avg_nucleus_radius")
    columns["radius_b"] = columns.pop("max_nucleus_radius")
    dictionary.update(radius_a="radius of the nucleus", radius_b="radius of the nucleus")
    pcsv.write_csv(pa.table(columns), tmp_path / "mine.csv")
    (tmp_path / "mine.json").write_text(json.dumps(dictionary))
    code, out, err = run(capsys, "table", "map", "--schema", tmp_path / "schema.json", "--data", tmp_path / "mine.csv",
                         "--label", "outcome", "--dictionary", tmp_path / "mine.json")
    assert code == 1 and err.count("\n") == 1 and err.startswith("fathom: error: the table's columns do not map")
    assert "'radius_a'" in err and "'radius_b'" in err and "(doubtful)" in out
    code, out, err = run(capsys, "table", "map", "--schema", tmp_path / "schema.json", "--data", tmp_path / "mine.csv",
                         "--label", "outcome", "--dictionary", tmp_path / "mine.json", "--map", "radius_b=worst radius")
    assert code == 0, err


def test_predict_scores_a_table_the_same_with_every_export(env, capsys, tmp_path, requester_files):
    names, X, y = requester_files
    run(capsys, "table", "schema", "--data", tmp_path / "train.csv", "--label", "diagnosis", "--dictionary", tmp_path / "words.json",
        "--classes", "malignant,benign", "--out", tmp_path / "schema.json")
    schema = FeatureSchema.load(tmp_path / "schema.json")
    manifest = models.make_manifest("logistic", 30, 2, metric="log_loss")
    manifest["features"] = schema.to_json()
    params = training.train(manifest, models.init_model(manifest), schema.transform({n: X[:300, i] for i, n in enumerate(names)}),
                            np.where(y[:300] == 0, 0, 1), lr=0.1, epochs=5, batch_size=32, seed=0)
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "manifest.json").write_text(json.dumps(manifest))
    for k, v in params.items():
        np.save(tmp_path / "folder" / f"{k}.npy", v)
    (tmp_path / "m.onnx").write_bytes(to_onnx(manifest, params))
    (tmp_path / "m.safetensors").write_bytes(to_safetensors(manifest, params))
    columns, dictionary, _ = contributor_table("breast_cancer_dictionary", X[300:], y[300:])
    del columns["outcome"]
    pcsv.write_csv(pa.table(columns), tmp_path / "new.csv")
    (tmp_path / "new.json").write_text(json.dumps(dictionary))
    outputs = []
    for model in ("folder", "m.onnx", "m.safetensors"):
        code, out, err = run(capsys, "predict", tmp_path / model, "--data", tmp_path / "new.csv", "--dictionary", tmp_path / "new.json")
        assert code == 0, err
        assert out.splitlines()[0] == "row,prediction,p_malignant,p_benign" and len(out.splitlines()) == len(X) - 300 + 1
        outputs.append([line.split(",")[1] for line in out.splitlines()[1:]])
    assert outputs[0] == outputs[1] == outputs[2]
    truth = ["malignant" if v == 0 else "benign" for v in y[300:]]
    assert np.mean([a == b for a, b in zip(outputs[0], truth)]) > 0.9


def test_predict_refuses_a_model_without_a_schema_and_a_foreign_file(env, capsys, tmp_path):
    (tmp_path / "folder").mkdir()
    manifest = models.make_manifest("softmax", 3, 2)
    (tmp_path / "folder" / "manifest.json").write_text(json.dumps(manifest))
    for k, v in models.init_model(manifest).items():
        np.save(tmp_path / "folder" / f"{k}.npy", v)
    pcsv.write_csv(pa.table({"a": [1.0]}), tmp_path / "t.csv")
    code, _, err = run(capsys, "predict", tmp_path / "folder", "--data", tmp_path / "t.csv")
    assert code == 1 and "carries no feature schema" in err
    (tmp_path / "x.onnx").write_bytes(b"junk")
    code, _, err = run(capsys, "predict", tmp_path / "x.onnx", "--data", tmp_path / "t.csv")
    assert code == 1 and "not an ONNX model exported by Fathom" in err
