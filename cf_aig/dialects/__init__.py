"""Dialects: one module of pure functions per chat endpoint, and the registry.

A dialect turns a canonical request (Chat Completions dict) into its endpoint's
body, and that endpoint's responses, stream events and errors back into canonical
completions and chunks. It also declares, per model, what its wire can carry
(:class:`Capabilities`); callers ask it instead of comparing endpoint names.

Adding an endpoint: a dialect module exposing one ``Dialect`` object, its name in
:data:`~cf_aig.types.Api`, and one line in :data:`REGISTRY`. Nothing else moves.

>>> get_dialect("chat_completions").endpoint("openai/gpt-5.5")
'/ai/v1/chat/completions'
>>> get_dialect("run").endpoint("@cf/meta/llama-3.1-8b-instruct")
'/ai/run/@cf/meta/llama-3.1-8b-instruct'
>>> get_dialect("messages").capabilities("anthropic/claude-sonnet-4.5").thinking_round_trip
'signed_blocks'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from typing import Any, Literal, Protocol, cast, get_args

from .. import catalog as _catalog
from ..errors import ConfigurationError
from ..types import Api, ChatCompletion, ChatCompletionChunk, ChatRequest

ToolChoiceForm = Literal["auto", "none", "required", "function"]
"""``tool_choice`` forms: let the model choose, forbid tools, force some tool, force one."""

ALL_TOOL_CHOICES: frozenset[ToolChoiceForm] = frozenset(get_args(ToolChoiceForm))

ThinkingForm = Literal["signed_blocks", "none"]
"""How earlier reasoning goes back to the endpoint: Anthropic's signed ``thinking_blocks``
on assistant turns, or not at all (the dialect drops it)."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What one endpoint's wire carries for one model (from ``Dialect.capabilities``).

    Model facts (vision, context window...) live in :mod:`cf_aig.profiles`; this is
    what the *endpoint* can express. Policy (:mod:`cf_aig.policy`) combines the two.

    >>> caps = get_dialect("responses").capabilities("openai/gpt-5.5")
    >>> caps.path, caps.stop_sequences, caps.json_schema
    ('/ai/v1/responses', False, True)
    """

    path: str
    """Path below ``/accounts/{id}/ai-gateway...`` for this model."""
    stop_sequences: bool = True
    """``stop`` is carried."""
    json_schema: bool = True
    """``response_format`` ``json_schema`` is carried natively."""
    json_mode: bool = True
    """``response_format`` ``json_object`` is carried natively."""
    stream_with_schema: bool = True
    """A JSON-schema/JSON-mode answer can stream (else the client asks without streaming
    and replays the answer as chunks)."""
    thinking_round_trip: ThinkingForm = "none"
    """How earlier reasoning goes back (see :data:`ThinkingForm`)."""
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    """Canonical request key adapters put an output-token limit under."""
    tool_choice_forms: frozenset[ToolChoiceForm] = ALL_TOOL_CHOICES
    """``tool_choice`` forms the model can be given here."""
    parallel_tool_calls: bool = True
    """``parallel_tool_calls`` is carried."""
    images: bool = True
    """Image content parts (``image_url`` with a ``data:`` URL)."""
    image_urls: bool = True
    """Images given by http(s) URL."""
    files: bool = True
    """File (PDF) content parts with inline data."""
    file_urls: bool = False
    """Files given by URL."""
    audio: bool = False
    """``input_audio`` content parts."""
    tool_result_images: bool = False
    """Images inside tool results."""
    server_tools: bool = False
    """Provider-run tools (web search...) pass through natively."""
    cache_marks: bool = False
    """``cache_control`` marks on parts and tools are carried."""
    forced_tool_with_thinking: bool = True
    """A forced ``tool_choice`` can be combined with thinking/reasoning (not on Anthropic's
    wire; :mod:`cf_aig.policy` relaxes or refuses it there)."""
    reasoning_object: bool = False
    """OpenAI's Responses ``reasoning`` object (effort, summary...) is carried natively;
    elsewhere only its ``effort`` goes, as ``reasoning_effort``."""
    gateway_path: str | None = None
    """Path below ``{gateway_url}/{account}/{gateway}`` on the gateway host
    (``surface="gateway"``), or None when the gateway host's ``/compat`` does not serve it."""


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

    def capabilities(self, model: str) -> Capabilities:
        """What this endpoint carries for ``model``."""
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

    __slots__ = ("_build", "_caps", "_parse", "_state", "api")

    def __init__(self, api: Api, capabilities: Capabilities | Callable[[str], Capabilities],
                 build: Callable[..., dict[str, Any]],
                 parse: Callable[[Any], ChatCompletion],
                 stream_state: Callable[[str], StreamState]) -> None:
        self.api = api
        self._caps = capabilities
        self._build = build
        self._parse = parse
        self._state = stream_state

    def endpoint(self, model: str) -> str:
        return self.capabilities(model).path

    def capabilities(self, model: str) -> Capabilities:
        caps = self._caps
        return caps if isinstance(caps, Capabilities) else caps(model)

    def build(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        return self._build(request, stream=stream)

    def parse(self, body: Any) -> ChatCompletion:
        return self._parse(body)

    def stream_state(self, model: str) -> StreamState:
        return self._state(model)


REGISTRY: dict[Api, str] = {
    "chat_completions": "chat:CHAT",
    "run": "workers_ai:WORKERS_AI",
    "messages": "anthropic:ANTHROPIC",
    "responses": "responses:RESPONSES",
}
"""Endpoint name → ``module:object`` of its dialect (modules load on first use)."""

API_NAMES: tuple[Api, ...] = get_args(Api)

_LOADED: dict[str, Dialect] = {}


def get_dialect(api: str) -> Dialect:
    """The dialect for ``api`` (one of :data:`API_NAMES`)."""
    dialect = _LOADED.get(api)
    if dialect is not None:
        return dialect
    target = cast("dict[str, str]", REGISTRY).get(api)
    if target is None:
        raise ConfigurationError(
            f"api must be one of {', '.join(repr(a) for a in REGISTRY)}, got {api!r}"
        )
    module, _, name = target.partition(":")
    loaded: Dialect = getattr(import_module(f"{__name__}.{module}"), name)
    _LOADED[api] = loaded
    return loaded


def capabilities(api: str, model: str) -> Capabilities:
    """``get_dialect(api).capabilities(model)``, cached per endpoint and model until the
    model catalogue changes (capabilities read model profiles)."""
    return _cached_capabilities(api, model, _catalog.generation())


@lru_cache(maxsize=2048)
def _cached_capabilities(api: str, model: str, generation: int) -> Capabilities:
    return get_dialect(api).capabilities(model)
