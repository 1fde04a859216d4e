"""Models out: `fathom bounty export ID OUT --format onnx|safetensors` and `fathom predict`.

`bounty export` with ``--format npy`` (the default) writes the manifest and ``.npy``
arrays (`fathom.roles.requester.export_model`); ``onnx`` writes one graph holding the
schema's preprocessing and the model (`fathom.ml.onnx.to_onnx`), ``safetensors`` the
weights with the manifest as metadata. `fathom predict MODEL --data table.csv` scores a
table with an exported model (a folder, a .onnx or a .safetensors file): it maps the
table's columns onto the model's schema as `fathom contribute` does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from fathom.config import Settings
from fathom.errors import FathomError
from fathom.cli._common import load_arrays, market_for, store_for
from fathom.cli.tables import add_table_arguments, table_xy

FORMATS = ("npy", "onnx", "safetensors")


def export_as(args: argparse.Namespace, settings: Settings, key: bytes | None, model_key: bytes | None) -> int:
    """`bounty export --format onnx|safetensors`: one file at OUT."""
    from fathom.ml.onnx import to_onnx, to_safetensors
    from fathom.roles.reader import BountyReader

    reader = BountyReader(market_for(args, settings, signer=False), store_for(settings), args.bounty, key, model_key=model_key)
    versions = reader.versions()
    v = len(versions) - 1 if args.version is None else args.version
    model = reader.model(v)
    blob = (to_onnx if args.format == "onnx" else to_safetensors)(model.manifest, model.arrays)
    out = Path(args.out)
    if out.is_dir():
        raise FathomError(f"{out} is a folder: --format {args.format} writes one file (e.g. {out}/model.{args.format})")
    out.write_bytes(blob)
    print(f"version {v} (score {versions[v].score}) written to {out} ({args.format}, {len(blob)} bytes)")
    return 0


def load_model(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None, bytes | None]:
    """(manifest, params, ONNX bytes or None) of a model folder, .onnx or .safetensors file."""
    if path.is_dir():
        manifest, arrays = load_arrays(path)
        return manifest, arrays, None
    if not path.is_file():
        raise FathomError(f"{path} is neither a model folder nor a .onnx / .safetensors file")
    data = path.read_bytes()
    if path.suffix == ".safetensors":
        from fathom.ml.onnx import from_safetensors

        manifest, params = from_safetensors(data)
        return manifest, params, None
    if path.suffix == ".onnx":
        from fathom.ml.onnx import from_onnx

        manifest, params = from_onnx(data)
        return manifest, params, data
    raise FathomError(f"{path}: unknown model format (a folder, .onnx or .safetensors)")


def _cmd_predict(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.ml import models
    from fathom.ml.schema import schema_of

    manifest, params, graph = load_model(args.model)
    schema = schema_of(manifest)
    X, _ = table_xy(args, schema, None, out=sys.stderr)
    if graph is not None:  # run the exported graph itself, as any ONNX runtime would
        import onnxruntime as ort

        from fathom.ml.tables import columns_for, map_columns, parse_map, read_dictionary, read_table

        table = read_table(args.data)
        dictionary = read_dictionary(args.dictionary)
        mapping = map_columns(schema, table.names, dictionary=dictionary, manual=parse_map(args.map))
        session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
        outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"features": schema.raw(columns_for(schema, table, mapping, dictionary))})))
        proba, label = outputs.get("probabilities"), outputs.get("label", outputs.get("prediction"))
    else:
        spec = models.model_spec(manifest)
        label = models.predict(manifest, params, X)
        proba = None if spec.regression else models.forward(manifest, params, X)
    names = list(schema.label.classes) if schema is not None and schema.label is not None and schema.label.classes else None
    lines = []
    header = ["row", "prediction"] + ([f"p_{c}" for c in (names or range(proba.shape[1]))] if proba is not None else [])
    lines.append(",".join(map(str, header)))
    for i in range(len(label)):
        pred = names[int(label[i])] if names and proba is not None else (f"{label[i]:.6g}" if proba is None else str(int(label[i])))
        row = [str(i), pred] + ([f"{p:.6f}" for p in proba[i]] if proba is not None else [])
        lines.append(",".join(row))
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text)
        print(f"{len(label)} predictions written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("predict", help="score a table with an exported model (folder, .onnx or .safetensors)")
    p.add_argument("model", type=Path, help="what `fathom bounty export` wrote")
    p.add_argument("--data", type=Path, required=True, help=".csv or .parquet table; columns mapped onto the model's schema")
    p.add_argument("--out", type=Path, help="CSV to write (default: standard output)")
    add_table_arguments(p, label=False)
    p.set_defaults(func=_cmd_predict)
