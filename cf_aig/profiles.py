"""What each model can do: context window, output limit, tools, vision, JSON schema.

Facts come from the wire reference (§4.2, §4.6, §6) and the Workers AI model index.
Unknown model names work: they get conservative defaults (tools and JSON schema
assumed for third-party chat models, text-only classic behaviour for unknown ``@cf``).

>>> get_profile("@cf/moonshotai/kimi-k2.6").context_window
262144
>>> get_profile("acme/brand-new-model").tool_calling
True
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Literal

from . import catalog as _catalog  # imports nothing heavy; the cache file loads on first use
from .errors import RetiredModelError
from .gateway_host import rest_model


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """Capabilities of one model (from :func:`get_profile`).

    >>> p = get_profile("@cf/meta/llama-3.1-8b-instruct")
    >>> p.provider, p.workers_ai_schema, p.streaming_json_schema
    ('workers-ai', 'classic', False)
    """

    model: str
    provider: str
    context_window: int = 128_000
    max_output_tokens: int = 8_192
    tool_calling: bool = True
    tool_choice: bool = True
    parallel_tool_calls: bool = True
    vision: bool = False
    pdf_input: bool = False
    audio_input: bool = False
    """Hears ``input_audio`` content parts (chat completions)."""
    json_schema: bool = True
    json_mode: bool = True
    reasoning: bool = False
    streaming: bool = True
    streaming_json_schema: bool = True
    """False on Workers AI: JSON mode with ``stream: true`` fails with error 5023."""
    workers_ai_schema: Literal["chat", "classic"] | None = None
    """Workers AI output family: ``chat`` (chat.completion) or ``classic`` ({response})."""
    embedding_dimensions: int | None = None
    embedding_sizes: tuple[int, int] | None = None
    """Smallest and largest ``dimensions`` the model can be asked for (None: only its own)."""
    embedding_batch_size: int = 100
    known: bool = True
    alias_of: str | None = None
    """The model this name is an alias of (its facts are that model's)."""
    workers_paid: bool = False
    """Needs the Workers Paid plan (free accounts get 403/5035)."""
    batch: bool = False
    """Takes async batch requests (``?queueRequest=true``)."""
    task: str | None = None
    """Catalogue task name (e.g. ``Text Generation``), when the catalogue said."""
    retired_on: str | None = None
    """Date the model was retired (ISO), if it was."""
    replacement: str | None = None
    """What to use instead of a retired model."""


def provider_of(model: str) -> str:
    """``openai`` for ``openai/gpt-5.5``, ``workers-ai`` for ``@cf/...`` and ``@hf/...``."""
    if model.startswith(("@cf/", "@hf/")):
        return "workers-ai"
    return model.split("/", 1)[0] if "/" in model else "unknown"


def is_workers_ai(model: str) -> bool:
    return model.startswith(("@cf/", "@hf/"))


_OPENAI_BIG: dict[str, Any] = dict(
    context_window=400_000, max_output_tokens=128_000, vision=True, pdf_input=True, reasoning=True
)
_CLAUDE: dict[str, Any] = dict(
    context_window=200_000, max_output_tokens=64_000, vision=True, pdf_input=True, reasoning=True
)
_GEMINI: dict[str, Any] = dict(
    context_window=1_048_576, max_output_tokens=65_536, vision=True, pdf_input=True,
    audio_input=True, reasoning=True,
)
_OPENAI_AUDIO: dict[str, Any] = dict(
    context_window=128_000, max_output_tokens=16_384, audio_input=True, json_schema=False
)
_WAI_CHAT: dict[str, Any] = dict(workers_ai_schema="chat", streaming_json_schema=False)
_WAI_CLASSIC: dict[str, Any] = dict(
    workers_ai_schema="classic",
    streaming_json_schema=False,
    context_window=8_192,
    max_output_tokens=2_048,
    tool_choice=False,
    parallel_tool_calls=False,
)

_TABLE: dict[str, dict[str, Any]] = {
    "openai/gpt-5.5": _OPENAI_BIG,
    "openai/gpt-5": _OPENAI_BIG,
    "openai/gpt-5-mini": _OPENAI_BIG,
    "openai/gpt-5-nano": _OPENAI_BIG,
    "openai/gpt-4.1": dict(
        context_window=1_047_576, max_output_tokens=32_768, vision=True, pdf_input=True
    ),
    "openai/gpt-4.1-mini": dict(context_window=1_047_576, max_output_tokens=32_768, vision=True),
    "openai/gpt-4o": dict(context_window=128_000, max_output_tokens=16_384, vision=True),
    "openai/gpt-4o-mini": dict(context_window=128_000, max_output_tokens=16_384, vision=True),
    "openai/gpt-audio": _OPENAI_AUDIO,
    "openai/gpt-4o-audio-preview": _OPENAI_AUDIO,
    "anthropic/claude-sonnet-4.5": _CLAUDE,
    "anthropic/claude-opus-4.5": _CLAUDE,
    "anthropic/claude-haiku-4.5": _CLAUDE,
    "google/gemini-3-flash": _GEMINI,
    "google/gemini-3-pro": _GEMINI,
    "google/gemini-2.5-flash": _GEMINI,
    "google/gemini-2.5-pro": _GEMINI,
    "xai/grok-3": dict(context_window=131_072, max_output_tokens=16_384),
    # DeepSeek's API has JSON mode (json_object) but no JSON-schema output.
    "deepseek/deepseek-chat": dict(context_window=128_000, max_output_tokens=8_192,
                                   json_schema=False),
    "deepseek/deepseek-reasoner": dict(context_window=128_000, max_output_tokens=65_536,
                                       reasoning=True, json_schema=False),
    "xai/grok-4": dict(context_window=256_000, max_output_tokens=32_768, reasoning=True,
                       vision=True),
    "alibaba/qwen3-max": dict(context_window=262_144, max_output_tokens=65_536),
    "@cf/moonshotai/kimi-k2.6": dict(
        _WAI_CHAT, context_window=262_144, max_output_tokens=32_768, vision=True, reasoning=True
    ),
    "@cf/moonshotai/kimi-k2.5": dict(
        _WAI_CHAT, context_window=262_144, max_output_tokens=32_768, vision=True, reasoning=True
    ),
    "@cf/zai-org/glm-4.7-flash": dict(_WAI_CHAT, context_window=131_072, reasoning=True),
    "@cf/nvidia/nemotron-3-120b-a12b": dict(_WAI_CHAT, context_window=131_072, reasoning=True),
    "@cf/google/gemma-4-26b-a4b-it": dict(
        _WAI_CHAT, context_window=131_072, vision=True, reasoning=True
    ),
    "@cf/openai/gpt-oss-120b": dict(_WAI_CHAT, context_window=131_072, reasoning=True),
    "@cf/openai/gpt-oss-20b": dict(_WAI_CHAT, context_window=131_072, reasoning=True),
    "@cf/qwen/qwen3-30b-a3b-fp8": dict(_WAI_CHAT, context_window=32_768, reasoning=True),
    "@cf/aisingapore/gemma-sea-lion-v4-27b-it": dict(_WAI_CHAT, context_window=128_000),
    "@cf/meta/llama-3.3-70b-instruct-fp8-fast": dict(_WAI_CLASSIC, context_window=24_000),
    "@cf/meta/llama-3.1-8b-instruct": dict(_WAI_CLASSIC, context_window=7_968),
    "@cf/meta/llama-3.1-8b-instruct-fp8": dict(_WAI_CLASSIC, context_window=32_000),
    "@cf/meta/llama-3.1-8b-instruct-awq": dict(_WAI_CLASSIC),
    "@cf/meta/llama-3.2-3b-instruct": dict(_WAI_CLASSIC, context_window=128_000),
    "@cf/meta/llama-3.2-1b-instruct": dict(_WAI_CLASSIC, context_window=60_000),
    "@cf/meta/llama-3.2-11b-vision-instruct": dict(
        _WAI_CLASSIC, context_window=128_000, vision=True, json_schema=False
    ),
    "@cf/meta/llama-4-scout-17b-16e-instruct": dict(
        _WAI_CLASSIC, context_window=131_000, vision=True
    ),
    "@hf/nousresearch/hermes-2-pro-mistral-7b": dict(_WAI_CLASSIC, context_window=24_000),
    "@cf/qwen/qwen2.5-coder-32b-instruct": dict(_WAI_CLASSIC, context_window=32_768),
    "@cf/qwen/qwq-32b": dict(
        _WAI_CLASSIC, context_window=24_000, reasoning=True, json_schema=False
    ),
    "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b": dict(
        _WAI_CLASSIC, context_window=80_000, reasoning=True
    ),
    "@cf/mistralai/mistral-small-3.1-24b-instruct": dict(
        _WAI_CLASSIC, context_window=128_000, vision=True, json_schema=False
    ),
    "@cf/google/gemma-3-12b-it": dict(
        _WAI_CLASSIC, context_window=80_000, vision=True, json_schema=False
    ),
}

_EMBEDDINGS: dict[str, int] = {
    "@cf/baai/bge-small-en-v1.5": 384,
    "@cf/baai/bge-base-en-v1.5": 768,
    "@cf/baai/bge-large-en-v1.5": 1024,
    "@cf/baai/bge-m3": 1024,
    "@cf/google/embeddinggemma-300m": 768,
    "@cf/qwen/qwen3-embedding-0.6b": 1024,
    "@cf/pfnet/plamo-embedding-1b": 2048,
    "openai/text-embedding-3-small": 1536,
    "openai/text-embedding-3-large": 3072,
}


FLEXIBLE_EMBEDDINGS: dict[str, tuple[int, int]] = {
    # OpenAI's text-embedding-3 models shorten vectors on request (``dimensions``).
    "openai/text-embedding-3-small": (1, 1536),
    "openai/text-embedding-3-large": (1, 3072),
}


ALIASES: dict[str, str] = {
    # Kimi K2.5 answers as K2.6 (Workers AI changelog 2026-05-08, reference §11.3).
    "@cf/moonshotai/kimi-k2.5": "@cf/moonshotai/kimi-k2.6",
}
"""Alias → the model it names; the alias's profile is the target's, with ``alias_of`` set."""

RETIRED: dict[str, tuple[str, str | None]] = {
    # 18 Workers AI models were retired on 2026-05-30 (reference §11.3); the changelog
    # names these two. The replacements are our suggestion (same family, still served).
    "@cf/meta/llama-3.1-8b-instruct": ("2026-05-30", "@cf/meta/llama-3.1-8b-instruct-fp8"),
    "@hf/nousresearch/hermes-2-pro-mistral-7b": (
        "2026-05-30", "@cf/meta/llama-3.3-70b-instruct-fp8-fast"),
}
"""Retired model → (retirement date, replacement)."""

WORKERS_PAID: frozenset[str] = frozenset({
    # Workers Paid only (changelog 2026-07-28, reference §11.3); free plans get 403/5035.
    "@cf/moonshotai/kimi-k2.6",
    "@cf/moonshotai/kimi-k2.7-code",
    "@cf/zai-org/glm-5.2",
})


def suggest_models(model: str, limit: int = 3) -> list[str]:
    """Known model ids a mistyped or unprefixed ``model`` probably meant (profiles table).

    A bare name gets its provider prefix; otherwise the closest spellings.

    >>> suggest_models("gpt-4o")
    ['openai/gpt-4o']
    >>> suggest_models("@cf/baai/bge-base-en-v15")[0]
    '@cf/baai/bge-base-en-v1.5'
    """
    import difflib

    known = sorted({*_TABLE, *_EMBEDDINGS, *ALIASES})
    bare = model.strip().lower()
    exact = [k for k in known if k.lower().rsplit("/", 1)[-1] == bare.rsplit("/", 1)[-1]]
    if exact:
        return exact[:limit]
    return difflib.get_close_matches(bare, known, n=limit, cutoff=0.75)


def check_lifecycle(model: str, *, allow_retired: bool = False) -> None:
    """Raise :class:`~cf_aig.errors.RetiredModelError` for a retired model, before sending.

    The table can be stale: ``allow_retired=True`` (a client and adapter setting) sends
    anyway.

    >>> check_lifecycle("@cf/meta/llama-3.1-8b-instruct")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cf_aig.errors.RetiredModelError: @cf/meta/llama-3.1-8b-instruct was retired on 2026-05-30;...
    """
    if allow_retired:
        return
    profile = get_profile(model)
    if profile.retired_on is None:
        return
    instead = f"use {profile.replacement} instead" if profile.replacement else "pick another"
    raise RetiredModelError(
        f"{model} was retired on {profile.retired_on}; {instead} "
        "(or pass allow_retired=True to send anyway)",
        model=model, retired_on=profile.retired_on, replacement=profile.replacement)


def get_profile(model: str) -> ModelProfile:
    """The profile of ``model``; never raises for unknown names.

    Facts come from the bundled table, refined by the refreshed catalogue when one is
    cached on disk (see :mod:`cf_aig.catalog`); aliases get their target's facts.

    >>> get_profile("@cf/moonshotai/kimi-k2.5").alias_of
    '@cf/moonshotai/kimi-k2.6'
    """
    return _lookup(model, _catalog_generation())


@lru_cache(maxsize=1024)
def _lookup(model: str, generation: int) -> ModelProfile:
    rest = rest_model(model)
    if rest != model:  # a /compat spelling: the same model's facts, under the caller's name
        return replace(_profile(rest, generation), model=model)
    return _profile(model, generation)


def _catalog_generation() -> int:
    return _catalog.generation()


@lru_cache(maxsize=1024)
def _profile(model: str, generation: int) -> ModelProfile:
    target = ALIASES.get(model)
    base = _bundled_profile(target or model)
    changes: dict[str, Any] = {}
    if target is not None:
        changes.update(model=model, alias_of=target)
    if model in RETIRED:
        changes["retired_on"], changes["replacement"] = RETIRED[model]
    if (target or model) in WORKERS_PAID:
        changes["workers_paid"] = True
    from . import catalog

    facts = catalog.cached_facts(target or model)
    if facts:
        changes.update(facts)
        changes.setdefault("known", True)
    return replace(base, **changes) if changes else base


def _bundled_profile(model: str) -> ModelProfile:
    provider = provider_of(model)
    if model in _EMBEDDINGS:
        return ModelProfile(
            model=model,
            provider=provider,
            tool_calling=False,
            tool_choice=False,
            json_schema=False,
            json_mode=False,
            embedding_dimensions=_EMBEDDINGS[model],
            embedding_sizes=FLEXIBLE_EMBEDDINGS.get(model),
            embedding_batch_size=100 if is_workers_ai(model) else 2048,
            context_window=512 if "bge" in model else 8_192,
        )
    facts = _TABLE.get(model)
    if facts is not None:
        return ModelProfile(model=model, provider=provider, **facts)
    if is_workers_ai(model):
        # Unknown Workers AI model: assume the classic family, without tool choice.
        base = ModelProfile(model=model, provider=provider, known=False, **_WAI_CLASSIC)
        return replace(base, tool_calling=False, json_schema=False)
    return ModelProfile(model=model, provider=provider, known=False)
