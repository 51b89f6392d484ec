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
