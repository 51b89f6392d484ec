"""The core client on ``api="messages"`` and ``api="responses"`` against the emulator.

The emulator speaks both wires with its own translators (``cf_aig/emulator/messages.py``
and ``responses.py``), independent of the client's dialects, so these tests check the
dialects against a second implementation of the wire, over loopback.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
import pytest

from cf_aig import (
    AsyncClient,
    BadRequestError,
    ChunkAccumulator,
    Client,
    ConfigurationError,
    InsufficientCreditsError,
    NotFoundError,
    QuotaExceededError,
    RateLimitError,
    ResponseDecodeError,
    ResponsesBillingError,
    ServerError,
    StreamInterruptedError,
)
from cf_aig.emulator import Emulator, Fault, Script
from cf_aig.types import Api

TOKEN = "tok-SECRET-654321"
MODELS = {"messages": "anthropic/claude-sonnet-4.5", "responses": "openai/gpt-5"}
APIS: list[Api] = ["messages", "responses"]
HELLO = [{"role": "user", "content": "Hello there, tell me about Paris"}]
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                     "days": {"type": "integer"}},
                   "required": ["city", "days"]}}}
TIME_TOOL = {"type": "function", "function": {
    "name": "get_time", "description": "Time in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
ASK = [{"role": "user", "content": "Use get_weather for Paris over 3 days"}]
ANSWER_SCHEMA = {"type": "object", "properties": {
    "city": {"type": "string"}, "count": {"type": "integer"}},
    "required": ["city", "count"], "additionalProperties": False}


def model_calls(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if "/ai/v1/" in r.path]


def req(api: str, messages: list[Any] | None = None, **kw: Any) -> Any:
    return {"model": MODELS[api], "messages": messages or HELLO, **kw}


def streamed(client: Client, request: dict[str, Any], api: Api) -> dict[str, Any]:
    acc = ChunkAccumulator()
    with client.chat_stream(request, api=api) as stream:
        assert stream.info.log_id
        for chunk in stream:
            acc.add(chunk)
    return dict(acc.completion())


@pytest.fixture
def client(cf_aig_emulator: Emulator) -> Any:
    with Client(account_id="acc", api_token=TOKEN, base_url=cf_aig_emulator.base_url,
                retry_base_delay=0.01) as c:
        yield c


# --- invoke and stream --------------------------------------------------------------------

@pytest.mark.parametrize("api", APIS)
def test_invoke_text_usage_and_info(client: Client, cf_aig_emulator: Emulator, api: Api) -> None:
    result = client.chat(req(api), api=api)
    choice = result.completion["choices"][0]
    assert choice["finish_reason"] == "stop" and "Paris" in result.text
    usage = result.completion["usage"]
    assert usage["prompt_tokens"] == 6
    assert usage["completion_tokens"] == len(result.text.split())
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert result.info.log_id and result.info.cache_status == "MISS"
    assert result.info.provider == MODELS[api].split("/")[0]
    (call,) = model_calls(cf_aig_emulator)
    assert call.path.endswith(f"/ai/v1/{api}")


@pytest.mark.parametrize("api", APIS)
def test_system_prompt_reaches_the_wire(client: Client, cf_aig_emulator: Emulator,
                                        api: Api) -> None:
    result = client.chat(req(api, [{"role": "system", "content": "Be terse."}, *HELLO]),
                         api=api)
    assert result.completion["usage"]["prompt_tokens"] == 8
    sent = model_calls(cf_aig_emulator)[-1].json
    assert (sent["system"] if api == "messages" else sent["instructions"]) == "Be terse."


@pytest.mark.parametrize("api", APIS)
def test_stream_matches_invoke(client: Client, api: Api) -> None:
    whole = client.chat(req(api), api=api).completion
    merged = streamed(client, req(api), api)
    assert merged["choices"][0]["message"]["content"] == whole["choices"][0]["message"]["content"]
    assert merged["choices"][0]["finish_reason"] == "stop"
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert merged["usage"][key] == whole["usage"][key]


@pytest.mark.parametrize("api", APIS)
def test_max_tokens_gives_length(client: Client, api: Api) -> None:
    prompt = [{"role": "user", "content": " ".join(["word"] * 40)}]
    whole = client.chat(req(api, prompt, max_tokens=16), api=api)
    assert whole.completion["choices"][0]["finish_reason"] == "length"
    assert len(whole.text.split()) == 16
    merged = streamed(client, req(api, prompt, max_tokens=16), api)
    assert merged["choices"][0]["finish_reason"] == "length"


# --- tools --------------------------------------------------------------------------------

@pytest.mark.parametrize("api", APIS)
def test_tool_call_and_result_round_trip(client: Client, api: Api) -> None:
    first = client.chat(req(api, ASK, tools=[WEATHER_TOOL]), api=api)
    choice = first.completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather" and call["id"]
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris", "days": 3}
    history = [*ASK, choice["message"],
               {"role": "tool", "tool_call_id": call["id"], "content": "18C"}]
    second = client.chat(req(api, history, tools=[WEATHER_TOOL]), api=api)
    assert "get_weather returned 18C" in second.text
    assert second.completion["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("api", APIS)
def test_streamed_parallel_tool_calls(client: Client, api: Api) -> None:
    ask = [{"role": "user", "content": "Call get_weather and get_time for Rome"}]
    request = req(api, ask, tools=[WEATHER_TOOL, TIME_TOOL])
    whole = client.chat(request, api=api).completion
    merged = streamed(client, request, api)
    calls = merged["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_time"]
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [
        json.loads(c["function"]["arguments"])
        for c in whole["choices"][0]["message"]["tool_calls"]]
    assert all(c["id"] for c in calls) and merged["choices"][0]["finish_reason"] == "tool_calls"
    history = [*ask, merged["choices"][0]["message"],
               *({"role": "tool", "tool_call_id": c["id"], "content": f"r{i}"}
                 for i, c in enumerate(calls))]
    done = client.chat(req(api, history, tools=[WEATHER_TOOL, TIME_TOOL]),
                       api=api)
    assert "get_weather returned r0; get_time returned r1" in done.text


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(("choice", "names"), [
    ("required", ["get_weather"]), ("none", []),
    ({"type": "function", "function": {"name": "get_time"}}, ["get_time"])])
def test_tool_choice(client: Client, api: Api, choice: Any, names: list[str]) -> None:
    result = client.chat(req(api, [{"role": "user", "content": "hello"}],
                             tools=[WEATHER_TOOL, TIME_TOOL], tool_choice=choice),
                         api=api)
    calls = result.completion["choices"][0]["message"].get("tool_calls") or []
    assert [c["function"]["name"] for c in calls] == names


@pytest.mark.parametrize("api", APIS)
def test_parallel_tool_calls_false(client: Client, api: Api) -> None:
    ask = [{"role": "user", "content": "Call get_weather and get_time for Rome"}]
    result = client.chat(req(api, ask, tools=[WEATHER_TOOL, TIME_TOOL],
                             parallel_tool_calls=False), api=api)
    calls = result.completion["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather"]


# --- structured output --------------------------------------------------------------------

def test_responses_json_schema(client: Client) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "answer", "schema": ANSWER_SCHEMA}}
    prompt = [{"role": "user", "content": "Berlin, count 4"}]
    for text in (client.chat(req("responses", prompt, response_format=fmt),
                             api="responses").text,
                 streamed(client, req("responses", prompt, response_format=fmt),
                          "responses")["choices"][0]["message"]["content"]):
        value = json.loads(text)
        jsonschema.validate(value, ANSWER_SCHEMA)
        assert value == {"city": "Berlin", "count": 4}


def test_messages_native_output_format(client: Client) -> None:
    prompt = [{"role": "user", "content": "Berlin, count 4"}]
    request = req("messages", prompt,
                  output_format={"type": "json_schema", "schema": ANSWER_SCHEMA})
    value = json.loads(client.chat(request, api="messages").text)
    jsonschema.validate(value, ANSWER_SCHEMA)
    assert value == {"city": "Berlin", "count": 4}


def test_messages_json_mode_is_refused_before_sending(client: Client,
                                                      cf_aig_emulator: Emulator) -> None:
    with pytest.raises(ConfigurationError, match="json_object"):
        client.chat(req("messages", response_format={"type": "json_object"}), api="messages")
    assert model_calls(cf_aig_emulator) == []


@pytest.mark.parametrize("stream", [False, True])
def test_messages_response_format_is_native_output_config(client: Client, stream: bool) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "a", "schema": ANSWER_SCHEMA}}
    request = req("messages", response_format=fmt)
    text = (streamed(client, request, "messages")["choices"][0]["message"]["content"]
            if stream else client.chat(request, api="messages").text)
    jsonschema.validate(json.loads(text), ANSWER_SCHEMA)


# --- reasoning and thinking ---------------------------------------------------------------

@pytest.mark.parametrize("api", APIS)
def test_reasoning_effort_gives_reasoning(client: Client, api: Api) -> None:
    whole = client.chat(req(api, reasoning_effort="low"), api=api)
    message = whole.completion["choices"][0]["message"]
    assert message.get("reasoning_content", "").startswith("The user asks about")
    usage = whole.completion["usage"]
    assert usage["completion_tokens"] == len(whole.text.split()) + len(
        message["reasoning_content"].split())
    merged = streamed(client, req(api, reasoning_effort="low"), api)
    assert merged["choices"][0]["message"]["reasoning_content"] == message["reasoning_content"]


def _thinking_round_trip(client: Client, first_message: dict[str, Any]) -> str:
    (call,) = first_message["tool_calls"]
    history = [*ASK, first_message,
               {"role": "tool", "tool_call_id": call["id"], "content": "18C"}]
    return client.chat(req("messages", history, tools=[WEATHER_TOOL], reasoning_effort="low"),
                       api="messages").text


def test_messages_thinking_signature_round_trip(client: Client,
                                                cf_aig_emulator: Emulator) -> None:
    first = client.chat(req("messages", ASK, tools=[WEATHER_TOOL], reasoning_effort="low"),
                        api="messages")
    sent = model_calls(cf_aig_emulator)[-1].json
    assert sent["thinking"]["type"] == "enabled" and sent["thinking"]["budget_tokens"] >= 1024
    assert sent["max_tokens"] > sent["thinking"]["budget_tokens"]
    message = first.completion["choices"][0]["message"]
    (block,) = message["thinking_blocks"]
    assert block["type"] == "thinking" and block["signature"]
    assert "get_weather returned 18C" in _thinking_round_trip(client, message)
    back = model_calls(cf_aig_emulator)[-1].json["messages"][1]["content"][0]
    assert back == {"type": "thinking", "thinking": block["thinking"],
                    "signature": block["signature"]}


def test_messages_streamed_thinking_signature_round_trip(client: Client) -> None:
    merged = streamed(client, req("messages", ASK, tools=[WEATHER_TOOL],
                                  reasoning_effort="low"), "messages")
    message = merged["choices"][0]["message"]
    assert message["thinking_blocks"][0]["signature"]
    assert "get_weather returned 18C" in _thinking_round_trip(client, message)


def test_messages_tampered_signature_is_a_bad_request(client: Client) -> None:
    first = client.chat(req("messages", ASK, tools=[WEATHER_TOOL], reasoning_effort="low"),
                        api="messages")
    message = json.loads(json.dumps(first.completion["choices"][0]["message"]))
    message["thinking_blocks"][0]["signature"] = "Eh" + "A" * 40
    with pytest.raises(BadRequestError, match="signature"):
        _thinking_round_trip(client, message)


# --- usage details ------------------------------------------------------------------------

def test_messages_prompt_cache_usage(client: Client) -> None:
    parts = [{"type": "text", "text": "A long shared preamble about Paris",
              "cache_control": {"type": "ephemeral"}}]
    request = req("messages", [{"role": "user", "content": parts}])
    first = client.chat(request, api="messages").completion["usage"]
    second = client.chat(request, api="messages").completion["usage"]
    assert first["prompt_tokens"] == second["prompt_tokens"] == 6
    assert first["prompt_tokens_details"]["cached_tokens"] == 0
    assert second["prompt_tokens_details"]["cached_tokens"] == 6


def test_responses_cached_tokens(client: Client) -> None:
    request = req("responses", prompt_cache_key="k1")
    client.chat(request, api="responses")
    usage = client.chat(request, api="responses").completion["usage"]
    assert usage["prompt_tokens"] == 6 and usage["prompt_tokens_details"]["cached_tokens"] == 6


@pytest.mark.parametrize("api", APIS)
def test_gateway_cache_hit(client: Client, api: Api) -> None:
    first = client.chat(req(api), api=api, options={"cache_ttl": 60})
    second = client.chat(req(api), api=api, options={"cache_ttl": 60})
    assert (first.info.cache_status, second.info.cache_status) == ("MISS", "HIT")
    assert second.text == first.text


@pytest.mark.parametrize("api", APIS)
def test_scripted_answer(client: Client, cf_aig_emulator: Emulator, api: Api) -> None:
    cf_aig_emulator.enqueue(Script(text="ok", reasoning="thinking...",
                                   tool_calls=[{"name": "f", "arguments": {"a": 1}},
                                               {"name": "g", "arguments": {}}]))
    merged = streamed(client, req(api), api)
    message = merged["choices"][0]["message"]
    assert message["content"] == "ok" and message["reasoning_content"] == "thinking..."
    assert [c["function"]["name"] for c in message["tool_calls"]] == ["f", "g"]
    assert [json.loads(c["function"]["arguments"]) for c in message["tool_calls"]] == [
        {"a": 1}, {}]


# --- errors and faults --------------------------------------------------------------------

@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(("fault", "cls", "attempts"), [
    (Fault(code=3040), RateLimitError, 3),
    (Fault(status=429, envelope="provider"), RateLimitError, 3),
    (Fault(status=529, envelope="provider"), ServerError, 3),
    (Fault(status=500, envelope="provider"), ServerError, 3),
    (Fault(code=3036), QuotaExceededError, 1),
    (Fault(code=2021), InsufficientCreditsError, 1),
    (Fault(kind="success_false", code=3040), RateLimitError, 3),
    (Fault(kind="malformed_json"), ResponseDecodeError, 1),
    (Fault(kind="stream_error", status=500), ServerError, 3),
])
def test_fault_types_and_attempts(client: Client, cf_aig_emulator: Emulator, api: Api,
                                  fault: Fault, cls: type, attempts: int) -> None:
    cf_aig_emulator.enqueue(*[fault] * 3)
    with pytest.raises(cls) as info:
        client.chat(req(api), api=api)
    if cls is InsufficientCreditsError and api == "responses":
        cls = ResponsesBillingError  # a 402 there says what to try instead (issue 15)
    assert type(info.value) is cls
    assert len(model_calls(cf_aig_emulator)) == attempts
    assert info.value.message and TOKEN not in str(info.value)


@pytest.mark.parametrize("api", APIS)
def test_retry_then_success(client: Client, cf_aig_emulator: Emulator, api: Api) -> None:
    cf_aig_emulator.enqueue(Fault(code=3040), Fault(status=529, envelope="provider"))
    assert client.chat(req(api), api=api).text
    assert len(model_calls(cf_aig_emulator)) == 3


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(("fault", "cls"), [
    (Fault(kind="disconnect", after=6), StreamInterruptedError),
    (Fault(kind="malformed_sse", after=6), ResponseDecodeError),
    (Fault(kind="stream_error", after=6, code=3040), RateLimitError),
    (Fault(kind="stream_error", after=6, status=500), ServerError),
])
def test_stream_breaks_raise_after_delivering_what_came(client: Client,
                                                        cf_aig_emulator: Emulator, api: Api,
                                                        fault: Fault, cls: type) -> None:
    cf_aig_emulator.enqueue(fault)
    got: list[Any] = []
    with pytest.raises(cls):
        for chunk in client.chat_stream(req(api), api=api):
            got.append(chunk)
    assert got and len(model_calls(cf_aig_emulator)) == 1  # never retried mid-stream


@pytest.mark.parametrize("api", APIS)
def test_json_body_when_stream_was_asked(client: Client, cf_aig_emulator: Emulator,
                                         api: Api) -> None:
    cf_aig_emulator.enqueue(Fault(kind="json_for_stream"))
    merged = streamed(client, req(api), api)
    assert "Paris" in merged["choices"][0]["message"]["content"]
    assert merged["usage"]["total_tokens"] > 0


@pytest.mark.parametrize("api", APIS)
def test_bad_requests_are_typed_and_not_retried(client: Client, cf_aig_emulator: Emulator,
                                                api: Api) -> None:
    with pytest.raises(NotFoundError):
        client.chat(req(api, model=MODELS[api] + "-nope"), api=api)
    with pytest.raises(BadRequestError) as info:
        client.chat(req(api, model="@cf/meta/llama-3.1-8b-instruct-fp8"),
                    api=api)
    assert info.value.code == 7003
    assert len(model_calls(cf_aig_emulator)) == 2


def test_responses_unknown_previous_response_id(client: Client) -> None:
    with pytest.raises(BadRequestError, match="not found"):
        client.chat(req("responses", previous_response_id="resp_nope"), api="responses")


def test_responses_previous_response_id_continues(client: Client) -> None:
    first = client.chat(req("responses", ASK, tools=[WEATHER_TOOL]), api="responses")
    (call,) = first.completion["choices"][0]["message"]["tool_calls"]
    second = client.chat(req("responses", [{"role": "tool", "tool_call_id": call["id"],
                                             "content": "18C"}],
                             tools=[WEATHER_TOOL], previous_response_id=first.completion["id"]),
                         api="responses")
    assert "get_weather returned 18C" in second.text


# --- async --------------------------------------------------------------------------------

@pytest.mark.parametrize("api", APIS)
async def test_async_invoke_stream_and_errors(cf_aig_emulator: Emulator, api: Api) -> None:
    aclient = AsyncClient(account_id="acc", api_token=TOKEN, base_url=cf_aig_emulator.base_url,
                          retry_base_delay=0.01)
    try:
        results = await asyncio.gather(*(aclient.chat(req(api), api=api)
                                         for _ in range(5)))
        assert len({r.text for r in results}) == 1
        acc = ChunkAccumulator()
        stream = await aclient.chat_stream(req(api, ASK, tools=[WEATHER_TOOL]),
                                           api=api)
        async for chunk in stream:
            acc.add(chunk)
        (call,) = acc.completion()["choices"][0]["message"]["tool_calls"]
        assert json.loads(call["function"]["arguments"]) == {"city": "Paris", "days": 3}
        cf_aig_emulator.enqueue(Fault(code=3040), Fault(code=3040), Fault(code=3040))
        before = len(model_calls(cf_aig_emulator))
        with pytest.raises(RateLimitError):
            await aclient.chat(req(api), api=api)
        assert len(model_calls(cf_aig_emulator)) - before == 3
    finally:
        await aclient.aclose()


# --- more shapes ----------------------------------------------------------------------------

PIXEL = "data:image/png;base64,iVBORw0KGgo="


@pytest.mark.parametrize("api", APIS)
def test_image_parts_and_multi_turn_history(client: Client, cf_aig_emulator: Emulator,
                                            api: Api) -> None:
    history = [{"role": "user", "content": "Describe Lisbon"},
               {"role": "assistant", "content": "It is sunny."},
               {"role": "user", "content": [
                   {"type": "text", "text": "And this picture of Porto?"},
                   {"type": "image_url", "image_url": {"url": PIXEL}},
                   {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]
    result = client.chat(req(api, history), api=api)
    assert "Porto" in result.text
    sent = model_calls(cf_aig_emulator)[-1].json
    if api == "messages":
        blocks = sent["messages"][2]["content"]
        assert blocks[1]["source"] == {"type": "base64", "media_type": "image/png",
                                       "data": "iVBORw0KGgo="}
        assert blocks[2]["source"] == {"type": "url", "url": "https://example.com/a.png"}


@pytest.mark.parametrize("api", APIS)
def test_streamed_reasoning_with_parallel_tool_calls(client: Client, api: Api) -> None:
    ask = [{"role": "user", "content": "Call get_weather and get_time for Rome"}]
    request = req(api, ask, tools=[WEATHER_TOOL, TIME_TOOL], reasoning_effort="low")
    whole = client.chat(request, api=api).completion
    merged = streamed(client, request, api)
    for done in (whole, merged):
        message = done["choices"][0]["message"]
        assert [c["function"]["name"] for c in message["tool_calls"]] == ["get_weather",
                                                                            "get_time"]
        assert all(c["id"] and json.loads(c["function"]["arguments"])
                   for c in message["tool_calls"])
        assert message["reasoning_content"]
    history = [*ask, merged["choices"][0]["message"],
               *({"role": "tool", "tool_call_id": c["id"], "content": f"r{i}"}
                 for i, c in enumerate(merged["choices"][0]["message"]["tool_calls"]))]
    again = client.chat(req(api, history, tools=[WEATHER_TOOL, TIME_TOOL],
                            reasoning_effort="low"), api=api)
    assert "get_time returned r1" in again.text


def test_messages_stop_sequences(client: Client, cf_aig_emulator: Emulator) -> None:
    result = client.chat(req("messages", stop=["answer"]), api="messages")
    assert result.text == "Here is an emulated "
    assert result.completion["choices"][0]["finish_reason"] == "stop"
    assert model_calls(cf_aig_emulator)[-1].json["stop_sequences"] == ["answer"]


def test_messages_streamed_prompt_cache_usage(client: Client) -> None:
    parts = [{"type": "text", "text": "A long shared preamble about Paris",
              "cache_control": {"type": "ephemeral"}}]
    request = req("messages", [{"role": "user", "content": parts}])
    streamed(client, request, "messages")
    usage = streamed(client, request, "messages")["usage"]
    assert usage["prompt_tokens"] == 6 and usage["prompt_tokens_details"]["cached_tokens"] == 6


# --- bodies the provider would refuse are refused before sending -------------------------

@pytest.mark.parametrize(("api", "extra", "match"), [
    ("messages", {"messages": [{"role": "system", "content": [
        {"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}}]},
        *HELLO]}, "cache_control"),
    ("messages", {"tools": [WEATHER_TOOL], "tool_choice": "required",
                  "reasoning_effort": "low"}, "forced tool"),
    ("messages", {"temperature": 1.5}, "temperature"),
    ("responses", {"max_tokens": 5}, "16"),
])
def test_refused_before_sending(client: Client, cf_aig_emulator: Emulator, api: str,
                                extra: dict, match: str) -> None:
    request = req(api)
    request.update(extra)
    with pytest.raises(ConfigurationError, match=match):
        client.chat(request, api=api)  # type: ignore[arg-type]
    assert model_calls(cf_aig_emulator) == []


def test_anthropic_model_on_unified_run_round_trips(client: Client,
                                                    cf_aig_emulator: Emulator) -> None:
    request = req("messages", tools=[WEATHER_TOOL],
                  messages=[{"role": "user", "content": "Use get_weather for Paris"}])
    whole = client.chat(request, api="run").completion
    sent = [r for r in cf_aig_emulator.requests if r.path.endswith("/ai/run")][-1]
    assert sent.path.endswith("/ai/run") and "max_tokens" in sent.json["input"]
    assert whole["choices"][0]["finish_reason"] == "tool_calls"
    merged = streamed(client, request, "run")
    assert merged["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert merged["usage"]["total_tokens"] > 0
