"""The core client against the emulator over loopback: every route, option and fault."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest

from cf_aig import (
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    ChunkAccumulator,
    Client,
    ConfigurationError,
    ConnectionFailedError,
    GatewayOptions,
    GuardrailBlockedError,
    GuardrailUnavailableError,
    InsufficientCreditsError,
    MissingCredentialsError,
    NotFoundError,
    QuotaExceededError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    SpendLimitExceededError,
    StreamInterruptedError,
)
from cf_aig.emulator import Emulator, Fault, Script

TOKEN = "tok-SECRET-123456"
HELLO = [{"role": "user", "content": "Hello there, gateway"}]
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                     "days": {"type": "integer"}},
                   "required": ["city", "days"]}}}


def model_calls(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if "/ai/" in r.path and "ai-gateway" not in r.path]


@pytest.fixture
def client(cf_aig_emulator: Emulator) -> Any:
    with Client(account_id="acc", api_token=TOKEN, base_url=cf_aig_emulator.base_url,
                retry_base_delay=0.01) as c:
        yield c


@pytest.fixture
def aclient(cf_aig_emulator: Emulator) -> AsyncClient:
    return AsyncClient(account_id="acc", api_token=TOKEN, base_url=cf_aig_emulator.base_url,
                       retry_base_delay=0.01)


# --- settings and secrets -------------------------------------------------------------

def test_missing_credentials_name_argument_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDFLARE_ACCOUNT_ID", raising=False)
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    with pytest.raises(MissingCredentialsError) as info:
        Client()
    assert "account_id" in str(info.value) and "CLOUDFLARE_ACCOUNT_ID" in str(info.value)
    assert "CLOUDFLARE_API_TOKEN" in str(info.value)


def test_env_settings_and_token_never_shown(cf_aig_env: Emulator) -> None:
    with Client() as c:
        assert c.settings.base_url == cf_aig_env.base_url
        token = c.settings.api_token.get_secret_value()
        assert token not in repr(c) and token not in str(c.settings) and token not in repr(
            c.settings)
        assert c.chat({"model": "openai/gpt-5.5", "messages": HELLO}).text


@pytest.mark.parametrize("url", ["ftp://x", "http://example.com/client/v4", "", "https://h/?q=1"])
def test_bad_base_url_is_rejected_before_any_request(url: str) -> None:
    with pytest.raises(ConfigurationError):
        Client(account_id="a", api_token="t", base_url=url)


def test_plain_http_allowed_only_when_asked() -> None:
    Client(account_id="a", api_token="t", base_url="http://gw.internal/client/v4",
           allow_insecure_http=True).close()


def test_bad_request_caught_before_sending(client: Client, cf_aig_emulator: Emulator) -> None:
    with pytest.raises(ConfigurationError, match="model"):
        client.chat({"model": "", "messages": HELLO})
    with pytest.raises(ConfigurationError, match="messages"):
        client.chat({"model": "openai/gpt-5.5", "messages": []})
    with pytest.raises(ConfigurationError, match="cache_ttl"):
        client.chat({"model": "openai/gpt-5.5", "messages": HELLO}, options={"cache_ttl": 5})
    assert model_calls(cf_aig_emulator) == []


# --- chat completions -----------------------------------------------------------------

def test_chat_invoke_returns_completion_usage_and_gateway_info(client: Client) -> None:
    result = client.chat({"model": "openai/gpt-5.5", "messages": HELLO})
    c = result.completion
    assert c["object"] == "chat.completion" and c["choices"][0]["finish_reason"] == "stop"
    assert result.text and c["usage"]["total_tokens"] > 0
    assert result.info.log_id and result.info.cache_status == "MISS"
    assert result.info.provider == "openai"


def test_stream_matches_invoke_and_carries_usage(client: Client) -> None:
    req = {"model": "openai/gpt-5.5", "messages": HELLO}
    whole = client.chat(req).completion
    with client.chat_stream(req) as stream:
        assert stream.info.log_id
        chunks = list(stream)
    acc = ChunkAccumulator()
    for ch in chunks:
        acc.add(ch)
    merged = acc.completion()
    assert merged["choices"][0]["message"]["content"] == whole["choices"][0]["message"]["content"]
    assert merged["usage"] == whole["usage"]
    assert sum(1 for ch in chunks if ch.get("usage")) == 1  # usage once, at the end
    assert chunks[-1]["choices"] == []


def test_options_and_gateway_id_reach_the_wire(cf_aig_emulator: Emulator) -> None:
    emu = cf_aig_emulator
    emu.state.gateways.add("team-gw")
    with Client(account_id="acc", api_token=TOKEN, base_url=emu.base_url, gateway_id="team-gw",
                options=GatewayOptions(cache_ttl=600, metadata={"app": "tests"}),
                default_headers={"x-trace": "1"}) as c:
        r = c.chat({"model": "openai/gpt-5.5", "messages": HELLO},
                   options={"event_id": "ev-42", "cache_ttl": 120})
    h = model_calls(emu)[-1].headers
    assert h["cf-aig-gateway-id"] == "team-gw" and h["cf-aig-cache-ttl"] == "120"
    assert json.loads(h["cf-aig-metadata"]) == {"app": "tests"} and h["cf-aig-event-id"] == "ev-42"
    assert h["x-trace"] == "1" and h["authorization"] != f"Bearer {TOKEN}"  # recorded redacted
    assert r.info.event_id == "ev-42"


def test_cache_hit_on_repeat(client: Client) -> None:
    req = {"model": "openai/gpt-5.5", "messages": HELLO}
    first = client.chat(req, options={"cache_ttl": 300})
    second = client.chat(req, options={"cache_ttl": 300})
    assert (first.info.cache_status, second.info.cache_status) == ("MISS", "HIT")
    assert second.info.cached and second.completion == first.completion
    third = client.chat(req, options={"cache_ttl": 300, "skip_cache": True})
    assert third.info.cache_status == "MISS"


def test_streamed_tool_calls_are_complete(client: Client) -> None:
    req = {"model": "openai/gpt-5.5", "tools": [WEATHER_TOOL],
           "messages": [{"role": "user", "content": "Use get_weather for Paris for 3 days"}]}
    whole = client.chat(req).completion["choices"][0]
    assert whole["finish_reason"] == "tool_calls"
    acc = ChunkAccumulator()
    with client.chat_stream(req) as stream:
        for ch in stream:
            for choice in ch["choices"]:
                for tc in choice["delta"].get("tool_calls") or []:
                    assert isinstance(tc["index"], int)
            acc.add(ch)
    call = acc.completion()["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["name"] == "get_weather"
    args = json.loads(call["function"]["arguments"])
    assert args["days"] == 3 and isinstance(args["city"], str)
    assert call["id"] == whole["message"]["tool_calls"][0]["id"] or call["id"].startswith("call_")


async def test_async_chat_stream_and_concurrency(aclient: AsyncClient) -> None:
    req = {"model": "openai/gpt-5.5", "messages": HELLO}
    results = await asyncio.gather(*(aclient.chat(req) for _ in range(20)))
    assert all(r.text == results[0].text for r in results)
    stream = await aclient.chat_stream(req)
    acc = ChunkAccumulator()
    async for ch in stream:
        acc.add(ch)
    assert acc.completion()["choices"][0]["message"]["content"] == results[0].text
    await aclient.aclose()


def test_async_client_survives_several_event_loops(aclient: AsyncClient) -> None:
    req = {"model": "openai/gpt-5.5", "messages": HELLO}
    for _ in range(3):
        assert asyncio.run(aclient.chat(req)).text


# --- Workers AI /ai/run ---------------------------------------------------------------

@pytest.mark.parametrize("model", ["@cf/meta/llama-3.1-8b-instruct-fp8", "@cf/moonshotai/kimi-k2.6"])
def test_run_dialect_invoke_and_stream(client: Client, model: str) -> None:
    req = {"model": model, "messages": HELLO}
    whole = client.chat(req, api="run")
    assert whole.text and whole.completion["usage"]["total_tokens"] > 0
    acc = ChunkAccumulator()
    for ch in client.chat_stream(req, api="run"):
        acc.add(ch)
    merged = acc.completion()
    assert merged["choices"][0]["message"]["content"] == whole.text
    assert merged["usage"]["completion_tokens"] == whole.completion["usage"]["completion_tokens"]


def test_run_classic_tool_calls_become_openai_shape(client: Client) -> None:
    req = {"model": "@cf/meta/llama-3.1-8b-instruct-fp8", "tools": [WEATHER_TOOL],
           "messages": [{"role": "user", "content": "call get_weather for Rome, 2 days"}]}
    msg = client.chat(req, api="run").completion["choices"][0]["message"]
    call = msg["tool_calls"][0]
    assert call["id"] and call["type"] == "function"
    assert isinstance(call["function"]["arguments"], str)
    assert json.loads(call["function"]["arguments"])["days"] == 2


def test_run_reasoning_normalised(client: Client) -> None:
    msg = client.chat({"model": "@cf/moonshotai/kimi-k2.6", "messages": HELLO},
                      api="run").completion["choices"][0]["message"]
    assert msg.get("reasoning_content")


def test_json_schema_is_never_streamed_on_workers_ai(client: Client,
                                                     cf_aig_emulator: Emulator) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    req = {"model": "@cf/meta/llama-3.1-8b-instruct-fp8", "messages": HELLO,
           "response_format": {"type": "json_schema",
                               "json_schema": {"name": "x", "schema": schema}}}
    acc = ChunkAccumulator()
    for ch in client.chat_stream(req, api="run"):
        acc.add(ch)
    sent = model_calls(cf_aig_emulator)[-1].json
    assert not sent.get("stream") and sent["response_format"]["json_schema"] == schema
    assert "name" in json.loads(acc.completion()["choices"][0]["message"]["content"])


def test_run_raw_and_unified(client: Client) -> None:
    raw = client.run("@cf/meta/llama-3.1-8b-instruct-fp8", {"prompt": "Say hi"})
    assert isinstance(raw.result, dict) and "response" in raw.result
    events = list(client.run("@cf/meta/llama-3.1-8b-instruct-fp8", {"prompt": "Say hi"},
                             stream=True))
    assert any(e.get("response") for e in events)
    unified = client.run("openai/gpt-5.5", {"messages": HELLO})
    assert unified.result["choices"][0]["message"]["content"]


def test_embeddings_both_routes_and_batching(client: Client, cf_aig_emulator: Emulator) -> None:
    texts = [f"text number {i}" for i in range(250)]
    res = client.embed("@cf/baai/bge-small-en-v1.5", texts)
    assert len(res.vectors) == 250 and len(res.vectors[0]) == 384 and len(res.infos) == 3
    again = client.embed("@cf/baai/bge-small-en-v1.5", texts[:1])
    assert again.vectors[0] == res.vectors[0]
    oai = client.embed("@cf/baai/bge-base-en-v1.5", ["a", "b"], api="openai")
    assert len(oai.vectors[1]) == 768 and oai.usage["prompt_tokens"] > 0


async def test_async_embeddings(aclient: AsyncClient) -> None:
    res = await aclient.embed("@cf/baai/bge-large-en-v1.5", [str(i) for i in range(230)])
    assert len(res.vectors) == 230 and len(res.vectors[0]) == 1024
    await aclient.aclose()


def test_logs_get_and_feedback(client: Client) -> None:
    info = client.chat({"model": "openai/gpt-5.5", "messages": HELLO},
                       options={"metadata": {"user": "alice"}}).info
    assert info.log_id
    entry = client.get_log(info.log_id)
    assert entry["id"] == info.log_id and entry["model"] == "openai/gpt-5.5"
    client.patch_log(info.log_id, feedback=1, score=90, metadata={"reviewed": True})
    assert client.get_log(info.log_id)["feedback"] == 1
    assert any(row["id"] == info.log_id for row in client.list_logs(params={"per_page": 50}))
    with pytest.raises(NotFoundError):
        client.get_log("no-such-log")
    with pytest.raises(ConfigurationError, match="feedback"):
        client.patch_log(info.log_id, feedback=5)


# --- errors and retries ---------------------------------------------------------------

@pytest.mark.parametrize(("fault", "cls", "attempts"), [
    (Fault(code=3040), RateLimitError, 3),
    (Fault(code=3040, retry_after=0.01), RateLimitError, 3),
    (Fault(code=3036), QuotaExceededError, 1),
    (Fault(code=4006), QuotaExceededError, 1),
    (Fault(code=2041), SpendLimitExceededError, 1),
    (Fault(status=500), ServerError, 3),
    (Fault(status=502), ServerError, 3),
    (Fault(status=503, code=3043), ServerError, 3),
    (Fault(status=503), RateLimitError, 3),  # the emulator's 503 carries 3040 (capacity)
    (Fault(status=504), APITimeoutError, 3),  # ... and its 504 carries 3007 (timeout)
    (Fault(code=7013), GuardrailUnavailableError, 1),
    (Fault(code=2016), GuardrailBlockedError, 1),
    (Fault(code=2017), GuardrailBlockedError, 1),
    (Fault(code=2021), InsufficientCreditsError, 1),
    (Fault(code=10000), AuthenticationError, 1),
    (Fault(status=500, envelope="openai"), ServerError, 3),
    (Fault(status=529, envelope="anthropic"), ServerError, 3),
    (Fault(kind="success_false", code=3040), RateLimitError, 3),
    (Fault(kind="malformed_json"), ResponseDecodeError, 1),
])
def test_fault_attempts_and_types(client: Client, cf_aig_emulator: Emulator, fault: Fault,
                                  cls: type, attempts: int) -> None:
    cf_aig_emulator.enqueue(*[fault] * 3)
    with pytest.raises(cls) as info:
        client.chat({"model": "openai/gpt-5.5", "messages": HELLO})
    assert type(info.value) is cls
    assert len(model_calls(cf_aig_emulator)) == attempts
    assert info.value.status is not None and info.value.message
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)


def test_retry_then_success(client: Client, cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.enqueue(Fault(code=3040), Fault(status=502))
    assert client.chat({"model": "openai/gpt-5.5", "messages": HELLO}).text
    assert len(model_calls(cf_aig_emulator)) == 3


def test_errors_carry_log_id_and_code(client: Client, cf_aig_emulator: Emulator) -> None:
    with pytest.raises(NotFoundError) as info:
        client.chat({"model": "openai/no-such-model", "messages": HELLO})
    assert info.value.code == 7003 and info.value.status == 404


def test_connection_refused_is_retried_then_typed() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Client(account_id="a", api_token=TOKEN, base_url=f"http://127.0.0.1:{port}/client/v4",
                retry_base_delay=0.01) as c, pytest.raises(ConnectionFailedError) as info:
        c.chat({"model": "openai/gpt-5.5", "messages": HELLO})
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize(("retry_ambiguous", "arrivals"), [(False, 1), (True, 2)])
def test_timeout_before_first_byte(cf_aig_emulator: Emulator, retry_ambiguous: bool,
                                   arrivals: int) -> None:
    """The request was sent, no status came: ambiguous, resent only when allowed."""
    cf_aig_emulator.enqueue(*[Fault(kind="hang", seconds=0.5)] * 2)
    with Client(account_id="a", api_token=TOKEN, base_url=cf_aig_emulator.base_url,
                timeout=0.2, max_retries=1, retry_base_delay=0.01,
                retry_ambiguous=retry_ambiguous) as c, pytest.raises(APITimeoutError):
        c.chat({"model": "openai/gpt-5.5", "messages": HELLO})
    assert len(model_calls(cf_aig_emulator)) == arrivals


@pytest.mark.parametrize(("fault", "cls"), [
    (Fault(kind="disconnect", after=2), StreamInterruptedError),
    (Fault(kind="malformed_sse", after=2), ResponseDecodeError),
    (Fault(kind="stream_error", after=2, code=3040), RateLimitError),
])
def test_stream_breaks_raise_after_delivering_what_came(client: Client,
                                                        cf_aig_emulator: Emulator,
                                                        fault: Fault, cls: type) -> None:
    cf_aig_emulator.enqueue(fault)
    got: list[Any] = []
    stream = client.chat_stream({"model": "openai/gpt-5.5", "messages": HELLO})
    with pytest.raises(cls) as info:
        for ch in stream:
            got.append(ch)
    assert len(got) >= 1 and len(model_calls(cf_aig_emulator)) == 1  # never retried mid-stream
    if isinstance(info.value, StreamInterruptedError):
        assert info.value.received == len(got)


def test_stall_mid_stream_raises(cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.enqueue(Fault(kind="stall", after=1, seconds=0.6))
    with Client(account_id="a", api_token=TOKEN, base_url=cf_aig_emulator.base_url,
                timeout=0.2) as c, pytest.raises(StreamInterruptedError):
        list(c.chat_stream({"model": "openai/gpt-5.5", "messages": HELLO}))


def test_json_body_when_stream_was_asked(client: Client, cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.enqueue(Fault(kind="json_for_stream"))
    acc = ChunkAccumulator()
    for ch in client.chat_stream({"model": "openai/gpt-5.5", "messages": HELLO}):
        acc.add(ch)
    done = acc.completion()
    assert done["choices"][0]["message"]["content"] and done["usage"]["total_tokens"] > 0


def test_scripted_reasoning_and_tool_calls_round_trip(client: Client,
                                                      cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.enqueue(Script(text="ok", reasoning="thinking...",
                                   tool_calls=[{"name": "f", "arguments": {"a": 1}},
                                               {"name": "g", "arguments": "{}"}]))
    acc = ChunkAccumulator()
    for ch in client.chat_stream({"model": "openai/gpt-5.5", "messages": HELLO}):
        acc.add(ch)
    msg = acc.completion()["choices"][0]["message"]
    assert [c["function"]["name"] for c in msg["tool_calls"]] == ["f", "g"]
    assert json.loads(msg["tool_calls"][0]["function"]["arguments"]) == {"a": 1}
    assert msg["reasoning_content"] == "thinking..."
