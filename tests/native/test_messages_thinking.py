"""Signed thinking round trips on Anthropic's wire (``api="messages"`` and ``anthropic/*``
on unified ``/ai/run``): LlamaIndex keeps the signature in the ThinkingBlock and a
FunctionAgent with reasoning on a Claude model works across tool turns and user turns;
LangChain v1 reasoning blocks carry the signature and go back signed. The emulator checks
every signature sent back in a tool-use turn. Thinking plus a forced tool follows one core
policy in both adapters."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ChatMessage, ThinkingBlock
from llama_index.core.memory import Memory
from llama_index.core.tools import FunctionTool

from cf_aig import ConfigurationError
from cf_aig.emulator import Emulator
from cf_aig.emulator.messages import signature_for
from cf_aig.testing import EMULATOR_TOKEN
from langchain_cf_aig import ChatCloudflareAIGateway
from llama_index_cf_aig import CloudflareAIGateway

CLAUDE = "anthropic/claude-sonnet-4.5"
WIRES = ["messages", "run"]


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def _creds(emu: Emulator) -> dict[str, Any]:
    return {"account_id": emu.account_id, "api_token": EMULATOR_TOKEN,
            "base_url": emu.base_url}


def _bodies(emu: Emulator) -> list[dict[str, Any]]:
    return [dict(r.json.get("input", r.json)) for r in emu.requests if r.method == "POST"]


def _signed_turns(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Assistant turns of a sent body that start with a thinking block."""
    return [m for m in body["messages"] if m["role"] == "assistant"
            and isinstance(m["content"], list) and m["content"][0]["type"] == "thinking"]


@pytest.mark.parametrize("api", WIRES)
@pytest.mark.parametrize("streaming", [False, True])
async def test_function_agent_with_reasoning_on_claude_across_turns(
        cf_aig_emulator: Emulator, api: str, streaming: bool) -> None:
    llm = CloudflareAIGateway(model=CLAUDE, api=api, reasoning_effort="low",
                              **_creds(cf_aig_emulator))
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(multiply)], llm=llm,
                          streaming=streaming)
    memory = Memory.from_defaults(session_id=f"thinking-{api}-{streaming}")
    first = await agent.run(user_msg="Please multiply 6 by 7", memory=memory)
    assert "42" in str(first)
    second = await agent.run(user_msg="Now please multiply 3 by 5", memory=memory)
    assert "15" in str(second)
    bodies = _bodies(cf_aig_emulator)
    assert len(bodies) == 4  # tool call, answer; tool call, answer
    for body in bodies:
        assert body["thinking"]["type"] == "enabled"
    # each tool-result turn sent the signed thinking first, in order, before the tool use
    for body in (bodies[1], bodies[3]):
        turn = body["messages"][-2]
        kinds = [b["type"] for b in turn["content"]]
        assert kinds[0] == "thinking" and kinds[-1] == "tool_use"
        block = turn["content"][0]
        assert block["signature"] == signature_for(block["thinking"])
    # the whole first exchange went back signed too: its tool turn and its answer
    assert len(_signed_turns(bodies[3])) == 3


@pytest.mark.parametrize("api", WIRES)
def test_llama_index_thinking_block_keeps_the_signature(cf_aig_emulator: Emulator,
                                                        api: str) -> None:
    llm = CloudflareAIGateway(model=CLAUDE, api=api, reasoning_effort="low",
                              **_creds(cf_aig_emulator))
    done = llm.chat([ChatMessage(role="user", content="Why is the sky blue?")])
    streamed = list(llm.stream_chat([ChatMessage(role="user", content="Why is the sky blue?")]))
    for message in (done.message, streamed[-1].message):
        [block] = [b for b in message.blocks if isinstance(b, ThinkingBlock)]
        assert block.content
        assert block.additional_information["signature"] == signature_for(block.content)


def test_llama_index_redacted_thinking_goes_back_in_order(cf_aig_emulator: Emulator) -> None:
    llm = CloudflareAIGateway(model=CLAUDE, api="messages", reasoning_effort="low",
                              **_creds(cf_aig_emulator))
    text = "Some earlier thinking."
    history = [
        ChatMessage(role="user", content="Multiply 6 by 7"),
        ChatMessage(role="assistant", blocks=[
            ThinkingBlock(content=None, additional_information={
                "type": "redacted_thinking", "data": "ZW5jcnlwdGVk"}),
            ThinkingBlock(content=text, additional_information={
                "signature": signature_for(text)})],
            additional_kwargs={"tool_calls": [{"id": "toolu_1", "type": "function", "function": {
                "name": "multiply", "arguments": '{"a": 6, "b": 7}'}}]}),
        ChatMessage(role="tool", content="42", additional_kwargs={"tool_call_id": "toolu_1"}),
    ]
    llm.chat_with_tools([FunctionTool.from_defaults(multiply)], chat_history=history)
    turn = _bodies(cf_aig_emulator)[-1]["messages"][1]["content"]
    assert [b["type"] for b in turn] == ["redacted_thinking", "thinking", "tool_use"]
    assert turn[0]["data"] == "ZW5jcnlwdGVk" and turn[1]["signature"] == signature_for(text)


def _lc_run(llm: Any, messages: Any, stream: bool) -> AIMessage:
    if not stream:
        return llm.invoke(messages)  # type: ignore[no-any-return]
    chunks: list[AIMessageChunk] = list(llm.stream(messages))
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    return full


@pytest.mark.parametrize("api", WIRES)
@pytest.mark.parametrize("stream", [False, True])
def test_langchain_v1_reasoning_blocks_carry_the_signature_and_go_back(
        cf_aig_emulator: Emulator, api: str, stream: bool) -> None:
    llm = ChatCloudflareAIGateway(model=CLAUDE, api=api, reasoning_effort="low",
                                  output_version="v1", **_creds(cf_aig_emulator))
    tools = llm.bind_tools([multiply])
    question = HumanMessage("Please multiply 6 by 7")
    first = _lc_run(tools, [question], stream)
    [reasoning] = [b for b in first.content_blocks if b["type"] == "reasoning"]
    signature = reasoning.get("extras", {}).get("signature")
    assert signature == signature_for(reasoning["reasoning"])
    [call] = first.tool_calls
    # history as a v1 user would keep it: content blocks only (no additional_kwargs)
    v1_only = AIMessage(content=first.content_blocks, tool_calls=first.tool_calls)
    for turn in (first, v1_only):
        answer = _lc_run(tools, [question, turn, ToolMessage("42", tool_call_id=call["id"])],
                         stream)
        assert "42" in answer.text
        sent = _bodies(cf_aig_emulator)[-1]["messages"][1]["content"]
        assert sent[0] == {"type": "thinking", "thinking": reasoning["reasoning"],
                           "signature": signature}


# ----------------------------------------------------------------- one policy, both adapters


@pytest.mark.parametrize("api", WIRES)
def test_thinking_with_the_only_tool_forced_relaxes_to_auto_in_both_adapters(
        cf_aig_emulator: Emulator, api: str, caplog: pytest.LogCaptureFixture) -> None:
    lc = ChatCloudflareAIGateway(model=CLAUDE, api=api, reasoning_effort="low",
                                 **_creds(cf_aig_emulator))
    li = CloudflareAIGateway(model=CLAUDE, api=api, reasoning_effort="low",
                             **_creds(cf_aig_emulator))
    with caplog.at_level(logging.WARNING, logger="cf_aig.policy"):
        lc.bind_tools([multiply], tool_choice="multiply").invoke("Please multiply 6 by 7")
        li.chat_with_tools([FunctionTool.from_defaults(multiply)],
                           user_msg="Please multiply 6 by 7", tool_required=True)
    choices = [b["tool_choice"]["type"] for b in _bodies(cf_aig_emulator)]
    assert choices == ["auto", "auto"]
    assert caplog.text.count("thinking") >= 2


@pytest.mark.parametrize("api", WIRES)
def test_thinking_with_one_of_several_tools_forced_is_refused_in_both_adapters(
        cf_aig_emulator: Emulator, api: str) -> None:
    lc = ChatCloudflareAIGateway(model=CLAUDE, api=api, reasoning_effort="low",
                                 **_creds(cf_aig_emulator))
    li = CloudflareAIGateway(model=CLAUDE, api=api, reasoning_effort="low",
                             **_creds(cf_aig_emulator))
    with pytest.raises(ConfigurationError, match=r"'multiply'.*thinking"):
        lc.bind_tools([multiply, add], tool_choice="multiply").invoke("Multiply 6 by 7")
    with pytest.raises(ConfigurationError, match=r"'multiply'.*thinking"):
        li.chat_with_tools([FunctionTool.from_defaults(multiply), FunctionTool.from_defaults(add)],
                           user_msg="Multiply 6 by 7", tool_choice="multiply")
    assert cf_aig_emulator.requests == []


def test_without_thinking_a_forced_tool_stays_forced(cf_aig_emulator: Emulator) -> None:
    lc = ChatCloudflareAIGateway(model=CLAUDE, api="messages", **_creds(cf_aig_emulator))
    lc.bind_tools([multiply, add], tool_choice="multiply").invoke("Multiply 6 by 7")
    assert _bodies(cf_aig_emulator)[0]["tool_choice"] == {"type": "tool", "name": "multiply"}
    asyncio.run(lc.bind_tools([multiply], tool_choice="any").ainvoke("Multiply 6 by 7"))
    assert _bodies(cf_aig_emulator)[1]["tool_choice"] == {"type": "any"}
