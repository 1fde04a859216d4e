"""The whole round from tables through the command line, on a real chain: the requester
opens a bounty from a validation *table* and a schema, `bounty show` prints the schema,
a contributor with a renamed, re-described table (one extra column, one gap) contributes
with `--data table.csv`, the oracles accept it, the contributor is paid, and the
exported ONNX graph reproduces the head model's predictions."""

from __future__ import annotations

import json
import os

import numpy as np
import onnxruntime as ort
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from fathom.cli._common import eth
from fathom.chain.deployments import write_deployment
from fathom.cli import main
from fathom.ml import models, training
from fathom.ml.schema import schema_of
from fathom.roles.reader import BountyReader
from fathom.storage.store import EmbeddedStore

from roles_helpers import ORACLE_STAKE, World, drive, make_node, named
from roles_helpers import fresh_chain, world  # noqa: F401 - the module's chain fixtures
from tables_helpers import breast_cancer, bounty_schema, contributor_table, PARAPHRASES

NETWORK = "tablestest"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_contributor_with_a_renamed_table_is_paid_through_the_command_line(world: World, tmp_path, monkeypatch, capsys):
    for name in list(os.environ):
        if name.startswith("FATHOM_"):
            monkeypatch.delenv(name)
    write_deployment(tmp_path / "deployments", NETWORK, {"network": NETWORK, "chain_id": world.w3.eth.chain_id, "block": 0,
                                                         "contracts": world.addresses})
    monkeypatch.setenv("FATHOM_RPC_URL", world.chain.url)
    monkeypatch.setenv("FATHOM_NETWORK", NETWORK)
    monkeypatch.setenv("FATHOM_DEPLOYMENTS", str(tmp_path / "deployments"))
    monkeypatch.setenv("FATHOM_STORE_DIR", str(tmp_path / "store"))
    store = EmbeddedStore(tmp_path / "store")
    requester = world.new_party("requester")
    oracles = [world.new_party(f"oracle{i}") for i in range(3)]
    for o in oracles:
        world.market_for(o).stake_oracle(ORACLE_STAKE)
    me = world.new_party("contributor")

    # the requester: a schema in words, a weak seed model, the validation set as a table
    names, X, y = breast_cancer()
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order], y[order]
    schema = bounty_schema(X[:200])
    (tmp_path / "schema.json").write_text(json.dumps(schema.to_json()))
    manifest = models.make_manifest("logistic", 30, 2, metric="accuracy")
    seed = training.train(manifest, models.init_model(manifest), schema.transform({n: X[:20, i] for i, n in enumerate(names)}),
                          y[:20], lr=0.01, epochs=1, batch_size=20, seed=0)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "manifest.json").write_text(json.dumps(manifest))
    for k, v in seed.items():
        np.save(tmp_path / "model" / f"{k}.npy", v)
    val = {n: X[200:350, i] for i, n in enumerate(names)}
    val["diagnosis"] = [schema.label.classes[v] for v in y[200:350]]
    pcsv.write_csv(pa.table(val), tmp_path / "validation.csv")
    monkeypatch.setenv("FATHOM_PRIVATE_KEY", "0x" + requester.key.hex())
    monkeypatch.setenv("FATHOM_DATA_DIR", str(tmp_path / "requester"))
    code, out, err = run(capsys, "bounty", "open", "--model", tmp_path / "model", "--validation", tmp_path / "validation.csv",
                         "--schema", tmp_path / "schema.json", "--label", "diagnosis", "--committee",
                         ",".join(o.address for o in oracles), "--admit", me.address, "--batch-size", 1, "--reward", 1)
    assert code == 0, err
    bounty_id = int(out.split("bounty ")[-1].split()[0])
    nodes = [make_node(world, store, o, tmp_path / f"oracle{i}") for i, o in enumerate(oracles)]
    viewer = world.viewer()
    drive(nodes, lambda: viewer.state(bounty_id) == "Open")
    baseline = viewer.bounty(bounty_id)["baselineScore"]

    # the contributor reads the schema, then contributes its own table
    monkeypatch.setenv("FATHOM_PRIVATE_KEY", "0x" + me.key.hex())
    monkeypatch.setenv("FATHOM_DATA_DIR", str(tmp_path / "contributor"))
    code, out, err = run(capsys, "bounty", "show", bounty_id)
    assert code == 0, err
    assert "feature schema:" in out and "mean radius" in out and "30 features, 30 model inputs" in out
    columns, dictionary, _ = contributor_table("breast_cancer_dictionary", X[350:], y[350:], seed=9)
    next(iter(columns.values()))[3] = None  # one gap
    pcsv.write_csv(pa.table(columns), tmp_path / "mine.csv")
    (tmp_path / "mine.json").write_text(json.dumps(dictionary))
    code, out, err = run(capsys, "table", "map", "--bounty", bounty_id, "--data", tmp_path / "mine.csv", "--label", "outcome",
                         "--dictionary", tmp_path / "mine.json")  # the dry run: nothing sent
    assert code == 0, err
    assert f"mapping accepted: {len(X) - 350} rows -> model inputs of shape ({len(X) - 350}, 30)" in out
    assert named(viewer.events(bounty_id=bounty_id), "SubmissionReceived") == []
    code, out, err = run(capsys, "contribute", bounty_id, "--data", tmp_path / "mine.csv", "--label", "outcome",
                         "--dictionary", tmp_path / "mine.json", "--epochs", 5, "--lr", 0.1, "--batch-size", 16)
    assert code == 0, err
    assert "avg_nucleus_radius" in out and "ignored columns: patient_ref" in out
    assert f"submitted #0 to bounty {bounty_id} on version 0" in out
    drive(nodes, lambda: viewer.bounty(bounty_id)["nextBatch"] == 1)
    (accepted,) = named(viewer.events(bounty_id=bounty_id), "VersionAccepted")
    assert accepted["author"] == me.address and accepted["score"] > baseline and accepted["reward"] > 0
    owed = viewer.claimable(me.address)
    assert owed >= accepted["reward"]
    code, out, err = run(capsys, "claim")
    assert code == 0, err
    assert out.strip() == f"claimed {eth(owed)} (ETH) from your balance"

    # the requester takes the model anywhere: one ONNX graph, same predictions as Fathom's
    monkeypatch.setenv("FATHOM_PRIVATE_KEY", "0x" + requester.key.hex())
    monkeypatch.setenv("FATHOM_DATA_DIR", str(tmp_path / "requester"))
    code, out, err = run(capsys, "bounty", "export", bounty_id, tmp_path / "head.onnx", "--format", "onnx")
    assert code == 0, err
    head = BountyReader(world.viewer(), store, bounty_id, me.key).model(1)  # an admitted contributor opens the keyring
    assert schema_of(head.manifest) == schema
    session = ort.InferenceSession((tmp_path / "head.onnx").read_bytes(), providers=["CPUExecutionProvider"])
    raw = {n: X[200:350, i] for i, n in enumerate(names)}
    proba, label = session.run(None, {"features": schema.raw(raw)})
    want = models.forward(head.manifest, head.arrays, schema.transform(raw))
    np.testing.assert_allclose(proba, want, rtol=1e-5, atol=1e-6)
    exported = models.accuracy(y[200:350], label)
    assert exported == models.score(head.manifest, head.arrays, schema.transform(raw), y[200:350])
    # the recorded score is the conservative lower bound of F12: at most the raw accuracy
    assert accepted["score"] <= exported * 10_000 + 1
    code, out, err = run(capsys, "bounty", "export", bounty_id, tmp_path / "head.safetensors", "--format", "safetensors")
    assert code == 0, err
    code, out, err = run(capsys, "predict", tmp_path / "head.onnx", "--data", tmp_path / "mine.csv", "--dictionary", tmp_path / "mine.json")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "row,prediction,p_malignant,p_benign" and len(lines) == len(X) - 350 + 1
