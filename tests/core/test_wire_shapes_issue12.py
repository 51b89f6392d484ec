"""Realistic wire shapes (reference §4.3-4.5, §11.1, §11.5) through the core decoders:
nothing the gateway sends is lost on the way to a canonical completion."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cf_aig import ChunkAccumulator
from cf_aig.dialects import get_dialect

REAL = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 4}}
ZERO = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def merged(api: str, model: str, events: list[Any]) -> dict[str, Any]:
    state = get_dialect(api).stream_state(model)
    acc = ChunkAccumulator()
    for event in events:
        data = event if isinstance(event, bytes) else json.dumps(event).encode()
        for chunk in state.event(None, data):
            acc.add(chunk)
    for chunk in state.finish():
        acc.add(chunk)
    return dict(acc.completion())


@pytest.mark.parametrize(("api", "model", "trailer"), [
    ("chat_completions", "openai/gpt-5.5", {"id": "c", "choices": [], "usage": ZERO}),
    ("run", "@cf/openai/gpt-oss-120b", {"response": "", "usage": ZERO}),
])
def test_usage_on_the_last_choice_chunk_survives_a_trailing_all_zero_usage(
        api: str, model: str, trailer: dict[str, Any]) -> None:
    done = merged(api, model, [
        {"id": "c", "choices": [{"index": 0, "delta": {"content": "Hi"}}]},
        {"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
         "usage": REAL},
        trailer, b"[DONE]"])
    assert done["usage"] == REAL


def test_a_json_answer_to_a_stream_keeps_its_logprobs() -> None:
    """Kimi/gpt-oss answer stream:true with JSON (reference §11.5): the replayed chunks
    carry the choice's token log-probabilities, as a real stream would."""
    from cf_aig.dialects._common import completion_to_chunks

    logprobs = {"content": [{"token": "Hi", "logprob": -0.1, "bytes": [72, 105],
                             "top_logprobs": []}]}
    completion = get_dialect("run").parse({"success": True, "result": {
        "id": "x", "object": "chat.completion", "model": "@cf/moonshotai/kimi-k2.6",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"},
                     "finish_reason": "stop", "logprobs": logprobs}]}})
    chunks = completion_to_chunks(completion)
    assert chunks[0]["choices"][0].get("logprobs") == logprobs


def test_llama_index_stream_answered_with_json_keeps_logprobs() -> None:
    pytest.importorskip("llama_index.core")
    from llama_index.core.llms import ChatMessage

    from cf_aig.emulator import Emulator, Fault
    from llama_index_cf_aig import CloudflareAIGateway

    with Emulator() as emu:
        llm = CloudflareAIGateway(model="openai/gpt-5.5", api="responses", logprobs=True,
                                  account_id="acct", api_token="token-0123456789",
                                  base_url=emu.base_url)
        emu.enqueue(Fault(kind="json_for_stream"))
        *_, last = llm.stream_chat([ChatMessage(role="user", content="Hello there")])
        whole = llm.chat([ChatMessage(role="user", content="Hello there")])
    assert whole.logprobs, "the non-streamed answer has log-probabilities"
    assert last.logprobs is not None
    assert [[p.token for p in alts] for alts in last.logprobs] == \
        [[p.token for p in alts] for alts in whole.logprobs]


PAUSED = {"id": "msg_p", "type": "message", "role": "assistant", "model": "claude",
          "content": [{"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search",
                       "input": {"query": "paris"}}],
          "stop_reason": "pause_turn", "stop_sequence": None,
          "usage": {"input_tokens": 9, "output_tokens": 3}}


def test_anthropic_pause_turn_is_kept_beside_the_canonical_finish_reason() -> None:
    """A paused server-tool loop must be resumed by the caller: 'stop' alone hides it."""
    from cf_aig.dialects._common import completion_to_chunks

    choice = get_dialect("messages").parse(PAUSED)["choices"][0]
    assert (choice["finish_reason"], choice.get("stop_reason")) == ("stop", "pause_turn")
    assert "stop_sequence" not in choice
    replayed = ChunkAccumulator()  # a JSON answer to a stream keeps it too
    for chunk in completion_to_chunks(get_dialect("messages").parse(PAUSED)):
        replayed.add(chunk)
    assert replayed.completion()["choices"][0].get("stop_reason") == "pause_turn"

    streamed = merged("messages", "anthropic/claude-sonnet-4.5", [
        {"type": "message_start", "message": {**PAUSED, "content": [], "stop_reason": None}},
        {"type": "message_delta", "delta": {"stop_reason": "pause_turn",
                                            "stop_sequence": None},
         "usage": {"output_tokens": 3}},
        {"type": "message_stop"}])
    assert streamed["choices"][0].get("stop_reason") == "pause_turn"


async def _last_async(llm: Any, msgs: list[Any]) -> Any:
    last = None
    async for response in await llm.astream_chat(msgs, stop=["emulated"]):
        last = response
    return last


def test_both_adapters_report_anthropic_stop_reason_and_sequence_like_chat_anthropic() -> None:
    """ChatAnthropic puts stop_reason/stop_sequence in response_metadata; ours did not (the
    matched stop sequence, and a pause_turn, read only finish_reason='stop')."""
    pytest.importorskip("llama_index.core")
    import asyncio

    from llama_index.core.llms import ChatMessage

    from cf_aig.emulator import Emulator
    from langchain_cf_aig import ChatCloudflareAIGateway
    from llama_index_cf_aig import CloudflareAIGateway

    want = {"stop_reason": "stop_sequence", "stop_sequence": "emulated"}
    with Emulator() as emu:
        kw: dict[str, Any] = {"account_id": "acct", "api_token": "token-0123456789",
                              "base_url": emu.base_url}
        for api in ("messages", "run"):
            lc = ChatCloudflareAIGateway(model="anthropic/claude-sonnet-4.5", api=api, **kw)
            whole = lc.invoke("Hello", stop=["emulated"])
            streamed = None
            for chunk in lc.stream("Hello", stop=["emulated"]):
                streamed = chunk if streamed is None else streamed + chunk
            assert streamed is not None
            for meta in (whole.response_metadata, streamed.response_metadata):
                assert {k: meta.get(k) for k in want} == want, (api, meta)
                assert meta["finish_reason"] == "stop"

            li = CloudflareAIGateway(model="anthropic/claude-sonnet-4.5", api=api, **kw)
            msgs = [ChatMessage(role="user", content="Hello")]
            one = li.chat(msgs, stop=["emulated"])
            *_, last = li.stream_chat(msgs, stop=["emulated"])

            alast = asyncio.run(_last_async(li, msgs))
            for response in (one, last, alast):
                extra = response.additional_kwargs
                assert {k: extra.get(k) for k in want} == want, (api, extra)


def _responses_stream(events: list[dict[str, Any]]) -> dict[str, Any]:
    return merged("responses", "openai/gpt-5.5", events)


FINAL: dict[str, Any] = {"id": "resp_1", "status": "completed", "model": "gpt-5.5", "output": [
    {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
     "content": [{"type": "output_text", "text": "Let me check.", "annotations": []}]},
    {"type": "web_search_call", "id": "ws_1", "status": "completed",
     "action": {"type": "search", "query": "paris"}},
    {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
     "arguments": '{"city":"Paris"}', "status": "completed"}],
    "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}}


def test_responses_calls_only_in_the_terminal_event_are_not_lost() -> None:
    """A stripped-down stream (text deltas, then response.completed) still yields the
    function call and the provider-run tool item the final response lists."""
    done = _responses_stream([
        {"type": "response.created", "response": {"id": "resp_1", "output": []}},
        {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0,
         "content_index": 0, "delta": "Let me check."},
        {"type": "response.completed", "response": FINAL}])
    choice = done["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"] == [{"id": "call_1", "type": "function", "function": {
        "name": "get_weather", "arguments": '{"city":"Paris"}'}}]
    assert [c["id"] for c in choice["message"]["server_tool_calls"]] == ["ws_1"]
    assert choice["message"] == get_dialect("responses").parse(FINAL)["choices"][0]["message"]


def test_responses_full_event_stream_is_not_doubled_by_the_terminal_event() -> None:
    call, search = FINAL["output"][2], FINAL["output"][1]
    done = _responses_stream([
        {"type": "response.created", "response": {"id": "resp_1", "output": []}},
        {"type": "response.output_item.done", "output_index": 1, "item": search},
        {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0,
         "content_index": 0, "delta": "Let me check."},
        {"type": "response.output_item.added", "output_index": 2,
         "item": {**call, "arguments": "", "status": "in_progress"}},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1",
         "output_index": 2, "delta": '{"city":'},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1",
         "output_index": 2, "delta": '"Paris"}'},
        {"type": "response.output_item.done", "output_index": 2, "item": call},
        {"type": "response.completed", "response": FINAL}])
    assert done["choices"][0]["message"] == \
        get_dialect("responses").parse(FINAL)["choices"][0]["message"]


def test_finish_reason_stop_with_tool_calls_reads_tool_calls() -> None:
    """Workers AI answers finish_reason 'stop' next to a tool call (cloudflare/ai#192);
    OpenAI-style loops key on 'tool_calls', as the workers-ai-provider normalises it."""
    call = {"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    whole = get_dialect("run").parse({"success": True, "result": {
        "id": "x", "object": "chat.completion", "model": "@cf/moonshotai/kimi-k2.6",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": None, "tool_calls": [call]}}]}})
    assert whole["choices"][0]["finish_reason"] == "tool_calls"
    streamed = merged("chat_completions", "@cf/moonshotai/kimi-k2.6", [
        {"id": "c", "choices": [{"index": 0, "delta": {"tool_calls": [dict(call, index=0)]}}]},
        {"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        b"[DONE]"])
    assert streamed["choices"][0]["finish_reason"] == "tool_calls"
    plain = merged("chat_completions", "openai/gpt-5.5", [
        {"id": "c", "choices": [{"index": 0, "delta": {"content": "Hi"},
                                 "finish_reason": "stop"}]}, b"[DONE]"])
    assert plain["choices"][0]["finish_reason"] == "stop"


def test_llama_index_constructor_refuses_what_it_would_drop() -> None:
    """CloudflareAIGateway(enable_search=True) or a typo took the argument and sent nothing
    (pydantic ignores unknown fields); LangChain's class and the embedding refuse them."""
    pytest.importorskip("llama_index.core")
    from cf_aig.emulator import Emulator
    from cf_aig.errors import ConfigurationError
    from llama_index_cf_aig import CloudflareAIGateway

    kw: dict[str, Any] = {"account_id": "acct", "api_token": "token-0123456789"}
    for extra in ({"enable_search": True}, {"temprature": 0.2}):
        with pytest.raises(ConfigurationError, match=next(iter(extra))):
            CloudflareAIGateway(model="alibaba/qwen3-max", **extra, **kw)
    with Emulator() as emu:  # the documented place for body fields reaches the wire
        CloudflareAIGateway(model="alibaba/qwen3-max", base_url=emu.base_url,
                            additional_kwargs={"enable_search": True}, **kw).complete("Hi")
        assert emu.requests[-1].json["enable_search"] is True


@pytest.mark.parametrize(("api", "model"), [("chat_completions", "openai/gpt-5.5"),
                                            ("run", "openai/gpt-5.5")])
def test_a_json_schema_without_name_is_named_for_openai_style_bodies(api: str,
                                                                     model: str) -> None:
    """openai/* rejects response_format json_schema without its required name
    (cloudflare/ai#559); the caller's schema and strict flag are kept."""
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    body = get_dialect(api).build({"model": model, "messages": [{"role": "user", "content": "x"}],
                                   "response_format": {"type": "json_schema", "json_schema": {
                                       "schema": schema, "strict": True}}}, stream=False)
    fmt = body.get("response_format") or body["input"]["response_format"]
    assert fmt == {"type": "json_schema",
                   "json_schema": {"schema": schema, "strict": True, "name": "response"}}
    named = get_dialect(api).build({"model": model, "messages": [{"role": "user", "content": "x"}],
                                    "response_format": {"type": "json_schema", "json_schema": {
                                        "name": "City", "schema": schema}}}, stream=False)
    assert (named.get("response_format") or named["input"]["response_format"])[
        "json_schema"]["name"] == "City"


def test_workers_ai_models_on_responses_refuse_what_its_stripped_down_api_lacks() -> None:
    """Workers AI's Responses API has no web search, file inputs or other built-in tools
    (reference §4.4): refused before sending, naming who carries them; function tools go."""
    from cf_aig.errors import ConfigurationError

    dialect = get_dialect("responses")
    user: Any = {"role": "user", "content": "Weather?"}
    with pytest.raises(ConfigurationError, match=r"tools\[0\].*web_search_preview.*openai/"):
        dialect.build({"model": "@cf/openai/gpt-oss-120b", "messages": [user],
                       "tools": [{"type": "web_search_preview"}]}, stream=False)
    pdf: Any = {"role": "user", "content": [{"type": "file", "file": {
        "file_data": "data:application/pdf;base64,JVBERi0x", "filename": "a.pdf"}}]}
    with pytest.raises(ConfigurationError, match="no file inputs"):
        dialect.build({"model": "@cf/openai/gpt-oss-120b", "messages": [pdf]}, stream=False)
    fn = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    body = dialect.build({"model": "@cf/openai/gpt-oss-120b", "messages": [user],
                          "tools": [fn]}, stream=False)
    assert body["tools"][0]["name"] == "f"
    assert dialect.build({"model": "openai/gpt-5.5", "messages": [pdf],
                          "tools": [{"type": "web_search_preview"}]}, stream=False)["tools"]
    caps = dialect.capabilities("@cf/openai/gpt-oss-120b")
    assert not (caps.server_tools or caps.files or caps.stream_with_schema)


def test_langchain_per_call_cache_control_is_anthropics_automatic_caching() -> None:
    """ChatAnthropic takes invoke(..., cache_control={...}) (top-level automatic caching);
    ours refused it as an unknown argument. Now native on messages, refused elsewhere."""
    pytest.importorskip("langchain_core")
    from cf_aig.emulator import Emulator
    from cf_aig.errors import ConfigurationError
    from langchain_cf_aig import ChatCloudflareAIGateway

    mark = {"type": "ephemeral"}
    doc = "The rules of chess fill many pages. " * 40
    with Emulator() as emu:
        kw: dict[str, Any] = {"account_id": "acct", "api_token": "token-0123456789",
                              "base_url": emu.base_url}
        llm = ChatCloudflareAIGateway(model="anthropic/claude-sonnet-4.5", api="messages", **kw)
        first, second = (llm.invoke(doc, cache_control=mark) for _ in range(2))
        assert emu.requests[-1].json["cache_control"] == mark
        usages: list[Any] = [m.usage_metadata or {} for m in (first, second)]
        details = [dict(u.get("input_token_details") or {}) for u in usages]
        assert details[0].get("cache_creation", 0) > 0
        assert details[1].get("cache_read") == details[0]["cache_creation"]
        with pytest.raises(ConfigurationError, match="top-level"):
            ChatCloudflareAIGateway(model="openai/gpt-5.5", **kw).invoke(doc, cache_control=mark)


def test_messages_refusal_of_a_part_names_who_carries_it() -> None:
    from cf_aig.errors import ConfigurationError

    audio: Any = {"role": "user", "content": [{"type": "input_audio", "input_audio": {
        "data": "UklGRg==", "format": "wav"}}]}
    with pytest.raises(ConfigurationError, match=r"input_audio.*/ai/v1/messages.*"
                                                 r"api='chat_completions'"):
        get_dialect("messages").build({"model": "anthropic/claude-sonnet-4.5",
                                       "messages": [audio]}, stream=False)


@pytest.mark.parametrize(("api", "model"), [("messages", "anthropic/claude-sonnet-4.5"),
                                            ("run", "anthropic/claude-sonnet-4.5"),
                                            ("responses", "@cf/openai/gpt-oss-120b")])
def test_openai_shaped_chunks_where_typed_events_were_expected_are_decoded(
        api: str, model: str) -> None:
    """OpenAI-shaped replies break native-format parsers (reference §11.5): a Messages or
    Responses stream answered with chat.completion chunks keeps its text, tool call and
    usage (they were all dropped, then the stream raised for lack of its terminal event)."""
    call = {"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "f", "arguments": '{"a":1}'}}
    done = merged(api, model, [
        {"id": "c", "object": "chat.completion.chunk",
         "choices": [{"index": 0, "delta": {"content": "Hel"}}]},
        {"id": "c", "object": "chat.completion.chunk",
         "choices": [{"index": 0, "delta": {"content": "lo", "tool_calls": [call]}}]},
        {"id": "c", "object": "chat.completion.chunk",
         "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        {"id": "c", "object": "chat.completion.chunk", "choices": [],
         "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}},
        b"[DONE]"])
    message = done["choices"][0]["message"]
    assert message["content"] == "Hello"
    assert message["tool_calls"][0]["function"] == {"name": "f", "arguments": '{"a":1}'}
    assert done["usage"]["total_tokens"] == 5


@pytest.mark.parametrize(("api", "model"), [("messages", "anthropic/claude-sonnet-4.5"),
                                            ("responses", "@cf/openai/gpt-oss-120b")])
def test_a_whole_chat_completion_where_another_shape_was_due_is_parsed(api: str,
                                                                       model: str) -> None:
    """Non-streamed twin of the chunk fallback: the answer was a ResponseDecodeError."""
    body = {"id": "x", "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": None, "tool_calls": [{
                    "id": "call_1", "type": "function",
                    "function": {"name": "f", "arguments": {"a": 1}}}]}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
    choice = get_dialect(api).parse(body)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"][0]["function"] == {"name": "f",
                                                               "arguments": '{"a": 1}'}
