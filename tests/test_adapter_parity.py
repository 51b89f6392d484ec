"""Both adapters send the same canonical request for the same conversation and settings.

The request rules (tool choice relax-or-refuse, parallel tool calls, the max-tokens key,
the signed-thinking round trip) live once in ``cf_aig.policy``; this checks that the
LangChain and LlamaIndex classes, given equivalent inputs, reach the same request on
every endpoint, and refuse the same ones.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from llama_index.core.base.llms.types import (
    ChatMessage,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.tools import FunctionTool

import cf_aig
from cf_aig.policy import can_force_tools, keeps_signed_thinking
from langchain_cf_aig import ChatCloudflareAIGateway
from llama_index_cf_aig import CloudflareAIGateway

pytestmark = pytest.mark.disable_socket

CREDS = {"account_id": "acc", "api_token": "parity-token-0123456789"}
CASES = [
    ("openai/gpt-5.5", "chat_completions"),
    ("anthropic/claude-sonnet-4.5", "chat_completions"),
    ("@cf/moonshotai/kimi-k2.6", "run"),
    ("@cf/meta/llama-3.1-8b-instruct-fp8", "run"),
    ("anthropic/claude-sonnet-4.5", "run"),
    ("anthropic/claude-sonnet-4.5", "messages"),
    ("openai/gpt-5.5", "responses"),
]


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def _langchain(model: str, api: str, choice: Any, tools: list[Any]) -> dict[str, Any]:
    llm = ChatCloudflareAIGateway(model=model, api=api, max_tokens=64, **CREDS)
    history = [
        SystemMessage("SYS"),
        HumanMessage("Q"),
        AIMessage(
            content="A",
            tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "call_1"}],
            additional_kwargs={
                "thinking_blocks": [{"type": "thinking", "thinking": "T", "signature": "S"}]
            },
        ),
        ToolMessage("3", tool_call_id="call_1"),
    ]
    bound = llm.bind_tools(tools, tool_choice=choice, parallel_tool_calls=False)
    request = llm._prepare(history, None, dict(bound.kwargs), None).request  # type: ignore[attr-defined]
    request.pop("tools")  # schema text differs by framework; names are compared below
    return request


def _llama_index(model: str, api: str, choice: Any, tools: list[Any]) -> dict[str, Any]:
    llm = CloudflareAIGateway(model=model, api=api, max_tokens=64, **CREDS)
    history = [
        ChatMessage(role="system", content="SYS"),
        ChatMessage(role="user", content="Q"),
        ChatMessage(role="assistant", blocks=[
            ThinkingBlock(content="T", additional_information={"signature": "S"}),
            TextBlock(text="A"),
            ToolCallBlock(tool_call_id="call_1", tool_name="add", tool_kwargs={"a": 1, "b": 2}),
        ]),
        ChatMessage(role="tool", content="3", additional_kwargs={"tool_call_id": "call_1"}),
    ]
    kwargs = llm._prepare_chat_with_tools(
        [FunctionTool.from_defaults(fn=t) for t in tools], chat_history=history,
        tool_choice=choice, allow_parallel_tool_calls=False,
    )
    request, _ = llm._prepare(kwargs.pop("messages"), kwargs)
    out = dict(request)
    out.pop("tools")
    return out


@pytest.mark.parametrize(("model", "api"), CASES)
@pytest.mark.parametrize("choice", ["auto", "required", "add", "none"])
def test_same_request_from_both_adapters(model: str, api: str, choice: str) -> None:
    lc = _langchain(model, api, choice, [add])
    li = _llama_index(model, api, choice, [add])
    assert lc == li
    assert "max_tokens" in lc or "max_completion_tokens" in lc  # one key, the endpoint's
    signed = any("thinking_blocks" in m for m in lc["messages"])
    assert signed is keeps_signed_thinking(model, api)


@pytest.mark.parametrize(("model", "api"), CASES)
def test_same_refusals_from_both_adapters(model: str, api: str) -> None:
    outcomes = []
    for build in (_langchain, _llama_index):
        try:
            outcomes.append(build(model, api, "add", [add, multiply]).get("tool_choice"))
        except cf_aig.ConfigurationError as exc:
            outcomes.append(type(exc))
    assert outcomes[0] == outcomes[1]
    forceable = can_force_tools(model, api)
    assert (outcomes[0] is cf_aig.ConfigurationError) is not forceable


@pytest.mark.parametrize(("model", "api"), CASES)
@pytest.mark.parametrize("call_key", ["max_tokens", "max_completion_tokens"])
def test_a_per_call_limit_replaces_the_instance_one_in_both_adapters(
        model: str, api: str, call_key: str) -> None:
    # Instance limit 100, call limit 50 under either spelling: one limit goes out, 50
    # (before, a call's max_completion_tokens went out beside the instance's max_tokens).
    lc = ChatCloudflareAIGateway(model=model, api=api, max_tokens=100, **CREDS)
    lc_req = lc._prepare([HumanMessage("Q")], None, {call_key: 50}, None).request
    li = CloudflareAIGateway(model=model, api=api, max_tokens=100, **CREDS)
    li_req, _ = li._prepare([ChatMessage(role="user", content="Q")], {call_key: 50})
    for request in (lc_req, li_req):
        limits = {k: v for k, v in request.items() if k in ("max_tokens",
                                                          "max_completion_tokens")}
        assert list(limits.values()) == [50], (api, model, limits)
    assert {k for k in lc_req if "max" in k} == {k for k in li_req if "max" in k}


def test_structured_output_response_format_is_the_same_in_both_adapters() -> None:
    """``with_structured_output(method="json_schema")`` and LlamaIndex's JSON-schema
    structured prediction ask for the object with one ``response_format`` (built by
    ``cf_aig.policy.json_schema_format``): same name, schema and description, no
    ``strict`` unless asked."""
    from pydantic import BaseModel

    from llama_index_cf_aig.llms import _response_format

    class City(BaseModel):
        """A city and how often it was named."""

        city: str
        count: int

    lc = ChatCloudflareAIGateway(model="openai/gpt-5.5", **CREDS)
    bound = lc.with_structured_output(City, method="json_schema").first  # type: ignore[attr-defined]
    lc_format = bound.kwargs["response_format"]
    li_format = _response_format(City)
    assert lc_format["type"] == li_format["type"] == "json_schema"
    assert lc_format["json_schema"]["name"] == li_format["json_schema"]["name"] == "City"
    assert lc_format["json_schema"].get("description") == li_format["json_schema"].get(
        "description") == "A city and how often it was named."
    assert "strict" not in lc_format["json_schema"] and "strict" not in li_format["json_schema"]
    assert set(lc_format["json_schema"]["schema"]["properties"]) == set(
        li_format["json_schema"]["schema"]["properties"]) == {"city", "count"}
