"""Emulator routes over loopback with plain httpx: shapes, auth, gateways, models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cf_aig.emulator import Emulator

AUTH = {"Authorization": "Bearer test-token"}
USER = [{"role": "user", "content": "Tell me about Paris and the Eiffel tower"}]
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                    "days": {"type": "integer"}},
                   "required": ["city"]}}}


@pytest.fixture
def client(cf_aig_emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cf_aig_emulator.account_url, headers=AUTH) as c:
        yield c


def sse_data(text: str) -> list[Any]:
    """Parsed ``data:`` payloads; ``[DONE]`` kept as the string."""
    out: list[Any] = []
    for line in text.splitlines():
        if line.startswith("data: "):
            payload = line[6:]
            out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


# ---- chat completions ------------------------------------------------------------------

def test_chat_completion_shape_and_headers(client: httpx.Client) -> None:
    r = client.post("/ai/v1/chat/completions", json={"model": "openai/gpt-5.5",
                                                     "messages": USER})
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion"
    assert "success" not in body  # bare OpenAI JSON, no v4 envelope
    msg = body["choices"][0]["message"]
    assert msg["role"] == "assistant" and "Paris" in msg["content"]
    assert body["choices"][0]["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["prompt_tokens"] == 8
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    h = r.headers
    assert h["cf-aig-log-id"] == h["cf-aig-request-id"] == h["cf-aig-event-id"]
    assert h["cf-aig-log-id"][14] == "7" and h["cf-aig-log-id"] == h["cf-aig-log-id"].lower()
    assert h["cf-aig-cache-status"] == "MISS"
    assert h["cf-aig-step"] == "0"
    assert h["cf-aig-model"] == "openai/gpt-5.5"
    assert h["cf-aig-provider"] == "openai"


def test_event_id_is_echoed(client: httpx.Client) -> None:
    r = client.post("/ai/v1/chat/completions", headers={"cf-aig-event-id": "ev-1"},
                    json={"model": "openai/gpt-4.1", "messages": USER})
    assert r.headers["cf-aig-event-id"] == "ev-1"
    assert r.headers["cf-aig-log-id"] != "ev-1"


def test_deterministic_text(client: httpx.Client) -> None:
    req = {"model": "google/gemini-3-flash", "messages": USER}
    a = client.post("/ai/v1/chat/completions", json=req).json()
    b = client.post("/ai/v1/chat/completions", json=req).json()
    assert a["choices"][0]["message"]["content"] == b["choices"][0]["message"]["content"]


def test_chat_stream_with_usage_chunk(client: httpx.Client) -> None:
    r = client.post("/ai/v1/chat/completions", json={
        "model": "openai/gpt-4o-mini", "messages": USER, "stream": True,
        "stream_options": {"include_usage": True}})
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_data(r.text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert "Paris" in text
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert all(c["usage"] is None for c in chunks[:-1])


def test_chat_stream_without_usage(client: httpx.Client) -> None:
    r = client.post("/ai/v1/chat/completions", json={
        "model": "openai/gpt-4o-mini", "messages": USER, "stream": True})
    chunks = sse_data(r.text)[:-1]
    assert all("usage" not in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_tool_call_stream_fragments(client: httpx.Client) -> None:
    r = client.post("/ai/v1/chat/completions", json={
        "model": "openai/gpt-5-mini", "stream": True, "tools": [WEATHER_TOOL],
        "messages": [{"role": "user", "content": "Use get_weather for Paris for 3 days"}]})
    chunks = sse_data(r.text)[:-1]
    frags = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    assert len(frags) >= 3
    assert frags[0]["id"].startswith("call_") and frags[0]["function"]["name"] == "get_weather"
    assert all("id" not in f for f in frags[1:])
    args = json.loads("".join(f["function"].get("arguments", "") for f in frags))
    assert args == {"city": "Paris", "days": 3}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_n_choices_and_bad_n(client: httpx.Client) -> None:
    r = client.post("/ai/v1/chat/completions", json={"model": "openai/gpt-4.1",
                                                     "messages": USER, "n": 2})
    assert [c["index"] for c in r.json()["choices"]] == [0, 1]
    r = client.post("/ai/v1/chat/completions", json={"model": "openai/gpt-4.1",
                                                     "messages": USER, "n": 99})
    assert r.status_code == 400


def test_reasoning_effort_adds_reasoning(client: httpx.Client) -> None:
    r = client.post("/ai/v1/chat/completions", json={
        "model": "openai/gpt-5.5", "messages": USER, "reasoning_effort": "low"})
    body = r.json()
    assert body["choices"][0]["message"]["reasoning_content"]
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0


def test_cf_model_on_chat_completions(client: httpx.Client) -> None:
    r = client.post("/ai/v1/chat/completions", json={
        "model": "@cf/meta/llama-3.1-8b-instruct-fp8", "messages": USER})
    assert r.status_code == 200 and r.headers["cf-aig-provider"] == "workers-ai"
    assert r.json()["object"] == "chat.completion"


def test_cf_chat_schema_stream_on_openai_route_has_workers_quirks(client: httpx.Client) -> None:
    r = client.post("/ai/v1/chat/completions", json={
        "model": "@cf/zai-org/glm-4.7-flash", "messages": USER, "stream": True})
    events = sse_data(r.text)
    assert events[-2] == {"response": "", "usage": events[-2]["usage"]}
    assert all("p" in e for e in events[:-2])
    reasoning = "".join(e["choices"][0]["delta"].get("reasoning", "") for e in events[:-2])
    assert reasoning  # GLM names the field "reasoning"


# ---- Workers AI /ai/run/{model} ----------------------------------------------------------

def test_run_classic_model(client: httpx.Client) -> None:
    r = client.post("/ai/run/@cf/meta/llama-3.1-8b-instruct-fp8",
                    json={"prompt": "Tell me about cats"})
    body = r.json()
    assert body["success"] is True and body["errors"] == [] and body["messages"] == []
    assert "cats" in body["result"]["response"]
    assert body["result"]["usage"]["prompt_tokens"] == 4


def test_run_hf_model_with_messages_and_legacy_tools(client: httpx.Client) -> None:
    tool = {"name": "get_weather", "description": "w", "parameters": WEATHER_TOOL["function"][
        "parameters"]}
    r = client.post("/ai/run/@hf/nousresearch/hermes-2-pro-mistral-7b", json={
        "messages": [{"role": "user", "content": "get weather in Berlin"}], "tools": [tool]})
    result = r.json()["result"]
    assert result["tool_calls"] == [{"name": "get_weather",
                                     "arguments": {"city": "Berlin", "days": 1}}]


def test_run_scout_tool_call_shape(client: httpx.Client) -> None:
    r = client.post("/ai/run/@cf/meta/llama-4-scout-17b-16e-instruct", json={
        "messages": [{"role": "user", "content": "get_weather Rome"}], "tools": [WEATHER_TOOL]})
    call = r.json()["result"]["tool_calls"][0]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"]["arguments"]["city"] == "Rome"


def test_run_classic_stream(client: httpx.Client) -> None:
    r = client.post("/ai/run/@cf/meta/llama-3.1-8b-instruct-fp8",
                    json={"prompt": "Tell me about cats", "stream": True})
    events = sse_data(r.text)
    assert events[-1] == "[DONE]"
    assert all("p" in e for e in events[:-3])
    assert events[-2]["response"] == "" and events[-2]["usage"]["prompt_tokens"] == 4
    assert "cats" in "".join(e["response"] for e in events[:-1])


def test_run_classic_stream_tool_calls(client: httpx.Client) -> None:
    r = client.post("/ai/run/@cf/meta/llama-3.3-70b-instruct-fp8-fast", json={
        "prompt": "call get_weather for Oslo", "tools": [WEATHER_TOOL], "stream": True})
    events = sse_data(r.text)
    calls = [e["tool_calls"] for e in events[:-1] if "tool_calls" in e]
    assert calls[0][0]["name"] == "get_weather"


def test_run_chat_schema_model(client: httpx.Client) -> None:
    r = client.post("/ai/run/@cf/moonshotai/kimi-k2.6", json={"messages": USER})
    result = r.json()["result"]
    assert result["object"] == "chat.completion"
    assert result["choices"][0]["message"]["reasoning_content"]
    assert result["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0


def test_run_chat_schema_stream_usage_increments(client: httpx.Client) -> None:
    r = client.post("/ai/run/@cf/moonshotai/kimi-k2.6", json={"messages": USER, "stream": True})
    events = sse_data(r.text)
    assert events[-1] == "[DONE]"
    final = events[-2]
    assert final["response"] == ""
    increments = [e["usage"] for e in events[:-2]]
    assert sum(u["completion_tokens"] for u in increments) == final["usage"]["completion_tokens"]
    assert sum(u["prompt_tokens"] for u in increments) == final["usage"]["prompt_tokens"]


def test_json_mode_classic_returns_object(client: httpx.Client) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"},
                                               "population": {"type": "integer"}},
              "required": ["name", "population"]}
    r = client.post("/ai/run/@cf/meta/llama-3.1-8b-instruct-fp8", json={
        "prompt": "Describe France with 68 million people",
        "response_format": {"type": "json_schema", "json_schema": schema}})
    response = r.json()["result"]["response"]
    assert isinstance(response, dict) and response["population"] == 68


def test_json_mode_chat_schema_returns_string(client: httpx.Client) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "strict": True, "schema": {
        "type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}}}
    r = client.post("/ai/run/@cf/zai-org/glm-4.7-flash", json={"messages": USER,
                                                                 "response_format": fmt})
    content = r.json()["result"]["choices"][0]["message"]["content"]
    assert json.loads(content) == {"ok": True}


def test_json_mode_stream_is_5023(client: httpx.Client) -> None:
    r = client.post("/ai/run/@cf/meta/llama-3.1-8b-instruct-fp8", json={
        "prompt": "x", "stream": True, "response_format": {"type": "json_schema",
                                                            "json_schema": {"type": "object"}}})
    assert r.status_code == 400
    body = r.json()
    assert body["success"] is False and body["errors"][0]["code"] == 5023
    assert "streaming" in body["errors"][0]["message"]


@pytest.mark.parametrize(("model", "dim"), [
    ("@cf/baai/bge-small-en-v1.5", 384), ("@cf/baai/bge-base-en-v1.5", 768),
    ("@cf/baai/bge-large-en-v1.5", 1024), ("@cf/baai/bge-m3", 1024),
    ("@cf/google/embeddinggemma-300m", 768), ("@cf/qwen/qwen3-embedding-0.6b", 1024)])
def test_run_embeddings(client: httpx.Client, model: str, dim: int) -> None:
    r = client.post(f"/ai/run/{model}", json={"text": ["hello world", "hi"]})
    result = r.json()["result"]
    assert result["shape"] == [2, dim] and result["pooling"] == "mean"
    assert len(result["data"][1]) == dim


def test_run_embeddings_single_string_and_limit(client: httpx.Client) -> None:
    r = client.post("/ai/run/@cf/baai/bge-base-en-v1.5", json={"text": "one"})
    assert r.json()["result"]["shape"] == [1, 768]
    r = client.post("/ai/run/@cf/baai/bge-base-en-v1.5", json={"text": ["x"] * 101})
    assert r.status_code == 400


def test_embeddings_are_similar_for_similar_text(client: httpx.Client) -> None:
    r = client.post("/ai/run/@cf/baai/bge-small-en-v1.5", json={
        "text": ["the cat sat on the mat", "the cat sat on a mat", "quantum chromodynamics"]})
    a, b, c = r.json()["result"]["data"]

    def dot(x: list[float], y: list[float]) -> float:
        return sum(i * j for i, j in zip(x, y, strict=True))

    assert dot(a, b) > dot(a, c)


def test_run_unknown_cf_model_is_5007(client: httpx.Client) -> None:
    r = client.post("/ai/run/@cf/nobody/nothing", json={"prompt": "x"})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == 5007


def test_run_wrong_task(client: httpx.Client) -> None:
    r = client.post("/ai/run/@cf/baai/bge-base-en-v1.5", json={"prompt": "x"})
    assert r.status_code == 400
    r = client.post("/ai/run/@cf/openai/whisper", json={"audio": []})
    assert r.status_code == 400
    r = client.post("/ai/v1/chat/completions", json={"model": "@cf/baai/bge-base-en-v1.5",
                                                     "messages": USER})
    assert r.status_code == 400


def test_run_missing_prompt(client: httpx.Client) -> None:
    r = client.post("/ai/run/@cf/meta/llama-3.1-8b-instruct-fp8", json={"temperature": 1})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == 5006


# ---- unified /ai/run ---------------------------------------------------------------------

def test_unified_run_cf_model_same_as_path_route(client: httpx.Client) -> None:
    r = client.post("/ai/run", json={"model": "@cf/meta/llama-3.1-8b-instruct-fp8",
                                     "input": {"prompt": "Tell me about cats"}})
    direct = client.post("/ai/run/@cf/meta/llama-3.1-8b-instruct-fp8",
                         json={"prompt": "Tell me about cats"})
    assert r.json()["result"]["response"] == direct.json()["result"]["response"]


def test_unified_run_third_party_wrapped(client: httpx.Client) -> None:
    r = client.post("/ai/run", json={"model": "openai/gpt-4.1",
                                     "input": {"messages": USER, "max_tokens": 64}})
    body = r.json()
    assert body["success"] is True and body["result"]["object"] == "chat.completion"


def test_unified_run_third_party_stream(client: httpx.Client) -> None:
    r = client.post("/ai/run", json={"model": "xai/grok-3", "input": {
        "messages": USER, "stream": True}})
    events = sse_data(r.text)
    assert events[-1] == "[DONE]" and events[0]["object"] == "chat.completion.chunk"


def test_unified_run_anthropic_takes_and_returns_native_messages(client: httpx.Client) -> None:
    r = client.post("/ai/run", json={"model": "anthropic/claude-sonnet-4.5", "input": {
        "max_tokens": 10, "messages": USER}})
    assert r.status_code == 200
    body = r.json()
    assert body["type"] == "message" and body["content"][0]["type"] == "text"
    r = client.post("/ai/run", json={"model": "anthropic/claude-sonnet-4.5", "input": {
        "max_tokens": 10, "messages": USER, "stream": True}})
    assert "event: message_start" in r.text and "event: message_stop" in r.text
    r = client.post("/ai/run", json={"model": "anthropic/claude-sonnet-4.5", "input": {
        "messages": USER}})
    assert r.status_code == 400 and "max_tokens" in r.text


def test_unified_run_needs_input(client: httpx.Client) -> None:
    r = client.post("/ai/run", json={"model": "openai/gpt-4.1"})
    assert r.status_code == 400


# ---- /ai/v1/embeddings -------------------------------------------------------------------

def test_openai_embeddings(client: httpx.Client) -> None:
    r = client.post("/ai/v1/embeddings", json={"model": "@cf/baai/bge-large-en-v1.5",
                                               "input": ["I love matcha", "tea"]})
    body = r.json()
    assert body["object"] == "list" and body["model"] == "@cf/baai/bge-large-en-v1.5"
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert len(body["data"][0]["embedding"]) == 1024
    assert body["usage"] == {"prompt_tokens": 4, "total_tokens": 4}


def test_openai_embeddings_third_party(client: httpx.Client) -> None:
    r = client.post("/ai/v1/embeddings", json={"model": "openai/text-embedding-3-small",
                                               "input": "hello"})
    assert len(r.json()["data"][0]["embedding"]) == 1536
    assert r.headers["cf-aig-provider"] == "openai"


def test_openai_embeddings_errors(client: httpx.Client) -> None:
    r = client.post("/ai/v1/embeddings", json={"model": "openai/gpt-4.1", "input": "x"})
    assert r.status_code == 400
    r = client.post("/ai/v1/embeddings", json={"model": "openai/nope", "input": "x"})
    assert r.status_code == 404 and r.json()["internalCode"] == 7003
    r = client.post("/ai/v1/embeddings", json={"model": "@cf/baai/bge-m3", "input": []})
    assert r.status_code == 400


# ---- auth, gateways, models, validation --------------------------------------------------

def test_auth_required(cf_aig_emulator: Emulator) -> None:
    r = httpx.post(f"{cf_aig_emulator.account_url}/ai/v1/chat/completions",
                   json={"model": "openai/gpt-4.1", "messages": USER})
    assert r.status_code == 401
    assert r.json() == {"result": None, "success": False, "messages": [],
                        "errors": [{"code": 10000, "message": "Authentication error"}]}


def test_configured_token() -> None:
    with Emulator(token="s3cret") as emu:
        url = f"{emu.account_url}/ai/v1/chat/completions"
        body = {"model": "openai/gpt-4.1", "messages": USER}
        assert httpx.post(url, json=body, headers=AUTH).status_code == 401
        ok = httpx.post(url, json=body, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert emu.requests[-1].bearer_is("s3cret")
        assert "s3cret" not in repr(emu.requests)


def test_unknown_gateway(client: httpx.Client) -> None:
    r = client.post("/ai/v1/chat/completions", headers={"cf-aig-gateway-id": "nope"},
                    json={"model": "openai/gpt-4.1", "messages": USER})
    assert r.status_code == 400
    body = r.json()
    assert body["name"] == "AiGatewayError" and body["internalCode"] == 2001
    assert body["error"][0]["code"] == 2001 and body["httpCode"] == 400
    assert body["result"] == [] and body["success"] is False


def test_configured_gateway() -> None:
    with Emulator(gateways=["prod"]) as emu:
        r = httpx.post(f"{emu.account_url}/ai/v1/chat/completions",
                       headers={**AUTH, "cf-aig-gateway-id": "prod"},
                       json={"model": "openai/gpt-4.1", "messages": USER})
        assert r.status_code == 200
        logs = httpx.get(f"{emu.account_url}/ai-gateway/gateways/prod/logs", headers=AUTH)
        assert logs.json()["result_info"]["total_count"] == 1


def test_unknown_third_party_model(client: httpx.Client) -> None:
    r = client.post("/ai/v1/chat/completions", json={"model": "anthropic/claude-haiku-4-5",
                                                     "messages": USER})
    assert r.status_code == 404
    body = r.json()
    assert body["internalCode"] == 7003
    assert body["message"] == "Model not found: anthropic/claude-haiku-4-5"


@pytest.mark.parametrize("model", [
    "openai/gpt-5.5", "openai/gpt-5-mini", "openai/gpt-4.1", "openai/gpt-4o-mini",
    "anthropic/claude-sonnet-4.5", "anthropic/claude-haiku-4.5", "anthropic/claude-opus-4.5",
    "google/gemini-3-flash", "google/gemini-2.5-flash", "xai/grok-3", "deepseek/deepseek-chat"])
def test_known_third_party_models(client: httpx.Client, model: str) -> None:
    r = client.post("/ai/v1/chat/completions", json={"model": model, "messages": USER})
    assert r.status_code == 200 and r.headers["cf-aig-provider"] == model.split("/")[0]


@pytest.mark.parametrize(("body", "needle"), [
    ({"model": "openai/gpt-4.1"}, "messages"),
    ({"model": "openai/gpt-4.1", "messages": []}, "messages"),
    ({"messages": USER}, "model"),
    ({"model": "openai/gpt-4.1", "messages": [{"content": "no role"}]}, "role"),
])
def test_body_validation(client: httpx.Client, body: dict[str, Any], needle: str) -> None:
    r = client.post("/ai/v1/chat/completions", json=body)
    assert r.status_code == 400 and needle in r.json()["errors"][0]["message"]


def test_bad_json_body(client: httpx.Client) -> None:
    r = client.post("/ai/v1/chat/completions", content=b"{nope",
                    headers={"content-type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["errors"][0]["message"]


def test_unknown_route_and_method(client: httpx.Client) -> None:
    assert client.post("/ai/v1/nothing", json={}).status_code == 404
    r = client.get("/ai/v1/models")
    assert r.status_code == 405 and r.json()["errors"][0]["code"] == 7001
    assert client.get("/ai/v1/chat/completions").status_code == 405
    assert httpx.get(client.base_url.copy_with(path="/elsewhere")).status_code == 404
