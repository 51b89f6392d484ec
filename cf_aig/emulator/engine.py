"""Deterministic model engine: canonical chat request in, canonical turns out.

Pure functions, no I/O. Every route converts its body to a canonical (OpenAI chat
completions) request, calls :func:`generate`, and renders the :class:`Generation` in its
own wire format (see ``wire.py``).

>>> tool = {"type": "function", "function": {"name": "magic_function", "parameters": {
...     "type": "object", "properties": {"input": {"type": "integer"}}}}}
>>> g = generate({"model": "m", "tools": [tool],
...               "messages": [{"role": "user", "content": "What is magic_function(3)?"}]})
>>> g.turns[0].tool_calls[0]["arguments"], g.turns[0].finish_reason
('{"input": 3}', 'tool_calls')
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

_NUM = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_WORD = re.compile(r"[^\W\d_][\w'-]*")  # any script: Latin, CJK, accented...
_QUOTED = re.compile(r"(?:^|(?<=[\s(\[{:,]))['\"\u201c\u2018]([^'\"\u201d\u2019\n]{1,80})"
                     r"['\"\u201d\u2019](?=$|[\s).,;:!?\]}])")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_GENERIC_PARTS = frozenset({"get", "set", "fetch", "create", "make", "find", "search", "lookup",
                            "look", "run", "call", "use", "tool", "list", "query", "read",
                            "write", "update", "delete", "func", "function", "info", "data"})
_STOP_WORDS = (
    "a an the and or but if of to in on at by for with from about into over is are was were be "
    "been being do does did have has had what which who whom whose when where why how can could "
    "would should will shall may might must i you he she it we they me him her us them my your "
    "our their this that these those please tell give show say just also very some any all "
    "not no yes there here than then so as"
)
_STOP = frozenset(_STOP_WORDS.split())


@dataclass
class Script:
    """An exact next answer, overriding the engine (queue it with ``Emulator.enqueue``).

    ``tool_calls`` items are ``{"name": str, "arguments": dict | str, "id"?: str}``.
    ``match`` limits it to requests whose path contains that substring.
    """

    text: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    reasoning: str | None = None
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    match: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Script:
        allowed = {"text", "tool_calls", "reasoning", "usage", "finish_reason", "match"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown script field(s) {sorted(unknown)}; known: {sorted(allowed)}")
        return cls(**dict(data))


@dataclass
class Turn:
    """One choice: text (or JSON value), reasoning, tool calls, finish reason."""

    text: str | None
    reasoning: str | None = None
    tool_calls: list[dict[str, str]] = field(default_factory=list)
    finish_reason: str = "stop"
    json_value: Any = None
    is_json: bool = False


@dataclass
class Generation:
    """All choices of one request plus its canonical ``usage``."""

    turns: list[Turn]
    usage: dict[str, Any]


def count_tokens(text: str) -> int:
    """Whitespace token count (the emulator's only tokenizer)."""
    return len(text.split())


def message_text(message: Mapping[str, Any]) -> str:
    """All text of one message: content (string or text parts) and tool-call arguments."""
    content = message.get("content")
    parts: list[str] = []
    if isinstance(content, str):
        parts.append(content)
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                parts.append(part["text"])
    for call in message.get("tool_calls") or ():
        if isinstance(call, Mapping):
            fn = call.get("function") or call
            args = fn.get("arguments") if isinstance(fn, Mapping) else None
            parts.append(args if isinstance(args, str) else json.dumps(args))
    return " ".join(parts)


def keywords(text: str, limit: int = 8) -> list[str]:
    """Distinct content words of ``text``, in order."""
    seen: list[str] = []
    for word in _WORD.findall(text):
        low = word.lower()
        if low not in _STOP and len(low) > 2 and low not in (w.lower() for w in seen):
            seen.append(word)
            if len(seen) >= limit:
                break
    return seen


def numbers(text: str) -> list[int | float]:
    """Numbers in ``text``, in order (ints stay ints)."""
    out: list[int | float] = []
    for m in _NUM.findall(text):
        out.append(float(m) if "." in m else int(m))
    return out


def tool_specs(tools: Any) -> list[tuple[str, dict[str, Any]]]:
    """``(name, parameters)`` for OpenAI-style, flat Workers AI and Anthropic tools."""
    out: list[tuple[str, dict[str, Any]]] = []
    for tool in tools or ():
        if not isinstance(tool, Mapping):
            continue
        fn: Mapping[str, Any] = tool["function"] if isinstance(tool.get("function"),
                                                               Mapping) else tool
        name = fn.get("name")
        if isinstance(name, str) and name:
            params = fn.get("parameters") or fn.get("input_schema") or {"type": "object"}
            out.append((name, params if isinstance(params, dict) else {"type": "object"}))
    return out


def _mentions(name: str, text: str) -> bool:
    low = text.lower()
    return name.lower() in low or name.lower().replace("_", " ") in low


def quoted(text: str) -> list[str]:
    """Substrings the prompt puts in quotes ('...', "...", curly quotes), in order."""
    return [q.strip() for q in _QUOTED.findall(text) if q.strip()]


def _about(name: str, text: str) -> bool:
    """The prompt is about the tool: a distinctive part of its name appears as a word
    (``get_weather`` for "What is the weather in Paris?")."""
    parts = re.split(r"[_\-\s]+|(?<=[a-z])(?=[A-Z])", name)
    words = {w.lower() for w in _WORD.findall(text)}
    return any(len(p) >= 4 and p.lower() not in _GENERIC_PARTS and p.lower() in words
               for p in parts)


class _Filler:
    """Builds a JSON instance for a schema from the prompt's numbers and words."""

    def __init__(self, prompt: str, root: Mapping[str, Any], avoid: set[str],
                 nums: Iterator[int | float] | None = None) -> None:
        self.root = root
        self._nums: Iterator[int | float] = nums if nums is not None else iter(numbers(prompt))
        caps = [w for i, w in enumerate(_WORD.findall(prompt)) if i and w[:1].isupper()]
        words = quoted(prompt) + caps + keywords(prompt, 20)
        self.words = [w for w in dict.fromkeys(words) if w.lower() not in avoid] or ["example"]
        self._wi = 0

    def _word(self) -> str:
        word = str(self.words[self._wi % len(self.words)])
        self._wi += 1
        return word

    def _resolve(self, ref: str) -> Any:
        node: Any = self.root
        for part in ref.lstrip("#/").split("/"):
            if not part:
                continue
            node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(
                node, Mapping) else {}
        return node

    def value(self, schema: Any, depth: int = 0) -> Any:
        if not isinstance(schema, Mapping) or depth > 12:
            return self._word() if depth <= 12 else None
        if "$ref" in schema:
            return self.value(self._resolve(str(schema["$ref"])), depth + 1)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                pick = next((o for o in options if not (isinstance(o, Mapping)
                                                        and o.get("type") == "null")), options[0])
                return self.value(pick, depth + 1)
        if isinstance(schema.get("allOf"), list):
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for sub in schema["allOf"]:
                sub = self._resolve(sub["$ref"]) if isinstance(sub, Mapping) and "$ref" in sub \
                    else sub
                if isinstance(sub, Mapping):
                    props = {**merged.get("properties", {}), **sub.get("properties", {})}
                    merged.update({k: v for k, v in sub.items() if k != "properties"})
                    merged["properties"] = props
            return self.value(merged, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema \
                else "string"
        return self._typed(str(kind), schema, depth)

    def _number(self, schema: Mapping[str, Any], integer: bool) -> int | float:
        raw = next(self._nums, None)
        num: float = float(raw) if raw is not None else float(schema.get("minimum", 1))
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if isinstance(lo, (int, float)):
            num = max(num, lo)
        if isinstance(hi, (int, float)):
            num = min(num, hi)
        if integer or (raw is not None and isinstance(raw, int) and num == int(num)):
            return int(num)
        return num

    def _typed(self, kind: str, schema: Mapping[str, Any], depth: int) -> Any:
        if kind == "object":
            props = schema.get("properties") or {}
            return {k: self.value(v, depth + 1) for k, v in props.items()}
        if kind == "array":
            count = max(int(schema.get("minItems", 1)), 1)
            if isinstance(schema.get("maxItems"), int):
                count = min(count, schema["maxItems"])
            return [self.value(schema.get("items", {}), depth + 1) for _ in range(count)]
        if kind == "integer":
            return self._number(schema, True)
        if kind == "number":
            return self._number(schema, False)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self._string(schema)

    def _string(self, schema: Mapping[str, Any]) -> str:
        fmt = schema.get("format")
        if fmt == "date-time":
            return "2026-01-01T00:00:00Z"
        if fmt == "date":
            return "2026-01-01"
        if fmt == "email":
            return "user@example.com"
        if fmt in ("uri", "url"):
            return "https://example.com/"
        if fmt == "uuid":
            return "00000000-0000-4000-8000-000000000000"
        text = self._word()
        min_len = schema.get("minLength")
        if isinstance(min_len, int) and len(text) < min_len:
            text = text.ljust(min_len, "x")
        max_len = schema.get("maxLength")
        if isinstance(max_len, int):
            text = text[:max_len]
        return text


def instance_for(schema: Mapping[str, Any], prompt: str, avoid: set[str] | None = None,
                 nums: Iterator[int | float] | None = None) -> Any:
    """A JSON value valid for ``schema`` (common keywords), filled from ``prompt``.

    ``nums``: a shared iterator over the prompt's numbers, so parallel tool calls in one
    turn take successive numbers ("add 4 and 5, multiply 6 by 7").
    """
    return _Filler(prompt, schema, avoid or set(), nums).value(schema)


def new_call_id() -> str:
    return "call_" + secrets.token_hex(12)


def _last_user_text(messages: list[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return ""


def _tool_answer(messages: list[Mapping[str, Any]]) -> str:
    names: dict[str, str] = {}
    for message in messages:
        for call in message.get("tool_calls") or ():
            if isinstance(call, Mapping):
                fn = call.get("function") or {}
                names[str(call.get("id"))] = str(fn.get("name", "tool"))
    results: list[str] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        name = message.get("name") or names.get(str(message.get("tool_call_id")), "the tool")
        results.insert(0, f"{name} returned {message_text(message).strip() or 'nothing'}")
    question = " ".join(keywords(_last_user_text(messages), 6))
    tail = f" That answers your question about {question}." if question else ""
    return "Based on the tool results: " + "; ".join(results) + "." + tail


def reply_for(prompt: str) -> str:
    """The plain-text answer to a user prompt."""
    words = prompt.split()
    if not words:
        return "Hello! How can I help you today?"
    kws = keywords(prompt, 6)
    about = ", ".join(kws) if kws else words[0]
    echo = " ".join(words[:40])
    return f"Here is an emulated answer about {about}. You said: {echo}"


def _choose_tools(req: Mapping[str, Any], prompt: str) -> list[tuple[str, dict[str, Any]]]:
    specs = tool_specs(req.get("tools"))
    choice = req.get("tool_choice", "auto")
    if not specs or choice == "none":
        return []
    forced_any = choice in ("required", "any")
    if isinstance(choice, Mapping):
        fn: Mapping[str, Any] = choice["function"] if isinstance(choice.get("function"),
                                                                 Mapping) else choice
        name = fn.get("name")
        if isinstance(name, str) and choice.get("type") not in ("auto", "none"):
            chosen = [s for s in specs if s[0] == name]
            return chosen or specs[:1]
        forced_any = choice.get("type") in ("any", "required")
        if choice.get("type") == "none":
            return []
    picked = [s for s in specs if _mentions(s[0], prompt)]
    if not picked:
        picked = [s for s in specs if _about(s[0], prompt)]
    if not picked and forced_any:
        picked = specs[:1]
    if req.get("parallel_tool_calls") is False:
        picked = picked[:1]
    return picked


def _clip(text: str, req: Mapping[str, Any]) -> tuple[str, str]:
    finish = "stop"
    stops = req.get("stop")
    for stop in [stops] if isinstance(stops, str) else (stops or ()):
        if isinstance(stop, str) and stop and stop in text:
            text = text[: text.index(stop)]
    limit = req.get("max_completion_tokens") or req.get("max_tokens")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 0:
        words = text.split(" ")
        if len([w for w in words if w]) > limit:
            kept: list[str] = []
            count = 0
            for w in words:
                if w and count == limit:
                    break
                kept.append(w)
                count += bool(w)
            text, finish = " ".join(kept).rstrip(), "length"
    return text, finish


def _turn(req: Mapping[str, Any], think: bool) -> Turn:
    messages = [m for m in req.get("messages") or () if isinstance(m, Mapping)]
    prompt = _last_user_text(messages)
    reasoning = (f"The user asks about {', '.join(keywords(prompt, 5)) or 'something'}; "
                 "answer plainly.") if think else None
    if messages and messages[-1].get("role") == "tool":
        text, finish = _clip(_tool_answer(messages), req)
        return Turn(text, reasoning, finish_reason=finish)
    chosen = _choose_tools(req, prompt)
    if chosen:
        avoid = {w.lower() for name, _ in tool_specs(req.get("tools")) for w in
                 [name, *name.split("_")]}
        nums = itertools.cycle(numbers(prompt))  # successive numbers, reused when exhausted
        calls = [{"id": new_call_id(), "name": name,
                  "arguments": json.dumps(instance_for(params, prompt, avoid, nums))}
                 for name, params in chosen]
        return Turn(None, reasoning, calls, "tool_calls")
    fmt = req.get("response_format")
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        wrapper = fmt.get("json_schema") or {}
        schema = wrapper.get("schema", wrapper) if isinstance(wrapper, Mapping) else {}
        value = instance_for(schema if isinstance(schema, Mapping) else {}, prompt)
        return Turn(json.dumps(value), reasoning, json_value=value, is_json=True)
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_object":
        keys = [q for q in quoted(prompt) if _IDENT.fullmatch(q)]
        if keys:  # "... as JSON with 'setup' and 'punchline' keys"
            words = keywords(prompt, 8) or ["example"]
            obj: Any = {k: f"{k} about {' '.join(words[:4])}" for k in dict.fromkeys(keys)}
        else:
            obj = {"answer": reply_for(prompt), "keywords": keywords(prompt, 5)}
        return Turn(json.dumps(obj), reasoning, json_value=obj, is_json=True)
    text, finish = _clip(reply_for(prompt), req)
    return Turn(text, reasoning, finish_reason=finish)


def _scripted(script: Script) -> Turn:
    calls = [{"id": str(c.get("id") or new_call_id()), "name": str(c["name"]),
              "arguments": c["arguments"] if isinstance(c.get("arguments"), str)
              else json.dumps(c.get("arguments") or {})} for c in script.tool_calls or ()]
    finish = script.finish_reason or ("tool_calls" if calls else "stop")
    text = script.text if script.text is not None or calls else ""
    return Turn(text, script.reasoning, calls, finish)


def generate(req: Mapping[str, Any], *, think: bool = False, script: Script | None = None,
             cached_tokens: int = 0) -> Generation:
    """Answer a canonical chat request; ``think`` adds reasoning text."""
    think = think or bool(req.get("reasoning_effort"))
    n = req.get("n") or 1
    n = n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1
    turns = [_scripted(script) if script else _turn(req, think) for _ in range(n)]
    prompt = sum(count_tokens(message_text(m)) for m in req.get("messages") or ()
                 if isinstance(m, Mapping))
    completion = reasoning = 0
    for t in turns:
        reasoning += count_tokens(t.reasoning or "")
        completion += count_tokens(t.text or "") + sum(count_tokens(c["arguments"])
                                                       for c in t.tool_calls)
    completion += reasoning
    usage: dict[str, Any] = {
        "prompt_tokens": prompt, "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": min(cached_tokens, prompt)},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }
    if script and script.usage:
        usage.update(script.usage)
    return Generation(turns, usage)
