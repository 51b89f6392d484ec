"""A bounded httpx transport with an O(1) connection pool (proof of concept for the core).

httpcore 1.0.9's ``AsyncConnectionPool`` re-plans the whole pool on every request start
and finish: for each queued request it scans every connection, and for each idle
connection it counts all connections. Under a 1,000-request burst on 100 keep-alive
connections that is quadratic work per event (see bench/pool.py for the numbers).

``LeanAsyncTransport`` keeps httpx's API, httpcore's HTTP/1.1 connections and httpx's
exception mapping, and replaces only the pool policy:

- a FIFO gate of ``max_connections`` permits (:class:`_Gate`) bounds requests in flight (= connections in
  use); waiting requests queue on it (FIFO, O(1) hand-off);
- idle connections sit on a per-origin LIFO stack (most recently used first); a popped
  connection that expired or closed is dropped; at most ``max_keepalive_connections``
  are kept;
- the response stream returns its connection to the stack when closed, then releases
  its permit.

Only httpx + httpcore (already an httpx dependency) are used. Usage::

    client = httpx.AsyncClient(transport=LeanAsyncTransport(limits=limits), timeout=...)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import httpcore
import httpx

_DEFAULT_LIMITS = httpx.Limits()


class _Release:
    """Response body stream that hands its connection back to the pool on close."""

    __slots__ = ("_closed", "_conn", "_origin", "_pool", "_stream")

    def __init__(self, stream: Any, pool: _LeanPool, conn: Any, origin: Any) -> None:
        self._stream = stream
        self._pool = pool
        self._conn = conn
        self._origin = origin
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._stream.aclose()
        finally:
            self._pool._checkin(self._origin, self._conn)


class _Gate:
    """FIFO counting gate with direct hand-off. ``asyncio.Semaphore.acquire`` on Python
    3.11 calls ``locked()``, which scans all waiters: O(waiters) per acquire."""

    __slots__ = ("_free", "_waiters")

    def __init__(self, n: int) -> None:
        self._free = n
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the permit was handed to us as we were cancelled
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(fut)
            raise

    def release(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self._free += 1


class _LeanPool:
    def __init__(self, stock: httpcore.AsyncConnectionPool, max_keepalive: int) -> None:
        self._stock = stock  # only for its settings (ssl context, backend, options)
        self._max = stock._max_connections or 1 << 30
        self._max_keepalive = max_keepalive
        self._idle: dict[Any, list[Any]] = {}
        self._sem: _Gate | None = None
        self._count_idle = 0

    def _connect(self, origin: Any) -> Any:
        s = self._stock
        return httpcore.AsyncHTTPConnection(
            origin=origin,
            ssl_context=s._ssl_context,
            keepalive_expiry=s._keepalive_expiry,
            http1=s._http1,
            http2=s._http2,
            retries=s._retries,
            local_address=s._local_address,
            uds=s._uds,
            network_backend=s._network_backend,
            socket_options=s._socket_options,
        )

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        sem = self._sem
        if sem is None:
            sem = self._sem = _Gate(self._max)
        await sem.acquire()
        url = request.url
        origin = (url.scheme, url.host, url.port)  # httpcore.Origin is not hashable
        conn = None
        try:
            stack = self._idle.get(origin)
            while stack:
                c = stack.pop()
                self._count_idle -= 1
                if c.is_idle() and not c.has_expired():
                    conn = c
                    break
                await c.aclose()
            if conn is None:
                conn = self._connect(url.origin)
            response = await conn.handle_async_request(request)
        except BaseException:
            if conn is not None and not conn.is_closed():
                await conn.aclose()
            sem.release()
            raise
        response.stream = _Release(response.stream, self, conn, origin)
        return response

    def _checkin(self, origin: Any, conn: Any) -> None:
        if conn.is_idle() and self._count_idle < self._max_keepalive:
            self._idle.setdefault(origin, []).append(conn)
            self._count_idle += 1
        elif not conn.is_closed():
            # over the keep-alive budget: close it in the background
            asyncio.get_running_loop().create_task(conn.aclose())
        assert self._sem is not None
        self._sem.release()

    async def aclose(self) -> None:
        for stack in self._idle.values():
            for c in stack:
                await c.aclose()
        self._idle.clear()
        self._count_idle = 0

    async def __aenter__(self) -> _LeanPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class LeanAsyncTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` with :class:`_LeanPool` instead of httpcore's pool."""

    def __init__(self, *, limits: httpx.Limits = _DEFAULT_LIMITS, **kwargs: Any) -> None:
        super().__init__(limits=limits, **kwargs)
        keep = limits.max_keepalive_connections
        self._pool = _LeanPool(self._pool, keep if keep is not None else 1 << 30)  # type: ignore[assignment]


def lean_client(**kwargs: Any) -> httpx.AsyncClient:
    limits = kwargs.pop(
        "limits", httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=30)
    )
    return httpx.AsyncClient(transport=LeanAsyncTransport(limits=limits), **kwargs)
