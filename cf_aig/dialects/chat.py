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
from functools import lru_cache
from typing import Any, cast

from pydantic_core import from_json

from ..accumulate import monotonic_usage, new_tool_call_id
from ..errors import (
    CfAigError,
    ConfigurationError,
    ResponseDecodeError,
    StreamInterruptedError,
    error_from_body,
)
from ..profiles import get_profile, provider_of
from ..types import Api, ChatCompletion, ChatCompletionChunk, ChatRequest, Usage
from . import Capabilities

_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


def loads(data: bytes | str, what: str) -> Any:
    """Parse JSON or raise :class:`ResponseDecodeError` naming ``what`` was malformed."""
    try:
        return from_json(data)
    except ValueError as exc:
        snippet = data[:200] if isinstance(data, str) else data[:200].decode("utf-8", "replace")
        raise ResponseDecodeError(f"malformed JSON in {what}: {snippet!r}") from exc


def check_error(obj: Any, status: int | None = None) -> None:
    """Raise the typed error if ``obj`` is an error payload (any envelope)."""
    if not isinstance(obj, dict):
        return
    if (
        obj.get("success") is False
        or (obj.get("error") and "choices" not in obj)
        or (obj.get("type") == "error")
    ):
        code = obj.get("httpCode") or obj.get("status")
        raise error_from_body(code if isinstance(code, int) else status, obj)


_HISTORY_EXTRAS = ("reasoning_content", "thinking_blocks", "annotations", "server_tool_calls",
                   "server_tool_results")


def strip_history_extras(messages: list[Any]) -> list[Any]:
    """Drop what assistant turns keep for round trips on other endpoints (reasoning,
    ``thinking_blocks``, citations, provider-run tool calls and results): they are outputs
    of an earlier turn, OpenAI-style endpoints reject unknown message fields, and the
    turn's text still goes."""
    if not any(isinstance(m, dict) and (m.keys() & _HISTORY_EXTRAS) for m in messages):
        return messages
    return [{k: v for k, v in m.items() if k not in _HISTORY_EXTRAS}
            if isinstance(m, dict) else m for m in messages]


_DATED_TOOL = re.compile(r"_\d{8}$")  # Anthropic server tools: web_search_20250305 ...
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


FINISH_REASONS = {"model_length": "length", "max_tokens": "length", "eos": "stop",
                  "end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls"}
"""Provider spellings of finish reasons → OpenAI's (others pass through unchanged)."""


def text_of_parts(content: Any) -> Any:
    """Content given as a list of ``{"type": "text", "text"}`` parts → one string;
    anything else is returned unchanged."""
    if isinstance(content, list) and all(
        isinstance(p, dict) and p.get("type") in ("text", "output_text") for p in content
    ):
        return "".join(str(p.get("text") or "") for p in content)
    return content


def normalize_message(message: dict[str, Any]) -> None:
    """In place: ``reasoning`` → ``reasoning_content``; text-part lists → a string;
    tool-call ids and string arguments."""
    if isinstance(message.get("content"), list):
        message["content"] = text_of_parts(message["content"])
    if "reasoning" in message and not message.get("reasoning_content"):
        value = message.pop("reasoning")
        if isinstance(value, str):
            message["reasoning_content"] = value
        else:
            message["reasoning"] = value
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
    args = fn.get("arguments")
    if args is None:
        args = "{}"
    elif not isinstance(args, str):
        args = json.dumps(args, ensure_ascii=False)
    return {
        "id": call.get("id") or new_tool_call_id(),
        "type": "function",
        "function": {"name": fn.get("name") or "", "arguments": args},
    }


def normalize_completion(body: dict[str, Any]) -> ChatCompletion:
    try:
        for choice in body["choices"]:
            message = choice.get("message")
            if isinstance(message, dict):
                normalize_message(message)
            reason = choice.get("finish_reason")
            if reason in FINISH_REASONS:
                choice["finish_reason"] = FINISH_REASONS[reason]
    except (TypeError, AttributeError, KeyError, IndexError) as exc:
        raise ResponseDecodeError(
            f"unexpected chat.completion shape ({type(exc).__name__}: {exc}): "
            f"{str(body)[:200]}") from exc
    return body  # type: ignore[return-value]


def completion_to_chunks(completion: ChatCompletion) -> list[ChatCompletionChunk]:
    """A whole completion as stream chunks (for a JSON body where a stream was asked)."""
    base: dict[str, Any] = {
        "id": completion.get("id", ""),
        "object": "chat.completion.chunk",
        "created": completion.get("created", 0),
        "model": completion.get("model", ""),
    }
    chunks: list[ChatCompletionChunk] = []
    for choice in completion.get("choices") or ():
        delta: dict[str, Any] = dict(choice.get("message") or {})
        if delta.get("tool_calls"):
            delta["tool_calls"] = [dict(tc, index=i) for i, tc in enumerate(delta["tool_calls"])]
        choices = [
            {
                "index": choice.get("index", 0),
                "delta": delta,
                "finish_reason": choice.get("finish_reason"),
            }
        ]
        chunks.append(make_chunk(base, choices))
    if completion.get("usage"):
        chunks.append(make_chunk(base, [], completion["usage"]))
    return chunks


def make_chunk(
    base: dict[str, Any], choices: list[dict[str, Any]], usage: Any = None
) -> ChatCompletionChunk:
    """A chunk dict from a base (id, model, created) and its choices."""
    chunk: dict[str, Any] = {**base, "choices": choices}
    if usage is not None:
        chunk["usage"] = usage
    return cast(ChatCompletionChunk, chunk)


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
        except (TypeError, AttributeError, KeyError, IndexError) as exc:
            raise ResponseDecodeError(
                f"unexpected stream event shape ({type(exc).__name__}: {exc}): "
                f"{data[:200]!r}") from exc

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
            if not delta:
                continue
            if isinstance(delta.get("content"), list):
                delta["content"] = text_of_parts(delta["content"])
            if "reasoning" in delta and not delta.get("reasoning_content"):
                value = delta.pop("reasoning")
                if isinstance(value, str):
                    delta["reasoning_content"] = value
            if delta.get("tool_calls"):
                delta["tool_calls"] = self._index_calls(choice.get("index", 0), delta["tool_calls"])
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
        if self._cumulative is not None:
            return cast(Usage, self._cumulative)
        if self._summed is None:
            return None
        if self._uniform and self._last_inc.get("prompt_tokens"):
            return cast(Usage, self._last_inc)
        return cast(Usage, self._summed)

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



class TypedEventStream:
    """Shared shell of the decoders for typed event streams (Messages, Responses).

    It parses each event's JSON, names it by its ``type`` (else the SSE event name),
    hands it to :meth:`_event`, and turns a payload of unexpected shape into a
    :class:`ResponseDecodeError`. Chunks get one id per stream (the provider's when it
    sends one). :meth:`finish` raises if the terminal event never came.
    """

    __slots__ = ("_created", "_done", "_id", "_model")
    ID_PREFIX = "chatcmpl"
    LABEL = "stream"
    TERMINAL = "its terminal event"

    def __init__(self, model: str) -> None:
        self._model = model
        self._id: str | None = None
        self._created = int(time.time())
        self._done = False

    def _base(self) -> dict[str, Any]:
        if self._id is None:
            self._id = f"{self.ID_PREFIX}_{uuid.uuid4().hex[:24]}"
        return {"id": self._id, "object": "chat.completion.chunk", "created": self._created,
                "model": self._model}

    def _delta(self, delta: dict[str, Any], reason: str | None = None) -> ChatCompletionChunk:
        return make_chunk(self._base(), [{"index": 0, "delta": delta, "finish_reason": reason}])

    def event(self, name: str | None, data: bytes) -> list[ChatCompletionChunk]:
        if data.strip() == b"[DONE]":  # not sent by these APIs; some proxies append it
            return []
        obj = loads(data, f"{self.LABEL} stream event")
        if not isinstance(obj, dict):
            raise ResponseDecodeError(f"stream event is not a JSON object: {data[:200]!r}")
        kind = obj.get("type") if isinstance(obj.get("type"), str) else name
        try:
            return self._event(kind, obj)
        except CfAigError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            raise ResponseDecodeError(
                f"malformed {self.LABEL} {kind} event: {data[:200]!r}") from exc

    def _event(self, kind: str | None, obj: dict[str, Any]) -> list[ChatCompletionChunk]:
        raise NotImplementedError

    def finish(self) -> list[ChatCompletionChunk]:
        if not self._done:
            raise StreamInterruptedError(
                f"the {self.LABEL} stream ended without {self.TERMINAL}: the answer is truncated")
        return []


@lru_cache(maxsize=512)
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


class ChatCompletionsDialect:
    """The gateway's OpenAI-compatible endpoint: bodies pass through as they are."""

    api: Api = "chat_completions"

    def endpoint(self, model: str) -> str:
        return "/ai/v1/chat/completions"

    def capabilities(self, model: str) -> Capabilities:
        return chat_capabilities(model)

    def build(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        check_chat_extensions(request, "/ai/v1/chat/completions")
        body["messages"] = strip_history_extras(body.get("messages") or [])
        body: dict[str, Any] = dict(request)
        if stream:
            body["stream"] = True
            opts = dict(body.get("stream_options") or {})
            opts.setdefault("include_usage", True)
            body["stream_options"] = opts
        else:
            body.pop("stream", None)
            body.pop("stream_options", None)
        return body

    def parse(self, body: Any) -> ChatCompletion:
        check_error(body)
        if isinstance(body, dict) and isinstance(body.get("result"), dict) and "success" in body:
            body = body["result"]  # tolerate a v4 envelope around the completion
        if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
            raise ResponseDecodeError(f"expected a chat.completion object, got {str(body)[:200]}")
        return normalize_completion(body)

    def stream_state(self, model: str) -> ChunkStream:
        return ChunkStream(model)


CHAT = ChatCompletionsDialect()
