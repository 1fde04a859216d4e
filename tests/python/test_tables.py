"""Tables in (fathom/ml/tables.py): a contributor's CSV or Parquet file mapped onto a
bounty's feature schema by exact names, then by the meaning of names and descriptions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fathom.ml.schema import Feature, FeatureSchema, Label, SchemaError
from fathom.ml.tables import (ColumnInfo, TableError, convert_units, map_columns, parse_map, read_dictionary, read_table,
                              to_xy)

from tables_helpers import PARAPHRASES, breast_cancer, bounty_schema, contributor_table


@pytest.fixture(scope="module")
def cancer():
    names, X, y = breast_cancer()
    return names, X, y, bounty_schema(X[:300])


def write_csv(path, columns: dict) -> None:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    pcsv.write_csv(pa.table(columns), path)


def test_a_renamed_reordered_redescribed_table_with_an_extra_column_and_a_gap_maps_correctly(cancer, tmp_path):
    """The issue's 'done when': paraphrased names, a dictionary in other words, one extra
    column, one missing value, the label in words: every column lands on its feature."""
    names, X, y, schema = cancer
    columns, dictionary, order = contributor_table("breast_cancer_dictionary", X[300:], y[300:], seed=4)
    gap_column = next(iter(columns))
    columns[gap_column][7] = None
    write_csv(tmp_path / "mine.csv", columns)
    (tmp_path / "dict.json").write_text(json.dumps(dictionary))
    table = read_table(tmp_path / "mine.csv")
    assert table.names == list(columns) and table.rows == len(X) - 300
    mapping = map_columns(schema, table.names, dictionary=read_dictionary(tmp_path / "dict.json"), label="outcome")
    mapping.check()
    spec = PARAPHRASES["fixtures"]["breast_cancer_dictionary"]["columns"]
    assert mapping.columns() == {f: spec[f]["column"] for f in names}
    assert mapping.extra == ["patient_ref"] and "ignored columns: patient_ref" in mapping.table()
    assert all(m.how == "meaning" and m.similarity > 0.5 for m in mapping.matches)
    Xt, yt = to_xy(schema, table, mapping, "outcome")
    want = schema.transform({n: X[300:, i] for i, n in enumerate(names)})
    gap_feature = order[0]
    want[7, names.index(gap_feature)] = 0.0  # the schema imputes the centre: 0 after scaling
    np.testing.assert_allclose(Xt, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(yt, y[300:])


def test_names_alone_map_correctly_and_the_same_table_reads_from_parquet(cancer, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    names, X, y, schema = cancer
    columns, _, _ = contributor_table("breast_cancer_names_only", X[300:], y[300:], seed=5)
    pq.write_table(pa.table(columns), tmp_path / "mine.parquet")
    table = read_table(tmp_path / "mine.parquet")
    mapping = map_columns(schema, table.names, label="outcome")
    mapping.check()
    spec = PARAPHRASES["fixtures"]["breast_cancer_names_only"]["columns"]
    assert mapping.columns() == {f: spec[f]["column"] for f in names}


def test_an_ambiguous_table_is_refused_naming_the_doubtful_columns_and_map_settles_it(cancer):
    """Two columns named and described alike ('radius_a', 'radius_b': 'radius of the
    nucleus'), one the average and one the largest radius: refused, both named, until
    --map settles one."""
    names, X, y, schema = cancer
    columns, dictionary, _ = contributor_table("breast_cancer_dictionary", X[300:], y[300:])
    for old, new in (("avg_nucleus_radius", "radius_a"), ("max_nucleus_radius", "radius_b")):
        columns[new] = columns.pop(old)
        del dictionary[old]
        dictionary[new] = "radius of the nucleus"
    mapping = map_columns(schema, list(columns), dictionary=read_dictionary(dictionary), label="outcome")
    assert not mapping.ok
    with pytest.raises(TableError) as info:
        mapping.check()
    message = str(info.value)
    assert "'radius_a'" in message and "'radius_b'" in message and "--map COLUMN=FEATURE" in message
    assert "(doubtful)" in mapping.table()
    assert set(mapping.doubtful) == {"radius_a", "radius_b"}  # the other 28 columns are clear
    settled = map_columns(schema, list(columns), dictionary=read_dictionary(dictionary), label="outcome",
                          manual=parse_map(["radius_b=worst radius"]))
    settled.check()
    assert settled.columns()["mean radius"] == "radius_a" and settled.columns()["worst radius"] == "radius_b"
    assert next(m for m in settled.matches if m.feature == "worst radius").how == "map"


def test_a_table_missing_a_feature_is_refused_naming_it():
    schema = FeatureSchema((Feature("age", "age of the patient in years"), Feature("income", "yearly income in euros")))
    mapping = map_columns(schema, ["patient_age"])
    with pytest.raises(TableError, match="no clear column for 'income'"):
        mapping.check()


def test_an_unrelated_column_is_not_forced_onto_a_feature():
    # the attack: a contributor's junk column taken for a feature because it was the only one left
    schema = FeatureSchema((Feature("age", "age of the patient in years"), Feature("income", "yearly income in euros")))
    mapping = map_columns(schema, ["patient_age", "favourite_colour"])
    assert mapping.columns()["age"] == "patient_age" and not mapping.ok
    with pytest.raises(TableError, match="'favourite_colour'"):
        mapping.check()


def test_exact_names_come_first_ignoring_case_and_separators():
    schema = FeatureSchema((Feature("mean radius", "x"), Feature("worst radius", "y")))
    mapping = map_columns(schema, ["Worst_Radius", "MEAN-RADIUS"], embedder=_NoEmbedder())
    assert mapping.columns() == {"mean radius": "MEAN-RADIUS", "worst radius": "Worst_Radius"}
    assert {m.how for m in mapping.matches} == {"exact"}


class _NoEmbedder:
    def embed(self, texts):  # pragma: no cover - must not be called
        raise AssertionError("exact names need no embedding")


def test_map_mistakes_are_plain_errors():
    schema = FeatureSchema((Feature("age"),))
    with pytest.raises(TableError, match="takes COLUMN=FEATURE"):
        parse_map(["age"])
    with pytest.raises(TableError, match="column 'nope'"):
        map_columns(schema, ["a"], manual={"nope": "age"})
    with pytest.raises(SchemaError, match="no feature 'height'"):
        map_columns(schema, ["a"], manual={"a": "height"})
    with pytest.raises(TableError, match="label column 'y' is not in the table"):
        map_columns(schema, ["a"], label="y")


def patients() -> FeatureSchema:
    return FeatureSchema((
        Feature("height", "body height", "numeric", "cm", 170.0, 10.0),
        Feature("smoker", "does the patient smoke", "categorical", categories=("no", "yes")),
        Feature("temperature", "body temperature", "numeric", "c", 37.0, 1.0, missing="refuse"),
    ), Label("sick", "is the patient sick", ("no", "yes")))


def test_units_and_category_words_follow_the_dictionary(tmp_path):
    write_csv(tmp_path / "t.csv", {"height": [1.8, 1.6, None], "smoker": ["Y", "N", "N"], "temperature": [98.6, 100.4, 96.8],
                                  "sick": ["yes", "no", "no"]})
    dictionary = read_dictionary({"height": {"unit": "m"}, "smoker": {"categories": {"Y": "yes", "N": "no"}},
                                  "temperature": {"unit": "F"}})
    table = read_table(tmp_path / "t.csv")
    X, y = to_xy(patients(), table, map_columns(patients(), table.names, label="sick", embedder=_NoEmbedder()), "sick", dictionary)
    np.testing.assert_allclose(X, [[1, 0, 1, 0], [-1, 1, 0, 1], [0, 1, 0, -1]], atol=1e-5)
    np.testing.assert_array_equal(y, [1, 0, 0])


def test_values_that_cannot_follow_the_schema_are_clear_errors(tmp_path):
    schema = patients()
    base = {"height": [180, 160], "smoker": ["yes", "no"], "temperature": [37, 38], "sick": ["no", "yes"]}

    def attempt(dictionary=None, **change):
        write_csv(tmp_path / "t.csv", {**base, **change})
        table = read_table(tmp_path / "t.csv")
        return to_xy(schema, table, map_columns(schema, table.names, label="sick", embedder=_NoEmbedder()), "sick",
                     read_dictionary(dictionary or {}))

    with pytest.raises(TableError, match=r"'temperature' \(column 'temperature'\) may not be missing, but row 1"):
        attempt(temperature=[37, None])
    with pytest.raises(TableError, match="row 0 has 'sometimes', not one of its categories"):
        attempt(smoker=["sometimes", "no"])
    with pytest.raises(TableError, match="row 1 holds 'tall', not a number"):
        attempt(height=["180", "tall"])
    with pytest.raises(TableError, match=r"'kg' \(mass\) but the feature wants 'cm' \(length\)"):
        attempt({"height": {"unit": "kg"}})
    with pytest.raises(TableError, match="no conversion known for 'furlong'"):
        attempt({"height": {"unit": "furlong"}})
    with pytest.raises(TableError, match="label column 'sick'.*row 1 is 'maybe'"):
        attempt(sick=["no", "maybe"])


def test_convert_units_is_exact_on_known_pairs():
    np.testing.assert_allclose(convert_units(np.array([0.0, 100.0]), "C", "F"), [32.0, 212.0])
    np.testing.assert_allclose(convert_units(np.array([50.0]), "%", "fraction"), [0.5])
    np.testing.assert_allclose(convert_units(np.array([2.0]), "in", "cm"), [5.08])


def test_unreadable_tables_and_dictionaries_are_plain_errors(tmp_path):
    with pytest.raises(TableError, match="is not a file"):
        read_table(tmp_path / "none.csv")
    (tmp_path / "t.xlsx").write_text("x")
    with pytest.raises(TableError, match="unknown table format"):
        read_table(tmp_path / "t.xlsx")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(TableError, match="cannot be read as a table"):
        read_table(tmp_path / "bad.parquet")
    (tmp_path / "d.json").write_text("{")
    with pytest.raises(TableError, match="not valid JSON"):
        read_dictionary(tmp_path / "d.json")
    with pytest.raises(TableError, match="entry 'a'"):
        read_dictionary({"a": {"colour": "red"}})
    assert read_dictionary({"a": "words"}) == {"a": ColumnInfo("words")}


def test_cryptic_abbreviations_are_refused_rather_than_guessed(cancer):
    """Names like r_avg or cncv_pts_se, without a dictionary, carry too little meaning:
    every column is doubtful (none is silently taken), and the contributor must --map."""
    names, X, y, schema = cancer
    spec = PARAPHRASES["fixtures"]["breast_cancer_abbreviations"]["columns"]
    mapping = map_columns(schema, [spec[n]["column"] for n in names])
    assert not mapping.ok and set(mapping.doubtful) == {spec[n]["column"] for n in names}
