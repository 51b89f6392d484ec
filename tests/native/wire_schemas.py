"""Validate captured wire bodies against OpenAI's own schemas (``tests/data`` subset)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SPEC = Path(__file__).resolve().parent.parent / "data" / "openai-schemas.json"


def _nullable(node: Any) -> Any:
    """OpenAPI leftovers → JSON Schema: ``nullable`` becomes a null union, and ``oneOf``
    becomes ``anyOf`` (the spec's input-item union has overlapping branches: a user message
    with a list of parts is both an ``EasyInputMessage`` and an ``InputMessage``)."""
    if isinstance(node, dict):
        out = {("anyOf" if k == "oneOf" else k): _nullable(v)
               for k, v in node.items() if k != "nullable"}
        if node.get("nullable") is True:
            return {"anyOf": [out, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@cache
def _components() -> dict[str, Any]:
    return {"components": _nullable(json.loads(SPEC.read_text())["components"])}


def validate(instance: Any, name: str) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``instance`` is a valid ``name``."""
    schema = {"$ref": f"#/components/schemas/{name}", **_components()}
    jsonschema.Draft202012Validator(schema).validate(instance)


def has_schema(name: str) -> bool:
    return name in _components()["components"]["schemas"]
