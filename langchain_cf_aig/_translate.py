"""LangChain v1 content blocks for this package's messages (``model_provider="cloudflare"``).

LangChain asks a provider's registered translator for ``message.content_blocks`` (and for
``output_version="v1"`` content). Ours is LangChain's own best-effort parsing plus what it
cannot know: Anthropic's signed thinking (``additional_kwargs["thinking_blocks"]``) becomes
``reasoning`` blocks whose ``extras["signature"]`` keeps the signature (as
``langchain-anthropic`` reports it), and redacted thinking becomes a ``non_standard``
block, so a v1 history sent back loses nothing.

>>> from langchain_core.messages import AIMessage
>>> msg = AIMessage("Hi", response_metadata={"model_provider": "cloudflare"},
...     additional_kwargs={"reasoning_content": "hm", "thinking_blocks": [
...         {"type": "thinking", "thinking": "hm", "signature": "EqQB"}]})
>>> msg.content_blocks[0]
{'type': 'reasoning', 'reasoning': 'hm', 'extras': {'signature': 'EqQB'}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages import content as types
from langchain_core.messages.block_translators import register_translator

PROVIDER = "cloudflare"


def _best_effort(message: AIMessage) -> list[dict[str, Any]]:
    meta = {k: v for k, v in message.response_metadata.items() if k != "model_provider"}
    plain = message.model_copy(update={"response_metadata": meta})
    return [dict(b) for b in plain.content_blocks]


def signed_reasoning(thinking_blocks: Sequence[Any], chunk: bool = False) -> list[dict[str, Any]]:
    """Anthropic thinking blocks → v1 blocks (``chunk``: the text already streamed, so only
    the signature is added, under the stream's reasoning index)."""
    out: list[dict[str, Any]] = []
    for tb in thinking_blocks:
        if not isinstance(tb, Mapping):
            continue
        if tb.get("type") == "thinking":
            block: dict[str, Any] = {
                "type": "reasoning",
                "reasoning": "" if chunk else str(tb.get("thinking") or ""),
                "extras": {"signature": tb.get("signature") or ""},
            }
            if chunk:
                block["index"] = "lc_reasoning"
            out.append(block)
        else:
            out.append({"type": "non_standard", "value": dict(tb)})
    return out


def _translate(message: AIMessage, chunk: bool) -> list[types.ContentBlock]:
    blocks = _best_effort(message)
    signed = message.additional_kwargs.get("thinking_blocks")
    if signed:
        if chunk:
            blocks = blocks + signed_reasoning(signed, chunk=True)
        else:
            blocks = signed_reasoning(signed) + [b for b in blocks if b["type"] != "reasoning"]
    return cast("list[types.ContentBlock]", blocks)


def translate_content(message: AIMessage) -> list[types.ContentBlock]:
    """v1 blocks of a whole message."""
    return _translate(message, chunk=False)


def translate_content_chunk(message: AIMessageChunk) -> list[types.ContentBlock]:
    """v1 blocks of one streamed chunk."""
    return _translate(message, chunk=True)


def thinking_from_blocks(content: Any) -> list[dict[str, Any]]:
    """Signed thinking of an earlier AI turn given as content blocks: v1 ``reasoning`` with
    ``extras.signature`` (our v1 output, ChatAnthropic's), Anthropic ``thinking`` /
    ``redacted_thinking`` blocks (ChatAnthropic's v0 output), or redacted thinking kept as a
    ``non_standard`` block."""
    out: list[dict[str, Any]] = []
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        raw_extras = block.get("extras")
        extras: Mapping[str, Any] = raw_extras if isinstance(raw_extras, Mapping) else {}
        if kind == "reasoning" and extras.get("signature"):
            out.append({"type": "thinking", "thinking": str(block.get("reasoning") or ""),
                        "signature": str(extras["signature"])})
        elif kind == "thinking" and block.get("signature"):
            out.append({"type": "thinking", "thinking": str(block.get("thinking") or ""),
                        "signature": str(block["signature"])})
        elif kind == "redacted_thinking" and block.get("data"):
            out.append({"type": "redacted_thinking", "data": block["data"]})
        elif kind == "non_standard" and isinstance(block.get("value"), Mapping):
            value = block["value"]
            if value.get("type") == "redacted_thinking" and value.get("data"):
                out.append(dict(value))
    return out


register_translator(PROVIDER, translate_content, translate_content_chunk)
