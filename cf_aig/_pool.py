"""An async httpx transport whose connection pool does O(1) work per request.

httpcore 1.0's ``AsyncConnectionPool`` re-plans the whole pool on every request start
and finish (each queued request times each connection). Under a burst of 1,000 calls on
100 keep-alive connections that quadratic work dominates: about 9 s instead of 0.5 s
on loopback (``bench/pool.py``). This transport keeps httpx's API, request conversion
and error mapping, and httpcore's HTTP/1.1 connections; it replaces only the policy:

- a FIFO gate of ``max_connections`` permits bounds requests in flight; waiters get the
  next free permit in order, in O(1);
- idle connections wait on a per-origin stack (most recently used first); one that has
  expired or that the server closed is dropped when popped; at most
  ``max_keepalive_connections`` are kept;
- a response's body returns its connection and permit when it is closed.

>>> transport = LeanAsyncTransport(limits=httpx.Limits(max_connections=10))
>>> client = httpx.AsyncClient(transport=transport)
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import httpcore
import httpx


class _Gate:
    """FIFO counting gate with direct hand-off (``asyncio.Semaphore.acquire`` on 3.11
    scans every waiter, O(waiters) per call)."""

    __slots__ = ("_free", "_waiters")

    def __init__(self, permits: int) -> None:
        self._free = permits
        self._waiters: deque[asyncio.Future[None]] = deque()

    def try_acquire(self) -> bool:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    async def acquire(self) -> None:
        if self.try_acquire():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the permit reached us as we were cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1


class _Checkin:
    """Response body that returns its connection and permit to the pool when closed."""

    __slots__ = ("__weakref__", "_closed", "_conn", "_key", "_pool", "_stream", "finalizer")

    def __init__(self, stream: Any, pool: _LeanPool, conn: httpcore.AsyncHTTPConnection,
                 key: tuple[bytes, bytes, int | None]) -> None:
        self._stream = stream
        self._pool = pool
        self._conn = conn
        self._key = key
        self._closed = False
        self.finalizer: weakref.finalize[Any, Any] | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.finalizer is not None:
            self.finalizer.detach()
        try:
            await self._stream.aclose()
        finally:
            self._pool.checkin(self._key, self._conn)


def _release_quietly(gate: _Gate) -> None:
    with contextlib.suppress(RuntimeError):  # the loop may be closed by then
        gate.release()


class _LeanPool:
    """The pool policy described in the module docstring (httpcore pool interface)."""

    def __init__(self, limits: httpx.Limits, ssl_context: Any) -> None:
        self._max = limits.max_connections or 1 << 30
        keep = limits.max_keepalive_connections
        self._max_idle = self._max if keep is None else keep
        self._expiry = limits.keepalive_expiry
        self._ssl_context = ssl_context
        self._idle: dict[tuple[bytes, bytes, int | None], list[httpcore.AsyncHTTPConnection]] = {}
        self._idle_count = 0
        self._gate: _Gate | None = None

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        gate = self._gate
        if gate is None:
            gate = self._gate = _Gate(self._max)
        if not gate.try_acquire():
            # wait for a permit no longer than the pool timeout, as httpcore's pool would
            wait = (request.extensions.get("timeout") or {}).get("pool")
            try:
                await asyncio.wait_for(gate.acquire(), wait)
            except asyncio.TimeoutError:
                raise httpcore.PoolTimeout(
                    f"no connection free within {wait}s: {self._max} responses in use "
                    "(close or exhaust streams you stop reading)") from None
        url = request.url
        key = (url.scheme, url.host, url.port)  # httpcore.Origin is not hashable
        conn: httpcore.AsyncHTTPConnection | None = None
        try:
            stack = self._idle.get(key)
            while stack:
                candidate = stack.pop()
                self._idle_count -= 1
                if candidate.is_idle() and not candidate.has_expired():
                    conn = candidate
                    break
                await candidate.aclose()
            if conn is None:
                conn = httpcore.AsyncHTTPConnection(
                    origin=url.origin, ssl_context=self._ssl_context,
                    keepalive_expiry=self._expiry)
            response = await conn.handle_async_request(request)
        except BaseException:
            if conn is not None:
                await conn.aclose()
            gate.release()
            raise
        checkin = _Checkin(response.stream, self, conn, key)
        # a response dropped without being closed still gives its permit back
        checkin.finalizer = weakref.finalize(checkin, _release_quietly, gate)
        response.stream = checkin
        return response

    def checkin(self, key: tuple[bytes, bytes, int | None],
                conn: httpcore.AsyncHTTPConnection) -> None:
        if conn.is_idle() and self._idle_count < self._max_idle:
            self._idle.setdefault(key, []).append(conn)
            self._idle_count += 1
        elif not conn.is_closed():
            asyncio.get_running_loop().create_task(conn.aclose())
        assert self._gate is not None
        self._gate.release()

    async def aclose(self) -> None:
        idle, self._idle, self._idle_count = self._idle, {}, 0
        for stack in idle.values():
            for conn in stack:
                await conn.aclose()

    async def __aenter__(self) -> _LeanPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class LeanAsyncTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` with the O(1) pool above instead of httpcore's.

    Request conversion and the mapping of httpcore errors to httpx errors are
    httpx's own; only the pool object differs.
    """

    def __init__(self, *, limits: httpx.Limits | None = None, verify: Any = True) -> None:
        limits = limits or httpx.Limits()
        super().__init__(limits=limits, verify=verify)
        ssl_context = httpx.create_ssl_context(verify=verify)
        self._pool = _LeanPool(limits, ssl_context)  # type: ignore[assignment]
