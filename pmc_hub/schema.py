"""Record schemas: one definition (schemas/*.schema.json) gives validation and `datasets.Features`."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Optional

from .errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa
    from datasets import Features
from .resources import schema_text


_MISSING = object()


class InvalidRecord(DataError, ValueError):
    """A row that does not match its schema; ``errors`` lists every problem found."""

    def __init__(self, key: str, errors: list[str]):
        self.key = key
        self.errors = errors
        super().__init__(f"{key}: invalid record: " + "; ".join(errors))


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    """Load ``schemas/{name}.schema.json`` (e.g. ``figure``, ``article``)."""
    return json.loads(schema_text(f"{name}.schema.json"))


@lru_cache(maxsize=None)
def _schema(name: str, checked_elsewhere: frozenset = frozenset()) -> dict:
    """The schema of ``name``, less the fields checked elsewhere."""
    schema = load_schema(name)
    if checked_elsewhere:
        schema = {**schema, "properties": {k: v for k, v in schema["properties"].items() if k not in checked_elsewhere},
                  "required": [k for k in schema["required"] if k not in checked_elsewhere], "additionalProperties": True}
    return schema


@lru_cache(maxsize=None)
def validator_class():
    """jsonschema's draft 2020-12 validator with the ``x-bytes`` keyword: for messages only (the
    fast path is `_checker`), so jsonschema is imported when a record first fails, not by every
    worker."""
    import jsonschema

    def is_bytes(validator, value, instance, schema):
        if value and not (isinstance(instance, (bytes, bytearray)) and len(instance) > 0):
            yield jsonschema.ValidationError("image bytes must be non-empty bytes")

    return jsonschema.validators.extend(jsonschema.Draft202012Validator, {"x-bytes": is_bytes})


@lru_cache(maxsize=None)
def _validator(name: str, checked_elsewhere: frozenset = frozenset()):
    return validator_class()(_schema(name, checked_elsewhere))


def _messages(validator, instance: dict) -> list[str]:
    """Every schema error as "field/path: message", in field order."""
    errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{'/'.join(map(str, e.absolute_path)) or '(row)'}: {e.message[:200]}" for e in errors]


# --- the fast path: a schema compiled once into nested checks that answer yes or no ---------------

_TYPES: dict[str, Callable[[Any], bool]] = {
    "null": lambda v: v is None,
    "string": lambda v: isinstance(v, str),
    # as jsonschema (draft 2020-12) has it: 3.0 is an integer
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}
# Keywords that only annotate; every other keyword must be compiled below, so a schema that grows a
# keyword this compiler does not know fails loudly instead of being checked less.
_ANNOTATIONS = {"description", "title", "$schema", "$id", "x-schema-version", "x-source", "x-feature", "x-dtype"}


def _compile(schema: dict) -> Callable[[Any], bool]:
    checks: list[Callable[[Any], bool]] = []
    unknown = set(schema) - _ANNOTATIONS - {"type", "properties", "required", "additionalProperties", "items",
                                            "minLength", "maxLength", "pattern", "minimum", "maximum", "enum",
                                            "minItems", "maxItems", "x-bytes"}
    if unknown:
        raise ValueError(f"schema keyword(s) {sorted(unknown)} are not supported by the compiled validator")
    if "type" in schema:
        kinds = [_TYPES[t] for t in (schema["type"] if isinstance(schema["type"], list) else [schema["type"]])]
        checks.append(kinds[0] if len(kinds) == 1 else (lambda v, ks=kinds: any(k(v) for k in ks)))
    if "enum" in schema:
        checks.append(lambda v, allowed=schema["enum"]: any(v == a and type(v) is type(a) for a in allowed))
    for keyword, test in (("minLength", lambda v, n: len(v) >= n), ("maxLength", lambda v, n: len(v) <= n)):
        if keyword in schema:
            checks.append(lambda v, n=schema[keyword], t=test: not isinstance(v, str) or t(v, n))
    if "pattern" in schema:
        checks.append(lambda v, rx=re.compile(schema["pattern"]): not isinstance(v, str) or rx.search(v) is not None)
    for keyword, test in (("minimum", lambda v, n: v >= n), ("maximum", lambda v, n: v <= n)):
        if keyword in schema:
            checks.append(lambda v, n=schema[keyword], t=test: not _TYPES["number"](v) or t(v, n))
    for keyword, test in (("minItems", lambda v, n: len(v) >= n), ("maxItems", lambda v, n: len(v) <= n)):
        if keyword in schema:
            checks.append(lambda v, n=schema[keyword], t=test: not isinstance(v, list) or t(v, n))
    if schema.get("x-bytes"):
        checks.append(lambda v: isinstance(v, (bytes, bytearray)) and len(v) > 0)
    if "items" in schema:
        item = _compile(schema["items"])
        checks.append(lambda v, item=item: not isinstance(v, list) or all(item(x) for x in v))
    if "properties" in schema or "required" in schema:
        props = {k: _compile(v) for k, v in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        closed = schema.get("additionalProperties", True) is False
        checks.append(lambda v, props=props, required=required, closed=closed: not isinstance(v, dict) or (
            all(k in v for k in required) and all(check(v[k]) for k, check in props.items() if k in v)
            and (not closed or all(k in props for k in v))))
    return lambda v, checks=tuple(checks): all(check(v) for check in checks)


@lru_cache(maxsize=None)
def _checker(name: str, checked_elsewhere: frozenset = frozenset()) -> Callable[[Any], bool]:
    return _compile(_schema(name, checked_elsewhere))


def validate(name: str, row: dict, key: str = "", checked: Optional[dict] = None) -> dict:
    """Return ``row`` unchanged if it matches schema ``name``; else raise `InvalidRecord` listing
    every problem. A valid row costs one pass of compiled checks; messages are made only on failure.

    ``checked`` holds field values already validated with `validate_fields` (the article fields
    every figure row of one article shares are checked once, not once per figure); the row must
    carry exactly those values, and every other field is checked here.
    """
    skip = frozenset(checked or ())
    if _checker(name, skip)(row) and (not checked or (all(row.get(k, _MISSING) is v or row.get(k, _MISSING) == v
                                                          for k, v in checked.items())
                                                      and row.keys() == load_schema(name)["properties"].keys())):
        return row
    errors = _messages(_validator(name, skip), row)
    if checked:
        expected = load_schema(name)["properties"].keys()
        errors += [f"(row): missing field {k!r}" for k in expected if k not in row]
        errors += [f"(row): unknown field {k!r}" for k in row if k not in expected]
        errors += [f"{k}: differs from the article's validated value" for k, v in checked.items()
                   if k in row and row[k] is not v and row[k] != v]
    if errors:
        raise InvalidRecord(key, errors)
    return row


def validate_fields(name: str, values: dict, key: str = "") -> dict:
    """Check some fields of a schema-``name`` row on their own (e.g. an article's shared fields)."""
    props = load_schema(name)["properties"]
    skip = frozenset(props.keys() - values.keys())
    if values.keys() <= props.keys() and _checker(name, skip)(values):
        return values
    errors = _messages(_validator(name, skip), values)
    errors += [f"(row): unknown field {k!r}" for k in values if k not in props]
    if errors:
        raise InvalidRecord(key, errors)
    return values


def _feature(prop: dict) -> Any:
    from datasets import Image, List, Value  # only where Features are made: workers never import datasets

    if prop.get("x-feature") == "Image":
        return Image()
    types = prop.get("type")
    kind = next(t for t in (types if isinstance(types, list) else [types]) if t != "null")
    if kind == "string":
        return Value("string")
    if kind == "integer":
        return Value(prop.get("x-dtype", "int64"))
    if kind == "number":
        return Value(prop.get("x-dtype", "float64"))
    if kind == "boolean":
        return Value("bool")
    if kind == "array":
        return List(_feature(prop["items"]))
    if kind == "object":
        return {k: _feature(v) for k, v in prop["properties"].items()}
    raise ValueError(f"no datasets feature for schema type {kind!r}")


@lru_cache(maxsize=None)
def features(name: str) -> "Features":
    """The `datasets.Features` of schema ``name``, fields in schema order."""
    from datasets import Features

    return Features({k: _feature(v) for k, v in load_schema(name)["properties"].items()})


_ARROW_TYPES = {"string": "string", "bool": "bool", "int8": "int8", "int16": "int16", "int32": "int32", "int64": "int64",
                "float16": "float16", "float32": "float32", "float64": "float64"}


def _arrow(prop: dict) -> tuple[Any, Any]:
    """(Arrow type, `datasets` feature dict) of one schema property: what `features(name).arrow_schema`
    gives, made without importing `datasets` (workers and the writer never need it)."""
    import pyarrow as pa

    if prop.get("x-feature") == "Image":
        return pa.struct([("bytes", pa.binary()), ("path", pa.string())]), {"_type": "Image"}
    types = prop.get("type")
    kind = next(t for t in (types if isinstance(types, list) else [types]) if t != "null")
    if kind in ("string", "integer", "number", "boolean"):
        dtype = {"string": "string", "boolean": "bool"}.get(kind) or prop.get("x-dtype", "int64" if kind == "integer" else "float64")
        return pa.type_for_alias(_ARROW_TYPES[dtype]), {"dtype": dtype, "_type": "Value"}
    if kind == "array":
        item_type, item_feature = _arrow(prop["items"])
        return pa.list_(item_type), {"feature": item_feature, "_type": "List"}
    if kind == "object":
        parts = {k: _arrow(v) for k, v in prop["properties"].items()}
        return pa.struct([(k, t) for k, (t, _) in parts.items()]), {k: f for k, (_, f) in parts.items()}
    raise ValueError(f"no Arrow type for schema type {kind!r}")


@lru_cache(maxsize=None)
def arrow_schema(name: str) -> "pa.Schema":
    """The Arrow schema of schema ``name``, with the `datasets` features in its metadata (so
    `load_dataset` decodes images and keeps the declared types): equal to
    ``features(name).arrow_schema`` (a test checks), without importing `datasets`."""
    import pyarrow as pa

    parts = {k: _arrow(v) for k, v in load_schema(name)["properties"].items()}
    meta = {"info": {"features": {k: f for k, (_, f) in parts.items()}}}
    return pa.schema([(k, t) for k, (t, _) in parts.items()], metadata={"huggingface": json.dumps(meta)})


def to_table(rows: list[dict], name: str) -> "pa.Table":
    """``rows`` as an Arrow table of schema ``name`` (`arrow_schema`). Here, not in `writers`, so
    that a build worker converts its rows without importing the writers and ``pyarrow.parquet``."""
    import pyarrow as pa

    return pa.Table.from_pylist(rows, schema=arrow_schema(name))


def yaml_features(name: str) -> list[dict]:
    """The card's ``dataset_info.features`` of schema ``name``: ``features(name)._to_yaml_list()``
    (a test checks), without importing `datasets`."""
    def entry(feature) -> dict:
        if feature.get("_type") == "Image":
            return {"dtype": "image"}
        if feature.get("_type") == "Value":
            return {"dtype": feature["dtype"]}
        if feature.get("_type") == "List":
            inner = entry(feature["feature"])
            return {"list": inner.get("dtype", inner.get("struct"))}
        return {"struct": [{"name": k, **entry(v)} for k, v in feature.items()]}

    features_json = json.loads(arrow_schema(name).metadata[b"huggingface"])["info"]["features"]
    return [{"name": k, **entry(v)} for k, v in features_json.items()]


def field_docs(name: str) -> list[dict]:
    """(name, type, description, source) per field, for cards and docs."""
    feats = json.loads(arrow_schema(name).metadata[b"huggingface"])["info"]["features"]
    return [
        {"name": k, "type": _type_name(feats[k]), "nullable": "null" in str(v.get("type", "")),
         "description": v.get("description", ""), "source": v.get("x-source", "")}
        for k, v in load_schema(name)["properties"].items()
    ]


def _type_name(feature: dict) -> str:
    """A `datasets` feature (as its JSON) as the field tables name it: ``list<string>``..."""
    if feature.get("_type") == "Image":
        return "image"
    if feature.get("_type") == "Value":
        return feature["dtype"]
    if feature.get("_type") == "List":
        return f"list<{_type_name(feature['feature'])}>"
    return "struct<" + ", ".join(f"{k}: {_type_name(v)}" for k, v in feature.items()) + ">"
