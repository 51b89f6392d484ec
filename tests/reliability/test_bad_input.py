"""Bad input, property-based: the SSE decoder and every dialect's decoders take anything
(any split, any garbage) and answer with decoded data or a typed ``CfAigError``, never a
hang or an unrelated exception; the framework converters turn random message histories
into wire JSON that validates against OpenAI's ``CreateChatCompletionRequest``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cf_aig.dialects import get_dialect
from cf_aig.errors import CfAigError
from cf_aig.sse import SSEDecoder

SPEC = Path(__file__).resolve().parents[1] / "data" / "openai-schemas.json"
APIS = ["chat_completions", "run", "messages", "responses"]
SHAPE_BUG = (
    "ChunkStream.event/_workers_ai_event/_index_calls and normalize_completion "
    "(cf_aig/dialects/chat.py, also behind WorkersAIDialect) index JSON without checking "
    "shapes: a well-formed JSON event or body with a wrong-typed field ({'choices': [null]}, "
    "{'choices': false}, {'tool_calls': [null]}, a string delta) raises a bare "
    "AttributeError/TypeError, which Stream._error and Core.call pass through untyped "
    "instead of ResponseDecodeError")
SHAPE_BUGGY: set[str] = set()  # fixed: decoders turn wrong-typed fields into ResponseDecodeError


def _apis() -> list[Any]:
    return [pytest.param(a, marks=pytest.mark.xfail(strict=True, reason=SHAPE_BUG))
            if a in SHAPE_BUGGY else a for a in APIS]
MODELS = {"chat_completions": "openai/gpt-5.5", "run": "@cf/meta/llama-3.1-8b-instruct-fp8",
          "messages": "anthropic/claude-sonnet-4.5", "responses": "openai/gpt-5.5"}
FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---- strategies -------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers(-2**40, 2**40) | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "choices", "delta", "content", "index", "type", "error",
                         "message", "response", "usage", "tool_calls", "function",
                         "arguments", "name", "finish_reason", "success", "errors", "code",
                         "item", "output", "part", "text", "content_block", "stop_reason",
                         "output_index", "item_id", "call_id", "status", "x"]) | st.text(
            max_size=8), inner, max_size=5),
    max_leaves=20)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    parts, last = [], 0
    for p in points:
        parts.append(data[last:p])
        last = p
    parts.append(data[last:])
    return parts


def _decode(parts: list[bytes]) -> list[tuple[str | None, bytes]]:
    d = SSEDecoder()
    out: list[tuple[str | None, bytes]] = []
    for p in parts:
        out.extend(d.feed(p))
    out.extend(d.flush())
    return out


# ---- SSE decoder ----------------------------------------------------------------------


@FAST
@given(st.binary(max_size=600), st.lists(st.integers(0, 10_000), max_size=12))
def test_sse_decoder_takes_any_bytes_in_any_split(raw: bytes, cuts: list[int]) -> None:
    """Garbage in: events out (well-typed), no exception, same result for every split."""
    whole = _decode([raw])
    assert _decode(_split(raw, cuts)) == whole
    for name, data in whole:
        assert name is None or isinstance(name, str)
        assert isinstance(data, bytes)


garbage_lines = st.lists(st.one_of(
    st.binary(max_size=40).filter(lambda b: b"\n" not in b and b"\r" not in b),
    st.sampled_from([b"data: {not json", b"event:", b"data:", b":", b"id: 1", b"retry: x",
                     b"data: [DONE]", b"\xff\xfe\xfd", b"data: \xc3", b"event: error",
                     b'data: {"error": {"message": "boom", "code": 3040}}'])),
    max_size=12)


@pytest.mark.parametrize("api", APIS)
@FAST
@given(lines=garbage_lines, eol=st.sampled_from([b"\n", b"\r\n", b"\r"]),
       cuts=st.lists(st.integers(0, 10_000), max_size=8))
def test_stream_pipeline_decodes_or_raises_typed(lines: list[bytes], eol: bytes,
                                                 cuts: list[int], api: str) -> None:
    """SSE + each dialect's stream state on garbage lines: chunks or a ``CfAigError``."""
    raw = eol.join(lines) + eol + eol
    state = get_dialect(api).stream_state(MODELS[api])
    d = SSEDecoder()
    try:
        for part in _split(raw, cuts):
            for name, data in d.feed(part):
                _check_chunks(state.event(name, data))
        for name, data in d.flush():
            _check_chunks(state.event(name, data))
        _check_chunks(state.finish())
    except CfAigError as err:
        assert err.message


def _check_chunks(chunks: list[Any]) -> None:
    assert isinstance(chunks, list)
    for ch in chunks:
        assert isinstance(ch, dict) and isinstance(ch.get("choices"), list)
        json.dumps(ch)


# ---- dialect decoders: random payloads --------------------------------------------------


@pytest.mark.parametrize("api", _apis())
@FAST
@example(events=[(None, {"choices": [None]})])
@example(events=[(None, {"tool_calls": True})])
@given(events=st.lists(st.tuples(st.none() | st.sampled_from(
    ["message_start", "content_block_start", "content_block_delta", "content_block_stop",
     "message_delta", "message_stop", "error", "ping", "response.created",
     "response.output_text.delta", "response.output_item.added",
     "response.function_call_arguments.delta", "response.completed", "response.failed"]),
    json_values), max_size=10))
def test_dialect_stream_states_take_random_json_events(api: str,
                                                       events: list[tuple[str | None, Any]]
                                                       ) -> None:
    state = get_dialect(api).stream_state(MODELS[api])
    try:
        for name, obj in events:
            if isinstance(obj, dict) and name and name.startswith(("message", "content", "response")):
                obj = {"type": name, **obj}
            _check_chunks(state.event(name, json.dumps(obj).encode()))
        _check_chunks(state.finish())
    except CfAigError as err:
        assert err.message


@pytest.mark.parametrize("api", _apis())
@FAST
@example(body={"choices": [None]})
@given(body=json_values)
def test_dialect_parse_takes_random_json_bodies(api: str, body: Any) -> None:
    try:
        completion = get_dialect(api).parse(body)
    except CfAigError as err:
        assert err.message
        return
    assert isinstance(completion, dict) and isinstance(completion.get("choices"), list)
    json.dumps(completion)


MALFORMED_SHAPES: list[Any] = [
    {"choices": [None]}, {"choices": False}, {"choices": "0"}, {"choices": [{"delta": "x"}]},
    {"choices": [{"index": 0, "delta": {"tool_calls": "abc"}}]}, {"tool_calls": [None]},
    {"tool_calls": True}, {"choices": [{"message": {"tool_calls": [None]}}]},
]


def _shape_cases() -> list[Any]:
    out = []
    for api in APIS:
        for kind in ("stream", "parse"):
            for i, payload in enumerate(MALFORMED_SHAPES):
                buggy = api in SHAPE_BUGGY and _fails_today(api, kind, payload)
                marks = [pytest.mark.xfail(strict=True, reason=SHAPE_BUG)] if buggy else []
                out.append(pytest.param(api, kind, payload, marks=marks,
                                        id=f"{api}-{kind}-{i}"))
    return out


def _fails_today(api: str, kind: str, payload: Any) -> bool:
    """The (api, kind, payload) triples observed to raise untyped errors (see SHAPE_BUG)."""
    stream_bad = {0, 1, 2, 3, 4, 5, 6}
    parse_bad = {"chat_completions": {0, 7}, "run": {0, 5, 6, 7}}
    i = MALFORMED_SHAPES.index(payload)
    return i in stream_bad if kind == "stream" else i in parse_bad[api]


@pytest.mark.parametrize(("api", "kind", "payload"), _shape_cases())
def test_wrong_typed_fields_raise_a_typed_error(api: str, kind: str, payload: Any) -> None:
    """Well-formed JSON with wrong-typed fields: decoded or ``CfAigError``, nothing else."""
    try:
        if kind == "stream":
            state = get_dialect(api).stream_state(MODELS[api])
            _check_chunks(state.event(None, json.dumps(payload).encode()))
            _check_chunks(state.finish())
        else:
            get_dialect(api).parse(payload)
    except CfAigError:
        pass


def _chat_chunk(content: str, finish: str | None = None, tools: Any = None) -> dict[str, Any]:
    delta: dict[str, Any] = {"content": content}
    if tools:
        delta["tool_calls"] = tools
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


@FAST
@given(st.lists(st.text(max_size=15), min_size=1, max_size=8), st.booleans(),
       st.lists(st.integers(0, 10_000), max_size=8))
def test_valid_chat_streams_decode_exactly_in_any_split(pieces: list[str], done: bool,
                                                        cuts: list[int]) -> None:
    """Random valid chat streams: the text comes out whole, once, for any byte split; a
    stream cut before its end raises instead of passing for complete."""
    events = [_chat_chunk(p) for p in pieces] + [_chat_chunk("", "stop")]
    raw = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    if done:
        raw += b"data: [DONE]\n\n"
    state = get_dialect("chat_completions").stream_state("m")
    d = SSEDecoder()
    out: list[Any] = []
    for part in _split(raw, cuts):
        for name, data in d.feed(part):
            out += state.event(name, data)
    for name, data in d.flush():
        out += state.event(name, data)
    out += state.finish()
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in out if c["choices"])
    assert text == "".join(pieces)
    # the same stream cut short (no finish_reason, no [DONE]) raises
    cut = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events[:-1])
    state = get_dialect("chat_completions").stream_state("m")
    d = SSEDecoder()
    with pytest.raises(CfAigError):
        for name, data in d.feed(cut) + d.flush():
            state.event(name, data)
        state.finish()


# ---- converters → OpenAI schema ------------------------------------------------------


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` → JSON Schema "or null"."""
    if isinstance(node, dict):
        out = {k: _nullable(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") is True:
            return {"anyOf": [out, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@pytest.fixture(scope="module")
def request_validator() -> Any:
    import jsonschema

    doc = json.loads(SPEC.read_text())
    schema = {"$ref": "#/components/schemas/CreateChatCompletionRequest",
              "components": _nullable(doc["components"])}
    return jsonschema.Draft202012Validator(schema)


ident = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,15}", fullmatch=True)
texts = st.text(max_size=40)
args = st.dictionaries(ident, json_scalars, max_size=3)


@st.composite
def lc_histories(draw: Any) -> list[Any]:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

    out: list[Any] = []
    if draw(st.booleans()):
        out.append(SystemMessage(content=draw(texts)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["human", "human_parts", "ai", "ai_tools"]))
        if kind == "human":
            out.append(HumanMessage(content=draw(texts), name=draw(st.none() | ident)))
        elif kind == "human_parts":
            parts: list[Any] = [{"type": "text", "text": draw(texts)}]
            if draw(st.booleans()):
                parts.append({"type": "image_url",
                              "image_url": {"url": "https://example.com/a.png"}})
            out.append(HumanMessage(content=parts))
        elif kind == "ai":
            out.append(AIMessage(content=draw(texts)))
        else:
            calls = [{"name": draw(ident), "args": draw(args), "id": f"call_{i}"}
                     for i in range(draw(st.integers(1, 3)))]
            out.append(AIMessage(content=draw(texts), tool_calls=calls))
            for c in calls:
                out.append(ToolMessage(content=draw(texts), tool_call_id=c["id"]))
    return out


@st.composite
def li_histories(draw: Any) -> list[Any]:
    from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock, ToolCallBlock

    out: list[Any] = []
    if draw(st.booleans()):
        out.append(ChatMessage(role=MessageRole.SYSTEM, content=draw(texts)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["user", "assistant", "assistant_tools"]))
        if kind == "user":
            out.append(ChatMessage(role=MessageRole.USER, content=draw(texts)))
        elif kind == "assistant":
            out.append(ChatMessage(role=MessageRole.ASSISTANT, content=draw(texts)))
        else:
            ids = [f"call_{i}" for i in range(draw(st.integers(1, 3)))]
            blocks: list[Any] = [TextBlock(text=draw(texts))]
            blocks += [ToolCallBlock(tool_call_id=i, tool_name=draw(ident),
                                     tool_kwargs=draw(args)) for i in ids]
            out.append(ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks))
            for i in ids:
                out.append(ChatMessage(role=MessageRole.TOOL, content=draw(texts),
                                       additional_kwargs={"tool_call_id": i}))
    return out


def _wire(messages: list[dict[str, Any]], stream: bool) -> dict[str, Any]:
    """What the core sends on /ai/v1/chat/completions for these canonical messages."""
    body = get_dialect("chat_completions").build(
        {"model": "openai/gpt-5.5", "messages": messages}, stream=stream)  # type: ignore[typeddict-item]
    return json.loads(json.dumps(body))


@FAST
@given(lc_histories(), st.booleans())
def test_langchain_histories_validate_against_the_openai_schema(request_validator: Any,
                                                                history: list[Any],
                                                                stream: bool) -> None:
    from langchain_cf_aig._convert import messages_to_dicts

    body = _wire(messages_to_dicts(history), stream)
    errors = sorted(request_validator.iter_errors(body), key=lambda e: e.path)
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors[:3]]
    assert len(body["messages"]) == len(history)


@FAST
@given(li_histories(), st.booleans())
def test_llama_index_histories_validate_against_the_openai_schema(request_validator: Any,
                                                                  history: list[Any],
                                                                  stream: bool) -> None:
    from llama_index_cf_aig.convert import messages_to_canonical

    body = _wire(messages_to_canonical(history), stream)
    errors = sorted(request_validator.iter_errors(body), key=lambda e: e.path)
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors[:3]]
    assert len(body["messages"]) == len(history)


@FAST
@given(lc_histories())
def test_langchain_tool_call_round_trip(history: list[Any]) -> None:
    """Tool-call ids and arguments survive the trip to wire JSON and back."""
    from langchain_core.messages import AIMessage

    from langchain_cf_aig._convert import messages_to_dicts

    for msg, wire in zip(history, messages_to_dicts(history), strict=True):
        if isinstance(msg, AIMessage) and msg.tool_calls:
            got = [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
                   for c in wire["tool_calls"]]
            assert got == [(c["id"], c["name"], c["args"]) for c in msg.tool_calls]
