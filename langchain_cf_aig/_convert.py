"""Pure converters between LangChain types and the core's canonical (Chat Completions) dicts.

Nothing here does I/O or holds state across calls, except :class:`ChunkConverter`, which
folds one stream's canonical chunks into LangChain chunks (one instance per stream,
shared by the sync and async paths).

>>> from langchain_core.messages import HumanMessage
>>> message_to_dict(HumanMessage("Hi"))
{'role': 'user', 'content': 'Hi'}

Decisions both adapters share (tool choice, usage details, max tokens, signed thinking)
are the core's :mod:`cf_aig.policy`; this module only translates.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.block_translators.openai import convert_to_openai_data_block
from langchain_core.messages.content import is_data_content_block
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from cf_aig import GatewayInfo
from cf_aig.accumulate import native_stop_of
from cf_aig.policy import build_tool_call, token_usage

from ._translate import (  # also registers the v1 block translator
    signed_reasoning,
    thinking_from_blocks,
)

MODEL_PROVIDER = "cloudflare"
"""``response_metadata["model_provider"]``; the upstream provider is in ``gateway``."""

_DEVELOPER = "developer"


# --------------------------------------------------------------------------- requests


def _block_text(block: Any) -> str | None:
    if isinstance(block, str):
        return block
    if isinstance(block, Mapping) and block.get("type") in ("text", "text-plain"):
        text = block.get("text")
        return text if isinstance(text, str) else ""
    if isinstance(block, Mapping) and block.get("type") == "refusal":
        # an earlier refusal is what the assistant said: its text goes as the turn's text
        text = block.get("refusal")
        return text if isinstance(text, str) else ""
    return None


def _is_redacted(block: Any) -> bool:
    value = block.get("value") if isinstance(block, Mapping) else None
    return (
        isinstance(block, Mapping)
        and block.get("type") == "non_standard"
        and isinstance(value, Mapping)
        and value.get("type") == "redacted_thinking"
    )


def content_to_text(content: str | list[Any]) -> str:
    """Text of a content (string or list of blocks); non-text blocks become JSON."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        text = _block_text(block)
        if text is not None:
            parts.append(text)
        elif isinstance(block, Mapping) and block.get("type") in (
            "reasoning",
            "thinking",
            "tool_call",
            "tool_use",
            "function_call",
            "server_tool_call",
            "server_tool_result",
            "redacted_thinking",
        ):
            continue  # not text; provider-run tool turns travel as canonical fields
        elif _is_redacted(block):
            continue  # signed thinking travels as thinking_blocks
        else:
            parts.append(json.dumps(block, ensure_ascii=False, default=str))
    return "".join(parts)


def _anthropic_image(block: Mapping[str, Any]) -> dict[str, Any] | None:
    source = block.get("source")
    if not isinstance(source, Mapping):
        return None
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
    elif source.get("type") == "url":
        url = str(source.get("url"))
    else:
        return None
    return {"type": "image_url", "image_url": {"url": url}}


def cache_mark(block: Any) -> Any:
    """A block's Anthropic ``cache_control`` (on the block, or in a v1 block's ``extras``)."""
    if not isinstance(block, Mapping):
        return None
    mark = block.get("cache_control")
    extras = block.get("extras")
    if mark is None and isinstance(extras, Mapping):
        mark = extras.get("cache_control")
    return mark


def _marked(content: Any) -> bool:
    return isinstance(content, list) and any(cache_mark(b) for b in content)


def content_part(block: Any) -> dict[str, Any] | None:
    """One content block (OpenAI, LangChain v0/v1 standard, Anthropic) → a canonical part,
    its ``cache_control`` kept (the endpoints without prompt-cache marks refuse it).

    Returns ``None`` for blocks that carry nothing for the model (reasoning, tool calls).
    """
    part = _bare_part(block)
    mark = cache_mark(block)
    if part is not None and mark and "cache_control" not in part:
        part = {**part, "cache_control": dict(mark)}
    return part


def _bare_part(block: Any) -> dict[str, Any] | None:
    if isinstance(block, str):
        return {"type": "text", "text": block}
    if not isinstance(block, Mapping):
        raise ValueError(f"unsupported content block {block!r}")
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": block.get("text", "")}
    if kind == "text-plain" and isinstance(block.get("text"), str):  # a plain-text document
        return {"type": "text", "text": block["text"]}
    if kind == "non_standard" and isinstance(block.get("value"), Mapping) \
            and not _is_redacted(block):
        return dict(block["value"])  # the provider's own part, as LangChain defines it
    if kind == "image_url":
        url = block.get("image_url")
        return (
            {"type": "image_url", "image_url": {"url": url}}
            if isinstance(url, str)
            else {"type": "image_url", "image_url": dict(url or {})}
        )
    if kind in ("reasoning", "thinking", "redacted_thinking", "tool_call", "tool_use",
                "function_call") or _is_redacted(block):
        return None
    if kind == "image" and "source" in block:
        part = _anthropic_image(block)
        if part is not None:
            return part
    if kind == "document" and isinstance(block.get("source"), Mapping):
        src = block["source"]
        if src.get("type") == "base64":
            return {
                "type": "file",
                "file": {
                    "filename": "document.pdf",
                    "file_data": f"data:{src.get('media_type')};base64,{src.get('data')}",
                },
            }
    if isinstance(kind, str) and is_data_content_block(dict(block)):
        if kind == "file" and "url" in block:  # endpoints that fetch files take it
            spec = {"file_url": str(block["url"])}
            name = block.get("filename") or (block.get("extras") or {}).get("filename")
            if name:
                spec["filename"] = str(name)
            return {"type": "file", "file": spec}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the placeholder-filename warning
            return convert_to_openai_data_block(dict(block))
    return dict(block)


def _parts(content: str | list[Any]) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts = [p for p in (content_part(b) for b in content) if p is not None]
    if all(p.get("type") == "text" and "cache_control" not in p for p in parts):
        return "".join(p.get("text", "") for p in parts)
    return parts


def _mark_last(out: dict[str, Any], mark: Any) -> None:
    """A message-level ``cache_control`` (``additional_kwargs``, as ChatAnthropic takes it)
    goes on the message's last block: its last content part, else its last tool call."""
    content = out.get("content")
    if isinstance(content, str) and content:
        out["content"] = [{"type": "text", "text": content, "cache_control": dict(mark)}]
    elif isinstance(content, list) and content:
        out["content"] = [*content[:-1], {**content[-1], "cache_control": dict(mark)}]
    elif out.get("tool_calls"):
        out["tool_calls"][-1] = {**out["tool_calls"][-1], "cache_control": dict(mark)}
    else:
        raise ValueError("cache_control on an empty message: there is no block to mark")


def tool_result_content(content: str | list[Any]) -> str | list[dict[str, Any]]:
    """A tool result: a string when it is all text; else canonical parts (images and files
    kept as such, for the endpoints that take them in tool results: the others refuse them
    before sending, never as JSON text)."""
    if isinstance(content, str):
        return content
    if not any(_is_media(b) or cache_mark(b) for b in content):
        return content_to_text(content)  # other structured blocks go as JSON text
    parts: list[dict[str, Any]] = []
    for block in content:
        keep = _is_media(block) or (cache_mark(block) and _block_text(block) is not None)
        part = content_part(block) if keep else None
        if part is not None:
            parts.append(part)
            continue
        text = content_to_text([block])
        if text:
            parts.append({"type": "text", "text": text})
    return parts


_MEDIA = frozenset({"image_url", "image", "file", "audio", "input_audio", "document"})


def _is_media(block: Any) -> bool:
    return isinstance(block, Mapping) and block.get("type") in _MEDIA


def server_calls_from_blocks(content: str | list[Any]) -> list[dict[str, Any]]:
    """``server_tool_call`` blocks of an earlier AI turn → canonical ``server_tool_calls``
    (with the provider's own item, kept in ``extras["native"]``, for the round trip)."""
    if isinstance(content, str):
        return []
    out = []
    for block in content:
        if isinstance(block, Mapping) and block.get("type") == "server_tool_call":
            call = {"id": block.get("id") or "", "name": block.get("name") or "",
                    "args": dict(block.get("args") or {})}
            native = (block.get("extras") or {}).get("native")
            if isinstance(native, Mapping):
                call["native"] = dict(native)
            out.append(call)
    return out


def server_results_from_blocks(content: str | list[Any]) -> list[dict[str, Any]]:
    """``server_tool_result`` blocks of an earlier AI turn → canonical
    ``server_tool_results`` (Anthropic needs each result sent back after its call)."""
    out = []
    for block in content if isinstance(content, list) else ():
        if isinstance(block, Mapping) and block.get("type") == "server_tool_result":
            result = {"tool_call_id": block.get("tool_call_id") or "",
                      "status": block.get("status") or "success", "output": block.get("output")}
            native = (block.get("extras") or {}).get("native")
            if isinstance(native, Mapping):
                result["native"] = dict(native)
            out.append(result)
    return out


def citation(annotation: Mapping[str, Any]) -> dict[str, Any]:
    """A canonical annotation → a LangChain v1 ``citation`` (or a non-standard one)."""
    kind = annotation.get("type")
    body = annotation.get(kind) if isinstance(kind, str) else None
    if kind == "url_citation" and isinstance(body, Mapping):
        out: dict[str, Any] = {"type": "citation"}
        for key in ("url", "title", "start_index", "end_index", "cited_text"):
            if body.get(key) is not None:
                out[key] = body[key]
        return out
    return {"type": "non_standard_annotation", "value": dict(annotation)}


def server_tool_blocks(message: Mapping[str, Any], index: bool = False) -> list[dict[str, Any]]:
    """Canonical provider-run tool calls and results → LangChain v1 ``server_tool_call`` /
    ``server_tool_result`` blocks (``index``: stream indices that never collide)."""
    blocks: list[dict[str, Any]] = []
    for call in message.get("server_tool_calls") or ():
        block: dict[str, Any] = {"type": "server_tool_call", "id": call.get("id") or "",
                                 "name": call.get("name") or "",
                                 "args": dict(call.get("args") or {})}
        if call.get("native"):
            block["extras"] = {"native": call["native"]}
        if index:
            block["index"] = f"lc_stc_{block['id']}"
        blocks.append(block)
    for result in message.get("server_tool_results") or ():
        block = {"type": "server_tool_result", "tool_call_id": result.get("tool_call_id") or "",
                 "status": result.get("status") or "success"}
        if result.get("output") is not None:
            block["output"] = result["output"]
        if result.get("native"):
            block["extras"] = {"native": result["native"]}
        if index:
            block["index"] = f"lc_str_{block['tool_call_id']}"
        blocks.append(block)
    return blocks


def _tool_call_dict(call: ToolCall | InvalidToolCall) -> dict[str, Any]:
    return dict(build_tool_call(call.get("id"), call.get("name") or "", call.get("args")))


def message_to_dict(message: BaseMessage, keep_thinking: bool = False) -> dict[str, Any]:
    """A LangChain message → a canonical chat message dict.

    Assistant turns with tool calls carry ``content: ""`` (never null); tool results
    are always strings. ``keep_thinking`` sends back signed ``thinking_blocks`` (Anthropic
    Messages needs them on tool-use turns; other endpoints would reject the field).
    """
    out: dict[str, Any]
    if isinstance(message, HumanMessage):
        out = {"role": "user", "content": _parts(message.content)}
    elif isinstance(message, AIMessage):
        out = {
            "role": "assistant",
            "content": _parts(message.content)
            if _marked(message.content)
            else content_to_text(message.content),
        }
        calls = [_tool_call_dict(c) for c in message.tool_calls]
        calls += [_tool_call_dict(c) for c in message.invalid_tool_calls]
        if calls:
            out["tool_calls"] = calls
        server_calls = server_calls_from_blocks(message.content)
        if server_calls:
            out["server_tool_calls"] = server_calls
        server_results = server_results_from_blocks(message.content)
        if server_results:
            out["server_tool_results"] = server_results
        if keep_thinking:  # ours (additional_kwargs) or from v1/Anthropic content blocks
            signed = message.additional_kwargs.get("thinking_blocks") or thinking_from_blocks(
                message.content
            )
            if signed:
                out["thinking_blocks"] = list(signed)
    elif isinstance(message, ToolMessage):
        out = {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": tool_result_content(message.content),
        }
    elif isinstance(message, SystemMessage):
        role = message.additional_kwargs.get("__openai_role__") or "system"
        out = {"role": role, "content": _parts(message.content)}
    elif isinstance(message, ChatMessage):
        role = {"human": "user", "ai": "assistant"}.get(message.role, message.role)
        if role not in ("system", _DEVELOPER, "user", "assistant", "tool"):
            raise ValueError(f"unsupported chat message role {message.role!r}")
        out = {"role": role, "content": _parts(message.content)}
    elif isinstance(message, FunctionMessage):
        out = {"role": "tool", "tool_call_id": message.name, "content": message.text}
    else:
        raise ValueError(f"unsupported message type {type(message).__name__}")
    if message.name and out["role"] in ("user", "assistant", "system", _DEVELOPER):
        out["name"] = message.name
    mark = message.additional_kwargs.get("cache_control")
    if mark:
        _mark_last(out, mark)
    return out


def messages_to_dicts(
    messages: Sequence[BaseMessage], keep_thinking: bool = False
) -> list[dict[str, Any]]:
    return [message_to_dict(m, keep_thinking) for m in messages]


# --------------------------------------------------------------------------- responses


def usage_to_metadata(usage: Mapping[str, Any]) -> UsageMetadata:
    """Canonical ``usage`` → LangChain ``UsageMetadata`` (cache reads and writes, reasoning),
    through the core's neutral :class:`cf_aig.policy.TokenUsage`."""
    u = token_usage(usage)
    if u is None:
        return UsageMetadata(input_tokens=0, output_tokens=0, total_tokens=0)
    meta = UsageMetadata(
        input_tokens=u.input_tokens, output_tokens=u.output_tokens, total_tokens=u.total_tokens
    )
    details: dict[str, int] = {}
    if u.cache_read is not None:
        details["cache_read"] = u.cache_read
    if u.cache_creation is not None:
        details["cache_creation"] = u.cache_creation
    if details:
        meta["input_token_details"] = details  # type: ignore[typeddict-item]
    if u.reasoning is not None:
        meta["output_token_details"] = {"reasoning": u.reasoning}
    return meta


def parse_tool_calls(
    raw_calls: Sequence[Mapping[str, Any]],
) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    """Canonical tool calls → (valid, invalid); bad JSON arguments never raise."""
    valid: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for raw in raw_calls:
        fn = raw.get("function") or {}
        name = fn.get("name") or ""
        arguments = fn.get("arguments")
        call_id = raw.get("id")
        try:
            args = json.loads(arguments) if arguments else {}
            if not isinstance(args, dict):
                raise ValueError(f"arguments must be a JSON object, got {type(args).__name__}")
        except ValueError as exc:
            invalid.append(
                InvalidToolCall(
                    type="invalid_tool_call",
                    name=name,
                    args=arguments if isinstance(arguments, str) else None,
                    id=call_id,
                    error=f"invalid JSON arguments: {exc}",
                )
            )
            continue
        valid.append(ToolCall(type="tool_call", name=name, args=args, id=call_id))
    return valid, invalid


def response_metadata(
    completion: Mapping[str, Any],
    info: GatewayInfo | None,
    finish_reason: Any = None,
    gateway: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``response_metadata`` of a message; ``gateway`` = ``info.as_dict()`` if already made."""
    meta: dict[str, Any] = {
        "model_provider": MODEL_PROVIDER,
        "model_name": completion.get("model") or (info.model if info else None) or "",
    }
    if finish_reason is not None:
        meta["finish_reason"] = finish_reason
    if completion.get("id"):
        meta["id"] = completion["id"]
    if completion.get("system_fingerprint"):
        meta["system_fingerprint"] = completion["system_fingerprint"]
    if info is not None:
        meta["gateway"] = info.as_dict() if gateway is None else dict(gateway)
    return meta


def message_from_dict(
    message: Mapping[str, Any], meta: dict[str, Any], usage: UsageMetadata | None
) -> AIMessage:
    """A canonical assistant message → ``AIMessage`` (reasoning kept in additional_kwargs,
    where ``content_blocks`` shows it as a standard reasoning block)."""
    extra: dict[str, Any] = {}
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        extra["reasoning_content"] = reasoning
    if message.get("refusal"):
        extra["refusal"] = message["refusal"]
    if message.get("thinking_blocks"):
        extra["thinking_blocks"] = message["thinking_blocks"]
    content = message.get("content")
    if not isinstance(content, (str, list)):
        content = ""
    natives = server_tool_blocks(message)
    if natives or message.get("annotations"):
        text: dict[str, Any] = {"type": "text", "text": content if isinstance(content, str)
                                else content_to_text(content)}
        if message.get("annotations"):
            text["annotations"] = [citation(a) for a in message["annotations"]]
        content = [*natives, text]
    valid, invalid = parse_tool_calls(message.get("tool_calls") or ())
    return AIMessage(
        content=content,
        additional_kwargs=extra,
        tool_calls=valid,
        invalid_tool_calls=invalid,
        response_metadata=meta,
        usage_metadata=usage,
        id=meta.get("id"),
    )


def completion_to_result(
    completion: Mapping[str, Any], info: GatewayInfo | None, include_usage: bool = True
) -> ChatResult:
    """A canonical ``chat.completion`` → LangChain ``ChatResult`` (one generation per choice)."""
    raw_usage = completion.get("usage")
    usage = usage_to_metadata(raw_usage) if raw_usage and include_usage else None
    generations = []
    gateway = info.as_dict() if info else {}
    for choice in completion.get("choices") or ():
        meta = response_metadata(completion, info, choice.get("finish_reason"), gateway)
        meta.update(native_stop_of(choice))  # Anthropic's stop_reason, as ChatAnthropic
        if choice.get("logprobs"):
            meta["logprobs"] = choice["logprobs"]
        msg = message_from_dict(choice.get("message") or {}, meta, usage)
        gen_info = {"finish_reason": choice.get("finish_reason")}
        if choice.get("logprobs"):
            gen_info["logprobs"] = choice["logprobs"]
        generations.append(ChatGeneration(message=msg, generation_info=gen_info))
    llm_output = {
        "model_name": completion.get("model") or "",
        "token_usage": dict(raw_usage) if raw_usage else {},
        "gateway": gateway,
    }
    return ChatResult(generations=generations, llm_output=llm_output)


class ChunkConverter:
    """Folds one stream of canonical chunks into LangChain chunks.

    :meth:`feed` returns a chunk for each delta that carries content, reasoning or
    tool-call fragments (``None`` otherwise); :meth:`finish` returns the last chunk,
    which alone carries usage, finish reason, model name, id and gateway info, so
    nothing is concatenated twice when chunks are added.
    """

    __slots__ = (
        "blocks",
        "finish_reason",
        "id",
        "include_usage",
        "info",
        "logprobs",
        "model",
        "native_stop",
        "usage",
    )

    def __init__(
        self, info: GatewayInfo | None, include_usage: bool = True, blocks: bool = False
    ) -> None:
        self.info = info
        self.blocks = blocks
        """``output_version="v1"``: emit text/reasoning as standard blocks whose ``lc_``
        indices cannot collide with tool-call indices when chunks are merged."""
        self.include_usage = include_usage
        self.usage: Mapping[str, Any] | None = None
        self.finish_reason: Any = None
        self.id: str | None = None
        self.model: str | None = None
        self.logprobs: list[Any] | None = None
        self.native_stop: dict[str, Any] = {}

    def feed(self, chunk: Mapping[str, Any]) -> ChatGenerationChunk | None:
        if self.id is None:
            self.id = chunk.get("id")
            self.model = chunk.get("model")
        usage = chunk.get("usage")
        if usage:
            self.usage = usage
        choices = chunk.get("choices")
        if not choices:
            return None
        choice = choices[0]
        if choice.get("index", 0) != 0:
            return None  # LangChain streams one generation
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]
        self.native_stop.update(native_stop_of(choice))
        lp = choice.get("logprobs")
        if lp and isinstance(lp, Mapping) and lp.get("content"):
            self.logprobs = (self.logprobs or []) + list(lp["content"])
        delta = choice.get("delta")
        if not delta:
            return None
        content = delta.get("content") or ""
        reasoning = delta.get("reasoning_content")
        raw_calls = delta.get("tool_calls")
        thinking = delta.get("thinking_blocks")
        natives = server_tool_blocks(delta, index=self.blocks)
        if delta.get("annotations"):
            natives.append({"type": "text", "text": "",
                            "annotations": [citation(a) for a in delta["annotations"]],
                            **({"index": "lc_text"} if self.blocks else {})})
        if not reasoning and not raw_calls and not thinking and not natives:
            if not content:
                return None
            if not self.blocks:  # the common case: plain text, no empty kwargs to validate
                return ChatGenerationChunk(message=AIMessageChunk(content=content))
        extra: dict[str, Any] = {"reasoning_content": reasoning} if reasoning else {}
        if thinking:
            extra["thinking_blocks"] = list(thinking)
        body: str | list[str | dict[str, Any]] = content
        if self.blocks and (content or reasoning):
            body = []
            if reasoning:
                body.append({"type": "reasoning", "reasoning": reasoning, "index": "lc_reasoning"})
            if content:
                body.append({"type": "text", "text": content, "index": "lc_text"})
        if thinking and self.blocks:  # v1: the signature joins the streamed reasoning block
            natives = signed_reasoning(thinking, chunk=True) + natives
        if natives:
            body = [*([body] if isinstance(body, str) and body else
                      [] if isinstance(body, str) else body), *natives]
        calls = []
        if raw_calls:
            for tc in raw_calls:
                fn = tc.get("function") or {}
                calls.append(
                    tool_call_chunk(
                        name=fn.get("name"),
                        args=fn.get("arguments"),
                        id=tc.get("id"),
                        index=tc.get("index"),
                    )
                )
        return ChatGenerationChunk(
            message=AIMessageChunk(content=body, additional_kwargs=extra, tool_call_chunks=calls)
        )

    def finish(self) -> ChatGenerationChunk:
        meta = response_metadata(
            {"id": self.id, "model": self.model}, self.info, self.finish_reason
        )
        meta.update(self.native_stop)
        if self.logprobs is not None:
            meta["logprobs"] = {"content": self.logprobs}
        usage = usage_to_metadata(self.usage) if self.usage and self.include_usage else None
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                response_metadata=meta,
                usage_metadata=usage,
                chunk_position="last",
            ),
            generation_info={"finish_reason": self.finish_reason},
        )
