"""Dialects: one module of pure functions per chat endpoint.

A dialect turns a canonical request (Chat Completions dict) into its endpoint's
body, and that endpoint's responses, stream events and errors back into canonical
completions and chunks. Adding an endpoint means adding a dialect; nothing else moves.

>>> get_dialect("chat_completions").endpoint("openai/gpt-5.5")
'/ai/v1/chat/completions'
>>> get_dialect("run").endpoint("@cf/meta/llama-3.1-8b-instruct")
'/ai/run/@cf/meta/llama-3.1-8b-instruct'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..errors import ConfigurationError
from ..types import Api, ChatCompletion, ChatCompletionChunk, ChatRequest


class StreamState(Protocol):
    """Per-stream decoder: SSE events in, canonical chunks out."""

    def event(self, name: str | None, data: bytes) -> list[ChatCompletionChunk]:
        """Decode one SSE event. Raises a ``CfAigError`` for an error event."""
        ...

    def finish(self) -> list[ChatCompletionChunk]:
        """End of the byte stream: last chunks, or ``StreamInterruptedError`` if cut short."""
        ...


class Dialect(Protocol):
    api: Api

    def endpoint(self, model: str) -> str:
        """Path below ``/accounts/{id}`` for ``model``."""
        ...

    def build(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        """The wire body for a canonical request."""
        ...

    def parse(self, body: Any) -> ChatCompletion:
        """A decoded JSON response body as a canonical completion (raises on error bodies)."""
        ...

    def stream_state(self, model: str) -> StreamState:
        """A fresh decoder for one stream."""
        ...


class FixedPathDialect:
    """A dialect with one path for every model, made of its module's pure functions."""

    __slots__ = ("_build", "_parse", "_path", "_state", "api")

    def __init__(self, api: Api, path: str, build: Callable[..., dict[str, Any]],
                 parse: Callable[[Any], ChatCompletion],
                 stream_state: Callable[[str], StreamState]) -> None:
        self.api = api
        self._path = path
        self._build = build
        self._parse = parse
        self._state = stream_state

    def endpoint(self, model: str) -> str:
        return self._path

    def build(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        return self._build(request, stream=stream)

    def parse(self, body: Any) -> ChatCompletion:
        return self._parse(body)

    def stream_state(self, model: str) -> StreamState:
        return self._state(model)


def get_dialect(api: str) -> Dialect:
    """The dialect for ``api`` (``chat_completions``, ``run``, ``messages``, ``responses``)."""
    if api == "chat_completions":
        from .chat import CHAT

        return CHAT
    if api == "run":
        from .workers_ai import WORKERS_AI

        return WORKERS_AI
    if api == "messages":
        from .anthropic import ANTHROPIC  # type: ignore[import-not-found,unused-ignore]

        return ANTHROPIC  # type: ignore[no-any-return,unused-ignore]
    if api == "responses":
        from .responses import RESPONSES  # type: ignore[import-not-found,unused-ignore]

        return RESPONSES  # type: ignore[no-any-return,unused-ignore]
    raise ConfigurationError(
        f"api must be one of 'chat_completions', 'run', 'messages', 'responses', got {api!r}"
    )
