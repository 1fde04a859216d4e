"""The feature schema (fathom/ml/schema.py) and its place in the model manifest
(container version 2 and up, fathom/ml/artefacts.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fathom.ml import artefacts, models
from fathom.ml.artefacts import ArtefactFormatError, ArtefactSchemaError
from fathom.ml.schema import Feature, FeatureSchema, Label, SchemaError, schema_of


def small_schema() -> FeatureSchema:
    return FeatureSchema((
        Feature("age", "age of the patient", "numeric", "years", 50.0, 10.0),
        Feature("smoker", "does the patient smoke", "categorical", "", categories=("no", "yes")),
        Feature("pressure", "systolic blood pressure", "numeric", "mmHg", 120.0, 15.0, missing="refuse"),
    ), Label("disease", "has the disease", ("healthy", "ill")))


def model_with(schema: FeatureSchema) -> tuple[dict, dict]:
    manifest = models.make_manifest("logistic", schema.width, 2)
    manifest["features"] = schema.to_json()
    return manifest, models.init_model(manifest, seed=1)


def test_canonical_json_round_trips_to_the_same_bytes_and_numbers_are_float32():
    s = FeatureSchema((Feature("x", "a value", "numeric", "m", 0.1, 3.0),))
    assert s.features[0].centre == float(np.float32(0.1))
    again = FeatureSchema.from_json(json.loads(s.canonical()))
    assert again == s and again.canonical() == s.canonical()
    assert small_schema().width == 4
    assert small_schema().inputs() == ["age", "smoker=no", "smoker=yes", "pressure"]


def test_transform_standardises_numbers_one_hot_encodes_categories_and_imputes_by_the_schema():
    s = small_schema()
    X = s.transform({"age": [60, None, 40.0], "smoker": ["yes", "no", ""], "pressure": ["135", 120, 105]})
    assert X.dtype == np.float32 and X.shape == (3, 4)
    np.testing.assert_array_equal(X, np.array([[1, 0, 1, 1], [0, 1, 0, 0], [-1, 0, 0, -1]], dtype=np.float32))


def test_a_missing_value_where_the_schema_refuses_it_names_the_feature_and_row():
    with pytest.raises(SchemaError, match=r"'pressure' may not be missing, but row 1"):
        small_schema().transform({"age": [1, 2], "smoker": ["no", "no"], "pressure": [120, float("nan")]})


def test_an_unknown_category_and_a_word_in_a_numeric_column_are_refused_clearly():
    s = small_schema()
    with pytest.raises(SchemaError, match=r"'smoker': row 0 has 'sometimes', not one of its categories \('no', 'yes'\)"):
        s.transform({"age": [1], "smoker": ["sometimes"], "pressure": [1]})
    with pytest.raises(SchemaError, match=r"column 'age': row 0 holds 'old', not a number"):
        s.transform({"age": ["old"], "smoker": ["no"], "pressure": [1]})
    with pytest.raises(SchemaError, match="infinite"):
        s.transform({"age": [1e39], "smoker": ["no"], "pressure": [1]})


def test_labels_are_class_names_or_indices():
    s = small_schema()
    np.testing.assert_array_equal(s.encode_labels(["ill", "healthy", "1", 0]), [1, 0, 1, 0])
    with pytest.raises(SchemaError, match="row 1 is 'maybe'"):
        s.encode_labels(["ill", "maybe"])


def test_fit_takes_mean_and_standard_deviation_and_sorted_categories():
    s = FeatureSchema.fit({"a": [1.0, 3.0, None], "c": ["x", "y", "x"], "k": [5, 5, 5]}, categorical=["c"])
    assert (s.features[0].centre, s.features[0].scale) == (2.0, 1.0)
    assert s.features[1].categories == ("x", "y") and s.features[2].scale == 1.0


def test_a_model_carries_its_schema_in_a_version_2_container_and_without_one_stays_version_1():
    manifest, params = model_with(small_schema())
    blob = artefacts.pack_model(manifest, params)
    assert blob[4] == 2 and artefacts.CONTAINER_VERSION == 4
    model = artefacts.unpack_model(blob)
    assert schema_of(model.manifest) == small_schema() and model.pack() == blob
    plain = dict(manifest)
    del plain["features"]
    assert artefacts.pack_model(plain, params)[4] == 1
    assert schema_of(artefacts.unpack_model(artefacts.pack_model(plain, params)).manifest) is None


def test_a_container_whose_version_disagrees_with_its_schema_is_refused():
    manifest, params = model_with(small_schema())
    blob = artefacts.pack_model(manifest, params)
    with pytest.raises(ArtefactFormatError, match="version 1 container does not match its manifest, which makes it version 2"):
        artefacts.unpack_model(blob[:4] + b"\x01" + blob[5:])
    del manifest["features"]
    plain = artefacts.pack_model(manifest, params)
    with pytest.raises(ArtefactFormatError, match="version 2 container does not match its manifest, which makes it version 1"):
        artefacts.unpack_model(plain[:4] + b"\x02" + plain[5:])


def test_a_requester_schema_that_does_not_fit_the_model_is_refused():
    # the attack: a schema describing other inputs than the model takes, so that contributors
    # would preprocess into a layout the oracles' model does not read
    manifest, params = model_with(small_schema())
    manifest["features"]["features"].pop()
    with pytest.raises(ArtefactSchemaError, match="describe 3 model inputs but layers\\[0\\] takes 4"):
        artefacts.pack_model(manifest, params)


def test_a_hostile_schema_in_an_update_is_refused_as_a_schema_error():
    manifest, params = model_with(small_schema())
    manifest["features"]["features"][1]["categories"] = ["a"] * 2000
    with pytest.raises(ArtefactSchemaError, match="categories"):
        artefacts.pack_update(manifest, params)
    manifest["features"]["features"][1]["categories"] = ["no", "yes"]
    manifest["features"]["features"][0]["scale"] = 0
    with pytest.raises(ArtefactSchemaError, match="scale must be > 0"):
        artefacts.pack_update(manifest, params)
    manifest["features"]["features"][0]["scale"] = 1
    manifest["features"]["surprise"] = 1
    with pytest.raises(ArtefactSchemaError, match="unknown key 'surprise'"):
        artefacts.pack_update(manifest, params)


def test_describe_lists_every_feature_with_type_unit_preprocessing_and_words():
    text = small_schema().describe()
    assert "age" in text and "years" in text and "(x - 50) / 10" in text and "age of the patient" in text
    assert "categorical: no, yes" in text and "label: disease (classes healthy, ill)" in text
    assert text.splitlines()[-1] == "3 features, 4 model inputs"
