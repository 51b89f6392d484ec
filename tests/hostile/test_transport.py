"""Hostile servers on loopback (issue 13 items 2, 3, 4, 5, 7, 8): every probe is bounded.

Each case names what a server does, what the client must do, and checks the arrivals
(how often the request reached the server) and the memory a probe may cost. Run with
``-s`` to print the probe table (arrivals, seconds, peak traced memory, peak-RSS growth).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cf_aig import (
    APIStatusError,
    APITimeoutError,
    AsyncClient,
    Client,
    ConfigurationError,
    ConnectionFailedError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
)
from cf_aig.errors import RedirectError, ResponseTooLargeError
from cf_aig.types import ChatRequest

from .conftest import (
    REQUEST,
    TOKEN,
    HostileServer,
    Measure,
    Script,
    completion,
    measured,
    ok_response,
)

MiB = 2**20
CAP = 4 * MiB
ROWS: list[tuple[str, str, str, int, Measure]] = []


@pytest.fixture(scope="module", autouse=True)
def probe_table() -> Iterator[None]:
    yield
    print("\n| probe | expected | observed | arrivals | s | peak traced MiB | RSS growth MiB |")
    print("|---|---|---|---|---|---|---|")
    for probe, expected, observed, arrivals, m in ROWS:
        print(f"| {probe} | {expected} | {observed} | {arrivals} | {m.seconds:.2f} | "
              f"{m.peak_traced / MiB:.1f} | {m.rss_growth / MiB:.1f} |")


def record(probe: str, expected: str, error: BaseException | None, server: HostileServer,
           m: Measure) -> None:
    observed = type(error).__name__ if error is not None else "ok"
    ROWS.append((probe, expected, observed, server.arrivals, m))


def client(server: HostileServer, **kw: Any) -> Client:
    kw.setdefault("retry_base_delay", 0.01)
    return Client(account_id="a", api_token=TOKEN, base_url=server.base_url, **kw)


def aclient(server: HostileServer, **kw: Any) -> AsyncClient:
    kw.setdefault("retry_base_delay", 0.01)
    return AsyncClient(account_id="a", api_token=TOKEN, base_url=server.base_url, **kw)


def head(status: str = "200 OK", ctype: str = "application/json", extra: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\n{extra}\r\n".encode()


def endless(conn: socket.socket, first: bytes, piece: bytes, total: int) -> None:
    """Send ``first`` then ``piece`` until ``total`` bytes or the client hangs up."""
    conn.sendall(first)
    sent = 0
    while sent < total:
        conn.sendall(piece)
        sent += len(piece)


# ------------------------------------------------------------------ item 2: byte caps

def big_declared(conn: socket.socket, req: bytes, n: int) -> str:
    endless(conn, head(extra="content-length: 200000000\r\n"), b"0" * MiB, 200 * MiB)
    return "close"


def big_undeclared(conn: socket.socket, req: bytes, n: int) -> str:
    endless(conn, head(extra="connection: close\r\n"), b"0" * MiB, 200 * MiB)
    return "close"


@pytest.mark.parametrize("script", [big_declared, big_undeclared], ids=["declared",
                                                                         "close-delimited"])
def test_200_mb_body_stops_at_the_cap(hostile: Callable[[Script], HostileServer],
                                      script: Script) -> None:
    server = hostile(script)
    with client(server, max_response_bytes=CAP) as c, measured() as m, \
            pytest.raises(ResponseTooLargeError) as info:
        c.chat(REQUEST)
    record(f"200 MB body ({script.__name__})", "ResponseTooLargeError, 1 arrival",
           info.value, server, m)
    assert server.arrivals == 1
    assert info.value.limit == CAP and not info.value.retryable
    assert m.peak_traced < CAP + 2 * MiB


def test_default_cap_is_well_under_256_mib(hostile: Callable[[Script], HostileServer]) -> None:
    server = hostile(big_undeclared)
    with client(server) as c, measured() as m, pytest.raises(ResponseTooLargeError) as info:
        c.chat(REQUEST)
    record("200 MB body, default cap", "ResponseTooLargeError at 64 MiB", info.value, server, m)
    assert info.value.limit == 64 * MiB
    assert m.peak_traced < 64 * MiB + 4 * MiB


def endless_sse_line(conn: socket.socket, req: bytes, n: int) -> str:
    endless(conn, head(ctype="text/event-stream", extra="connection: close\r\n") + b"data: ",
            b"x" * 65536, 200 * MiB)
    return "close"


def test_endless_sse_line_in_a_stream_is_capped(
        hostile: Callable[[Script], HostileServer]) -> None:
    server = hostile(endless_sse_line)
    with client(server, max_response_bytes=CAP) as c, measured() as m, \
            pytest.raises(ResponseTooLargeError), c.chat_stream(REQUEST) as stream:
        for _ in stream:
            pass
    record("endless SSE line (stream)", "ResponseTooLargeError", ResponseTooLargeError(""),
           server, m)
    assert server.arrivals == 1
    assert m.peak_traced < CAP + 2 * MiB


def test_endless_sse_answer_to_a_non_stream_call_is_capped(
        hostile: Callable[[Script], HostileServer]) -> None:
    server = hostile(endless_sse_line)
    with client(server, max_response_bytes=CAP) as c, measured() as m, \
            pytest.raises(ResponseTooLargeError) as info:
        c.chat(REQUEST)
    record("endless SSE to chat()", "ResponseTooLargeError", info.value, server, m)
    assert server.arrivals == 1 and m.peak_traced < CAP + 2 * MiB


def test_sse_buffering_is_linear() -> None:
    """An unfinished 32 MiB line fed in 64 KiB reads: each byte scanned once."""
    from cf_aig.sse import SSEDecoder

    d = SSEDecoder(max_event_bytes=64 * MiB)
    piece = b"x" * 65536
    d.feed(b"data: ")
    ops = 0
    for _ in range(512):
        assert d.feed(piece) == []
        ops += 1
    assert d.feed(b"\n\n") == [(None, b"x" * (512 * 65536))]
    assert d._pending == [] and ops == 512


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """1 GiB of zeros, gzip-compressed (about 1 MiB)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(16 * MiB)
    parts = [z.compress(block) for _ in range(64)]
    return b"".join(parts) + z.flush()


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compression_bomb_is_bounded(hostile: Callable[[Script], HostileServer],
                                     gzip_bomb: bytes, encoding: str) -> None:
    body = gzip_bomb if encoding == "gzip" else zlib.compress(bytes(256 * MiB), 9)

    def bomb(conn: socket.socket, req: bytes, n: int) -> None:
        conn.sendall(ok_response(body, extra=f"content-encoding: {encoding}\r\n"))

    server = hostile(bomb)
    with client(server, max_response_bytes=CAP) as c, measured() as m, \
            pytest.raises(ResponseTooLargeError) as info:
        c.chat(REQUEST)
    record(f"{encoding} bomb ({len(body) // 1024} KiB)", "ResponseTooLargeError",
           info.value, server, m)
    assert m.peak_traced < CAP + 2 * len(body) + 2 * MiB


def test_small_gzip_answer_still_decodes(hostile: Callable[[Script], HostileServer]) -> None:
    def small(conn: socket.socket, req: bytes, n: int) -> None:
        conn.sendall(ok_response(gzip.compress(completion("zipped")),
                                 extra="content-encoding: gzip\r\n"))

    server = hostile(small)
    with client(server) as c:
        assert c.chat(REQUEST).text == "zipped"
    assert b"accept-encoding: gzip, deflate" in server.requests[0].lower()


def test_brotli_answer_is_a_typed_error(hostile: Callable[[Script], HostileServer]) -> None:
    def br(conn: socket.socket, req: bytes, n: int) -> None:
        conn.sendall(ok_response(b"\x1b\x00\x00", extra="content-encoding: br\r\n"))

    server = hostile(br)
    with client(server) as c, pytest.raises(Exception) as info:
        c.chat(REQUEST)
    assert "content-encoding 'br'" in str(info.value)


# ---------------------------------------------------------- item 3: malformed Retry-After

@pytest.mark.parametrize("value", ["soon", "Fri, 99 Foo 2026", "nan", "-5", "1e999"])
def test_malformed_retry_after_is_ignored(hostile: Callable[[Script], HostileServer],
                                          value: str) -> None:
    def busy(conn: socket.socket, req: bytes, n: int) -> None:
        body = b'{"success":false,"errors":[{"code":3040,"message":"busy"}]}'
        conn.sendall(head("429 Too Many Requests", extra=f"retry-after: {value}\r\n"
                          f"content-length: {len(body)}\r\n") + body)

    server = hostile(busy)
    with client(server) as c, measured() as m, pytest.raises(RateLimitError) as info:
        c.chat(REQUEST)
    record(f"429 Retry-After: {value}", "RateLimitError after 3 tries", info.value, server, m)
    assert server.arrivals == 3


@pytest.mark.parametrize("value", ["soon", "-5", "-0.5", "nan", "1e999", "Fri, 99 Foo 2026"])
def test_malformed_retry_after_falls_back_to_our_backoff(value: str) -> None:
    """A negative delay is malformed too: read as 0 it made every retry immediate."""
    import httpx

    from cf_aig._protocol import retry_after_seconds
    assert retry_after_seconds(httpx.Headers({"retry-after": value})) is None
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": value})) is None
    assert retry_after_seconds(httpx.Headers({"retry-after": "2"})) == 2.0


# ------------------------------------------------------- item 4: resend and deadlines

def cut_off_200(conn: socket.socket, req: bytes, n: int) -> str:
    conn.sendall(head(extra="content-length: 1000\r\n") + b'{"id": "c1", "choi')
    return "close"


def test_cut_off_200_is_not_resent(hostile: Callable[[Script], HostileServer]) -> None:
    server = hostile(cut_off_200)
    with client(server, max_retries=10) as c, measured() as m, \
            pytest.raises(ConnectionFailedError) as info:
        c.chat(REQUEST)
    record("200 cut off", "ConnectionFailedError, 1 arrival", info.value, server, m)
    assert server.arrivals == 1 and info.value.status == 200
    assert not info.value.retryable


async def test_cut_off_200_is_not_resent_async(
        hostile: Callable[[Script], HostileServer]) -> None:
    server = hostile(cut_off_200)
    async with aclient(server, max_retries=10) as c:
        with pytest.raises(ConnectionFailedError):
            await c.chat(REQUEST)
    assert server.arrivals == 1


def cut_off_503(conn: socket.socket, req: bytes, n: int) -> str:
    conn.sendall(head("503 Service Unavailable", extra="content-length: 1000\r\n") + b"{")
    return "close"


def test_cut_off_retryable_status_is_resent(
        hostile: Callable[[Script], HostileServer]) -> None:
    server = hostile(cut_off_503)
    with client(server) as c, measured() as m, pytest.raises(ServerError) as info:
        c.chat(REQUEST)
    record("503 cut off", "ServerError after 3 tries", info.value, server, m)
    assert server.arrivals == 3


def silent(conn: socket.socket, req: bytes, n: int) -> str:
    time.sleep(1.0)
    return "close"


@pytest.mark.parametrize(("allow", "arrivals"), [(False, 1), (True, 3)])
def test_read_timeout_after_sending_is_ambiguous(hostile: Callable[[Script], HostileServer],
                                                 allow: bool, arrivals: int) -> None:
    server = hostile(silent)
    with client(server, timeout=0.2, max_retries=2, retry_ambiguous=allow) as c, \
            measured() as m, pytest.raises(APITimeoutError) as info:
        c.chat(REQUEST)
    record(f"read timeout, retry_ambiguous={allow}", f"APITimeoutError, {arrivals} arrivals",
           info.value, server, m)
    assert server.arrivals == arrivals


def test_connection_refused_is_resent() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens: refused before anything was sent
    attempts: list[float] = []
    with Client(account_id="a", api_token=TOKEN, base_url=f"http://127.0.0.1:{port}/client/v4",
                retry_base_delay=0.01) as c:
        real = c._do

        def counting(action: Any) -> Any:
            attempts.append(0.0)
            return real(action)

        c._do = counting  # type: ignore[method-assign]
        with pytest.raises(ConnectionFailedError) as info:
            c.chat(REQUEST)
    assert info.value.retryable and len(attempts) == 5  # 3 sends + 2 sleeps


def trickle_body(conn: socket.socket, req: bytes, n: int) -> str:
    body = completion("slow")
    conn.sendall(head(extra=f"content-length: {len(body)}\r\n"))
    for i in range(min(len(body), 40)):
        conn.sendall(body[i:i + 1])
        time.sleep(0.25)
    conn.sendall(body[40:])
    return "close"


def trickle_headers(conn: socket.socket, req: bytes, n: int) -> str:
    answer = ok_response(completion("slow"))
    for i in range(min(len(answer), 40)):
        conn.sendall(answer[i:i + 1])
        time.sleep(0.25)
    conn.sendall(answer[40:])
    return "close"


@pytest.mark.parametrize("script", [trickle_body, trickle_headers], ids=["body", "headers"])
def test_trickle_ends_at_the_total_deadline(hostile: Callable[[Script], HostileServer],
                                            script: Script) -> None:
    """A byte every 0.25 s keeps every read alive; only the deadline stops it (the whole
    trickle takes 10 s and would succeed without one)."""
    server = hostile(script)
    with client(server, total_timeout=1.5) as c, measured() as m, \
            pytest.raises(APITimeoutError) as info:
        c.chat(REQUEST)
    record(f"trickle ({script.__name__})", "APITimeoutError at total_timeout=1.5",
           info.value, server, m)
    assert "total_timeout" in str(info.value) and server.arrivals == 1


async def test_trickle_ends_at_the_total_deadline_async(
        hostile: Callable[[Script], HostileServer]) -> None:
    server = hostile(trickle_body)
    async with aclient(server) as c:
        with pytest.raises(APITimeoutError, match="total_timeout"):
            await c.chat(REQUEST, total_timeout=1.5)
    assert server.arrivals == 1


def keepalive_only(conn: socket.socket, req: bytes, n: int) -> str:
    conn.sendall(head(ctype="text/event-stream", extra="connection: close\r\n"))
    conn.sendall(b'data: {"id":"c1","object":"chat.completion.chunk","created":1,'
                 b'"model":"m","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n')
    for _ in range(40):
        conn.sendall(b": keep-alive\n\n")
        time.sleep(0.25)
    return "close"


def test_stream_idle_limit_between_events(hostile: Callable[[Script], HostileServer]) -> None:
    server = hostile(keepalive_only)
    got: list[Any] = []
    with client(server) as c, measured() as m, \
            pytest.raises(StreamInterruptedError) as info, \
            c.chat_stream(REQUEST, stream_idle_timeout=1.0) as stream:
        got.extend(stream)
    record("keep-alives, no events", "StreamInterruptedError (idle)", info.value, server, m)
    assert len(got) == 1 and info.value.received == 1
    assert "stream_idle_timeout" in str(info.value)


def test_bad_call_option_values_are_refused(hostile: Callable[[Script], HostileServer]) -> None:
    server = hostile(silent)
    with client(server) as c:
        for bad in ({"total_timeout": 0}, {"max_response_bytes": 10}, {"retry_ambiguous": 1},
                    {"stream_idle_timeout": float("nan")}, {"temprature": 0.2}):
            with pytest.raises(ConfigurationError):
                c.chat(REQUEST, **bad)
    assert server.arrivals == 0


# ------------------------------------------------------------- item 5: framing errors

SMUGGLED = ok_response(completion("SMUGGLED answer meant for someone else"))


def smuggler(conn: socket.socket, req: bytes, n: int) -> None:
    """The first answer carries a second, complete answer past its Content-Length."""
    if n == 0:
        conn.sendall(ok_response(completion("first")) + SMUGGLED)
    else:
        conn.sendall(ok_response(completion(f"real answer {n}")))


SMUGGLED_SENT = threading.Event()


def late_smuggler(conn: socket.socket, req: bytes, n: int) -> None:
    """As :func:`smuggler`, but the extra answer arrives a moment later (next TCP read)."""
    if n == 0:
        conn.sendall(ok_response(completion("first")))
        time.sleep(0.1)
        conn.sendall(SMUGGLED)
        SMUGGLED_SENT.set()
    else:
        conn.sendall(ok_response(completion(f"real answer {n}")))


@pytest.mark.parametrize("script", [smuggler, late_smuggler], ids=["same-read", "later"])
def test_smuggled_answer_is_never_delivered(hostile: Callable[[Script], HostileServer],
                                            script: Script) -> None:
    server = hostile(script)
    SMUGGLED_SENT.clear()
    with client(server) as c, measured() as m:
        first = c.chat(REQUEST).text
        if script is late_smuggler:  # the extra bytes are on the wire before the next call
            assert SMUGGLED_SENT.wait(10)
            time.sleep(0.05)
        second = c.chat(REQUEST).text
        third = c.chat(REQUEST).text
    record(f"smuggled answer ({script.__name__})", "never delivered", None, server, m)
    assert first == "first"
    assert second.startswith("real answer") and third.startswith("real answer")
    assert server.connections == 2  # the tainted connection was dropped, the clean one kept


async def test_smuggled_answer_is_never_delivered_async(
        hostile: Callable[[Script], HostileServer]) -> None:
    server = hostile(smuggler)
    async with aclient(server) as c:
        assert (await c.chat(REQUEST)).text == "first"
        texts = [(await c.chat(REQUEST)).text for _ in range(2)]
    assert all(t.startswith("real answer") for t in texts)


def test_concurrent_users_never_get_each_others_answers(
        hostile: Callable[[Script], HostileServer]) -> None:
    """Many threads on one client against a server that smuggles on every 3rd answer."""

    def echo(conn: socket.socket, req: bytes, n: int) -> None:
        user = json.loads(req.partition(b"\r\n\r\n")[2])["messages"][0]["content"]
        extra = SMUGGLED if n % 3 == 0 else b""
        conn.sendall(ok_response(completion(f"for {user}")) + extra)

    server = hostile(echo)
    wrong: list[str] = []
    with client(server) as c:
        def user(i: int) -> None:
            for k in range(10):
                name = f"user-{i}-{k}"
                request: ChatRequest = {**REQUEST, "messages": [{"role": "user",
                                                                 "content": name}]}
                text = c.chat(request).text
                if text != f"for {name}":
                    wrong.append(text)

        threads = [threading.Thread(target=user, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert wrong == [] and server.arrivals == 80


# ------------------------------------------------------- item 7: local validation

@pytest.mark.parametrize("headers", [{"x-a": "1\r\nX-Evil: 1"}, {"x-a": "1\n"},
                                     {"x-a": "\x00"}, {"bad name": "1"}, {"x-a": "é"},
                                     {"x-a": 1}])
def test_bad_per_call_header_is_a_configuration_error(
        hostile: Callable[[Script], HostileServer], headers: dict[str, Any]) -> None:
    server = hostile(silent)
    with client(server) as c, measured() as m, pytest.raises(ConfigurationError) as info:
        c.chat(REQUEST, headers=headers)
    record(f"header {next(iter(headers.items()))!r}", "ConfigurationError, 0 arrivals",
           info.value, server, m)
    assert server.arrivals == 0
    assert "X-Evil" not in str(info.value) and "\x00" not in str(info.value)


def test_bad_default_header_fails_at_construction(
        hostile: Callable[[Script], HostileServer]) -> None:
    server = hostile(silent)
    with pytest.raises(ConfigurationError):
        client(server, default_headers={"x-a": "1\r\n"})


# ----------------------------------------------------------------- item 8: redirects

@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_is_a_typed_error_and_never_followed(
        hostile: Callable[[Script], HostileServer], status: int) -> None:
    def redirect(conn: socket.socket, req: bytes, n: int) -> None:
        conn.sendall(f"HTTP/1.1 {status} Moved\r\nlocation: https://u:pw@evil.example/steal"
                     f"?token=abc#x\r\ncontent-length: 0\r\n\r\n".encode())

    server = hostile(redirect)
    with client(server, max_retries=3) as c, measured() as m, \
            pytest.raises(RedirectError) as info:
        c.chat(REQUEST)
    record(f"{status} redirect", "RedirectError, 1 arrival", info.value, server, m)
    text = str(info.value)
    assert info.value.status == status and str(status) in text
    assert "https://evil.example/steal" in text
    assert "pw" not in text and "token=abc" not in text
    assert server.arrivals == 1


async def test_redirect_async(hostile: Callable[[Script], HostileServer]) -> None:
    def redirect(conn: socket.socket, req: bytes, n: int) -> None:
        conn.sendall(b"HTTP/1.1 302 Found\r\nlocation: /elsewhere\r\ncontent-length: 0\r\n\r\n")

    server = hostile(redirect)
    async with aclient(server) as c:
        with pytest.raises(RedirectError, match="302"):
            await c.chat(REQUEST)
    assert server.arrivals == 1


def test_async_stream_is_bounded_too(hostile: Callable[[Script], HostileServer]) -> None:
    server = hostile(endless_sse_line)

    async def go() -> None:
        async with aclient(server, max_response_bytes=CAP) as c:
            stream = await c.chat_stream(REQUEST)
            async for _ in stream:
                pass

    with pytest.raises(ResponseTooLargeError):
        asyncio.run(go())


def test_a_proxy_from_the_environment_gets_httpx_own_transport(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Behind a proxy (HTTPS_PROXY...) httpx's transport, which speaks to proxies, is used;
    otherwise the hardened one."""
    from cf_aig._pool import LeanTransport, uses_proxy

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy",
                 "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    url = "https://api.cloudflare.com/client/v4"
    with Client(account_id="a", api_token=TOKEN) as c:
        assert isinstance(c._pool()._transport, LeanTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert uses_proxy(url)
    with Client(account_id="a", api_token=TOKEN) as c:
        assert not isinstance(c._pool()._transport, LeanTransport)
    monkeypatch.setenv("NO_PROXY", "api.cloudflare.com")
    assert not uses_proxy(url)


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
def test_adapters_get_the_same_edges(hostile: Callable[[Script], HostileServer],
                                     framework: str) -> None:
    """Through both adapters: a malformed Retry-After is ignored (typed rate-limit error,
    3 arrivals), a redirect is typed, a smuggled answer is never delivered."""
    def script(conn: socket.socket, req: bytes, n: int) -> None:
        if n < 3:
            body = b'{"success":false,"errors":[{"code":3040,"message":"busy"}]}'
            conn.sendall(head("429 Too Many Requests", extra="retry-after: soon\r\n"
                              f"content-length: {len(body)}\r\n") + body)
        elif n == 3:
            conn.sendall(b"HTTP/1.1 302 Found\r\nlocation: https://evil.example/\r\n"
                         b"content-length: 0\r\n\r\n")
        elif n == 4:
            conn.sendall(ok_response(completion("first")) + SMUGGLED)
        else:
            conn.sendall(ok_response(completion("real")))

    server = hostile(script)
    kw: dict[str, Any] = {"account_id": "a", "api_token": TOKEN,
                          "base_url": server.base_url, "model": "openai/gpt-5.5"}
    if framework == "langchain":
        from langchain_cf_aig import ChatCloudflareAIGateway

        lc = ChatCloudflareAIGateway(**kw, retry_base_delay=0.01)

        def ask() -> str:
            return str(lc.invoke("hi").content)
    else:
        from llama_index.core.llms import ChatMessage

        from llama_index_cf_aig import CloudflareAIGateway

        li = CloudflareAIGateway(**kw, retry_base_delay=0.01)

        def ask() -> str:
            return str(li.chat([ChatMessage(role="user", content="hi")]).message.content)

    with pytest.raises(RateLimitError):
        ask()
    assert server.arrivals == 3
    with pytest.raises(APIStatusError) as info:  # LangChain's own status error type
        ask()
    assert info.value.status == 302 and "evil.example" in str(info.value)
    assert ask() == "first"
    assert ask() == "real"


def test_redirect_not_followed_even_by_a_user_client_that_would(
        hostile: Callable[[Script], HostileServer]) -> None:
    import httpx

    def redirect(conn: socket.socket, req: bytes, n: int) -> None:
        conn.sendall(b"HTTP/1.1 307 Temporary Redirect\r\nlocation: /client/v4/elsewhere\r\n"
                     b"content-length: 0\r\n\r\n")

    server = hostile(redirect)
    with httpx.Client(follow_redirects=True) as http, \
            client(server, http_client=http) as c, pytest.raises(RedirectError):
        c.chat(REQUEST)
    assert server.arrivals == 1


async def test_async_header_trickle_and_idle_stream_are_bounded(
        hostile: Callable[[Script], HostileServer]) -> None:
    server = hostile(trickle_headers)
    async with aclient(server, total_timeout=1.5) as c:
        with pytest.raises(APITimeoutError, match="total_timeout"):
            await c.chat(REQUEST)
    idle = hostile(keepalive_only)
    async with aclient(idle) as c:
        stream = await c.chat_stream(REQUEST, stream_idle_timeout=1.0)
        got = []
        with pytest.raises(StreamInterruptedError, match="stream_idle_timeout"):
            async for chunk in stream:
                got.append(chunk)
    assert len(got) == 1 and server.arrivals == 1 and idle.arrivals == 1


def trickle_stream(conn: socket.socket, req: bytes, n: int) -> str:
    conn.sendall(head(ctype="text/event-stream", extra="connection: close\r\n"))
    event = (b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",'
             b'"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n')
    for i in range(40):  # a byte every 0.25 s: each read lives, no event completes
        conn.sendall(event[i:i + 1])
        time.sleep(0.25)
    return "close"


async def test_stream_trickle_names_total_timeout_sync_and_async(
        hostile: Callable[[Script], HostileServer]) -> None:
    """The deadline cuts a trickling stream, and the error says it was total_timeout (not a
    read timeout, which the caller would try to fix by raising ``timeout``)."""
    server = hostile(trickle_stream)
    with client(server, total_timeout=1.5) as c, \
            pytest.raises(StreamInterruptedError, match=r"total_timeout=1\.5") as info:
        list(c.chat_stream(REQUEST))
    assert "read timeout" not in str(info.value)
    async with aclient(server) as ac:
        stream = await ac.chat_stream(REQUEST, total_timeout=1.5)
        with pytest.raises(StreamInterruptedError, match=r"total_timeout=1\.5"):
            async for _ in stream:
                pass
    assert server.arrivals == 2
