"""A small asyncio HTTP/1.1 server on ``h11``: keep-alive, chunked streams, disconnect watch.

The handler is a plain synchronous function ``Request -> Reply`` (the emulator's work is
pure computation); the server only does I/O and the timing faults (hang, stall, drop).

What one client may hold is bounded (:class:`Limits`): a request body above
``max_request_bytes`` is read and discarded, then answered 413 (code 3006) and the
connection closed; a request head must arrive within ``header_timeout`` (a slowloris is
dropped), a kept-alive connection may sit silent for ``idle_timeout``, a body must arrive
within ``body_timeout`` (else 408). Handlers of bodies above ``OFFLOAD_BYTES`` run on a
worker thread, so one large request does not hold up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import h11

from .store import Stats

_MAX_READ = 65536
_BODY_READ = 1 << 20
OFFLOAD_BYTES = 1 << 20
"""Requests with a larger body are handled on a worker thread, not the event loop."""
DISCARD_FACTOR = 8
"""An oversized body is drained (not stored) up to this many times the cap, then cut."""


@dataclass(frozen=True)
class Limits:
    """Bounds on what one client may make the emulator hold (sizes in bytes, times in s).

    >>> Limits(max_request_bytes=1024, header_timeout=0.5).idle_timeout
    15.0
    """

    max_request_bytes: int = 32 * 2**20
    """Largest request body accepted; above it the answer is 413 (code 3006)."""
    header_timeout: float = 10.0
    """Seconds from a request's first byte (or from connecting) to the end of its head."""
    idle_timeout: float = 15.0
    """Seconds a connection may stay silent: between requests, or inside a body."""
    body_timeout: float = 60.0
    """Seconds from the end of a request head to the end of its body (else 408)."""

    def __post_init__(self) -> None:
        if isinstance(self.max_request_bytes, bool) or not isinstance(
                self.max_request_bytes, int) or self.max_request_bytes < 1:
            raise ValueError(f"max_request_bytes must be an int >= 1, got "
                             f"{self.max_request_bytes!r}")
        for name in ("header_timeout", "idle_timeout", "body_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a number of seconds > 0, got {value!r}")


def _error_reply(status: int, code: int, message: str) -> Reply:
    body = json.dumps({"result": None, "success": False,
                       "errors": [{"code": code, "message": message}], "messages": []})
    return Reply(status, [("content-type", "application/json"), ("connection", "close")],
                 body.encode())


@dataclass
class Request:
    """A parsed request; header names are lowercase (last value wins)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """What to send. ``events`` set means a chunked stream of those byte blocks."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    events: list[bytes] | None = None
    hang: float = 0.0
    """Seconds to wait before sending the status line."""
    drop_after: int | None = None
    """Close the socket after this many events (0 with no events: before any byte)."""
    stall_after: int | None = None
    stall_seconds: float = 0.0
    event_delay: float = 0.0


Handler = Callable[[Request], Reply]
StatsGetter = Callable[[], Stats]


class Server:
    """Serve ``handler`` on ``host:port`` inside the running event loop."""

    def __init__(self, handler: Handler, stats: StatsGetter, limits: Limits | None = None) -> None:
        self._handler = handler
        self._stats = stats
        self.limits = limits or Limits()
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self, host: str, port: int) -> int:
        """Listen and return the bound port."""
        self._server = await asyncio.start_server(self._serve, host, port, backlog=2048,
                                                  limit=_BODY_READ)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._stats().connections_opened += 1
        self._writers.add(writer)
        conn = h11.Connection(h11.SERVER)
        first = True
        try:
            while True:
                request = await self._read(conn, reader, first)
                first = False
                if request is None:
                    break
                if isinstance(request, Reply):  # 413 or 408: answer, then close
                    await self._send(conn, reader, writer, request)
                    break
                self._stats().requests += 1
                try:
                    if len(request.body) > OFFLOAD_BYTES:
                        reply = await asyncio.to_thread(self._handler, request)
                    else:
                        reply = self._handler(request)
                except Exception as exc:  # a bug in a route must not kill the connection
                    body = (b'{"result":null,"success":false,"errors":[{"code":500,"message":'
                            b'"emulator error: ' + type(exc).__name__.encode() + b'"}],'
                            b'"messages":[]}')
                    reply = Reply(500, [("content-type", "application/json")], body)
                if not await self._send(conn, reader, writer, reply):
                    break
                if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                    conn.start_next_cycle()
                else:
                    break
        except h11.RemoteProtocolError:
            with contextlib.suppress(Exception):
                if conn.our_state is h11.SEND_RESPONSE:
                    writer.write(conn.send(h11.Response(
                        status_code=400, headers=[("content-length", "0"),
                                                  ("connection", "close")])))
                    writer.write(conn.send(h11.EndOfMessage()))
        except (ConnectionError, asyncio.IncompleteReadError, h11.LocalProtocolError):
            pass
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _read(self, conn: h11.Connection, reader: asyncio.StreamReader,
                    first: bool) -> Request | Reply | None:
        """The next request; a 413/408 reply to send before closing; None to close."""
        limits, loop = self.limits, asyncio.get_running_loop()
        head: h11.Request | None = None
        body: list[bytes] = []
        size = 0
        too_large = False
        # A new connection, or bytes of the next request already buffered: the head's
        # clock runs now. Otherwise it starts with the first byte after an idle wait.
        head_deadline = (loop.time() + limits.header_timeout
                         if first or conn.trailing_data[0] else None)
        body_deadline = 0.0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                now = loop.time()
                if head is None:
                    wait = limits.idle_timeout if head_deadline is None else head_deadline - now
                else:
                    wait = min(limits.idle_timeout, body_deadline - now)
                try:
                    if wait <= 0:
                        raise asyncio.TimeoutError
                    data = await asyncio.wait_for(
                        reader.read(_MAX_READ if head is None else _BODY_READ), wait)
                except asyncio.TimeoutError:
                    self._stats().timeouts += 1
                    if too_large:
                        return self._too_large()
                    if head is None:  # nothing to answer: a slowloris or an idle keep-alive
                        return None
                    return _error_reply(408, 3007, "Request timeout: the body did not "
                                        f"arrive within {limits.body_timeout:g}s")
                if head is None and head_deadline is None and data:
                    head_deadline = loop.time() + limits.header_timeout
                conn.receive_data(data)
            elif isinstance(event, h11.Request):
                head = event
                body_deadline = loop.time() + limits.body_timeout
                length = next((v for k, v in event.headers if k == b"content-length"), b"0")
                too_large = int(length) > limits.max_request_bytes
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > limits.max_request_bytes:
                    too_large = True
                    body.clear()  # drain, keep nothing
                    if size > DISCARD_FACTOR * limits.max_request_bytes:
                        return self._too_large()
                elif not too_large:
                    body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage) and too_large:
                return self._too_large()
            elif isinstance(event, h11.EndOfMessage) and head is not None:
                target = head.target.decode("latin-1")
                path, _, query = target.partition("?")
                headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                           for k, v in head.headers}
                return Request(head.method.decode(), path, query, headers, b"".join(body))
            else:  # ConnectionClosed or PAUSED
                return None

    def _too_large(self) -> Reply:
        self._stats().too_large += 1
        return _error_reply(413, 3006, "Request too large: the emulator accepts bodies up "
                            f"to {self.limits.max_request_bytes} bytes (max_request_bytes)")

    async def _send(self, conn: h11.Connection, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter, reply: Reply) -> bool:
        """Send ``reply``; False when the connection must close afterwards."""
        watch: asyncio.Task[bytes] | None = None
        try:
            if reply.hang or reply.events is not None or reply.drop_after is not None:
                watch = asyncio.ensure_future(reader.read(_MAX_READ))
            if reply.hang and await self._client_left(watch, reply.hang):
                return False
            if reply.drop_after is not None and reply.events is None:
                return False
            headers = list(reply.headers)
            if reply.events is None:
                headers.append(("content-length", str(len(reply.body))))
            writer.write(conn.send(h11.Response(status_code=reply.status, headers=headers)))
            if reply.events is None:
                writer.write(conn.send(h11.Data(data=reply.body)) if reply.body else b"")
                writer.write(conn.send(h11.EndOfMessage()))
                await writer.drain()
                return True
            for i, event in enumerate(reply.events):
                if reply.drop_after is not None and i >= reply.drop_after:
                    await writer.drain()
                    return False
                if reply.stall_after is not None and i == reply.stall_after and \
                        await self._client_left(watch, reply.stall_seconds):
                    return False
                if reply.event_delay and i and await self._client_left(watch,
                                                                       reply.event_delay):
                    return False
                if watch is not None and watch.done() and not watch.result():
                    self._stats().disconnects += 1
                    return False
                writer.write(conn.send(h11.Data(data=event)))
                await writer.drain()
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
            return True
        except ConnectionError:
            self._stats().disconnects += 1
            return False
        finally:
            if watch is not None:
                if watch.done():
                    if not watch.cancelled() and watch.exception() is None and watch.result():
                        conn.receive_data(watch.result())
                else:
                    watch.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await watch

    async def _client_left(self, watch: asyncio.Task[bytes] | None, seconds: float) -> bool:
        """Sleep ``seconds`` unless the client hangs up first (then count it)."""
        if watch is None:
            await asyncio.sleep(seconds)
            return False
        done, _ = await asyncio.wait({watch}, timeout=seconds)
        if done and (watch.exception() is not None or not watch.result()):
            self._stats().disconnects += 1
            return True
        return False
