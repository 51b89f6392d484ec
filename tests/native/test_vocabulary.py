"""The anchors' vocabulary in both adapters: ``thinking`` (and LlamaIndex's
``thinking_dict``), ``reasoning``, ``effort``, ``request_timeout``; ``strict`` inside each
function; corrected profiles."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.tools import FunctionTool

from cf_aig import ConfigurationError
from cf_aig.emulator import Emulator
from cf_aig.profiles import get_profile
from cf_aig.reasoning import apply_reasoning
from cf_aig.testing import EMULATOR_TOKEN
from langchain_cf_aig import ChatCloudflareAIGateway
from llama_index_cf_aig import CloudflareAIGateway

from .wire_schemas import validate

THINK = {"type": "enabled", "budget_tokens": 4000}


def _creds(emu: Emulator) -> dict[str, Any]:
    return {"account_id": emu.account_id, "api_token": EMULATOR_TOKEN,
            "base_url": emu.base_url}


def _both(emu: Emulator, model: str, api: str, **fields: Any) -> list[Any]:
    lc = ChatCloudflareAIGateway(model=model, api=api, **_creds(emu), **fields)
    li = CloudflareAIGateway(model=model, api=api, **_creds(emu), **fields)
    lc.invoke([HumanMessage("Hi")])
    asyncio.run(lc.ainvoke([HumanMessage("Hi")]))
    list(lc.stream([HumanMessage("Hi")]))
    li.chat([ChatMessage(role="user", content="Hi")])
    list(li.stream_chat([ChatMessage(role="user", content="Hi")]))
    return [r.json for r in emu.requests]


@pytest.mark.parametrize(("api", "model", "expect"), [
    ("messages", "anthropic/claude-sonnet-4.5", {"thinking": THINK}),
    ("run", "anthropic/claude-sonnet-4.5", {"thinking": THINK}),
    ("chat_completions", "openai/gpt-5.5", {"reasoning_effort": "medium"}),
    ("responses", "openai/gpt-5.5", {"reasoning": {"effort": "medium"}}),
    ("run", "@cf/moonshotai/kimi-k2.6", {"reasoning_effort": "medium"}),
])
def test_thinking_reaches_every_endpoint_in_its_native_form(
        cf_aig_emulator: Emulator, api: str, model: str, expect: dict[str, Any]) -> None:
    for body in _both(cf_aig_emulator, model, api, thinking=THINK):
        inner = body.get("input", body) if api == "run" and "input" in body else body
        for key, value in expect.items():
            assert inner[key] == value, (api, key, inner)
        assert "effort" not in inner


def test_llamaindex_takes_thinking_dict_and_both_take_request_timeout(
        cf_aig_emulator: Emulator) -> None:
    li = CloudflareAIGateway(model="anthropic/claude-sonnet-4.5", api="messages",
                             thinking_dict=THINK, request_timeout=9, **_creds(cf_aig_emulator))
    lc = ChatCloudflareAIGateway(model="openai/gpt-5.5", request_timeout=9,
                                 **_creds(cf_aig_emulator))
    assert li.thinking == THINK and li.timeout == 9 and lc.timeout == 9
    li.chat([ChatMessage(role="user", content="Hi")])
    assert cf_aig_emulator.requests[-1].json["thinking"] == THINK


def test_reasoning_and_effort_per_endpoint(cf_aig_emulator: Emulator) -> None:
    bodies = _both(cf_aig_emulator, "openai/gpt-5.5", "responses",
                   reasoning={"effort": "low", "summary": "auto"})
    for body in bodies:
        assert body["reasoning"] == {"effort": "low", "summary": "auto"}
        validate(body, "CreateResponse")
    cf_aig_emulator.reset()
    for body in _both(cf_aig_emulator, "anthropic/claude-sonnet-4.5", "messages", effort="high"):
        assert body["output_config"] == {"effort": "high"}
    cf_aig_emulator.reset()
    for body in _both(cf_aig_emulator, "openai/gpt-5.5", "chat_completions", effort="low"):
        assert body["reasoning_effort"] == "low" and "effort" not in body
        validate(body, "CreateChatCompletionRequest")


@pytest.mark.parametrize(("fields", "api", "model", "match"), [
    ({"reasoning": {"effort": "low", "summary": "auto"}}, "chat_completions",
     "openai/gpt-5.5", "api='responses' only"),
    ({"effort": "max"}, "chat_completions", "openai/gpt-5.5", "Anthropic's wire only"),
    ({"thinking": THINK}, "chat_completions", "openai/gpt-4o", "does not"),
    ({"thinking": {"type": "sometimes"}}, "messages", "anthropic/claude-sonnet-4.5",
     "thinking must be"),
])
def test_what_an_endpoint_cannot_carry_is_refused_before_sending(
        cf_aig_emulator: Emulator, fields: dict[str, Any], api: str, model: str,
        match: str) -> None:
    lc = ChatCloudflareAIGateway(model=model, api=api, **_creds(cf_aig_emulator), **fields)
    li = CloudflareAIGateway(model=model, api=api, **_creds(cf_aig_emulator), **fields)
    with pytest.raises(ConfigurationError, match=match):
        lc.invoke([HumanMessage("Hi")])
    with pytest.raises(ConfigurationError, match=match):
        li.chat([ChatMessage(role="user", content="Hi")])
    assert cf_aig_emulator.requests == []


def test_per_call_vocabulary_in_langchain(cf_aig_emulator: Emulator) -> None:
    lc = ChatCloudflareAIGateway(model="openai/gpt-5.5", **_creds(cf_aig_emulator))
    lc.invoke([HumanMessage("Hi")], thinking={"type": "enabled", "budget_tokens": 20000})
    assert cf_aig_emulator.requests[-1].json["reasoning_effort"] == "high"


def test_vocabulary_and_reasoning_effort_must_agree() -> None:
    with pytest.raises(ConfigurationError, match="disagree"):
        apply_reasoning({"model": "openai/gpt-5.5", "reasoning_effort": "low",
                         "effort": "high"}, "chat_completions")


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@pytest.mark.parametrize("api", ["chat_completions", "responses"])
def test_llamaindex_strict_goes_inside_each_function(cf_aig_emulator: Emulator,
                                                     api: str) -> None:
    llm = CloudflareAIGateway(model="openai/gpt-5.5", api=api, **_creds(cf_aig_emulator))
    llm.chat_with_tools([FunctionTool.from_defaults(add)], user_msg="add 2 and 3", strict=True)
    strict_llm = CloudflareAIGateway(model="openai/gpt-5.5", api=api, strict=True,
                                     **_creds(cf_aig_emulator))
    strict_llm.chat_with_tools([FunctionTool.from_defaults(add)], user_msg="add 2 and 3")
    for sent in cf_aig_emulator.requests:
        body = sent.json
        assert "strict" not in body
        [tool] = body["tools"]
        assert (tool["function"] if api == "chat_completions" else tool)["strict"] is True
        validate(body, "CreateChatCompletionRequest" if api == "chat_completions"
                 else "CreateResponse")


def test_profiles_corrected() -> None:
    assert get_profile("deepseek/deepseek-reasoner").reasoning
    assert not get_profile("deepseek/deepseek-chat").json_schema
    assert get_profile("xai/grok-4").reasoning
