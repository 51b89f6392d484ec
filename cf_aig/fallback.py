"""An ordered list of fallback models: the next model answers when one cannot.

:func:`call_with_fallbacks` (and its async and streaming forms) calls ``primary``, then
each fallback in order, moving on only for errors another model can cure
(:func:`should_fall_back`): retryable failures left after the client's own retries
(capacity, rate limits, timeouts, 5xx), a model that is unknown, retired, needs another
plan or has no credit or quota left, and a prompt over the model's context window. Bad
input and authentication errors are raised at once (another model would fail the same
way). A stream falls back only before its first chunk: an answer that began is never
restarted on another model. Each switch is logged at WARNING on ``cf_aig.fallback``.

LlamaIndex's :class:`~llama_index_cf_aig.CloudflareAIGateway` takes ``fallback_models``;
LangChain users compose ``model.with_fallbacks([...])``.

>>> from cf_aig.errors import NotFoundError
>>> def answer(model: str) -> str:
...     if model == "acme/gone":
...         raise NotFoundError("Model not found", status=404)
...     return f"answered by {model}"
>>> call_with_fallbacks(["acme/gone", "openai/gpt-5.5"], answer)
'answered by openai/gpt-5.5'
"""

from __future__ import annotations

import logging
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Sequence,
)
from typing import TypeVar

from .errors import (
    CfAigError,
    ConfigurationError,
    ContextWindowExceededError,
    InsufficientCreditsError,
    NotFoundError,
    PlanRequiredError,
    QuotaExceededError,
    RetiredModelError,
)

T = TypeVar("T")
logger = logging.getLogger(__name__)

_CURABLE = (NotFoundError, ContextWindowExceededError, QuotaExceededError,
            InsufficientCreditsError, PlanRequiredError, RetiredModelError)


def should_fall_back(exc: BaseException) -> bool:
    """Whether another model could answer where this error stopped one."""
    return isinstance(exc, _CURABLE) or (isinstance(exc, CfAigError) and exc.retryable)


def model_chain(primary: str, fallbacks: Sequence[str] | None) -> list[str]:
    """``primary`` then each fallback, in order, without repeats (checked: strings)."""
    chain = [primary]
    for model in fallbacks or ():
        if not isinstance(model, str) or not model.strip():
            raise ConfigurationError(f"fallback_models must be model id strings, got {model!r}")
        if model not in chain:
            chain.append(model)
    return chain


def _fall_back(models: Sequence[str], i: int, exc: Exception) -> None:
    """After ``models[i]`` failed with ``exc``: re-raise it when it is the last model or
    another cannot cure the error, else log the switch to the next one."""
    if i + 1 == len(models) or not should_fall_back(exc):
        raise exc
    logger.warning("%s failed (%s: %s); falling back to %s", models[i], type(exc).__name__,
                   str(exc)[:200], models[i + 1])


def call_with_fallbacks(models: Sequence[str], call: Callable[[str], T]) -> T:
    """``call(model)`` for each model in turn until one answers (module docstring)."""
    for i, model in enumerate(models):
        try:
            return call(model)
        except Exception as exc:
            _fall_back(models, i, exc)
    raise ConfigurationError("call_with_fallbacks needs at least one model")


async def acall_with_fallbacks(models: Sequence[str],
                               call: Callable[[str], Awaitable[T]]) -> T:
    """Async :func:`call_with_fallbacks`."""
    for i, model in enumerate(models):
        try:
            return await call(model)
        except Exception as exc:
            _fall_back(models, i, exc)
    raise ConfigurationError("acall_with_fallbacks needs at least one model")


def stream_with_fallbacks(models: Sequence[str],
                          open_stream: Callable[[str], Iterator[T]]
                          ) -> Generator[T, None, None]:
    """Items of the first model's stream that yields one; a model that fails before its
    first item is replaced by the next, one that fails later raises."""
    for i, model in enumerate(models):
        stream = open_stream(model)
        try:
            first = next(stream)
        except StopIteration:
            return
        except Exception as exc:
            _fall_back(models, i, exc)
            continue
        yield first
        yield from stream
        return


async def astream_with_fallbacks(models: Sequence[str],
                                 open_stream: Callable[[str], AsyncIterator[T]]
                                 ) -> AsyncGenerator[T, None]:
    """Async :func:`stream_with_fallbacks`."""
    for i, model in enumerate(models):
        stream = open_stream(model)
        try:
            first = await stream.__anext__()
        except StopAsyncIteration:
            return
        except Exception as exc:
            _fall_back(models, i, exc)
            continue
        yield first
        async for item in stream:
            yield item
        return
