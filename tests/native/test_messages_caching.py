"""Prompt caching on Anthropic's wire (``api="messages"`` and ``anthropic/*`` models on
unified ``/ai/run``), both adapters, sync/async, invoke/stream: every way a user marks a
cache breakpoint reaches the wire natively, the emulator caches the marked prefix, and the
usage reports the write, then the read. Endpoints without cache marks refuse them before
sending."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from llama_index.core.base.llms.types import CacheControl, CachePoint, ChatMessage, TextBlock

from cf_aig import ConfigurationError
from cf_aig.emulator import Emulator
from cf_aig.testing import EMULATOR_TOKEN
from langchain_cf_aig import ChatCloudflareAIGateway
from llama_index_cf_aig import CloudflareAIGateway

CLAUDE = "anthropic/claude-sonnet-4.5"
WIRES = ["messages", "run"]  # both carry an Anthropic Messages body for anthropic/* models
MODES = ["invoke", "ainvoke", "stream", "astream"]
MARK = {"type": "ephemeral"}
DOC = "The rules of chess fill many pages. " * 30


def _lc(emu: Emulator, api: str, **kw: Any) -> ChatCloudflareAIGateway:
    return ChatCloudflareAIGateway(model=CLAUDE, api=api, account_id=emu.account_id,
                                   api_token=EMULATOR_TOKEN, base_url=emu.base_url, **kw)


def _li(emu: Emulator, api: str, model: str = CLAUDE) -> CloudflareAIGateway:
    return CloudflareAIGateway(model=model, api=api, account_id=emu.account_id,
                               api_token=EMULATOR_TOKEN, base_url=emu.base_url)


def _body(emu: Emulator) -> dict[str, Any]:
    """The Messages body of the last request (unified /ai/run nests it under ``input``)."""
    sent = emu.requests[-1].json
    return dict(sent.get("input", sent))


def _call(llm: Any, messages: Any, mode: str) -> Any:
    if mode == "invoke":
        return llm.invoke(messages)
    if mode == "ainvoke":
        return asyncio.run(llm.ainvoke(messages))
    if mode == "stream":
        chunks = list(llm.stream(messages))
    else:
        async def collect() -> list[AIMessageChunk]:
            return [c async for c in llm.astream(messages)]
        chunks = asyncio.run(collect())
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    return full


def _details(message: Any) -> dict[str, int]:
    return dict(message.usage_metadata["input_token_details"])


@pytest.mark.parametrize("api", WIRES)
@pytest.mark.parametrize("mode", MODES)
def test_langchain_block_mark_writes_then_reads_the_prefix(cf_aig_emulator: Emulator, api: str,
                                                          mode: str) -> None:
    llm = _lc(cf_aig_emulator, api)
    prompt: Sequence[BaseMessage] = [HumanMessage([
        {"type": "text", "text": DOC, "cache_control": MARK},
        {"type": "text", "text": "Summarise in one line."}])]
    first = _call(llm, prompt, mode)
    sent = _body(cf_aig_emulator)["messages"][0]["content"]
    assert sent[0] == {"type": "text", "text": DOC, "cache_control": MARK}
    assert "cache_control" not in sent[1]
    second = _call(llm, prompt, mode)
    written = _details(first)["cache_creation"]
    assert written == len(DOC.split()) and _details(first)["cache_read"] == 0
    assert _details(second) == {"cache_creation": 0, "cache_read": written}
    # the prefix only: the unmarked question is billed as plain input both times
    assert second.usage_metadata["input_tokens"] == first.usage_metadata["input_tokens"]


@pytest.mark.parametrize("api", WIRES)
def test_langchain_message_and_tool_marks(cf_aig_emulator: Emulator, api: str) -> None:
    tool = {"name": "lookup", "description": "Look a rule up.", "cache_control": MARK,
            "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}
    llm = _lc(cf_aig_emulator, api).bind_tools([tool])
    doc = HumanMessage(DOC, additional_kwargs={"cache_control": MARK})
    first = llm.invoke([doc, HumanMessage("What about castling?")])
    body = _body(cf_aig_emulator)
    assert body["tools"][0]["cache_control"] == MARK and body["tools"][0]["name"] == "lookup"
    turn = body["messages"][0]["content"]  # the two user messages merge into one turn
    assert turn[0] == {"type": "text", "text": DOC, "cache_control": MARK}
    assert _details(first)["cache_creation"] == len(DOC.split())
    second = llm.invoke([doc, HumanMessage("And en passant?")])  # same prefix, new question
    assert _details(second)["cache_read"] == len(DOC.split())


def test_a_longer_marked_prefix_reads_the_shorter_one_and_writes_the_rest(
        cf_aig_emulator: Emulator) -> None:
    llm = _lc(cf_aig_emulator, "messages")
    one = [HumanMessage(DOC, additional_kwargs={"cache_control": MARK})]
    llm.invoke([*one, HumanMessage("q1")])
    more = "Openings have names. " * 10
    both = llm.invoke([*one, HumanMessage(more, additional_kwargs={"cache_control": MARK}),
                       HumanMessage("q2")])
    assert _details(both) == {"cache_read": len(DOC.split()),
                              "cache_creation": len(more.split())}


def test_system_mark_is_refused_before_sending_naming_the_alternative(
        cf_aig_emulator: Emulator) -> None:
    llm = _lc(cf_aig_emulator, "messages")
    system = SystemMessage([{"type": "text", "text": "Be terse.", "cache_control": MARK}])
    with pytest.raises(ConfigurationError, match="first user content block"):
        llm.invoke([system, HumanMessage("Hi")])
    assert cf_aig_emulator.requests == []


@pytest.mark.parametrize("api", WIRES)
@pytest.mark.parametrize("mode", ["chat", "achat", "stream_chat", "astream_chat"])
def test_llama_index_cache_point_writes_then_reads(cf_aig_emulator: Emulator, api: str,
                                                   mode: str) -> None:
    llm = _li(cf_aig_emulator, api)
    messages = [ChatMessage(role="user", blocks=[
        TextBlock(text=DOC), CachePoint(cache_control=CacheControl(type="ephemeral")),
        TextBlock(text="Summarise in one line.")])]

    def run() -> Any:
        if mode == "chat":
            return llm.chat(messages)
        if mode == "achat":
            return asyncio.run(llm.achat(messages))
        if mode == "stream_chat":
            return list(llm.stream_chat(messages))[-1]

        async def collect() -> Any:
            return [r async for r in await llm.astream_chat(messages)][-1]
        return asyncio.run(collect())

    first = run()
    sent = _body(cf_aig_emulator)["messages"][0]["content"]
    assert sent[0]["cache_control"]["type"] == "ephemeral" and sent[0]["text"] == DOC
    second = run()
    words = len(DOC.split())
    assert first.additional_kwargs["cache_creation_tokens"] == words
    assert first.additional_kwargs["cache_read_tokens"] == 0
    assert second.additional_kwargs["cache_read_tokens"] == words
    assert second.additional_kwargs["cache_creation_tokens"] == 0


@pytest.mark.parametrize(("api", "model"), [("chat_completions", CLAUDE),
                                            ("chat_completions", "openai/gpt-5.5"),
                                            ("responses", "openai/gpt-5.5"),
                                            ("run", "@cf/moonshotai/kimi-k2.6")])
def test_marks_are_refused_where_the_wire_cannot_carry_them(cf_aig_emulator: Emulator,
                                                            api: str, model: str) -> None:
    lc = ChatCloudflareAIGateway(model=model, api=api, account_id=cf_aig_emulator.account_id,
                                 api_token=EMULATOR_TOKEN, base_url=cf_aig_emulator.base_url)
    with pytest.raises(ConfigurationError, match=r"cache_control.*api='messages'"):
        lc.invoke([HumanMessage([{"type": "text", "text": DOC, "cache_control": MARK}])])
    li = _li(cf_aig_emulator, api, model)
    marked = ChatMessage(role="user", blocks=[TextBlock(text=DOC), CachePoint(
        cache_control=CacheControl(type="ephemeral"))])
    with pytest.raises(ConfigurationError, match=r"messages\[0\] part 0.*api='messages'"):
        li.chat([marked])
    assert cf_aig_emulator.requests == []


def test_top_level_mark_caches_the_whole_prompt_and_is_refused_elsewhere(
        cf_aig_emulator: Emulator) -> None:
    llm = _lc(cf_aig_emulator, "messages", model_kwargs={"cache_control": MARK})
    first = llm.invoke(DOC)
    assert _body(cf_aig_emulator)["cache_control"] == MARK
    assert _details(llm.invoke(DOC))["cache_read"] == _details(first)["cache_creation"] > 0
    other = ChatCloudflareAIGateway(model=CLAUDE, api="chat_completions",
                                    account_id=cf_aig_emulator.account_id,
                                    api_token=EMULATOR_TOKEN, base_url=cf_aig_emulator.base_url,
                                    model_kwargs={"cache_control": MARK})
    with pytest.raises(ConfigurationError, match="top-level"):
        other.invoke(DOC)
