"""The ``/ai/v1/messages`` dialect: build, parse, event stream (pure; no sockets)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cf_aig.accumulate import ChunkAccumulator
from cf_aig.dialects import get_dialect
from cf_aig.dialects.anthropic import ANTHROPIC, MessagesStream
from cf_aig.errors import (
    BadRequestError,
    CfAigError,
    ConfigurationError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    StreamInterruptedError,
)
from cf_aig.sse import SSEDecoder

MODEL = "anthropic/claude-sonnet-4.5"
SUMMARY = Path(__file__).resolve().parents[1] / "data" / "anthropic-messages-wire-summary.json"


def _check_wire(body: dict[str, Any]) -> None:
    """Check a built body against the wire summary's required and optional fields."""
    spec = json.loads(SUMMARY.read_text())["request"]
    required = spec["required"]
    optional = {o.split()[0] for o in spec["optional"]}
    for key in required:
        assert key in body, key
    assert set(body) <= set(required) | optional, set(body) - set(required) - optional
    assert isinstance(body["max_tokens"], int)
    assert "system" not in body or isinstance(body["system"], (str, list))
    roles = [m["role"] for m in body["messages"]]
    assert all(r in ("user", "assistant") for r in roles)
    assert all(a != b for a, b in itertools.pairwise(roles)), "same-role turns must be merged"


def req(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}
    base.update(kw)
    return base


# ------------------------------------------------------------------------- dialect


def test_registered_and_endpoint() -> None:
    d = get_dialect("messages")
    assert d is ANTHROPIC and d.api == "messages"
    assert d.endpoint(MODEL) == "/ai/v1/messages"


# ------------------------------------------------------------------------- build


def test_reference_request_round() -> None:
    body = ANTHROPIC.build(
        {
            "model": MODEL,
            "max_completion_tokens": 1024,
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "toolu_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
            ],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "description": "...",
                        "parameters": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}},
                        },
                    },
                }
            ],
            "tool_choice": "auto",
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        stream=True,
    )
    _check_wire(body)
    assert body == {
        "model": MODEL,
        "max_tokens": 1024,
        "system": "You are terse.",
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    }
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"}],
            },
        ],
        "tools": [
            {
                "name": "get_weather",
                "description": "...",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            }
        ],
        "tool_choice": {"type": "auto"},
        "stream": True,
    }
    assert "stream" not in ANTHROPIC.build(req(max_tokens=5, stream=True), stream=False)


def test_system_messages_joined_as_string() -> None:
    body = ANTHROPIC.build(
        req(
            messages=[
                {"role": "system", "content": "A."},
                {"role": "developer", "content": [{"type": "text", "text": "B."}]},
                {"role": "user", "content": "Hi"},
                {"role": "system", "content": "C."},
            ]
        ),
        stream=False,
    )
    assert body["system"] == "A.\n\nB.\n\nC."
    _check_wire(body)


def test_system_with_cache_control_is_refused_with_the_alternative() -> None:
    cc = {"type": "ephemeral"}
    with pytest.raises(ConfigurationError, match="first user content block"):
        ANTHROPIC.build(req(messages=[
            {"role": "system", "content": [{"type": "text", "text": "Long", "cache_control": cc}]},
            {"role": "user", "content": "Hi"}]), stream=False)


def test_content_blocks() -> None:
    body = ANTHROPIC.build(
        req(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Look", "cache_control": {"type": "ephemeral"}},
                        {
                            "type": "image_url",
                            "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="},
                        },
                        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                        {
                            "type": "file",
                            "file": {
                                "file_data": "data:application/pdf;base64,JVBERi0=",
                                "filename": "a.pdf",
                            },
                        },
                        {"type": "file", "file": {"file_data": "data:text/plain;base64,aGVsbG8="}},
                    ],
                }
            ]
        ),
        stream=False,
    )
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "Look", "cache_control": {"type": "ephemeral"}},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        },
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
            "title": "a.pdf",
        },
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "hello"},
        },
    ]


@pytest.mark.parametrize(
    "part",
    [
        {"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}},
        {"type": "image_url", "image_url": {"url": "ftp://x"}},
        {"type": "image_url", "image_url": {"url": "data:image/png,notbase64"}},
        {"type": "file", "file": {"file_id": "file_1"}},
        {"type": "file", "file": {"file_data": "data:image/png;base64,AAAA"}},
    ],
)
def test_unsupported_parts_raise(part: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        ANTHROPIC.build(req(messages=[{"role": "user", "content": [part]}]), stream=False)


def test_tool_results_and_same_role_turns_merged() -> None:
    calls = [
        {"id": f"t{i}", "type": "function", "function": {"name": "f", "arguments": ""}}
        for i in range(2)
    ]
    body = ANTHROPIC.build(
        req(
            messages=[
                {"role": "user", "content": "a"},
                {"role": "user", "content": "b"},
                {"role": "assistant", "content": "calling", "tool_calls": calls},
                {"role": "tool", "tool_call_id": "t0", "content": "r0"},
                {"role": "tool", "tool_call_id": "t1", "content": [{"type": "text", "text": "r1"}]},
                {"role": "user", "content": "thanks"},
            ]
        ),
        stream=False,
    )
    _check_wire(body)
    msgs = body["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"]
    assert msgs[0]["content"] == [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert msgs[1]["content"][1] == {"type": "tool_use", "id": "t0", "name": "f", "input": {}}
    assert msgs[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "t0", "content": "r0"},
        {"type": "tool_result", "tool_use_id": "t1", "content": "r1"},
        {"type": "text", "text": "thanks"},
    ]


def test_empty_messages_skipped_and_neighbours_merged() -> None:
    body = ANTHROPIC.build(
        req(
            messages=[
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": ""},
                {"role": "user", "content": "b"},
            ]
        ),
        stream=False,
    )
    _check_wire(body)
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]


def test_thinking_blocks_first_in_assistant() -> None:
    blocks = [
        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
        {"type": "redacted_thinking", "data": "xx"},
    ]
    body = ANTHROPIC.build(
        req(
            messages=[
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": "a", "thinking_blocks": blocks},
                {"role": "user", "content": "q2"},
            ]
        ),
        stream=False,
    )
    assert body["messages"][1]["content"] == [*blocks, {"type": "text", "text": "a"}]


def test_bad_tool_arguments_raise() -> None:
    call = {"id": "t", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        ANTHROPIC.build(
            req(messages=[{"role": "assistant", "content": None, "tool_calls": [call]}]),
            stream=False,
        )


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        ({"type": "function", "function": {"name": "f"}}, {"type": "tool", "name": "f"}),
        ({"type": "any"}, {"type": "any"}),
    ],
)
def test_tool_choice(choice: Any, expected: dict[str, Any]) -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    body = ANTHROPIC.build(req(tools=tools, tool_choice=choice), stream=False)
    assert body["tool_choice"] == expected
    assert body["tools"] == [{"name": "f", "input_schema": {"type": "object", "properties": {}}}]


def test_parallel_tool_calls_false() -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    body = ANTHROPIC.build(req(tools=tools, parallel_tool_calls=False), stream=False)
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    body = ANTHROPIC.build(
        req(tools=tools, tool_choice="required", parallel_tool_calls=False), stream=False
    )
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}


def test_max_tokens_defaults_and_thinking() -> None:
    assert ANTHROPIC.build(req(), stream=False)["max_tokens"] == 8192
    assert (
        ANTHROPIC.build(req(max_tokens=10, max_completion_tokens=20), stream=False)["max_tokens"]
        == 20
    )
    unknown = ANTHROPIC.build(req(model="@cf/meta/llama-3.1-8b-instruct"), stream=False)
    assert unknown["max_tokens"] == 2048  # capped by the profile
    body = ANTHROPIC.build(req(reasoning_effort="medium"), stream=False)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 8192}
    assert body["max_tokens"] == 16384
    small = ANTHROPIC.build(req(reasoning_effort="high", max_tokens=4000), stream=False)
    assert small["thinking"]["budget_tokens"] == 2000
    assert "thinking" not in ANTHROPIC.build(req(reasoning_effort="none"), stream=False)
    with pytest.raises(ConfigurationError, match="max_tokens"):
        ANTHROPIC.build(req(reasoning_effort="low", max_tokens=1000), stream=False)
    with pytest.raises(ConfigurationError):
        ANTHROPIC.build(req(reasoning_effort="bogus"), stream=False)


def test_passthroughs() -> None:
    body = ANTHROPIC.build(
        req(stop="END", temperature=0.2, top_p=0.9, user="u1", top_k=5, seed=None),
        stream=False,
    )
    _check_wire(body)
    assert body["stop_sequences"] == ["END"]
    assert (body["temperature"], body["top_p"], body["top_k"]) == (0.2, 0.9, 5)
    assert body["metadata"] == {"user_id": "u1"}


@pytest.mark.parametrize("key", ["seed", "frequency_penalty", "presence_penalty", "logit_bias"])
def test_unknown_keys_raise_naming_them(key: str) -> None:
    with pytest.raises(ConfigurationError, match=key):
        ANTHROPIC.build(req(**{key: 1}), stream=False)


def test_response_format() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}}
    cfg = {"format": {"type": "json_schema", "schema": {"type": "object"}}}
    body = ANTHROPIC.build(req(response_format=fmt), stream=False)  # native structured output
    assert body["output_config"] == cfg and "response_format" not in body
    body = ANTHROPIC.build(req(response_format=fmt, output_config={"effort": "low"}),
                           stream=False)
    assert body["output_config"] == {"effort": "low", **cfg}
    body = ANTHROPIC.build(req(output_config=cfg), stream=False)
    assert body["output_config"] == cfg and "response_format" not in body
    with pytest.raises(ConfigurationError, match="not both"):
        ANTHROPIC.build(req(response_format=fmt, output_config=cfg), stream=False)
    with pytest.raises(ConfigurationError, match=r"json_object.*api='chat_completions'"):
        ANTHROPIC.build(req(response_format={"type": "json_object"}), stream=False)
    with pytest.raises(ConfigurationError, match="metadata"):
        ANTHROPIC.build(req(metadata={"tag": "x"}), stream=False)


# ------------------------------------------------------------------------- parse

REFERENCE_RESPONSE = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [
        {"type": "thinking", "thinking": "Weather needs a tool.", "signature": "EqQB"},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 20,
        "output_tokens": 40,
        "cache_creation_input_tokens": 3,
        "cache_read_input_tokens": 7,
    },
    "gatewayMetadata": {"cacheStatus": "MISS"},
}


def test_parse_reference() -> None:
    done = ANTHROPIC.parse(json.loads(json.dumps(REFERENCE_RESPONSE)))
    assert done["id"] == "msg_01" and done["model"] == "claude-sonnet-4-5"
    choice = done["choices"][0]
    msg = choice["message"]
    assert choice["finish_reason"] == "tool_calls"
    assert msg["content"] == "Let me check."
    assert msg["reasoning_content"] == "Weather needs a tool."
    assert msg["thinking_blocks"] == [REFERENCE_RESPONSE["content"][0]]  # type: ignore[index]
    assert msg["tool_calls"] == [
        {
            "id": "toolu_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ]
    assert done["usage"] == {
        "prompt_tokens": 30,
        "completion_tokens": 40,
        "total_tokens": 70,
        "prompt_tokens_details": {"cached_tokens": 7, "cache_creation_tokens": 3},
    }


@pytest.mark.parametrize(
    ("stop", "reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("brand_new", "stop"),
    ],
)
def test_stop_reasons(stop: str, reason: str) -> None:
    body = {"id": "m", "content": [{"type": "text", "text": "x"}], "stop_reason": stop}
    assert ANTHROPIC.parse(body)["choices"][0]["finish_reason"] == reason


def test_parse_redacted_thinking_and_round_trip() -> None:
    body = {
        "id": "m",
        "content": [{"type": "redacted_thinking", "data": "ZZ"}, {"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
    }
    msg = ANTHROPIC.parse(body)["choices"][0]["message"]
    assert msg["thinking_blocks"] == [{"type": "redacted_thinking", "data": "ZZ"}]
    assert "reasoning_content" not in msg
    again = ANTHROPIC.build(
        req(messages=[{"role": "user", "content": "q"}, dict(msg)]), stream=False
    )
    assert again["messages"][1]["content"][0] == {"type": "redacted_thinking", "data": "ZZ"}


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        (
            {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": "bad"},
                "request_id": "req_1",
            },
            BadRequestError,
        ),
        (
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            ServerError,
        ),
        ({"success": False, "errors": [{"code": 3040, "message": "busy"}]}, RateLimitError),
        (
            {
                "success": False,
                "error": [{"code": 2021, "message": "credits"}],
                "name": "AiGatewayError",
                "httpCode": 402,
                "internalCode": 2021,
            },
            CfAigError,
        ),
    ],
)
def test_parse_error_bodies(body: dict[str, Any], cls: type[Exception]) -> None:
    with pytest.raises(cls):
        ANTHROPIC.parse(body)


def test_parse_garbage_is_decode_error() -> None:
    with pytest.raises(ResponseDecodeError):
        ANTHROPIC.parse({"hello": "world"})


# ------------------------------------------------------------------------- stream


def sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def stream_events(
    text: str = "It is 18C.", args: str = '{"city": "Paris"}', pieces: int = 4
) -> list[dict[str, Any]]:
    """Thinking with signature, text, one tool call with args split in ``pieces``."""
    step = max(1, len(args) // pieces)
    frags = [args[i : i + step] for i in range(0, len(args), step)]
    return [
        {
            "type": "message_start",
            "message": {
                "id": "msg_01",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5",
                "content": [],
                "stop_reason": None,
                "usage": {
                    "input_tokens": 20,
                    "output_tokens": 1,
                    "cache_read_input_tokens": 7,
                    "cache_creation_input_tokens": 3,
                },
            },
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Weather needs "},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "a tool."},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "EqQB"},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        *[
            {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": c}}
            for c in (text[:3], text[3:])
        ],
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {
                "type": "citations_delta",
                "citation": {"type": "char_location", "cited_text": "x"},
            },
        },
        {"type": "content_block_stop", "index": 1},
        {"type": "ping"},
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get_weather",
                "input": {},
            },
        },
        *[
            {
                "type": "content_block_delta",
                "index": 2,
                "delta": {"type": "input_json_delta", "partial_json": f},
            }
            for f in frags
        ],
        {"type": "content_block_stop", "index": 2},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 45},
        },
        {"type": "message_stop"},
    ]


EQUIVALENT = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [
        {"type": "thinking", "thinking": "Weather needs a tool.", "signature": "EqQB"},
        {"type": "text", "text": "It is 18C."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
    ],
    "stop_reason": "tool_use",
    "usage": {
        "input_tokens": 20,
        "output_tokens": 45,
        "cache_read_input_tokens": 7,
        "cache_creation_input_tokens": 3,
    },
}


def run(raw: bytes, split: list[int] | None = None, model: str = MODEL) -> list[Any]:
    dec, state, out = SSEDecoder(), ANTHROPIC.stream_state(model), []
    cuts = [0, *sorted(split or []), len(raw)]
    for a, b in itertools.pairwise(cuts):
        for name, data in dec.feed(raw[a:b]):
            out.extend(state.event(name, data))
    for name, data in dec.flush():
        out.extend(state.event(name, data))
    out.extend(state.finish())
    return out


def normalised(chunks: list[Any]) -> list[Any]:
    return [{k: v for k, v in c.items() if k != "created"} for c in chunks]


def assert_equivalent(chunks: list[Any], body: dict[str, Any]) -> None:
    acc = ChunkAccumulator()
    for c in chunks:
        acc.add(c)
    got, want = acc.completion(), ANTHROPIC.parse(body)
    assert got["id"] == want["id"] and got["model"] == want["model"]
    gm, wm = got["choices"][0]["message"], want["choices"][0]["message"]
    for key in ("content", "reasoning_content", "thinking_blocks"):
        assert gm.get(key) == wm.get(key), key
    assert [
        (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in gm.get("tool_calls", [])
    ] == [
        (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in wm.get("tool_calls", [])
    ]
    assert got["choices"][0]["finish_reason"] == want["choices"][0]["finish_reason"]
    assert got["usage"] == want["usage"]


def test_stream_full() -> None:
    chunks = run(sse(stream_events()))
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert {"reasoning_content": "Weather needs "} in deltas
    assert {
        "thinking_blocks": [
            {"type": "thinking", "thinking": "Weather needs a tool.", "signature": "EqQB"}
        ]
    } in deltas
    first_call = next(d for d in deltas if "tool_calls" in d)["tool_calls"][0]
    assert first_call == {
        "index": 0,
        "id": "toolu_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 45
    assert sum(1 for c in chunks if c.get("usage")) == 1
    assert all(c["id"] == "msg_01" for c in chunks)
    assert_equivalent(chunks, EQUIVALENT)


def test_stream_many_tool_calls_have_own_indices() -> None:
    events = [
        {"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}},
        {"type": "content_block_stop", "index": 0},
    ]
    for b in (1, 2):
        events += [
            {
                "type": "content_block_start",
                "index": b,
                "content_block": {"type": "tool_use", "id": f"t{b}", "name": "f", "input": {}},
            },
            *[
                {
                    "type": "content_block_delta",
                    "index": b,
                    "delta": {"type": "input_json_delta", "partial_json": ch},
                }
                for ch in json.dumps({"n": b})
            ],
            {"type": "content_block_stop", "index": b},
        ]
    events += [
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    ]
    acc = ChunkAccumulator()
    for c in run(sse(events)):
        acc.add(c)
    calls = acc.completion()["choices"][0]["message"]["tool_calls"]
    assert [(c["id"], json.loads(c["function"]["arguments"])) for c in calls] == [
        ("t1", {"n": 1}),
        ("t2", {"n": 2}),
    ]


def test_stream_error_mid_stream() -> None:
    events = stream_events()[:5]
    raw = sse(events) + (
        b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
        b'"message":"Overloaded"}}\n\n'
    )
    with pytest.raises(ServerError, match="Overloaded"):
        run(raw)


def test_stream_truncated() -> None:
    raw = sse(stream_events()[:-1])  # no message_stop
    with pytest.raises(StreamInterruptedError):
        run(raw)
    with pytest.raises(StreamInterruptedError):
        run(b"")


def test_stream_done_tolerated_and_whole_message() -> None:
    assert normalised(run(sse(stream_events()) + b"data: [DONE]\n\n")) == normalised(
        run(sse(stream_events()))
    )
    chunks = run(b"data: " + json.dumps(EQUIVALENT).encode() + b"\n\n")
    assert_equivalent(chunks, EQUIVALENT)


def test_stream_redacted_thinking() -> None:
    events = [
        {"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 1}}},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "redacted_thinking", "data": "ZZ"},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}},
        {"type": "message_stop"},
    ]
    acc = ChunkAccumulator()
    for c in run(sse(events)):
        acc.add(c)
    msg = acc.completion()["choices"][0]["message"]
    assert msg["thinking_blocks"] == [{"type": "redacted_thinking", "data": "ZZ"}]
    assert acc.completion()["choices"][0]["finish_reason"] == "stop"


def test_stream_bad_json_is_decode_error() -> None:
    state = MessagesStream(MODEL)
    with pytest.raises(ResponseDecodeError):
        state.event("content_block_delta", b"{not json")
    with pytest.raises(ResponseDecodeError):
        state.event(
            "content_block_delta",
            b'{"type":"content_block_delta","index":"x","delta":{"type":"text_delta","text":"a"}}',
        )


# ------------------------------------------------------------------------- properties

RAW = sse(stream_events(args='{"city": "Paris", "unit": "C", "note": "été ☀"}', pieces=9))
EXPECTED = normalised(run(RAW))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=len(RAW)), max_size=30))
def test_any_byte_split_gives_same_chunks(cuts: list[int]) -> None:
    assert normalised(run(RAW, cuts)) == EXPECTED


@settings(max_examples=40, deadline=None)
@given(
    st.text(min_size=0, max_size=40),
    st.text(min_size=2, max_size=30),
    st.integers(min_value=1, max_value=12),
)
def test_stream_equals_parse(text: str, value: str, pieces: int) -> None:
    args = json.dumps({"q": value})
    events = stream_events(text=text, args=args, pieces=pieces)
    body = json.loads(json.dumps(EQUIVALENT))
    body["content"][1]["text"] = text
    body["content"][2]["input"] = {"q": value}
    assert_equivalent(run(sse(events)), body)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_types = st.sampled_from(
    [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
        "message",
        "junk",
    ]
)
_event = st.one_of(
    st.builds(
        lambda t, extra: {**extra, "type": t},
        _types,
        st.dictionaries(
            st.sampled_from(
                ["index", "delta", "content_block", "message", "usage", "error", "content"]
            ),
            _json,
            max_size=4,
        ),
    ),
    _json,
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, "message_start", "content_block_delta", "error"]),
            _event | st.binary(max_size=10),
        ),
        max_size=8,
    )
)
def test_garbage_events_only_raise_cfaig_errors(events: list[tuple[Any, Any]]) -> None:
    state = ANTHROPIC.stream_state(MODEL)
    try:
        for name, payload in events:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            state.event(name, data)
        state.finish()
    except CfAigError:
        pass


def test_stream_usage_never_goes_backwards() -> None:
    s = ANTHROPIC.stream_state("anthropic/claude-sonnet-4.5")
    s.event("message_start", b'{"type":"message_start","message":{"id":"m","model":"c",'
            b'"usage":{"input_tokens":20,"cache_read_input_tokens":8,"output_tokens":1}}}')
    s.event("message_delta", b'{"type":"message_delta","delta":{"stop_reason":"end_turn"},'
            b'"usage":{"output_tokens":12}}')
    s.event("message_delta", b'{"type":"message_delta","delta":{},"usage":{"input_tokens":0,'
            b'"cache_read_input_tokens":0,"output_tokens":0}}')
    [*_, last] = s.event("message_stop", b'{"type":"message_stop"}')
    assert last["usage"]["prompt_tokens"] == 28 and last["usage"]["completion_tokens"] == 12
    assert last["usage"]["prompt_tokens_details"]["cached_tokens"] == 8
