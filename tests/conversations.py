"""Canonical conversations shared by every dialect's tests (and the adapters' parity tests).

Each conversation is a list of canonical (Chat Completions) messages exercising one
feature. Every text it carries is a distinct marker word, so a test can check that the
marker reached an endpoint's wire body: nothing silently lost.

``ENDPOINT_MODELS`` lists, per endpoint (the dialect registry's names), the models whose
wire forms differ: each dialect's tests run every conversation against each of them.
"""

from __future__ import annotations

import base64
from typing import Any

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()
PDF = base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()

ADD_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two integers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
    },
}

CONVERSATIONS: dict[str, list[dict[str, Any]]] = {
    "text": [
        {"role": "system", "content": "SYSTEMMARK be brief"},
        {"role": "user", "content": "USERMARK hello"},
    ],
    "multi_turn": [
        {"role": "system", "content": "SYSTEMMARK be brief"},
        {"role": "user", "content": "FIRSTMARK question"},
        {"role": "assistant", "content": "ANSWERMARK reply"},
        {"role": "user", "content": [{"type": "text", "text": "SECONDMARK follow-up"}]},
    ],
    "tool_round_trip": [
        {"role": "user", "content": "TOOLASKMARK add 2 and 3"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_MARK1", "type": "function",
             "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'}}]},
        {"role": "tool", "tool_call_id": "call_MARK1", "content": "RESULTMARK 5"},
    ],
    "parallel_tools": [
        {"role": "user", "content": "PARALLELMARK add twice"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_MARKA", "type": "function",
             "function": {"name": "add", "arguments": '{"a": 1, "b": 1}'}},
            {"id": "call_MARKB", "type": "function",
             "function": {"name": "add", "arguments": '{"a": 2, "b": 2}'}}]},
        {"role": "tool", "tool_call_id": "call_MARKA", "content": "RESULTAMARK 2"},
        {"role": "tool", "tool_call_id": "call_MARKB", "content": "RESULTBMARK 4"},
    ],
    "image": [
        {"role": "user", "content": [
            {"type": "text", "text": "IMAGEMARK what is this"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]},
    ],
    "pdf": [
        {"role": "user", "content": [
            {"type": "text", "text": "PDFMARK summarise"},
            {"type": "file", "file": {"filename": "doc.pdf",
                                      "file_data": f"data:application/pdf;base64,{PDF}"}}]},
    ],
    "reasoning_history": [
        {"role": "user", "content": "THINKASKMARK think"},
        {"role": "assistant", "content": "THOUGHTANSWERMARK done",
         "reasoning_content": "private reasoning",
         "thinking_blocks": [{"type": "thinking", "thinking": "private reasoning",
                              "signature": "SIGMARK"}]},
        {"role": "user", "content": "AGAINMARK more"},
    ],
}
"""Name → canonical messages."""

TOOLS: dict[str, list[dict[str, Any]]] = {
    "tool_round_trip": [ADD_TOOL],
    "parallel_tools": [ADD_TOOL],
}
"""The tools a conversation offers (others offer none)."""

ENDPOINT_MODELS: dict[str, tuple[str, ...]] = {
    "chat_completions": ("openai/gpt-5.5", "anthropic/claude-sonnet-4.5",
                         "@cf/moonshotai/kimi-k2.6"),
    "run": ("@cf/moonshotai/kimi-k2.6", "@cf/meta/llama-3.1-8b-instruct-fp8",
            "anthropic/claude-sonnet-4.5", "openai/gpt-5.5"),
    "messages": ("anthropic/claude-sonnet-4.5",),
    "responses": ("openai/gpt-5.5",),
}
"""Endpoint → models with distinct wire forms on it."""


def markers(messages: list[dict[str, Any]]) -> set[str]:
    """The marker words (``...MARK...``) a conversation's texts and ids carry, except in
    reasoning that no endpoint takes back (``reasoning_content``)."""
    found: set[str] = set()

    def scan(value: Any) -> None:
        if isinstance(value, str):
            found.update(w for w in value.split() if "MARK" in w)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key not in ("reasoning_content", "thinking_blocks"):
                    scan(item)
        elif isinstance(value, list):
            for item in value:
                scan(item)

    scan(messages)
    return found


def request(name: str, model: str) -> dict[str, Any]:
    """A canonical request for conversation ``name`` to ``model``."""
    out: dict[str, Any] = {"model": model, "messages": CONVERSATIONS[name]}
    if name in TOOLS:
        out["tools"] = TOOLS[name]
    return out


FEATURES: dict[str, tuple[str, dict[str, Any]]] = {
    "stop": ("stop_sequences", {"stop": ["ENDMARK"]}),
    "json_schema": ("json_schema", {"response_format": {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "object"}}}}),
    "json_mode": ("json_mode", {"response_format": {"type": "json_object"}}),
    "audio": ("audio", {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "AUDIOMARK listen"},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}]}]}),
    "tool_result_image": ("tool_result_images", {"tools": [ADD_TOOL], "messages": [
        {"role": "user", "content": "TOOLIMGMARK chart it"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_img", "type": "function",
             "function": {"name": "add", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_img", "content": [
            {"type": "text", "text": "the chart"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}]}),
}
"""Request feature → (the ``Capabilities`` field declaring it, what it adds to the
``text`` conversation's request)."""


def feature_request(name: str, model: str) -> dict[str, Any]:
    """The ``text`` conversation's request to ``model`` with feature ``name`` added."""
    return {**request("text", model), **FEATURES[name][1]}
