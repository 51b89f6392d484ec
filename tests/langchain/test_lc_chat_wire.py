"""Chat model behaviour that crosses the wire, checked against the emulator's recordings."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelNotFoundError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from lc_helpers import creds
from pydantic import BaseModel
from typing_extensions import TypedDict

import cf_aig
from cf_aig.emulator import Emulator, Fault, Script
from langchain_cf_aig import ChatCloudflareAIGateway, gateway_info

GPT = "openai/gpt-5.5"
KIMI = "@cf/moonshotai/kimi-k2.6"


def make(emu: Emulator, model: str = GPT, **kw: Any) -> ChatCloudflareAIGateway:
    api = "run" if model.startswith("@cf/") else "chat_completions"
    return ChatCloudflareAIGateway(model=model, **{"api": api, **creds(emu), **kw})


def aggregate(chunks: Any) -> AIMessageChunk:
    full: Any = None
    for chunk in chunks:
        full = chunk if full is None else full + chunk
    assert isinstance(full, AIMessageChunk)
    return full


def last_model_request(emu: Emulator) -> Any:
    return [r for r in emu.requests if r.method == "POST"][-1]


class Person(BaseModel):
    name: str
    age: int


class PersonDict(TypedDict):
    name: str
    age: int


# ----------------------------------------------------------------- gateway options


def test_gateway_options_from_fields_and_per_call_reach_the_wire(emu: Emulator) -> None:
    llm = make(emu, cache_ttl=600, gateway_metadata={"team": "a"}, collect_log=True)
    llm.invoke(
        "hi",
        skip_cache=True,
        gateway_metadata={"user": "bob"},
        max_attempts=3,
        backoff="linear",
        event_id="evt-1",
        byok_alias="prod",
        session_affinity="s1",
    )
    h = last_model_request(emu).headers
    assert h["cf-aig-cache-ttl"] == "600"
    assert h["cf-aig-collect-log"] == "true"
    assert h["cf-aig-skip-cache"] == "true"
    assert json.loads(h["cf-aig-metadata"]) == {"user": "bob"}  # per call wins
    assert h["cf-aig-max-attempts"] == "3"
    assert h["cf-aig-backoff"] == "linear"
    assert h["cf-aig-event-id"] == "evt-1"
    assert h["cf-aig-byok-alias"] == "prod"
    assert h["x-session-affinity"] == "s1"


def test_per_call_options_on_stream_and_gateway_options_kwarg(emu: Emulator) -> None:
    llm = make(emu, KIMI)
    aggregate(llm.stream("hi", gateway_options={"cache_ttl": 120}, zdr=True))
    h = last_model_request(emu).headers
    assert h["cf-aig-cache-ttl"] == "120" and h["cf-aig-zdr"] == "true"


def test_invalid_per_call_option_is_rejected_before_sending(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        make(emu).invoke("hi", max_attempts=99)
    assert emu.requests == []


def test_gateway_info_in_response_metadata(emu: Emulator) -> None:
    llm = make(emu)
    msg = llm.invoke("hello")
    gw = msg.response_metadata["gateway"]
    assert gw["log_id"] and gw["cache_status"] == "MISS" and gw["provider"] == "openai"
    assert gw["model"] == GPT and gw["step"] == 0
    assert gateway_info(msg).log_id == gw["log_id"]
    full = aggregate(llm.stream("hello"))
    assert full.response_metadata["gateway"]["log_id"]
    assert full.response_metadata["finish_reason"] == "stop"
    assert full.response_metadata["model_provider"] == "cloudflare"


def test_cache_hit_shows_in_metadata(emu: Emulator) -> None:
    llm = make(emu, cache_ttl=600)
    llm.invoke("cache me")
    assert llm.invoke("cache me").response_metadata["gateway"]["cache_status"] == "HIT"


def test_run_id_and_metadata_to_gateway(emu: Emulator) -> None:
    llm = make(emu, send_run_id=True, metadata_to_gateway=True, gateway_metadata={"app": "x"})
    run_id = uuid.uuid4()
    config = {
        "metadata": {"user": "u1", "n": 3, "nested": {"no": 1}},
        "tags": ["t1", "t2"],
        "run_id": run_id,
    }
    llm.invoke("hi", config=config)  # type: ignore[arg-type]
    h = last_model_request(emu).headers
    assert h["cf-aig-event-id"] == str(run_id)
    meta = json.loads(h["cf-aig-metadata"])
    assert meta == {"app": "x", "user": "u1", "n": 3, "tags": "t1,t2"}


def test_metadata_to_gateway_respects_five_entries_and_key_list(emu: Emulator) -> None:
    llm = make(emu, metadata_to_gateway=["b"])
    llm.invoke("hi", config={"metadata": {"a": 1, "b": 2}})
    assert json.loads(last_model_request(emu).headers["cf-aig-metadata"]) == {"b": 2}
    llm = make(emu, metadata_to_gateway=True)
    llm.invoke("hi", config={"metadata": {f"k{i}": i for i in range(8)}})
    assert len(json.loads(last_model_request(emu).headers["cf-aig-metadata"])) == 5


def test_send_feedback_patches_the_log(emu: Emulator) -> None:
    llm = make(emu)
    msg = llm.invoke("rate me")
    llm.send_feedback(msg, feedback=-1, score=42)
    entry = next(e for e in emu.logs if e["id"] == msg.response_metadata["gateway"]["log_id"])
    assert entry["feedback"] == -1 and entry["score"] == 42


async def test_asend_feedback(emu: Emulator) -> None:
    llm = make(emu)
    msg = await llm.ainvoke("rate me")
    await llm.asend_feedback(msg.response_metadata["gateway"]["log_id"], feedback=1)
    assert any(e["feedback"] == 1 for e in emu.logs)


# ----------------------------------------------------------------- request body


def test_sampling_params_model_kwargs_extra_body_and_override(emu: Emulator) -> None:
    llm = make(
        emu,
        KIMI,
        temperature=0.3,
        top_p=0.9,
        seed=7,
        max_tokens=50,
        presence_penalty=0.1,
        model_kwargs={"top_k": 5},
        extra_body={"repetition_penalty": 1.1},
    )
    llm.invoke("hi", model="@cf/moonshotai/kimi-k2.5", stop=["zz"], temperature=0.5)
    req = last_model_request(emu)
    assert req.path.endswith("/ai/run/@cf/moonshotai/kimi-k2.5")
    body = req.json
    assert body["temperature"] == 0.5 and body["top_p"] == 0.9 and body["seed"] == 7
    assert body["max_tokens"] == 50 and body["stop"] == ["zz"] and body["top_k"] == 5
    assert body["repetition_penalty"] == 1.1


def test_openai_models_get_max_completion_tokens(emu: Emulator) -> None:
    make(emu, max_tokens=5).invoke("hi there friend how are you today")
    body = last_model_request(emu).json
    assert body["max_completion_tokens"] == 5 and "max_tokens" not in body


def test_tool_turn_content_is_empty_string_on_the_wire(emu: Emulator) -> None:
    history = [
        HumanMessage("what is add(2, 3)?"),
        AIMessage(content="", tool_calls=[{"name": "add", "args": {"a": 2, "b": 3}, "id": "c1"}]),
        ToolMessage(content=[{"type": "text", "text": "5"}], tool_call_id="c1"),
    ]
    for model in (GPT, KIMI):
        make(emu, model).invoke(history)
        msgs = last_model_request(emu).json["messages"]
        assert msgs[1]["content"] == "" and msgs[1]["tool_calls"][0]["id"] == "c1"
        assert msgs[2] == {"role": "tool", "tool_call_id": "c1", "content": "5"}


def _add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("any", "required"),
        (True, {"type": "function", "function": {"name": "_add"}}),
        ("_add", {"type": "function", "function": {"name": "_add"}}),
    ],
)
def test_tool_choice_forms_on_the_wire(emu: Emulator, choice: Any, wire: Any) -> None:
    llm = make(emu).bind_tools([_add], tool_choice=choice, parallel_tool_calls=False, strict=True)
    llm.invoke("use _add on 2 and 3")
    body = last_model_request(emu).json
    assert body["tool_choice"] == wire
    assert body["parallel_tool_calls"] is False
    assert body["tools"][0]["function"]["strict"] is True


@pytest.mark.parametrize("model", [GPT, KIMI])
def test_streamed_tool_calls_keyed_by_index(emu: Emulator, model: str) -> None:
    llm = make(emu, model).bind_tools([_add], tool_choice="any")
    full = aggregate(llm.stream("use _add on 2 and 3"))
    assert full.tool_calls[0]["name"] == "_add"
    assert full.tool_calls[0]["args"] == {"a": 2, "b": 3}
    assert all(c["index"] == 0 for c in full.tool_call_chunks)


def test_bad_json_tool_arguments_are_invalid_tool_calls(emu: Emulator) -> None:
    llm = make(emu).bind_tools([_add])
    emu.enqueue(Script(tool_calls=[{"name": "_add", "arguments": "{oops"}]))
    msg = llm.invoke("x")
    assert msg.tool_calls == [] and msg.invalid_tool_calls[0]["name"] == "_add"
    emu.enqueue(Script(tool_calls=[{"name": "_add", "arguments": "not json"}]))
    full = aggregate(llm.stream("x"))
    assert full.tool_calls == [] and full.invalid_tool_calls[0]["name"] == "_add"


def test_multimodal_parts_reach_the_wire(emu: Emulator) -> None:
    msg = HumanMessage(
        content=[
            {"type": "text", "text": "describe"},
            {"type": "image", "base64": "AAAA", "mime_type": "image/png"},
        ]
    )
    make(emu).invoke([msg])
    parts = last_model_request(emu).json["messages"][0]["content"]
    assert parts[1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}


# ----------------------------------------------------------------- reasoning & usage


@pytest.mark.parametrize("model", [KIMI, "@cf/zai-org/glm-4.7-flash"])
def test_reasoning_blocks_on_invoke_and_stream(emu: Emulator, model: str) -> None:
    # glm names the field `reasoning`; the core normalises both spellings
    llm = make(emu, model)
    msg = llm.invoke("why is the sky blue")
    assert msg.content_blocks[0]["type"] == "reasoning"
    full = aggregate(llm.stream("why is the sky blue"))
    kinds = [b["type"] for b in full.content_blocks]
    assert kinds[0] == "reasoning" and "text" in kinds
    assert full.usage_metadata is not None
    assert full.usage_metadata["output_token_details"]["reasoning"] > 0
    v1 = aggregate(make(emu, model, output_version="v1").stream("why"))
    assert [b["type"] for b in v1.content] == ["reasoning", "text"]  # type: ignore[index]


def test_stream_usage_can_be_turned_off(emu: Emulator) -> None:
    assert aggregate(make(emu, stream_usage=False).stream("hi")).usage_metadata is None
    assert aggregate(make(emu).stream("hi", stream_usage=False)).usage_metadata is None
    assert aggregate(make(emu).stream("hi")).usage_metadata is not None


# ----------------------------------------------------------------- structured output


@pytest.mark.parametrize("model", [GPT, KIMI])
@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
@pytest.mark.parametrize("schema", [Person, PersonDict, Person.model_json_schema()])
def test_structured_output_methods_and_schemas(
    emu: Emulator, model: str, method: str, schema: Any
) -> None:
    llm = make(emu, model).with_structured_output(schema, method=method)  # type: ignore[arg-type]
    out = llm.invoke("Alice is 30 years old")
    streamed = list(llm.stream("Alice is 30 years old"))
    assert streamed[-1] == out  # partial objects first, then the complete one
    for value in (out, streamed[-1]):
        if schema is Person:
            assert isinstance(value, Person) and value.age == 30
        else:
            assert value["age"] == 30 and isinstance(value["name"], str)


def test_structured_output_strict_and_include_raw(emu: Emulator) -> None:
    llm = make(emu).with_structured_output(Person, strict=True, include_raw=True)
    out = llm.invoke("Bob is 41")
    assert isinstance(out["raw"], AIMessage) and out["parsed"].age == 41
    assert out["parsing_error"] is None
    fmt = last_model_request(emu).json["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False


def test_structured_output_include_raw_captures_parsing_error(emu: Emulator) -> None:
    llm = make(emu).with_structured_output(Person, include_raw=True)
    emu.enqueue(Script(text="not json at all"))
    out = llm.invoke("x")
    assert out["parsed"] is None and out["parsing_error"] is not None


def test_json_mode_without_schema(emu: Emulator) -> None:
    out = make(emu).with_structured_output(None, method="json_mode").invoke("hello")
    assert isinstance(out, dict)
    assert last_model_request(emu).json["response_format"] == {"type": "json_object"}


def test_workers_ai_json_schema_is_never_streamed_server_side(emu: Emulator) -> None:
    # Workers AI answers 5023 to JSON schema + stream; the request must go out non-streamed
    llm = make(emu, KIMI).with_structured_output(Person)
    chunks = list(llm.stream("Carol is 25"))
    assert chunks == [Person(name=chunks[0].name, age=25)]
    body = last_model_request(emu).json
    assert "stream" not in body and body["response_format"]["type"] == "json_schema"


async def test_workers_ai_json_schema_async_stream(emu: Emulator) -> None:
    llm = make(emu, KIMI).with_structured_output(Person)
    chunks = [c async for c in llm.astream("Dan is 52")]
    assert chunks[-1].age == 52
    assert "stream" not in last_model_request(emu).json


# ----------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("fault", "lc_type", "core_type"),
    [
        (Fault(kind="status", code=3040), ModelRateLimitError, cf_aig.RateLimitError),
        (Fault(kind="status", code=4006), ModelRateLimitError, cf_aig.QuotaExceededError),
        (Fault(kind="status", code=10000), ModelAuthenticationError, cf_aig.AuthenticationError),
        (Fault(kind="status", code=7003), ModelNotFoundError, cf_aig.NotFoundError),
        (
            Fault(kind="status", code=5021, message="exceeds the context window"),
            ContextOverflowError,
            cf_aig.ContextWindowExceededError,
        ),
        (Fault(kind="status", status=408), ModelTimeoutError, cf_aig.APITimeoutError),
        (Fault(kind="success_false", code=3040), ModelRateLimitError, cf_aig.RateLimitError),
    ],
)
@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_error_mapping_per_fault(
    emu: Emulator, fault: Fault, lc_type: type, core_type: type, mode: str
) -> None:
    llm = make(emu, max_retries=0)
    emu.enqueue(fault)
    with pytest.raises(lc_type) as info:
        if mode == "invoke":
            llm.invoke("hi")
        else:
            aggregate(llm.stream("hi"))
    assert isinstance(info.value, core_type)


def test_mid_stream_error_and_disconnect(emu: Emulator) -> None:
    llm = make(emu, max_retries=0)
    emu.enqueue(Fault(kind="stream_error", after=1, code=3040))
    with pytest.raises(ModelRateLimitError):
        aggregate(llm.stream("tell me a long story please"))
    emu.enqueue(Fault(kind="disconnect", after=1))
    with pytest.raises(ModelConnectionError) as info:
        aggregate(llm.stream("tell me a long story please"))
    assert isinstance(info.value, cf_aig.StreamInterruptedError)


def test_client_timeout_maps_to_model_timeout(emu: Emulator) -> None:
    llm = make(emu, max_retries=0, timeout=0.05)
    emu.enqueue(Fault(kind="hang", seconds=1.0))
    with pytest.raises(ModelTimeoutError):
        llm.invoke("hi")


async def test_async_error_mapping(emu: Emulator) -> None:
    llm = make(emu, max_retries=0)
    emu.enqueue(Fault(kind="status", code=3040))
    with pytest.raises(ModelRateLimitError):
        await llm.ainvoke("hi")
    emu.enqueue(Fault(kind="status", code=3040))
    with pytest.raises(ModelRateLimitError):
        async for _ in llm.astream("hi"):
            pass


def test_retries_recover_from_one_rate_limit(emu: Emulator) -> None:
    llm = make(emu, max_retries=2)
    emu.enqueue(Fault(kind="status", code=3040, retry_after=0))
    assert llm.invoke("hi").text


# ----------------------------------------------------------------- transport


def test_custom_http_clients_are_used(emu: Emulator) -> None:
    seen: list[str] = []

    def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    with httpx.Client(event_hooks={"request": [hook]}) as http:
        make(emu, http_client=http, default_headers={"x-app": "demo"}).invoke("hi")
    assert seen and seen[0].endswith("/ai/v1/chat/completions")
    assert last_model_request(emu).headers["x-app"] == "demo"


async def test_custom_async_http_client(emu: Emulator) -> None:
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async with httpx.AsyncClient(event_hooks={"request": [hook]}) as http:
        await make(emu, http_async_client=http).ainvoke("hi")
    assert seen


def test_batch_and_abatch_share_one_pool(emu: Emulator) -> None:
    llm = make(emu)
    assert len(llm.batch(["a", "b", "c"])) == 3
    assert emu.stats.connections_opened <= 3


async def test_abatch_and_astream_events(emu: Emulator) -> None:
    llm = make(emu, KIMI)
    assert len(await llm.abatch(["a", "b"])) == 2
    kinds = {e["event"] async for e in llm.astream_events("hi", version="v2")}
    assert {"on_chat_model_start", "on_chat_model_stream", "on_chat_model_end"} <= kinds


class _TokenCounter(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens = 0

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens += 1


@pytest.mark.parametrize("streaming_invoke", [False, True])
def test_each_chunk_reaches_callbacks_exactly_once(emu: Emulator, streaming_invoke: bool) -> None:
    counter = _TokenCounter()
    llm = make(emu, KIMI, **({"streaming": True} if streaming_invoke else {}))
    if streaming_invoke:
        llm.invoke("hello there", config={"callbacks": [counter]})
        expected = counter.tokens
        counter.tokens = 0
    chunks = list(llm.stream("hello there", config={"callbacks": [counter]}))
    assert counter.tokens == len(chunks)
    if streaming_invoke:
        assert expected == len(chunks)


@pytest.mark.parametrize("api", ["messages", "run"])
@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_thinking_blocks_round_trip_on_messages_api(emu: Emulator, stream: bool,
                                                              api: str) -> None:
    llm = make(
        emu, "anthropic/claude-sonnet-4.5", api=api, reasoning_effort="low"
    ).bind_tools([_add])  # Anthropic: no forced tool while thinking
    first = aggregate(llm.stream("use _add on 2 and 3")) if stream else llm.invoke("use _add 2 3")
    blocks = first.additional_kwargs["thinking_blocks"]
    assert blocks[0]["type"] == "thinking" and blocks[0]["signature"]
    call = first.tool_calls[0]
    llm.invoke(
        [
            HumanMessage("use _add on 2 and 3"),
            AIMessage(content="", tool_calls=[call], additional_kwargs=first.additional_kwargs),
            ToolMessage("5", tool_call_id=call["id"]),
        ]
    )
    body = last_model_request(emu).json
    sent = (body["input"] if api == "run" else body)["messages"][1]["content"]
    assert sent[0]["type"] == "thinking" and sent[0]["signature"] == blocks[0]["signature"]


def test_thinking_blocks_are_not_sent_to_chat_completions(emu: Emulator) -> None:
    ai = AIMessage(content="x", additional_kwargs={"thinking_blocks": [{"type": "thinking"}]})
    make(emu).invoke([HumanMessage("a"), ai, HumanMessage("b")])
    assert "thinking_blocks" not in last_model_request(emu).json["messages"][1]


# ----------------------------------------------------------------- field changes


def test_fields_changed_after_first_use_take_effect(emu: Emulator) -> None:
    """Clients and body constants are built on first use; later field changes apply."""
    import asyncio

    llm = make(emu)
    llm.invoke("Hello")
    asyncio.run(llm.ainvoke("Hello"))  # both core clients and the cached params exist
    assert "cf-aig-cache-ttl" not in last_model_request(emu).headers
    llm.cache_ttl = 600
    llm.api_token = "lc-second-token-0123456789"  # type: ignore[assignment]
    llm.model, llm.api, llm.max_tokens = "anthropic/claude-sonnet-4.5", "messages", 64
    llm.invoke("Hello")
    sync_request = last_model_request(emu)
    asyncio.run(llm.ainvoke("Hello"))
    for request in (sync_request, last_model_request(emu)):
        assert request.headers["cf-aig-cache-ttl"] == "600"
        assert request.bearer_is("lc-second-token-0123456789")
        assert request.path.endswith("/ai/v1/messages")
        assert request.json["model"] == "anthropic/claude-sonnet-4.5"
        assert request.json["max_tokens"] == 64
