"""Emulator output validated against OpenAI's own OpenAPI schemas (tests/data subset)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from cf_aig.emulator import Emulator, Script

SPEC = Path(__file__).resolve().parents[1] / "data" / "openai-schemas.json"
AUTH = {"Authorization": "Bearer test-token"}
CHAT = "/ai/v1/chat/completions"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]

def _nullable(node: Any) -> Any:
    """Turn OpenAPI 3.0 ``nullable: true`` leftovers into JSON Schema null unions."""
    if isinstance(node, dict):
        out = {k: _nullable(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") is True:
            return {"anyOf": [out, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@cache
def _components() -> dict[str, Any]:
    doc = json.loads(SPEC.read_text())
    return {"components": _nullable(doc["components"])}


def validate(instance: Any, name: str) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", **_components()}
    jsonschema.Draft202012Validator(schema).validate(instance)


@pytest.fixture
def client(cf_aig_emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cf_aig_emulator.account_url, headers=AUTH) as c:
        yield c


def chunks(text: str) -> list[dict[str, Any]]:
    out = [json.loads(line[6:]) for line in text.splitlines()
           if line.startswith("data: ") and line != "data: [DONE]"]
    assert text.rstrip().endswith("data: [DONE]")
    return out


@pytest.mark.parametrize("body", [
    {"messages": [{"role": "user", "content": "Hello world"}]},
    {"messages": [{"role": "user", "content": "weather in Paris via get_weather"}],
     "tools": TOOLS},
    {"messages": [{"role": "user", "content": "Hello"}], "n": 2, "max_tokens": 2},
    {"messages": [{"role": "user", "content": "Hello"}], "reasoning_effort": "low"},
    {"messages": [{"role": "user", "content": "x"}],
     "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {
         "type": "object", "properties": {"v": {"type": "integer"}}}}}},
])
def test_chat_completion_matches_openai_schema(client: httpx.Client, body: dict[str, Any]) -> None:
    r = client.post(CHAT, json={"model": "openai/gpt-5.5", **body})
    assert r.status_code == 200
    validate(r.json(), "CreateChatCompletionResponse")


@pytest.mark.parametrize("body", [
    {"messages": [{"role": "user", "content": "Hello world"}]},
    {"messages": [{"role": "user", "content": "weather in Paris via get_weather"}],
     "tools": TOOLS},
    {"messages": [{"role": "user", "content": "Hello"}], "n": 2},
])
def test_chat_chunks_match_openai_schema(client: httpx.Client, body: dict[str, Any]) -> None:
    r = client.post(CHAT, json={"model": "openai/gpt-4.1", "stream": True,
                                "stream_options": {"include_usage": True}, **body})
    got = chunks(r.text)
    for chunk in got:
        validate(chunk, "CreateChatCompletionStreamResponse")
    assert got[-1]["choices"] == [] and got[-1]["usage"]["total_tokens"] > 0
    if "tools" in body:
        assert any(c["choices"] and c["choices"][0]["delta"].get("tool_calls") for c in got)


def test_scripted_parallel_tool_call_chunks_match_schema(
        client: httpx.Client, cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.enqueue(Script(tool_calls=[{"name": "a", "arguments": {"x": [1, 2]}},
                                               {"name": "b", "arguments": {}}]))
    r = client.post(CHAT, json={"model": "openai/gpt-4.1", "stream": True,
                                "messages": [{"role": "user", "content": "go"}]})
    for chunk in chunks(r.text):
        validate(chunk, "CreateChatCompletionStreamResponse")


def test_workers_ai_chat_model_on_openai_route_matches_schema(client: httpx.Client) -> None:
    r = client.post(CHAT, json={"model": "@cf/moonshotai/kimi-k2.6",
                                "messages": [{"role": "user", "content": "hi"}]})
    validate(r.json(), "CreateChatCompletionResponse")
    r = client.post(CHAT, json={"model": "@cf/moonshotai/kimi-k2.6", "stream": True,
                                "messages": [{"role": "user", "content": "hi"}]})
    for chunk in chunks(r.text)[:-1]:  # the last line is Workers AI's {"response", "usage"}
        validate(chunk, "CreateChatCompletionStreamResponse")


@pytest.mark.parametrize("model", ["@cf/baai/bge-small-en-v1.5", "openai/text-embedding-3-small"])
def test_embeddings_match_openai_schema(client: httpx.Client, model: str) -> None:
    r = client.post("/ai/v1/embeddings", json={"model": model, "input": ["a b", "c"]})
    validate(r.json(), "CreateEmbeddingResponse")
