"""``Client`` and ``AsyncClient``: the gateway's chat, run, embeddings and logs APIs.

Both are thin: the plans (:mod:`cf_aig._endpoints`, :mod:`cf_aig._protocol`) hold every
piece of logic; a client owns its connection pool and a ten-line driver that performs
the plan's I/O. Every method takes the same per-call keywords,
:class:`~cf_aig._protocol.CallOptions` (``options``, ``headers``, ``timeout``,
``total_timeout``, ``stream_idle_timeout``, ``max_retries``, ``retry_ambiguous``,
``max_response_bytes``).

>>> from cf_aig.emulator import Emulator                              # doctest: +SKIP
>>> with Emulator() as emu, Client(account_id="acc", api_token="t",   # doctest: +SKIP
...                                base_url=emu.base_url) as client:
...     result = client.chat({"model": "openai/gpt-5.5",
...                           "messages": [{"role": "user", "content": "Hi"}]})
...     print(result.text, result.info.log_id)
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal, TypeVar, overload

import httpx
from typing_extensions import Unpack

from ._endpoints import EmbedPart, Endpoints
from ._pool import async_http, sync_http
from ._protocol import Action, Call, CallOptions, Read, Send
from .background import background_options, background_plan
from .batch import (
    DEFAULT_PAYLOAD_BYTES,
    AsyncBatchJob,
    BatchJob,
    resume_parts,
    submit_plan,
)
from .dialects import StreamState
from .results import ChatResult, EmbeddingResult, RunResult
from .streams import AsyncStream, Stream
from .types import Api, ChatCompletionChunk, ChatRequest

T = TypeVar("T")
DEFAULT_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=100, keepalive_expiry=30.0
)
_POOL_LOCK = threading.Lock()  # module-level: a client holds nothing unpicklable


def _new_pool_lock() -> None:
    global _POOL_LOCK
    _POOL_LOCK = threading.Lock()  # a forked child must not inherit a held lock


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_pool_lock)


class _PerProcess:
    """Pickling and fork rules shared by both clients.

    A pickled client carries its settings (the API token included: the copy must be
    able to call) and no pool, lock or event loop; the copy makes its own pool on first
    use. After ``fork`` the child sees a different pid and makes its own pool too; the
    parent's pool is left alone (never closed from the child). A client built with
    ``http_client=`` does not pickle: that pool belongs to the process that made it.
    """

    _own_http: bool
    _pid: int
    _POOL_FIELDS: tuple[str, ...] = ()

    def __getstate__(self) -> dict[str, Any]:
        if not self._own_http:
            raise TypeError(
                f"a {type(self).__name__} built with http_client= cannot be pickled: that "
                "connection pool belongs to this process; pickle a client without "
                "http_client (each process then makes its own pool)")
        state = self.__dict__.copy()
        for name in self._POOL_FIELDS:
            state[name] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._pid = os.getpid()

    def _forked(self) -> bool:
        return self._own_http and self._pid != os.getpid()


class Client(_PerProcess, Endpoints):
    """Synchronous client for the unified API. One connection pool, made on first use.

    >>> client = Client(account_id="acc", api_token="tok",
    ...                 base_url="http://127.0.0.1:8787/client/v4")
    >>> client
    Client(account_id='acc', base_url='http://127.0.0.1:8787/client/v4', gateway_id=None)
    >>> client.close()
    """

    def __init__(self, *, http_client: httpx.Client | None = None, **settings: Any) -> None:
        super().__init__(**settings)
        self._own_http = http_client is None
        self._http = http_client
        self._pid = os.getpid()

    _POOL_FIELDS = ("_http",)

    def _pool(self) -> httpx.Client:
        """The HTTP client: made here, on first use, and nowhere else."""
        http = self._http
        if http is None or self._forked():
            with _POOL_LOCK:
                http = self._http
                if http is None or self._forked():
                    http = self._http = sync_http(self.account_url, self.timeout,
                                                  DEFAULT_LIMITS)
                    self._pid = os.getpid()
        return http

    def _do(self, action: Action) -> Any:
        if isinstance(action, Send):
            return self._pool().send(action.request, stream=True, follow_redirects=False)
        if isinstance(action, Read):
            try:
                for raw in action.response.iter_raw():
                    action.reader.feed(raw)
                return action.reader.finish()
            finally:
                action.response.close()
        time.sleep(action.seconds)
        return None

    def _drive(self, call: Call[T]) -> T:
        try:
            action = next(call)
            while True:
                try:
                    value = self._do(action)
                except Exception as exc:
                    action = call.throw(exc)
                    continue
                action = call.send(value)
        except StopIteration as stop:
            result: T = stop.value
            return result

    def chat(self, request: ChatRequest, *, api: Api = "chat_completions",
             **call: Unpack[CallOptions]) -> ChatResult:
        """One canonical chat completion through ``api``."""
        return self._drive(self.chat_plan(request, api, call))

    def chat_stream(self, request: ChatRequest, *, api: Api = "chat_completions",
                    **call: Unpack[CallOptions]) -> Stream[ChatCompletionChunk]:
        """Open a stream of canonical chunks (retries happen before the first byte)."""
        return Stream(self._drive(self.chat_stream_plan(request, api, call)))

    @overload
    def chat_completions(self, request: ChatRequest, *, stream: Literal[False] = False,
                         **call: Unpack[CallOptions]) -> ChatResult: ...
    @overload
    def chat_completions(self, request: ChatRequest, *, stream: Literal[True],
                         **call: Unpack[CallOptions]) -> Stream[ChatCompletionChunk]: ...

    def chat_completions(self, request: ChatRequest, *, stream: bool = False,
                         **call: Unpack[CallOptions]
                         ) -> ChatResult | Stream[ChatCompletionChunk]:
        """``POST /ai/v1/chat/completions``."""
        if stream:
            return self.chat_stream(request, **call)
        return self.chat(request, **call)

    @overload
    def run(self, model: str, input: Mapping[str, Any], *, stream: Literal[False] = False,
            unified: bool | None = None, background: bool = False,
            webhook_url: str | None = None, webhook_format: str | None = None,
            **call: Unpack[CallOptions]) -> RunResult: ...
    @overload
    def run(self, model: str, input: Mapping[str, Any], *, stream: Literal[True],
            unified: bool | None = None,
            **call: Unpack[CallOptions]) -> Stream[dict[str, Any]]: ...

    def run(self, model: str, input: Mapping[str, Any], *, stream: bool = False,
            unified: bool | None = None, background: bool = False,
            webhook_url: str | None = None, webhook_format: str | None = None,
            **call: Unpack[CallOptions]) -> RunResult | Stream[dict[str, Any]]:
        """``POST /ai/run/{model}`` (``@cf`` models) or unified ``/ai/run`` (others, or
        ``unified=True``) with the model's own input; streams yield raw JSON events.
        ``background=True`` (optionally ``webhook_url``, ``webhook_format``) returns at
        once with the reply as it came (:mod:`cf_aig.background`)."""
        bg = background_options(background, webhook_url, webhook_format)
        if bg is not None:
            return self._drive(background_plan(self, model, input, stream, unified, bg, call))
        if stream:
            return Stream(self._drive(self.run_stream_plan(model, input, unified, call)))
        return self._drive(self.run_plan(model, input, unified, call))

    def embed(self, model: str, texts: Sequence[str], *, api: str | None = None,
              batch_size: int | None = None, dimensions: int | None = None,
              encoding_format: str | None = None,
              **call: Unpack[CallOptions]) -> EmbeddingResult:
        """Embed ``texts`` in batches (``api='run'`` for ``@cf`` models, else ``'openai'``);
        ``dimensions``/``encoding_format`` follow :mod:`cf_aig.embeddings`."""
        plans = self.embed_plans(model, texts, api, batch_size, dimensions, encoding_format,
                                 call)
        parts = [self._drive(plan) for plan in plans]
        return self.merge_embeddings(model, parts, len(texts), dimensions)

    def submit_batch(self, model: str, inputs: Sequence[Mapping[str, Any]],
                     external_references: Sequence[str] | None = None, *,
                     max_payload_bytes: int = DEFAULT_PAYLOAD_BYTES,
                     **call: Unpack[CallOptions]) -> BatchJob:
        """Workers AI async Batch API: submit ``inputs`` (split under the 10 MB limit);
        ``job.wait()`` returns one :class:`~cf_aig.batch.BatchItem` per input, in order."""
        parts, refs, headers, policy = self._drive(
            submit_plan(self, model, inputs, external_references, max_payload_bytes, call))
        return BatchJob(self, model, parts, refs, headers, policy)

    def batch_job(self, model: str, job_id: str, counts: Sequence[int],
                  **call: Unpack[CallOptions]) -> BatchJob:
        """A job submitted earlier (here or elsewhere), from its ``id`` and ``counts``."""
        headers, policy = self.resolve(call)
        return BatchJob(self, model, resume_parts(model, job_id, counts),
                        [None] * sum(counts), headers, policy)

    def get_log(self, log_id: str, *, gateway_id: str | None = None,
                **call: Unpack[CallOptions]) -> dict[str, Any]:
        """``GET .../ai-gateway/gateways/{gw}/logs/{log_id}``."""
        return self._drive(self.get_log_plan(log_id, gateway_id, call))

    def list_logs(self, *, gateway_id: str | None = None,
                  params: Mapping[str, Any] | None = None,
                  **call: Unpack[CallOptions]) -> list[dict[str, Any]]:
        """``GET .../logs`` with the reference §8.1 query ``params`` (e.g. ``per_page``)."""
        return self._drive(self.list_logs_plan(gateway_id, params, call))

    def patch_log(self, log_id: str, *, feedback: int | None = None,
                  score: float | None = None, metadata: Mapping[str, Any] | None = None,
                  gateway_id: str | None = None, **call: Unpack[CallOptions]) -> Any:
        """Send feedback (1 / -1), a score, and/or metadata for a log entry."""
        return self._drive(
            self.patch_log_plan(log_id, feedback, score, metadata, gateway_id, call))

    feedback = patch_log

    def close(self) -> None:
        """Close the connection pool (if this client made it)."""
        http, self._http = self._http, None
        if self._own_http and http is not None:
            http.close()
        elif not self._own_http:
            self._http = http

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _close_with_loop(client: httpx.AsyncClient) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await client.aclose()


class AsyncClient(_PerProcess, Endpoints):
    """Asynchronous twin of :class:`Client` (same methods, awaited).

    Safe across event loops: a pool made on one loop is replaced when the client is
    used from another (notebook re-runs, ``asyncio.run`` twice).

    >>> client = AsyncClient(account_id="acc", api_token="tok")
    >>> client.settings.base_url
    'https://api.cloudflare.com/client/v4'
    """

    def __init__(
        self,
        *,
        http_client: httpx.AsyncClient | None = None,
        max_concurrency: int = 8,
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        self._own_http = http_client is None
        self._http_client = http_client
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closer: AsyncIterator[None] | None = None
        self.max_concurrency = max_concurrency
        self._pid = os.getpid()

    _POOL_FIELDS = ("_http_client", "_loop", "_closer")

    async def _pool(self) -> httpx.AsyncClient:
        """The HTTP client of the running event loop: made here, and nowhere else.

        Our own pool is :class:`~cf_aig._pool.LeanAsyncTransport` (O(1) per request;
        httpcore's pool is quadratic under bursts, see ``bench/pool.py``).

        A pool belongs to one loop. On a new loop (``asyncio.run`` again, a notebook
        re-run) we open a fresh pool, and register an async generator whose ``finally``
        closes it: ``asyncio.run`` finalises every async generator before closing its
        loop (PEP 525 hooks), so the old pool's sockets are closed on their own loop.
        """
        loop = asyncio.get_running_loop()
        http = self._http_client
        if http is None or (self._own_http and self._loop is not loop) or self._forked():
            self._loop = loop
            self._pid = os.getpid()
            self._own_http = True
            http = self._http_client = async_http(self.account_url, self.timeout,
                                                  DEFAULT_LIMITS)
            self._closer = _close_with_loop(http)
            await self._closer.__anext__()
        return http

    async def _do(self, action: Action) -> Any:
        if isinstance(action, Send):
            http = await self._pool()
            return await http.send(action.request, stream=True, follow_redirects=False)
        if isinstance(action, Read):
            try:
                async for raw in action.response.aiter_raw():
                    action.reader.feed(raw)
                return action.reader.finish()
            finally:
                await action.response.aclose()
        await asyncio.sleep(action.seconds)
        return None

    async def _drive(self, call: Call[T]) -> T:
        try:
            action = next(call)
            while True:
                try:
                    value = await self._do(action)
                except Exception as exc:
                    action = call.throw(exc)
                    continue
                action = call.send(value)
        except StopIteration as stop:
            result: T = stop.value
            return result

    async def chat(self, request: ChatRequest, *, api: Api = "chat_completions",
                   **call: Unpack[CallOptions]) -> ChatResult:
        """One canonical chat completion through ``api``."""
        return await self._drive(self.chat_plan(request, api, call))

    async def chat_stream(self, request: ChatRequest, *, api: Api = "chat_completions",
                          **call: Unpack[CallOptions]) -> AsyncStream[ChatCompletionChunk]:
        """Open a stream of canonical chunks (retries happen before the first byte)."""
        return AsyncStream(await self._drive(self.chat_stream_plan(request, api, call)))

    @overload
    async def chat_completions(self, request: ChatRequest, *, stream: Literal[False] = False,
                               **call: Unpack[CallOptions]) -> ChatResult: ...
    @overload
    async def chat_completions(self, request: ChatRequest, *, stream: Literal[True],
                               **call: Unpack[CallOptions]
                               ) -> AsyncStream[ChatCompletionChunk]: ...

    async def chat_completions(self, request: ChatRequest, *, stream: bool = False,
                               **call: Unpack[CallOptions]
                               ) -> ChatResult | AsyncStream[ChatCompletionChunk]:
        """``POST /ai/v1/chat/completions``."""
        if stream:
            return await self.chat_stream(request, **call)
        return await self.chat(request, **call)

    @overload
    async def run(self, model: str, input: Mapping[str, Any], *,
                  stream: Literal[False] = False, unified: bool | None = None,
                  background: bool = False, webhook_url: str | None = None,
                  webhook_format: str | None = None,
                  **call: Unpack[CallOptions]) -> RunResult: ...
    @overload
    async def run(self, model: str, input: Mapping[str, Any], *, stream: Literal[True],
                  unified: bool | None = None,
                  **call: Unpack[CallOptions]) -> AsyncStream[dict[str, Any]]: ...

    async def run(self, model: str, input: Mapping[str, Any], *, stream: bool = False,
                  unified: bool | None = None, background: bool = False,
                  webhook_url: str | None = None, webhook_format: str | None = None,
                  **call: Unpack[CallOptions]) -> RunResult | AsyncStream[dict[str, Any]]:
        """``POST /ai/run/{model}`` (``@cf`` models) or unified ``/ai/run`` (others, or
        ``unified=True``) with the model's own input; streams yield raw JSON events.
        ``background=True`` (optionally ``webhook_url``, ``webhook_format``) returns at
        once with the reply as it came (:mod:`cf_aig.background`)."""
        bg = background_options(background, webhook_url, webhook_format)
        if bg is not None:
            return await self._drive(
                background_plan(self, model, input, stream, unified, bg, call))
        if stream:
            return AsyncStream(
                await self._drive(self.run_stream_plan(model, input, unified, call)))
        return await self._drive(self.run_plan(model, input, unified, call))

    async def embed(self, model: str, texts: Sequence[str], *, api: str | None = None,
                    batch_size: int | None = None, dimensions: int | None = None,
                    encoding_format: str | None = None,
                    **call: Unpack[CallOptions]) -> EmbeddingResult:
        """Embed ``texts`` in batches (``api='run'`` for ``@cf`` models, else ``'openai'``);
        ``dimensions``/``encoding_format`` follow :mod:`cf_aig.embeddings`. At most
        ``max_concurrency`` batches are in flight."""
        plans = self.embed_plans(model, texts, api, batch_size, dimensions, encoding_format,
                                 call)
        gate = asyncio.Semaphore(self.max_concurrency)

        async def one(plan: Call[EmbedPart]) -> EmbedPart:
            async with gate:
                return await self._drive(plan)

        parts = await asyncio.gather(*(one(plan) for plan in plans))
        return self.merge_embeddings(model, parts, len(texts), dimensions)

    async def submit_batch(self, model: str, inputs: Sequence[Mapping[str, Any]],
                           external_references: Sequence[str] | None = None, *,
                           max_payload_bytes: int = DEFAULT_PAYLOAD_BYTES,
                           **call: Unpack[CallOptions]) -> AsyncBatchJob:
        """Workers AI async Batch API: submit ``inputs`` (split under the 10 MB limit);
        ``job.wait()`` returns one :class:`~cf_aig.batch.BatchItem` per input, in order."""
        parts, refs, headers, policy = await self._drive(
            submit_plan(self, model, inputs, external_references, max_payload_bytes, call))
        return AsyncBatchJob(self, model, parts, refs, headers, policy)

    def batch_job(self, model: str, job_id: str, counts: Sequence[int],
                  **call: Unpack[CallOptions]) -> AsyncBatchJob:
        """A job submitted earlier (here or elsewhere), from its ``id`` and ``counts``."""
        headers, policy = self.resolve(call)
        return AsyncBatchJob(self, model, resume_parts(model, job_id, counts),
                             [None] * sum(counts), headers, policy)

    async def get_log(self, log_id: str, *, gateway_id: str | None = None,
                      **call: Unpack[CallOptions]) -> dict[str, Any]:
        """``GET .../ai-gateway/gateways/{gw}/logs/{log_id}``."""
        return await self._drive(self.get_log_plan(log_id, gateway_id, call))

    async def list_logs(self, *, gateway_id: str | None = None,
                        params: Mapping[str, Any] | None = None,
                        **call: Unpack[CallOptions]) -> list[dict[str, Any]]:
        """``GET .../logs`` with the reference §8.1 query ``params`` (e.g. ``per_page``)."""
        return await self._drive(self.list_logs_plan(gateway_id, params, call))

    async def patch_log(self, log_id: str, *, feedback: int | None = None,
                        score: float | None = None,
                        metadata: Mapping[str, Any] | None = None,
                        gateway_id: str | None = None, **call: Unpack[CallOptions]) -> Any:
        """Send feedback (1 / -1), a score, and/or metadata for a log entry."""
        return await self._drive(
            self.patch_log_plan(log_id, feedback, score, metadata, gateway_id, call))

    feedback = patch_log

    async def aclose(self) -> None:
        """Close the connection pool (if this client made it)."""
        if self._own_http and self._http_client is not None:
            await self._http_client.aclose()
            self._http_client = None
            self._loop = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = [
    "AsyncClient",
    "AsyncStream",
    "ChatResult",
    "Client",
    "EmbeddingResult",
    "RunResult",
    "Stream",
    "StreamState",
]
