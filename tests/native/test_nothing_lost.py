"""Nothing silently lost: every content block kind each framework defines x the four
endpoints x both adapters.

The block kinds are read from the frameworks themselves (LangChain's
``KNOWN_BLOCK_TYPES``, the members of LlamaIndex's ``ContentBlock`` union), so a block a
new framework release adds shows up here as a failure ("no generator") until it is
handled. Each generated input carries a unique marker. A cell passes when either

* **native**: the request reached the emulator, the marker is in the body in a structured
  place (not inside a JSON dump of the block in a text field), and the body validates
  against the endpoint's schema (OpenAI's for chat completions and responses); or
* **refused**: a typed error (``ConfigurationError``/``ValueError``) was raised and no
  request was sent; or
* **not resent**: the kind is an *output* of an earlier assistant turn that the endpoint has
  no field for (reasoning text without an Anthropic signature, streamed-chunk kinds): the
  documented policy, listed in :data:`NOT_RESENT`.

Anything else (**dropped**, **stringified**, **provider error**) fails. Run with
``CF_AIG_PRINT_MATRIX=1 pytest -s`` to print the table.
"""

from __future__ import annotations

import base64
import json
import os
import typing
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.messages.content import KNOWN_BLOCK_TYPES
from llama_index.core.base.llms import types as li_types
from llama_index.core.base.llms.types import ChatMessage

from cf_aig.emulator import Emulator
from cf_aig.testing import EMULATOR_TOKEN
from langchain_cf_aig import ChatCloudflareAIGateway
from llama_index_cf_aig import CloudflareAIGateway

from .wire_schemas import validate

ENDPOINTS = {
    "chat_completions": "openai/gpt-5.5",
    "run": "@cf/moonshotai/kimi-k2.6",
    "messages": "anthropic/claude-sonnet-4.5",
    "responses": "openai/gpt-5.5",
}
SCHEMA = {"chat_completions": "CreateChatCompletionRequest", "responses": "CreateResponse"}

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8zqxA")
PNG_B64 = base64.b64encode(PNG).decode()
PDF_B64 = base64.b64encode(b"%PDF-1.4 zqx-pdf-marker").decode()
WAV_B64 = base64.b64encode(b"RIFF....WAVEzqx-audio").decode()
MP4_B64 = base64.b64encode(b"....ftypzqx-video").decode()
IMG_URL = "https://img.example/zqx-image.png"
PDF_URL = "https://files.example/zqx-report.pdf"
CALL = {"name": "zqx_tool", "args": {"q": "zqx-args"}, "id": "call_zqx", "type": "tool_call"}

Case = tuple[list[Any], str]  # framework messages, marker to find on the wire

# --------------------------------------------------------------------------- LangChain


def _lc_user(*blocks: dict[str, Any]) -> list[BaseMessage]:
    return [HumanMessage(content=list(blocks))]


def _lc_assistant(block: dict[str, Any], **kw: Any) -> list[BaseMessage]:
    return [HumanMessage("zqx question"), AIMessage(content=[block], **kw),
            HumanMessage("go on")]


def _lc_tool_result(block: dict[str, Any]) -> list[BaseMessage]:
    return [HumanMessage("zqx question"), AIMessage("", tool_calls=[CALL]),
            ToolMessage(content=[block], tool_call_id="call_zqx")]


LC_CASES: dict[str, Callable[[], Case]] = {
    "text": lambda: (_lc_user({"type": "text", "text": "zqx-text"}), "zqx-text"),
    "text-plain": lambda: (_lc_user({"type": "text-plain", "text": "zqx-plain",
                                     "mime_type": "text/plain"}), "zqx-plain"),
    "image": lambda: (_lc_user({"type": "image", "base64": PNG_B64,
                                "mime_type": "image/png"}), PNG_B64),
    "image (url)": lambda: (_lc_user({"type": "image", "url": IMG_URL}), IMG_URL),
    "file": lambda: (_lc_user({"type": "file", "base64": PDF_B64,
                               "mime_type": "application/pdf"}), PDF_B64),
    "file (url)": lambda: (_lc_user({"type": "file", "url": PDF_URL,
                                     "mime_type": "application/pdf"}), PDF_URL),
    "audio": lambda: (_lc_user({"type": "audio", "base64": WAV_B64,
                                "mime_type": "audio/wav"}), WAV_B64),
    "video": lambda: (_lc_user({"type": "video", "base64": MP4_B64,
                                "mime_type": "video/mp4"}), MP4_B64),
    "non_standard": lambda: (_lc_user({"type": "non_standard",
                                       "value": {"zqx": "zqx-nonstandard"}}),
                             "zqx-nonstandard"),
    "reasoning": lambda: (_lc_assistant({"type": "reasoning", "reasoning": "zqx-reason"}),
                          "zqx-reason"),
    "refusal": lambda: (_lc_assistant({"type": "refusal", "refusal": "zqx-refusal"}),
                        "zqx-refusal"),
    "tool_call": lambda: ([*_lc_tool_result({"type": "text", "text": "zqx-result"})[:2],
                           ToolMessage("zqx-result", tool_call_id="call_zqx")], "zqx-args"),
    "invalid_tool_call": lambda: ([HumanMessage("q"), AIMessage("", invalid_tool_calls=[
        {"type": "invalid_tool_call", "name": "zqx_tool", "args": "{zqx-broken",
         "id": "call_zqx", "error": "bad json"}]),
        ToolMessage("fix it", tool_call_id="call_zqx")], "zqx-broken"),
    "server_tool_call": lambda: (_lc_assistant(
        {"type": "server_tool_call", "id": "ws_zqx", "name": "web_search",
         "args": {"query": "zqx-search"}}), "zqx-search"),
    "server_tool_result": lambda: ([HumanMessage("zqx question"), AIMessage(content=[
        {"type": "server_tool_call", "id": "ws_zqx", "name": "web_search", "args": {}},
        {"type": "server_tool_result", "tool_call_id": "ws_zqx", "status": "success",
         "output": "zqx-found"}]), HumanMessage("go on")], "zqx-found"),
    "server_tool_call (a responses item)": lambda: (_lc_assistant(
        {"type": "server_tool_call", "id": "ws_zqx", "name": "web_search",
         "args": {"type": "search", "query": "zqx-item"}, "extras": {"native": {
             "type": "web_search_call", "id": "ws_zqx", "status": "completed",
             "action": {"type": "search", "query": "zqx-item"}}}}), "zqx-item"),
    "tool result: image": lambda: (_lc_tool_result(
        {"type": "image", "base64": PNG_B64, "mime_type": "image/png"}), PNG_B64),
    "tool result: file": lambda: (_lc_tool_result(
        {"type": "file", "base64": PDF_B64, "mime_type": "application/pdf"}), PDF_B64),
}
"""One generator per LangChain block kind (plus variants: by URL, inside tool results)."""

LC_STREAM_ONLY = {"tool_call_chunk", "server_tool_call_chunk"}
"""Kinds that exist only in streamed ``AIMessageChunk``s: never framework input."""

# --------------------------------------------------------------------------- LlamaIndex


def _li_user(*blocks: Any) -> list[ChatMessage]:
    return [ChatMessage(role="user", blocks=list(blocks))]


def _li_assistant(*blocks: Any) -> list[ChatMessage]:
    return [ChatMessage(role="user", content="zqx question"),
            ChatMessage(role="assistant", blocks=list(blocks)),
            ChatMessage(role="user", content="go on")]


def _li_tool_result(*blocks: Any) -> list[ChatMessage]:
    return [ChatMessage(role="user", content="zqx question"),
            ChatMessage(role="assistant", blocks=[li_types.ToolCallBlock(
                tool_call_id="call_zqx", tool_name="zqx_tool", tool_kwargs={"q": "x"})]),
            ChatMessage(role="tool", blocks=list(blocks),
                        additional_kwargs={"tool_call_id": "call_zqx"})]


LI_CASES: dict[str, Callable[[], Case]] = {
    "TextBlock": lambda: (_li_user(li_types.TextBlock(text="zqx-text")), "zqx-text"),
    "ImageBlock": lambda: (_li_user(li_types.ImageBlock(image=PNG, image_mimetype="image/png")),
                           PNG_B64),
    "ImageBlock (url)": lambda: (_li_user(li_types.ImageBlock(url=IMG_URL)), IMG_URL),
    "AudioBlock": lambda: (_li_user(li_types.AudioBlock(audio=base64.b64decode(WAV_B64),
                                                        format="wav")), WAV_B64),
    "VideoBlock": lambda: (_li_user(li_types.VideoBlock(video=base64.b64decode(MP4_B64))),
                           MP4_B64),
    "DocumentBlock": lambda: (_li_user(li_types.DocumentBlock(
        data=base64.b64decode(PDF_B64), document_mimetype="application/pdf")), PDF_B64),
    "DocumentBlock (url)": lambda: (_li_user(li_types.DocumentBlock(url=PDF_URL)), PDF_URL),
    "CachePoint": lambda: (_li_user(li_types.TextBlock(text="zqx-cached"),
                                    li_types.CachePoint(cache_control=li_types.CacheControl(
                                        type="ephemeral"))), "ephemeral"),
    "CitableBlock": lambda: (_li_user(li_types.CitableBlock(
        content=[li_types.TextBlock(text="zqx-citable")], source="https://s.example/zqx",
        title="zqx")), "zqx-citable"),
    "CitationBlock": lambda: (_li_user(li_types.CitationBlock(
        cited_content=li_types.TextBlock(text="zqx-cited"), source="https://s.example/zqx",
        title="t", additional_location_info={})), "zqx-cited"),
    "ThinkingBlock": lambda: (_li_assistant(li_types.ThinkingBlock(content="zqx-thinking"),
                                            li_types.TextBlock(text="answer")), "zqx-thinking"),
    "ToolCallBlock": lambda: (_li_tool_result(li_types.TextBlock(text="zqx-result")),
                              "zqx-result"),
    "tool result: ImageBlock": lambda: (_li_tool_result(
        li_types.ImageBlock(image=PNG, image_mimetype="image/png")), PNG_B64),
    "tool result: DocumentBlock": lambda: (_li_tool_result(li_types.DocumentBlock(
        data=base64.b64decode(PDF_B64), document_mimetype="application/pdf")), PDF_B64),
}
"""One generator per LlamaIndex block class (plus variants)."""

NOT_RESENT = {
    # Reasoning text of an earlier turn has no field on OpenAI-style wires, and unsigned
    # thinking cannot go back to Anthropic (the signature proves it): not resent.
    *(("reasoning", api) for api in ENDPOINTS),
    *(("ThinkingBlock", api) for api in ENDPOINTS),
    # A provider-run tool turn is replayed only to the provider that ran it, with its own
    # item (a Responses web_search_call, an Anthropic server_tool_use); elsewhere, and
    # when hand-built without that item, its outcome stays in the turn's text.
    *(("server_tool_call", api) for api in ENDPOINTS),
    *(("server_tool_result", api) for api in ENDPOINTS),
    *(("server_tool_call (a responses item)", api) for api in ENDPOINTS
      if api != "responses"),
}


def _li_kinds() -> set[str]:
    union = typing.get_args(li_types.ContentBlock)[0]
    return {cls.__name__ for cls in typing.get_args(union)}


def test_every_framework_block_kind_has_a_generator() -> None:
    lc_missing = set(KNOWN_BLOCK_TYPES) - LC_STREAM_ONLY - {k.split(" ")[0] for k in LC_CASES}
    li_missing = _li_kinds() - {k.split(" ")[0] for k in LI_CASES}
    assert not lc_missing, f"new LangChain block kinds without a generator: {lc_missing}"
    assert not li_missing, f"new LlamaIndex block kinds without a generator: {li_missing}"


# --------------------------------------------------------------------------- the check


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def _classify(emu: Emulator, api: str, send: Callable[[], Any], marker: str) -> str:
    emu.reset()
    try:
        send()
    except (ValueError, TypeError) as exc:  # ConfigurationError is a ValueError
        if not [r for r in emu.requests if r.method == "POST"]:
            return "refused"
        return f"PROVIDER ERROR: {str(exc)[:80]}"
    except Exception as exc:
        return f"PROVIDER ERROR: {type(exc).__name__}: {str(exc)[:80]}"
    body = [r for r in emu.requests if r.method == "POST"][-1].json
    holders = [s for s in _strings(body) if marker in s]
    if not holders:
        return "DROPPED"
    if all('"type"' in s and s != marker and not s.endswith(marker) and
           not s.startswith(("data:", "http")) for s in holders):
        return "STRINGIFIED"
    if api in SCHEMA:
        validate(body, SCHEMA[api])
    return "native"


def _lc_send(emu: Emulator, api: str, messages: list[Any]) -> Callable[[], Any]:
    model = ChatCloudflareAIGateway(model=ENDPOINTS[api], api=api, max_retries=0,
                                    account_id=emu.account_id, api_token=EMULATOR_TOKEN,
                                    base_url=emu.base_url)
    return lambda: model.invoke(messages)


def _li_send(emu: Emulator, api: str, messages: list[Any]) -> Callable[[], Any]:
    llm = CloudflareAIGateway(model=ENDPOINTS[api], api=api, max_retries=0,
                              account_id=emu.account_id, api_token=EMULATOR_TOKEN,
                              base_url=emu.base_url)
    return lambda: llm.chat(messages)


MATRIX: dict[tuple[str, str, str], str] = {}


@pytest.mark.parametrize("api", list(ENDPOINTS))
@pytest.mark.parametrize(("adapter", "kind"), [("LangChain", k) for k in LC_CASES]
                         + [("LlamaIndex", k) for k in LI_CASES])
def test_block_reaches_the_wire_natively_or_is_refused(
        cf_aig_emulator: Emulator, adapter: str, kind: str, api: str) -> None:
    messages, marker = (LC_CASES if adapter == "LangChain" else LI_CASES)[kind]()
    send = (_lc_send if adapter == "LangChain" else _li_send)(cf_aig_emulator, api, messages)
    outcome = _classify(cf_aig_emulator, api, send, marker)
    if outcome == "DROPPED" and ((kind, api) in NOT_RESENT
                                 or (kind.split(" ")[0], api) in NOT_RESENT):
        outcome = "not resent"
    MATRIX[(adapter, kind, api)] = outcome
    assert outcome in ("native", "refused", "not resent"), (adapter, kind, api, outcome)


def test_print_matrix() -> None:  # runs last in this module (definition order)
    if not os.environ.get("CF_AIG_PRINT_MATRIX") or not MATRIX:
        return
    kinds = list(dict.fromkeys((a, k) for a, k, _ in MATRIX))
    columns = list(dict.fromkeys([*ENDPOINTS, *(api for _, _, api in MATRIX)]))
    print("\n| adapter | feature | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for adapter, kind in kinds:
        cells = [MATRIX.get((adapter, kind, api), "-") for api in columns]
        print(f"| {adapter} | {kind} | " + " | ".join(cells) + " |")
    print(json.dumps({"cells": len(MATRIX)}))


# --------------------------------------------------------------------------- request fields
# Every request field of both classes (read from the classes: a new field fails until it
# has a sample here) x the four endpoints: its value reaches the body (under the
# endpoint's own name: found by value, or by the translation in FOUND) or is refused.

FIELD_SAMPLES: dict[str, Any] = {
    "temperature": 0.37, "top_p": 0.83, "seed": 91731, "max_tokens": 1234,
    "frequency_penalty": 0.41, "presence_penalty": 0.29, "stop": ["zqxstop"],
    "reasoning_effort": "low", "thinking": {"type": "enabled", "budget_tokens": 3000},
    "reasoning": {"effort": "low"}, "effort": "high", "n": 2, "logprobs": True,
    "top_logprobs": 3,
}
NOT_REQUEST_FIELDS = {
    "api", "model",  # choose the endpoint and model themselves
    "extra_body", "model_kwargs", "additional_kwargs",  # raw body fields, sent as given
    "streaming", "stream_usage",  # transport of the answer
    "send_run_id", "metadata_to_gateway",  # gateway headers (tested with the headers)
    "strict", "structured_output",  # tool / structured-output calls (tested there)
    "fallback_models",  # which models are tried (tests/native/test_fallback.py)
}


def _thinking_budget(body: dict[str, Any]) -> bool:
    return isinstance((body.get("thinking") or {}).get("budget_tokens"), int)


FOUND: dict[tuple[str, str], Callable[[dict[str, Any]], bool]] = {
    ("reasoning_effort", "messages"): _thinking_budget,
    ("reasoning", "messages"): _thinking_budget,
    ("reasoning", "chat_completions"): lambda b: b.get("reasoning_effort") == "low",
    ("reasoning", "run"): lambda b: b.get("reasoning_effort") == "low",
    ("thinking", "chat_completions"): lambda b: b.get("reasoning_effort") == "medium",
    ("thinking", "run"): lambda b: b.get("reasoning_effort") == "medium",
    ("thinking", "responses"): lambda b: b.get("reasoning") == {"effort": "medium"},
    ("logprobs", "responses"): lambda b: "message.output_text.logprobs" in b.get("include", []),
}


def _leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [node, *(x for v in node.values() for x in _leaves(v))]
    if isinstance(node, list):
        return [node, *(x for v in node for x in _leaves(v))]
    return [node]


def _request_fields(cls: type, *bases: type) -> set[str]:
    names = set(cls.model_fields)  # type: ignore[attr-defined]
    for base in bases:
        names -= set(base.model_fields)  # type: ignore[attr-defined]
    return names - NOT_REQUEST_FIELDS


def test_every_request_field_has_a_sample() -> None:
    from langchain_core.language_models import BaseChatModel
    from llama_index.core.llms.function_calling import FunctionCallingLLM

    from langchain_cf_aig._settings import GatewaySettings as LCSettings
    from llama_index_cf_aig._settings import GatewaySettings as LISettings

    missing = (_request_fields(ChatCloudflareAIGateway, LCSettings, BaseChatModel)
               | _request_fields(CloudflareAIGateway, LISettings, FunctionCallingLLM)
               ) - set(FIELD_SAMPLES)
    assert not missing, f"request fields without a sample: {missing}"


@pytest.mark.parametrize("api", list(ENDPOINTS))
@pytest.mark.parametrize("adapter", ["LangChain", "LlamaIndex"])
@pytest.mark.parametrize("field", list(FIELD_SAMPLES))
def test_request_field_reaches_the_wire_or_is_refused(
        cf_aig_emulator: Emulator, adapter: str, field: str, api: str) -> None:
    cls: Any = ChatCloudflareAIGateway if adapter == "LangChain" else CloudflareAIGateway
    if field not in cls.model_fields:
        pytest.skip(f"{adapter} has no {field} field")
    value = FIELD_SAMPLES[field]
    cf_aig_emulator.reset()
    model = cls(model=ENDPOINTS[api], api=api, max_retries=0, account_id=cf_aig_emulator.account_id,
                api_token=EMULATOR_TOKEN, base_url=cf_aig_emulator.base_url, **{field: value})
    try:
        if adapter == "LangChain":
            model.invoke([HumanMessage("zqx")])
        else:
            model.chat([ChatMessage(role="user", content="zqx")])
    except ValueError:
        assert not [r for r in cf_aig_emulator.requests if r.method == "POST"]
        MATRIX[(adapter, f"field {field}", api)] = "refused"
        return
    body = [r for r in cf_aig_emulator.requests if r.method == "POST"][-1].json
    inner = body["input"] if api == "run" and isinstance(body.get("input"), dict) else body
    found = FOUND.get((field, api))
    if found is not None:
        ok = found(inner)
    else:
        ok = any(leaf == value and type(leaf) is type(value) for leaf in _leaves(inner))
    MATRIX[(adapter, f"field {field}", api)] = "native" if ok else "DROPPED"
    assert ok, (adapter, field, api, inner)
    if api in SCHEMA:
        validate(body, SCHEMA[api])


def test_print_field_matrix() -> None:
    test_print_matrix()


# --------------------------------------------------------------------------- tool fields
# A function tool's name, description, parameter schema and strict flag, bound through
# each adapter's own tool API, x the four endpoints (plus a classic Workers AI model).

TOOL_ENDPOINTS = {**ENDPOINTS, "run (classic)": "@cf/meta/llama-3.3-70b-instruct-fp8-fast"}


def zqx_lookup(zqx_param: str) -> str:
    """zqx-desc: look the parameter up."""
    return zqx_param


def _strict_found(body: dict[str, Any]) -> bool:
    tool = body["tools"][0]
    return (tool.get("function") or tool).get("strict") is True


@pytest.mark.parametrize("target", list(TOOL_ENDPOINTS))
@pytest.mark.parametrize("adapter", ["LangChain", "LlamaIndex"])
@pytest.mark.parametrize("strict", [False, True])
def test_tool_fields_reach_the_wire_or_are_refused(
        cf_aig_emulator: Emulator, adapter: str, target: str, strict: bool) -> None:
    from langchain_core.tools import tool as lc_tool
    from llama_index.core.tools import FunctionTool

    api = target.split(" ")[0]
    kw: dict[str, Any] = {"model": TOOL_ENDPOINTS[target], "api": api, "max_retries": 0,
                          "account_id": cf_aig_emulator.account_id,
                          "api_token": EMULATOR_TOKEN, "base_url": cf_aig_emulator.base_url}
    cf_aig_emulator.reset()
    try:
        if adapter == "LangChain":
            ChatCloudflareAIGateway(**kw).bind_tools(
                [lc_tool(zqx_lookup)], strict=strict).invoke("use zqx_lookup")
        else:
            CloudflareAIGateway(**kw).chat_with_tools(
                [FunctionTool.from_defaults(zqx_lookup)], user_msg="use zqx_lookup",
                strict=strict)
    except ValueError:
        assert strict and not [r for r in cf_aig_emulator.requests if r.method == "POST"]
        MATRIX[(adapter, f"tool strict={strict}", target)] = "refused"
        return
    body = [r for r in cf_aig_emulator.requests if r.method == "POST"][-1].json
    inner = body["input"] if api == "run" and isinstance(body.get("input"), dict) else body
    wire = json.dumps(inner["tools"])
    assert "zqx_lookup" in wire and "zqx-desc" in wire and "zqx_param" in wire
    if strict:
        assert _strict_found(inner), (adapter, target, inner["tools"])
    if api in SCHEMA:
        validate(body, SCHEMA[api])
    MATRIX[(adapter, f"tool strict={strict}", target)] = "native"


def test_print_tool_matrix() -> None:
    test_print_matrix()
