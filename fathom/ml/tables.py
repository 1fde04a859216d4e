"""Tables in: a contributor's CSV or Parquet file, mapped onto a bounty's feature schema.

Real data owners hold tables whose column names are nobody else's. This module reads a
table (pyarrow, imported lazily), decides which column is which feature, and turns the
table into the model's inputs with the schema's own transformation
(`fathom.ml.schema.FeatureSchema.transform`), so a contributor never guesses the
requester's order or normalisation.

Mapping columns to features (`map_columns`), in this order:

1. ``--map COLUMN=FEATURE`` settles a pair by hand;
2. exact names: a column whose name equals a feature's name, ignoring case and
   ``_``/``-``/``.``/spaces;
3. meaning: every remaining column is described by its name and, if the contributor's
   data dictionary has it, their description ("name: description"); every remaining
   feature by the schema's name and description. Both are embedded with all-MiniLM-L6-v2
   (`fathom.ml.embeddings`) and compared by cosine similarity; the one-to-one assignment
   of highest total similarity is found with the Hungarian method (scipy).

A mapping is accepted only when every feature has a column and every matched pair is
clear: its similarity is at least ``threshold``, and no alternative one-to-one mapping
that swaps two matched columns, or puts an unmatched column in a matched one's place,
scores within ``margin`` of it. Otherwise `Mapping.check` refuses, naming the doubtful
columns and their rivals; ``--map`` settles them. Columns no feature wants (extra
columns) are ignored, and say so.

Values then follow the schema: the dictionary may give a column's unit (converted to the
feature's unit when both are known physical units, `convert_units`; an error otherwise)
and a translation of its category values; missing cells and unknown categories are
handled, or refused, as the schema says.

Data dictionary (JSON)::

    {"tumour_size": "average radius of the nuclei, in micrometres",
     "smokes": {"description": "does the patient smoke", "unit": "",
                "categories": {"Y": "yes", "N": "no"}},
     "height_cm": {"description": "body height", "unit": "cm"}}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping as MappingType, Sequence

import numpy as np

from fathom.errors import FathomError
from fathom.ml.schema import FeatureSchema, SchemaError, numbers

__all__ = ["THRESHOLD", "MARGIN", "TableError", "Table", "ColumnInfo", "Match", "Mapping", "read_table", "read_dictionary",
           "parse_map", "map_columns", "convert_units", "to_xy", "columns_for"]

#: Least cosine similarity of an accepted pair. Paraphrases of one feature score 0.5-0.9
#: with all-MiniLM-L6-v2; unrelated columns mostly below 0.3 (calibrated on the
#: fixtures in tests/python/fixtures/paraphrases.json, `make bench` reports the accuracy).
THRESHOLD = 0.4
#: How much better the chosen mapping must be than any swap or substitution of a pair.
MARGIN = 0.03
MAX_COLUMNS = 4096


class TableError(FathomError, ValueError):
    """A table cannot be read, or cannot be mapped onto the schema."""


@dataclass
class Table:
    """Columns by name, in the file's order; missing cells are None."""

    columns: dict[str, list[Any]]
    path: str = ""

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


@dataclass(frozen=True)
class ColumnInfo:
    """What the contributor's dictionary says of one column."""

    description: str = ""
    unit: str | None = None
    categories: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    feature: str
    column: str | None
    similarity: float | None
    how: str  # "map", "exact", "meaning" or "none"


@dataclass
class Mapping:
    """Which column feeds which feature, with the evidence, and what stays unsettled."""

    matches: list[Match]
    extra: list[str]
    doubtful: dict[str, list[tuple[str, float]]]  # column (or "(none)") -> rival features with similarities
    unmatched: list[str]  # features no column was found for
    threshold: float = THRESHOLD

    @property
    def ok(self) -> bool:
        return not self.doubtful and not self.unmatched

    def columns(self) -> dict[str, str]:
        """feature -> column, for the accepted matches."""
        return {m.feature: m.column for m in self.matches if m.column is not None}

    def table(self) -> str:
        """The mapping as a table, one line per feature, then the ignored columns."""
        rows = [("feature", "column", "similarity", "matched by")]
        for m in self.matches:
            doubt = " (doubtful)" if m.column in self.doubtful else ""
            rows.append((m.feature, m.column or "-", "-" if m.similarity is None else f"{m.similarity:.3f}", m.how + doubt))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [f"{r[0].ljust(widths[0])}  {r[1].ljust(widths[1])}  {r[2].rjust(widths[2])}  {r[3]}" for r in rows]
        if self.extra:
            lines.append("ignored columns: " + ", ".join(self.extra))
        return "\n".join(lines)

    def check(self) -> None:
        """Raise TableError naming the doubtful columns and unmatched features, if any."""
        if self.ok:
            return
        parts = []
        for column, rivals in self.doubtful.items():
            parts.append(f"{column!r} ({', '.join(f'{f!r} {s:.2f}' for f, s in rivals)})")
        if self.unmatched:
            parts.append("no clear column for " + ", ".join(map(repr, self.unmatched)))
        raise TableError("the table's columns do not map one-to-one onto the bounty's features: doubtful "
                         + "; ".join(parts) + ". Settle them with --map COLUMN=FEATURE")


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------


def read_table(path: Path | str) -> Table:
    """A CSV (header row, comma-separated, empty cells missing) or Parquet file."""
    path = Path(path)
    try:
        import pyarrow as pa
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq
    except ImportError:
        raise TableError("reading tables needs pyarrow: run `make setup` (requirements.txt pins it)") from None
    if not path.is_file():
        raise TableError(f"{path} is not a file (expected a .csv or .parquet table)")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            table = pq.read_table(path)
        elif path.suffix.lower() in (".csv", ".txt"):
            table = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(strings_can_be_null=True))
        else:
            raise TableError(f"{path}: unknown table format {path.suffix!r} (use .csv or .parquet)")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        raise TableError(f"{path} cannot be read as a table: {str(exc).splitlines()[0]}") from None
    names = list(table.column_names)
    if len(set(names)) != len(names):
        raise TableError(f"{path} names a column twice: {sorted({n for n in names if names.count(n) > 1})[0]!r}")
    if not names or len(names) > MAX_COLUMNS:
        raise TableError(f"{path} has {len(names)} columns (1 to {MAX_COLUMNS} are read)")
    return Table({n: table.column(n).to_pylist() for n in names}, str(path))


def read_dictionary(source: Path | str | MappingType[str, Any] | None) -> dict[str, ColumnInfo]:
    """The contributor's data dictionary: a JSON file or mapping (see the module docstring)."""
    if source is None:
        return {}
    if not isinstance(source, MappingType):
        try:
            source = json.loads(Path(source).read_text())
        except OSError as exc:
            raise TableError(f"cannot read the data dictionary {source}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise TableError(f"the data dictionary {source} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(source, MappingType):
        raise TableError("a data dictionary is a JSON object: column name -> description (or an object)")
    out = {}
    for column, entry in source.items():
        if isinstance(entry, str):
            out[column] = ColumnInfo(entry)
            continue
        if not isinstance(entry, MappingType) or set(entry) - {"description", "unit", "categories"}:
            raise TableError(f"data dictionary entry {column!r}: a description, or an object with description, unit, categories")
        cats = entry.get("categories", {})
        if not isinstance(cats, MappingType) or not all(isinstance(v, str) for v in cats.values()):
            raise TableError(f"data dictionary entry {column!r}: 'categories' maps the table's values to the schema's categories")
        out[column] = ColumnInfo(str(entry.get("description", "")), entry.get("unit"), {str(k): v for k, v in cats.items()})
    return out


def parse_map(pairs: Sequence[str] | MappingType[str, str] | None) -> dict[str, str]:
    """``COLUMN=FEATURE`` strings (or a mapping) to {column: feature}."""
    if not pairs:
        return {}
    if isinstance(pairs, MappingType):
        return dict(pairs)
    out = {}
    for pair in pairs:
        column, sep, feature = pair.partition("=")
        if not sep or not column.strip() or not feature.strip():
            raise TableError(f"--map takes COLUMN=FEATURE, got {pair!r}")
        out[column.strip()] = feature.strip()
    return out


# ---------------------------------------------------------------------------------------
# Mapping
# ---------------------------------------------------------------------------------------


def _normal(name: str) -> str:
    return re.sub(r"[\s_\-.]+", " ", name).strip().lower()


def _words(name: str) -> str:
    """A column name as words: snake_case, kebab-case and camelCase split."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return re.sub(r"[\s_\-.]+", " ", spaced).strip()


def map_columns(schema: FeatureSchema, columns: Sequence[str], *, dictionary: MappingType[str, ColumnInfo] | None = None,
                manual: MappingType[str, str] | None = None, label: str | None = None, embedder: Any = None,
                threshold: float = THRESHOLD, margin: float = MARGIN) -> Mapping:
    """Decide which column feeds each feature (see the module docstring). Never raises for
    a doubtful mapping: `Mapping.check` does, so the caller can show the table first."""
    dictionary = dictionary or {}
    manual = dict(manual or {})
    columns = list(columns)
    if label is not None and label not in columns:
        raise TableError(f"the label column {label!r} is not in the table (columns: {', '.join(map(repr, columns))})")
    found: dict[str, Match] = {}
    used: set[str] = set()
    for column, feature in manual.items():
        if column not in columns:
            raise TableError(f"--map names column {column!r}, which the table does not have")
        schema.feature(feature)  # SchemaError naming the features if unknown
        if feature in found:
            raise TableError(f"--map gives feature {feature!r} two columns: {found[feature].column!r} and {column!r}")
        if column == label:
            raise TableError(f"--map uses the label column {column!r} as a feature")
        found[feature] = Match(feature, column, None, "map")
        used.add(column)
    free = [c for c in columns if c not in used and c != label]
    by_name = {}
    for c in free:
        by_name.setdefault(_normal(c), c)
    for f in schema.features:
        c = by_name.get(_normal(f.name))
        if f.name not in found and c is not None and c not in used:
            found[f.name] = Match(f.name, c, 1.0, "exact")
            used.add(c)

    todo = [f for f in schema.features if f.name not in found]
    rest = [c for c in free if c not in used]
    doubtful: dict[str, list[tuple[str, float]]] = {}
    unmatched: list[str] = []
    if todo and rest:
        from scipy.optimize import linear_sum_assignment

        if embedder is None:
            from fathom.ml.embeddings import default_embedder

            embedder = default_embedder()
        ftexts = [f"{f.name}: {f.description}" if f.description else f.name for f in todo]
        ctexts = []
        for c in rest:
            info = dictionary.get(c)
            ctexts.append(f"{_words(c)}: {info.description}" if info is not None and info.description else _words(c))
        vectors = embedder.embed(ftexts + ctexts)
        S = (vectors[: len(todo)] @ vectors[len(todo):].T).astype(np.float64)
        rows, cols = linear_sum_assignment(-S)
        chosen = dict(zip(rows.tolist(), cols.tolist()))
        taken = set(chosen.values())
        for i, f in enumerate(todo):
            if i not in chosen:
                unmatched.append(f.name)
                found[f.name] = Match(f.name, None, None, "none")
                continue
            j = chosen[i]
            s = float(S[i, j])
            rivals: list[tuple[str, float]] = []
            if s < threshold:
                rivals.append((f.name, s))
            # substitution: an unmatched column nearly as good for this feature
            for j2 in range(len(rest)):
                if j2 not in taken and S[i, j2] > s - margin:
                    doubtful.setdefault(rest[j2], []).append((f.name, float(S[i, j2])))
                    rivals.append((f.name, s))
            # swap: exchanging columns with another matched feature costs less than the margin
            for i2, j2 in chosen.items():
                if i2 != i and S[i, j2] + S[i2, j] > s + S[i2, j2] - margin:
                    rivals.append((todo[i2].name, float(S[i2, j])))
            if rivals:
                seen: dict[str, float] = {}
                for name, sim in [(f.name, s)] + rivals:
                    seen.setdefault(name, sim)
                doubtful[rest[j]] = sorted(seen.items(), key=lambda kv: -kv[1])
            found[f.name] = Match(f.name, rest[j], s, "meaning")
    else:
        for f in todo:
            unmatched.append(f.name)
            found[f.name] = Match(f.name, None, None, "none")
    matched = {m.column for m in found.values() if m.column is not None}
    extra = [c for c in columns if c not in matched and c != label]
    return Mapping([found[f.name] for f in schema.features], extra, doubtful, unmatched, threshold)


# ---------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------

#: unit -> (dimension, factor to the dimension's base unit, offset): value_base = value * factor + offset
_UNITS: dict[str, tuple[str, float, float]] = {
    "m": ("length", 1.0, 0.0), "cm": ("length", 0.01, 0.0), "mm": ("length", 1e-3, 0.0), "um": ("length", 1e-6, 0.0),
    "µm": ("length", 1e-6, 0.0), "km": ("length", 1e3, 0.0), "in": ("length", 0.0254, 0.0), "ft": ("length", 0.3048, 0.0),
    "kg": ("mass", 1.0, 0.0), "g": ("mass", 1e-3, 0.0), "mg": ("mass", 1e-6, 0.0), "lb": ("mass", 0.45359237, 0.0),
    "s": ("time", 1.0, 0.0), "min": ("time", 60.0, 0.0), "h": ("time", 3600.0, 0.0), "d": ("time", 86400.0, 0.0),
    "days": ("time", 86400.0, 0.0), "weeks": ("time", 604800.0, 0.0), "months": ("time", 2629746.0, 0.0),
    "years": ("time", 31556952.0, 0.0),
    "c": ("temperature", 1.0, 0.0), "°c": ("temperature", 1.0, 0.0), "k": ("temperature", 1.0, -273.15),
    "f": ("temperature", 5 / 9, -32 * 5 / 9), "°f": ("temperature", 5 / 9, -32 * 5 / 9),
    "fraction": ("ratio", 1.0, 0.0), "%": ("ratio", 0.01, 0.0), "percent": ("ratio", 0.01, 0.0),
    "mmhg": ("pressure", 133.322387415, 0.0), "kpa": ("pressure", 1000.0, 0.0), "pa": ("pressure", 1.0, 0.0),
}


def convert_units(values: np.ndarray, source: str, target: str, what: str = "column") -> np.ndarray:
    """Values in unit ``source`` expressed in unit ``target`` (float64; NaN stays NaN).
    Raises TableError when the units are unknown or measure different things."""
    a, b = source.strip().lower(), target.strip().lower()
    if a == b:
        return values
    if a not in _UNITS or b not in _UNITS:
        unknown = source if a not in _UNITS else target
        raise TableError(f"{what} is in {source!r} but the feature wants {target!r}: no conversion known for {unknown!r} "
                         f"(known: {', '.join(sorted(_UNITS))})")
    (dim_a, fa, oa), (dim_b, fb, ob) = _UNITS[a], _UNITS[b]
    if dim_a != dim_b:
        raise TableError(f"{what} is in {source!r} ({dim_a}) but the feature wants {target!r} ({dim_b}): they do not convert")
    return (values * fa + oa - ob) / fb


def columns_for(schema: FeatureSchema, table: Table, mapping: Mapping, dictionary: MappingType[str, ColumnInfo] | None = None
                ) -> dict[str, Any]:
    """Raw values per feature name, units converted and category values translated by the
    dictionary: what `FeatureSchema.transform` (or `.raw`) takes."""
    mapping.check()
    dictionary = dictionary or {}
    out: dict[str, Any] = {}
    for f in schema.features:
        column = mapping.columns()[f.name]
        values = table.columns[column]
        info = dictionary.get(column, ColumnInfo())
        if f.type == "numeric":
            try:
                x = numbers(column, values)
            except SchemaError as exc:
                raise TableError(f"{exc} (feature {f.name!r})") from None
            if info.unit is not None and f.unit:
                x = convert_units(x, info.unit, f.unit, f"column {column!r}")
            elif info.unit and not f.unit:
                raise TableError(f"column {column!r} is in {info.unit!r} but feature {f.name!r} states no unit: "
                                 "drop the unit from the dictionary if the values are already as the bounty expects")
            out[f.name] = x
        else:
            out[f.name] = [info.categories.get(str(v), v) if v is not None else None for v in values]
    return out


def to_xy(schema: FeatureSchema, table: Table, mapping: Mapping, label: str | None,
          dictionary: MappingType[str, ColumnInfo] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The model's inputs (float32) and targets from a mapped table; errors name the column."""
    raw = columns_for(schema, table, mapping, dictionary)
    try:
        X = schema.transform(raw)
    except SchemaError as exc:
        back = mapping.columns()
        text = str(exc)
        for feature, column in back.items():
            text = text.replace(f"feature {feature!r}", f"feature {feature!r} (column {column!r})")
        raise TableError(text) from None
    y = None
    if label is not None:
        if label not in table.columns:
            raise TableError(f"the label column {label!r} is not in the table")
        try:
            y = schema.encode_labels(table.columns[label])
        except SchemaError as exc:
            raise TableError(f"label column {label!r}: {exc}") from None
    if not len(X):
        raise TableError(f"{table.path or 'the table'} has no rows")
    return X, y
