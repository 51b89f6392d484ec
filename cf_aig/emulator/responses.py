"""OpenAI Responses (``POST /ai/v1/responses``): request to canonical, engine answer to wire.

Written independently of the client's ``cf_aig.dialects.responses`` on purpose, so tests
of the client against the emulator do not test code against itself.

Choices where the reference (§4.4, §10.6) is silent:

* Models: any known third-party chat model; of the Workers AI models only
  ``@cf/openai/gpt-oss-120b`` and ``@cf/openai/gpt-oss-20b`` (the documented ones). Other
  ``@cf``/``@hf`` models get 400, v4 envelope, code 7003 (schema validation failure).
* Schema-level problems (missing ``model``/``input``, wrong types, unsupported tool or item
  types) answer like Cloudflare's validation: 400, v4, 7003 "Model execution failed (User
  Input Error): ...". Problems only OpenAI can see (a ``function_call_output`` without its
  ``function_call``, chat-style nested tools, a ``json_schema`` format without ``name`` or
  ``schema``, an unknown ``previous_response_id``, ``max_output_tokens`` < 16) answer as an
  upstream pass-through: OpenAI's ``{"error": {"message", "type", "param", "code"}}``.
* State: responses are remembered unless ``store`` is false; ``previous_response_id``
  prepends that response's input and output (not its ``instructions``); an unknown id is
  400 ``previous_response_not_found``.
* Reasoning (``reasoning.effort`` other than ``none``, or a model that always thinks) is
  one ``reasoning`` item whose ``summary`` holds one ``summary_text`` part; streams send
  ``response.reasoning_summary_part.*`` and ``response.reasoning_summary_text.*``.
* ``max_output_tokens`` reached: ``status: "incomplete"``, ``incomplete_details.reason:
  "max_output_tokens"``, stream ends with ``response.incomplete``.
* Prompt caching: ``x-session-affinity`` or ``prompt_cache_key`` repeats report
  ``input_tokens_details.cached_tokens``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import wire
from .engine import Generation
from .wire import HttpError

GPT_OSS = frozenset({"@cf/openai/gpt-oss-120b", "@cf/openai/gpt-oss-20b"})
WEB_SEARCH_TOOLS = frozenset({"web_search_preview", "web_search_preview_2025_03_11",
                              "web_search"})
"""Provider-run web search tools (reference §11.1): OpenAI's ``web_search_preview`` and
``web_search`` (xAI's multi-agent models too)."""
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
MIN_OUTPUT_TOKENS = 16


def _bad(detail: str) -> HttpError:
    return wire.user_error(detail)


def _upstream(message: str, param: str | None, code: str | None = None) -> HttpError:
    return HttpError(400, {"error": {"message": message, "type": "invalid_request_error",
                                     "param": param, "code": code}})


def _missing(param: str) -> HttpError:
    return _upstream(f"Missing required parameter: '{param}'.", param,
                     "missing_required_parameter")


@dataclass
class Parsed:
    """A validated Responses body: canonical request, echoed fields, state handling."""

    model: str
    canonical: dict[str, Any]
    echo: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    """Canonical messages to remember for ``previous_response_id`` (no instructions)."""
    store: bool = True
    think: bool = False
    cache_key: str | None = None
    web_search: bool = False
    """A web search tool was offered: the answer searches first and cites a source."""
    logprobs: int | None = None
    """``include`` asked for ``message.output_text.logprobs``: alternatives per token."""


def _content_text(content: Any, where: str) -> tuple[str, list[dict[str, Any]]]:
    """Text and canonical parts of a message ``content`` (string or parts)."""
    if isinstance(content, str):
        return content, [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise _bad(f"{where}: Expected string or array of content parts")
    texts: list[str] = []
    parts: list[dict[str, Any]] = []
    for k, part in enumerate(content):
        pw = f"{where}[{k}]"
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind in ("input_text", "output_text"):
            if not isinstance(part.get("text"), str):
                raise _bad(f"{pw}.text: Field required")
            texts.append(part["text"])
            parts.append({"type": "text", "text": part["text"]})
        elif kind == "refusal":
            texts.append(str(part.get("refusal", "")))
        elif kind == "input_image":
            url = part.get("image_url") or part.get("file_id")
            if not isinstance(url, str) or not url:
                raise _bad(f"{pw}: input_image needs image_url or file_id")
            parts.append({"type": "image_url", "image_url": {"url": url}})
        elif kind == "input_file":
            label = f"[file {part.get('filename') or part.get('file_id') or ''}]".replace(
                " ]", "]")
            texts.append(label)
            parts.append({"type": "text", "text": label})
        else:
            raise _bad(f"{pw}.type: unsupported content part type {kind!r}")
    return " ".join(texts), parts


def _function_call(item: Mapping[str, Any], where: str, calls: dict[str, str],
                   out: list[dict[str, Any]]) -> None:
    for name in ("call_id", "name", "arguments"):
        if not isinstance(item.get(name), str):
            raise _bad(f"{where}.{name}: Field required (a string)")
    calls[item["call_id"]] = item["name"]
    call = {"id": item["call_id"], "type": "function",
            "function": {"name": item["name"], "arguments": item["arguments"]}}
    prev = out[-1] if out else None
    if prev is not None and prev.get("role") == "assistant":
        prev.setdefault("tool_calls", []).append(call)
    else:
        out.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _items(raw: Any, calls: dict[str, str]) -> list[dict[str, Any]]:
    if isinstance(raw, str):
        return [{"role": "user", "content": raw}]
    if not isinstance(raw, list) or not raw:
        raise _bad("input: Expected a string or a non-empty array of input items")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        where = f"input[{i}]"
        if not isinstance(item, Mapping):
            raise _bad(f"{where}: Expected object")
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "system", "developer", "assistant"):
                raise _bad(f"{where}.role: Input should be 'user', 'system', 'developer' or "
                           "'assistant'")
            text, parts = _content_text(item.get("content"), f"{where}.content")
            if role == "assistant":
                out.append({"role": "assistant", "content": text})
            elif role == "user" and any(p["type"] == "image_url" for p in parts):
                out.append({"role": "user", "content": parts})
            else:
                out.append({"role": role, "content": text})
        elif kind == "function_call":
            _function_call(item, where, calls, out)
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            if not isinstance(call_id, str):
                raise _bad(f"{where}.call_id: Field required (a string)")
            if call_id not in calls:
                raise _upstream(f"No tool call found for function call output with call_id "
                                f"{call_id}.", "input")
            output = item.get("output")
            text = output if isinstance(output, str) else _content_text(
                output, f"{where}.output")[0]
            out.append({"role": "tool", "tool_call_id": call_id, "name": calls[call_id],
                        "content": text})
        elif kind == "reasoning":
            if not isinstance(item.get("summary"), list):
                raise _bad(f"{where}.summary: Field required (an array)")
        elif kind in ("web_search_call",):  # an earlier search, sent back: context only
            if not isinstance(item.get("id"), str) or not isinstance(item.get("action"),
                                                                      Mapping):
                raise _bad(f"{where}: web_search_call needs id and action")
        else:
            raise _bad(f"{where}.type: unsupported input item type {kind!r}")
    return out


def _tools(raw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Canonical tools and their echo in the Response object."""
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        raise _bad("tools: Expected array")
    canonical: list[dict[str, Any]] = []
    echo: list[dict[str, Any]] = []
    for i, tool in enumerate(raw):
        kind = tool.get("type") if isinstance(tool, Mapping) else None
        if kind in WEB_SEARCH_TOOLS:
            echo.append(dict(tool))
            continue
        if not isinstance(tool, Mapping) or kind != "function":
            raise _bad(f"tools[{i}].type: the emulator serves function tools and "
                       f"{', '.join(sorted(WEB_SEARCH_TOOLS))} only, got {kind!r}")
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise _missing(f"tools[{i}].name")
        params = tool.get("parameters")
        if params is not None and not isinstance(params, Mapping):
            raise _bad(f"tools[{i}].parameters: Expected object")
        description = tool.get("description")
        strict = tool.get("strict")
        fn: dict[str, Any] = {"name": name,
                              "parameters": dict(params or {"type": "object",
                                                            "properties": {}})}
        if isinstance(description, str):
            fn["description"] = description
        canonical.append({"type": "function", "function": fn})
        echo.append({"type": "function", "name": name,
                     "description": description if isinstance(description, str) else None,
                     "parameters": dict(params) if params is not None else None,
                     "strict": strict if isinstance(strict, bool) else True})
    return canonical, echo


def _tool_choice(raw: Any, names: set[str]) -> Any:
    if raw is None or raw in ("auto", "none", "required"):
        return raw
    if isinstance(raw, Mapping) and raw.get("type") == "function":
        name = raw.get("name")
        if not isinstance(name, str):
            raise _missing("tool_choice.name")
        if name not in names:
            raise _upstream(f"Tool choice 'function' with name '{name}' not found in 'tools' "
                            "parameter.", "tool_choice")
        return {"type": "function", "function": {"name": name}}
    raise _bad("tool_choice: Input should be 'auto', 'none', 'required' or "
               "{'type': 'function', 'name': ...}")


def _text_format(raw: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Canonical ``response_format`` and the echoed ``text`` object."""
    if raw is None:
        return None, {"format": {"type": "text"}}
    if not isinstance(raw, Mapping):
        raise _bad("text: Expected object")
    fmt = raw.get("format") or {"type": "text"}
    if not isinstance(fmt, Mapping) or fmt.get("type") not in ("text", "json_object",
                                                               "json_schema"):
        raise _bad("text.format.type: Input should be 'text', 'json_object' or 'json_schema'")
    echo = {"format": dict(fmt)}
    if fmt["type"] == "text":
        return None, echo
    if fmt["type"] == "json_object":
        return {"type": "json_object"}, echo
    if not isinstance(fmt.get("name"), str) or not fmt["name"]:
        raise _missing("text.format.name")
    if not isinstance(fmt.get("schema"), Mapping):
        raise _missing("text.format.schema")
    return {"type": "json_schema", "json_schema": {"name": fmt["name"],
                                                   "schema": dict(fmt["schema"])}}, echo


def _number(body: Mapping[str, Any], name: str, hi: float) -> float:
    value = body.get(name)
    if value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= hi:
        raise _bad(f"{name}: Input should be a number from 0 to {hi:g}")
    return float(value)


def parse(body: Mapping[str, Any], previous: list[dict[str, Any]] | None = None) -> Parsed:
    """Validate a Responses body and translate it to a canonical chat request.

    ``previous`` is the remembered conversation of ``previous_response_id`` (the route
    looks it up and answers unknown ids itself).
    """
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _bad("Required value missing: model")
    if model.startswith(("@cf/", "@hf/")) and model not in GPT_OSS:
        raise _bad(f"{model} does not support the Responses API on Workers AI (only "
                   f"{' and '.join(sorted(GPT_OSS))}); use /ai/v1/chat/completions")
    if body.get("input") is None:
        raise _bad("Required value missing: input")
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise _bad("instructions: Expected string")
    if body.get("background") is True:
        raise _bad("background: background mode is not supported by the emulator")
    tools, tools_echo = _tools(body.get("tools"))
    choice = _tool_choice(body.get("tool_choice"), {t["function"]["name"] for t in tools})
    fmt, text_echo = _text_format(body.get("text"))
    reasoning = body.get("reasoning")
    if reasoning is not None and not isinstance(reasoning, Mapping):
        raise _bad("reasoning: Expected object")
    effort = (reasoning or {}).get("effort")
    if effort is not None and effort not in EFFORTS:
        raise _bad(f"reasoning.effort: Input should be one of {', '.join(EFFORTS)}")
    limit = body.get("max_output_tokens")
    if limit is not None:
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise _bad("max_output_tokens: Expected integer")
        if limit < MIN_OUTPUT_TOKENS:
            raise _upstream(f"Invalid 'max_output_tokens': integer below minimum value. "
                            f"Expected a value >= {MIN_OUTPUT_TOKENS}, but got {limit} "
                            "instead.", "max_output_tokens", "integer_below_min_value")
    parallel = body.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        raise _bad("parallel_tool_calls: Expected boolean")
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, Mapping) or len(metadata) > 16 or
                                 not all(isinstance(v, str) for v in metadata.values())):
        raise _bad("metadata: at most 16 string values")
    store = body.get("store")
    if store is not None and not isinstance(store, bool):
        raise _bad("store: Expected boolean")
    temperature, top_p = _number(body, "temperature", 2), _number(body, "top_p", 1)
    calls: dict[str, str] = {}
    history = [dict(m) for m in previous or ()]
    for message in history:
        for call in message.get("tool_calls") or ():
            calls[call["id"]] = call["function"]["name"]
    history += _items(body["input"], calls)
    messages = ([{"role": "system", "content": instructions}] if instructions else []) + history
    canonical: dict[str, Any] = {"model": model, "messages": messages}
    if tools:
        canonical["tools"] = tools
    if choice is not None:
        canonical["tool_choice"] = choice
    if parallel is not None:
        canonical["parallel_tool_calls"] = parallel
    if fmt is not None:
        canonical["response_format"] = fmt
    if limit is not None:
        canonical["max_completion_tokens"] = limit
    if effort not in (None, "none"):
        canonical["reasoning_effort"] = effort
    echo: dict[str, Any] = {
        "instructions": instructions, "max_output_tokens": limit, "model": model,
        "parallel_tool_calls": parallel is not False,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": effort, "summary": (reasoning or {}).get("summary")},
        "store": store is not False, "temperature": temperature, "text": text_echo,
        "tool_choice": body.get("tool_choice") or "auto", "tools": tools_echo,
        "top_p": top_p, "truncation": "disabled",
        "metadata": dict(metadata or {}), "service_tier": "default", "background": False,
    }
    if isinstance(body.get("user"), str):
        echo["user"] = body["user"]
    key = body.get("prompt_cache_key")
    kinds = {t.get("type") for t in tools_echo} & WEB_SEARCH_TOOLS
    provider = model.split("/", 1)[0]
    for kind in kinds:  # OpenAI: web_search_preview; xAI: web_search (reference §11.1)
        if (provider == "xai") != (kind == "web_search"):
            raise _bad(f"tools: {kind!r} is not served for {model} (openai/* models take "
                       "web_search_preview, xai/* models web_search)")
    search = bool(kinds)
    include = body.get("include") or []
    if not isinstance(include, list) or not all(isinstance(i, str) for i in include):
        raise _bad("include: Expected an array of strings")
    top = body.get("top_logprobs")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int)
                            or not 0 <= top <= 20):
        raise _bad("top_logprobs: Input should be an integer from 0 to 20")
    logprobs = (top or 1) if "message.output_text.logprobs" in include else None
    return Parsed(model, canonical, echo, history, store is not False,
                  effort not in (None, "none"), key if isinstance(key, str) and key else None,
                  search, logprobs)


def _hex() -> str:
    return secrets.token_hex(12)


def render(parsed: Parsed, gen: Generation) -> dict[str, Any]:
    """The completed (or incomplete) ``response`` object for the engine's first turn."""
    turn = gen.turns[0]
    output: list[dict[str, Any]] = []
    if turn.reasoning:
        output.append({"type": "reasoning", "id": "rs_" + _hex(),
                       "summary": [{"type": "summary_text", "text": turn.reasoning}]})
    incomplete = turn.finish_reason == "length"
    annotations: list[dict[str, Any]] = []
    if parsed.web_search and not turn.tool_calls:
        query = _last_user_text(parsed.canonical["messages"])[:120] or "search"
        slug = "-".join(query.lower().split()[:4]) or "result"
        source = {"type": "url", "url": f"https://search.example/{slug}"}
        output.append({"type": "web_search_call", "id": "ws_" + _hex(), "status": "completed",
                       "action": {"type": "search", "query": query, "sources": [source]}})
        if turn.text:
            annotations.append({"type": "url_citation", "url": source["url"],
                                 "title": f"About {query[:40]}", "start_index": 0,
                                 "end_index": len(turn.text)})
    if turn.text or not turn.tool_calls:
        output.append({"type": "message", "id": "msg_" + _hex(), "role": "assistant",
                       "status": "incomplete" if incomplete else "completed",
                       "content": [{"type": "output_text", "text": turn.text or "",
                                    "annotations": annotations,
                                    "logprobs": [] if parsed.logprobs is None else
                                    wire.token_logprobs(turn.text or "", parsed.logprobs)}]})
    for call in turn.tool_calls:
        output.append({"type": "function_call", "id": "fc_" + _hex(), "call_id": call["id"],
                       "name": call["name"], "arguments": call["arguments"],
                       "status": "completed"})
    usage = gen.usage
    cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0))
    reasoning = int((usage.get("completion_tokens_details") or {}).get("reasoning_tokens", 0))
    now = int(time.time())
    return {
        "id": "resp_" + _hex(), "object": "response", "created_at": now,
        "status": "incomplete" if incomplete else "completed",
        "completed_at": None if incomplete else now, "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        **parsed.echo, "output": output,
        "usage": {"input_tokens": usage["prompt_tokens"],
                  "input_tokens_details": {"cached_tokens": cached,
                                           "cache_write_tokens": 0},
                  "output_tokens": usage["completion_tokens"],
                  "output_tokens_details": {"reasoning_tokens": reasoning},
                  "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]},
    }


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return " ".join(p.get("text", "") for p in content or ()
                            if isinstance(p, Mapping) and p.get("type") == "text")
    return ""


def remembered(parsed: Parsed, response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The canonical conversation a later ``previous_response_id`` continues."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in response["output"]:
        if item["type"] == "message":
            texts += [p["text"] for p in item["content"]]
        elif item["type"] == "function_call":
            calls.append({"id": item["call_id"], "type": "function",
                          "function": {"name": item["name"], "arguments": item["arguments"]}})
    message: dict[str, Any] = {"role": "assistant", "content": " ".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    return [*parsed.history, message]


def snapshot(response: Mapping[str, Any], status: str = "in_progress") -> dict[str, Any]:
    """The response as ``response.created``/``in_progress``/``failed`` carry it."""
    out = {**response, "status": status, "output": [], "completed_at": None,
           "incomplete_details": None, "error": None}
    del out["usage"]  # the schema has no null usage; it arrives with the terminal event
    return out


def _words(text: str) -> list[str]:
    pieces = text.split(" ")
    return [p + " " for p in pieces[:-1]] + [pieces[-1]]


def _fragments(text: str, n: int) -> list[str]:
    size = max(1, -(-len(text) // n))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def events(response: Mapping[str, Any]) -> list[bytes]:
    """The typed SSE events of a streamed ``response`` (no ``[DONE]``)."""
    out: list[bytes] = []

    def emit(kind: str, **data: Any) -> None:
        out.append(wire.named_sse({"type": kind, "sequence_number": len(out), **data}))

    emit("response.created", response=snapshot(response))
    emit("response.in_progress", response=snapshot(response))
    for idx, item in enumerate(response["output"]):
        iid = item["id"]
        if item["type"] == "reasoning":
            emit("response.output_item.added", output_index=idx, item={**item, "summary": []})
            for k, part in enumerate(item["summary"]):
                ids = {"item_id": iid, "output_index": idx, "summary_index": k}
                emit("response.reasoning_summary_part.added", **ids,
                     part={"type": "summary_text", "text": ""})
                for piece in _words(part["text"]):
                    emit("response.reasoning_summary_text.delta", **ids, delta=piece)
                emit("response.reasoning_summary_text.done", **ids, text=part["text"])
                emit("response.reasoning_summary_part.done", **ids, part=part)
        elif item["type"] == "web_search_call":
            emit("response.output_item.added", output_index=idx,
                 item={**item, "status": "in_progress"})
            for stage in ("in_progress", "searching", "completed"):
                emit(f"response.web_search_call.{stage}", output_index=idx, item_id=iid)
        elif item["type"] == "message":
            emit("response.output_item.added", output_index=idx,
                 item={**item, "status": "in_progress", "content": []})
            for k, part in enumerate(item["content"]):
                ids = {"item_id": iid, "output_index": idx, "content_index": k}
                emit("response.content_part.added", **ids,
                     part={**part, "text": "", "annotations": []})
                want = max((len(p.get("top_logprobs") or ()) for p in part["logprobs"]), default=0)
                for piece in _words(part["text"]):
                    emit("response.output_text.delta", **ids, delta=piece,
                         logprobs=wire.token_logprobs(piece, want) if want else [])
                for j, annotation in enumerate(part.get("annotations") or ()):
                    emit("response.output_text.annotation.added", **ids, annotation_index=j,
                         annotation=annotation)
                emit("response.output_text.done", **ids, text=part["text"],
                     logprobs=part["logprobs"])
                emit("response.content_part.done", **ids, part=part)
        else:
            emit("response.output_item.added", output_index=idx,
                 item={**item, "arguments": "", "status": "in_progress"})
            for frag in _fragments(item["arguments"], 3):
                emit("response.function_call_arguments.delta", item_id=iid, output_index=idx,
                     delta=frag)
            emit("response.function_call_arguments.done", item_id=iid, output_index=idx,
                 name=item["name"], arguments=item["arguments"])
        emit("response.output_item.done", output_index=idx, item=item)
    terminal = "response.incomplete" if response["status"] == "incomplete" else \
        "response.completed"
    emit(terminal, response=dict(response))
    return out


def failure_events(response: Mapping[str, Any], sequence: int, status: int, code: int,
                   message: str) -> list[bytes]:
    """A mid-stream ``error`` event and the terminal ``response.failed``."""
    kind = "rate_limit_exceeded" if status == 429 else "server_error"
    failed = {**snapshot(response, "failed"), "error": {"code": kind, "message": message}}
    return [wire.named_sse({"type": "error", "code": str(code), "message": message,
                            "param": None, "sequence_number": sequence}),
            wire.named_sse({"type": "response.failed", "sequence_number": sequence + 1,
                            "response": failed})]
