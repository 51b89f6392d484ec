"""``/ai/v1/responses``: the OpenAI Responses API (reference §4.4).

Request (canonical Chat Completions → ``CreateResponse``):

- ``system``/``developer`` messages → ``instructions`` (joined with blank lines).
- user messages → ``{"role": "user", "content": ...}`` (a string stays a string; parts
  become ``input_text``/``input_image``/``input_file``; ``input_image.detail`` defaults
  to ``"auto"`` because the schema requires it).
- assistant text → the simple ``{"role": "assistant", "content": "<text>"}`` form
  (``EasyInputMessage``; the ``output_text`` list form is an ``OutputMessage``, which
  requires an ``id`` and ``status`` we do not have). Assistant ``tool_calls`` →
  ``function_call`` items; ``tool`` messages → ``function_call_output`` items (output as
  a string). ``reasoning_content``/``thinking_blocks`` on history are not sent (a
  Responses reasoning item needs its server id or encrypted content).
- function tools are flattened; ``strict`` defaults to ``False`` (Chat Completions'
  default; Responses would otherwise assume strict mode).
- ``response_format`` → ``text.format``; ``verbosity`` → ``text.verbosity``;
  ``reasoning_effort`` → ``reasoning.effort``; ``max_completion_tokens``/``max_tokens``
  → ``max_output_tokens``; ``stream_options`` is dropped (usage always comes with
  ``response.completed``). ``stop`` and other keys without an equivalent raise
  :class:`ConfigurationError`. ``None`` values count as unset.

Response: ``output_text`` parts joined → ``content``; ``function_call`` items →
``tool_calls`` (``id`` = ``call_id``); reasoning text (raw ``content`` then ``summary``
parts, joined with blank lines) → ``reasoning_content``; refusals → ``refusal``.

>>> body = RESPONSES.build({"model": "openai/gpt-5.5", "max_tokens": 64,
...     "messages": [{"role": "system", "content": "Be brief."},
...                  {"role": "user", "content": "Hi"}]}, stream=False)
>>> body
{'model': 'openai/gpt-5.5', 'instructions': 'Be brief.', \
'input': [{'role': 'user', 'content': 'Hi'}], 'max_output_tokens': 64}
>>> done = RESPONSES.parse({"id": "resp_1", "object": "response", "status": "completed",
...     "model": "gpt-5.5", "output": [{"type": "message", "id": "msg_1", "role": "assistant",
...     "status": "completed", "content": [{"type": "output_text", "text": "Hello"}]}],
...     "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}})
>>> done["choices"][0]["message"]["content"], done["choices"][0]["finish_reason"]
('Hello', 'stop')
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace
from typing import Any, cast

from ..accumulate import build_tool_call
from ..errors import (
    CfAigError,
    ConfigurationError,
    ResponseDecodeError,
    error_from_body,
)
from ..profiles import get_profile, is_workers_ai
from ..types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatRequest,
    ServerToolCall,
    ServerToolResult,
    ToolCall,
    Usage,
)
from . import Capabilities, FixedPathDialect
from ._common import (
    TypedEventStream,
    assistant_message,
    chat_completion_instead,
    check_error,
    completion_to_chunks,
    image_url_of,
    make_chunk,
    one_choice_completion,
    refuse_unknown_keys,
)

# Native Responses fields a canonical request may carry; they pass through untouched.
_PASSTHROUGH = frozenset(
    {
        "temperature",
        "top_p",
        "parallel_tool_calls",
        "store",
        "previous_response_id",
        "metadata",
        "user",
        "top_logprobs",
        "include",
        "truncation",
        "background",
        "conversation",
        "service_tier",
        "prompt_cache_key",
        "prompt_cache_retention",
        "safety_identifier",
        "max_tool_calls",
        "prompt",
    }
)
_HANDLED = frozenset(
    {
        "model",
        "messages",
        "tools",
        "tool_choice",
        "response_format",
        "reasoning_effort",
        "reasoning",
        "text",
        "verbosity",
        "max_tokens",
        "max_completion_tokens",
        "max_output_tokens",
        "stream",
        "stream_options",
        "n",
        "logprobs",
    }
)
_KNOWN = _HANDLED | _PASSTHROUGH

# Responses error codes → the provider error types cf_aig.errors classifies.
_ERROR_TYPES = {
    "rate_limit_exceeded": "rate_limit_error",
    "server_error": "server_error",
    "invalid_prompt": "invalid_request_error",
    "invalid_image": "invalid_request_error",
    "invalid_image_format": "invalid_request_error",
    "invalid_base64_image": "invalid_request_error",
    "invalid_image_url": "invalid_request_error",
    "image_too_large": "invalid_request_error",
    "image_too_small": "invalid_request_error",
    "image_parse_error": "invalid_request_error",
    "image_content_policy_violation": "invalid_request_error",
    "invalid_image_mode": "invalid_request_error",
    "image_file_too_large": "invalid_request_error",
    "unsupported_image_media_type": "invalid_request_error",
    "empty_image_file": "invalid_request_error",
    "failed_to_download_image": "invalid_request_error",
    "image_file_not_found": "invalid_request_error",
    "context_length_exceeded": "context_length_exceeded",
    "insufficient_quota": "insufficient_quota",
}


def response_error(error: Any, what: str = "the response failed") -> CfAigError:
    """The typed error for a Responses ``error`` object or ``error`` stream event."""
    if not isinstance(error, dict):
        error = {}
    code = error.get("code")
    message = error.get("message") or what
    inner: dict[str, Any] = {"message": message}
    if isinstance(code, str) and code:
        inner["code"] = code
        inner["type"] = _ERROR_TYPES.get(code, error.get("type") or code)
    elif isinstance(error.get("type"), str) and error["type"] != "error":
        inner["type"] = error["type"]
    return error_from_body(None, {"error": inner})


# --------------------------------------------------------------------------- build


def _text_of(content: Any, where: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise ConfigurationError(f"{where}: content must be a string or a list of parts")
    out = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("text", "input_text", "output_text"):
            out.append(str(part.get("text") or ""))
        elif kind == "refusal":
            continue  # a past refusal carries no content worth replaying
        else:
            raise ConfigurationError(
                f"{where}: only text parts are allowed here (instructions and earlier answers "
                f"on /ai/v1/responses), got {kind!r}; put images and files in a user message")
    return "".join(out)


def _image(part: dict[str, Any], where: str) -> dict[str, Any]:
    url = image_url_of(part, where)
    spec = part.get("image_url")
    detail = spec.get("detail") if isinstance(spec, dict) else None
    return {"type": "input_image", "image_url": url, "detail": detail or "auto"}


def _file(part: dict[str, Any], where: str) -> dict[str, Any]:
    spec = part.get("file")
    if not isinstance(spec, dict):
        raise ConfigurationError(f"{where}: file part without a 'file' object")
    out: dict[str, Any] = {"type": "input_file"}
    for key in ("file_id", "file_data", "filename", "file_url"):
        if spec.get(key):
            out[key] = spec[key]
    if not ({"file_id", "file_data", "file_url"} & set(out)):
        raise ConfigurationError(f"{where}: file part needs file_id, file_data or file_url")
    return out


def _text_only(content: list[Any]) -> bool:
    return all(isinstance(p, dict) and p.get("type") in ("text", "input_text", "output_text",
                                                         "refusal") for p in content)


def _is_builtin_call(item: dict[str, Any]) -> bool:
    """A provider-run tool item (``web_search_call``, ``file_search_call``...)."""
    kind = item.get("type")
    return isinstance(kind, str) and kind.endswith("_call") and kind not in (
        "function_call", "custom_tool_call")


def _parts(content: Any, where: str) -> str | list[dict[str, Any]]:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ConfigurationError(f"{where}: content must be a string or a list of parts")
    out: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        at = f"{where} part {j}"
        kind = part.get("type") if isinstance(part, dict) else None
        if not isinstance(part, dict):
            raise ConfigurationError(f"{at}: a content part must be an object")
        if kind == "text":
            out.append({"type": "input_text", "text": str(part.get("text") or "")})
        elif kind == "image_url":
            out.append(_image(part, at))
        elif kind == "file":
            out.append(_file(part, at))
        elif kind in ("input_text", "input_image", "input_file"):
            out.append(dict(part))
        else:
            carrier = ("api='chat_completions' with an audio model (for example "
                       "openai/gpt-audio)" if kind == "input_audio" else
                       "api='chat_completions'")
            raise ConfigurationError(
                f"{at}: content part type {kind!r} is not supported on /ai/v1/responses; "
                f"use {carrier}"
            )
    return out


def _input(messages: list[Any]) -> tuple[str | None, list[dict[str, Any]]]:
    instructions: list[str] = []
    items: list[dict[str, Any]] = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise ConfigurationError(f"{where} must be an object")
        role = m.get("role")
        if role in ("system", "developer"):
            text = _text_of(m.get("content"), where)
            if text:
                instructions.append(text)
        elif role == "user":
            items.append({"role": "user", "content": _parts(m.get("content"), where)})
        elif role == "assistant":
            for call in m.get("server_tool_calls") or ():
                native = call.get("native") if isinstance(call, dict) else None
                if isinstance(native, dict) and _is_builtin_call(native):
                    items.append(dict(native))  # the provider's own item, sent back as is
            text = _text_of(m.get("content"), where)
            if text:
                items.append({"role": "assistant", "content": text})
            for call in m.get("tool_calls") or ():
                fn = (call.get("function") or {}) if isinstance(call, dict) else None
                if not isinstance(fn, dict) or not call.get("id"):
                    raise ConfigurationError(f"{where}: a tool call needs an id and a function")
                args = fn.get("arguments")
                items.append(
                    {
                        "type": "function_call",
                        "call_id": call["id"],
                        "name": fn.get("name") or "",
                        "arguments": args
                        if isinstance(args, str)
                        else json.dumps(args or {}, ensure_ascii=False),
                    }
                )
        elif role == "tool":
            if not m.get("tool_call_id"):
                raise ConfigurationError(f"{where}: a tool message needs tool_call_id")
            content = m.get("content")
            output: str | list[dict[str, Any]] = (
                content
                if isinstance(content, str)
                else _parts(content, where)  # images and files go as content items
                if isinstance(content, list) and not _text_only(content)
                else _text_of(content, where)
                if isinstance(content, list) or content is None
                else json.dumps(content, ensure_ascii=False)
            )
            items.append(
                {"type": "function_call_output", "call_id": m["tool_call_id"], "output": output}
            )
        else:
            raise ConfigurationError(f"{where}: unsupported role {role!r}")
    return ("\n\n".join(instructions) if instructions else None), items


def _tool(tool: Any) -> dict[str, Any]:
    if not isinstance(tool, dict):
        raise ConfigurationError("each tool must be an object")
    fn = tool.get("function")
    kind = str(tool.get("type"))
    if kind[-9:-8] == "_" and kind[-8:].isdigit():  # web_search_20250305 ...: Anthropic's
        raise ConfigurationError(
            f"{kind!r} is an Anthropic server tool, which /ai/v1/responses cannot carry; use "
            "api='messages' with an anthropic/* model, or {'type': 'web_search_preview'} here")
    if tool.get("type") != "function" or not isinstance(fn, dict):
        return dict(tool)  # already flat, or a built-in tool such as web_search
    if not fn.get("name"):
        raise ConfigurationError("a function tool needs function.name")
    out: dict[str, Any] = {"type": "function", "name": fn["name"]}
    if fn.get("description"):
        out["description"] = fn["description"]
    out["parameters"] = fn.get("parameters") or {"type": "object", "properties": {}}
    out["strict"] = bool(fn.get("strict", False))
    return out


def _tool_choice(choice: Any) -> str | dict[str, Any]:
    if choice in ("auto", "none", "required"):
        return cast(str, choice)
    if isinstance(choice, dict):
        fn = choice.get("function")
        if choice.get("type") == "function" and isinstance(fn, dict):
            if not fn.get("name"):
                raise ConfigurationError("tool_choice of type 'function' needs a name")
            return {"type": "function", "name": fn["name"]}
        return dict(choice)
    raise ConfigurationError(
        f"tool_choice must be 'auto', 'none', 'required' or a dict, got {choice!r}"
    )


def _text_format(fmt: Any) -> dict[str, Any] | None:
    if not isinstance(fmt, dict):
        raise ConfigurationError("response_format must be a dict")
    kind = fmt.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            raise ConfigurationError("response_format json_schema needs json_schema.schema")
        out: dict[str, Any] = {
            "type": "json_schema",
            "name": spec.get("name") or "response",
            "schema": spec["schema"],
        }
        if spec.get("description"):
            out["description"] = spec["description"]
        if spec.get("strict") is not None:
            out["strict"] = spec["strict"]
        return out
    raise ConfigurationError(f"response_format type {kind!r} is not supported on responses")


_MIN_OUTPUT_TOKENS = 16
_LOGPROBS_INCLUDE = "message.output_text.logprobs"


def _check_workers_ai(model: str, tools: Any, items: list[dict[str, Any]]) -> None:
    """Workers AI's Responses implementation is "stripped down" (reference §4.4): function
    tools, JSON mode and images only; a built-in tool or a file would be refused or ignored
    there, so it is refused here, before sending."""
    for i, tool in enumerate(tools or ()):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind != "function":
            raise ConfigurationError(
                f"tools[{i}] ({kind!r}) is not carried by {model} on /ai/v1/responses (Workers "
                "AI's Responses API takes function tools only); use a provider model such as "
                "openai/gpt-5.5 on api='responses' for OpenAI's built-in tools")
    for item in items:
        content = item.get("content") if item.get("role") == "user" else item.get("output")
        for part in content if isinstance(content, list) else ():
            if isinstance(part, dict) and part.get("type") == "input_file":
                raise ConfigurationError(
                    f"{model} on /ai/v1/responses takes no file inputs (Workers AI's Responses "
                    "API: text and images); use openai/gpt-5.5 on api='responses', or "
                    "anthropic/claude-sonnet-4.5 on api='messages', for PDFs")


def build_responses_body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """The ``/ai/v1/responses`` body for a canonical request (see the module docstring)."""
    req: dict[str, Any] = {k: v for k, v in request.items() if v is not None}
    if "stop" in req:
        raise ConfigurationError(
            "'stop' has no equivalent on /ai/v1/responses (the Responses API has no stop "
            "sequences); remove it or use api='chat_completions'"
        )
    refuse_unknown_keys(req, _KNOWN, "/ai/v1/responses", "responses")
    if req.pop("logprobs", None):  # Responses' form: an include entry (+ top_logprobs)
        include = list(req.get("include") or [])
        if _LOGPROBS_INCLUDE not in include:
            include.append(_LOGPROBS_INCLUDE)
        req["include"] = include
    messages = req.get("messages")
    if not isinstance(messages, list):
        raise ConfigurationError("request['messages'] must be a list")
    body: dict[str, Any] = {"model": req.get("model") or ""}
    instructions, items = _input(messages)
    if instructions is not None:
        body["instructions"] = instructions
    body["input"] = items
    if is_workers_ai(body["model"]):
        _check_workers_ai(body["model"], req.get("tools"), items)
    if req.get("tools"):
        body["tools"] = [_tool(t) for t in req["tools"]]
    if "tool_choice" in req:
        body["tool_choice"] = _tool_choice(req["tool_choice"])

    text = dict(req.get("text") or {})
    if "response_format" in req:
        fmt = _text_format(req["response_format"])
        if fmt is not None:
            text["format"] = fmt
    if "verbosity" in req:
        text["verbosity"] = req["verbosity"]
    if text:
        body["text"] = text

    reasoning = dict(req.get("reasoning") or {})
    if "reasoning_effort" in req:
        reasoning["effort"] = req["reasoning_effort"]
    if reasoning:
        body["reasoning"] = reasoning

    limit = req.get("max_completion_tokens", req.get("max_tokens", req.get("max_output_tokens")))
    if limit is not None:
        if isinstance(limit, int) and limit < _MIN_OUTPUT_TOKENS:
            raise ConfigurationError(
                f"max_tokens must be at least {_MIN_OUTPUT_TOKENS} on /ai/v1/responses "
                f"(max_output_tokens minimum), got {limit}"
            )
        body["max_output_tokens"] = limit
    for key in sorted(_PASSTHROUGH):
        if key in req:
            body[key] = req[key]
    if stream:
        body["stream"] = True
    return body


# --------------------------------------------------------------------------- parse


def convert_usage(usage: Any) -> Usage | None:
    """Responses usage → canonical usage."""
    if not isinstance(usage, dict):
        return None

    def num(obj: Any, key: str) -> int | None:
        value = obj.get(key) if isinstance(obj, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    prompt = num(usage, "input_tokens") or 0
    completion = num(usage, "output_tokens") or 0
    total = num(usage, "total_tokens")
    out: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total if total is not None else prompt + completion,
    }
    cached = num(usage.get("input_tokens_details"), "cached_tokens")
    if cached is not None:
        out["prompt_tokens_details"] = {"cached_tokens": cached}
    reasoning = num(usage.get("output_tokens_details"), "reasoning_tokens")
    if reasoning is not None:
        out["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return cast(Usage, out)


def finish_reason(response: dict[str, Any], has_tool_calls: bool) -> str:
    """``status`` + ``incomplete_details`` → canonical ``finish_reason``."""
    if response.get("status") == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        if reason == "content_filter":
            return "content_filter"
        return "length"  # max_output_tokens, or an unnamed cut
    return "tool_calls" if has_tool_calls else "stop"


def convert_annotation(ann: Any, offset: int = 0) -> dict[str, Any] | None:
    """A Responses annotation → canonical (Chat Completions' ``{"type": t, t: {...}}``
    shape), its character offsets moved by ``offset`` (text before its part)."""
    if not isinstance(ann, dict) or not isinstance(ann.get("type"), str):
        return None
    kind = ann["type"]
    body = {k: v for k, v in ann.items() if k != "type"}
    for key in ("start_index", "end_index", "index"):
        if isinstance(body.get(key), int) and not isinstance(body[key], bool):
            body[key] += offset
    return {"type": kind, kind: body}


def server_tool_call(item: dict[str, Any]) -> tuple[ServerToolCall, ServerToolResult | None]:
    """A provider-run tool item (``web_search_call``...) → canonical call and, once the
    item is finished, its result. The item itself is kept as ``native``."""
    kind = str(item.get("type"))
    cid = str(item.get("id") or f"ws_{uuid.uuid4().hex[:24]}")
    action = item.get("action")
    args: dict[str, Any] = (
        {k: v for k, v in action.items() if k != "sources"} if isinstance(action, dict)
        else {k: item[k] for k in ("query", "queries", "code", "arguments", "server_label")
              if k in item})
    call: ServerToolCall = {"id": cid, "name": kind.removesuffix("_call"), "args": args,
                            "native": dict(item)}
    status = item.get("status")
    if status not in ("completed", "failed", "incomplete"):
        return call, None
    output = item.get("results") or item.get("output") or (
        {"sources": action["sources"]} if isinstance(action, dict) and action.get("sources")
        else None)
    result: ServerToolResult = {"tool_call_id": cid,
                                "status": "success" if status == "completed" else "error",
                                "output": output}
    return call, result


def _reasoning_segments(item: dict[str, Any]) -> list[str]:
    out = []
    for key in ("content", "summary"):
        for part in item.get(key) or ():
            if isinstance(part, dict) and part.get("text"):
                out.append(str(part["text"]))
    return out


def parse_response(body: Any) -> ChatCompletion:
    """A ``response`` object → canonical completion (raises on failed responses)."""
    if isinstance(body, dict) and body.get("status") == "failed":
        raise response_error(body.get("error"))
    check_error(body)
    instead = chat_completion_instead(body)
    if instead is not None:
        return instead
    if not isinstance(body, dict) or not isinstance(body.get("output"), list):
        raise ResponseDecodeError(f"expected a Responses 'response' object, got {str(body)[:200]}")
    texts: list[str] = []
    refusals: list[str] = []
    reasoning: list[str] = []
    calls: list[ToolCall] = []
    annotations: list[dict[str, Any]] = []
    logprobs: list[dict[str, Any]] = []
    server_calls: list[ServerToolCall] = []
    server_results: list[ServerToolResult] = []
    offset = 0
    for item in body["output"]:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "message":
            for part in item.get("content") or ():
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "output_text":
                    logprobs.extend(p for p in part.get("logprobs") or () if isinstance(p, dict))
                    for ann in part.get("annotations") or ():
                        converted = convert_annotation(ann, offset)
                        if converted is not None:
                            annotations.append(converted)
                    texts.append(str(part.get("text") or ""))
                    offset += len(texts[-1])
                elif part.get("type") == "refusal":
                    refusals.append(str(part.get("refusal") or ""))
        elif kind == "function_call":
            calls.append(build_tool_call(str(item.get("call_id") or item.get("id") or ""),
                                         str(item.get("name") or ""), item.get("arguments")))
        elif kind == "reasoning":
            reasoning.extend(_reasoning_segments(item))
        elif _is_builtin_call(item):
            server_call, server_result = server_tool_call(item)
            server_calls.append(server_call)
            if server_result is not None:
                server_results.append(server_result)
    message = assistant_message("".join(texts), annotations, server_calls, server_results)
    if reasoning:
        message["reasoning_content"] = "\n\n".join(reasoning)
    if refusals:
        message["refusal"] = "".join(refusals)
    if calls:
        message["tool_calls"] = calls
    created = body.get("created_at")
    return one_choice_completion(
        str(body.get("id") or f"resp_{uuid.uuid4().hex[:24]}"),
        int(created) if isinstance(created, (int, float)) else int(time.time()),
        str(body.get("model") or ""), message, finish_reason(body, bool(calls)),
        convert_usage(body.get("usage")),
        **({"logprobs": {"content": logprobs, "refusal": None}} if logprobs else {}))


# --------------------------------------------------------------------------- stream

_TERMINAL = ("response.completed", "response.incomplete")
_START = ("response.created", "response.in_progress", "response.queued")


class ResponsesStream(TypedEventStream):
    """Decoder for one Responses typed-event stream (see the module docstring).

    >>> s = RESPONSES.stream_state("openai/gpt-5.5")
    >>> s.event("response.output_text.delta",
    ...     b'{"type":"response.output_text.delta","item_id":"m","delta":"Hi"}')[0]["choices"]
    [{'index': 0, 'delta': {'content': 'Hi'}, 'finish_reason': None}]
    """

    __slots__ = ("_annotated", "_bases", "_builtins", "_emitted", "_items", "_reasoned", "_seen",
                 "_segment", "_text_len", "_tools")
    ID_PREFIX = "resp"
    LABEL = "Responses"
    TERMINAL = "response.completed"

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self._emitted = False
        self._tools: dict[str, int] = {}  # item id / "#output_index" → tool index
        self._items: dict[int, bool] = {}  # tool index → arguments already streamed
        self._seen: set[tuple[str, str, int]] = set()  # (item, kind, part) with deltas
        self._segment: tuple[str, str, int] | None = None
        self._reasoned = False
        self._text_len = 0  # characters of content streamed so far
        self._bases: dict[tuple[str, int], int] = {}  # text part → its offset in content
        self._annotated: set[tuple[str, int]] = set()  # text parts whose annotations came
        self._builtins: set[str] = set()  # provider-run tool items already emitted

    def _delta(self, delta: dict[str, Any], reason: str | None = None) -> ChatCompletionChunk:
        self._emitted = True
        return super()._delta(delta, reason)

    def _event(self, kind: str | None, obj: dict[str, Any]) -> list[ChatCompletionChunk]:
        if kind == "error":
            raise response_error(obj.get("error") if isinstance(obj.get("error"), dict) else obj)
        if kind is None:
            check_error(obj)  # an error envelope without a type
            return []
        if kind == "response.failed":
            response = obj.get("response")
            error = response.get("error") if isinstance(response, dict) else None
            raise response_error(error)
        if kind in _START:
            self._start(obj.get("response"))
            return []
        if kind in _TERMINAL:
            return self._terminal(obj.get("response"))
        if kind == "response.output_item.added":
            return self._item_added(obj)
        if kind == "response.output_item.done":
            return self._item_done(obj)
        if kind == "response.output_text.delta":
            out = self._text(obj, "text", "content", obj.get("content_index"), obj.get("delta"))
            if out and obj.get("logprobs"):
                out[0]["choices"][0]["logprobs"] = {"content": obj["logprobs"], "refusal": None}
            return out
        if kind == "response.output_text.done":
            return self._fill(obj, "text", "content", obj.get("content_index"), obj.get("text"))
        if kind == "response.refusal.delta":
            return self._text(obj, "refusal", "refusal", obj.get("content_index"), obj.get("delta"))
        if kind == "response.refusal.done":
            return self._fill(
                obj, "refusal", "refusal", obj.get("content_index"), obj.get("refusal")
            )
        if kind == "response.reasoning_text.delta":
            return self._reason(obj, "content", obj.get("content_index"), obj.get("delta"), False)
        if kind == "response.reasoning_text.done":
            return self._reason(obj, "content", obj.get("content_index"), obj.get("text"), True)
        if kind == "response.reasoning_summary_text.delta":
            return self._reason(obj, "summary", obj.get("summary_index"), obj.get("delta"), False)
        if kind == "response.reasoning_summary_text.done":
            return self._reason(obj, "summary", obj.get("summary_index"), obj.get("text"), True)
        if kind == "response.function_call_arguments.delta":
            return self._arguments(obj, obj.get("delta"), False)
        if kind == "response.function_call_arguments.done":
            return self._arguments(obj, obj.get("arguments"), True)
        if kind == "response.output_text.annotation.added":
            return self._annotation(obj)
        return []  # content_part.*, built-in tool progress (the item.done carries it), unknown

    def _start(self, response: Any) -> None:
        if isinstance(response, dict):
            if response.get("id") and self._id is None:
                self._id = str(response["id"])
            if response.get("model"):  # the provider's name, as parse() reports it
                self._model = str(response["model"])
            created = response.get("created_at")
            if isinstance(created, int) and not isinstance(created, bool):
                self._created = created

    @staticmethod
    def _item_key(obj: dict[str, Any]) -> str:
        item = obj.get("item_id")
        if isinstance(item, str) and item:
            return item
        return f"#{obj.get('output_index', 0)}"

    def _text(
        self, obj: dict[str, Any], kind: str, field: str, part: Any, text: Any
    ) -> list[ChatCompletionChunk]:
        index = part if isinstance(part, int) else 0
        self._seen.add((self._item_key(obj), kind, index))
        if kind == "text":
            self._bases.setdefault((self._item_key(obj), index), self._text_len)
        if not isinstance(text, str) or not text:
            return []
        if kind == "text":
            self._text_len += len(text)
        return [self._delta({field: text})]

    def _annotation(self, obj: dict[str, Any]) -> list[ChatCompletionChunk]:
        index = obj.get("content_index")
        key = (self._item_key(obj), index if isinstance(index, int) else 0)
        self._annotated.add(key)
        converted = convert_annotation(obj.get("annotation"),
                                       self._bases.get(key, self._text_len))
        return [self._delta({"annotations": [converted]})] if converted else []

    def _fill(
        self, obj: dict[str, Any], kind: str, field: str, part: Any, text: Any
    ) -> list[ChatCompletionChunk]:
        key = (self._item_key(obj), kind, part if isinstance(part, int) else 0)
        if key in self._seen:
            return []
        return self._text(obj, kind, field, part, text)

    def _reason(
        self, obj: dict[str, Any], kind: str, part: Any, text: Any, done: bool
    ) -> list[ChatCompletionChunk]:
        key = (self._item_key(obj), kind, part if isinstance(part, int) else 0)
        if done and key in self._seen:
            return []
        self._seen.add(key)
        if not isinstance(text, str) or not text:
            return []
        if key != self._segment and self._reasoned:
            text = "\n\n" + text  # a new reasoning part: separate it as parse() does
        self._segment = key
        self._reasoned = True
        return [self._delta({"reasoning_content": text})]

    def _tool_index(self, obj: dict[str, Any]) -> int | None:
        item = obj.get("item_id")
        if isinstance(item, str) and item in self._tools:
            return self._tools[item]
        return self._tools.get(f"#{obj.get('output_index', 0)}")

    def _new_tool(self, item: dict[str, Any], output_index: Any) -> list[ChatCompletionChunk]:
        index = len(self._items)
        self._items[index] = False
        if item.get("id"):
            self._tools[str(item["id"])] = index
        if isinstance(output_index, int):
            self._tools[f"#{output_index}"] = index
        args = item.get("arguments")
        call: dict[str, Any] = {
            "index": index,
            "id": str(item.get("call_id") or item.get("id") or f"call_{uuid.uuid4().hex[:24]}"),
            "type": "function",
            "function": {"name": str(item.get("name") or ""), "arguments": ""},
        }
        if isinstance(args, str) and args:
            call["function"]["arguments"] = args
            self._items[index] = True
        return [self._delta({"tool_calls": [call]})]

    def _item_added(self, obj: dict[str, Any]) -> list[ChatCompletionChunk]:
        item = obj.get("item")
        if isinstance(item, dict) and item.get("type") == "function_call":
            return self._new_tool(item, obj.get("output_index"))
        return []

    def _item_done(self, obj: dict[str, Any]) -> list[ChatCompletionChunk]:
        item = obj.get("item")
        if not isinstance(item, dict):
            return []
        kind = item.get("type")
        ref = {"item_id": item.get("id"), "output_index": obj.get("output_index", 0)}
        if kind == "function_call":
            if self._tool_index(ref) is None:
                return self._new_tool(item, obj.get("output_index"))
            return self._arguments(ref, item.get("arguments"), True)
        if _is_builtin_call(item):
            call, result = server_tool_call(item)
            self._builtins.add(call["id"])
            delta: dict[str, Any] = {"server_tool_calls": [call]}
            if result is not None:
                delta["server_tool_results"] = [result]
            return [self._delta(delta)]
        out: list[ChatCompletionChunk] = []
        if kind == "message":
            for j, part in enumerate(item.get("content") or ()):
                if isinstance(part, dict) and part.get("type") == "output_text":
                    out += self._fill(ref, "text", "content", j, part.get("text"))
                    part_key = (self._item_key(ref), j)
                    if part_key not in self._annotated and part.get("annotations"):
                        self._annotated.add(part_key)
                        base = self._bases.get(part_key, 0)
                        found = [a for a in (convert_annotation(x, base)
                                             for x in part["annotations"]) if a]
                        if found:
                            out.append(self._delta({"annotations": found}))
                elif isinstance(part, dict) and part.get("type") == "refusal":
                    out += self._fill(ref, "refusal", "refusal", j, part.get("refusal"))
        elif kind == "reasoning":
            for key in ("content", "summary"):
                for j, part in enumerate(item.get(key) or ()):
                    if isinstance(part, dict):
                        out += self._reason(ref, key, j, part.get("text"), True)
        return out

    def _arguments(self, obj: dict[str, Any], text: Any, done: bool) -> list[ChatCompletionChunk]:
        index = self._tool_index(obj)
        if index is None:
            if done:
                return []
            raise ResponseDecodeError(
                "function_call_arguments.delta for an item that was never added"
            )
        if (done and self._items[index]) or not isinstance(text, str) or not text:
            return []
        self._items[index] = True
        return [self._delta({"tool_calls": [{"index": index, "function": {"arguments": text}}]})]

    def _unstreamed_calls(self, output: Any) -> list[ChatCompletionChunk]:
        """Function calls and provider-run tool items the terminal ``response`` lists but
        no item event announced (a stream that sent only text deltas): emitted now, so a
        ``tool_calls`` finish never comes without its calls."""
        out: list[ChatCompletionChunk] = []
        for i, item in enumerate(output if isinstance(output, list) else ()):
            if not isinstance(item, dict):
                continue
            ident = str(item.get("id") or "")  # without one, only if none was emitted
            if item.get("type") == "function_call" or (_is_builtin_call(item) and (
                    ident not in self._builtins if ident else not self._builtins)):
                out += self._item_done({"item": item, "output_index": i})
        return out

    def _terminal(self, response: Any) -> list[ChatCompletionChunk]:
        if self._done:
            return []
        self._done = True
        if not isinstance(response, dict):
            response = {}
        self._start(response)
        output = response.get("output")
        if not self._emitted and isinstance(output, list) and output:
            # nothing streamed: the terminal event carries the whole answer
            return completion_to_chunks(parse_response(response))
        out = self._unstreamed_calls(output)
        has_calls = bool(self._items) or (
            isinstance(output, list)
            and any(isinstance(i, dict) and i.get("type") == "function_call" for i in output)
        )
        out.append(self._delta({}, finish_reason(response, has_calls)))
        usage = convert_usage(response.get("usage"))
        if usage is not None:
            out.append(make_chunk(self._base(), [], usage))
        return out



CAPABILITIES = Capabilities(
    path="/ai/v1/responses",
    reasoning_object=True,
    gateway_path="/compat/responses",
    stop_sequences=False,
    max_tokens_field="max_completion_tokens",
    file_urls=True,
    tool_result_images=True,  # function_call_output content items (input_image, input_file)
    server_tools=True,
)
"""What the Responses wire carries."""



def responses_capabilities(model: str) -> Capabilities:
    """:data:`CAPABILITIES`; for Workers AI models (gpt-oss) the stripped-down form: no
    built-in tools or files, and no JSON-schema stream (Workers AI error 5023).

    >>> responses_capabilities("@cf/openai/gpt-oss-120b").server_tools
    False
    """
    if not is_workers_ai(model):
        return CAPABILITIES
    return replace(CAPABILITIES, server_tools=False, files=False, file_urls=False,
                   stream_with_schema=get_profile(model).streaming_json_schema)


RESPONSES = FixedPathDialect("responses", responses_capabilities, build_responses_body,
                             parse_response, ResponsesStream)
"""The OpenAI Responses API over ``/ai/v1/responses``; see the module docstring."""
