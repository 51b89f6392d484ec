"""A hostile HTTP/1.1 server on loopback: raw sockets in a thread, scripted per request.

Each test gives a *script*: ``script(conn, request, n)`` runs for every complete request
that arrives (``n`` counts them from 0 over the whole server) and writes whatever bytes
it likes to ``conn`` — wrong lengths, endless lines, bombs, trickles, redirects. The
server counts arrivals and connections, so a test can say exactly how many times a
request reached it.

>>> with HostileServer(lambda conn, req, n: conn.sendall(ok_response(b'{}'))) as srv:
...     srv.base_url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import contextlib
import json
import resource
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from cf_aig.types import ChatRequest

Script = Callable[[socket.socket, bytes, int], Any]
"""``script(conn, request, n)``; return ``"close"`` to end this connection."""

TOKEN = "cfat_hostile_transport_0123456789"
REQUEST: ChatRequest = {"model": "openai/gpt-5.5", "messages": [{"role": "user", "content": "hi"}]}


def completion(text: str = "ok") -> bytes:
    """A minimal valid ``chat.completion`` body."""
    return json.dumps({
        "id": "c1", "object": "chat.completion", "created": 1, "model": "openai/gpt-5.5",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
    }).encode()


def ok_response(body: bytes, ctype: str = "application/json", extra: str = "") -> bytes:
    """A complete, correctly framed 200 answer."""
    return (f"HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ncontent-length: {len(body)}\r\n"
            f"{extra}\r\n").encode() + body


def read_request(conn: socket.socket, buf: bytearray) -> bytes | None:
    """Read one request (headers + ``Content-Length`` body) from ``conn``; None at EOF."""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    head, _, _ = bytes(buf).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    need = len(head) + 4 + length
    while len(buf) < need:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    request = bytes(buf[:need])
    del buf[:need]
    return request


@dataclass
class HostileServer:
    """A scripted HTTP/1.1 server on ``127.0.0.1`` (see the module docstring)."""

    script: Script
    arrivals: int = 0
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    _sock: socket.socket | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        assert self._sock is not None
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/client/v4"

    def __enter__(self) -> HostileServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        sock.settimeout(0.1)
        self._sock = sock
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        buf = bytearray()
        with contextlib.closing(conn):
            while not self._stop.is_set():
                try:
                    request = read_request(conn, buf)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if request is None:
                    return
                with self._lock:
                    n = self.arrivals
                    self.arrivals += 1
                    self.requests.append(request)
                conn.settimeout(None)
                try:
                    if self.script(conn, request, n) == "close":
                        return
                except OSError:
                    return  # the client went away: that is its right
                finally:
                    conn.settimeout(0.2)

    def stopped(self) -> bool:
        return self._stop.is_set()


@pytest.fixture
def hostile() -> Iterator[Callable[[Script], HostileServer]]:
    """Start hostile servers for one test; all are stopped at its end."""
    servers: list[HostileServer] = []

    def start(script: Script) -> HostileServer:
        server = HostileServer(script).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__()


@dataclass
class Measure:
    """Seconds, peak traced allocation and peak-RSS growth of one probe (for the report)."""

    seconds: float = 0.0
    peak_traced: int = 0
    rss_growth: int = 0


@contextlib.contextmanager
def measured() -> Iterator[Measure]:
    """Measure a block: wall seconds, ``tracemalloc`` peak, ``ru_maxrss`` growth (bytes)."""
    m = Measure()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        yield m
    finally:
        m.seconds = time.perf_counter() - t0
        m.peak_traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        m.rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss0
