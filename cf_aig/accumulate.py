"""Merge canonical stream chunks into one ``chat.completion``.

Content and reasoning are concatenated per choice; tool calls are merged by
``index`` (arguments concatenated, ``id``/``name`` set once, never appended); the
usage is the last one seen, each count kept at its largest (dialects emit one cumulative
usage chunk at the end; a later all-zero one never erases it).

>>> acc = ChunkAccumulator()
>>> acc.add({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": "Hi"}}]})
>>> acc.add({"choices": [{"index": 0, "delta": {"tool_calls": [
...     {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": '{"a":'}}]}}]})
>>> acc.add({"choices": [{"index": 0, "delta": {"tool_calls": [
...     {"index": 0, "function": {"arguments": "1}"}}]}, "finish_reason": "tool_calls"}]})
>>> msg = acc.completion()["choices"][0]["message"]
>>> msg["content"], msg["tool_calls"][0]["function"]["arguments"]
('Hi', '{"a":1}')
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, cast

from .types import ChatCompletion, ChatCompletionChunk, Choice, Message, ToolCall, Usage


def new_tool_call_id() -> str:
    """A fresh id for a tool call the provider sent without one."""
    return f"call_{uuid.uuid4().hex[:24]}"


def build_tool_call(call_id: str | None, name: str | None, arguments: Any) -> ToolCall:
    """A canonical tool call; ``arguments`` as a JSON string, a dict, or ``None`` (``{}``).
    A missing id gets a fresh ``call_...`` id. Every dialect and both adapters build
    tool calls here.

    >>> build_tool_call(None, "f", {"x": 1})["function"]
    {'name': 'f', 'arguments': '{"x": 1}'}
    """
    if isinstance(arguments, str):
        text = arguments
    else:
        text = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
    return {
        "id": call_id or new_tool_call_id(),
        "type": "function",
        "function": {"name": name or "", "arguments": text},
    }


def _max_merge(prev: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(prev)
    for key, value in new.items():
        old = out.get(key)
        if isinstance(value, Mapping):
            out[key] = _max_merge(old if isinstance(old, Mapping) else {}, value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = max(old, value) if isinstance(old, (int, float)) else value
        elif value is not None or key not in out:
            out[key] = value
    return out


def monotonic_usage(
    prev: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """Cumulative usage seen later in a stream, never going backwards.

    Streams report cumulative figures; a later event with lower (for example all-zero)
    counts must not erase real ones, so every count keeps its largest value.

    >>> monotonic_usage({"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
    ...                 {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
    {'prompt_tokens': 9, 'completion_tokens': 4, 'total_tokens': 13}
    """
    if not new:
        return dict(prev) if prev else None
    if not prev:
        return dict(new)
    return _max_merge(prev, new)


LIST_EXTRAS = ("annotations", "server_tool_calls", "server_tool_results")
"""Canonical message extensions that stream as lists and are concatenated."""

NATIVE_STOP_KEYS = ("stop_reason", "stop_sequence")
"""Choice extensions: the provider's own stop reason (Anthropic's ``pause_turn``,
``stop_sequence``...; Workers AI's ``stop_reason``) and the stop sequence that matched,
kept beside the canonical ``finish_reason``, which cannot tell them apart."""


def native_stop_of(choice: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`NATIVE_STOP_KEYS` a (chunk) choice carries, for adapters to surface.

    >>> native_stop_of({"finish_reason": "stop", "stop_reason": "pause_turn"})
    {'stop_reason': 'pause_turn'}
    """
    return {key: choice[key] for key in NATIVE_STOP_KEYS if choice.get(key) is not None}


class _ChoiceState:
    __slots__ = (
        "content",
        "extras",
        "finish_reason",
        "native_stop",
        "reasoning",
        "refusal",
        "role",
        "thinking",
        "tool_calls",
    )

    def __init__(self) -> None:
        self.role = "assistant"
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.thinking: list[dict[str, Any]] = []
        self.extras: dict[str, list[Any]] = {}  # LIST_EXTRAS, in arrival order
        self.finish_reason: str | None = None
        self.native_stop: dict[str, Any] = {}  # NATIVE_STOP_KEYS


def merge_tool_call_delta(calls: dict[int, dict[str, Any]], delta: Mapping[str, Any]) -> None:
    """Fold one streamed tool-call fragment into ``calls`` (keyed by index)."""
    index = delta.get("index")
    if index is None:  # no index: place by id, else continue the last call
        cid = delta.get("id")
        known = [i for i, c in calls.items() if cid and c["id"] == cid]
        if known:
            index = known[0]
        elif cid or not calls:
            index = max(calls, default=-1) + 1
        else:
            index = max(calls)
    call = calls.get(index)
    if call is None:
        call = calls[index] = {"id": None, "name": None, "arguments": []}
    if delta.get("id") and not call["id"]:
        call["id"] = delta["id"]
    fn = delta.get("function") or {}
    if fn.get("name") and not call["name"]:
        call["name"] = fn["name"]
    args = fn.get("arguments")
    if args:
        call["arguments"].append(args if isinstance(args, str) else json.dumps(args))


def finish_tool_calls(calls: dict[int, dict[str, Any]]) -> list[ToolCall]:
    """Turn merged fragments into complete tool calls, generating missing ids once."""
    out: list[ToolCall] = []
    for index in sorted(calls):
        call = calls[index]
        if not call["id"]:
            call["id"] = new_tool_call_id()
        out.append(build_tool_call(call["id"], call["name"], "".join(call["arguments"])))
    return out


class ChunkAccumulator:
    """Collects canonical chunks; :meth:`completion` returns the merged result.

    >>> acc = ChunkAccumulator()
    >>> for piece in ("Hel", "lo"):
    ...     acc.add({"choices": [{"index": 0, "delta": {"content": piece}}]})
    >>> acc.completion()["choices"][0]["message"]["content"]
    'Hello'
    """

    def __init__(self) -> None:
        self.id: str | None = None
        self.model: str | None = None
        self.created: int | None = None
        self.usage: Usage | None = None
        self.choices: dict[int, _ChoiceState] = {}

    def add(self, chunk: ChatCompletionChunk) -> None:
        if self.id is None and chunk.get("id"):
            self.id = chunk["id"]
        if self.model is None and chunk.get("model"):
            self.model = chunk["model"]
        if self.created is None and chunk.get("created"):
            self.created = chunk["created"]
        if chunk.get("usage"):
            self.usage = cast(Usage, monotonic_usage(self.usage, chunk["usage"]))
        for choice in chunk.get("choices") or ():
            state = self.choices.get(choice.get("index", 0))
            if state is None:
                state = self.choices[choice.get("index", 0)] = _ChoiceState()
            delta = choice.get("delta") or {}
            if delta.get("role"):
                state.role = delta["role"]
            if delta.get("content"):
                state.content.append(delta["content"])  # type: ignore[arg-type]
            if delta.get("reasoning_content"):
                state.reasoning.append(delta["reasoning_content"])  # type: ignore[arg-type]
            if delta.get("refusal"):
                state.refusal.append(delta["refusal"])  # type: ignore[arg-type]
            if delta.get("thinking_blocks"):
                state.thinking.extend(delta["thinking_blocks"])
            for key in LIST_EXTRAS:
                if delta.get(key):
                    state.extras.setdefault(key, []).extend(delta[key])  # type: ignore[literal-required]
            for tc in delta.get("tool_calls") or ():
                merge_tool_call_delta(state.tool_calls, tc)
            if choice.get("finish_reason"):
                state.finish_reason = choice["finish_reason"]
            state.native_stop.update(native_stop_of(choice))

    def completion(self) -> ChatCompletion:
        choices: list[Choice] = []
        for index in sorted(self.choices):
            st = self.choices[index]
            message: Message = {"role": "assistant", "content": "".join(st.content)}
            if st.reasoning:
                message["reasoning_content"] = "".join(st.reasoning)
            if st.refusal:
                message["refusal"] = "".join(st.refusal)
            if st.thinking:
                message["thinking_blocks"] = st.thinking
            if st.tool_calls:
                message["tool_calls"] = finish_tool_calls(st.tool_calls)
            for key, items in st.extras.items():
                message[key] = items  # type: ignore[literal-required]
            choice: Choice = {"index": index, "message": message,
                              "finish_reason": st.finish_reason}
            choice.update(st.native_stop)  # type: ignore[typeddict-item]
            choices.append(choice)
        return {
            "id": self.id or "",
            "object": "chat.completion",
            "created": self.created or 0,
            "model": self.model or "",
            "choices": choices,
            "usage": self.usage,
        }
