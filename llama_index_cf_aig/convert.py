"""Pure converters between LlamaIndex types and the core's canonical (Chat Completions) dicts.

No I/O and no state except :class:`StreamConverter`, which folds canonical stream chunks
into cumulative :class:`ChatResponse` objects and serves sync and async streams alike.

>>> from llama_index.core.base.llms.types import ChatMessage
>>> messages_to_canonical([ChatMessage(role="user", content="Hi")])
[{'role': 'user', 'content': 'Hi'}]
>>> conv = StreamConverter()
>>> r = conv.feed({"choices": [{"index": 0, "delta": {"content": "He"}}]})
>>> r = conv.feed({"choices": [{"index": 0, "delta": {"content": "llo"}, "finish_reason": "stop"}]})
>>> r.delta, r.message.content
('llo', 'Hello')
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from llama_index.core.base.llms.types import (
    AudioBlock,
    CachePoint,
    ChatMessage,
    ChatResponse,
    CitableBlock,
    CitationBlock,
    CompletionResponse,
    DocumentBlock,
    ImageBlock,
    LogProb,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from llama_index.core.llms.llm import ToolSelection
from pydantic_core import from_json

from cf_aig.accumulate import (
    LIST_EXTRAS,
    NATIVE_STOP_KEYS,
    merge_tool_call_delta,
    native_stop_of,
    new_tool_call_id,
)
from cf_aig.policy import build_tool_call, media_refusal, token_usage
from cf_aig.profiles import ModelProfile

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

_ROLES: dict[str, str] = {
    MessageRole.SYSTEM.value: "system",
    MessageRole.DEVELOPER.value: "developer",
    MessageRole.USER.value: "user",
    MessageRole.ASSISTANT.value: "assistant",
    MessageRole.TOOL.value: "tool",
    MessageRole.FUNCTION.value: "tool",
    MessageRole.CHATBOT.value: "assistant",
    MessageRole.MODEL.value: "assistant",
}


class UnsupportedContentError(ValueError):
    """A message block the gateway cannot carry (audio, video, or a capability the
    model lacks)."""


# ---------------------------------------------------------------------------------------
# LlamaIndex -> canonical
# ---------------------------------------------------------------------------------------


def _image_part(block: ImageBlock) -> dict[str, Any]:
    if block.url is not None and block.image is None and block.path is None:
        url = str(block.url)
    else:
        if block.image_mimetype is None:
            block.resolve_image()  # guesses the mimetype as a side effect
        url = block.inline_url()
    image: dict[str, Any] = {"url": url}
    if block.detail:
        image["detail"] = block.detail
    return {"type": "image_url", "image_url": image}


def _document_part(block: DocumentBlock) -> dict[str, Any]:
    if block.url and block.data is None and block.path is None:
        # by URL: endpoints that fetch files take it (responses); the others refuse it
        by_url: dict[str, Any] = {"file_url": str(block.url)}
        if block.title:
            by_url["filename"] = block.title
        return {"type": "file", "file": by_url}
    if block.document_mimetype is None:
        block.document_mimetype = block._guess_mimetype() or "application/pdf"
    file: dict[str, Any] = {"file_data": block.inline_url()}
    file["filename"] = block.title or "document.pdf"
    return {"type": "file", "file": file}


def _audio_part(block: AudioBlock) -> dict[str, Any]:
    """An :class:`AudioBlock` as an ``input_audio`` part (base64 data and its format)."""
    if block.url is not None and block.audio is None and block.path is None:
        raise UnsupportedContentError(
            "audio blocks by URL are carried by no endpoint; load the audio and pass "
            "AudioBlock(audio=..., format='wav')")
    data = block.resolve_audio(as_base64=True).read().decode()
    fmt = (block.format or "wav").lower().removeprefix("audio/")
    return {"type": "input_audio", "input_audio": {"data": data,
                                                   "format": "mp3" if fmt == "mpeg" else fmt}}


def _check(profile: ModelProfile | None, kind: Literal["image", "file"]) -> None:
    """The core's media rule (:func:`cf_aig.policy.media_refusal`), raised while converting."""
    why = media_refusal(profile, kind) if profile is not None else None
    if why:
        raise UnsupportedContentError(why)


def _content_parts(
    blocks: Iterable[Any], profile: ModelProfile | None, parts: list[dict[str, Any]]
) -> None:
    for block in blocks:
        if isinstance(block, TextBlock):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            _check(profile, "image")
            parts.append(_image_part(block))
        elif isinstance(block, DocumentBlock):
            _check(profile, "file")
            parts.append(_document_part(block))
        elif isinstance(block, CitableBlock):
            _content_parts(block.content, profile, parts)
        elif isinstance(block, CachePoint):  # marks the block before it, as Anthropic's does
            if not parts:
                raise UnsupportedContentError(
                    "a CachePoint marks the block before it; put it after a text, image or "
                    "document block")
            parts[-1] = {**parts[-1], "cache_control": block.cache_control.model_dump(
                exclude_none=True)}
        elif isinstance(block, (ThinkingBlock, ToolCallBlock)):
            continue  # handled by the caller
        elif isinstance(block, AudioBlock):  # endpoints that cannot carry it refuse it
            parts.append(_audio_part(block))
        elif isinstance(block, (VideoBlock, CitationBlock)):
            raise UnsupportedContentError(
                f"{type(block).__name__} is carried by no Cloudflare AI Gateway chat endpoint "
                "as input; send text, images, documents or audio"
            )
        else:
            raise UnsupportedContentError(f"unsupported content block {type(block).__name__}")


def tool_call_to_canonical(block: ToolCallBlock) -> dict[str, Any]:
    """A :class:`ToolCallBlock` as an OpenAI ``tool_calls`` item."""
    return dict(build_tool_call(block.tool_call_id, block.tool_name, block.tool_kwargs))


def _legacy_tool_call(call: Any) -> dict[str, Any]:
    if hasattr(call, "model_dump"):
        call = call.model_dump()
    fn = call.get("function") or {}
    return dict(build_tool_call(call.get("id"), fn.get("name") or "", fn.get("arguments")))


def _signed_thinking(blocks: Iterable[Any]) -> list[dict[str, Any]]:
    """Anthropic ``thinking_blocks`` from :class:`ThinkingBlock` s that carry a signature
    (or redacted data) in ``additional_information``, as llama-index-llms-anthropic keeps
    them."""
    out: list[dict[str, Any]] = []
    for block in blocks:
        if not isinstance(block, ThinkingBlock):
            continue
        info = block.additional_information or {}
        if info.get("type") == "redacted_thinking" and info.get("data"):
            out.append({"type": "redacted_thinking", "data": info["data"]})
        elif info.get("signature"):
            out.append({"type": "thinking", "thinking": block.content or "",
                        "signature": info["signature"]})
    return out


def _thinking_blocks(reasoning: str | None,
                     signed: Sequence[Mapping[str, Any]] | None) -> list[ThinkingBlock]:
    """:class:`ThinkingBlock` s for an answer: one per signed block (signature kept for the
    round trip), else one for the plain reasoning text."""
    if signed:
        out = []
        for b in signed:
            if b.get("type") == "redacted_thinking":
                out.append(ThinkingBlock(content=None, additional_information={
                    "type": "redacted_thinking", "data": b.get("data")}))
            else:
                out.append(ThinkingBlock(content=str(b.get("thinking") or ""),
                                         additional_information={"signature": b.get("signature")}))
        return out
    return [ThinkingBlock(content=reasoning)] if reasoning else []


def message_to_canonical(
    message: ChatMessage, profile: ModelProfile | None = None, keep_thinking: bool = False
) -> dict[str, Any]:
    """One :class:`ChatMessage` as a canonical message dict.

    Text, images (URL or base64), documents, tool-call blocks and ``role="tool"`` results
    with ``additional_kwargs["tool_call_id"]`` are supported. ``keep_thinking`` (the core's
    :func:`cf_aig.policy.keeps_signed_thinking`) sends signed thinking back as
    ``thinking_blocks``; unsigned thinking is never sent (no endpoint takes it back).
    """
    role = _ROLES.get(message.role.value)
    if role is None:
        raise UnsupportedContentError(f"unsupported message role {message.role.value!r}")
    blocks = message.blocks
    if role == "assistant":  # citations describe an earlier answer; its text still goes
        blocks = [b for b in blocks if not isinstance(b, CitationBlock)]
    parts: list[dict[str, Any]] = []
    if len(blocks) == 1 and isinstance(blocks[0], TextBlock):
        content: Any = blocks[0].text
    else:
        _content_parts(blocks, profile, parts)
        if all(p["type"] == "text" and "cache_control" not in p for p in parts):
            content = "".join(p["text"] for p in parts) if parts else None
        else:
            content = parts
    out: dict[str, Any] = {"role": role, "content": content}
    kwargs = message.additional_kwargs
    if role == "assistant":
        calls = [tool_call_to_canonical(b) for b in blocks if isinstance(b, ToolCallBlock)]
        if not calls and kwargs.get("tool_calls"):
            calls = [_legacy_tool_call(c) for c in kwargs["tool_calls"]]
        if calls:
            out["tool_calls"] = calls
        for key in ("server_tool_calls", "server_tool_results"):  # provider-run tools, for
            if kwargs.get(key):  # the round trip (Anthropic wants each result after its call)
                out[key] = list(kwargs[key])
        if keep_thinking:
            signed = _signed_thinking(blocks)
            if signed:
                out["thinking_blocks"] = signed
        if content is None and not calls:
            out["content"] = ""
    elif role == "tool":
        call_id = kwargs.get("tool_call_id")
        if not call_id:
            raise UnsupportedContentError(
                "a tool message needs additional_kwargs['tool_call_id'] naming the call it answers"
            )
        out["tool_call_id"] = str(call_id)
        if not isinstance(content, str):
            out["content"] = "" if content is None else content
    elif content is None:
        out["content"] = ""
    if kwargs.get("name"):
        out["name"] = kwargs["name"]
    return out


def messages_to_canonical(
    messages: Sequence[ChatMessage], profile: ModelProfile | None = None,
    keep_thinking: bool = False,
) -> list[dict[str, Any]]:
    """Every message converted with :func:`message_to_canonical`."""
    return [message_to_canonical(m, profile, keep_thinking) for m in messages]


def tool_to_canonical(tool: BaseTool) -> dict[str, Any]:
    """A LlamaIndex tool as an OpenAI function tool."""
    meta = tool.metadata
    fn: dict[str, Any] = {"name": meta.get_name(), "parameters": meta.get_parameters_dict()}
    if meta.description:
        fn["description"] = meta.description
    return {"type": "function", "function": fn}


# ---------------------------------------------------------------------------------------
# canonical -> LlamaIndex
# ---------------------------------------------------------------------------------------


def parse_arguments(arguments: Any) -> dict[str, Any]:
    """Tool-call arguments as a dict; tolerates partial JSON (streams) and junk ({})."""
    if isinstance(arguments, dict):
        return arguments
    if not arguments:
        return {}
    try:
        value = from_json(arguments, allow_partial=True)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def usage_kwargs(usage: Mapping[str, Any] | None) -> dict[str, Any]:
    """Token counts for ``additional_kwargs``: ``prompt_tokens``, ``completion_tokens``,
    ``total_tokens``, and where reported ``cache_read_tokens``, ``cache_creation_tokens``
    and ``reasoning_tokens`` (through the core's :class:`cf_aig.policy.TokenUsage`)."""
    u = token_usage(usage)
    if u is None:
        return {}
    out = {"prompt_tokens": u.input_tokens, "completion_tokens": u.output_tokens,
           "total_tokens": u.total_tokens}
    for key, value in (("cache_read_tokens", u.cache_read),
                       ("cache_creation_tokens", u.cache_creation),
                       ("reasoning_tokens", u.reasoning)):
        if value is not None:
            out[key] = value
    return out


def logprobs_of(raw: Any) -> list[list[LogProb]] | None:
    """Canonical ``choice.logprobs`` (``{"content": [{token, logprob, bytes,
    top_logprobs}]}``) → LlamaIndex's per-token lists of alternatives (the token's own
    entry when no alternatives were asked for)."""
    content = raw.get("content") if isinstance(raw, Mapping) else None
    if not isinstance(content, list):
        return None
    out: list[list[LogProb]] = []
    for entry in content:
        if not isinstance(entry, Mapping):
            continue
        alternatives = entry.get("top_logprobs") or [entry]
        out.append([LogProb(token=str(a.get("token") or ""),
                            logprob=float(a.get("logprob") or 0.0),
                            bytes=[int(b) for b in a.get("bytes") or ()])
                    for a in alternatives if isinstance(a, Mapping)])
    return out


def citation_block(annotation: Mapping[str, Any], content: str) -> CitationBlock | None:
    """A canonical ``url_citation`` → a :class:`CitationBlock` (the cited span of
    ``content`` as its text); other annotation kinds have no LlamaIndex block (``None``)."""
    body = annotation.get("url_citation")
    if annotation.get("type") != "url_citation" or not isinstance(body, Mapping):
        return None
    where = {k: body[k] for k in ("start_index", "end_index") if isinstance(body.get(k), int)}
    cited = body.get("cited_text")
    if not isinstance(cited, str):
        cited = content[where.get("start_index", 0):where.get("end_index", len(content))]
    return CitationBlock(cited_content=TextBlock(text=cited), source=str(body.get("url") or ""),
                         title=str(body.get("title") or ""), additional_location_info=where)


def _message(
    content: str,
    reasoning: str | None,
    calls: list[dict[str, Any]],
    call_blocks: list[ToolCallBlock] | None = None,
    signed: Sequence[Mapping[str, Any]] | None = None,
    native: Mapping[str, Sequence[Any]] | None = None,
) -> ChatMessage:
    blocks: list[Any] = list(_thinking_blocks(reasoning, signed))
    blocks.append(TextBlock(text=content))
    kwargs: dict[str, Any] = {}
    for key, items in (native or {}).items():  # annotations, server tool calls and results
        if not items:
            continue
        if key == "annotations":
            kwargs["annotations"] = list(items)
            blocks += [b for b in (citation_block(a, content) for a in items) if b is not None]
        else:  # never ToolCallBlocks: the provider already ran these tools
            kwargs[key] = list(items)
    if calls:
        if call_blocks is None:
            call_blocks = [
                ToolCallBlock(
                    tool_call_id=c.get("id"),
                    tool_name=c["function"].get("name") or "",
                    tool_kwargs=parse_arguments(c["function"].get("arguments")),
                )
                for c in calls
            ]
        blocks.extend(call_blocks)
        kwargs["tool_calls"] = calls
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=kwargs)


def completion_to_response(
    completion: Mapping[str, Any], gateway: Mapping[str, Any] | None = None
) -> ChatResponse:
    """A canonical ``chat.completion`` as a :class:`ChatResponse`.

    ``raw`` is the completion (with ``usage``); ``additional_kwargs`` carries the token
    counts and, under ``"gateway"``, the gateway info (log id, cache status, ...).
    """
    choices = completion.get("choices") or [{}]
    msg = choices[0].get("message") or {}
    content = msg.get("content")
    if not isinstance(content, str):
        content = "" if content is None else json.dumps(content, ensure_ascii=False)
    calls = list(msg.get("tool_calls") or ())
    message = _message(content, msg.get("reasoning_content"), calls,
                       signed=msg.get("thinking_blocks"),
                       native={k: msg[k] for k in LIST_EXTRAS if msg.get(k)})
    extra = usage_kwargs(completion.get("usage"))
    if gateway is not None:
        extra["gateway"] = gateway
    extra["finish_reason"] = choices[0].get("finish_reason")
    extra.update(native_stop_of(choices[0]))  # Anthropic's own stop_reason (pause_turn...)
    return ChatResponse(message=message, raw=completion, additional_kwargs=extra,
                        logprobs=logprobs_of(choices[0].get("logprobs")))


def chat_to_completion_response(response: ChatResponse) -> CompletionResponse:
    """A :class:`ChatResponse` as a :class:`CompletionResponse` (same raw, delta, kwargs)."""
    return CompletionResponse(
        text=response.message.content or "",
        raw=response.raw,
        delta=response.delta,
        additional_kwargs=response.additional_kwargs,
    )


def tool_selections(
    response: ChatResponse, error_on_no_tool_call: bool = True
) -> list[ToolSelection]:
    """The tool calls of a response (tool-call blocks, else ``additional_kwargs``)."""
    selections = [
        ToolSelection(
            tool_id=b.tool_call_id or new_tool_call_id(),
            tool_name=b.tool_name,
            tool_kwargs=parse_arguments(b.tool_kwargs),
        )
        for b in response.message.blocks
        if isinstance(b, ToolCallBlock)
    ]
    if not selections:
        for call in response.message.additional_kwargs.get("tool_calls") or ():
            c = _legacy_tool_call(call)
            selections.append(
                ToolSelection(
                    tool_id=c["id"],
                    tool_name=c["function"].get("name") or "",
                    tool_kwargs=parse_arguments(c["function"].get("arguments")),
                )
            )
    if not selections and error_on_no_tool_call:
        raise ValueError(
            f"expected at least one tool call, got none; response: {response.message.content!r}"
        )
    return selections


class StreamConverter:
    """Folds canonical chunks into cumulative :class:`ChatResponse` objects.

    ``delta`` is the new text only (reasoning goes to ``additional_kwargs
    ["thinking_delta"]`` and a :class:`ThinkingBlock`); tool-call fragments merge by
    ``index`` (or by id / position when the index is missing), ids are set once.
    The usage chunk yields a last response with ``delta=""`` and the token counts.
    """

    __slots__ = ("_blocks", "_calls", "_dirty", "_logprobs", "_native", "_signed", "_stop",
                 "content", "finish_reason", "gateway", "reasoning")

    def __init__(self, gateway: Mapping[str, Any] | None = None) -> None:
        self.gateway = gateway
        self.content = ""
        self.reasoning = ""
        self.finish_reason: str | None = None
        self._calls: dict[int, dict[str, Any]] = {}  # core fragment state, by index
        self._blocks: list[ToolCallBlock] | None = None
        self._dirty = False
        self._signed: list[dict[str, Any]] = []  # signed thinking blocks, for the round trip
        self._native: dict[str, list[Any]] = {}  # annotations, server tool calls/results
        self._logprobs: list[list[LogProb]] = []
        self._stop: dict[str, Any] = {}  # the provider's own stop reason

    def _merge(self, frag: Mapping[str, Any]) -> None:
        merge_tool_call_delta(self._calls, frag)
        self._dirty = True

    def tool_calls(self) -> list[dict[str, Any]]:
        """The calls so far, OpenAI-shaped, in index order."""
        return [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"] or "", "arguments": "".join(c["arguments"])},
            }
            for _, c in sorted(self._calls.items())
        ]

    def _finish_ids(self) -> None:
        for call in self._calls.values():
            if not call["id"]:
                call["id"] = new_tool_call_id()
                self._dirty = True

    def feed(self, chunk: Mapping[str, Any]) -> ChatResponse:
        """One canonical chunk in, the cumulative response after it out."""
        choices = chunk.get("choices")
        text = ""
        thinking = ""
        if choices:
            choice = choices[0]
            delta = choice.get("delta") or {}
            text = delta.get("content") or ""
            if text:
                self.content += text
            # a plain text delta ({"content"} or {"role", "content"}) skips the rarer fields
            if len(delta) > ("content" in delta) + ("role" in delta):
                thinking = delta.get("reasoning_content") or ""
                if thinking:
                    self.reasoning += thinking
                if delta.get("thinking_blocks"):
                    self._signed.extend(delta["thinking_blocks"])
                for key in LIST_EXTRAS:
                    if delta.get(key):
                        self._native.setdefault(key, []).extend(delta[key])
                frags = delta.get("tool_calls")
                if frags:
                    for frag in frags:
                        self._merge(frag)
            if choice.get("logprobs"):
                self._logprobs += logprobs_of(choice["logprobs"]) or ()
            if any(choice.get(key) is not None for key in NATIVE_STOP_KEYS):
                self._stop.update(native_stop_of(choice))
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
                self._finish_ids()
        else:
            self._finish_ids()
        calls: list[dict[str, Any]] = []
        if self._calls:
            calls = self.tool_calls()
            if self._dirty or self._blocks is None:
                self._blocks = [
                    ToolCallBlock(
                        tool_call_id=c["id"],
                        tool_name=c["function"]["name"],
                        tool_kwargs=parse_arguments(c["function"]["arguments"]),
                    )
                    for c in calls
                ]
                self._dirty = False
        message = _message(self.content, self.reasoning, calls, self._blocks, self._signed,
                           self._native)
        extra: dict[str, Any] = {}
        if self.gateway is not None:
            extra["gateway"] = self.gateway
        if thinking:
            extra["thinking_delta"] = thinking
        usage = chunk.get("usage")
        if usage:
            extra.update(usage_kwargs(usage))
        if self.finish_reason:
            extra["finish_reason"] = self.finish_reason
        extra.update(self._stop)
        return ChatResponse(message=message, delta=text, raw=chunk, additional_kwargs=extra,
                            logprobs=list(self._logprobs) if self._logprobs else None)
