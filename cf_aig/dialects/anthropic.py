"""``/ai/v1/messages``: Anthropic Messages (reference §4.5).

Request (canonical Chat Completions → Messages):

- ``system``/``developer`` messages, wherever they stand, are hoisted into one ``system``
  **string** (joined with blank lines): Cloudflare's Messages schema declares ``system``
  a string and rejected arrays (reference §4.5), so a ``cache_control`` on a system part
  (which a string cannot carry) is a ``ConfigurationError`` naming the alternative: put
  the breakpoint on the first user content block.
- Refused before sending, as Anthropic would refuse them: ``temperature`` above 1, and
  thinking (``reasoning_effort``) together with a forced tool choice (the adapters apply
  :mod:`cf_aig.policy` first, which relaxes the only tool to ``auto`` or refuses).
- Content parts: ``text``; ``image_url`` (``data:`` URL → base64 source, http(s) → url
  source); ``file`` with a PDF (or plain-text) data URL → ``document`` block, with an
  http(s) ``file_url`` → a url-source ``document``. Native ``image``/``document`` blocks
  pass through. ``cache_control`` on parts, tools and tool calls is kept (prompt caching).
- Tool results keep their parts: images and documents go inside ``tool_result.content``.
- Assistant ``thinking_blocks`` go first, then the provider-run tool turns
  (``server_tool_calls``/``server_tool_results`` whose ``native`` blocks are Anthropic's:
  each ``server_tool_use`` followed by its result block), then text, then ``tool_calls``
  as ``tool_use`` blocks (arguments parsed to an object; ``""`` means ``{}``). ``tool``
  messages become ``tool_result`` blocks in a user turn; consecutive same-role turns are
  merged.
- Non-function tools (``web_search_20250305`` and Anthropic's other typed tools) pass
  through untouched.
- ``max_tokens`` (required by Anthropic) is ``max_completion_tokens``, else
  ``max_tokens``, else ``min(profile.max_output_tokens, 8192)`` (plus the thinking budget
  when thinking is on, still capped by the profile).
- ``reasoning_effort`` → ``thinking: {"type": "enabled", "budget_tokens": N}`` with N from
  :data:`THINKING_BUDGETS` (``none`` → no thinking).
- ``response_format`` ``json_schema`` → ``output_config: {"format": {"type":
  "json_schema", "schema": ...}}`` (Anthropic's native structured output; other
  ``output_config`` keys are kept). ``json_object`` (JSON mode) has no Messages
  equivalent: a ``ConfigurationError`` naming the schema form and chat completions.
- Keys with no Messages equivalent raise :class:`ConfigurationError`; ``None`` values
  count as unset; ``stream_options`` is dropped (Messages streams always carry usage).

Response: text → ``content``; ``tool_use`` → ``tool_calls``; thinking →
``reasoning_content`` plus the exact ``thinking_blocks`` (signatures kept for the round
trip); ``server_tool_use`` / ``*_tool_result`` blocks → ``server_tool_calls`` /
``server_tool_results`` (the block kept as ``native``); text ``citations`` →
``annotations`` (web results as ``url_citation`` spanning their text block); usage counts
cache reads and writes in ``prompt_tokens`` (``prompt_tokens_details``: ``cached_tokens``,
``cache_creation_tokens``). Streams give the same, and usage never goes backwards.

>>> body = ANTHROPIC.build({"model": "anthropic/claude-sonnet-4.5", "max_tokens": 64,
...     "messages": [{"role": "system", "content": "Be terse."},
...                  {"role": "user", "content": "Hi"}]}, stream=False)
>>> body
{'model': 'anthropic/claude-sonnet-4.5', 'max_tokens': 64, 'system': 'Be terse.', \
'messages': [{'role': 'user', 'content': 'Hi'}]}
>>> done = ANTHROPIC.parse({"id": "msg_1", "type": "message", "role": "assistant",
...     "model": "claude", "content": [{"type": "text", "text": "Hello"}],
...     "stop_reason": "end_turn", "usage": {"input_tokens": 5, "output_tokens": 2}})
>>> done["choices"][0]["message"]["content"], done["choices"][0]["finish_reason"]
('Hello', 'stop')
>>> done["usage"]["total_tokens"]
7
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from dataclasses import replace
from typing import Any

from ..accumulate import NATIVE_STOP_KEYS, build_tool_call
from ..errors import (
    ConfigurationError,
    ResponseDecodeError,
    error_from_body,
)
from ..profiles import get_profile
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
    FINISH_REASONS,
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

DEFAULT_MAX_TOKENS = 8192
"""``max_tokens`` when the request sets none (capped by the model profile)."""

THINKING_BUDGETS: dict[str, int] = {
    "minimal": 1024,
    "low": 2048,
    "medium": 8192,
    "high": 16384,
    "xhigh": 32768,
    "max": 32768,
}
"""``reasoning_effort`` → ``thinking.budget_tokens`` (1024 is Anthropic's minimum)."""

_MIN_BUDGET = 1024

# Native Messages fields a canonical request may carry; they pass through untouched.
_NATIVE = frozenset(
    {
        "top_k",
        "thinking",
        "output_format",
        "output_config",
        "service_tier",
        "container",
        "cache_control",
        "inference_geo",
        "context_management",
        "mcp_servers",
    }
)
_HANDLED = frozenset(
    {
        "model",
        "messages",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "reasoning_effort",
        "stream",
        "stream_options",
        "metadata",
        "user",
        "n",
        "logprobs",
    }
)
_KNOWN = _HANDLED | _NATIVE
_NATIVE_PARTS = frozenset({"image", "document", "search_result"})


# --------------------------------------------------------------------------- build


def _system(messages: list[Any]) -> str | None:
    blocks: list[dict[str, Any]] = []
    for i, m in enumerate(messages):
        content = m.get("content")
        if isinstance(content, list):
            for part in content:
                if not isinstance(part, dict) or part.get("type") not in ("text", "input_text"):
                    raise ConfigurationError(
                        f"messages[{i}] ({m.get('role')}): only text parts are allowed in "
                        "system instructions on /ai/v1/messages; put images and files in a "
                        "user message"
                    )
                block: dict[str, Any] = {"type": "text", "text": str(part.get("text") or "")}
                if part.get("cache_control"):
                    block["cache_control"] = part["cache_control"]
                blocks.append(block)
        elif content:
            blocks.append({"type": "text", "text": str(content)})
    if any("cache_control" in b for b in blocks):
        raise ConfigurationError(
            "cache_control on a system message cannot be sent to /ai/v1/messages: Cloudflare "
            "takes 'system' as a string. Put cache_control on the first user content block "
            "instead (everything before a breakpoint is cached)."
        )
    blocks = [b for b in blocks if b["text"]]
    if not blocks:
        return None
    return "\n\n".join(b["text"] for b in blocks)


def _data_url(url: str, where: str) -> tuple[str, str]:
    head, sep, data = url.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        raise ConfigurationError(f"{where}: expected a base64 data URL (data:<type>;base64,...)")
    return head[5:-7] or "application/octet-stream", data


def _image(part: dict[str, Any], where: str) -> dict[str, Any]:
    url = image_url_of(part, where)
    if url.startswith("data:"):
        media, data = _data_url(url, where)
        source: dict[str, Any] = {"type": "base64", "media_type": media, "data": data}
    elif url.startswith(("http://", "https://")):
        source = {"type": "url", "url": url}
    else:
        raise ConfigurationError(f"{where}: image url must be a data: or http(s) URL")
    return {"type": "image", "source": source}


def _document(part: dict[str, Any], where: str) -> dict[str, Any]:
    spec = part.get("file")
    if not isinstance(spec, dict):
        raise ConfigurationError(f"{where}: file part without a 'file' object")
    data = spec.get("file_data")
    url = spec.get("file_url")
    if not isinstance(data, str) and isinstance(url, str) and url.startswith(("https://",
                                                                              "http://")):
        by_url: dict[str, Any] = {"type": "document", "source": {"type": "url", "url": url}}
        if spec.get("filename"):
            by_url["title"] = spec["filename"]
        return by_url  # Anthropic fetches PDFs by URL itself
    if not isinstance(data, str):
        raise ConfigurationError(
            f"{where}: /ai/v1/messages needs inline file_data or an http(s) file_url "
            "(file_id is not supported); use api='responses' for an uploaded file_id, or "
            "send the file's data"
        )
    if data.startswith("data:"):
        media, payload = _data_url(data, where)
    else:  # bare base64: OpenAI's file_data convention for PDFs
        media, payload = "application/pdf", data
    block: dict[str, Any]
    if media == "application/pdf":
        block = {
            "type": "document",
            "source": {"type": "base64", "media_type": media, "data": payload},
        }
    elif media == "text/plain":
        try:
            text = base64.b64decode(payload, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"{where}: text/plain file is not base64 UTF-8") from exc
        block = {"type": "document", "source": {"type": "text", "media_type": media, "data": text}}
    else:
        raise ConfigurationError(
            f"{where}: Anthropic documents take application/pdf or text/plain, got {media!r}"
        )
    if spec.get("filename"):
        block["title"] = spec["filename"]
    return block


def _blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise ConfigurationError(f"{where}: content must be a string or a list of parts")
    out: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        at = f"{where} part {j}"
        if not isinstance(part, dict):
            raise ConfigurationError(f"{at}: a content part must be an object")
        kind = part.get("type")
        if kind in ("text", "input_text"):
            if not part.get("text"):
                continue  # Anthropic rejects empty text blocks
            block: dict[str, Any] = {"type": "text", "text": str(part["text"])}
        elif kind == "image_url":
            block = _image(part, at)
        elif kind == "file":
            block = _document(part, at)
        elif kind == "refusal":
            if not part.get("refusal"):
                continue
            block = {"type": "text", "text": str(part["refusal"])}
        elif kind in _NATIVE_PARTS:
            out.append(dict(part))
            continue
        else:
            carrier = ("api='chat_completions' (or 'run') with a model that hears audio"
                       if kind == "input_audio" else
                       "api='responses' (input_* parts) or api='chat_completions'")
            raise ConfigurationError(
                f"{at}: content part type {kind!r} is not supported on /ai/v1/messages "
                f"(Anthropic takes text, image, document and search_result blocks); use "
                f"{carrier}, or send it as text")
        if part.get("cache_control"):
            block["cache_control"] = part["cache_control"]
        out.append(block)
    return out


def _tool_use(call: Any, where: str) -> dict[str, Any]:
    if not isinstance(call, dict):
        raise ConfigurationError(f"{where}: a tool call must be an object")
    fn = call.get("function") or {}
    args = fn.get("arguments")
    if args is None or args == "":
        value: Any = {}
    elif isinstance(args, str):
        try:
            value = json.loads(args)
        except ValueError as exc:
            raise ConfigurationError(
                f"{where}: tool call {call.get('id')!r} arguments are not valid JSON"
            ) from exc
    else:
        value = args
    if not isinstance(value, dict):
        raise ConfigurationError(
            f"{where}: tool call {call.get('id')!r} arguments must be a JSON object"
        )
    block = {"type": "tool_use", "id": call.get("id") or "", "name": fn.get("name") or "",
             "input": value}
    if call.get("cache_control"):
        block["cache_control"] = call["cache_control"]
    return block


def _tool_result(m: dict[str, Any], where: str) -> dict[str, Any]:
    content = m.get("content")
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": m.get("tool_call_id") or ""}
    if isinstance(content, list):
        parts = _blocks(content, where)
        if all(p["type"] == "text" and "cache_control" not in p for p in parts):
            block["content"] = "".join(p["text"] for p in parts)
        else:
            block["content"] = parts
    else:
        block["content"] = "" if content is None else str(content)
    return block


def _is_server_block(block: Any) -> bool:
    kind = block.get("type") if isinstance(block, dict) else None
    return isinstance(kind, str) and (
        kind in ("server_tool_use", "mcp_tool_use", "mcp_tool_result")
        or (kind.endswith("_tool_result") and kind != "tool_result")
    )


def _server_blocks(m: dict[str, Any]) -> list[dict[str, Any]]:
    """Earlier provider-run tool turns, sent back as Anthropic's own blocks: each
    ``server_tool_use`` with its result block. Calls another endpoint produced (no
    Anthropic ``native`` block) cannot be replayed here; their outcome stays in the text."""
    results = {
        r.get("tool_call_id"): r.get("native")
        for r in m.get("server_tool_results") or ()
        if isinstance(r, dict) and _is_server_block(r.get("native"))
    }
    out: list[dict[str, Any]] = []
    for call in m.get("server_tool_calls") or ():
        native = call.get("native") if isinstance(call, dict) else None
        if not _is_server_block(native) or not isinstance(native, dict):
            continue
        out.append(dict(native))
        result = results.get(native.get("id"))
        if isinstance(result, dict):
            out.append(dict(result))
    return out


def _messages(messages: list[Any]) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        role = m.get("role")
        if role in ("system", "developer"):
            continue
        if role == "user":
            blocks, turn_role = _blocks(m.get("content"), where), "user"
        elif role == "tool":
            blocks, turn_role = [_tool_result(m, where)], "user"
        elif role == "assistant":
            blocks = [dict(b) for b in m.get("thinking_blocks") or ()]
            blocks += _server_blocks(m)
            blocks += _blocks(m.get("content"), where)
            blocks += [_tool_use(c, where) for c in m.get("tool_calls") or ()]
            turn_role = "assistant"
        else:
            raise ConfigurationError(f"{where}: unsupported role {role!r}")
        if not blocks:
            continue  # Anthropic rejects empty turns; an empty message carries nothing
        if turns and turns[-1]["role"] == turn_role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": turn_role, "content": blocks})
    for turn in turns:  # one plain text block reads better as a string
        c = turn["content"]
        if len(c) == 1 and c[0]["type"] == "text" and set(c[0]) == {"type", "text"}:
            turn["content"] = c[0]["text"]
    return turns


def _tool(tool: Any) -> dict[str, Any]:
    if not isinstance(tool, dict):
        raise ConfigurationError("each tool must be an object")
    if tool.get("type") != "function":
        return dict(tool)  # native Anthropic tool (custom or server tool)
    fn = tool.get("function")
    if not isinstance(fn, dict) or not fn.get("name"):
        raise ConfigurationError("a function tool needs function.name")
    if fn.get("strict"):  # not in the Messages tool schema (specs summary): never dropped
        raise ConfigurationError(
            f"strict tool schemas (tool {fn['name']!r}) are not carried by /ai/v1/messages; "
            "drop strict, or use api='chat_completions' or api='responses'")
    out: dict[str, Any] = {"name": fn["name"]}
    if fn.get("description"):
        out["description"] = fn["description"]
    out["input_schema"] = fn.get("parameters") or {"type": "object", "properties": {}}
    if tool.get("cache_control"):
        out["cache_control"] = tool["cache_control"]
    return out


def _tool_choice(choice: Any) -> dict[str, Any]:
    if choice == "auto":
        return {"type": "auto"}
    if choice == "none":
        return {"type": "none"}
    if choice == "required":
        return {"type": "any"}
    if isinstance(choice, dict):
        if choice.get("type") == "function":
            fn = choice.get("function") or {}
            name = fn.get("name") if isinstance(fn, dict) else None
            name = name or choice.get("name")
            if not name:
                raise ConfigurationError("tool_choice of type 'function' needs a name")
            return {"type": "tool", "name": name}
        return dict(choice)  # native {"type": "auto"|"any"|"tool"|"none", ...}
    raise ConfigurationError(
        f"tool_choice must be 'auto', 'none', 'required' or a dict, got {choice!r}"
    )


def _output_format(fmt: Any) -> dict[str, Any] | None:
    """``response_format`` → Anthropic's ``output_config.format`` (``None``: plain text)."""
    if fmt is None:
        return None
    if not isinstance(fmt, dict):
        raise ConfigurationError("response_format must be an object")
    kind = fmt.get("type")
    if kind in (None, "text"):
        return None
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise ConfigurationError("response_format json_schema needs json_schema.schema")
        return {"type": "json_schema", "schema": schema}
    if kind == "json_object":
        raise ConfigurationError(
            "response_format 'json_object' (JSON mode) has no equivalent on /ai/v1/messages "
            "(api='messages'): Anthropic only constrains output to a JSON schema. Pass a "
            "schema (response_format json_schema, sent as output_config.format), or use "
            "api='chat_completions' for JSON mode"
        )
    raise ConfigurationError(f"response_format type {kind!r} is not known on /ai/v1/messages")


def _max_tokens(request: dict[str, Any], model: str, budget: int | None) -> int:
    value = request.get("max_completion_tokens")
    if value is None:
        value = request.get("max_tokens")
    if value is not None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigurationError(f"max_tokens must be a positive integer, got {value!r}")
        return value
    limit = get_profile(model).max_output_tokens
    return min(limit, DEFAULT_MAX_TOKENS + (budget or 0))


def build_messages_body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """The ``/ai/v1/messages`` body for a canonical request (see the module docstring)."""
    req: dict[str, Any] = {k: v for k, v in request.items() if v is not None}
    refuse_unknown_keys(req, _KNOWN, "/ai/v1/messages", "messages")
    if req.get("logprobs"):
        raise ConfigurationError(
            "'logprobs' is not available on /ai/v1/messages (Anthropic returns no token "
            "log-probabilities); use api='chat_completions' or api='responses'")
    model = str(req.get("model") or "")
    messages = req.get("messages")
    if not isinstance(messages, list):
        raise ConfigurationError("request['messages'] must be a list")
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise ConfigurationError(f"messages[{i}] must be an object")

    thinking = req.get("thinking")
    budget: int | None = None
    effort = req.get("reasoning_effort")
    if effort is not None and effort != "none":
        if thinking is not None:
            raise ConfigurationError("set either 'reasoning_effort' or 'thinking', not both")
        if effort not in THINKING_BUDGETS:
            raise ConfigurationError(
                f"reasoning_effort must be one of {sorted(THINKING_BUDGETS)} or 'none', "
                f"got {effort!r}"
            )
        budget = THINKING_BUDGETS[effort]
    max_tokens = _max_tokens(req, model, budget)
    if budget is not None:
        if budget >= max_tokens:
            budget = max(_MIN_BUDGET, max_tokens // 2)
        if budget >= max_tokens:
            raise ConfigurationError(
                f"reasoning_effort={effort!r} needs max_tokens above {_MIN_BUDGET} "
                f"(thinking budget minimum), got {max_tokens}"
            )
        thinking = {"type": "enabled", "budget_tokens": budget}

    body: dict[str, Any] = {"model": model, "max_tokens": max_tokens}
    system = _system([m for m in messages if m.get("role") in ("system", "developer")])
    if system is not None:
        body["system"] = system
    body["messages"] = _messages(messages)
    if thinking is not None:
        body["thinking"] = thinking

    tools = req.get("tools")
    if tools:
        body["tools"] = [_tool(t) for t in tools]
    choice = _tool_choice(req["tool_choice"]) if "tool_choice" in req else None
    if req.get("parallel_tool_calls") is False and tools:
        choice = choice or {"type": "auto"}
        if choice.get("type") != "none":
            choice["disable_parallel_tool_use"] = True
    if choice is not None:
        if thinking is not None and choice.get("type") in ("any", "tool"):
            raise ConfigurationError(
                "Anthropic does not allow thinking (reasoning_effort/thinking) together with a "
                f"forced tool choice ({req['tool_choice']!r}); drop one of the two"
            )
        body["tool_choice"] = choice

    stop = req.get("stop")
    if stop:
        body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    for key in ("temperature", "top_p"):
        if key in req:
            value = req[key]
            if isinstance(value, (int, float)) and not 0 <= value <= 1:
                raise ConfigurationError(
                    f"{key} must be from 0 to 1 on /ai/v1/messages (Anthropic's range), "
                    f"got {value}"
                )
            body[key] = value

    metadata = dict(req.get("metadata") or {})
    extra = sorted(set(metadata) - {"user_id"})
    if extra:
        raise ConfigurationError(
            f"metadata keys {extra} have no place on /ai/v1/messages (only 'user_id'); use "
            "gateway metadata (cf-aig-metadata) for tags"
        )
    if "user" in req:
        metadata.setdefault("user_id", req["user"])
    if metadata:
        body["metadata"] = metadata

    for key in sorted(_NATIVE - {"thinking"}):
        if key in req:
            body[key] = req[key]
    output_format = _output_format(req.get("response_format"))
    if output_format is not None:
        if "output_format" in req or (
            isinstance(req.get("output_config"), dict) and "format" in req["output_config"]
        ):
            raise ConfigurationError(
                "set either response_format or Anthropic's output_format/output_config.format, "
                "not both"
            )
        body["output_config"] = {**(req.get("output_config") or {}), "format": output_format}
    if stream:
        body["stream"] = True
    return body


# --------------------------------------------------------------------------- parse


def convert_usage(usage: Any) -> Usage | None:
    """Anthropic usage → canonical usage (cache reads and writes count as prompt)."""
    if not isinstance(usage, dict):
        return None

    def num(key: str) -> int:
        value = usage.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    read, write = num("cache_read_input_tokens"), num("cache_creation_input_tokens")
    prompt = num("input_tokens") + read + write
    completion = num("output_tokens")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": read, "cache_creation_tokens": write},
    }


def finish_reason(stop_reason: Any, has_tool_calls: bool = False) -> str:
    """Anthropic ``stop_reason`` → canonical ``finish_reason``."""
    if isinstance(stop_reason, str) and stop_reason in FINISH_REASONS:
        return FINISH_REASONS[stop_reason]
    return "tool_calls" if has_tool_calls else "stop"


def native_stop(obj: Any) -> dict[str, Any]:
    """Anthropic's own ``stop_reason`` and the ``stop_sequence`` that matched, kept beside
    the canonical ``finish_reason`` (:data:`~cf_aig.accumulate.NATIVE_STOP_KEYS`):
    ``pause_turn`` (a server-tool loop paused; send the answer back to continue) and
    ``stop_sequence`` both read ``"stop"`` there.

    >>> native_stop({"stop_reason": "stop_sequence", "stop_sequence": "END"})
    {'stop_reason': 'stop_sequence', 'stop_sequence': 'END'}
    """
    if not isinstance(obj, dict):
        return {}
    return {key: obj[key] for key in NATIVE_STOP_KEYS if isinstance(obj.get(key), str)}


def _arguments(value: Any) -> str:
    return json.dumps(value if value is not None else {}, ensure_ascii=False)


def citations_to_annotations(citations: Any, start: int, end: int) -> list[dict[str, Any]]:
    """Anthropic citations of one text block (spanning ``start:end`` of the answer text) →
    canonical annotations: web results as ``url_citation``, others as their own type."""
    out: list[dict[str, Any]] = []
    for c in citations if isinstance(citations, list) else ():
        if not isinstance(c, dict):
            continue
        kind = str(c.get("type") or "citation")
        if kind == "web_search_result_location" and c.get("url"):
            body: dict[str, Any] = {"url": c["url"], "title": c.get("title") or "",
                                    "start_index": start, "end_index": end}
            if c.get("cited_text"):
                body["cited_text"] = c["cited_text"]
            out.append({"type": "url_citation", "url_citation": body})
        else:
            out.append({"type": kind, kind: {**{k: v for k, v in c.items() if k != "type"},
                                             "start_index": start, "end_index": end}})
    return out


def _server_item(block: dict[str, Any], calls: list[ServerToolCall],
                 results: list[ServerToolResult]) -> None:
    kind = str(block.get("type"))
    if kind in ("server_tool_use", "mcp_tool_use"):
        args = block.get("input")
        calls.append({"id": str(block.get("id") or ""), "name": str(block.get("name") or ""),
                      "args": dict(args) if isinstance(args, dict) else {},
                      "native": dict(block)})
        return
    content = block.get("content")
    failed = isinstance(content, dict) and str(content.get("type", "")).endswith("_error")
    results.append({"tool_call_id": str(block.get("tool_use_id") or ""),
                    "status": "error" if failed or block.get("is_error") else "success",
                    "output": content, "native": dict(block)})


def parse_message(body: Any) -> ChatCompletion:
    """A Messages response body → canonical completion (raises on error bodies)."""
    check_error(body)
    instead = chat_completion_instead(body)
    if instead is not None:
        return instead
    if not isinstance(body, dict) or not isinstance(body.get("content"), list):
        raise ResponseDecodeError(f"expected an Anthropic message object, got {str(body)[:200]}")
    texts: list[str] = []
    reasoning: list[str] = []
    thinking: list[dict[str, Any]] = []
    calls: list[ToolCall] = []
    annotations: list[dict[str, Any]] = []
    server_calls: list[ServerToolCall] = []
    server_results: list[ServerToolResult] = []
    for block in body["content"]:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text") or ""))
        elif kind == "tool_use":
            calls.append(build_tool_call(
                str(block.get("id") or f"toolu_{uuid.uuid4().hex[:24]}"),
                str(block.get("name") or ""), _arguments(block.get("input"))))
        elif kind == "thinking":
            reasoning.append(str(block.get("thinking") or ""))
            thinking.append(dict(block))
        elif kind == "redacted_thinking":
            thinking.append(dict(block))
        elif _is_server_block(block):
            _server_item(block, server_calls, server_results)
        if kind == "text" and block.get("citations"):
            start = sum(len(t) for t in texts[:-1])
            annotations += citations_to_annotations(block["citations"], start, start + len(
                texts[-1]))
    message = assistant_message("".join(texts), annotations, server_calls, server_results)
    if any(reasoning):
        message["reasoning_content"] = "".join(reasoning)
    if thinking:
        message["thinking_blocks"] = thinking
    if calls:
        message["tool_calls"] = calls
    return one_choice_completion(
        str(body.get("id") or f"msg_{uuid.uuid4().hex[:24]}"), int(time.time()),
        str(body.get("model") or ""), message,
        finish_reason(body.get("stop_reason"), bool(calls)), convert_usage(body.get("usage")),
        **native_stop(body))


# --------------------------------------------------------------------------- stream


class _Block:
    __slots__ = ("citations", "data", "input", "kind", "native", "parts", "signature",
                 "start", "streamed", "tool")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.native: dict[str, Any] | None = None  # a provider-run tool block
        self.citations: list[Any] = []
        self.start = 0  # where a text block starts in the answer text
        self.tool: int | None = None
        self.parts: list[str] = []
        self.signature = ""
        self.data: Any = None
        self.input: Any = None
        self.streamed = False


class MessagesStream(TypedEventStream):
    """Decoder for one Anthropic Messages event stream (see the module docstring).

    >>> s = ANTHROPIC.stream_state("anthropic/claude-sonnet-4.5")
    >>> s.event("message_start", b'{"type":"message_start","message":{"id":"msg_1",'
    ...     b'"model":"claude","usage":{"input_tokens":3,"output_tokens":1}}}')
    []
    >>> s.event(None, b'{"type":"content_block_delta","index":0,'
    ...     b'"delta":{"type":"text_delta","text":"Hi"}}')[0]["choices"][0]["delta"]
    {'content': 'Hi'}
    """

    __slots__ = ("_blocks", "_reason", "_text", "_tools", "_usage")
    ID_PREFIX = "msg"
    LABEL = "Anthropic"
    TERMINAL = "message_stop"

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self._blocks: dict[int, _Block] = {}
        self._tools = 0
        self._usage: dict[str, Any] = {}
        self._reason: str | None = None
        self._text = 0  # answer text length so far (citation offsets)

    def _event(self, kind: str | None, obj: dict[str, Any]) -> list[ChatCompletionChunk]:
        if kind == "error" or (kind is None and obj.get("error")):
            raise error_from_body(None, obj)
        if kind == "message_start":
            return self._start(obj.get("message"))
        if kind == "content_block_start":
            return self._block_start(obj)
        if kind == "content_block_delta":
            return self._block_delta(obj)
        if kind == "content_block_stop":
            return self._block_stop(obj)
        if kind == "message_delta":
            return self._message_delta(obj)
        if kind == "message_stop":
            return self._stop()
        if kind == "message" and isinstance(obj.get("content"), list):
            # a whole message where events were expected: replay it as chunks
            self._done = True
            return completion_to_chunks(parse_message(obj))
        return []  # ping and unknown events

    def _start(self, message: Any) -> list[ChatCompletionChunk]:
        if isinstance(message, dict):
            if message.get("id") and self._id is None:
                self._id = str(message["id"])
            if message.get("model"):  # the provider's name, as parse() reports it
                self._model = str(message["model"])
            self._merge_usage(message.get("usage"))
        return []

    def _merge_usage(self, usage: Any) -> None:
        """Counts are cumulative: a later event never lowers one (a trailing all-zero usage
        seen in the wild must not erase real figures)."""
        if isinstance(usage, dict):
            for key, value in usage.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    self._usage[key] = max(value, self._usage.get(key, 0))

    def _index(self, obj: dict[str, Any]) -> int:
        index = obj.get("index", 0)
        if not isinstance(index, int):
            raise ResponseDecodeError(f"content block index is not an integer: {index!r}")
        return index

    def _block_start(self, obj: dict[str, Any]) -> list[ChatCompletionChunk]:
        cb = obj.get("content_block")
        if not isinstance(cb, dict):
            raise ResponseDecodeError("content_block_start without a content_block object")
        kind = str(cb.get("type") or "")
        block = self._blocks[self._index(obj)] = _Block(kind)
        if _is_server_block(cb):
            block.native = dict(cb)
            return []  # sent whole at content_block_stop (server_tool_use input streams)
        if kind == "text":
            block.start = self._text
            block.citations = list(cb.get("citations") or ())
            if cb.get("text"):
                self._text += len(str(cb["text"]))
                return [self._delta({"content": str(cb["text"])})]
        if kind == "tool_use":
            block.tool = self._tools
            self._tools += 1
            block.input = cb.get("input")
            call = {
                "index": block.tool,
                "id": str(cb.get("id") or f"toolu_{uuid.uuid4().hex[:24]}"),
                "type": "function",
                "function": {"name": str(cb.get("name") or ""), "arguments": ""},
            }
            return [self._delta({"tool_calls": [call]})]
        if kind == "thinking":
            block.signature = str(cb.get("signature") or "")
            if cb.get("thinking"):
                block.parts.append(str(cb["thinking"]))
                return [self._delta({"reasoning_content": str(cb["thinking"])})]
        elif kind == "redacted_thinking":
            block.data = cb.get("data")
        return []

    def _block_delta(self, obj: dict[str, Any]) -> list[ChatCompletionChunk]:
        delta = obj.get("delta")
        if not isinstance(delta, dict):
            raise ResponseDecodeError("content_block_delta without a delta object")
        index = self._index(obj)
        block = self._blocks.get(index)
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta.get("text")
            if not text:
                return []
            self._text += len(str(text))
            return [self._delta({"content": str(text)})]
        if kind == "citations_delta":
            if block is not None and isinstance(delta.get("citation"), dict):
                block.citations.append(delta["citation"])
            return []
        if kind == "input_json_delta" and block is not None and block.native is not None:
            block.parts.append(str(delta.get("partial_json") or ""))
            return []
        if kind == "input_json_delta":
            if block is None or block.tool is None:
                raise ResponseDecodeError(f"input_json_delta for block {index}, not a tool_use")
            fragment = delta.get("partial_json")
            if not fragment:
                return []
            block.streamed = True
            call = {"index": block.tool, "function": {"arguments": str(fragment)}}
            return [self._delta({"tool_calls": [call]})]
        if kind == "thinking_delta":
            text = delta.get("thinking")
            if not text:
                return []
            if block is None:
                block = self._blocks[index] = _Block("thinking")
            block.parts.append(str(text))
            return [self._delta({"reasoning_content": str(text)})]
        if kind == "signature_delta":
            if block is None:
                block = self._blocks[index] = _Block("thinking")
            block.signature += str(delta.get("signature") or "")
        return []  # unknown deltas carry nothing canonical

    def _block_stop(self, obj: dict[str, Any]) -> list[ChatCompletionChunk]:
        block = self._blocks.get(self._index(obj))
        if block is None:
            return []
        if block.native is not None:
            native = block.native
            if block.parts:  # a server_tool_use whose input streamed as JSON fragments
                try:
                    native["input"] = json.loads("".join(block.parts))
                except ValueError as exc:
                    raise ResponseDecodeError(
                        f"server tool input is not valid JSON: {''.join(block.parts)[:200]}"
                    ) from exc
            calls: list[ServerToolCall] = []
            results: list[ServerToolResult] = []
            _server_item(native, calls, results)
            return [self._delta({"server_tool_calls": calls} if calls
                                else {"server_tool_results": results})]
        if block.kind == "text":
            found = citations_to_annotations(block.citations, block.start, self._text)
            return [self._delta({"annotations": found})] if found else []
        if block.kind == "thinking":
            done = {
                "type": "thinking",
                "thinking": "".join(block.parts),
                "signature": block.signature,
            }
            return [self._delta({"thinking_blocks": [done]})]
        if block.kind == "redacted_thinking":
            return [
                self._delta(
                    {"thinking_blocks": [{"type": "redacted_thinking", "data": block.data}]}
                )
            ]
        if block.tool is not None and not block.streamed and block.input:
            call = {"index": block.tool, "function": {"arguments": _arguments(block.input)}}
            return [self._delta({"tool_calls": [call]})]
        return []

    def _message_delta(self, obj: dict[str, Any]) -> list[ChatCompletionChunk]:
        self._merge_usage(obj.get("usage"))
        delta = obj.get("delta")
        reason = delta.get("stop_reason") if isinstance(delta, dict) else None
        if reason is None:
            return []
        self._reason = finish_reason(reason, self._tools > 0)
        chunk = self._delta({}, self._reason)
        chunk["choices"][0].update(native_stop(delta))  # type: ignore[typeddict-item]
        return [chunk]

    def _stop(self) -> list[ChatCompletionChunk]:
        if self._done:
            return []
        self._done = True
        out = []
        if self._reason is None:  # message_stop without a stop reason: infer it
            self._reason = finish_reason(None, self._tools > 0)
            out.append(self._delta({}, self._reason))
        usage = convert_usage(self._usage) if self._usage else None
        if usage is not None:
            out.append(make_chunk(self._base(), [], usage))
        return out



CAPABILITIES = Capabilities(
    path="/ai/v1/messages",
    json_schema=True,  # response_format json_schema → output_config.format
    json_mode=False,  # Anthropic constrains to a schema only
    thinking_round_trip="signed_blocks",
    file_urls=True,  # document blocks with a url source
    tool_result_images=True,
    server_tools=True,
    cache_marks=True,
    forced_tool_with_thinking=False,
)
"""What the Messages wire carries (also unified ``/ai/run`` for ``anthropic/*`` models)."""


def messages_capabilities(model: str) -> Capabilities:
    """:data:`CAPABILITIES` for ``model``: native JSON-schema output (``output_config``) is
    chosen automatically only for Claude models the profiles know have it (4.5 on); for
    others a forced tool stays the default (asking for ``response_format`` still sends it).

    >>> messages_capabilities("anthropic/claude-3-haiku").json_schema
    False
    """
    if get_profile(model).known:
        return CAPABILITIES
    return replace(CAPABILITIES, json_schema=False)


ANTHROPIC = FixedPathDialect("messages", messages_capabilities, build_messages_body,
                             parse_message, MessagesStream)
"""Anthropic Messages over ``/ai/v1/messages``; see the module docstring."""
