"""`fathom table`: tables against a feature schema, before anything is staked or sent.

- `fathom table schema --data train.csv --label L [--dictionary D] [--categorical C ...]`
  writes the requester's schema: its words from the dictionary, centre and scale fitted
  on its own table;
- `fathom table map (--schema S | --bounty ID) --data T [--label L] [--dictionary D]
  [--map C=F ...]` shows how a table's columns map onto the features (a dry run of
  `fathom contribute --data T`), and the inputs it makes;
- `fathom table mock --schema S --rows N --out mock.csv` writes a synthetic table with
  the real schema and no real rows, which a requester may publish so that contributors
  can rehearse the mapping, the preprocessing and the training before staking.

Also the helpers `fathom contribute`, `fathom predict` and `fathom bounty show/open` use
for tables (`add_table_arguments`, `table_xy`, `bounty_schema`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fathom.config import Settings
from fathom.errors import FathomError
from fathom.cli._common import account_key, market_for, store_for, with_key


def add_table_arguments(p: argparse.ArgumentParser, label: bool = True) -> None:
    """--label, --dictionary and --map, for a command whose --data may be a table."""
    if label:
        p.add_argument("--label", help="with a .csv/.parquet table: the column holding the labels (targets)")
    p.add_argument("--dictionary", type=Path, help="JSON data dictionary: column -> description in your words "
                                                   "(or {description, unit, categories})")
    p.add_argument("--map", action="append", default=[], metavar="COLUMN=FEATURE",
                   help="settle a column's feature by hand (repeatable); see `fathom table map`")


def is_table(path: Path) -> bool:
    return path.suffix.lower() in (".csv", ".parquet", ".pq", ".txt")


def bounty_schema(args: argparse.Namespace, settings: Settings, key: bytes | None) -> tuple[Any, Any]:
    """(the head model, its FeatureSchema or None) of bounty ``args.bounty``."""
    from fathom.ml.schema import schema_of
    from fathom.roles.reader import BountyReader

    reader = BountyReader(market_for(args, settings, signer=False), store_for(settings), args.bounty, key)
    head = len(reader.versions()) - 1
    if reader.paillier_public is not None:  # encrypted weights (F13): the manifest is plain, the weights are not read
        manifest, weights = reader.encrypted_model(head)
        return weights, schema_of(manifest)
    model = reader.model(head)
    return model, schema_of(model.manifest)


def schema_summary(args: argparse.Namespace, settings: Settings) -> tuple[dict[str, Any] | None, str]:
    """For `fathom bounty show`: the schema as JSON (or None) and as text."""
    key = account_key(args, settings) if (getattr(args, "key_file", None) or settings.private_key) else None
    try:
        _, schema = bounty_schema(args, settings, key)
    except FathomError as exc:
        return None, f"  feature schema: not readable with this account ({exc})"
    if schema is None:
        return None, "  feature schema: none (contributors give X.npy and y.npy in the model's input order)"
    return schema.to_json(), "  feature schema:\n" + "\n".join("    " + line for line in schema.describe().splitlines())


def table_xy(args: argparse.Namespace, schema: Any, label: str | None, out: Any = None, path: Path | None = None) -> tuple[Any, Any]:
    """Read the table at ``path`` (default ``args.data``), map it onto ``schema`` (printing
    the mapping table to ``out``), and return the model's inputs and the targets (None
    without a label)."""
    from fathom.ml.tables import map_columns, parse_map, read_dictionary, read_table, to_xy

    if schema is None:
        raise FathomError("this model carries no feature schema, so a table cannot be mapped onto it: "
                          "give a folder with X.npy and y.npy in the model's input order")
    table = read_table(path or args.data)
    dictionary = read_dictionary(args.dictionary)
    mapping = map_columns(schema, table.names, dictionary=dictionary, manual=parse_map(args.map), label=label)
    print(mapping.table(), file=out or sys.stdout)
    return to_xy(schema, table, mapping, label, dictionary)


def contributor_arrays(args: argparse.Namespace, settings: Settings, key: bytes) -> dict[str, Any]:
    """`fathom contribute ID --data table.csv --label L`: X and y under the head model's schema."""
    if not args.label:
        raise FathomError("--label: name the column of your table that holds the labels")
    _, schema = bounty_schema(args, settings, key)
    X, y = table_xy(args, schema, args.label)
    return {"X": X, "y": y}


def validation_table(args: argparse.Namespace, model_manifest: dict[str, Any]) -> tuple[dict[str, Any], tuple[dict[str, Any], dict[str, Any]]]:
    """`fathom bounty open --validation table.csv --schema S --label L`: the model's manifest
    with the schema in it, and the validation set transformed by that schema."""
    from fathom.ml.schema import FeatureSchema, schema_of

    schema = FeatureSchema.load(args.schema) if args.schema is not None else schema_of(model_manifest)
    if schema is None:
        raise FathomError("a validation table needs --schema (`fathom table schema` writes one)")
    d = model_manifest.get("layers", [[model_manifest.get("d")]])[0][0]
    if schema.width != d:
        raise FathomError(f"the schema describes {schema.width} model inputs but the model takes {d}")
    if not args.validation.is_file() or not is_table(args.validation):
        raise FathomError(f"with --schema, --validation is a .csv or .parquet table, not {args.validation}")
    if not args.label:
        raise FathomError("--label: name the validation table's label column")
    X, y = table_xy(args, schema, args.label, path=args.validation)
    manifest = dict(model_manifest)
    manifest["features"] = schema.to_json()
    if schema.label is not None and not schema.label.classes:
        return manifest, ({"task": "regression"}, {"X": X, "y": y})
    classes = len(schema.label.classes) if schema.label is not None else int(y.max()) + 1
    return manifest, ({"task": "classification", "n_classes": classes}, {"X": X, "y": y})


def _load_schema(args: argparse.Namespace, settings: Settings) -> Any:
    from fathom.ml.schema import FeatureSchema

    if args.schema is not None:
        return FeatureSchema.load(args.schema)
    if args.bounty is None:
        raise FathomError("give --schema FILE or --bounty ID")
    key = account_key(args, settings) if (args.key_file or settings.private_key) else None
    return bounty_schema(args, settings, key)[1]


def _cmd_table_map(args: argparse.Namespace, settings: Settings) -> int:
    X, y = table_xy(args, _load_schema(args, settings), args.label)
    labels = "" if y is None else f" and {len(y)} labels"
    print(f"mapping accepted: {X.shape[0]} rows -> model inputs of shape {X.shape}{labels}")
    return 0


def _cmd_table_schema(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.ml.schema import FeatureSchema, Label
    from fathom.ml.tables import read_dictionary, read_table

    table = read_table(args.data)
    if args.label not in table.columns:
        raise FathomError(f"the label column {args.label!r} is not in {args.data}")
    dictionary = read_dictionary(args.dictionary)
    unknown = [c for c in args.categorical if c not in table.columns]
    if unknown:
        raise FathomError(f"--categorical names {unknown[0]!r}, which {args.data} does not have")
    columns = {c: v for c, v in table.columns.items() if c != args.label}
    words = {c: info.description for c, info in dictionary.items()}
    units = {c: info.unit for c, info in dictionary.items() if info.unit}
    label_info = dictionary.get(args.label)
    if args.regression:
        label = Label(args.label, label_info.description if label_info else "", (), (label_info.unit or "") if label_info else "")
    else:
        classes = args.classes.split(",") if args.classes else sorted({str(v) for v in table.columns[args.label] if v is not None})
        label = Label(args.label, label_info.description if label_info else "", tuple(classes))
    schema = FeatureSchema.fit(columns, descriptions=words, units=units, categorical=args.categorical, label=label)
    undescribed = [f.name for f in schema.features if not f.description]
    args.out.write_text(json.dumps(schema.to_json(), indent=1, sort_keys=True) + "\n")
    print(schema.describe())
    print(f"schema written to {args.out}")
    if undescribed:
        print(f"note: {len(undescribed)} feature(s) have no description ({', '.join(undescribed[:5])}"
              f"{', ...' if len(undescribed) > 5 else ''}): contributors' columns are then matched by the name alone")
    return 0


def _cmd_table_mock(args: argparse.Namespace, settings: Settings) -> int:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from fathom.ml.schema import FeatureSchema

    schema = FeatureSchema.load(args.schema)
    if args.rows < 1:
        raise FathomError("--rows must be at least 1")
    rng = np.random.default_rng(args.seed)
    columns: dict[str, Any] = {}
    for f in schema.features:
        if f.type == "numeric":
            columns[f.name] = (f.centre + f.scale * rng.standard_normal(args.rows)).round(6)
        else:
            columns[f.name] = rng.choice(list(f.categories), args.rows).tolist()
    if schema.label is not None:
        if schema.label.classes:
            columns[schema.label.name] = rng.choice(list(schema.label.classes), args.rows).tolist()
        else:
            columns[schema.label.name] = rng.standard_normal(args.rows).round(6)
    pcsv.write_csv(pa.table(columns), args.out)
    print(f"{args.rows} synthetic rows with the schema's {len(schema.features)} features written to {args.out} "
          "(drawn from the schema's centre, scale and categories: no real row)")
    return 0


def register(sub: Any) -> None:
    table = sub.add_parser("table", help="a table against a feature schema: fit one, dry-run a mapping, mock data").add_subparsers(
        dest="sub", metavar="ACTION", required=True)
    p = with_key(table.add_parser("map", help="show how a table's columns map onto a schema's features (a dry run of contribute)"))
    p.add_argument("--data", type=Path, required=True, help=".csv or .parquet table")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--schema", type=Path, help="a schema file (fathom table schema, or a mock's)")
    group.add_argument("--bounty", type=int, help="the bounty whose head model carries the schema")
    add_table_arguments(p)
    p.set_defaults(func=_cmd_table_map)
    p = table.add_parser("schema", help="the requester's schema: words from a dictionary, centre and scale from a table")
    p.add_argument("--data", type=Path, required=True, help=".csv or .parquet table (your own data)")
    p.add_argument("--label", required=True, help="the label (target) column")
    p.add_argument("--dictionary", type=Path, help="JSON: column -> description (or {description, unit})")
    p.add_argument("--categorical", nargs="*", default=[], help="columns to one-hot encode")
    p.add_argument("--classes", help="class names in label order, comma-separated (default: the sorted labels)")
    p.add_argument("--regression", action="store_true", help="the label is a number, not a class")
    p.add_argument("--out", type=Path, required=True, help="where to write the schema JSON")
    p.set_defaults(func=_cmd_table_schema)
    p = table.add_parser("mock", help="a synthetic table with a schema's features and no real rows")
    p.add_argument("--schema", type=Path, required=True)
    p.add_argument("--rows", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="CSV file to write")
    p.set_defaults(func=_cmd_table_mock)
