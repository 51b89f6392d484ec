"""Emulator ``/ai/v1/messages`` (Anthropic) and ``/ai/v1/responses`` (OpenAI) over loopback.

Plain httpx only (no client code). Responses output and every stream event are validated
against OpenAI's OpenAPI schemas; Messages output against the Anthropic wire summary.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from cf_aig.emulator import Emulator, Fault, Script
from cf_aig.emulator.messages import signature_for

DATA = Path(__file__).resolve().parents[1] / "data"
OPENAI_SPEC = DATA / "openai-schemas.json"
ANTHROPIC_SUMMARY = DATA / "anthropic-messages-wire-summary.json"

AUTH = {"Authorization": "Bearer test-token"}
MSG, RESP = "/ai/v1/messages", "/ai/v1/responses"
CLAUDE, GPT = "anthropic/claude-sonnet-4.5", "openai/gpt-5"
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"},
                                           "days": {"type": "integer"}},
          "required": ["city", "days"]}
A_TOOLS = [{"name": "get_weather", "description": "Weather for a city", "input_schema": SCHEMA},
           {"name": "get_time", "description": "Time in a city", "input_schema": {
               "type": "object", "properties": {"city": {"type": "string"}}}}]
R_TOOLS = [{"type": "function", "name": t["name"], "description": t["description"],
            "parameters": t["input_schema"]} for t in A_TOOLS]
ASK = "Use get_weather for Paris over 3 days"
ANSWER_SCHEMA = {"type": "object", "properties": {
    "city": {"type": "string"}, "count": {"type": "integer", "minimum": 1},
    "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2}},
    "required": ["city", "count", "tags"], "additionalProperties": False}


@pytest.fixture
def client(cf_aig_emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cf_aig_emulator.account_url, headers=AUTH) as c:
        yield c


def fault(**kw: Any) -> dict[str, str]:
    return {"x-cf-aig-emulator-fault": json.dumps(kw)}


def msg_body(content: Any = "Hello there, tell me about Paris", **kw: Any) -> dict[str, Any]:
    return {"model": CLAUDE, "max_tokens": 1024,
            "messages": [{"role": "user", "content": content}], **kw}


def resp_body(inp: Any = "Hello there, tell me about Paris", **kw: Any) -> dict[str, Any]:
    return {"model": GPT, "input": inp, **kw}


def named_events(text: str) -> list[tuple[str | None, dict[str, Any]]]:
    """``(event name, data)`` per SSE event; fails on a ``[DONE]`` sentinel."""
    out: list[tuple[str | None, dict[str, Any]]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        if data:
            assert data != ["[DONE]"], "no [DONE] on these routes"
            out.append((name, json.loads("\n".join(data))))
    return out


def v4_code(body: dict[str, Any]) -> int:
    return int(body["errors"][0]["code"])


# ---- schemas -----------------------------------------------------------------------------

def _nullable(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` leftovers as JSON Schema null unions."""
    if isinstance(node, dict):
        out = {k: _nullable(v) for k, v in node.items() if k != "nullable"}
        return {"anyOf": [out, {"type": "null"}]} if node.get("nullable") is True else out
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@cache
def _components() -> dict[str, Any]:
    return {"components": _nullable(json.loads(OPENAI_SPEC.read_text())["components"])}


@cache
def _event_schemas() -> dict[str, str]:
    """Stream event ``type`` -> schema name, from every ``Response*Event`` in the subset."""
    out: dict[str, str] = {}
    for name, schema in _components()["components"]["schemas"].items():
        enum = schema.get("properties", {}).get("type", {}).get("enum") if isinstance(
            schema, dict) else None
        if name.startswith("Response") and name.endswith("Event") and enum:
            out[enum[0]] = name
    return out


def validate(instance: Any, name: str) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", **_components()}
    jsonschema.Draft202012Validator(schema).validate(instance)


def validate_event(event: dict[str, Any]) -> None:
    name = _event_schemas().get(event["type"])
    assert name, f"no schema for event type {event['type']!r}"
    validate(event, name)


@cache
def anthropic_summary() -> dict[str, Any]:
    return dict(json.loads(ANTHROPIC_SUMMARY.read_text()))


def check_message(message: dict[str, Any]) -> None:
    """A Messages ``message`` against the wire summary: fields, block types, usage."""
    summary = anthropic_summary()["response_message"]
    assert set(summary["fields"]) <= set(message)
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["id"].startswith("msg_")
    assert message["stop_reason"] in summary["stop_reason_values"]
    for block in message["content"]:
        assert block["type"] in summary["content_block_types"]
    for key in ("input_tokens", "output_tokens", "cache_creation_input_tokens",
                "cache_read_input_tokens"):
        assert key in summary["usage_fields"] and isinstance(message["usage"][key], int)


def text_of(message: dict[str, Any]) -> str:
    return "".join(b["text"] for b in message["content"] if b["type"] == "text")


def output_text(response: dict[str, Any]) -> str:
    return "".join(p["text"] for item in response["output"] if item["type"] == "message"
                   for p in item["content"] if p["type"] == "output_text")


def calls_of(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in response["output"] if i["type"] == "function_call"]


# =========================================================================================
# Anthropic Messages
# =========================================================================================

def test_messages_invoke_shape_usage_and_headers(client: httpx.Client) -> None:
    r = client.post(MSG, json=msg_body(system="You are terse."))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    m = r.json()
    check_message(m)
    assert "success" not in m and m["model"] == CLAUDE
    assert m["stop_reason"] == "end_turn" and m["stop_sequence"] is None
    assert [b["type"] for b in m["content"]] == ["text"] and "Paris" in text_of(m)
    assert m["usage"]["input_tokens"] == 9  # "You are terse." + 6 prompt words
    assert m["usage"]["output_tokens"] == len(text_of(m).split())
    h = r.headers
    assert h["cf-aig-model"] == CLAUDE and h["cf-aig-provider"] == "anthropic"
    assert h["cf-aig-cache-status"] == "MISS" and h["cf-aig-log-id"]
    again = client.post(MSG, json=msg_body(system="You are terse.")).json()
    assert text_of(again) == text_of(m) and again["id"] != m["id"]


@pytest.mark.parametrize(("missing", "detail"), [
    ("max_tokens", "Required value missing: max_tokens"),
    ("model", "Required value missing: model"),
    ("messages", "Required value missing: messages")])
def test_messages_required_fields_are_v4_7003(client: httpx.Client, missing: str,
                                               detail: str) -> None:
    body = msg_body()
    del body[missing]
    r = client.post(MSG, json=body)
    assert r.status_code == 400 and v4_code(r.json()) == 7003
    assert r.json()["errors"][0]["message"] == \
        f"Model execution failed (User Input Error): {detail}"


@pytest.mark.parametrize("patch", [
    {"system": [{"type": "text", "text": "You are terse."}]},
    {"max_tokens": 0}, {"max_tokens": "10"}, {"messages": []},
    {"messages": [{"role": "system", "content": "x"}]},
    {"messages": [{"role": "user", "content": [{"type": "audio", "data": "x"}]}]},
    {"temperature": 1.5},
    {"tools": [{"name": "x"}]},
    {"tools": [{"type": "code_execution_20250825", "name": "code_execution"}]},
    {"tools": [{"type": "web_search_20250305", "name": "search"}]},
    {"tool_choice": {"type": "sometimes"}},
    {"thinking": {"type": "enabled", "budget_tokens": 512}},
    {"output_format": {"type": "json_object"}},
    {"model": "@cf/meta/llama-3.1-8b-instruct"},
    {"model": "@cf/openai/gpt-oss-120b"},
])
def test_messages_schema_errors_are_v4_7003(client: httpx.Client, patch: dict[str, Any]) -> None:
    r = client.post(MSG, json={**msg_body(), **patch})
    assert r.status_code == 400, r.text
    assert v4_code(r.json()) == 7003
    assert r.json()["errors"][0]["message"].startswith("Model execution failed (User Input")


def test_messages_unknown_model_is_404(client: httpx.Client) -> None:
    r = client.post(MSG, json=msg_body(model="anthropic/claude-nonexistent"))
    assert r.status_code == 404 and r.json()["internalCode"] == 7003


def test_messages_other_providers_models_are_served(client: httpx.Client) -> None:
    r = client.post(MSG, json=msg_body(model="openai/gpt-4.1"))
    assert r.status_code == 200 and r.headers["cf-aig-provider"] == "openai"


def test_messages_tool_use(client: httpx.Client) -> None:
    m = client.post(MSG, json=msg_body(ASK, tools=A_TOOLS)).json()
    check_message(m)
    assert m["stop_reason"] == "tool_use"
    (use,) = [b for b in m["content"] if b["type"] == "tool_use"]
    assert use["id"].startswith("toolu_") and use["name"] == "get_weather"
    assert use["input"] == {"city": "Paris", "days": 3}


@pytest.mark.parametrize(("choice", "names"), [
    ({"type": "auto"}, ["get_weather", "get_time"]),
    ({"type": "auto", "disable_parallel_tool_use": True}, ["get_weather"]),
    ({"type": "any"}, ["get_weather", "get_time"]),
    ({"type": "tool", "name": "get_time"}, ["get_time"]),
    ({"type": "none"}, []),
])
def test_messages_tool_choice(client: httpx.Client, choice: dict[str, Any],
                              names: list[str]) -> None:
    prompt = "Call get_weather and get_time for Rome"
    m = client.post(MSG, json=msg_body(prompt, tools=A_TOOLS, tool_choice=choice)).json()
    assert [b["name"] for b in m["content"] if b["type"] == "tool_use"] == names


def test_messages_tool_choice_any_forces_a_call(client: httpx.Client) -> None:
    m = client.post(MSG, json=msg_body("hello", tools=A_TOOLS,
                                       tool_choice={"type": "any"})).json()
    assert m["stop_reason"] == "tool_use"
    assert [b["name"] for b in m["content"] if b["type"] == "tool_use"] == ["get_weather"]


@pytest.mark.parametrize(("body", "needle"), [
    (msg_body("x", tool_choice={"type": "auto"}), "tool_choice may only be specified"),
    (msg_body("x", tools=A_TOOLS, tool_choice={"type": "tool", "name": "nope"}),
     "Tool 'nope' not found"),
    (msg_body("x", tools=[A_TOOLS[0], A_TOOLS[0]]), "unique"),
])
def test_messages_provider_checks_are_anthropic_errors(client: httpx.Client,
                                                       body: dict[str, Any],
                                                       needle: str) -> None:
    r = client.post(MSG, json=body)
    assert r.status_code == 400
    err = r.json()
    assert err["type"] == "error" and err["error"]["type"] == "invalid_request_error"
    assert needle in err["error"]["message"]


def _tool_turns(client: httpx.Client, **kw: Any) -> tuple[dict[str, Any], list[Any]]:
    first = client.post(MSG, json=msg_body(ASK, tools=A_TOOLS, **kw)).json()
    (use,) = [b for b in first["content"] if b["type"] == "tool_use"]
    history = [{"role": "user", "content": ASK},
               {"role": "assistant", "content": first["content"]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use["id"],
                                             "content": [{"type": "text", "text": "18C"}]}]}]
    return first, history


def test_messages_tool_result_round_trip(client: httpx.Client) -> None:
    _, history = _tool_turns(client)
    m = client.post(MSG, json={**msg_body(tools=A_TOOLS), "messages": history}).json()
    assert m["stop_reason"] == "end_turn"
    assert "get_weather returned 18C" in text_of(m)


def test_messages_tool_result_pairing_is_checked(client: httpx.Client) -> None:
    _, history = _tool_turns(client)
    wrong = [*history[:2], {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_other", "content": "18C"}]}]
    r = client.post(MSG, json={**msg_body(tools=A_TOOLS), "messages": wrong})
    assert r.status_code == 400 and "unexpected `tool_use_id`" in r.json()["error"]["message"]
    missing = [*history[:2], {"role": "user", "content": "and?"}]
    r = client.post(MSG, json={**msg_body(tools=A_TOOLS), "messages": missing})
    assert r.status_code == 400 and "without `tool_result`" in r.json()["error"]["message"]


def test_messages_is_error_tool_result(client: httpx.Client) -> None:
    _, history = _tool_turns(client)
    history[2]["content"][0].update(is_error=True, content="city unknown")
    m = client.post(MSG, json={**msg_body(tools=A_TOOLS), "messages": history}).json()
    assert "get_weather returned Error: city unknown" in text_of(m)


def test_messages_stop_sequences_and_max_tokens(client: httpx.Client) -> None:
    full = text_of(client.post(MSG, json=msg_body()).json())
    m = client.post(MSG, json=msg_body(stop_sequences=["ZZZ", "answer"])).json()
    assert m["stop_reason"] == "stop_sequence" and m["stop_sequence"] == "answer"
    assert text_of(m) == full[:full.index("answer")]
    assert m["usage"]["output_tokens"] == len(text_of(m).split())
    m = client.post(MSG, json=msg_body(max_tokens=3)).json()
    assert m["stop_reason"] == "max_tokens" and len(text_of(m).split()) == 3


def test_messages_content_blocks_in(client: httpx.Client) -> None:
    blocks = [
        {"type": "text", "text": "Look at these"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
        {"type": "document", "title": "Memo", "source": {"type": "text",
                                                         "media_type": "text/plain",
                                                         "data": "Quarterly numbers"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                        "data": "JVBERi0="}},
    ]
    m = client.post(MSG, json=msg_body(blocks)).json()
    assert "Quarterly" in text_of(m) and m["stop_reason"] == "end_turn"
    bad = [{"type": "image", "source": {"type": "base64", "media_type": "image/tiff",
                                        "data": "x"}}]
    assert client.post(MSG, json=msg_body(bad)).status_code == 400


@pytest.mark.parametrize("where", ["output_format", "output_config"])
def test_messages_json_output(client: httpx.Client, where: str) -> None:
    fmt = {"type": "json_schema", "schema": ANSWER_SCHEMA}
    extra = {"output_format": fmt} if where == "output_format" else {
        "output_config": {"format": fmt}}
    m = client.post(MSG, json=msg_body("Two tags for Berlin, count 4", **extra)).json()
    value = json.loads(text_of(m))
    jsonschema.validate(value, ANSWER_SCHEMA)
    assert value["city"] == "Berlin" and value["count"] == 4


# ---- thinking ----------------------------------------------------------------------------

THINK = {"type": "enabled", "budget_tokens": 1024}


def test_messages_thinking_block_and_signature(client: httpx.Client) -> None:
    m = client.post(MSG, json=msg_body(max_tokens=2048, thinking=THINK)).json()
    kinds = [b["type"] for b in m["content"]]
    assert kinds == ["thinking", "text"]
    thinking = m["content"][0]
    assert thinking["thinking"] and thinking["signature"] == signature_for(thinking["thinking"])
    assert m["usage"]["output_tokens"] == len(text_of(m).split()) + len(
        thinking["thinking"].split())
    plain = client.post(MSG, json=msg_body(thinking={"type": "disabled"})).json()
    assert [b["type"] for b in plain["content"]] == ["text"]


def test_messages_thinking_round_trip_requires_signature(client: httpx.Client) -> None:
    first, history = _tool_turns(client, max_tokens=2048, thinking=THINK)
    assert first["content"][0]["type"] == "thinking"
    body = {**msg_body(tools=A_TOOLS, max_tokens=2048, thinking=THINK), "messages": history}
    ok = client.post(MSG, json=body)
    assert ok.status_code == 200 and "18C" in text_of(ok.json())

    tampered = json.loads(json.dumps(body))
    tampered["messages"][1]["content"][0]["signature"] = "Eh" + "A" * 40
    r = client.post(MSG, json=tampered)
    assert r.status_code == 400 and r.json()["type"] == "error"
    assert "Invalid `signature` in `thinking` block" in r.json()["error"]["message"]

    edited = json.loads(json.dumps(body))
    edited["messages"][1]["content"][0]["thinking"] += " (edited)"
    assert client.post(MSG, json=edited).status_code == 400

    unsigned = json.loads(json.dumps(body))
    del unsigned["messages"][1]["content"][0]["signature"]
    r = client.post(MSG, json=unsigned)
    assert r.status_code == 400 and v4_code(r.json()) == 7003
    assert "signature: Field required" in r.text

    dropped = json.loads(json.dumps(body))
    dropped["messages"][1]["content"] = dropped["messages"][1]["content"][1:]
    r = client.post(MSG, json=dropped)
    assert r.status_code == 400 and "must start with a thinking block" in r.text


def test_messages_redacted_thinking_is_accepted(client: httpx.Client) -> None:
    _, history = _tool_turns(client)
    history[1]["content"].insert(0, {"type": "redacted_thinking", "data": "EmwKAhgBEgy3"})
    body = {**msg_body(tools=A_TOOLS, max_tokens=2048, thinking=THINK), "messages": history}
    assert client.post(MSG, json=body).status_code == 200


@pytest.mark.parametrize(("patch", "needle"), [
    ({"max_tokens": 1024, "thinking": THINK}, "must be greater than `thinking.budget_tokens`"),
    ({"max_tokens": 2048, "thinking": THINK, "tools": A_TOOLS,
      "tool_choice": {"type": "any"}}, "Thinking may not be enabled"),
])
def test_messages_thinking_constraints(client: httpx.Client, patch: dict[str, Any],
                                       needle: str) -> None:
    r = client.post(MSG, json={**msg_body(), **patch})
    assert r.status_code == 400 and needle in r.json()["error"]["message"]


def test_messages_adaptive_thinking(client: httpx.Client) -> None:
    m = client.post(MSG, json=msg_body(thinking={"type": "adaptive"})).json()
    assert m["content"][0]["type"] == "thinking"


# ---- streaming ---------------------------------------------------------------------------

def _stream(client: httpx.Client, path: str, body: dict[str, Any],
            headers: dict[str, str] | None = None) -> httpx.Response:
    r = client.post(path, json={**body, "stream": True}, headers=headers or {})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    return r


def rebuild_message(events: list[tuple[str | None, dict[str, Any]]]) -> dict[str, Any]:
    """Fold a Messages event stream back into a ``message`` (what a client must do)."""
    message: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for _, data in events:
        kind = data["type"]
        if kind == "message_start":
            message = dict(data["message"])
            message["content"] = []
        elif kind == "content_block_start":
            assert data["index"] == len(message["content"])
            message["content"].append(dict(data["content_block"]))
        elif kind == "content_block_delta":
            block, delta = message["content"][data["index"]], data["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] += delta["signature"]
            else:
                assert delta["type"] == "input_json_delta"
                partial[data["index"]] = partial.get(data["index"], "") + delta["partial_json"]
        elif kind == "content_block_stop" and data["index"] in partial:
            message["content"][data["index"]]["input"] = json.loads(partial[data["index"]])
        elif kind == "message_delta":
            message.update(data["delta"])
            message["usage"] = {**message["usage"], **data["usage"]}
    return message


@pytest.mark.parametrize("extra", [
    {}, {"tools": A_TOOLS, "messages": [{"role": "user", "content": ASK}]},
    {"max_tokens": 2048, "thinking": THINK},
    {"max_tokens": 2048, "thinking": THINK, "tools": A_TOOLS,
     "messages": [{"role": "user", "content": "Call get_weather and get_time for Rome"}]},
])
def test_messages_stream_matches_invoke(client: httpx.Client, extra: dict[str, Any]) -> None:
    body = {**msg_body(), **extra}
    whole = client.post(MSG, json=body).json()
    events = named_events(_stream(client, MSG, body).text)
    names = [n for n, _ in events]
    summary_events = set(anthropic_summary()["stream"]["events"])
    assert all(n == d["type"] and n in summary_events for n, d in events)
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert "ping" in names
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert start["usage"]["input_tokens"] == whole["usage"]["input_tokens"]
    rebuilt = rebuild_message(events)
    check_message(rebuilt)
    strip = [{k: v for k, v in b.items() if k != "id"} for b in whole["content"]]
    assert [{k: v for k, v in b.items() if k != "id"} for b in rebuilt["content"]] == strip
    assert rebuilt["stop_reason"] == whole["stop_reason"]
    assert rebuilt["usage"]["output_tokens"] == whole["usage"]["output_tokens"]
    for index, block in enumerate(whole["content"]):
        deltas = [d["delta"] for n, d in events if n == "content_block_delta"
                  and d["index"] == index]
        if block["type"] == "tool_use":
            assert len(deltas) >= 2  # arguments arrive in fragments
        if block["type"] == "thinking":
            assert [d["type"] for d in deltas][-1] == "signature_delta"


# ---- prompt caching, cache, logs, scripts -----------------------------------------------

def test_messages_prompt_caching_with_cache_control(client: httpx.Client) -> None:
    blocks = [{"type": "text", "text": "A long shared preamble about Paris",
               "cache_control": {"type": "ephemeral"}}]
    first = client.post(MSG, json=msg_body(blocks)).json()["usage"]
    second = client.post(MSG, json=msg_body(blocks)).json()["usage"]
    assert first["cache_creation_input_tokens"] == 6 and first["cache_read_input_tokens"] == 0
    assert second["cache_read_input_tokens"] == 6 and second["cache_creation_input_tokens"] == 0
    assert first["input_tokens"] == second["input_tokens"] == 0
    plain = client.post(MSG, json=msg_body()).json()["usage"]
    assert plain["cache_creation_input_tokens"] == plain["cache_read_input_tokens"] == 0


@pytest.mark.parametrize(("path", "body"), [(MSG, msg_body()), (RESP, resp_body())])
def test_gateway_cache_hit(client: httpx.Client, path: str, body: dict[str, Any]) -> None:
    ttl = {"cf-aig-cache-ttl": "60"}
    a = client.post(path, json=body, headers=ttl)
    b = client.post(path, json=body, headers=ttl)
    assert a.headers["cf-aig-cache-status"] == "MISS" and b.headers["cf-aig-cache-status"] == "HIT"
    assert a.content == b.content
    s = client.post(path, json={**body, "stream": True}, headers=ttl)
    assert s.headers["cf-aig-cache-status"] == "MISS"


@pytest.mark.parametrize(("path", "body", "provider", "kind"), [
    (MSG, msg_body(), "anthropic", "messages"), (RESP, resp_body(), "openai", "responses")])
def test_logs(client: httpx.Client, cf_aig_emulator: Emulator, path: str,
              body: dict[str, Any], provider: str, kind: str) -> None:
    r = client.post(path, json=body, headers={"cf-aig-metadata": '{"user": "u1"}'})
    usage = r.json()["usage"]
    (entry,) = cf_aig_emulator.logs
    assert entry["id"] == r.headers["cf-aig-log-id"]
    assert entry["path"] == path[1:] and entry["request_type"] == kind
    assert entry["provider"] == provider and entry["success"] is True
    assert entry["tokens_in"] == usage["input_tokens"]
    assert entry["tokens_out"] == usage["output_tokens"]
    assert entry["metadata"] == {"user": "u1"}
    listed = client.get("/ai-gateway/gateways/default/logs").json()["result"]
    assert listed[0]["id"] == entry["id"]
    client.post(path, json={**body, "model": ""})
    assert cf_aig_emulator.logs[-1]["success"] is False


def test_messages_script(client: httpx.Client, cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.enqueue(Script(text="Scripted.", reasoning="Think first.",
                                   tool_calls=[{"name": "get_time", "id": "toolu_fixed",
                                                "arguments": {"city": "Oslo"}}]))
    m = client.post(MSG, json=msg_body()).json()
    assert [b["type"] for b in m["content"]] == ["thinking", "text", "tool_use"]
    assert m["content"][2] == {"type": "tool_use", "id": "toolu_fixed", "name": "get_time",
                               "input": {"city": "Oslo"}}
    assert m["stop_reason"] == "tool_use"


# =========================================================================================
# OpenAI Responses
# =========================================================================================

@pytest.mark.parametrize("body", [
    resp_body(),
    resp_body(instructions="Be brief.", temperature=0.2, top_p=0.9, metadata={"k": "v"},
              store=False),
    resp_body(ASK, tools=R_TOOLS),
    resp_body("Call get_weather and get_time for Rome", tools=R_TOOLS, reasoning={
        "effort": "low", "summary": "auto"}),
    resp_body("Two tags for Berlin, count 4", text={"format": {
        "type": "json_schema", "name": "answer", "schema": ANSWER_SCHEMA, "strict": True}}),
    resp_body("x", text={"format": {"type": "json_object"}}),
    resp_body(" ".join(["word"] * 40), max_output_tokens=16),
    {**resp_body(), "model": "@cf/openai/gpt-oss-120b"},
])
def test_responses_match_openai_schema(client: httpx.Client, body: dict[str, Any]) -> None:
    r = client.post(RESP, json=body)
    assert r.status_code == 200, r.text
    resp = r.json()
    validate(resp, "Response")
    assert resp["id"].startswith("resp_") and resp["object"] == "response"
    assert resp["model"] == body["model"]
    u = resp["usage"]
    assert u["total_tokens"] == u["input_tokens"] + u["output_tokens"]


def test_responses_text_and_headers(client: httpx.Client) -> None:
    r = client.post(RESP, json=resp_body(instructions="Be brief."))
    resp = r.json()
    assert resp["status"] == "completed" and "Paris" in output_text(resp)
    assert resp["instructions"] == "Be brief." and resp["error"] is None
    assert resp["usage"]["input_tokens"] == 8
    (item,) = resp["output"]
    assert item["type"] == "message" and item["status"] == "completed"
    assert item["id"].startswith("msg_")
    assert r.headers["cf-aig-model"] == GPT and r.headers["cf-aig-provider"] == "openai"


def test_responses_function_call_and_output_round_trip(client: httpx.Client) -> None:
    first = client.post(RESP, json=resp_body(ASK, tools=R_TOOLS)).json()
    (call,) = calls_of(first)
    assert call["id"].startswith("fc_") and call["call_id"] and call["status"] == "completed"
    assert json.loads(call["arguments"]) == {"city": "Paris", "days": 3}
    assert first["tools"][0]["name"] == "get_weather"
    items = [{"role": "user", "content": [{"type": "input_text", "text": ASK}]},
             {k: call[k] for k in ("type", "call_id", "name", "arguments")},
             {"type": "function_call_output", "call_id": call["call_id"], "output": "18C"}]
    second = client.post(RESP, json=resp_body(items, tools=R_TOOLS)).json()
    assert "get_weather returned 18C" in output_text(second) and not calls_of(second)


def test_responses_input_item_kinds(client: httpx.Client) -> None:
    items = [
        {"role": "developer", "content": "Answer in English."},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "Describe Lisbon"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "It is sunny."}]},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"role": "user", "content": "And Porto?"},
    ]
    resp = client.post(RESP, json=resp_body(items)).json()
    assert "Porto" in output_text(resp)


@pytest.mark.parametrize(("choice", "names"), [
    ("auto", ["get_weather", "get_time"]), ("required", ["get_weather", "get_time"]),
    ({"type": "function", "name": "get_time"}, ["get_time"]), ("none", [])])
def test_responses_tool_choice(client: httpx.Client, choice: Any, names: list[str]) -> None:
    resp = client.post(RESP, json=resp_body("Call get_weather and get_time for Rome",
                                            tools=R_TOOLS, tool_choice=choice)).json()
    assert [c["name"] for c in calls_of(resp)] == names
    assert resp["tool_choice"] == choice


def test_responses_parallel_tool_calls_false(client: httpx.Client) -> None:
    resp = client.post(RESP, json=resp_body("Call get_weather and get_time for Rome",
                                            tools=R_TOOLS, parallel_tool_calls=False)).json()
    assert [c["name"] for c in calls_of(resp)] == ["get_weather"]
    assert resp["parallel_tool_calls"] is False


def test_responses_json_schema_output(client: httpx.Client) -> None:
    resp = client.post(RESP, json=resp_body("Two tags for Berlin, count 4", text={"format": {
        "type": "json_schema", "name": "answer", "schema": ANSWER_SCHEMA}})).json()
    value = json.loads(output_text(resp))
    jsonschema.validate(value, ANSWER_SCHEMA)
    assert value["city"] == "Berlin" and value["count"] == 4
    obj = client.post(RESP, json=resp_body(text={"format": {"type": "json_object"}})).json()
    assert isinstance(json.loads(output_text(obj)), dict)


def test_responses_reasoning(client: httpx.Client) -> None:
    resp = client.post(RESP, json=resp_body(reasoning={"effort": "medium"})).json()
    kinds = [i["type"] for i in resp["output"]]
    assert kinds == ["reasoning", "message"]
    summary = resp["output"][0]["summary"]
    assert summary[0]["type"] == "summary_text" and summary[0]["text"]
    assert resp["usage"]["output_tokens_details"]["reasoning_tokens"] == len(
        summary[0]["text"].split())
    off = client.post(RESP, json=resp_body(reasoning={"effort": "none"})).json()
    assert [i["type"] for i in off["output"]] == ["message"]
    oss = client.post(RESP, json={**resp_body(), "model": "@cf/openai/gpt-oss-20b"})
    assert oss.json()["output"][0]["type"] == "reasoning"
    assert oss.headers["cf-aig-provider"] == "workers-ai"


def test_responses_max_output_tokens_incomplete(client: httpx.Client) -> None:
    resp = client.post(RESP, json=resp_body(" ".join(["word"] * 40),
                                            max_output_tokens=16)).json()
    assert resp["status"] == "incomplete"
    assert resp["incomplete_details"] == {"reason": "max_output_tokens"}
    assert len(output_text(resp).split()) == 16 and resp["output"][0]["status"] == "incomplete"


@pytest.mark.parametrize("patch", [
    {"model": "@cf/meta/llama-3.1-8b-instruct"}, {"model": "@cf/moonshotai/kimi-k2.6"},
    {"model": ""}, {"input": None}, {"input": []}, {"input": 5},
    {"input": [{"type": "computer_call_output", "call_id": "x"}]},
    {"input": [{"role": "user", "content": [{"type": "input_audio", "data": "x"}]}]},
    {"tools": [{"type": "web_search"}]}, {"tool_choice": {"type": "mcp"}},
    {"text": {"format": {"type": "yaml"}}}, {"reasoning": {"effort": "extreme"}},
    {"temperature": 3}, {"instructions": ["x"]}, {"background": True},
])
def test_responses_schema_errors_are_v4_7003(client: httpx.Client, patch: dict[str, Any]) -> None:
    r = client.post(RESP, json={**resp_body(), **patch})
    assert r.status_code == 400, r.text
    assert v4_code(r.json()) == 7003


@pytest.mark.parametrize(("patch", "param", "code"), [
    ({"tools": [{"type": "function", "function": {"name": "get_weather",
                                                  "parameters": SCHEMA}}]},
     "tools[0].name", "missing_required_parameter"),
    ({"text": {"format": {"type": "json_schema", "json_schema": {
        "name": "a", "schema": ANSWER_SCHEMA}}}}, "text.format.name",
     "missing_required_parameter"),
    ({"text": {"format": {"type": "json_schema", "name": "a"}}}, "text.format.schema",
     "missing_required_parameter"),
    ({"max_output_tokens": 8}, "max_output_tokens", "integer_below_min_value"),
    ({"input": [{"type": "function_call_output", "call_id": "call_x", "output": "1"}]},
     "input", None),
    ({"previous_response_id": "resp_unknown"}, "previous_response_id",
     "previous_response_not_found"),
    ({"tools": R_TOOLS, "tool_choice": {"type": "function", "name": "nope"}},
     "tool_choice", None),
])
def test_responses_provider_errors_are_openai_shaped(client: httpx.Client,
                                                     patch: dict[str, Any], param: str,
                                                     code: str | None) -> None:
    r = client.post(RESP, json={**resp_body(), **patch})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error" and err["param"] == param
    assert err["code"] == code and err["message"]


def test_responses_unknown_third_party_model_is_404(client: httpx.Client) -> None:
    r = client.post(RESP, json={**resp_body(), "model": "openai/gpt-nonexistent"})
    assert r.status_code == 404 and r.json()["internalCode"] == 7003


def test_responses_previous_response_id(client: httpx.Client) -> None:
    first = client.post(RESP, json=resp_body(ASK, tools=R_TOOLS, instructions="Be kind.")).json()
    (call,) = calls_of(first)
    follow = [{"type": "function_call_output", "call_id": call["call_id"], "output": "18C"}]
    second = client.post(RESP, json=resp_body(follow, tools=R_TOOLS,
                                              previous_response_id=first["id"]))
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["previous_response_id"] == first["id"] and body["instructions"] is None
    assert "get_weather returned 18C" in output_text(body)
    assert body["usage"]["input_tokens"] > first["usage"]["input_tokens"]
    unstored = client.post(RESP, json=resp_body(store=False)).json()
    r = client.post(RESP, json=resp_body("more", previous_response_id=unstored["id"]))
    assert r.status_code == 400 and r.json()["error"]["code"] == "previous_response_not_found"


def test_responses_prompt_cache_key_reports_cached_tokens(client: httpx.Client) -> None:
    body = resp_body(prompt_cache_key="k1")
    first = client.post(RESP, json=body).json()["usage"]["input_tokens_details"]
    second = client.post(RESP, json=body).json()["usage"]["input_tokens_details"]
    assert first["cached_tokens"] == 0 and second["cached_tokens"] == 6
    aff = {"x-session-affinity": "s1"}
    client.post(RESP, json=resp_body("other prompt"), headers=aff)
    again = client.post(RESP, json=resp_body("other prompt"), headers=aff).json()
    assert again["usage"]["input_tokens_details"]["cached_tokens"] == 2


@pytest.mark.parametrize("body", [
    resp_body(),
    resp_body(ASK, tools=R_TOOLS),
    resp_body("Call get_weather and get_time for Rome", tools=R_TOOLS,
              reasoning={"effort": "high"}),
    resp_body(" ".join(["word"] * 40), max_output_tokens=16),
    {**resp_body(), "model": "@cf/openai/gpt-oss-120b"},
])
def test_responses_stream_events_match_schemas_and_invoke(client: httpx.Client,
                                                          body: dict[str, Any]) -> None:
    whole = client.post(RESP, json=body).json()
    events = named_events(_stream(client, RESP, body).text)
    for name, data in events:
        assert name == data["type"]
        validate_event(data)
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    names = [n for n, _ in events]
    assert names[:2] == ["response.created", "response.in_progress"]
    terminal = "response.incomplete" if whole["status"] == "incomplete" else \
        "response.completed"
    assert names[-1] == terminal
    final = events[-1][1]["response"]
    validate(final, "Response")
    assert final["usage"] == whole["usage"] and final["status"] == whole["status"]
    assert output_text(final) == output_text(whole)
    assert [i["type"] for i in final["output"]] == [i["type"] for i in whole["output"]]
    deltas = "".join(d["delta"] for n, d in events if n == "response.output_text.delta")
    assert deltas == output_text(final)
    done = [d for n, d in events if n == "response.output_item.done"]
    assert [d["item"] for d in done] == final["output"]
    for call in calls_of(final):
        frags = [d["delta"] for n, d in events if n == "response.function_call_arguments.delta"
                 and d["item_id"] == call["id"]]
        assert len(frags) >= 2 and "".join(frags) == call["arguments"]
        (args_done,) = [d for n, d in events if n == "response.function_call_arguments.done"
                        and d["item_id"] == call["id"]]
        assert args_done["arguments"] == call["arguments"] and args_done["name"] == call["name"]
    for item in final["output"]:
        if item["type"] == "reasoning":
            text = "".join(d["delta"] for n, d in events
                           if n == "response.reasoning_summary_text.delta")
            assert text == item["summary"][0]["text"]


# =========================================================================================
# Faults on both routes
# =========================================================================================

ROUTES = [pytest.param(MSG, msg_body(), id="messages"),
          pytest.param(RESP, resp_body(), id="responses")]


@pytest.mark.parametrize(("path", "body"), ROUTES)
@pytest.mark.parametrize(("spec", "status", "shape"), [
    ({"kind": "status", "code": 3040}, 429, "v4"),
    ({"kind": "status", "code": 2021}, 402, "gateway"),
    ({"kind": "status", "status": 529, "envelope": "anthropic"}, 529, "anthropic"),
    ({"kind": "status", "status": 500, "envelope": "openai"}, 500, "openai"),
    ({"kind": "status", "status": 429, "envelope": "provider"}, 429, "provider"),
])
def test_status_faults(client: httpx.Client, cf_aig_emulator: Emulator, path: str,
                       body: dict[str, Any], spec: dict[str, Any], status: int,
                       shape: str) -> None:
    cf_aig_emulator.enqueue(Fault.from_dict(spec))
    r = client.post(path, json=body)
    assert r.status_code == status
    err = r.json()
    if shape == "provider":
        shape = "anthropic" if path == MSG else "openai"
    if shape == "v4":
        assert err["success"] is False and err["errors"][0]["code"] == 3040
    elif shape == "gateway":
        assert err["name"] == "AiGatewayError" and err["internalCode"] == 2021
    elif shape == "anthropic":
        assert err["type"] == "error" and err["error"]["type"] in (
            "overloaded_error", "rate_limit_error")
    else:
        assert err["error"]["type"] in ("server_error", "rate_limit_error")
    assert r.headers["cf-aig-log-id"] and cf_aig_emulator.logs[-1]["success"] is False
    assert client.post(path, json=body).status_code == 200  # the queue entry was used once


def test_messages_stream_error_event(client: httpx.Client) -> None:
    r = _stream(client, MSG, msg_body(), fault(kind="stream_error", after=3, code=3040))
    events = named_events(r.text)
    assert len(events) == 4
    name, data = events[-1]
    assert name == "error" and data == {"type": "error", "error": {
        "type": "rate_limit_error", "message": "Capacity temporarily exceeded, please try again."}}
    assert "message_stop" not in [n for n, _ in events]
    r = client.post(MSG, json=msg_body(), headers=fault(kind="stream_error", status=529,
                                                        message="Overloaded"))
    assert r.status_code == 529 and r.json()["error"] == {"type": "overloaded_error",
                                                          "message": "Overloaded"}


def test_responses_stream_error_then_failed(client: httpx.Client) -> None:
    r = _stream(client, RESP, resp_body(), fault(kind="stream_error", after=4, status=500))
    events = named_events(r.text)
    for _, data in events:
        validate_event(data)
    assert [n for n, _ in events][-2:] == ["error", "response.failed"]
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    failed = events[-1][1]["response"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "server_error"
    assert events[-2][1]["message"] == failed["error"]["message"]
    r = client.post(RESP, json=resp_body(), headers=fault(kind="stream_error", code=3040))
    assert r.status_code == 429 and r.json()["error"]["code"] == "3040"


@pytest.mark.parametrize(("path", "body"), ROUTES)
def test_disconnect_stall_and_hang(client: httpx.Client, cf_aig_emulator: Emulator, path: str,
                                   body: dict[str, Any]) -> None:
    with pytest.raises(httpx.HTTPError):
        client.post(path, json={**body, "stream": True},
                    headers=fault(kind="disconnect", after=2))
    assert cf_aig_emulator.stats.requests == 1
    full = named_events(_stream(client, path, body).text)
    stalled = named_events(_stream(client, path, body, fault(kind="stall", after=2,
                                                             seconds=0.05)).text)
    assert len(stalled) == len(full)
    hung = client.post(path, json=body, headers=fault(kind="hang", seconds=0.05))
    assert hung.status_code == 200
    with pytest.raises(httpx.HTTPError):
        client.post(path, json=body, headers=fault(kind="disconnect"))


@pytest.mark.parametrize(("path", "body"), ROUTES)
def test_malformed_bodies_and_events(client: httpx.Client, path: str,
                                     body: dict[str, Any]) -> None:
    r = client.post(path, json=body, headers=fault(kind="malformed_json"))
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    r = _stream(client, path, body, fault(kind="malformed_sse", after=2))
    blocks = r.text.split("\n\n")
    assert blocks[2].startswith("event: ") and blocks[2].endswith("data: {not json at all")


@pytest.mark.parametrize(("path", "body"), ROUTES)
def test_success_false_and_json_for_stream(client: httpx.Client, path: str,
                                           body: dict[str, Any]) -> None:
    r = client.post(path, json=body, headers=fault(kind="success_false", code=3040))
    assert r.status_code == 200 and r.json()["success"] is False
    r = client.post(path, json={**body, "stream": True}, headers=fault(kind="json_for_stream"))
    assert r.headers["content-type"] == "application/json"
    assert r.json()["id"].startswith("msg_" if path == MSG else "resp_")


def test_auth_and_method_on_new_routes(client: httpx.Client, cf_aig_emulator: Emulator) -> None:
    for path in (MSG, RESP):
        r = httpx.post(cf_aig_emulator.account_url + path, json={})
        assert r.status_code == 401 and r.json()["errors"][0]["code"] == 10000
        assert client.get(path).status_code == 405


@pytest.mark.parametrize(("path", "body"), ROUTES)
def test_scripted_usage_override(client: httpx.Client, cf_aig_emulator: Emulator, path: str,
                                 body: dict[str, Any]) -> None:
    cf_aig_emulator.enqueue(Script(text="ok", usage={"prompt_tokens": 70, "completion_tokens": 5,
                                                     "total_tokens": 75,
                                                     "prompt_tokens_details": {}}))
    usage = client.post(path, json=body).json()["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (70, 5)


def test_official_openai_sdk_reads_responses(cf_aig_emulator: Emulator) -> None:
    """The OpenAI SDK's typed models and stream helper accept the emulator's wire."""
    openai = pytest.importorskip("openai")
    sdk = openai.OpenAI(api_key="test", base_url=cf_aig_emulator.account_url + "/ai/v1",
                        max_retries=0)
    r = sdk.responses.create(model=GPT, input=ASK, tools=R_TOOLS, reasoning={"effort": "low"})
    assert [o.type for o in r.output] == ["reasoning", "function_call"]
    assert json.loads(r.output[1].arguments) == {"city": "Paris", "days": 3}
    assert r.usage.output_tokens_details.reasoning_tokens > 0
    with sdk.responses.stream(model=GPT, input="hello there Paris",
                              reasoning={"effort": "low"}) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "Paris" in final.output_text
    with pytest.raises(openai.BadRequestError):
        sdk.responses.create(model=GPT, input="x", previous_response_id="resp_unknown")
    sdk.close()
