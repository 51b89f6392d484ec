"""A small asyncio HTTP/1.1 server on ``h11``: keep-alive, chunked streams, disconnect watch.

The handler is a plain synchronous function ``Request -> Reply`` (the emulator's work is
pure computation); the server only does I/O and the timing faults (hang, stall, drop).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import h11

from .store import Stats

_MAX_READ = 65536


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

    def __init__(self, handler: Handler, stats: StatsGetter) -> None:
        self._handler = handler
        self._stats = stats
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self, host: str, port: int) -> int:
        """Listen and return the bound port."""
        self._server = await asyncio.start_server(self._serve, host, port, backlog=2048)
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
        try:
            while True:
                request = await self._read(conn, reader)
                if request is None:
                    break
                self._stats().requests += 1
                try:
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

    @staticmethod
    async def _read(conn: h11.Connection, reader: asyncio.StreamReader) -> Request | None:
        head: h11.Request | None = None
        body: list[bytes] = []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(_MAX_READ))
            elif isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage) and head is not None:
                target = head.target.decode("latin-1")
                path, _, query = target.partition("?")
                headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                           for k, v in head.headers}
                return Request(head.method.decode(), path, query, headers, b"".join(body))
            else:  # ConnectionClosed or PAUSED
                return None

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
