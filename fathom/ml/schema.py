"""The feature schema: what each input of a model means, in words and in numbers.

A bounty's model manifest carries its schema under ``"features"`` (container version 2 and up,
`fathom.ml.artefacts`). For every input feature it says its name, a natural-language
description, its type and unit, and the preprocessing constants, so that the requester,
every contributor, every oracle and every exported graph (`fathom.ml.onnx`) turn a raw
table into the model's inputs by exactly the same arithmetic (`FeatureSchema.transform`).

Document (canonical JSON: sorted keys, no spaces, ASCII; numbers are float32 values)::

    {"version": 1,
     "features": [
       {"name": "mean radius", "description": "mean distance from the centre ...",
        "type": "numeric", "unit": "mm", "centre": 14.127, "scale": 3.524,
        "missing": "centre"},                       # or "refuse"
       {"name": "smoker", "description": "...", "type": "categorical", "unit": "",
        "categories": ["no", "yes"], "missing": "refuse"}],   # or "zeros"
     "label": {"name": "diagnosis", "description": "...",
               "classes": ["malignant", "benign"]}}    # regression: "unit" instead

Transformation, per row, features in schema order, in float32:

- numeric: ``(float32(x) - float32(centre)) / float32(scale)``; a missing value
  (empty cell, NaN) becomes the centre, i.e. 0, when ``missing`` is ``"centre"``, and is
  an error when it is ``"refuse"``;
- categorical: one input per category, in the listed order, 1 for the row's category and
  0 elsewhere (one-hot); a value outside the categories is an error; a missing value is
  all zeros (``"zeros"``) or an error (``"refuse"``).

So the model's input width is the number of numeric features plus the number of all
categories (`FeatureSchema.width`). Values are given raw: numbers in the feature's unit,
categories as their strings (an exported ONNX graph takes a category's index instead).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from fathom.errors import FathomError

__all__ = ["SCHEMA_VERSION", "TYPES", "Feature", "FeatureSchema", "Label", "SchemaError", "numbers", "schema_of"]

SCHEMA_VERSION = 1
TYPES = ("numeric", "categorical")
_MISSING = {"numeric": ("centre", "refuse"), "categorical": ("zeros", "refuse")}
#: bounds on what a manifest may describe (it is read from untrusted artefacts)
MAX_FEATURES = 4096
MAX_CATEGORIES = 1024
MAX_TEXT = 1000


class SchemaError(FathomError, ValueError):
    """A schema document is malformed, or a table's values do not follow it."""


def _f32(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SchemaError(f"{what} must be a number, got {value!r}")
    out = float(np.float32(value))
    if not math.isfinite(out):
        raise SchemaError(f"{what} must be finite in float32, got {value!r}")
    return out


def _text(value: Any, what: str, empty: bool = True) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT or (not empty and not value.strip()):
        raise SchemaError(f"{what} must be {'a' if empty else 'a non-empty'} string of at most {MAX_TEXT} characters, got {value!r}")
    return value


def _keys(doc: Any, required: set[str], optional: set[str], what: str) -> None:
    if not isinstance(doc, Mapping):
        raise SchemaError(f"{what} must be a JSON object, got {type(doc).__name__}")
    missing = sorted(required - set(doc))
    if missing:
        raise SchemaError(f"{what} is missing {missing[0]!r}")
    unknown = sorted(set(doc) - required - optional)
    if unknown:
        raise SchemaError(f"{what} has unknown key {unknown[0]!r}")


@dataclass(frozen=True)
class Feature:
    """One input feature: its meaning (name, description, unit) and its preprocessing."""

    name: str
    description: str = ""
    type: str = "numeric"
    unit: str = ""
    centre: float = 0.0
    scale: float = 1.0
    categories: tuple[str, ...] = ()
    missing: str = ""

    def __post_init__(self) -> None:
        _text(self.name, "a feature's name", empty=False)
        _text(self.description, f"feature {self.name!r} description")
        _text(self.unit, f"feature {self.name!r} unit")
        if self.type not in TYPES:
            raise SchemaError(f"feature {self.name!r} type must be one of {', '.join(TYPES)}; got {self.type!r}")
        missing = self.missing or _MISSING[self.type][0]
        if missing not in _MISSING[self.type]:
            raise SchemaError(f"feature {self.name!r} ({self.type}) 'missing' must be one of {', '.join(_MISSING[self.type])}; got {self.missing!r}")
        object.__setattr__(self, "missing", missing)
        if self.type == "numeric":
            if self.categories:
                raise SchemaError(f"numeric feature {self.name!r} takes no categories")
            object.__setattr__(self, "centre", _f32(self.centre, f"feature {self.name!r} centre"))
            scale = _f32(self.scale, f"feature {self.name!r} scale")
            if not scale > 0:
                raise SchemaError(f"feature {self.name!r} scale must be > 0, got {self.scale!r}")
            object.__setattr__(self, "scale", scale)
        else:
            cats = tuple(self.categories)
            if not 1 <= len(cats) <= MAX_CATEGORIES:
                raise SchemaError(f"categorical feature {self.name!r} needs 1 to {MAX_CATEGORIES} categories, got {len(cats)}")
            for c in cats:
                _text(c, f"a category of {self.name!r}", empty=False)
            if len(set(cats)) != len(cats):
                raise SchemaError(f"categorical feature {self.name!r} lists a category twice")
            object.__setattr__(self, "categories", cats)
            if (self.centre, self.scale) != (0.0, 1.0):
                raise SchemaError(f"categorical feature {self.name!r} takes no centre or scale")

    @property
    def width(self) -> int:
        """Model inputs this feature takes: 1, or one per category."""
        return 1 if self.type == "numeric" else len(self.categories)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "description": self.description, "type": self.type, "unit": self.unit,
                               "missing": self.missing}
        if self.type == "numeric":
            out.update(centre=self.centre, scale=self.scale)
        else:
            out["categories"] = list(self.categories)
        return out

    @classmethod
    def from_json(cls, doc: Any) -> "Feature":
        _keys(doc, {"name", "type"}, {"description", "unit", "centre", "scale", "categories", "missing"}, "a feature")
        cats = doc.get("categories", [])
        if not isinstance(cats, list):
            raise SchemaError(f"feature {doc['name']!r} categories must be a list of strings")
        return cls(doc["name"], doc.get("description", ""), doc["type"], doc.get("unit", ""), doc.get("centre", 0.0),
                   doc.get("scale", 1.0), tuple(cats), doc.get("missing", ""))


@dataclass(frozen=True)
class Label:
    """The target: its name and meaning; the classes (classification) or the unit (regression)."""

    name: str
    description: str = ""
    classes: tuple[str, ...] = ()
    unit: str = ""

    def __post_init__(self) -> None:
        _text(self.name, "the label's name", empty=False)
        _text(self.description, "the label's description")
        _text(self.unit, "the label's unit")
        cats = tuple(self.classes)
        for c in cats:
            _text(c, "a class name", empty=False)
        if len(set(cats)) != len(cats) or len(cats) == 1 or len(cats) > MAX_CATEGORIES:
            raise SchemaError(f"the label's classes must be 2 to {MAX_CATEGORIES} distinct names (or none, for regression), got {list(cats)}")
        object.__setattr__(self, "classes", cats)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.classes:
            out["classes"] = list(self.classes)
        else:
            out["unit"] = self.unit
        return out

    @classmethod
    def from_json(cls, doc: Any) -> "Label":
        _keys(doc, {"name"}, {"description", "classes", "unit"}, "the label")
        classes = doc.get("classes", [])
        if not isinstance(classes, list):
            raise SchemaError("the label's classes must be a list of strings")
        return cls(doc["name"], doc.get("description", ""), tuple(classes), doc.get("unit", ""))


@dataclass(frozen=True)
class FeatureSchema:
    """The ordered input features of a model, and its label."""

    features: tuple[Feature, ...]
    label: Label | None = None
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        feats = tuple(self.features)
        if not 1 <= len(feats) <= MAX_FEATURES:
            raise SchemaError(f"a schema has 1 to {MAX_FEATURES} features, got {len(feats)}")
        names = [f.name for f in feats]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise SchemaError(f"feature {dup[0]!r} is named twice")
        object.__setattr__(self, "features", feats)
        self._index.update({n: i for i, n in enumerate(names)})

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": SCHEMA_VERSION, "features": [f.to_json() for f in self.features]}
        if self.label is not None:
            out["label"] = self.label.to_json()
        return out

    def canonical(self) -> bytes:
        """The canonical JSON bytes (sorted keys, no spaces, ASCII): the same schema, the same bytes."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")

    @classmethod
    def from_json(cls, doc: Any) -> "FeatureSchema":
        """Validate a schema document (as carried in a manifest, or read from a file)."""
        _keys(doc, {"version", "features"}, {"label"}, "a feature schema")
        if doc["version"] != SCHEMA_VERSION or isinstance(doc["version"], bool):
            raise SchemaError(f"feature schema version {doc['version']!r} is not supported (this code reads version {SCHEMA_VERSION})")
        feats = doc["features"]
        if not isinstance(feats, list):
            raise SchemaError("a feature schema's 'features' must be a list")
        if len(feats) > MAX_FEATURES:
            raise SchemaError(f"a schema has 1 to {MAX_FEATURES} features, got {len(feats)}")
        label = Label.from_json(doc["label"]) if "label" in doc else None
        return cls(tuple(Feature.from_json(f) for f in feats), label)

    @classmethod
    def load(cls, path: Any) -> "FeatureSchema":
        from pathlib import Path

        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except OSError as exc:
            raise SchemaError(f"cannot read the schema {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise SchemaError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None

    # ------------------------------------------------------------------ shape

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def width(self) -> int:
        """The model's input dimension under this schema."""
        return sum(f.width for f in self.features)

    def feature(self, name: str) -> Feature:
        if name not in self._index:
            raise SchemaError(f"the schema has no feature {name!r} (it has {', '.join(map(repr, self.names))})")
        return self.features[self._index[name]]

    def inputs(self) -> list[str]:
        """A name per model input: the feature's, or ``feature=category`` for one-hot inputs."""
        return [f.name if f.type == "numeric" else f"{f.name}={c}" for f in self.features for c in (f.categories or (None,))]

    # ------------------------------------------------------------------ fit and transform

    @classmethod
    def fit(cls, columns: Mapping[str, Any], *, descriptions: Mapping[str, str] | None = None, units: Mapping[str, str] | None = None,
            categorical: Sequence[str] = (), missing: Mapping[str, str] | None = None, label: Label | None = None) -> "FeatureSchema":
        """A schema over ``columns`` (name -> raw values, in order) with centre = mean and
        scale = standard deviation (1 where it is 0) of each numeric column, and the sorted
        distinct values of each categorical one: what a requester runs on its own data."""
        descriptions, units, missing = descriptions or {}, units or {}, missing or {}
        feats = []
        for name, values in columns.items():
            if name in categorical:
                cats = sorted({str(v) for v in values if not _is_missing(v)})
                feats.append(Feature(name, descriptions.get(name, ""), "categorical", units.get(name, ""), categories=tuple(cats),
                                     missing=missing.get(name, "")))
                continue
            x = numbers(name, values)
            x = x[~np.isnan(x)]
            if not len(x):
                raise SchemaError(f"column {name!r} has no values to fit a centre and scale on")
            sd = float(np.std(x))
            feats.append(Feature(name, descriptions.get(name, ""), "numeric", units.get(name, ""), float(np.mean(x)),
                                 sd if sd > 0 and math.isfinite(sd) else 1.0, missing=missing.get(name, "")))
        return cls(tuple(feats), label)

    def transform(self, columns: Mapping[str, Any]) -> np.ndarray:
        """The model's inputs (float32, ``(n, width)``) from raw values per feature name
        (numbers in the feature's unit, NaN or None where missing; category strings)."""
        missing = [f.name for f in self.features if f.name not in columns]
        if missing:
            raise SchemaError(f"no values for feature(s) {', '.join(map(repr, missing))}")
        lengths = {len(columns[f.name]) for f in self.features}
        if len(lengths) != 1:
            raise SchemaError(f"the features' columns have different lengths: {sorted(lengths)}")
        n = lengths.pop()
        out = np.zeros((n, self.width), dtype=np.float32)
        at = 0
        for f in self.features:
            values = columns[f.name]
            if f.type == "numeric":
                with np.errstate(over="ignore"):  # beyond float32 becomes inf, refused below
                    x = numbers(f.name, values).astype(np.float32)
                gaps = np.isnan(x)
                if gaps.any():
                    if f.missing == "refuse":
                        raise SchemaError(f"feature {f.name!r} may not be missing, but row {int(np.argmax(gaps))} has no value "
                                          f"({int(gaps.sum())} row(s) in all)")
                    x[gaps] = np.float32(f.centre)
                if not np.isfinite(x).all():
                    raise SchemaError(f"feature {f.name!r}: row {int(np.argmax(~np.isfinite(x)))} holds an infinite value "
                                      "(or one beyond float32)")
                out[:, at] = (x - np.float32(f.centre)) / np.float32(f.scale)
            else:
                index = {c: j for j, c in enumerate(f.categories)}
                for row, v in enumerate(values):
                    if _is_missing(v):
                        if f.missing == "refuse":
                            raise SchemaError(f"feature {f.name!r} may not be missing, but row {row} has no value")
                        continue
                    j = index.get(_category_text(v))
                    if j is None:
                        raise SchemaError(f"feature {f.name!r}: row {row} has {v!r}, not one of its categories "
                                          f"({', '.join(map(repr, f.categories))})")
                    out[row, at + j] = 1.0
            at += f.width
        return out

    def raw(self, columns: Mapping[str, Any]) -> np.ndarray:
        """The input of an exported ONNX graph (`fathom.ml.onnx`): float32 ``(n, features)``,
        numbers as they are (NaN where missing), a category as its index (NaN where missing,
        -1 where it is not one of the categories, which the graph encodes as all zeros)."""
        missing = [f.name for f in self.features if f.name not in columns]
        if missing:
            raise SchemaError(f"no values for feature(s) {', '.join(map(repr, missing))}")
        n = len(columns[self.features[0].name])
        out = np.zeros((n, len(self.features)), dtype=np.float32)
        for j, f in enumerate(self.features):
            if f.type == "numeric":
                out[:, j] = numbers(f.name, columns[f.name]).astype(np.float32)
            else:
                index = {c: i for i, c in enumerate(f.categories)}
                out[:, j] = [np.nan if _is_missing(v) else index.get(_category_text(v), -1) for v in columns[f.name]]
        return out

    def encode_labels(self, values: Sequence[Any]) -> np.ndarray:
        """Class indices (int64) from a label column: class names, or their indices; for a
        regression label, float32 values. Raises SchemaError naming the first bad row."""
        if self.label is None or not self.label.classes:
            y = numbers(self.label.name if self.label else "label", values).astype(np.float32)
            if np.isnan(y).any():
                raise SchemaError(f"the label is missing in row {int(np.argmax(np.isnan(y)))}")
            return y
        classes = self.label.classes
        index = {c: j for j, c in enumerate(classes)}
        out = np.empty(len(values), dtype=np.int64)
        for row, v in enumerate(values):
            if _is_missing(v):
                raise SchemaError(f"the label {self.label.name!r} is missing in row {row}")
            text = _category_text(v)
            if text in index:
                out[row] = index[text]
            elif re.fullmatch(r"[0-9]+", text) and int(text) < len(classes):
                out[row] = int(text)
            else:
                raise SchemaError(f"the label in row {row} is {v!r}: neither one of the classes "
                                  f"({', '.join(map(repr, classes))}) nor an index below {len(classes)}")
        return out

    # ------------------------------------------------------------------ display

    def describe(self) -> str:
        """A table, one line per feature: what `fathom bounty show` prints."""
        rows = [("feature", "type", "unit", "preprocessing", "description")]
        for f in self.features:
            if f.type == "numeric":
                prep = f"(x - {f.centre:.6g}) / {f.scale:.6g}; missing: {f.missing}"
                kind = "numeric"
            else:
                prep = f"one-hot {len(f.categories)}; missing: {f.missing}"
                kind = "categorical: " + ", ".join(f.categories[:6]) + (", ..." if len(f.categories) > 6 else "")
            rows.append((f.name, kind, f.unit or "-", prep, f.description or "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows]
        if self.label is not None:
            what = ("classes " + ", ".join(self.label.classes)) if self.label.classes else f"regression, unit {self.label.unit or '-'}"
            lines.append(f"label: {self.label.name} ({what}){': ' + self.label.description if self.label.description else ''}")
        lines.append(f"{len(self.features)} features, {self.width} model inputs")
        return "\n".join(lines)


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, (float, np.floating)) and math.isnan(v):
        return True
    return isinstance(v, str) and v.strip() == ""


def _category_text(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


def numbers(name: str, values: Any) -> np.ndarray:
    """float64 values, NaN where missing; SchemaError naming the first cell that is not a number."""
    arr = np.asarray(values)
    if arr.dtype.kind in "fiub":
        return arr.astype(np.float64)
    out = np.empty(len(arr), dtype=np.float64)
    for row, v in enumerate(arr.tolist()):
        if _is_missing(v):
            out[row] = np.nan
            continue
        try:
            out[row] = float(v)
        except (TypeError, ValueError):
            raise SchemaError(f"column {name!r}: row {row} holds {v!r}, not a number") from None
    return out


def schema_of(manifest: Mapping[str, Any]) -> FeatureSchema | None:
    """The schema a model manifest carries, or None."""
    doc = manifest.get("features") if isinstance(manifest, Mapping) else None
    return None if doc is None else FeatureSchema.from_json(doc)
