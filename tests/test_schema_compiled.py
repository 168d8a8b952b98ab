"""The compiled yes/no validator (the build's fast path) agrees with jsonschema on every schema."""
from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from figure_rows import sample_rows
from pmc_hub.schema import InvalidRecord, _compile, load_schema, validate, validator_class

values = st.recursive(st.none() | st.booleans() | st.integers(-3, 10**12) | st.floats(allow_nan=False) | st.text(max_size=70)
                      | st.binary(max_size=3) | st.sampled_from(["0" * 64, "a" * 16, "2020-01-02", "commercial", "multiple"]),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
                          ["bytes", "path", "width", "height", "ref_id", "text", "pmid", "doi", "x"]), inner, max_size=4),
                      max_leaves=8)
ROW = sample_rows()[0]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(ROW)), values, st.booleans())
def test_compiled_figure_validator_agrees_with_jsonschema(field, value, drop):
    row = copy.copy(ROW)
    if drop:
        del row[field]
    else:
        row[field] = value
    schema = load_schema("figure")
    assert _compile(schema)(row) == validator_class()(schema).is_valid(row)


@pytest.mark.parametrize("name", ["figure", "article", "subfigure", "card", "access_policy"])
def test_every_schema_compiles_or_says_which_keyword_it_lacks(name):
    try:
        _compile(load_schema(name))
    except ValueError as exc:
        assert "not supported" in str(exc)  # (card and policy schemas are checked by jsonschema only)


def test_invalid_row_still_gets_every_message():
    row = dict(ROW, image_hash="nothex", article_date="March 2020")
    with pytest.raises(InvalidRecord) as e:
        validate("figure", row, "k")
    assert [m.split(":")[0] for m in e.value.errors] == ["article_date", "image_hash"]


@pytest.mark.parametrize("name", ["figure", "article", "subfigure"])
def test_arrow_schema_made_without_datasets_equals_the_datasets_one(name):
    import json

    from pmc_hub.schema import arrow_schema, features

    ours, theirs = arrow_schema(name), features(name).arrow_schema
    assert ours.remove_metadata().equals(theirs.remove_metadata())
    assert json.loads(ours.metadata[b"huggingface"]) == json.loads(theirs.metadata[b"huggingface"])


@pytest.mark.parametrize("name", ["figure", "article", "subfigure"])
def test_card_features_made_without_datasets_equal_the_datasets_ones(name):
    from pmc_hub.schema import features, yaml_features

    assert yaml_features(name) == features(name)._to_yaml_list()


def test_an_integral_float_is_an_integer_for_both():

    schema = load_schema("figure")
    row = dict(ROW, image_cluster_id=0.0)
    assert _compile(schema)(row) == validator_class()(schema).is_valid(row) is True
