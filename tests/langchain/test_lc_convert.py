"""Pure converters, error mapping and class wiring; no socket is opened."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAuthenticationError,
    ModelError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.load import dumpd, load
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from pydantic import SecretStr

import cf_aig
from cf_aig import GatewayInfo
from langchain_cf_aig import ChatCloudflareAIGateway, CloudflareAIGatewayEmbeddings
from langchain_cf_aig._convert import (
    ChunkConverter,
    completion_to_result,
    message_to_dict,
    parse_tool_calls,
    usage_to_metadata,
)
from langchain_cf_aig.errors import to_langchain_error

pytestmark = pytest.mark.disable_socket

P = {"account_id": "acc", "api_token": "tok", "base_url": "http://127.0.0.1:9/client/v4"}


# ----------------------------------------------------------------- messages → wire


def test_assistant_tool_turn_sends_empty_string_content() -> None:
    msg = AIMessage(content="", tool_calls=[{"name": "add", "args": {"a": 1}, "id": "c1"}])
    out = message_to_dict(msg)
    assert out["content"] == ""
    assert out["tool_calls"] == [
        {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}
    ]


def test_assistant_list_content_keeps_text_only() -> None:
    msg = AIMessage(
        content=[
            {"type": "reasoning", "reasoning": "hmm"},
            {"type": "text", "text": "Hi"},
            {"type": "tool_use", "id": "x", "name": "f", "input": {}},
        ]
    )
    assert message_to_dict(msg)["content"] == "Hi"


def test_tool_message_list_content_becomes_string() -> None:
    msg = ToolMessage(
        content=[{"type": "text", "text": "a"}, {"type": "json", "v": 1}], tool_call_id="c1"
    )
    out = message_to_dict(msg)
    assert out == {"role": "tool", "tool_call_id": "c1", "content": 'a{"type": "json", "v": 1}'}


def test_roles_system_developer_name() -> None:
    assert message_to_dict(SystemMessage("s")) == {"role": "system", "content": "s"}
    dev = SystemMessage("d", additional_kwargs={"__openai_role__": "developer"})
    assert message_to_dict(dev)["role"] == "developer"
    assert message_to_dict(ChatMessage(role="developer", content="d"))["role"] == "developer"
    assert message_to_dict(HumanMessage("h", name="bob"))["name"] == "bob"
    with pytest.raises(ValueError):
        message_to_dict(ChatMessage(role="wizard", content="x"))


def test_multimodal_blocks() -> None:
    msg = HumanMessage(
        content=[
            {"type": "text", "text": "see"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
            {"type": "image", "base64": "BBB", "mime_type": "image/png"},
            {"type": "image", "url": "https://example.com/a.png"},
            {"type": "file", "base64": "CCC", "mime_type": "application/pdf", "filename": "a.pdf"},
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/jpeg", "data": "D"},
            },
        ]
    )
    parts = message_to_dict(msg)["content"]
    assert parts[0] == {"type": "text", "text": "see"}
    assert parts[1]["image_url"]["url"] == "data:image/png;base64,AAA"
    assert parts[2]["image_url"]["url"] == "data:image/png;base64,BBB"
    assert parts[3]["image_url"]["url"] == "https://example.com/a.png"
    assert parts[4] == {
        "type": "file",
        "file": {"file_data": "data:application/pdf;base64,CCC", "filename": "a.pdf"},
    }
    assert parts[5]["image_url"]["url"] == "data:image/jpeg;base64,D"


def test_text_only_blocks_collapse_to_string() -> None:
    msg = HumanMessage(content=[{"type": "text", "text": "a"}, "b"])
    assert message_to_dict(msg)["content"] == "ab"


# ----------------------------------------------------------------- wire → messages


def test_bad_tool_arguments_become_invalid_tool_calls() -> None:
    valid, invalid = parse_tool_calls(
        [
            {"id": "1", "function": {"name": "f", "arguments": '{"x": 1}'}},
            {"id": "2", "function": {"name": "g", "arguments": "{not json"}},
            {"id": "3", "function": {"name": "h", "arguments": "[1]"}},
            {"id": "4", "function": {"name": "k", "arguments": ""}},
        ]
    )
    assert [c["name"] for c in valid] == ["f", "k"]
    assert valid[1]["args"] == {}
    assert [c["name"] for c in invalid] == ["g", "h"]
    assert invalid[0]["args"] == "{not json"


def test_usage_details() -> None:
    meta = usage_to_metadata(
        {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 4, "cache_creation_tokens": 3},
            "completion_tokens_details": {"reasoning_tokens": 2},
        }
    )
    assert meta == {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
        "input_token_details": {"cache_read": 4, "cache_creation": 3},
        "output_token_details": {"reasoning": 2},
    }


def test_completion_to_result_metadata_and_reasoning() -> None:
    info = GatewayInfo(log_id="L1", cache_status="MISS", step=0, model="m", provider="openai")
    completion = {
        "id": "cmpl-1",
        "model": "openai/gpt-5.5",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi", "reasoning_content": "think"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }
    msg = completion_to_result(completion, info).generations[0].message
    assert msg.response_metadata["gateway"]["log_id"] == "L1"
    assert msg.response_metadata["finish_reason"] == "stop"
    assert msg.response_metadata["model_name"] == "openai/gpt-5.5"
    assert msg.response_metadata["model_provider"] == "cloudflare"
    assert msg.content_blocks[0] == {"type": "reasoning", "reasoning": "think"}
    assert isinstance(msg, AIMessage) and msg.usage_metadata is not None


def _chunks(deltas: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> AIMessageChunk:
    conv = ChunkConverter(GatewayInfo(log_id="L"))
    full: Any = None
    for d in deltas:
        out = conv.feed({"id": "c", "model": "m", "choices": [{"index": 0, "delta": d}]})
        if out is not None:
            full = out.message if full is None else full + out.message
    if usage:
        assert conv.feed({"id": "c", "choices": [], "usage": usage}) is None
    last = conv.finish().message
    full = last if full is None else full + last
    assert isinstance(full, AIMessageChunk)
    return full


def test_stream_tool_call_chunks_aggregate_by_index() -> None:
    full = _chunks(
        [
            {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": ""}}]},
            {"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g", "arguments": "{"}}]},
            {"tool_calls": [{"index": 0, "function": {"arguments": '{"x": 1}'}}]},
            {"tool_calls": [{"index": 1, "function": {"arguments": '"y": 2}'}}]},
        ],
        usage={"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    )
    assert [(c["name"], c["args"], c["id"]) for c in full.tool_calls] == [
        ("f", {"x": 1}, "a"),
        ("g", {"y": 2}, "b"),
    ]
    assert full.usage_metadata is not None and full.usage_metadata["total_tokens"] == 7
    assert full.response_metadata["gateway"] == {"log_id": "L"}


def test_stream_bad_json_is_invalid_tool_call_not_exception() -> None:
    full = _chunks(
        [
            {
                "tool_calls": [
                    {"index": 0, "id": "a", "function": {"name": "f", "arguments": "not json"}}
                ]
            }
        ]
    )
    assert full.tool_calls == []
    assert full.invalid_tool_calls[0]["name"] == "f"


def test_stream_reasoning_and_metadata_only_once() -> None:
    full = _chunks([{"reasoning_content": "th"}, {"reasoning_content": "ink"}, {"content": "A"}])
    assert full.content_blocks[0] == {"type": "reasoning", "reasoning": "think"}
    assert full.response_metadata["model_name"] == "m"
    assert full.response_metadata["id"] == "c"


# ----------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("core_err", "lc_type"),
    [
        (cf_aig.RateLimitError("r", status=429), ModelRateLimitError),
        (cf_aig.QuotaExceededError("q", status=429), ModelRateLimitError),
        (cf_aig.ContextWindowExceededError("c", status=413), ContextOverflowError),
        (cf_aig.AuthenticationError("a", status=401), ModelAuthenticationError),
        (cf_aig.APITimeoutError("t"), ModelTimeoutError),
        (cf_aig.GuardrailBlockedError("g", status=424), ModelError),
    ],
)
def test_error_mapping_keeps_both_parents(core_err: cf_aig.CfAigError, lc_type: type) -> None:
    err = to_langchain_error(core_err)
    assert isinstance(err, lc_type)
    assert isinstance(err, type(core_err))
    assert isinstance(err, cf_aig.CfAigError)
    assert err.status == core_err.status and str(err) == str(core_err)


def test_every_core_error_class_survives_the_mapping() -> None:
    """A LangChain user catching any cf_aig error class (RedirectError, BatchTimeoutError...)
    catches it from the adapter too: no core class falls back to a less specific parent."""
    import inspect

    import cf_aig.errors as core_errors
    classes = [c for c in vars(core_errors).values()
               if inspect.isclass(c) and issubclass(c, cf_aig.CfAigError)]
    assert cf_aig.RedirectError in classes and cf_aig.BatchTimeoutError in classes
    for cls in classes:
        err = to_langchain_error(BaseException.__new__(cls))
        assert type(err).__mro__[1] is cls, (cls.__name__, type(err).__mro__[1].__name__)
        assert isinstance(err, ModelError)


def test_quota_is_not_retryable() -> None:
    err = to_langchain_error(cf_aig.QuotaExceededError("q"))
    assert isinstance(err, ModelError) and err.is_retryable is False


# ----------------------------------------------------------------- class wiring


def test_unknown_constructor_argument_is_an_error() -> None:
    with pytest.raises(ValueError, match="frobnicate"):
        ChatCloudflareAIGateway(model="openai/gpt-5.5", frobnicate=1, **P)
    with pytest.raises(ValueError):
        CloudflareAIGatewayEmbeddings(model="@cf/baai/bge-m3", frobnicate=1, **P)


def test_missing_credentials_fail_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    monkeypatch.delenv("CLOUDFLARE_ACCOUNT_ID", raising=False)
    with pytest.raises(ValueError, match="missing Cloudflare credentials"):
        ChatCloudflareAIGateway(model="openai/gpt-5.5")


def test_invalid_gateway_option_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        ChatCloudflareAIGateway(model="openai/gpt-5.5", max_attempts=9, **P)


def test_api_key_alias_and_secret() -> None:
    llm = ChatCloudflareAIGateway(
        model="openai/gpt-5.5", account_id="a", api_key="sekret", base_url=P["base_url"]
    )
    assert isinstance(llm.api_token, SecretStr)
    assert "sekret" not in repr(llm)
    assert llm.lc_secrets == {"api_token": "CLOUDFLARE_API_TOKEN",
                              "provider_api_key": "CLOUDFLARE_AI_GATEWAY_PROVIDER_KEY"}


def test_ls_params_follow_per_call_model() -> None:
    llm = ChatCloudflareAIGateway(model="openai/gpt-5.5", temperature=0.2, max_tokens=9, **P)
    params = llm._get_ls_params(model="openai/gpt-5-mini", stop=["x"])
    assert params["ls_model_name"] == "openai/gpt-5-mini"
    assert params["ls_provider"] == "cloudflare"
    assert params["ls_temperature"] == 0.2 and params["ls_max_tokens"] == 9
    assert params["ls_stop"] == ["x"]


def test_profile_from_core() -> None:
    llm = ChatCloudflareAIGateway(model="@cf/moonshotai/kimi-k2.6", api="run", **P)
    assert llm.profile is not None
    assert llm.profile["max_input_tokens"] == 262_144
    assert llm.profile["reasoning_output"] is True
    assert llm.core_profile.streaming_json_schema is False


def test_serialization_round_trip_with_allowlist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "tok-env")
    llm = ChatCloudflareAIGateway(model="openai/gpt-5.5", cache_ttl=600, **P)
    data = dumpd(llm)
    assert "tok" not in json.dumps(data["kwargs"]["api_token"])
    back = load(
        data,
        allowed_objects=[ChatCloudflareAIGateway],
        valid_namespaces=["langchain_cf_aig"],
        secrets_from_env=True,
    )
    assert isinstance(back, ChatCloudflareAIGateway)
    assert back.cache_ttl == 600 and back.api_token is not None
    assert back.api_token.get_secret_value() == "tok-env"


def test_unknown_per_call_kwarg_is_an_error_and_nothing_is_sent() -> None:
    llm = ChatCloudflareAIGateway(model="openai/gpt-5.5", **P)
    with pytest.raises(ValueError, match="bogus"):
        llm.invoke("hi", bogus=1)


def test_changing_a_field_rebuilds_cached_state() -> None:
    llm = ChatCloudflareAIGateway(model="openai/gpt-5.5", temperature=0.1, **P)
    assert llm._base_params()["temperature"] == 0.1
    client = llm.client
    assert llm.client is client  # created once
    llm.temperature = 0.7
    assert llm._base_params()["temperature"] == 0.7
    assert llm.client is not client


def test_sockets_really_are_disabled_here() -> None:
    import socket

    from pytest_socket import SocketBlockedError

    with pytest.raises(SocketBlockedError):
        socket.socket()
