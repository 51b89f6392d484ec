"""CloudflareAIGateway specifics beyond the conformance suite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from li_token import TOKEN
from li_tools import ADD, MULTIPLY, Song
from llama_index.core.base.llms.types import ChatMessage, VideoBlock
from llama_index.core.prompts import PromptTemplate
from pydantic import ValidationError

import cf_aig
from cf_aig.emulator import Emulator
from llama_index_cf_aig import CloudflareAIGateway, UnsupportedContentError

Factory = Callable[..., CloudflareAIGateway]
USER = [ChatMessage(role="user", content="Hello there")]


@pytest.fixture
def make_llm(emu: Emulator) -> Factory:
    def make(**kw: Any) -> CloudflareAIGateway:
        settings: dict[str, Any] = {
            "model": "openai/gpt-5.5",
            "account_id": "acc",
            "api_token": TOKEN,
            "base_url": emu.base_url,
            **kw,
        }
        return CloudflareAIGateway(**settings)

    return make


def test_unknown_model_metadata(make_llm: Factory) -> None:
    md = make_llm(model="acme/brand-new-model").metadata
    assert md.is_chat_model and md.is_function_calling_model and md.context_window > 0
    md = make_llm(model="@cf/acme/unknown", max_tokens=77).metadata
    assert md.num_output == 77 and not md.is_function_calling_model


def test_api_field_accepts_the_four_endpoints(make_llm: Factory) -> None:
    for api in ("chat_completions", "run", "messages", "responses"):
        assert make_llm(api=api).api == api
    with pytest.raises(ValidationError):
        make_llm(api="bogus")


def test_bad_gateway_option_fails_at_construction(make_llm: Factory) -> None:
    with pytest.raises(cf_aig.ConfigurationError, match="cache_ttl"):
        make_llm(cache_ttl=5)
    with pytest.raises(cf_aig.ConfigurationError, match="metadata"):
        make_llm(gateway_metadata={str(i): i for i in range(6)})


def test_bad_per_call_option_is_an_error(make_llm: Factory, emu: Emulator) -> None:
    llm = make_llm()
    with pytest.raises(cf_aig.ConfigurationError, match="max_attempts"):
        llm.chat(USER, max_attempts=9)
    with pytest.raises(cf_aig.ConfigurationError, match="unknown gateway option"):
        llm.chat(USER, gateway_options={"nope": 1})
    assert emu.requests == []


def test_every_gateway_option_is_a_field_and_kwarg(make_llm: Factory, emu: Emulator) -> None:
    values: dict[str, Any] = {
        "cache_ttl": 60,
        "skip_cache": True,
        "cache_key": "k",
        "gateway_metadata": {"a": 1},
        "collect_log": True,
        "collect_log_payload": False,
        "request_timeout_ms": 5000,
        "max_attempts": 2,
        "retry_delay_ms": 10,
        "backoff": "linear",
        "event_id": "e1",
        "custom_cost": {"total_cost": 0.5},
        "byok_alias": "prod",
        "zdr": False,
        "no_wholesale": True,
        "otel_trace_id": "a" * 32,
        "otel_parent_span_id": "b" * 16,
        "session_affinity": "s1",
        "session_id": "chat-1",
        "turn_id": "turn-2",
        "no_session_affinity": True,
        "allowed_models": ["openai/*", "anthropic/claude-haiku-4.5"],
        "allowed_providers": ["openai", "anthropic"],
    }
    names = {"metadata" if n == "gateway_metadata" else n for n in values}
    assert names == set(cf_aig.options.OPTION_NAMES)
    make_llm(**values).chat(USER)
    as_field = {
        k: v
        for k, v in emu.requests[-1].headers.items()
        if k.startswith("cf-aig-") or k == "x-session-affinity"
    }
    make_llm().chat(USER, **values)
    as_kwarg = {
        k: v
        for k, v in emu.requests[-1].headers.items()
        if k.startswith("cf-aig-") or k == "x-session-affinity"
    }
    expected = cf_aig.GatewayOptions.from_mapping(
        {("metadata" if k == "gateway_metadata" else k): v for k, v in values.items()}
    ).headers()
    for key, value in expected.items():
        assert as_field[key] == value and as_kwarg[key] == value


def test_one_core_client_per_instance_and_custom_http_clients(
    make_llm: Factory, emu: Emulator
) -> None:
    seen: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda r: seen.append(r.url.path)]})
    llm = make_llm(http_client=http, default_headers={"x-team": "search"})
    assert llm.client is llm.client
    llm.chat(USER)
    list(llm.stream_chat(USER))
    assert len(seen) == 2 and emu.requests[-1].headers["x-team"] == "search"
    assert "http_client" not in llm.to_dict()
    http.close()


async def test_custom_async_http_client(make_llm: Factory) -> None:
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async with httpx.AsyncClient(event_hooks={"request": [hook]}) as http:
        llm = make_llm(async_http_client=http)
        await llm.achat(USER)
        gen = await llm.astream_chat(USER)
        assert [r async for r in gen]
    assert len(seen) == 2


async def test_async_stream_closed_early(make_llm: Factory) -> None:
    gen = await make_llm().astream_chat(USER)
    first = await gen.__anext__()
    assert first.message.role.value == "assistant"
    await gen.aclose()
    sync = make_llm().stream_chat(USER)
    next(sync)
    sync.close()


def test_unsupported_block_is_a_clear_error(make_llm: Factory, emu: Emulator) -> None:
    msg = ChatMessage(role="user", blocks=[VideoBlock(video=b"abc")])
    with pytest.raises(UnsupportedContentError, match="VideoBlock"):
        make_llm().chat([msg])
    assert emu.requests == []


def test_structured_output_auto_follows_the_profile(make_llm: Factory, emu: Emulator) -> None:
    prompt = PromptTemplate("Write a song called {t} lasting 180 seconds")
    make_llm().structured_predict(Song, prompt, t="Dawn")
    assert emu.requests[-1].json["response_format"]["type"] == "json_schema"
    vision = make_llm(model="@cf/meta/llama-3.2-11b-vision-instruct", api="run")
    assert not vision.profile.json_schema
    assert vision._native_structured() is False
    llm = make_llm(pydantic_program_mode="llm")
    assert llm._native_structured() is False


def test_stream_structured_on_workers_ai_is_not_streamed_server_side(
    make_llm: Factory, emu: Emulator
) -> None:
    llm = make_llm(model="@cf/moonshotai/kimi-k2.6", api="run", structured_output="json_schema")
    prompt = PromptTemplate("Write a song called {t} lasting 180 seconds")
    parts = list(llm.stream_structured_predict(Song, prompt, t="Dawn"))
    assert parts[-1].length_seconds == 180
    assert "stream" not in emu.requests[-1].json  # error 5023 avoided by the core


def test_classic_model_tool_choice(make_llm: Factory, emu: Emulator) -> None:
    llm = make_llm(model="@cf/meta/llama-3.1-8b-instruct-fp8", api="run")
    response = llm.chat_with_tools([ADD], user_msg="add 1 and 2", tool_required=True)
    assert llm.get_tool_calls_from_response(response)[0].tool_kwargs == {"a": 1, "b": 2}
    assert "tool_choice" not in emu.requests[-1].json  # cannot be forced: sent as auto
    # The core's relax-or-refuse rule: the only tool offered can be relaxed to auto...
    llm.chat_with_tools([ADD], user_msg="add 1 and 2", tool_choice="add")
    assert "tool_choice" not in emu.requests[-1].json
    # ...one named tool among several cannot, and is refused before sending.
    sent = len(emu.requests)
    with pytest.raises(cf_aig.ConfigurationError, match="cannot be forced to call 'add'"):
        llm.chat_with_tools([ADD, MULTIPLY], user_msg="add 1 and 2", tool_choice="add")
    assert len(emu.requests) == sent
    song = llm.structured_predict(
        Song, PromptTemplate("Write a song called {t} lasting 180 seconds"), t="Dawn"
    )
    assert song.length_seconds == 180


def test_additional_kwargs_and_extra_body(make_llm: Factory, emu: Emulator) -> None:
    llm = make_llm(additional_kwargs={"user": "u1"})
    llm.chat(USER, extra_body={"metadata": {"k": "v"}}, n=1)
    body = emu.requests[-1].json
    assert body["user"] == "u1" and body["metadata"] == {"k": "v"} and body["n"] == 1


def test_seed_and_stop_on_chat_completions(make_llm: Factory, emu: Emulator) -> None:
    make_llm(seed=7, stop=["zzz"], frequency_penalty=0.1, presence_penalty=0.2).chat(USER)
    body = emu.requests[-1].json
    assert body["seed"] == 7 and body["stop"] == ["zzz"]
    assert body["frequency_penalty"] == 0.1 and body["presence_penalty"] == 0.2


def test_fields_changed_after_first_use_take_effect(make_llm: Factory, emu: Emulator) -> None:
    """Clients are built on first use; a field set afterwards must not be ignored."""
    import asyncio

    llm = make_llm()
    llm.chat(USER)
    asyncio.run(llm.achat(USER))  # both core clients now exist
    assert "cf-aig-cache-ttl" not in emu.requests[-1].headers
    llm.cache_ttl = 600
    llm.api_token = "li-second-token-0123456789"  # type: ignore[assignment]
    llm.model, llm.api, llm.max_tokens = "anthropic/claude-sonnet-4.5", "messages", 64
    llm.chat(USER)
    sync_request = emu.requests[-1]
    asyncio.run(llm.achat(USER))
    for request in (sync_request, emu.requests[-1]):
        assert request.headers["cf-aig-cache-ttl"] == "600"
        assert request.bearer_is("li-second-token-0123456789")
        assert request.path.endswith("/ai/v1/messages")
        assert request.json["model"] == "anthropic/claude-sonnet-4.5"
        assert request.json["max_tokens"] == 64


@pytest.mark.parametrize("stream", [False, True])
def test_signed_thinking_goes_back_on_anthropic_wire(
    make_llm: Factory, emu: Emulator, stream: bool
) -> None:
    """The core policy's round trip: signed thinking returns with the tool result, as
    Anthropic requires (the emulator checks the signature), from invoke and stream alike."""
    from llama_index.core.base.llms.types import ThinkingBlock

    llm = make_llm(model="anthropic/claude-sonnet-4.5", api="messages", reasoning_effort="low")
    ask = ChatMessage(role="user", content="add 1 and 2")
    if stream:
        first = list(llm.stream_chat_with_tools([ADD], chat_history=[ask]))[-1]
    else:
        first = llm.chat_with_tools([ADD], chat_history=[ask])
    thinking = [b for b in first.message.blocks if isinstance(b, ThinkingBlock)]
    assert thinking and thinking[0].additional_information.get("signature")
    call = llm.get_tool_calls_from_response(first)[0]
    result = ChatMessage(role="tool", content="3", additional_kwargs={"tool_call_id": call.tool_id})
    llm.chat_with_tools([ADD], chat_history=[ask, first.message, result])
    sent = emu.requests[-1].json["messages"][1]["content"][0]
    assert sent == {"type": "thinking", "thinking": thinking[0].content,
                    "signature": thinking[0].additional_information["signature"]}
