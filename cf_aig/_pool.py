"""httpx transports (sync and async) with an O(1) connection pool and hardened edges.

They plug in behind httpx's public transport interface (:class:`httpx.BaseTransport`,
:class:`httpx.AsyncBaseTransport`) and use httpcore's public HTTP/1.1 connections and
network backends. What they add over httpx's default transport:

- **O(1) work per request.** httpcore 1.0's pool re-plans the whole pool on every
  request start and finish; under a burst of 1,000 calls on 100 keep-alive connections
  that quadratic work costs ~9 s instead of 0.5 s on loopback (``bench/pool.py``). Here
  a FIFO gate of ``max_connections`` permits bounds requests in flight, idle connections
  wait on a per-origin stack (most recently used first), and a response's body returns
  its connection and permit when closed.
- **A connection is reused only when clean.** A connection whose parser still holds
  bytes after an answer ended (the server sent more than its ``Content-Length``), or
  whose socket is readable while idle, is closed, never handed to the next request: a
  "smuggled" answer cannot reach another call.
- **A real deadline.** A request may carry a ``time.monotonic()`` deadline in its
  ``cf_aig.deadline`` extension; every socket read and write is clamped to it, and a
  read after it fails with ``httpx.ReadTimeout`` even if the server trickles a byte a
  second.

>>> transport = LeanAsyncTransport(limits=httpx.Limits(max_connections=10))
>>> client = httpx.AsyncClient(transport=transport)
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
import time
import urllib.request
import weakref
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import httpcore
import httpx

DEADLINE_EXTENSION = "cf_aig.deadline"
Key = tuple[bytes, bytes, "int | None"]
C = TypeVar("C", "_SyncConn", "_AsyncConn")

_EXCEPTIONS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)
"""httpcore → httpx errors, most specific first (what httpx's own transport does)."""


@contextlib.contextmanager
def _mapped(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core_exc, httpx_exc in _EXCEPTIONS:
            if isinstance(exc, core_exc):
                raise httpx_exc(str(exc), request=request) from exc
        raise


def _core_request(request: httpx.Request) -> httpcore.Request:
    url = request.url
    return httpcore.Request(
        method=request.method,
        url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port,
                         target=url.raw_path),
        headers=request.headers.raw,
        content=request.stream,
        extensions=request.extensions,
    )


def _key(request: httpx.Request) -> Key:
    url = request.url
    return (url.raw_scheme, url.raw_host, url.port)  # httpcore.Origin is not hashable


def _clean(conn: Any) -> bool:
    """True when ``conn`` (an idle httpcore connection) holds no unread answer bytes.

    httpcore exposes no public view of its HTTP/1.1 parser; when the attribute we read
    is missing (another httpcore), the connection counts as unclean and is not reused:
    slower, never unsafe.
    """
    parser = getattr(getattr(conn, "_connection", None), "_h11_state", None)
    if parser is None:
        return False
    data, closed = parser.trailing_data
    return not data and not closed


class _Deadline:
    """The deadline of the request a connection serves (None: only httpx's timeouts)."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at: float | None = None

    def clamp(self, timeout: float | None, error: type[Exception]) -> float | None:
        at = self.at
        if at is None:
            return timeout
        left = at - time.monotonic()
        if left <= 0:
            raise error("the call's total_timeout was reached")
        return left if timeout is None else min(timeout, left)


class _SyncStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _SyncStream(self._stream.start_tls(ssl_context, server_hostname, timeout),
                           self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _SyncBackend(httpcore.NetworkBackend):
    def __init__(self, deadline: _Deadline) -> None:
        self._backend = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        timeout = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        return _SyncStream(self._backend.connect_tcp(host, port, timeout, local_address,
                                                     socket_options), self._deadline)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None
                            ) -> httpcore.NetworkStream:
        return _SyncStream(self._backend.connect_unix_socket(path, timeout, socket_options),
                           self._deadline)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _AsyncStream(httpcore.AsyncNetworkStream):
    def __init__(self, stream: httpcore.AsyncNetworkStream, deadline: _Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes,
                                       self._deadline.clamp(timeout, httpcore.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, self._deadline.clamp(timeout, httpcore.WriteTimeout))

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        return _AsyncStream(await self._stream.start_tls(ssl_context, server_hostname, timeout),
                            self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _AsyncBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, deadline: _Deadline) -> None:
        self._backend = httpcore.AnyIOBackend()
        self._deadline = deadline

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None
                          ) -> httpcore.AsyncNetworkStream:
        timeout = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        return _AsyncStream(await self._backend.connect_tcp(host, port, timeout, local_address,
                                                            socket_options), self._deadline)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        return _AsyncStream(await self._backend.connect_unix_socket(path, timeout,
                                                                    socket_options),
                            self._deadline)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _SyncConn:
    __slots__ = ("deadline", "http")

    def __init__(self, request: httpx.Request, ssl_context: ssl.SSLContext,
                 expiry: float | None) -> None:
        self.deadline = _Deadline()
        self.http = httpcore.HTTPConnection(
            origin=_core_request(request).url.origin, ssl_context=ssl_context,
            keepalive_expiry=expiry, network_backend=_SyncBackend(self.deadline))

    def reusable(self) -> bool:
        return self.http.is_idle() and not self.http.has_expired() and _clean(self.http)


class _AsyncConn:
    __slots__ = ("deadline", "http")

    def __init__(self, request: httpx.Request, ssl_context: ssl.SSLContext,
                 expiry: float | None) -> None:
        self.deadline = _Deadline()
        self.http = httpcore.AsyncHTTPConnection(
            origin=_core_request(request).url.origin, ssl_context=ssl_context,
            keepalive_expiry=expiry, network_backend=_AsyncBackend(self.deadline))

    def reusable(self) -> bool:
        return self.http.is_idle() and not self.http.has_expired() and _clean(self.http)


class _Idle(Generic[C]):
    """Per-origin stacks of idle connections, shared by both transports (no I/O)."""

    __slots__ = ("_count", "_max", "_stacks")

    def __init__(self, max_idle: int) -> None:
        self._stacks: dict[Key, list[C]] = {}
        self._count = 0
        self._max = max_idle

    def take(self, key: Key, stale: list[C]) -> C | None:
        """The most recently used clean connection to ``key``; unusable ones → ``stale``."""
        stack = self._stacks.get(key)
        while stack:
            conn = stack.pop()
            self._count -= 1
            if conn.reusable():
                return conn
            stale.append(conn)
        return None

    def give(self, key: Key, conn: C) -> bool:
        """Keep ``conn`` for reuse; False when the caller must close it instead."""
        if self._count >= self._max or not conn.reusable():
            return False
        self._stacks.setdefault(key, []).append(conn)
        self._count += 1
        return True

    def drain(self) -> list[C]:
        conns = [c for stack in self._stacks.values() for c in stack]
        self._stacks, self._count = {}, 0
        return conns

    def __len__(self) -> int:
        return self._count


def _limits(limits: httpx.Limits | None) -> tuple[int, int, float | None]:
    limits = limits or httpx.Limits()
    most = limits.max_connections or 1 << 30
    keep = limits.max_keepalive_connections
    return most, most if keep is None else keep, limits.keepalive_expiry


def _pool_timeout(wait: float | None, most: int) -> httpx.PoolTimeout:
    return httpx.PoolTimeout(
        f"no connection free within {wait}s: {most} responses in use "
        "(close or exhaust streams you stop reading)")


class _SyncBody(httpx.SyncByteStream):
    """A response body that returns its connection and permit to the pool when closed."""

    def __init__(self, stream: Any, request: httpx.Request, pool: LeanTransport,
                 key: Key, conn: _SyncConn) -> None:
        self._stream, self._request, self._pool, self._key, self._conn = (
            stream, request, pool, key, conn)
        self._closed = False
        self.finalizer = weakref.finalize(self, pool._gate.release)

    def __iter__(self) -> Iterator[bytes]:
        with _mapped(self._request):
            yield from self._stream

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.finalizer.detach()
        try:
            with _mapped(self._request):
                self._stream.close()
        finally:
            self._pool._checkin(self._key, self._conn)


class LeanTransport(httpx.BaseTransport):
    """Sync transport: the O(1) pool, clean-connection reuse and the deadline above.

    >>> with httpx.Client(transport=LeanTransport()) as http:
    ...     pass
    """

    def __init__(self, *, limits: httpx.Limits | None = None, verify: Any = True) -> None:
        self._max, max_idle, self._expiry = _limits(limits)
        self._ssl_context = httpx.create_ssl_context(verify=verify)
        self._gate = threading.Semaphore(self._max)
        self._lock = threading.Lock()
        self._idle: _Idle[_SyncConn] = _Idle(max_idle)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        wait = (request.extensions.get("timeout") or {}).get("pool")
        if not self._gate.acquire(timeout=wait):
            raise _pool_timeout(wait, self._max)
        key = _key(request)
        conn: _SyncConn | None = None
        try:
            stale: list[_SyncConn] = []
            with self._lock:
                conn = self._idle.take(key, stale)
            for old in stale:
                old.http.close()
            if conn is None:
                conn = _SyncConn(request, self._ssl_context, self._expiry)
            conn.deadline.at = request.extensions.get(DEADLINE_EXTENSION)
            with _mapped(request):
                response = conn.http.handle_request(_core_request(request))
        except BaseException:
            if conn is not None:
                conn.http.close()
            self._gate.release()
            raise
        return httpx.Response(
            status_code=response.status, headers=response.headers,
            stream=_SyncBody(response.stream, request, self, key, conn),
            extensions=response.extensions)

    def _checkin(self, key: Key, conn: _SyncConn) -> None:
        conn.deadline.at = None
        try:
            with self._lock:
                kept = self._idle.give(key, conn)
            if not kept:
                conn.http.close()
        finally:
            self._gate.release()

    def close(self) -> None:
        with self._lock:
            conns = self._idle.drain()
        for conn in conns:
            conn.http.close()


def uses_proxy(url: str) -> bool:
    """True when the environment routes ``url`` through a proxy (``HTTPS_PROXY``,
    ``HTTP_PROXY``, ``ALL_PROXY``, minus ``NO_PROXY``): then httpx's own transport, which
    speaks to proxies, is used instead of these.

    >>> uses_proxy("http://127.0.0.1:8787/client/v4")  # doctest: +SKIP
    False
    """
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


def sync_http(url: str, timeout: httpx.Timeout, limits: httpx.Limits) -> httpx.Client:
    """The sync httpx client a :class:`~cf_aig.Client` makes for ``url``."""
    if uses_proxy(url):
        return httpx.Client(timeout=timeout, limits=limits)
    return httpx.Client(timeout=timeout, transport=LeanTransport(limits=limits))


def async_http(url: str, timeout: httpx.Timeout, limits: httpx.Limits) -> httpx.AsyncClient:
    """The async httpx client an :class:`~cf_aig.AsyncClient` makes for ``url``."""
    if uses_proxy(url):
        return httpx.AsyncClient(timeout=timeout, limits=limits)
    return httpx.AsyncClient(timeout=timeout, transport=LeanAsyncTransport(limits=limits))


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


def _release_quietly(gate: _Gate) -> None:
    with contextlib.suppress(RuntimeError):  # the loop may be closed by then
        gate.release()


class _AsyncBody(httpx.AsyncByteStream):
    """A response body that returns its connection and permit to the pool when closed."""

    def __init__(self, stream: Any, request: httpx.Request, pool: LeanAsyncTransport,
                 key: Key, conn: _AsyncConn, gate: _Gate) -> None:
        self._stream, self._request, self._pool, self._key, self._conn = (
            stream, request, pool, key, conn)
        self._closed = False
        # a response dropped without being closed still gives its permit back
        self.finalizer = weakref.finalize(self, _release_quietly, gate)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped(self._request):
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.finalizer.detach()
        try:
            with _mapped(self._request):
                await self._stream.aclose()
        finally:
            self._pool._checkin(self._key, self._conn)


class LeanAsyncTransport(httpx.AsyncBaseTransport):
    """Async transport: the O(1) pool, clean-connection reuse and the deadline above.

    >>> http = httpx.AsyncClient(transport=LeanAsyncTransport())
    """

    def __init__(self, *, limits: httpx.Limits | None = None, verify: Any = True) -> None:
        self._max, max_idle, self._expiry = _limits(limits)
        self._ssl_context = httpx.create_ssl_context(verify=verify)
        self._idle: _Idle[_AsyncConn] = _Idle(max_idle)
        self._gate: _Gate | None = None  # made on the loop that first uses it

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        gate = self._gate
        if gate is None:
            gate = self._gate = _Gate(self._max)
        if not gate.try_acquire():
            # wait for a permit no longer than the pool timeout, as httpcore's pool would
            wait = (request.extensions.get("timeout") or {}).get("pool")
            try:
                await asyncio.wait_for(gate.acquire(), wait)
            except asyncio.TimeoutError:
                raise _pool_timeout(wait, self._max) from None
        key = _key(request)
        conn: _AsyncConn | None = None
        try:
            stale: list[_AsyncConn] = []
            conn = self._idle.take(key, stale)
            for old in stale:
                await old.http.aclose()
            if conn is None:
                conn = _AsyncConn(request, self._ssl_context, self._expiry)
            conn.deadline.at = request.extensions.get(DEADLINE_EXTENSION)
            with _mapped(request):
                response = await conn.http.handle_async_request(_core_request(request))
        except BaseException:
            if conn is not None:
                await conn.http.aclose()
            gate.release()
            raise
        return httpx.Response(
            status_code=response.status, headers=response.headers,
            stream=_AsyncBody(response.stream, request, self, key, conn, gate),
            extensions=response.extensions)

    def _checkin(self, key: Key, conn: _AsyncConn) -> None:
        conn.deadline.at = None
        if not self._idle.give(key, conn) and not conn.http.is_closed():
            asyncio.get_running_loop().create_task(conn.http.aclose())
        assert self._gate is not None
        self._gate.release()

    async def aclose(self) -> None:
        for conn in self._idle.drain():
            await conn.http.aclose()
