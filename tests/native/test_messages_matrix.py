"""The Anthropic-native features by the four endpoints by both adapters: each cell is native
on the wire or a typed error before sending, never dropped. Run as a script to print the
table (``python -m tests.native.test_messages_matrix``)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from llama_index.core.base.llms.types import (
    CacheControl,
    CachePoint,
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    TextBlock,
)
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from cf_aig import ConfigurationError
from cf_aig.emulator import Emulator
from cf_aig.emulator.messages import signature_for
from cf_aig.policy import keeps_signed_thinking
from cf_aig.testing import EMULATOR_TOKEN
from langchain_cf_aig import ChatCloudflareAIGateway
from llama_index_cf_aig import CloudflareAIGateway

ENDPOINTS = {  # endpoint → the model used there
    "messages": "anthropic/claude-sonnet-4.5",
    "run": "anthropic/claude-sonnet-4.5",
    "chat_completions": "anthropic/claude-sonnet-4.5",
    "responses": "openai/gpt-5.5",
}
MARK = {"type": "ephemeral"}
SEARCH = {"type": "web_search_20250305", "name": "web_search"}
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PDF_B64 = base64.b64encode(b"%PDF-1.4\n%%EOF").decode()
THOUGHT = "Multiplying needs the tool."


class City(BaseModel):
    """A city and how many times it was named."""

    city: str
    count: int


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def _find(node: Any, pred: Callable[[dict[str, Any]], bool]) -> bool:
    if isinstance(node, dict):
        return pred(node) or any(_find(v, pred) for v in node.values())
    if isinstance(node, list):
        return any(_find(v, pred) for v in node)
    return False


def _has(key: str, value: Any = None) -> Callable[[Any], bool]:
    return lambda body: _find(body, lambda d: key in d and (value is None or d[key] == value))


def _schema_out(body: Any) -> bool:  # output_config / response_format / text.format
    return _find(body, lambda d: d.get("type") == "json_schema" and (
        "schema" in d or "json_schema" in d))


def _json_mode(body: Any) -> bool:
    return _find(body, lambda d: d.get("type") == "json_object")


def _signed(body: Any) -> bool:
    return _find(body, lambda d: d.get("type") == "thinking" and d.get("signature") ==
                 signature_for(THOUGHT))


def _auto_choice(body: Any) -> bool:
    choice = body.get("tool_choice")
    return choice in ("auto",) or (isinstance(choice, dict) and choice.get("type") == "auto") \
        or choice in ("required",) or (isinstance(choice, dict) and choice.get("type") in (
            "function", "tool", "any"))


def _media(kind: str) -> Callable[[Any], bool]:
    kinds = {"image": ("image", "input_image"), "pdf": ("document", "input_file")}[kind]
    return lambda body: _find(body, lambda d: d.get("type") in ("tool_result",
                                                                 "function_call_output")
                              and _find(d.get("content", d.get("output")),
                                        lambda x: x.get("type") in kinds))


# ----------------------------------------------------------------- the calls, per adapter

def _lc(emu: Emulator, api: str, **kw: Any) -> ChatCloudflareAIGateway:
    return ChatCloudflareAIGateway(model=ENDPOINTS[api], api=api, account_id=emu.account_id,
                                   api_token=EMULATOR_TOKEN, base_url=emu.base_url, **kw)


def _li(emu: Emulator, api: str, **kw: Any) -> CloudflareAIGateway:
    return CloudflareAIGateway(model=ENDPOINTS[api], api=api, account_id=emu.account_id,
                               api_token=EMULATOR_TOKEN, base_url=emu.base_url, **kw)


CALL = {"name": "multiply", "args": {"a": 6, "b": 7}, "id": "toolu_1", "type": "tool_call"}
LI_CALL = {"tool_calls": [{"id": "toolu_1", "type": "function", "function": {
    "name": "multiply", "arguments": '{"a": 6, "b": 7}'}}]}


def _lc_tool_result(emu: Emulator, api: str, block: dict[str, Any]) -> None:
    _lc(emu, api).invoke([HumanMessage("chart?"), AIMessage("", tool_calls=[CALL]),
                          ToolMessage([{"type": "text", "text": "here"}, block],
                                      tool_call_id="toolu_1")])


def _li_tool_result(emu: Emulator, api: str, block: Any) -> None:
    _li(emu, api).chat([ChatMessage(role="user", content="chart?"),
                        ChatMessage(role="assistant", content="", additional_kwargs=LI_CALL),
                        ChatMessage(role="tool", blocks=[TextBlock(text="here"), block],
                                    additional_kwargs={"tool_call_id": "toolu_1"})])


def _lc_thinking_history(emu: Emulator, api: str) -> None:
    turn = AIMessage("", tool_calls=[CALL], additional_kwargs={"thinking_blocks": [
        {"type": "thinking", "thinking": THOUGHT, "signature": signature_for(THOUGHT)}]})
    _lc(emu, api, reasoning_effort="low").bind_tools([multiply]).invoke(
        [HumanMessage("Multiply 6 by 7"), turn, ToolMessage("42", tool_call_id="toolu_1")])


def _li_thinking_history(emu: Emulator, api: str) -> None:
    from llama_index.core.base.llms.types import ThinkingBlock

    turn = ChatMessage(role="assistant", blocks=[ThinkingBlock(
        content=THOUGHT, additional_information={"signature": signature_for(THOUGHT)})],
        additional_kwargs=LI_CALL)
    _li(emu, api, reasoning_effort="low").chat_with_tools(
        [FunctionTool.from_defaults(multiply)], chat_history=[
            ChatMessage(role="user", content="Multiply 6 by 7"), turn,
            ChatMessage(role="tool", content="42", additional_kwargs={"tool_call_id": "toolu_1"})])


FEATURES: dict[str, dict[str, tuple[Callable[[Emulator, str], Any], Callable[[Any], bool]]]] = {
    "cache mark on a content block": {
        "LangChain": (lambda e, a: _lc(e, a).invoke([HumanMessage(
            [{"type": "text", "text": "doc", "cache_control": MARK}])]), _has("cache_control")),
        "LlamaIndex": (lambda e, a: _li(e, a).chat([ChatMessage(role="user", blocks=[
            TextBlock(text="doc"), CachePoint(cache_control=CacheControl(type="ephemeral"))])]),
            _has("cache_control")),
    },
    "cache mark on a message": {
        "LangChain": (lambda e, a: _lc(e, a).invoke([HumanMessage(
            "doc", additional_kwargs={"cache_control": MARK})]), _has("cache_control")),
    },
    "cache mark on a tool": {
        "LangChain": (lambda e, a: _lc(e, a).bind_tools([{
            "name": "multiply", "description": "Multiply.", "cache_control": MARK,
            "input_schema": {"type": "object", "properties": {}}}]).invoke("Multiply 6 by 7"),
            _has("cache_control")),
    },
    "cache mark on the system prompt": {
        "LangChain": (lambda e, a: _lc(e, a).invoke([SystemMessage(
            [{"type": "text", "text": "Be terse.", "cache_control": MARK}]), HumanMessage("Hi")]),
            _has("cache_control")),
        "LlamaIndex": (lambda e, a: _li(e, a).chat([ChatMessage(role="system", blocks=[
            TextBlock(text="Be terse."), CachePoint(cache_control=CacheControl(type="ephemeral"))]),
            ChatMessage(role="user", content="Hi")]), _has("cache_control")),
    },
    "structured output (JSON schema, default method)": {
        "LangChain": (lambda e, a: _lc(e, a).with_structured_output(City).invoke(
            "Berlin, count 4"), _schema_out),
        "LlamaIndex": (lambda e, a: _li(e, a).structured_predict(
            City, PromptTemplate("{t}"), t="Berlin, count 4"), _schema_out),
    },
    "JSON mode": {
        "LangChain": (lambda e, a: _lc(e, a).with_structured_output(
            None, method="json_mode").invoke("Return JSON with a key city"), _json_mode),
        "LlamaIndex": (lambda e, a: _li(e, a).complete(
            "Return JSON with a key city", response_format={"type": "json_object"}), _json_mode),
    },
    "signed thinking sent back before tool use": {
        "LangChain": (_lc_thinking_history, _signed),
        "LlamaIndex": (_li_thinking_history, _signed),
    },
    "thinking + the only tool forced (relaxed on Anthropic's wire)": {
        "LangChain": (lambda e, a: _lc(e, a, reasoning_effort="low").bind_tools(
            [multiply], tool_choice="multiply").invoke("Multiply 6 by 7"), _auto_choice),
        "LlamaIndex": (lambda e, a: _li(e, a, reasoning_effort="low").chat_with_tools(
            [FunctionTool.from_defaults(multiply)], user_msg="Multiply 6 by 7",
            tool_required=True), _auto_choice),
    },
    "Anthropic server tool (web_search_20250305)": {
        "LangChain": (lambda e, a: _lc(e, a).bind_tools([SEARCH]).invoke("Rust news"),
                      _has("type", "web_search_20250305")),
        "LlamaIndex": (lambda e, a: _li(e, a).chat([ChatMessage(role="user", content="Rust news")],
                                                   tools=[SEARCH]),
                       _has("type", "web_search_20250305")),
    },
    "image in a tool result": {
        "LangChain": (lambda e, a: _lc_tool_result(e, a, {
            "type": "image", "base64": PNG_B64, "mime_type": "image/png"}), _media("image")),
        "LlamaIndex": (lambda e, a: _li_tool_result(e, a, ImageBlock(
            image=base64.b64decode(PNG_B64), image_mimetype="image/png")), _media("image")),
    },
    "PDF in a tool result": {
        "LangChain": (lambda e, a: _lc_tool_result(e, a, {
            "type": "file", "base64": PDF_B64, "mime_type": "application/pdf",
            "filename": "r.pdf"}), _media("pdf")),
        "LlamaIndex": (lambda e, a: _li_tool_result(e, a, DocumentBlock(
            data=base64.b64decode(PDF_B64), document_mimetype="application/pdf",
            title="r.pdf")), _media("pdf")),
    },
}
CELLS = [(f, fw, api) for f, by in FEATURES.items() for fw in by for api in ENDPOINTS]


HISTORY_ONLY = "signed thinking sent back before tool use"
"""Earlier reasoning is history, not something the user asks to send: endpoints without a
reasoning input (chat completions, responses) do not get Anthropic-signed thinking
(:func:`cf_aig.policy.keeps_signed_thinking`, as ChatOpenAI drops it too). That cell reads
``not carried (policy)`` and is checked to be exactly that."""


def outcome(emu: Emulator, feature: str, framework: str, api: str) -> str:
    """``native``, ``typed refusal``, ``not carried (policy)`` or ``DROPPED: ...``."""
    emu.reset()
    run, native = FEATURES[feature][framework]
    try:
        run(emu, api)
    except ConfigurationError as exc:
        sent = [r for r in emu.requests if r.method == "POST"]
        return "typed refusal" if not sent else f"DROPPED: refused after sending ({exc})"
    bodies = [r.json for r in emu.requests if r.method == "POST"]
    if bodies and all(native(b.get("input", b) if api == "run" else b) for b in bodies[:1]):
        return "native"
    if feature == HISTORY_ONLY and not keeps_signed_thinking(ENDPOINTS[api], api):
        return "not carried (policy)"
    return "DROPPED: sent without its native form"


@pytest.mark.parametrize(("feature", "framework", "api"), CELLS)
def test_never_dropped(cf_aig_emulator: Emulator, feature: str, framework: str,
                       api: str) -> None:
    allowed = ("native", "typed refusal", "not carried (policy)") if feature == HISTORY_ONLY \
        else ("native", "typed refusal")
    assert outcome(cf_aig_emulator, feature, framework, api) in allowed


# the cells whose outcome is part of the contract, not only "not dropped"
EXPECTED_NATIVE = [
    ("cache mark on a content block", "messages"), ("cache mark on a content block", "run"),
    ("structured output (JSON schema, default method)", "messages"),
    ("structured output (JSON schema, default method)", "run"),
    ("signed thinking sent back before tool use", "messages"),
    ("signed thinking sent back before tool use", "run"),
    ("Anthropic server tool (web_search_20250305)", "messages"),
    ("image in a tool result", "messages"), ("PDF in a tool result", "run"),
]


@pytest.mark.parametrize(("feature", "api"), EXPECTED_NATIVE)
@pytest.mark.parametrize("framework", ["LangChain", "LlamaIndex"])
def test_native_on_anthropics_wire(cf_aig_emulator: Emulator, feature: str, api: str,
                                   framework: str) -> None:
    assert outcome(cf_aig_emulator, feature, framework, api) == "native"


if __name__ == "__main__":  # print the table
    with Emulator() as emulator:
        print("| feature | framework | " + " | ".join(ENDPOINTS) + " |")
        print("|---|---|" + "---|" * len(ENDPOINTS))
        for feat, by in FEATURES.items():
            for fw in by:
                cells = [outcome(emulator, feat, fw, api) for api in ENDPOINTS]
                print(f"| {feat} | {fw} | " + " | ".join(cells) + " |")
