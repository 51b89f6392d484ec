"""``/ai/v1/chat/completions``: the identity dialect, plus the shared chunk decoder.

The decoder also serves ``/ai/run`` streams, which mix OpenAI chunks (chat-schema
Workers AI models) with ``{"response": ...}`` events (classic models) and a final
cumulative ``{"response": "", "usage": ...}`` line (reference §4.2.3, §4.3).

Normalisations (all other fields pass through untouched):
- ``reasoning`` (either spelling) becomes ``reasoning_content``;
- tool-call deltas always carry ``index`` (assigned from ids/position when missing);
- usage is emitted once, as a final ``choices: []`` chunk: the last cumulative usage
  if the stream had one, else the sum of per-chunk increments.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any, cast

from ..accumulate import build_tool_call, monotonic_usage
from ..errors import (
    CfAigError,
    ConfigurationError,
    ResponseDecodeError,
    StreamInterruptedError,
)
from ..profiles import get_profile, provider_of
from ..types import Api, ChatCompletion, ChatCompletionChunk, ChatRequest, Usage
from . import Capabilities
from ._common import (
    FINISH_REASONS,
    SHAPE_ERRORS,
    make_chunk,
    normalize_text_and_reasoning,
    shape_error,
    unwrap_envelope,
)
from ._common import check_error as check_error  # re-exported for older imports
from ._common import completion_to_chunks as completion_to_chunks
from ._common import loads as loads
from ._common import strip_history_extras as strip_history_extras

_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


_DATED_TOOL = re.compile(r"_\d{8}$")  # Anthropic server tools: web_search_20250305 ...
_CHAT_PARTS = frozenset({"text", "image_url", "input_audio", "file", "refusal"})
"""Content-part types a Chat Completions message carries (OpenAI's schema)."""
SEARCH_PROVIDERS = frozenset({"alibaba"})
"""Providers whose Chat Completions take a top-level ``enable_search`` (reference §11.1)."""


def check_chat_extensions(request: ChatRequest, endpoint: str) -> None:
    """Refuse, before sending, provider-run tools and ``enable_search`` where a Chat
    Completions body cannot carry them (the provider would ignore or reject them).

    >>> check_chat_extensions({"model": "openai/gpt-5.5", "messages": [],
    ...     "tools": [{"type": "web_search_preview"}]}, "/ai/v1/chat/completions")
    Traceback (most recent call last):
    ...
    cf_aig.errors.ConfigurationError: tools[0] is the provider-run tool 'web_search_preview', \
which /ai/v1/chat/completions cannot carry; use api='responses' (OpenAI built-in tools), or \
enable_search=True with an alibaba/* model on chat completions
    """
    model = str(request.get("model") or "")
    for i, tool in enumerate(request.get("tools") or ()):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind in (None, "function", "custom"):
            continue
        carrier = ("api='messages' with an anthropic/* model (Anthropic server tools)"
                   if _DATED_TOOL.search(str(kind)) else
                   "api='responses' (OpenAI built-in tools), or enable_search=True with an "
                   "alibaba/* model on chat completions")
        raise ConfigurationError(
            f"tools[{i}] is the provider-run tool {kind!r}, which {endpoint} cannot carry; "
            f"use {carrier}")
    for i, message in enumerate(request.get("messages") or ()):
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else ():
            kind = part.get("type") if isinstance(part, dict) else None
            if kind not in _CHAT_PARTS:
                raise ConfigurationError(
                    f"messages[{i}] has a content part of type {kind!r}, which {endpoint} "
                    f"cannot carry (it takes {', '.join(sorted(_CHAT_PARTS))}); use the "
                    "endpoint whose part it is (for example api='responses' for input_* "
                    "parts, api='messages' for Anthropic blocks) or send it as text")
            spec = part.get("file") if isinstance(part, dict) else None
            if isinstance(spec, dict) and spec.get("file_url") and not spec.get("file_data"):
                raise ConfigurationError(
                    f"messages[{i}] has a file by URL, which {endpoint} cannot carry (files "
                    "go as base64 file_data there); use api='responses' (input_file "
                    "file_url), or load the file and send its data")
        if message.get("role") == "tool" and isinstance(content, list):
            kinds = sorted({str(p.get("type")) for p in content if isinstance(p, dict)} - {"text"})
            if kinds:
                raise ConfigurationError(
                    f"messages[{i}] is a tool result with {', '.join(kinds)} parts, which "
                    f"{endpoint} cannot carry (tool results are text there); use "
                    "api='responses' or api='messages' (anthropic/* models), or return text")
    if request.get("enable_search") is not None and provider_of(model) not in SEARCH_PROVIDERS:
        raise ConfigurationError(
            f"enable_search is Alibaba's web search switch on chat completions; {model} on "
            f"{endpoint} does not take it. Use an alibaba/* model, or web search as a tool: "
            "{'type': 'web_search_preview'} on api='responses' (OpenAI), "
            "{'type': 'web_search_20250305', 'name': 'web_search'} on api='messages' "
            "(Anthropic)")


def normalize_message(message: dict[str, Any]) -> None:
    """In place: ``reasoning`` → ``reasoning_content``; text-part lists → a string;
    tool-call ids and string arguments."""
    normalize_text_and_reasoning(message)
    calls = message.get("tool_calls")
    if calls:
        message["tool_calls"] = [normalize_tool_call(c) for c in calls]
        if message.get("content") is None:
            message["content"] = ""


def normalize_tool_call(call: dict[str, Any]) -> dict[str, Any]:
    """Any of the three Workers AI tool-call shapes → OpenAI shape (reference §4.2.4)."""
    fn = call.get("function")
    if not isinstance(fn, dict):  # legacy {"name", "arguments"}
        fn = {"name": call.get("name"), "arguments": call.get("arguments")}
    return dict(build_tool_call(call.get("id"), fn.get("name"), fn.get("arguments")))


def normalize_completion(body: dict[str, Any]) -> ChatCompletion:
    try:
        for choice in body["choices"]:
            message = choice.get("message")
            if isinstance(message, dict):
                normalize_message(message)
            reason = choice.get("finish_reason")
            if reason in FINISH_REASONS:
                choice["finish_reason"] = FINISH_REASONS[reason]
            elif reason == "stop" and isinstance(message, dict) and message.get("tool_calls"):
                choice["finish_reason"] = "tool_calls"  # Workers AI says stop (cloudflare/ai#192)
    except SHAPE_ERRORS as exc:
        raise shape_error("chat.completion", body, exc) from exc
    return body  # type: ignore[return-value]


def _add_usage(total: dict[str, Any], inc: dict[str, Any]) -> None:
    for key in _USAGE_KEYS:
        value = inc.get(key)
        if isinstance(value, int):
            total[key] = total.get(key, 0) + value
    for key in ("prompt_tokens_details", "completion_tokens_details"):
        details = inc.get(key)
        if isinstance(details, dict):
            sub = total.setdefault(key, {})
            for k, v in details.items():
                if isinstance(v, (int, float)):
                    sub[k] = sub.get(k, 0) + v


class ChunkStream:
    """Decoder for OpenAI-chunk and Workers-AI ``{"response"}`` event streams."""

    __slots__ = (
        "_calls",
        "_created",
        "_cumulative",
        "_done",
        "_finished",
        "_first",
        "_id",
        "_last_inc",
        "_model",
        "_summed",
        "_uniform",
    )

    def __init__(self, model: str) -> None:
        self._model = model
        self._id: str | None = None
        self._created = 0
        self._done = False
        self._finished = False  # a finish_reason was seen
        self._cumulative: dict[str, Any] | None = None
        self._summed: dict[str, Any] | None = None
        self._uniform = True  # every per-chunk usage looked cumulative so far
        self._calls: dict[int, dict[str | int, int]] = {}
        self._first: dict[str, Any] = {}
        self._last_inc: dict[str, Any] = {}

    def _base(self) -> dict[str, Any]:
        if self._id is None:
            self._id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
            self._created = int(time.time())
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
        }

    def event(self, name: str | None, data: bytes) -> list[ChatCompletionChunk]:
        try:
            return self._event(data)
        except CfAigError:
            raise
        except SHAPE_ERRORS as exc:
            raise shape_error("stream event", data, exc) from exc

    def _event(self, data: bytes) -> list[ChatCompletionChunk]:
        if data == b"[DONE]":
            self._done = True
            return []
        if self._done and not data.strip():
            return []
        obj = loads(data, "stream event")
        if not isinstance(obj, dict):
            raise ResponseDecodeError(f"stream event is not a JSON object: {data[:200]!r}")
        choices = obj.get("choices")
        if choices is None:
            check_error(obj)
            return self._workers_ai_event(obj)
        usage = obj.get("usage")
        if usage:
            if choices:
                self._increment(usage)
            else:  # OpenAI's include_usage chunk: cumulative, never going backwards
                self._cumulative = monotonic_usage(self._cumulative, usage)
            obj["usage"] = None
        if self._id is None and obj.get("id"):
            self._id = obj["id"]
        for choice in choices:
            reason = choice.get("finish_reason")
            if reason:
                self._finished = True
                if reason in FINISH_REASONS:
                    choice["finish_reason"] = FINISH_REASONS[reason]
            delta = choice.get("delta")
            if delta:
                normalize_text_and_reasoning(delta)
                if delta.get("tool_calls"):
                    delta["tool_calls"] = self._index_calls(choice.get("index", 0),
                                                            delta["tool_calls"])
            if reason == "stop" and self._calls.get(choice.get("index", 0)):
                choice["finish_reason"] = "tool_calls"  # Workers AI says stop (cloudflare/ai#192)
        if not choices:
            return []
        return [obj]  # type: ignore[list-item]

    def _index_calls(self, choice: int, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen = self._calls.setdefault(choice, {})
        out = []
        for pos, call in enumerate(calls):
            fn = call.get("function")
            if not isinstance(fn, dict):  # legacy streamed shape {"name", "arguments"}
                call = normalize_tool_call(call)
                call["index"] = len(seen) + pos
                fn = call["function"]
            if (
                call.get("id") is None
                and call.get("type") is None
                and not (fn.get("name") or fn.get("arguments"))
            ):
                continue  # "null finalisation" element some models send
            args = fn.get("arguments")
            if args is not None and not isinstance(args, str):  # an object, not a fragment
                fn = dict(fn, arguments=json.dumps(args, ensure_ascii=False))
                call = dict(call, function=fn)
            index = call.get("index")
            cid = call.get("id")
            if index is None:
                if cid and cid in seen:
                    index = seen[cid]
                elif cid or not seen:
                    index = max((v for v in seen.values()), default=-1) + 1
                else:
                    index = max(seen.values())
                call = dict(call, index=index)
            if cid:
                seen.setdefault(cid, index)
            seen.setdefault(index, index)
            out.append(call)
        return out

    def _increment(self, usage: dict[str, Any]) -> None:
        if not any(isinstance(usage.get(k), int) and usage[k] > 0 for k in _USAGE_KEYS):
            return  # an all-zero usage adds nothing and must not reset what was seen
        if self._summed is None:
            self._summed = {}
            self._first = usage
        elif usage.get("prompt_tokens") != self._first.get("prompt_tokens") or (
            usage.get("completion_tokens", 0) < self._last_inc.get("completion_tokens", 0)
        ):
            self._uniform = False
        self._last_inc = usage
        _add_usage(self._summed, usage)

    def _workers_ai_event(self, obj: dict[str, Any]) -> list[ChatCompletionChunk]:
        if obj.get("usage"):
            self._cumulative = monotonic_usage(self._cumulative, obj["usage"])
        delta: dict[str, Any] = {}
        response = obj.get("response")
        if isinstance(response, str) and response:
            delta["content"] = response
        elif isinstance(response, (dict, list)):  # JSON mode answer as an object
            delta["content"] = json.dumps(response, ensure_ascii=False)
        for key in ("reasoning_content", "reasoning"):
            if isinstance(obj.get(key), str) and obj[key]:
                delta["reasoning_content"] = obj[key]
        if obj.get("tool_calls"):
            delta["tool_calls"] = self._index_calls(0, obj["tool_calls"])
        if not delta:
            return []
        return [make_chunk(self._base(), [{"index": 0, "delta": delta, "finish_reason": None}])]

    def usage(self) -> Usage | None:
        """The stream's usage: per-chunk figures (cumulative, or increments summed) and
        the usage-only events merged count by count at their largest, so a trailing
        all-zero (or partial) usage event never erases figures seen earlier."""
        per_chunk: dict[str, Any] | None = None
        if self._summed is not None:
            uniform = self._uniform and self._last_inc.get("prompt_tokens")
            per_chunk = self._last_inc if uniform else self._summed
        merged = monotonic_usage(per_chunk, self._cumulative)
        if merged is None:
            return None
        if per_chunk is not None and self._cumulative is not None:
            parts = merged.get("prompt_tokens", 0) + merged.get("completion_tokens", 0)
            merged["total_tokens"] = max(merged.get("total_tokens", 0), parts)
        return cast(Usage, merged)

    def finish(self) -> list[ChatCompletionChunk]:
        if not (self._done or self._finished):
            raise StreamInterruptedError(
                "the stream ended without [DONE] or a finish reason: the answer is truncated"
            )
        out: list[ChatCompletionChunk] = []
        if not self._finished and self._id is not None:
            calls = any(self._calls.values())
            reason = "tool_calls" if calls else "stop"
            out.append(
                make_chunk(self._base(), [{"index": 0, "delta": {}, "finish_reason": reason}])
            )
        usage = self.usage()
        if usage is not None:
            out.append(make_chunk(self._base(), [], usage))
        return out



def chat_capabilities(model: str, path: str = "/ai/v1/chat/completions") -> Capabilities:
    """What a Chat Completions body carries for ``model`` (also unified ``/ai/run`` input
    for third-party models other than Anthropic's).

    OpenAI models take the limit as ``max_completion_tokens`` (``max_tokens`` is deprecated
    and refused by their reasoning models); other providers get the portable ``max_tokens``.
    Workers AI models cannot stream a JSON-schema answer (error 5023).
    """
    return Capabilities(
        path=path,
        gateway_path="/compat/chat/completions" if path == "/ai/v1/chat/completions" else None,
        stream_with_schema=get_profile(model).streaming_json_schema,
        max_tokens_field="max_completion_tokens" if model.startswith("openai/") else "max_tokens",
        audio=True,
    )


def chat_body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """A canonical request as a Chat Completions body (also unified ``/ai/run``'s input for
    non-Workers-AI models): history extras stripped; a stream asks for the usage chunk
    (unless ``stream_options`` says otherwise), a non-stream sends no stream keys; a JSON
    schema without the ``name`` OpenAI's schema requires is named ``"response"`` (as on
    Responses; ``openai/*`` models reject it unnamed, cloudflare/ai#559)."""
    body: dict[str, Any] = dict(request)
    body["messages"] = strip_history_extras(list(body.get("messages") or []))
    fmt = body.get("response_format")
    spec = fmt.get("json_schema") if isinstance(fmt, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(spec, dict) \
            and not spec.get("name"):
        body["response_format"] = {**fmt, "json_schema": {**spec, "name": "response"}}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True, **dict(body.get("stream_options") or {})}
    else:
        body.pop("stream", None)
        body.pop("stream_options", None)
    return body


class ChatCompletionsDialect:
    """The gateway's OpenAI-compatible endpoint: bodies pass through as they are."""

    api: Api = "chat_completions"

    def endpoint(self, model: str) -> str:
        return "/ai/v1/chat/completions"

    def capabilities(self, model: str) -> Capabilities:
        return chat_capabilities(model)

    def build(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        check_chat_extensions(request, "/ai/v1/chat/completions")
        return chat_body(request, stream=stream)

    def parse(self, body: Any) -> ChatCompletion:
        body = unwrap_envelope(body)  # tolerate a v4 envelope around the completion
        if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
            raise ResponseDecodeError(f"expected a chat.completion object, got {str(body)[:200]}")
        return normalize_completion(body)

    def stream_state(self, model: str) -> ChunkStream:
        return ChunkStream(model)


CHAT = ChatCompletionsDialect()
