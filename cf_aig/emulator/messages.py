"""Anthropic Messages (``POST /ai/v1/messages``): request to canonical, engine answer to wire.

Written independently of the client's ``cf_aig.dialects.anthropic`` on purpose, so tests
of the client against the emulator do not test code against itself.

Choices where the reference (§4.5, §10) is silent:

* Schema validation (required ``model``/``max_tokens``/``messages``, field types, unknown
  block types, ``system`` as an array, ``@cf``/``@hf`` models) answers what Cloudflare's
  per-model validation answered in T1: 400, v4 envelope, code 7003, message
  ``"Model execution failed (User Input Error): Required value missing: max_tokens"``.
  ``system`` must be a string (T1/T2 saw arrays rejected on the binding path); Workers AI
  models are rejected because they do not speak this schema.
* Checks only Anthropic itself can make (thinking signatures, ``tool_use``/``tool_result``
  pairing, a thinking block missing before the last ``tool_use`` turn, ``budget_tokens`` vs
  ``max_tokens``, forced tool use with thinking, unknown ``tool_choice`` tool) answer as an
  upstream pass-through: 400 with Anthropic's ``{"type":"error","error":{...}}`` body.
* Any known third-party chat model is served (the gateway translates); ``anthropic/*``
  is the natural use.
* ``thinking`` ``enabled`` (``budget_tokens`` >= 1024 and < ``max_tokens``) or
  ``adaptive`` adds one thinking block whose ``signature`` is an HMAC of its text; a
  thinking block sent back in the turn that trailing ``tool_result`` blocks answer must
  carry that exact signature (thinking in earlier turns is ignored, as Anthropic does).
* ``output_format`` or ``output_config.format`` ``{"type": "json_schema", "schema": ...}``
  makes the text block a JSON document valid for the schema.
* Prompt caching, by prefix as Anthropic does it: each ``cache_control`` breakpoint (on a
  tool, a message or a content block) marks the prefix ``tools`` → ``system`` →
  ``messages`` up to and including that block. The longest marked prefix seen before is
  reported as ``cache_read_input_tokens``; the rest up to the last breakpoint as
  ``cache_creation_input_tokens``; ``input_tokens`` counts what follows (no 1024-token
  minimum; tools count no tokens). ``x-session-affinity`` hits are reported as reads too.
* Server tools: ``web_search_20250305`` (name ``web_search``) runs one deterministic
  search per request: a ``server_tool_use`` block, a ``web_search_tool_result`` with
  results on ``example.com``, and the answer text citing the first result
  (``web_search_result_location``); ``usage.server_tool_use.web_search_requests``
  counts it. Those blocks are accepted back in assistant turns (each
  ``server_tool_use`` needs its result). Other typed tools are refused (400).
* Tool results are validated: blocks are ``text``/``image``/``document``/
  ``search_result``, and a text that is a serialized image/document/file block (a client
  that flattened a multimodal tool result into JSON) is refused with 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import engine, wire
from .engine import Generation
from .wire import HttpError

SIGNING_KEY = b"cf-aig-emulator/anthropic-thinking-signature/v1"
MIN_BUDGET = 1024
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                 "content_filter": "refusal"}
_USER_BLOCKS = ("text", "image", "document", "tool_result", "search_result")
_ASSISTANT_BLOCKS = ("text", "tool_use", "thinking", "redacted_thinking", "server_tool_use",
                     "web_search_tool_result")
_RESULT_BLOCKS = ("text", "image", "document", "search_result")
_SERIALIZED = re.compile(r'^\s*\{.*"type"\s*:\s*"(image|image_url|document|file|input_image|'
                         r'input_file)"', re.S)
WEB_SEARCH = "web_search_20250305"


def signature_for(thinking: str) -> str:
    """The deterministic signature of a thinking text (what a client must send back)."""
    digest = hmac.new(SIGNING_KEY, thinking.encode(), hashlib.sha256).digest()
    return base64.b64encode(b"\x12\x20" + digest).decode()


def _bad(detail: str) -> HttpError:
    return wire.user_error(detail)


def _upstream(message: str) -> HttpError:
    return HttpError(400, wire.anthropic_error(400, message))


@dataclass
class Parsed:
    """A validated Messages request: its canonical form and what rendering needs."""

    model: str
    canonical: dict[str, Any]
    think: bool = False
    stop_sequences: list[str] = field(default_factory=list)
    cache_control: bool = False
    cache_prefixes: list[tuple[str, int]] = field(default_factory=list)
    """``(digest, tokens)`` of each ``cache_control`` breakpoint's prefix, in order."""
    web_search: dict[str, Any] | None = None
    """The ``web_search`` server tool, when offered."""


def _has_cache_control(node: Any) -> bool:
    if isinstance(node, Mapping):
        return "cache_control" in node or any(_has_cache_control(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_cache_control(v) for v in node)
    return False


def _text_of(content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _bad(f"{where}: Expected string or array of content blocks")
    parts: list[str] = []
    for k, block in enumerate(content):
        if not isinstance(block, Mapping) or block.get("type") not in ("text", "image",
                                                                       "document"):
            raise _bad(f"{where}.{k}.type: Expected 'text', 'image' or 'document'")
        if block["type"] == "text":
            parts.append(str(block.get("text", "")))
    return " ".join(parts)


def _result_text(content: Any, where: str) -> str:
    """A ``tool_result``'s content, validated: its blocks must be well-formed, and text
    must not be a serialized image/document block (a flattened multimodal result)."""
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
    if content is None:
        return ""
    if not isinstance(blocks, list):
        raise _bad(f"{where}: Expected string or array of content blocks")
    texts: list[str] = []
    for k, block in enumerate(blocks):
        bw = f"{where}.{k}"
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind not in _RESULT_BLOCKS:
            raise _bad(f"{bw}.type: Input should be one of {', '.join(_RESULT_BLOCKS)}")
        if kind == "text":
            text = block.get("text")
            if not isinstance(text, str):
                raise _bad(f"{bw}.text: Field required")
            found = _SERIALIZED.match(text)
            if found:
                raise _upstream(f"{bw}: the tool result text is a serialized "
                                f"{found.group(1)!r} block; send images and documents as "
                                "image/document blocks inside tool_result.content")
            texts.append(text)
        elif kind == "image":
            _image(block, bw)
            texts.append("[image]")
        elif kind == "document":
            texts.append(str(_document(block, bw)["text"]))
        else:
            texts.append(_text_of(block.get("content"), f"{bw}.content"))
    return " ".join(texts)


def _image(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source")
    if not isinstance(source, Mapping):
        raise _bad(f"{where}.source: Field required")
    if source.get("type") == "base64":
        media, data = source.get("media_type"), source.get("data")
        if media not in ("image/jpeg", "image/png", "image/gif", "image/webp"):
            raise _bad(f"{where}.source.media_type: Input should be 'image/jpeg', "
                       "'image/png', 'image/gif' or 'image/webp'")
        if not isinstance(data, str) or not data:
            raise _bad(f"{where}.source.data: Field required")
        return {"type": "image_url", "image_url": {"url": f"data:{media};base64,{data}"}}
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return {"type": "image_url", "image_url": {"url": source["url"]}}
    raise _bad(f"{where}.source.type: Input should be 'base64' or 'url'")


def _document(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source")
    if not isinstance(source, Mapping) or source.get("type") not in ("base64", "text", "url",
                                                                     "content"):
        raise _bad(f"{where}.source.type: Input should be 'base64', 'text', 'url' or "
                   "'content'")
    if source["type"] == "base64" and (source.get("media_type") != "application/pdf" or
                                       not isinstance(source.get("data"), str) or
                                       not source["data"]):
        raise _bad(f"{where}.source: a base64 document needs media_type 'application/pdf' "
                   "and data")
    if source["type"] == "url" and not isinstance(source.get("url"), str):
        raise _bad(f"{where}.source.url: Field required")
    title = block.get("title")
    label = f"[document {title}]" if isinstance(title, str) and title else "[document]"
    if source["type"] == "text":
        return {"type": "text", "text": f"{label} {source.get('data', '')}"}
    if source["type"] == "content":
        return {"type": "text", "text": f"{label} {_text_of(source.get('content'), where)}"}
    return {"type": "text", "text": label}


def _web_search(tool: Mapping[str, Any], where: str) -> dict[str, Any]:
    if tool.get("name") != "web_search":
        raise _bad(f"{where}.name: Input should be 'web_search'")
    uses = tool.get("max_uses")
    if uses is not None and (not isinstance(uses, int) or isinstance(uses, bool) or uses < 1):
        raise _bad(f"{where}.max_uses: Input should be an integer >= 1")
    for key in ("allowed_domains", "blocked_domains"):
        value = tool.get(key)
        if value is not None and (not isinstance(value, list) or not all(
                isinstance(d, str) for d in value)):
            raise _bad(f"{where}.{key}: Expected an array of strings")
    if tool.get("allowed_domains") and tool.get("blocked_domains"):
        raise _upstream("web_search: use either allowed_domains or blocked_domains, not both")
    unknown = set(tool) - {"type", "name", "max_uses", "allowed_domains", "blocked_domains",
                           "user_location", "cache_control"}
    if unknown:
        raise _bad(f"{where}: Extra inputs are not permitted: {', '.join(sorted(unknown))}")
    return dict(tool)


def _tools(raw: Any, server: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _bad("tools: Expected array")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, tool in enumerate(raw):
        if not isinstance(tool, Mapping):
            raise _bad(f"tools.{i}: Expected object")
        if tool.get("type") == WEB_SEARCH and server is not None:
            server.append(_web_search(tool, f"tools.{i}"))
            continue
        if tool.get("type") not in (None, "custom"):
            raise _bad(f"tools.{i}.type: the emulator runs client tools and "
                       f"{WEB_SEARCH!r} only, got {tool.get('type')!r}")
        name, schema = tool.get("name"), tool.get("input_schema")
        if not isinstance(name, str) or not _NAME.match(name):
            raise _bad(f"tools.{i}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
        if not isinstance(schema, Mapping):
            raise _bad(f"tools.{i}.input_schema: Field required")
        if schema.get("type") != "object":
            raise _bad(f"tools.{i}.input_schema.type: Input should be 'object'")
        if name in seen:
            raise _upstream("tools: Tool names must be unique.")
        seen.add(name)
        fn: dict[str, Any] = {"name": name, "parameters": dict(schema)}
        if isinstance(tool.get("description"), str):
            fn["description"] = tool["description"]
        out.append({"type": "function", "function": fn})
    return out


def _tool_choice(raw: Any, tools: list[dict[str, Any]]) -> tuple[Any, bool | None, bool]:
    """Canonical ``tool_choice``, ``parallel_tool_calls`` and whether a tool is forced."""
    if raw is None:
        return None, None, False
    if not isinstance(raw, Mapping) or raw.get("type") not in ("auto", "any", "tool", "none"):
        raise _bad("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    kind = raw["type"]
    if not tools and kind != "none":
        raise _upstream("tool_choice may only be specified while providing tools.")
    dpu = raw.get("disable_parallel_tool_use")
    if dpu is not None and not isinstance(dpu, bool):
        raise _bad("tool_choice.disable_parallel_tool_use: Input should be a valid boolean")
    parallel = False if dpu else None
    if kind == "auto":
        return "auto", parallel, False
    if kind == "none":
        return "none", None, False
    if kind == "any":
        return "required", parallel, True
    name = raw.get("name")
    if not isinstance(name, str):
        raise _bad("tool_choice.tool.name: Field required")
    if name not in {t["function"]["name"] for t in tools}:
        raise _upstream(f"Tool '{name}' not found in provided tools")
    return {"type": "function", "function": {"name": name}}, parallel, True


def _thinking(raw: Any, max_tokens: int) -> bool:
    if raw is None:
        return False
    if not isinstance(raw, Mapping) or raw.get("type") not in ("enabled", "disabled",
                                                               "adaptive"):
        raise _bad("thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'")
    if raw["type"] == "disabled":
        return False
    if raw["type"] == "enabled":
        budget = raw.get("budget_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool):
            raise _bad("thinking.enabled.budget_tokens: Field required")
        if budget < MIN_BUDGET:
            raise _bad(f"thinking.enabled.budget_tokens: Input should be greater than or "
                       f"equal to {MIN_BUDGET}")
        if budget >= max_tokens:
            raise _upstream("`max_tokens` must be greater than `thinking.budget_tokens`. "
                            "Please consult our documentation at https://docs.claude.com/"
                            "en/docs/build-with-claude/extended-thinking#max-tokens-and-"
                            "context-window-size")
    return True


def _output_format(body: Mapping[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("output_format")
    where = "output_format"
    config = body.get("output_config")
    if fmt is None and config is not None:
        if not isinstance(config, Mapping):
            raise _bad("output_config: Expected object")
        fmt, where = config.get("format"), "output_config.format"
    if fmt is None:
        return None
    if not isinstance(fmt, Mapping) or fmt.get("type") != "json_schema":
        raise _bad(f"{where}.type: Input should be 'json_schema'")
    schema = fmt.get("schema")
    if not isinstance(schema, Mapping):
        raise _bad(f"{where}.schema: Field required")
    return {"type": "json_schema", "json_schema": {"name": "output", "schema": dict(schema)}}


def _assistant(blocks: list[Any], where: str, pending: dict[str, str],
               verify: bool = True) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    searches: set[str] = set()
    for j, block in enumerate(blocks):
        bw = f"{where}.content.{j}"
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "server_tool_use":
            sid = block.get("id")
            if not isinstance(sid, str) or not sid.startswith("srvtoolu_"):
                raise _bad(f"{bw}.id: String should match pattern '^srvtoolu_'")
            if block.get("name") != "web_search" or not isinstance(block.get("input"),
                                                                   Mapping):
                raise _bad(f"{bw}: a server_tool_use needs name 'web_search' and an input")
            searches.add(sid)
            continue
        if kind == "web_search_tool_result":
            sid = block.get("tool_use_id")
            if sid not in searches:
                raise _upstream(f"{bw}: web_search_tool_result tool_use_id {sid!r} has no "
                                "server_tool_use before it in this turn")
            searches.discard(str(sid))
            if not isinstance(block.get("content"), (list, Mapping)):
                raise _bad(f"{bw}.content: Field required")
            continue
        if kind not in _ASSISTANT_BLOCKS:
            raise _bad(f"{bw}.type: Input should be one of {', '.join(_ASSISTANT_BLOCKS)} in "
                       "an assistant turn")
        if kind == "text":
            if not isinstance(block.get("text"), str):
                raise _bad(f"{bw}.text: Field required")
            texts.append(block["text"])
        elif kind == "tool_use":
            tid, name, args = block.get("id"), block.get("name"), block.get("input")
            if not isinstance(tid, str) or not tid:
                raise _bad(f"{bw}.id: Field required")
            if not isinstance(name, str) or not name:
                raise _bad(f"{bw}.name: Field required")
            if not isinstance(args, Mapping):
                raise _bad(f"{bw}.input: Input should be a valid dictionary")
            pending[tid] = name
            calls.append({"id": tid, "type": "function",
                          "function": {"name": name, "arguments": json.dumps(args)}})
        elif kind == "thinking":
            text, sig = block.get("thinking"), block.get("signature")
            if not isinstance(text, str):
                raise _bad(f"{bw}.thinking: Field required")
            if not isinstance(sig, str):
                raise _bad(f"{bw}.signature: Field required")
            if verify and not hmac.compare_digest(sig, signature_for(text)):
                raise _upstream(f"{bw}: Invalid `signature` in `thinking` block")
        elif not isinstance(block.get("data"), str) or not block["data"]:
            raise _bad(f"{bw}.data: Field required")
    if searches:
        raise _upstream(f"{where}: server_tool_use ids without a web_search_tool_result "
                        f"after them: {', '.join(sorted(searches))}")
    message: dict[str, Any] = {"role": "assistant", "content": " ".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    return message


def _user(blocks: list[Any], where: str, pending: dict[str, str],
          out: list[dict[str, Any]]) -> None:
    parts: list[dict[str, Any]] = []
    answered: set[str] = set()
    for j, block in enumerate(blocks):
        bw = f"{where}.content.{j}"
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind not in _USER_BLOCKS:
            raise _bad(f"{bw}.type: Input should be one of {', '.join(_USER_BLOCKS)} in a "
                       "user turn")
        if kind == "text":
            if not isinstance(block.get("text"), str):
                raise _bad(f"{bw}.text: Field required")
            parts.append({"type": "text", "text": block["text"]})
        elif kind == "image":
            parts.append(_image(block, bw))
        elif kind == "document":
            parts.append(_document(block, bw))
        else:
            tid = block.get("tool_use_id")
            if not isinstance(tid, str) or not tid:
                raise _bad(f"{bw}.tool_use_id: Field required")
            if tid not in pending:
                raise _upstream(f"{bw}: unexpected `tool_use_id` found in `tool_result` "
                                f"blocks: {tid}. Each `tool_result` block must have a "
                                "corresponding `tool_use` block in the previous message.")
            answered.add(tid)
            text = _result_text(block.get("content"), f"{bw}.content")
            if block.get("is_error") is True:
                text = f"Error: {text}"
            out.append({"role": "tool", "tool_call_id": tid, "name": pending[tid],
                        "content": text})
    missing = [tid for tid in pending if tid not in answered]
    if missing:
        raise _upstream(f"{where}: `tool_use` ids were found without `tool_result` blocks "
                        f"immediately after: {', '.join(missing)}. Each `tool_use` block must "
                        "have a corresponding `tool_result` block in the next message.")
    pending.clear()
    if parts:
        out.append({"role": "user", "content": parts})


def _current_turn(messages: list[Any]) -> int | None:
    """The assistant turn a trailing ``tool_result`` answers: its thinking signatures are
    checked. Thinking in earlier turns is ignored (stripped) unverified, as Anthropic does."""
    last = messages[-1] if messages and isinstance(messages[-1], Mapping) else None
    content = last.get("content") if last is not None and last.get("role") == "user" else None
    if not isinstance(content, list) or not any(
            isinstance(b, Mapping) and b.get("type") == "tool_result" for b in content):
        return None
    return len(messages) - 2


def _require_thinking_first(messages: list[Any]) -> None:
    """With thinking on, the assistant turn before trailing tool results must open with it."""
    if not messages or messages[-1].get("role") != "user":
        return
    last = messages[-1].get("content")
    if not isinstance(last, list) or not any(isinstance(b, Mapping) and
                                             b.get("type") == "tool_result" for b in last):
        return
    k = len(messages) - 2
    if k < 0 or messages[k].get("role") != "assistant":
        return
    blocks = messages[k].get("content")
    first = blocks[0].get("type") if isinstance(blocks, list) and blocks and isinstance(
        blocks[0], Mapping) else "text"
    if first not in ("thinking", "redacted_thinking"):
        raise _upstream(f"messages.{k}.content.0.type: Expected `thinking` or "
                        f"`redacted_thinking`, but found `{first}`. When `thinking` is "
                        "enabled, a final `assistant` message must start with a thinking "
                        "block (preceeding the lastmost set of `tool_use` and `tool_result` "
                        "blocks). We recommend you include thinking blocks from previous "
                        "turns.")


def parse(body: Mapping[str, Any]) -> Parsed:
    """Validate a Messages body and translate it to a canonical chat request."""
    for name in ("model", "max_tokens", "messages"):
        if body.get(name) is None:
            raise _bad(f"Required value missing: {name}")
    model = body["model"]
    if not isinstance(model, str) or not model.strip():
        raise _bad("model: Expected a non-empty string")
    if model.startswith(("@cf/", "@hf/")):
        raise _bad(f"{model} is a Workers AI model; Workers AI models do not support the "
                   "Anthropic Messages schema (use /ai/v1/chat/completions)")
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise _bad(f"max_tokens: Input should be an integer >= 1, got {max_tokens!r}")
    system = body.get("system")
    if isinstance(system, list):
        raise _bad("system: Expected string, received array")
    if system is not None and not isinstance(system, str):
        raise _bad("system: Expected string")
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise _bad("messages: Expected a non-empty array")
    temperature = body.get("temperature")
    if temperature is not None and (isinstance(temperature, bool) or not isinstance(
            temperature, (int, float)) or not 0 <= temperature <= 1):
        raise _bad("temperature: Input should be a number from 0 to 1")
    stops = body.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list) or not all(
            isinstance(s, str) and s for s in stops)):
        raise _bad("stop_sequences: Expected an array of non-empty strings")
    server: list[dict[str, Any]] = []
    tools = _tools(body.get("tools"), server)
    choice, parallel, forced = _tool_choice(body.get("tool_choice"), tools)
    think = _thinking(body.get("thinking"), max_tokens)
    if think and forced:
        raise _upstream("Thinking may not be enabled when tool_choice forces tool use.")
    fmt = _output_format(body)
    canonical: dict[str, Any] = {"model": model, "max_tokens": max_tokens}
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    pending: dict[str, str] = {}
    current = _current_turn(messages)
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(message, Mapping) or message.get("role") not in ("user",
                                                                           "assistant"):
            raise _bad(f"{where}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list):
            raise _bad(f"{where}.content: Expected string or array of content blocks")
        if message["role"] == "assistant":
            if pending:
                raise _upstream(f"{where}: `tool_use` ids were found without `tool_result` "
                                f"blocks immediately after: {', '.join(pending)}.")
            out.append(_assistant(content, where, pending, i == current))
        else:
            _user(content, where, pending, out)
    if think:
        _require_thinking_first(messages)
    canonical["messages"] = out
    if tools:
        canonical["tools"] = tools
    if choice is not None:
        canonical["tool_choice"] = choice
    if parallel is not None:
        canonical["parallel_tool_calls"] = parallel
    if fmt is not None:
        canonical["response_format"] = fmt
    return Parsed(model, canonical, think, list(stops or ()), _has_cache_control(body),
                  cache_prefixes(body), server[0] if server else None)


def _strip_marks(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: _strip_marks(v) for k, v in node.items() if k != "cache_control"}
    if isinstance(node, list):
        return [_strip_marks(v) for v in node]
    return node


def _block_tokens(block: Any) -> int:
    if isinstance(block, str):
        return engine.count_tokens(block)
    if not isinstance(block, Mapping):
        return 0
    kind = block.get("type")
    if kind == "text":
        return engine.count_tokens(str(block.get("text", "")))
    if kind == "tool_use":
        return engine.count_tokens(json.dumps(block.get("input")))
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            return sum(_block_tokens(b) for b in content)
        return engine.count_tokens(str(content or ""))
    return 0


def cache_prefixes(body: Mapping[str, Any]) -> list[tuple[str, int]]:
    """``(digest, prompt tokens)`` of the prefix ending at each ``cache_control``
    breakpoint (order: tools, system, then each message's blocks; a mark on a message
    marks its last block, a top-level ``cache_control`` the last block of the request)."""
    items: list[tuple[Any, int, bool]] = []  # (block, tokens, marked)
    for tool in body.get("tools") or ():
        items.append((tool, 0, isinstance(tool, Mapping) and "cache_control" in tool))
    if isinstance(body.get("system"), str):
        items.append((body["system"], engine.count_tokens(body["system"]), False))
    for message in body.get("messages") or ():
        if not isinstance(message, Mapping):
            continue
        content = message.get("content")
        blocks = content if isinstance(content, list) else [content]
        for k, block in enumerate(blocks):
            marked = isinstance(block, Mapping) and "cache_control" in block
            marked = marked or (k == len(blocks) - 1 and "cache_control" in message)
            items.append(({"role": message.get("role"), "block": block},
                          _block_tokens(block), marked))
    if body.get("cache_control") and items:  # top-level: automatic, the last block marked
        items[-1] = (items[-1][0], items[-1][1], True)
    out: list[tuple[str, int]] = []
    tokens = 0
    for n, (_, count, marked) in enumerate(items):
        tokens += count
        if marked:
            prefix = _strip_marks([item for item, _, _ in items[:n + 1]])
            digest = hashlib.sha256(json.dumps([body.get("model"), prefix],
                                               sort_keys=True).encode()).hexdigest()
            out.append((digest, tokens))
    return out


def _tool_id(call_id: str) -> str:
    return "toolu_" + call_id[5:] if call_id.startswith("call_") else call_id


def _input_of(arguments: str) -> Any:
    try:
        value = json.loads(arguments) if arguments else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _search(parsed: Parsed) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One deterministic web search: its blocks and the citation of the first result."""
    user = [m for m in parsed.canonical["messages"] if m.get("role") == "user"]
    query = " ".join(engine.message_text(user[-1]).split()[:8]) if user else ""
    query = query or "search"
    slug = "-".join(engine.keywords(query, 3)) or "result"
    sid = "srvtoolu_" + hashlib.sha256(query.encode()).hexdigest()[:24]
    results = [{"type": "web_search_result", "url": f"https://example.com/{slug}/{n}",
                "title": f"{query.title()} ({n})", "page_age": "2026-10-01",
                "encrypted_content": base64.b64encode(f"{slug}:{n}".encode()).decode()}
               for n in (1, 2)]
    blocks: list[dict[str, Any]] = [{"type": "server_tool_use", "id": sid, "name": "web_search",
                                     "input": {"query": query}},
                                     {"type": "web_search_tool_result", "tool_use_id": sid,
                                      "content": results}]
    cite = {"type": "web_search_result_location", "url": results[0]["url"],
            "title": results[0]["title"], "cited_text": f"About {query}.",
            "encrypted_index": base64.b64encode(b"0").decode()}
    return blocks, [cite]


def render(parsed: Parsed, gen: Generation, *, cache_creation: int = 0,
           cache_read: int = 0) -> dict[str, Any]:
    """The ``message`` object for the engine's first turn (``cache_*``: prompt-cache
    counts from :func:`cache_prefixes`)."""
    turn = gen.turns[0]
    content: list[dict[str, Any]] = []
    output = int(gen.usage["completion_tokens"])
    if turn.reasoning:
        content.append({"type": "thinking", "thinking": turn.reasoning,
                        "signature": signature_for(turn.reasoning)})
    citations: list[dict[str, Any]] = []
    if parsed.web_search is not None:
        searched, citations = _search(parsed)
        content += searched
    stop_reason = _STOP_REASONS.get(turn.finish_reason, "end_turn")
    stop_sequence: str | None = None
    text = turn.text or ""
    hits = [(text.index(s), s) for s in parsed.stop_sequences if s in text]
    if hits and not turn.tool_calls:
        at, stop_sequence = min(hits)
        output -= engine.count_tokens(text) - engine.count_tokens(text[:at])
        text, stop_reason = text[:at], "stop_sequence"
    if text:
        block: dict[str, Any] = {"type": "text", "text": text}
        if citations:
            block["citations"] = citations
        content.append(block)
    for call in turn.tool_calls:
        content.append({"type": "tool_use", "id": _tool_id(call["id"]), "name": call["name"],
                        "input": _input_of(call["arguments"])})
    prompt = int(gen.usage["prompt_tokens"])
    read = int((gen.usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0))
    read = min(max(read, cache_read), prompt)
    creation = min(cache_creation, prompt - read)
    usage: dict[str, Any] = {"input_tokens": prompt - read - creation, "output_tokens": output,
                             "cache_creation_input_tokens": creation,
                             "cache_read_input_tokens": read}
    if parsed.web_search is not None:
        usage["server_tool_use"] = {"web_search_requests": 1}
    usage["service_tier"] = "standard"
    return {
        "id": "msg_" + secrets.token_hex(12), "type": "message", "role": "assistant",
        "model": parsed.model, "content": content, "stop_reason": stop_reason,
        "stop_sequence": stop_sequence, "stop_details": None, "container": None,
        "usage": usage,
    }


def _fragments(text: str, n: int) -> list[str]:
    size = max(1, -(-len(text) // n))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def _words(text: str) -> list[str]:
    pieces = text.split(" ")
    return [p + " " for p in pieces[:-1]] + [pieces[-1]]


def events(message: Mapping[str, Any]) -> list[bytes]:
    """The named SSE events of a streamed ``message`` (no ``[DONE]``)."""
    usage = dict(message["usage"])
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None,
             "usage": {**usage, "output_tokens": 1}}
    out = [wire.named_sse({"type": "message_start", "message": start})]

    def delta(index: int, body: dict[str, Any]) -> None:
        out.append(wire.named_sse({"type": "content_block_delta", "index": index,
                                   "delta": body}))

    for i, block in enumerate(message["content"]):
        kind = block["type"]
        if kind == "thinking":
            first: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
        elif kind == "text":
            first = {"type": "text", "text": ""}
            if "citations" in block:
                first["citations"] = []
        elif kind == "server_tool_use":
            first = {**block, "input": {}}
        elif kind == "web_search_tool_result":
            first = block  # arrives whole
        else:
            first = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        out.append(wire.named_sse({"type": "content_block_start", "index": i,
                                   "content_block": first}))
        if i == 0:
            out.append(wire.named_sse({"type": "ping"}))
        if kind == "thinking":
            for piece in _words(block["thinking"]):
                delta(i, {"type": "thinking_delta", "thinking": piece})
            delta(i, {"type": "signature_delta", "signature": block["signature"]})
        elif kind == "text":
            for cite in block.get("citations") or ():
                delta(i, {"type": "citations_delta", "citation": cite})
            for piece in _words(block["text"]):
                delta(i, {"type": "text_delta", "text": piece})
        elif kind == "web_search_tool_result":
            pass
        else:
            for frag in _fragments(json.dumps(block["input"]), 3):
                delta(i, {"type": "input_json_delta", "partial_json": frag})
        out.append(wire.named_sse({"type": "content_block_stop", "index": i}))
    if not message["content"]:
        out.append(wire.named_sse({"type": "ping"}))
    out.append(wire.named_sse({"type": "message_delta",
                               "delta": {"stop_reason": message["stop_reason"],
                                         "stop_sequence": message["stop_sequence"],
                                         "stop_details": None},
                               "usage": {k: v for k, v in usage.items()
                                         if k != "service_tier"}}))
    out.append(wire.named_sse({"type": "message_stop"}))
    return out


def error_event(status: int, message: str) -> bytes:
    """A mid-stream ``event: error`` in Anthropic's shape."""
    body = wire.anthropic_error(status, message)
    return wire.named_sse({"type": "error", "error": body["error"]})
