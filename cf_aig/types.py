"""Canonical wire types: OpenAI Chat Completions shapes, as plain dicts.

Everything inside the core speaks these shapes; dialects translate other endpoints
to and from them. They are ``TypedDict``s (``total=False``) so any extra field a
provider adds survives untouched.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

Api = Literal["chat_completions", "run", "messages", "responses"]
"""The four chat endpoints of the unified API (see ``cf_aig.dialects``)."""


class FunctionCall(TypedDict, total=False):
    name: str
    arguments: str


class ToolCall(TypedDict, total=False):
    id: str
    type: Literal["function"]
    function: FunctionCall


class ToolCallDelta(TypedDict, total=False):
    index: int
    id: str | None
    type: Literal["function"] | None
    function: dict[str, Any]


class Message(TypedDict, total=False):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None
    name: str
    tool_calls: list[ToolCall]
    tool_call_id: str
    refusal: str | None
    reasoning_content: str | None
    # Anthropic thinking blocks kept for round trips: [{"type": "thinking", ...}]
    thinking_blocks: list[dict[str, Any]]
    # Citations, in Chat Completions' own shape:
    # [{"type": "url_citation", "url_citation": {"url", "title", "start_index", "end_index"}}]
    annotations: list[dict[str, Any]]
    # Provider-run tools (web search...), see ServerToolCall / ServerToolResult.
    server_tool_calls: list[ServerToolCall]
    server_tool_results: list[ServerToolResult]


class ServerToolCall(TypedDict, total=False):
    """A tool the provider ran itself (canonical extension; never sent to a client tool).

    ``native`` is the provider's own item (e.g. a Responses ``web_search_call``), kept so
    the dialect that produced it can send it back on a later turn.
    """

    id: str
    name: str
    args: dict[str, Any]
    native: dict[str, Any]


class ServerToolResult(TypedDict, total=False):
    """What a provider-run tool returned (``status`` ``success`` or ``error``)."""

    tool_call_id: str
    status: Literal["success", "error"]
    output: Any
    native: dict[str, Any]


class ChatRequest(TypedDict, total=False):
    """A ``/ai/v1/chat/completions`` request body (``model`` and ``messages`` required)."""

    model: str
    messages: list[Message]
    tools: list[dict[str, Any]]
    tool_choice: str | dict[str, Any]
    parallel_tool_calls: bool
    response_format: dict[str, Any]
    temperature: float
    top_p: float
    max_tokens: int
    max_completion_tokens: int
    stop: str | list[str]
    seed: int
    frequency_penalty: float
    presence_penalty: float
    reasoning_effort: str
    n: int
    logprobs: bool
    top_logprobs: int
    stream: bool
    stream_options: dict[str, Any]


class Usage(TypedDict, total=False):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: dict[str, Any]
    completion_tokens_details: dict[str, Any]


class Choice(TypedDict, total=False):
    index: int
    message: Message
    finish_reason: str | None
    logprobs: Any
    # The provider's own stop reason and matched stop sequence, when it names them
    # (Anthropic ``pause_turn``/``stop_sequence``...): see accumulate.NATIVE_STOP_KEYS.
    stop_reason: Any
    stop_sequence: str | None


class ChatCompletion(TypedDict, total=False):
    """A ``chat.completion`` object."""

    id: str
    object: str
    created: int
    model: str
    choices: list[Choice]
    usage: Usage | None


class Delta(TypedDict, total=False):
    role: str
    content: str | None
    reasoning_content: str | None
    tool_calls: list[ToolCallDelta]
    refusal: str | None
    thinking_blocks: list[dict[str, Any]]
    annotations: list[dict[str, Any]]
    server_tool_calls: list[ServerToolCall]
    server_tool_results: list[ServerToolResult]


class ChunkChoice(TypedDict, total=False):
    index: int
    delta: Delta
    finish_reason: str | None
    logprobs: Any
    stop_reason: Any
    stop_sequence: str | None


class ChatCompletionChunk(TypedDict, total=False):
    """A ``chat.completion.chunk`` object."""

    id: str
    object: str
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None
