"""Accumulator properties and the chunk decoder on payload shapes Cloudflare sends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cf_aig import ChunkAccumulator, ResponseDecodeError, StreamInterruptedError
from cf_aig.dialects import get_dialect
from cf_aig.dialects.chat import ChunkStream
from cf_aig.errors import CfAigError, RateLimitError
from cf_aig.sse import SSEDecoder


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    parts, last = [], 0
    for p in points:
        parts.append(text[last:p])
        last = p
    parts.append(text[last:])
    return [p for p in parts if p]


_text = st.text(max_size=40)
_call = st.tuples(st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
                  st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True),
                                  st.one_of(st.integers(), st.text(max_size=8)), max_size=3),
                  st.lists(st.integers(min_value=0, max_value=50), max_size=4))


@given(_text, st.lists(st.integers(min_value=0, max_value=60), max_size=6), _text,
       st.lists(_call, max_size=3), st.booleans())
def test_accumulating_fragments_rebuilds_the_message(content: str, cuts: list[int], reasoning: str,
                                                     calls: list[Any], ids_on_first: bool) -> None:
    chunks: list[dict[str, Any]] = [{"id": "c1", "model": "m", "created": 1, "choices": [
        {"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    for piece in split(reasoning, cuts):
        chunks.append({"choices": [{"index": 0, "delta": {"reasoning_content": piece}}]})
    for piece in split(content, cuts):
        chunks.append({"choices": [{"index": 0, "delta": {"content": piece}}]})
    expected_calls = []
    for i, (name, args, arg_cuts) in enumerate(calls):
        raw = json.dumps(args)
        cid = f"call_{i}"
        expected_calls.append({"id": cid, "type": "function",
                               "function": {"name": name, "arguments": raw}})
        chunks.append({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": i, "id": cid, "type": "function", "function": {"name": name, "arguments": ""}}]}}]})
        for piece in split(raw, arg_cuts):
            frag: dict[str, Any] = {"index": i, "function": {"arguments": piece}}
            if not ids_on_first:
                frag["id"] = cid  # some providers repeat the id: must not be appended
            chunks.append({"choices": [{"index": 0, "delta": {"tool_calls": [frag]}}]})
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls" if calls else "stop"}]})
    chunks.append({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}})
    acc = ChunkAccumulator()
    for ch in chunks:
        acc.add(ch)  # type: ignore[arg-type]
    done = acc.completion()
    msg = done["choices"][0]["message"]
    assert msg["content"] == content
    assert msg.get("reasoning_content", "") == reasoning
    assert msg.get("tool_calls", []) == expected_calls
    assert done["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    assert done["id"] == "c1"


def decode(raw: bytes, model: str = "m") -> list[dict[str, Any]]:
    sse, state = SSEDecoder(), ChunkStream(model)
    out: list[dict[str, Any]] = []
    for name, data in [*sse.feed(raw), *sse.flush()]:
        out.extend(state.event(name, data))  # type: ignore[arg-type]
    out.extend(state.finish())  # type: ignore[arg-type]
    return out


def merged(raw: bytes) -> dict[str, Any]:
    acc = ChunkAccumulator()
    for ch in decode(raw):
        acc.add(ch)  # type: ignore[arg-type]
    return acc.completion()  # type: ignore[return-value]


# Shapes from reference §4.2.3 (T3 capture): per-chunk usage increments, reasoning, p padding,
# a choices:[] chunk, then a cumulative {"response":"","usage"} line before [DONE].
GEMMA_STREAM = b"""data: {"id":"f96","object":"chat.completion.chunk","created":1791402526,"model":"@cf/google/gemma-4-26b-a4b-it","choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning_content":null},"finish_reason":null,"logprobs":null,"matched_stop":null}],"p":"pf8tbfo2","usage":{"prompt_tokens":147,"completion_tokens":0,"total_tokens":147,"prompt_tokens_details":{"cached_tokens":0},"neurons":1.33}}

data: {"id":"f96","object":"chat.completion.chunk","created":1791402526,"model":"@cf/google/gemma-4-26b-a4b-it","choices":[{"index":0,"delta":{"reasoning":"think"},"finish_reason":null}],"usage":{"prompt_tokens":0,"completion_tokens":1,"total_tokens":1}}

data: {"id":"f96","object":"chat.completion.chunk","created":1791402526,"model":"@cf/google/gemma-4-26b-a4b-it","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"usage":{"prompt_tokens":0,"completion_tokens":1,"total_tokens":1}}

data: {"id":"f96","object":"chat.completion.chunk","created":1791402526,"model":"@cf/google/gemma-4-26b-a4b-it","choices":[{"index":0,"delta":{},"finish_reason":"stop","matched_stop":106}]}

data: {"id":"f96","object":"chat.completion.chunk","created":1791402526,"model":"@cf/google/gemma-4-26b-a4b-it","choices":[],"usage":{"prompt_tokens":0,"completion_tokens":14,"total_tokens":14}}

data: {"response":"","usage":{"prompt_tokens":147,"completion_tokens":16,"total_tokens":163,"prompt_tokens_details":{"cached_tokens":0},"neurons":1.77}}

data: [DONE]

"""


def test_workers_ai_chat_schema_stream_usage_is_the_final_cumulative() -> None:
    done = merged(GEMMA_STREAM)
    assert done["choices"][0]["message"] == {"role": "assistant", "content": "Hi",
                                             "reasoning_content": "think"}
    assert done["usage"]["total_tokens"] == 163 and done["choices"][0]["finish_reason"] == "stop"
    assert sum(1 for c in decode(GEMMA_STREAM) if c.get("usage")) == 1


def test_increments_only_are_summed() -> None:
    raw = b"".join(
        b'data: {"id":"x","choices":[{"index":0,"delta":{"content":"' + t + b'"}}],"usage":' + u + b"}\n\n"
        for t, u in [(b"a", b'{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}'),
                     (b"b", b'{"prompt_tokens":0,"completion_tokens":1,"total_tokens":1}')]
    ) + b'data: {"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
    assert merged(raw)["usage"] == {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}


def test_cumulative_per_chunk_usage_is_not_double_counted() -> None:
    raw = b"".join(
        b'data: {"id":"x","choices":[{"index":0,"delta":{"content":"t"}}],"usage":{"prompt_tokens":5,"completion_tokens":' + str(i).encode() + b',"total_tokens":' + str(5 + i).encode() + b"}}\n\n"
        for i in (1, 2, 3)) + b"data: [DONE]\n\n"
    assert merged(raw)["usage"]["total_tokens"] == 8


def test_classic_stream_with_padding_and_legacy_tool_calls() -> None:
    raw = (b'data: {"response":"Hel","p":"abcdefghij"}\n\n'
           b'data: {"response":"lo","p":"abc"}\n\n'
           b'data: {"response":"","tool_calls":[{"name":"add","arguments":{"a":1,"b":2}}]}\n\n'
           b'data: {"response":"","usage":{"prompt_tokens":755,"completion_tokens":10,"total_tokens":765}}\n\n'
           b"data: [DONE]\n\n")
    done = merged(raw)
    msg = done["choices"][0]["message"]
    assert msg["content"] == "Hello"
    assert msg["tool_calls"][0]["function"] == {"name": "add", "arguments": '{"a": 1, "b": 2}'}
    assert msg["tool_calls"][0]["id"].startswith("call_")
    assert done["choices"][0]["finish_reason"] == "tool_calls" and done["usage"]["total_tokens"] == 765


def test_tool_call_deltas_without_index_and_null_finalisation() -> None:
    raw = (b'data: {"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":""}},{"id":"c2","type":"function","function":{"name":"g","arguments":"{}"}}]}}]}\n\n'
           b'data: {"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"id":"c1","function":{"arguments":"{\\"a\\":1}"}}]}}]}\n\n'
           b'data: {"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"id":null,"type":null,"function":{"name":null}}]}}]}\n\n'
           b'data: {"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\ndata: [DONE]\n\n')
    calls = merged(raw)["choices"][0]["message"]["tool_calls"]
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in calls] == [
        ("c1", "f", '{"a":1}'), ("c2", "g", "{}")]


def test_truncated_stream_raises_and_error_chunk_is_typed() -> None:
    with pytest.raises(StreamInterruptedError):
        decode(b'data: {"id":"x","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n')
    with pytest.raises(RateLimitError):
        decode(b'data: {"error":{"message":"busy","type":"rate_limit_error"}}\n\n')
    with pytest.raises(ResponseDecodeError):
        decode(b"data: {not json\n\n")


@given(st.binary(max_size=200))
def test_garbage_events_give_chunks_or_typed_errors(data: bytes) -> None:
    state = ChunkStream("m")
    try:
        state.event(None, data)
        state.finish()
    except CfAigError:
        pass


def test_workers_ai_parse_all_three_tool_call_shapes() -> None:
    d = get_dialect("run")
    legacy = d.parse({"result": {"response": "", "tool_calls": [{"name": "w", "arguments": {"x": 1}}]},
                      "success": True, "errors": [], "messages": []})
    scout = d.parse({"result": {"tool_calls": [{"id": "t1", "type": "function", "function": {"name": "w", "arguments": {"x": 1}}}]},
                     "success": True})
    oai = d.parse({"result": {"id": "c", "object": "chat.completion", "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": None, "reasoning": "r",
        "tool_calls": [{"id": "t2", "type": "function", "function": {"name": "w", "arguments": '{"x": 1}'}}]}}]}, "success": True})
    for c in (legacy, scout, oai):
        call = c["choices"][0]["message"]["tool_calls"][0]
        assert json.loads(call["function"]["arguments"]) == {"x": 1} and call["id"]
        assert c["choices"][0]["finish_reason"] == "tool_calls"
    assert oai["choices"][0]["message"]["reasoning_content"] == "r"
    assert oai["choices"][0]["message"]["content"] == ""


def test_workers_ai_json_mode_object_response() -> None:
    c = get_dialect("run").parse({"result": {"response": {"name": "India"}}, "success": True})
    assert json.loads(c["choices"][0]["message"]["content"]) == {"name": "India"}


def test_success_false_on_200_is_an_error() -> None:
    with pytest.raises(RateLimitError):
        get_dialect("run").parse({"result": None, "success": False,
                                  "errors": [{"code": 3040, "message": "busy"}]})


def test_workers_ai_request_shapes() -> None:
    d = get_dialect("run")
    classic = d.build({"model": "@cf/meta/llama-3.1-8b-instruct-fp8", "max_completion_tokens": 9,
                       "messages": [{"role": "assistant", "content": None, "tool_calls": [
                           {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}],
                       "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "object"}}}},
                      stream=True)
    assert classic["max_tokens"] == 9 and classic["stream"] is True
    assert classic["messages"][0]["content"] == ""
    assert classic["response_format"] == {"type": "json_schema", "json_schema": {"type": "object"}}
    chat = d.build({"model": "@cf/moonshotai/kimi-k2.6", "messages": [{"role": "assistant", "content": None}],
                    "tool_choice": "required"}, stream=False)
    assert "model" not in chat and chat["messages"][0]["content"] == "" and chat["tool_choice"] == "required"
    unified = d.build({"model": "openai/gpt-5.5", "messages": [{"role": "user", "content": "x"}]}, stream=True)
    assert unified == {"model": "openai/gpt-5.5", "input": {"messages": [{"role": "user", "content": "x"}], "stream": True,
                                                             "stream_options": {"include_usage": True}}}
    from cf_aig import ConfigurationError
    with pytest.raises(ConfigurationError, match="tool_choice"):
        d.build({"model": "@cf/meta/llama-3.1-8b-instruct-fp8", "messages": [], "tool_choice": "required"}, stream=False)
    with pytest.raises(ConfigurationError, match="logprobs"):
        d.build({"model": "@cf/meta/llama-3.1-8b-instruct-fp8", "messages": [], "logprobs": True}, stream=False)
    with pytest.raises(ConfigurationError, match="text only"):
        d.build({"model": "@cf/meta/llama-3.1-8b-instruct-fp8", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:,"}}]}]}, stream=False)


def test_reasoning_history_is_not_sent_to_openai_style_endpoints() -> None:
    history = [{"role": "user", "content": "q"},
               {"role": "assistant", "content": "a", "reasoning_content": "r",
                "thinking_blocks": [{"type": "thinking", "thinking": "r", "signature": "s"}]}]
    for api, model in (("chat_completions", "openai/gpt-5.5"), ("run", "@cf/moonshotai/kimi-k2.6"),
                       ("run", "@cf/meta/llama-3.1-8b-instruct")):
        body = get_dialect(api).build({"model": model, "messages": history}, stream=False)
        assert body["messages"][1] == {"role": "assistant", "content": "a"}
    assert history[1]["reasoning_content"] == "r"  # the caller's list is not changed


def test_accumulator_places_fragments_without_index_by_id() -> None:
    acc = ChunkAccumulator()
    for tc in ({"id": "a", "function": {"name": "f", "arguments": "{"}},
               {"id": "b", "function": {"name": "g", "arguments": "{}"}},
               {"id": "a", "function": {"arguments": "}"}}):
        acc.add({"choices": [{"index": 0, "delta": {"tool_calls": [tc]}}]})  # type: ignore[list-item]
    calls = acc.completion()["choices"][0]["message"]["tool_calls"]
    assert [(c["id"], c["function"]["arguments"]) for c in calls] == [("a", "{}"), ("b", "{}")]


def test_other_provider_spellings_are_normalised() -> None:
    raw = (b'data: {"id":"x","choices":[{"index":0,"delta":{"content":[{"type":"text","text":"Hi"}]}}]}\n\n'
           b'data: {"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"f","arguments":{"a":1}}}]}}]}\n\n'
           b'data: {"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"model_length"}]}\n\ndata: [DONE]\n\n')
    done = merged(raw)
    choice = done["choices"][0]
    assert choice["message"]["content"] == "Hi" and choice["finish_reason"] == "length"
    assert json.loads(choice["message"]["tool_calls"][0]["function"]["arguments"]) == {"a": 1}
    c = get_dialect("chat_completions").parse({"choices": [{"index": 0, "finish_reason": "eos",
        "message": {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}}]})
    assert c["choices"][0]["message"]["content"] == "ab" and c["choices"][0]["finish_reason"] == "stop"
