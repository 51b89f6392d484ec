"""The ``/ai/v1/responses`` dialect: build, parse, typed event stream (pure; no sockets)."""

from __future__ import annotations

import itertools
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cf_aig.accumulate import ChunkAccumulator
from cf_aig.dialects import get_dialect
from cf_aig.dialects.responses import RESPONSES, ResponsesStream
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

MODEL = "openai/gpt-5.5"
SUBSET = Path(__file__).resolve().parents[1] / "data" / "openai-schemas.json"


@cache
def _validator(name: str) -> Any:
    import jsonschema

    spec = json.loads(SUBSET.read_text())
    base = jsonschema.validators.validator_for(
        {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    )
    # OpenAPI ``oneOf`` + ``discriminator`` is not exclusive in JSON Schema terms: a user
    # message matches both EasyInputMessage and InputMessage. Read it as ``anyOf``.
    lenient = jsonschema.validators.extend(base, {"oneOf": base.VALIDATORS["anyOf"]})
    return lenient({"$ref": f"#/components/schemas/{name}", "components": spec["components"]})


def validate(name: str, obj: Any) -> None:
    errors = sorted(_validator(name).iter_errors(obj), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors]


def req(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}
    base.update(kw)
    return base


def test_registered_and_endpoint() -> None:
    d = get_dialect("responses")
    assert d is RESPONSES and d.api == "responses"
    assert d.endpoint(MODEL) == "/ai/v1/responses"


# ------------------------------------------------------------------------- build

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "...",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
        "strict": True,
    },
}


def test_reference_request() -> None:
    body = RESPONSES.build(
        {
            "model": MODEL,
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            ],
            "tools": [TOOL],
            "tool_choice": "auto",
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "answer", "strict": True, "schema": {"type": "object"}},
            },
            "reasoning_effort": "low",
            "max_completion_tokens": 512,
            "stream_options": {"include_usage": True},
        },
        stream=True,
    )
    validate("CreateResponse", body)
    assert body == {
        "model": MODEL,
        "instructions": "Be brief.",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": '{"city":"Paris"}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
        ],
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "description": "...",
                "parameters": TOOL["function"]["parameters"],
                "strict": True,
            }
        ],
        "tool_choice": "auto",
        "text": {
            "format": {
                "type": "json_schema",
                "name": "answer",
                "schema": {"type": "object"},
                "strict": True,
            }
        },
        "reasoning": {"effort": "low"},
        "max_output_tokens": 512,
        "stream": True,
    }


def test_content_parts_and_assistant_text() -> None:
    body = RESPONSES.build(
        req(
            messages=[
                {"role": "developer", "content": [{"type": "text", "text": "A"}]},
                {"role": "system", "content": "B"},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "look"},
                        {
                            "type": "image_url",
                            "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"},
                        },
                        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                        {
                            "type": "file",
                            "file": {
                                "file_data": "data:application/pdf;base64,JVBE",
                                "filename": "a.pdf",
                            },
                        },
                        {"type": "file", "file": {"file_id": "file_1"}},
                    ],
                },
                {"role": "assistant", "content": [{"type": "text", "text": "seen"}]},
                {"role": "user", "content": "ok"},
            ],
            temperature=0.3,
            top_p=0.8,
            parallel_tool_calls=False,
            store=False,
            previous_response_id="resp_0",
            metadata={"k": "v"},
            user="u1",
            verbosity="low",
            response_format={"type": "json_object"},
        ),
        stream=False,
    )
    validate("CreateResponse", body)
    assert body["instructions"] == "A\n\nB"
    assert body["input"][0]["content"][1:] == [
        {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"},
        {"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"},
        {
            "type": "input_file",
            "file_data": "data:application/pdf;base64,JVBE",
            "filename": "a.pdf",
        },
        {"type": "input_file", "file_id": "file_1"},
    ]
    assert body["input"][1] == {"role": "assistant", "content": "seen"}
    assert body["text"] == {"format": {"type": "json_object"}, "verbosity": "low"}
    for key, value in [
        ("temperature", 0.3),
        ("top_p", 0.8),
        ("parallel_tool_calls", False),
        ("store", False),
        ("previous_response_id", "resp_0"),
        ("metadata", {"k": "v"}),
        ("user", "u1"),
    ]:
        assert body[key] == value
    assert "stream" not in body


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ({"type": "function", "function": {"name": "f"}}, {"type": "function", "name": "f"}),
    ],
)
def test_tool_choice(choice: Any, expected: Any) -> None:
    body = RESPONSES.build(
        req(tools=[{"type": "function", "function": {"name": "f"}}], tool_choice=choice),
        stream=False,
    )
    validate("CreateResponse", body)
    assert body["tool_choice"] == expected
    assert body["tools"] == [
        {
            "type": "function",
            "name": "f",
            "parameters": {"type": "object", "properties": {}},
            "strict": False,
        }
    ]


def test_stop_and_unknown_keys_raise() -> None:
    with pytest.raises(ConfigurationError, match="stop"):
        RESPONSES.build(req(stop=["x"]), stream=False)
    for key in ("seed", "frequency_penalty", "presence_penalty", "logit_bias"):
        with pytest.raises(ConfigurationError, match=key):
            RESPONSES.build(req(**{key: 1}), stream=False)
    with pytest.raises(ConfigurationError):
        RESPONSES.build(req(n=2), stream=False)
    with pytest.raises(ConfigurationError):
        RESPONSES.build(
            req(
                messages=[{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]
            ),
            stream=False,
        )
    assert "seed" not in RESPONSES.build(req(seed=None), stream=False)


def test_tool_message_with_parts() -> None:
    body = RESPONSES.build(
        req(
            messages=[
                {"role": "user", "content": "q"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                {
                    "role": "tool",
                    "tool_call_id": "c",
                    "content": [{"type": "text", "text": "r1"}, {"type": "text", "text": "r2"}],
                },
            ]
        ),
        stream=False,
    )
    validate("CreateResponse", body)
    assert body["input"][-1] == {"type": "function_call_output", "call_id": "c", "output": "r1r2"}


# ------------------------------------------------------------------------- parse

REFERENCE = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1760000000,
    "status": "completed",
    "model": "gpt-5.5",
    "output": [
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "Need the weather."}],
        },
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [
                {"type": "output_text", "text": "Checking.", "annotations": [], "logprobs": []}
            ],
        },
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
            "status": "completed",
        },
    ],
    "usage": {
        "input_tokens": 20,
        "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
        "output_tokens": 30,
        "output_tokens_details": {"reasoning_tokens": 12},
        "total_tokens": 50,
    },
    "error": None,
    "incomplete_details": None,
    "instructions": None,
    "tools": [],
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "temperature": 1,
    "top_p": 1,
    "metadata": {},
}


def test_parse_reference() -> None:
    validate("Response", REFERENCE)
    done = RESPONSES.parse(json.loads(json.dumps(REFERENCE)))
    assert (done["id"], done["model"], done["created"]) == ("resp_1", "gpt-5.5", 1760000000)
    choice = done["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"] == {
        "role": "assistant",
        "content": "Checking.",
        "reasoning_content": "Need the weather.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            }
        ],
    }
    assert done["usage"] == {
        "prompt_tokens": 20,
        "completion_tokens": 30,
        "total_tokens": 50,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 12},
    }


@pytest.mark.parametrize(
    ("status", "details", "reason"),
    [
        ("completed", None, "stop"),
        ("incomplete", {"reason": "max_output_tokens"}, "length"),
        ("incomplete", {"reason": "content_filter"}, "content_filter"),
    ],
)
def test_finish_reasons(status: str, details: Any, reason: str) -> None:
    body = {
        "id": "r",
        "status": status,
        "incomplete_details": details,
        "output": [{"type": "message", "content": [{"type": "output_text", "text": "x"}]}],
    }
    assert RESPONSES.parse(body)["choices"][0]["finish_reason"] == reason


def test_parse_refusal_and_reasoning_text() -> None:
    body = {
        "id": "r",
        "status": "completed",
        "output": [
            {
                "type": "reasoning",
                "id": "rs",
                "summary": [{"type": "summary_text", "text": "S"}],
                "content": [{"type": "reasoning_text", "text": "R"}],
            },
            {"type": "message", "content": [{"type": "refusal", "refusal": "No."}]},
        ],
    }
    msg = RESPONSES.parse(body)["choices"][0]["message"]
    assert msg["refusal"] == "No." and msg["content"] == ""
    assert msg["reasoning_content"] == "R\n\nS"


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        (
            {
                "id": "r",
                "status": "failed",
                "output": [],
                "error": {"code": "rate_limit_exceeded", "message": "slow down"},
            },
            RateLimitError,
        ),
        (
            {
                "id": "r",
                "status": "failed",
                "output": [],
                "error": {"code": "server_error", "message": "boom"},
            },
            ServerError,
        ),
        (
            {
                "id": "r",
                "status": "failed",
                "output": [],
                "error": {"code": "invalid_prompt", "message": "no"},
            },
            BadRequestError,
        ),
        ({"error": {"message": "bad", "type": "invalid_request_error"}}, BadRequestError),
        ({"success": False, "errors": [{"code": 3040, "message": "busy"}]}, RateLimitError),
    ],
)
def test_parse_errors(body: dict[str, Any], cls: type[Exception]) -> None:
    with pytest.raises(cls):
        RESPONSES.parse(body)


def test_parse_garbage() -> None:
    with pytest.raises(ResponseDecodeError):
        RESPONSES.parse({"id": "x"})


# ------------------------------------------------------------------------- stream


def sse(events: list[dict[str, Any]]) -> bytes:
    out = []
    for n, e in enumerate(events):
        e = {**e, "sequence_number": n}
        out.append(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode())
    return b"".join(out)


def response_obj(
    status: str = "in_progress", output: list[Any] | None = None, usage: Any = None
) -> dict[str, Any]:
    obj = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1760000000,
        "status": status,
        "model": "gpt-5.5",
        "output": output or [],
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "metadata": {},
        "temperature": 1,
        "top_p": 1,
    }
    if usage is not None:
        obj["usage"] = usage
    return obj


def stream_events(
    text: str = "Checking.", args: str = '{"city":"Paris"}', pieces: int = 4
) -> list[dict[str, Any]]:
    final = json.loads(json.dumps(REFERENCE["output"]))
    final[1]["content"][0]["text"] = text
    final[2]["arguments"] = args
    step = max(1, len(args) // pieces)
    frags = [args[i : i + step] for i in range(0, len(args), step)]
    return [
        {"type": "response.created", "response": response_obj()},
        {"type": "response.in_progress", "response": response_obj()},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {"type": "reasoning", "id": "rs_1", "summary": []},
        },
        {
            "type": "response.reasoning_summary_part.added",
            "item_id": "rs_1",
            "output_index": 0,
            "summary_index": 0,
            "part": {"type": "summary_text", "text": ""},
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "item_id": "rs_1",
            "output_index": 0,
            "summary_index": 0,
            "delta": "Need the ",
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "item_id": "rs_1",
            "output_index": 0,
            "summary_index": 0,
            "delta": "weather.",
        },
        {
            "type": "response.reasoning_summary_text.done",
            "item_id": "rs_1",
            "output_index": 0,
            "summary_index": 0,
            "text": "Need the weather.",
        },
        {"type": "response.output_item.done", "output_index": 0, "item": final[0]},
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "content": [],
                "status": "in_progress",
            },
        },
        {
            "type": "response.content_part.added",
            "item_id": "msg_1",
            "output_index": 1,
            "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []},
        },
        *[
            {
                "type": "response.output_text.delta",
                "item_id": "msg_1",
                "output_index": 1,
                "content_index": 0,
                "delta": d,
                "logprobs": [],
            }
            for d in (text[:4], text[4:])
        ],
        {
            "type": "response.output_text.done",
            "item_id": "msg_1",
            "output_index": 1,
            "content_index": 0,
            "text": text,
            "logprobs": [],
        },
        {
            "type": "response.content_part.done",
            "item_id": "msg_1",
            "output_index": 1,
            "content_index": 0,
            "part": final[1]["content"][0],
        },
        {"type": "response.output_item.done", "output_index": 1, "item": final[1]},
        {
            "type": "response.output_item.added",
            "output_index": 2,
            "item": {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": "",
                "status": "in_progress",
            },
        },
        *[
            {
                "type": "response.function_call_arguments.delta",
                "item_id": "fc_1",
                "output_index": 2,
                "delta": f,
            }
            for f in frags
        ],
        {
            "type": "response.function_call_arguments.done",
            "item_id": "fc_1",
            "output_index": 2,
            "name": "get_weather",
            "arguments": args,
        },
        {"type": "response.output_item.done", "output_index": 2, "item": final[2]},
        {
            "type": "response.completed",
            "response": response_obj("completed", final, REFERENCE["usage"]),
        },
    ]


def equivalent_body(text: str = "Checking.", args: str = '{"city":"Paris"}') -> dict[str, Any]:
    body = json.loads(json.dumps(REFERENCE))
    body["output"][1]["content"][0]["text"] = text
    body["output"][2]["arguments"] = args
    return body


def run(raw: bytes, split: list[int] | None = None) -> list[Any]:
    dec, state, out = SSEDecoder(), RESPONSES.stream_state(MODEL), []
    cuts = [0, *sorted(split or []), len(raw)]
    for a, b in itertools.pairwise(cuts):
        for name, data in dec.feed(raw[a:b]):
            out.extend(state.event(name, data))
    for name, data in dec.flush():
        out.extend(state.event(name, data))
    out.extend(state.finish())
    return out


def assert_equivalent(chunks: list[Any], body: dict[str, Any]) -> None:
    acc = ChunkAccumulator()
    for c in chunks:
        acc.add(c)
    got, want = acc.completion(), RESPONSES.parse(body)
    for key in ("id", "model", "created", "usage"):
        assert got[key] == want[key], key  # type: ignore[literal-required]
    assert got["choices"][0]["message"] == want["choices"][0]["message"]
    assert got["choices"][0]["finish_reason"] == want["choices"][0]["finish_reason"]


def test_events_are_valid_per_schema() -> None:
    for event in stream_events():
        validate("ResponseStreamEvent", {**event, "sequence_number": 0})


def test_stream_full() -> None:
    chunks = run(sse(stream_events()))
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[:2] == [{"reasoning_content": "Need the "}, {"reasoning_content": "weather."}]
    call = next(d for d in deltas if "tool_calls" in d)["tool_calls"][0]
    assert call == {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 50
    assert sum(1 for c in chunks if c.get("usage")) == 1
    assert all(c["id"] == "resp_1" for c in chunks)
    assert_equivalent(chunks, equivalent_body())


def test_stream_done_tolerated_and_unknown_events_ignored() -> None:
    events = stream_events()
    events.insert(3, {"type": "response.brand_new_event", "foo": 1})
    plain = run(sse(stream_events()))
    assert run(sse(events) + b"data: [DONE]\n\n") == plain


def test_stream_event_name_fallback() -> None:
    state = ResponsesStream(MODEL)
    out = state.event("response.output_text.delta", b'{"item_id":"m","delta":"x"}')
    assert out[0]["choices"][0]["delta"] == {"content": "x"}


def test_stream_fills_missing_pieces_from_done_events() -> None:
    events = [
        e
        for e in stream_events()
        if e["type"]
        not in (
            "response.output_text.delta",
            "response.function_call_arguments.delta",
            "response.reasoning_summary_text.delta",
        )
    ]
    assert_equivalent(run(sse(events)), equivalent_body())
    # only output_item.done events, no .added and no deltas at all
    only_done = [
        e
        for e in events
        if e["type"]
        not in (
            "response.output_item.added",
            "response.output_text.done",
            "response.function_call_arguments.done",
            "response.reasoning_summary_text.done",
        )
    ]
    assert_equivalent(run(sse(only_done)), equivalent_body())


def test_stream_only_terminal_event() -> None:
    events = [stream_events()[0], stream_events()[-1]]
    assert_equivalent(run(sse(events)), equivalent_body())


def test_stream_incomplete() -> None:
    events = stream_events()[:-1]
    events.append(
        {
            "type": "response.incomplete",
            "response": {
                **response_obj("incomplete", None, REFERENCE["usage"]),
                "incomplete_details": {"reason": "max_output_tokens"},
            },
        }
    )
    chunks = run(sse(events))
    reasons = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert reasons[-1] == "length"


def test_stream_two_reasoning_parts_separated() -> None:
    events = [
        {"type": "response.created", "response": response_obj()},
        *[
            {
                "type": "response.reasoning_summary_text.delta",
                "item_id": "rs_1",
                "output_index": 0,
                "summary_index": i,
                "delta": t,
            }
            for i, t in enumerate(["One.", "Two."])
        ],
        {
            "type": "response.completed",
            "response": response_obj(
                "completed",
                [
                    {
                        "type": "reasoning",
                        "id": "rs_1",
                        "summary": [
                            {"type": "summary_text", "text": "One."},
                            {"type": "summary_text", "text": "Two."},
                        ],
                    }
                ],
            ),
        },
    ]
    chunks = run(sse(events))
    acc = ChunkAccumulator()
    for c in chunks:
        acc.add(c)
    assert acc.completion()["choices"][0]["message"]["reasoning_content"] == "One.\n\nTwo."


@pytest.mark.parametrize(
    ("event", "cls"),
    [
        (
            {"type": "error", "code": "rate_limit_exceeded", "message": "slow", "param": None},
            RateLimitError,
        ),
        (
            {"type": "error", "code": None, "message": "The server had an error", "param": None},
            ServerError,
        ),
        (
            {
                "type": "response.failed",
                "response": {
                    **response_obj("failed"),
                    "error": {"code": "server_error", "message": "boom"},
                },
            },
            ServerError,
        ),
    ],
)
def test_stream_errors(event: dict[str, Any], cls: type[Exception]) -> None:
    raw = sse([*stream_events()[:5], event])
    with pytest.raises(cls):
        run(raw)


def test_stream_truncated() -> None:
    with pytest.raises(StreamInterruptedError):
        run(sse(stream_events()[:-1]))
    with pytest.raises(StreamInterruptedError):
        run(b"")


def test_stream_bad_payloads() -> None:
    state = ResponsesStream(MODEL)
    with pytest.raises(ResponseDecodeError):
        state.event(None, b"{oops")
    with pytest.raises(ResponseDecodeError):
        state.event(
            None, b'{"type":"response.function_call_arguments.delta","item_id":"nope","delta":"x"}'
        )


# ------------------------------------------------------------------------- properties

RAW = sse(stream_events(text="Ça va ☀ très bien", args='{"city":"Paris","note":"été"}', pieces=11))
EXPECTED = [{k: v for k, v in c.items()} for c in run(RAW)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=len(RAW)), max_size=30))
def test_any_byte_split_gives_same_chunks(cuts: list[int]) -> None:
    assert run(RAW, cuts) == EXPECTED


@settings(max_examples=40, deadline=None)
@given(
    st.text(min_size=0, max_size=40),
    st.text(min_size=0, max_size=30),
    st.integers(min_value=1, max_value=12),
)
def test_stream_equals_parse(text: str, value: str, pieces: int) -> None:
    args = json.dumps({"q": value})
    assert_equivalent(run(sse(stream_events(text, args, pieces))), equivalent_body(text, args))


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_types = st.sampled_from(
    [
        "response.created",
        "response.output_item.added",
        "response.output_item.done",
        "response.output_text.delta",
        "response.output_text.done",
        "response.refusal.delta",
        "response.reasoning_text.delta",
        "response.reasoning_summary_text.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.completed",
        "response.incomplete",
        "response.failed",
        "error",
        "junk",
    ]
)
_fields = st.sampled_from(
    [
        "item",
        "item_id",
        "output_index",
        "delta",
        "text",
        "arguments",
        "response",
        "content_index",
        "summary_index",
        "code",
        "message",
    ]
)
_event = st.one_of(
    st.builds(
        lambda t, extra: {**extra, "type": t}, _types, st.dictionaries(_fields, _json, max_size=4)
    ),
    _json,
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, "response.output_text.delta", "error"]),
            _event | st.binary(max_size=10),
        ),
        max_size=8,
    )
)
def test_garbage_events_only_raise_cfaig_errors(events: list[tuple[Any, Any]]) -> None:
    state = RESPONSES.stream_state(MODEL)
    try:
        for name, payload in events:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            state.event(name, data)
        state.finish()
    except CfAigError:
        pass
