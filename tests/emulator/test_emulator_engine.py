"""The emulator's deterministic engine, as pure functions (no socket)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from cf_aig.emulator.engine import Script, generate, instance_for, keywords, numbers


def tool(name: str, props: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": {
        "type": "object", "properties": props or {}, "required": list(props or {})}}}


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


MAGIC = tool("magic_function", {"input": {"type": "integer"}})
WEATHER = tool("get_weather", {"city": {"type": "string"}})


def test_magic_function_arguments() -> None:
    g = generate({"messages": user("What is magic_function(3)?"), "tools": [MAGIC]})
    (call,) = g.turns[0].tool_calls
    assert call["name"] == "magic_function" and json.loads(call["arguments"]) == {"input": 3}
    assert call["id"].startswith("call_") and g.turns[0].finish_reason == "tool_calls"
    assert g.turns[0].text is None


def test_mention_with_spaces_case_insensitive() -> None:
    g = generate({"messages": user("Please Get Weather for Lisbon"), "tools": [WEATHER]})
    assert json.loads(g.turns[0].tool_calls[0]["arguments"]) == {"city": "Lisbon"}


def test_no_mention_no_call_unless_forced() -> None:
    req: dict[str, Any] = {"messages": user("hello there"), "tools": [MAGIC, WEATHER]}
    assert generate(req).turns[0].tool_calls == []
    for choice in ("required", "any", {"type": "any"}):
        calls = generate({**req, "tool_choice": choice}).turns[0].tool_calls
        assert [c["name"] for c in calls] == ["magic_function"]
    named = {"type": "function", "function": {"name": "get_weather"}}
    assert [c["name"] for c in generate({**req, "tool_choice": named}).turns[0].tool_calls] \
        == ["get_weather"]
    anthropic_named = {"type": "tool", "name": "get_weather"}
    assert generate({**req, "tool_choice": anthropic_named}).turns[0].tool_calls[0][
        "name"] == "get_weather"


def test_tool_choice_none() -> None:
    g = generate({"messages": user("magic_function(2)"), "tools": [MAGIC], "tool_choice": "none"})
    assert g.turns[0].tool_calls == [] and g.turns[0].text


def test_parallel_calls_and_opt_out() -> None:
    req: dict[str, Any] = {"messages": user("call magic_function(1) and get_weather in Oslo"),
                           "tools": [MAGIC, WEATHER]}
    assert [c["name"] for c in generate(req).turns[0].tool_calls] == ["magic_function",
                                                                       "get_weather"]
    assert len(generate({**req, "parallel_tool_calls": False}).turns[0].tool_calls) == 1


def test_tool_result_ends_the_loop() -> None:
    messages = [*user("What is magic_function(3)?"),
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "magic_function", "arguments": '{"input": 3}'}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "5"}]
    turn = generate({"messages": messages, "tools": [MAGIC]}).turns[0]
    assert turn.tool_calls == [] and turn.finish_reason == "stop"
    assert "magic_function returned 5" in (turn.text or "")


def test_text_reply_is_deterministic_and_mentions_keywords() -> None:
    req = {"messages": [{"role": "system", "content": "Answer in French."},
                        *user("Explain photosynthesis in plants")]}
    a, b = generate(req).turns[0].text, generate(req).turns[0].text
    assert a == b and a is not None and "photosynthesis" in a and "French" not in a


def test_max_tokens_truncates() -> None:
    turn = generate({"messages": user("one two three four five"), "max_tokens": 3}).turns[0]
    assert turn.finish_reason == "length" and len((turn.text or "").split()) == 3


def test_stop_sequence() -> None:
    turn = generate({"messages": user("alpha beta gamma"), "stop": ["beta"]}).turns[0]
    assert "beta" not in (turn.text or "") and turn.finish_reason == "stop"


def test_usage_counts() -> None:
    g = generate({"messages": [{"role": "system", "content": "be brief"},
                               {"role": "user", "content": [{"type": "text",
                                                             "text": "hi you"}]}]})
    assert g.usage["prompt_tokens"] == 4
    assert g.usage["completion_tokens"] == len((g.turns[0].text or "").split())


def test_reasoning() -> None:
    g = generate({"messages": user("why is the sky blue")}, think=True)
    assert g.turns[0].reasoning
    assert g.usage["completion_tokens_details"]["reasoning_tokens"] == len(
        g.turns[0].reasoning.split())
    assert generate({"messages": user("x"), "reasoning_effort": "high"}).turns[0].reasoning


def test_n_choices() -> None:
    assert len(generate({"messages": user("x"), "n": 3}).turns) == 3


def test_json_object_mode() -> None:
    turn = generate({"messages": user("list colors"),
                     "response_format": {"type": "json_object"}}).turns[0]
    assert isinstance(json.loads(turn.text or ""), dict) and turn.is_json


def test_script_overrides() -> None:
    turn = generate({"messages": user("x")}, script=Script(text="fixed")).turns[0]
    assert turn.text == "fixed" and turn.finish_reason == "stop"


COMPLEX_SCHEMA: dict[str, Any] = {
    "type": "object",
    "$defs": {"Address": {"type": "object", "properties": {
        "street": {"type": "string", "minLength": 12}, "zip": {"type": "string",
                                                                "maxLength": 3}},
        "required": ["street", "zip"]}},
    "properties": {
        "name": {"type": "string"}, "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "score": {"type": "number"}, "active": {"type": "boolean"},
        "kind": {"enum": ["a", "b"]}, "tags": {"type": "array", "items": {"type": "string"},
                                                "minItems": 2},
        "address": {"$ref": "#/$defs/Address"},
        "maybe": {"anyOf": [{"type": "null"}, {"type": "integer"}]},
        "nick": {"type": ["string", "null"]}, "when": {"type": "string", "format": "date-time"},
        "extra": {"allOf": [{"type": "object", "properties": {"x": {"type": "integer"}},
                             "required": ["x"]}]},
        "const": {"const": 42},
    },
    "required": ["name", "age", "address", "tags", "kind"],
    "additionalProperties": False,
}


def test_instance_for_complex_schema_is_valid() -> None:
    value = instance_for(COMPLEX_SCHEMA, "Alice is 30 years old with score 9.5")
    jsonschema.validate(value, COMPLEX_SCHEMA)
    assert value["age"] == 30 and value["name"] == "Alice" and value["kind"] == "a"


@pytest.mark.parametrize("schema", [
    {"type": "array", "items": {"type": "integer"}, "maxItems": 1},
    {"type": "string"}, {"type": "integer", "minimum": 10}, {"oneOf": [{"type": "boolean"}]},
    {"type": "object", "properties": {"a": {"type": "object", "properties": {
        "b": {"type": "array", "items": {"type": "number"}}}}}},
])
def test_instance_for_simple_schemas(schema: dict[str, Any]) -> None:
    jsonschema.validate(instance_for(schema, "value 5"), schema)


def test_json_schema_mode_uses_openai_wrapper_or_bare_schema() -> None:
    wrapped = {"type": "json_schema", "json_schema": {"name": "x", "schema": COMPLEX_SCHEMA}}
    bare = {"type": "json_schema", "json_schema": COMPLEX_SCHEMA}
    for fmt in (wrapped, bare):
        turn = generate({"messages": user("Bob 40"), "response_format": fmt}).turns[0]
        jsonschema.validate(json.loads(turn.text or ""), COMPLEX_SCHEMA)
        assert turn.json_value == json.loads(turn.text or "")


def test_helpers() -> None:
    assert numbers("add 2 and -3.5 to x9") == [2, -3.5]
    assert keywords("What is the capital of France?") == ["capital", "France"]


def test_docstring_examples_run() -> None:
    import doctest

    import cf_aig.emulator
    from cf_aig.emulator import engine, faults

    for module in (cf_aig.emulator, engine, faults):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
