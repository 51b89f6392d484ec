"""Ray Data callable classes: embed a text column, or chat over a prompt column.

Use them with ``Dataset.map_batches`` and ``concurrency=N`` (N actors). Each actor builds
*one* :class:`~cf_aig.client.AsyncClient` from the plain keyword arguments it is given
(``fn_constructor_kwargs``) and keeps at most ``max_concurrency`` requests in flight;
an optional ``rate_limit`` (requests per second) is that actor's share of the account's
limit (see :mod:`cf_aig.ratelimit`).

Credentials: leave ``api_token`` out and set ``CLOUDFLARE_API_TOKEN`` (and
``CLOUDFLARE_ACCOUNT_ID``) in the workers' environment: the actor reads them when it
starts, so the token never enters Ray's object store, task specs or logs. On one machine
Ray's workers inherit the driver's environment; on a cluster set the variables on every
node or pass ``runtime_env={"env_vars": {...}}`` to ``ray.init``. If you do pass
``api_token=...``, Ray pickles ``fn_constructor_kwargs`` and stores them as part of
the actor's creation task, so the token is carried *in plain text inside that pickle*
(never in a repr or a log line of ours); nothing else we hand to Ray holds it.

Install with ``pip install 'cf-aig[ray]'``.

>>> import ray                                                         # doctest: +SKIP
>>> ds = ray.data.from_items([{"text": t} for t in texts])             # doctest: +SKIP
>>> ds = ds.map_batches(EmbedBatches, concurrency=2, batch_size=256,   # doctest: +SKIP
...                     fn_constructor_kwargs={"model": "@cf/baai/bge-base-en-v1.5"})
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any, cast

from .dialects import get_dialect
from .errors import CfAigError, ConfigurationError
from .types import Api, ChatRequest

_CLIENT_KEYS = frozenset({
    "account_id", "api_token", "base_url", "gateway_id", "timeout", "max_retries",
    "options", "default_headers", "allow_insecure_http", "retry_base_delay", "rate_limit",
})


def _column(batch: Any, name: str) -> list[Any]:
    """One column of a Ray batch (numpy dict, pandas DataFrame or dict of lists)."""
    try:
        values = batch[name]
    except (KeyError, IndexError, TypeError):
        columns = list(batch.keys()) if hasattr(batch, "keys") else []
        raise ConfigurationError(
            f"the batch has no column {name!r} (columns: {columns}); set the column "
            "argument to the one holding your text") from None
    return values.tolist() if hasattr(values, "tolist") else list(values)


def _with_column(batch: Any, name: str, values: Any) -> Any:
    if hasattr(batch, "assign"):  # pandas
        return batch.assign(**{name: list(values)})
    out = dict(batch)
    out[name] = values
    return out


class _Actor:
    """One AsyncClient and one event loop per actor, built from plain kwargs."""

    def __init__(self, max_concurrency: int, client_kwargs: Mapping[str, Any]) -> None:
        from .client import AsyncClient

        unknown = set(client_kwargs) - _CLIENT_KEYS
        if unknown:
            raise ConfigurationError(
                f"unknown argument(s) {sorted(unknown)}; client settings are "
                f"{sorted(_CLIENT_KEYS)}")
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or \
                max_concurrency < 1:
            raise ConfigurationError(
                f"max_concurrency must be an integer >= 1, got {max_concurrency!r}")
        self.max_concurrency = max_concurrency
        self._loop = asyncio.new_event_loop()
        self.client = AsyncClient(max_concurrency=max_concurrency, **client_kwargs)

    def _run(self, coro: Any) -> Any:
        return self._loop.run_until_complete(coro)

    def __del__(self) -> None:
        loop = getattr(self, "_loop", None)
        if loop is not None and not loop.is_closed() and not loop.is_running():
            with contextlib.suppress(Exception):  # at interpreter exit: nothing to close
                loop.run_until_complete(self.client.aclose())
            loop.close()


class EmbedBatches(_Actor):
    """Ray Data callable class: adds ``output_column`` with the vector of each text.

    >>> from cf_aig.emulator import Emulator
    >>> with Emulator() as emu:
    ...     embed = EmbedBatches("@cf/baai/bge-small-en-v1.5", account_id="a",
    ...                          api_token="t", base_url=emu.base_url)
    ...     out = embed({"text": ["hello", "world"], "id": [1, 2]})
    >>> len(out["embedding"]), len(out["embedding"][0]), out["id"]
    (2, 384, [1, 2])
    """

    def __init__(
        self,
        model: str = "@cf/baai/bge-base-en-v1.5",
        *,
        text_column: str = "text",
        output_column: str = "embedding",
        batch_size: int | None = None,
        max_concurrency: int = 4,
        **client_kwargs: Any,
    ) -> None:
        super().__init__(max_concurrency, client_kwargs)
        self.model = model
        self.text_column = text_column
        self.output_column = output_column
        self.batch_size = batch_size

    def __call__(self, batch: Any) -> Any:
        texts = _column(batch, self.text_column)
        if not all(isinstance(t, str) for t in texts):
            raise ConfigurationError(f"column {self.text_column!r} must hold strings")
        if not texts:
            return _with_column(batch, self.output_column, [])
        result = self._run(self.client.embed(self.model, texts, batch_size=self.batch_size))
        vectors = result.vectors
        try:
            import numpy as np
        except ImportError:  # plain dict batches outside Ray
            return _with_column(batch, self.output_column, vectors)
        if hasattr(batch, "assign"):
            return _with_column(batch, self.output_column, vectors)
        return _with_column(batch, self.output_column, np.asarray(vectors, dtype=np.float32))


class ChatBatches(_Actor):
    """Ray Data callable class: one chat completion per row of ``prompt_column``.

    ``on_error="record"`` keeps going and writes each failure's message to
    ``error_column`` (None on success); ``"raise"`` fails the batch.

    >>> from cf_aig.emulator import Emulator
    >>> with Emulator() as emu:
    ...     chat = ChatBatches("openai/gpt-5.5", system="Be brief.", account_id="a",
    ...                        api_token="t", base_url=emu.base_url)
    ...     out = chat({"prompt": ["Hello", "Hi there"]})
    >>> len(out["response"]), out["error"]
    (2, [None, None])
    """

    def __init__(
        self,
        model: str,
        *,
        prompt_column: str = "prompt",
        output_column: str = "response",
        error_column: str = "error",
        system: str | None = None,
        params: Mapping[str, Any] | None = None,
        api: str = "chat_completions",
        on_error: str = "record",
        max_concurrency: int = 8,
        **client_kwargs: Any,
    ) -> None:
        super().__init__(max_concurrency, client_kwargs)
        if on_error not in ("record", "raise"):
            raise ConfigurationError(f"on_error must be 'record' or 'raise', got {on_error!r}")
        self.model = model
        self.prompt_column = prompt_column
        self.output_column = output_column
        self.error_column = error_column
        self.system = system
        self.params = dict(params or {})
        get_dialect(api)  # a typed error now for an unknown api
        self.api = cast(Api, api)
        self.on_error = on_error

    def _request(self, prompt: str) -> ChatRequest:
        messages: list[dict[str, Any]] = []
        if self.system:
            messages.append({"role": "system", "content": self.system})
        messages.append({"role": "user", "content": prompt})
        return cast(ChatRequest, {**self.params, "model": self.model, "messages": messages})

    async def _all(self, prompts: Sequence[str]) -> tuple[list[str | None], list[str | None]]:
        gate = asyncio.Semaphore(self.max_concurrency)

        async def one(prompt: str) -> tuple[str | None, str | None]:
            async with gate:
                try:
                    result = await self.client.chat(self._request(prompt), api=self.api)
                except CfAigError as exc:
                    if self.on_error == "raise":
                        raise
                    return None, f"{type(exc).__name__}: {exc}"
                return result.text, None

        pairs = await asyncio.gather(*(one(p) for p in prompts))
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def __call__(self, batch: Any) -> Any:
        prompts = _column(batch, self.prompt_column)
        if not all(isinstance(p, str) for p in prompts):
            raise ConfigurationError(f"column {self.prompt_column!r} must hold strings")
        texts, errors = self._run(self._all(prompts))
        return _with_column(_with_column(batch, self.output_column, texts),
                            self.error_column, errors)


__all__ = ["ChatBatches", "EmbedBatches"]
