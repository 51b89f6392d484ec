"""The emulator under hostile clients (issue 13 item 9): request-size cap, head/idle/body
timeouts, bounded history, and one large request not holding up the others.

Every case runs its own small emulator with short limits; sockets carry timeouts, so a
regression fails in seconds instead of hanging (no assertion is about time itself).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import cf_aig
from cf_aig import Client
from cf_aig.emulator import Emulator
from cf_aig.emulator.server import DISCARD_FACTOR, OFFLOAD_BYTES, Limits, Request

MODEL = "@cf/meta/llama-3.1-8b-instruct-fp8"
AUTH = {"authorization": "Bearer t", "content-type": "application/json"}
BOUND = 20.0
"""Socket timeout: how long a test waits for the server before calling it a hang."""


def _url(emu: Emulator) -> str:
    return f"{emu.account_url}/ai/run/{MODEL}"


def _body(n: int) -> bytes:
    """A JSON body of exactly ``n`` bytes."""
    frame = b'{"prompt": ""}'
    return frame[:-2] + b"a" * (n - len(frame)) + frame[-2:]


def _connect(emu: Emulator) -> socket.socket:
    s = socket.create_connection((emu.host, emu.port), timeout=BOUND)
    s.settimeout(BOUND)
    return s


def _read_all(s: socket.socket) -> bytes:
    """Everything the server sends until it closes (a timeout here is a failure)."""
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return out
        if not chunk:
            return out
        out += chunk


def _head(path: str, length: int | None = None, chunked: bool = False) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "host: x", "authorization: Bearer t",
             "content-type: application/json"]
    if length is not None:
        lines.append(f"content-length: {length}")
    if chunked:
        lines.append("transfer-encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture
def small_emu() -> Iterator[Emulator]:
    with Emulator(max_request_bytes=64 * 1024, header_timeout=1.0, idle_timeout=1.0,
                  body_timeout=1.5, max_history=5) as emu:
        yield emu


# ---- request size -------------------------------------------------------------------


def test_limits_validate_their_values() -> None:
    for bad in ({"max_request_bytes": 0}, {"header_timeout": 0}, {"idle_timeout": -1},
                {"body_timeout": True}, {"max_request_bytes": 1.5}):
        with pytest.raises(ValueError):
            Limits(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_history"):
        Emulator(max_history=0)


def test_body_at_the_cap_is_served_and_one_byte_more_gets_413(small_emu: Emulator) -> None:
    cap = small_emu._server.limits.max_request_bytes
    ok = httpx.post(_url(small_emu), content=_body(cap), headers=AUTH, timeout=BOUND)
    assert ok.status_code == 200, ok.text
    big = httpx.post(_url(small_emu), content=_body(cap + 1), headers=AUTH, timeout=BOUND)
    assert big.status_code == 413
    assert big.json()["errors"][0]["code"] == 3006
    assert str(cap) in big.json()["errors"][0]["message"]
    assert big.headers["connection"] == "close"
    assert small_emu.stats.too_large == 1
    assert len(small_emu.requests) == 1  # the oversized one reached no handler


def test_chunked_body_over_the_cap_gets_413_and_is_not_kept(small_emu: Emulator) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"prompt": "'
        for _ in range(40):  # 40 x 16 KiB = 640 KiB, ten times the cap
            yield b"a" * 16384
        yield b'"}'

    r = httpx.post(_url(small_emu), content=chunks(), headers=AUTH, timeout=BOUND)
    assert r.status_code == 413 and r.json()["errors"][0]["code"] == 3006
    assert small_emu.requests == [] and small_emu.stats.too_large == 1


def test_endless_body_is_cut_after_draining_a_bounded_amount(small_emu: Emulator) -> None:
    cap = small_emu._server.limits.max_request_bytes
    s = _connect(small_emu)
    s.sendall(_head(f"/client/v4/accounts/emulator/ai/run/{MODEL}", chunked=True))
    sent = 0
    block = b"%x\r\n%s\r\n" % (65536, b"a" * 65536)
    try:
        while sent < 64 * 2**20:  # far more than the server drains
            s.sendall(block)
            sent += 65536
    except (BrokenPipeError, ConnectionResetError):
        pass
    answer = _read_all(s)
    s.close()
    # (what the loopback socket buffers absorb comes on top of what the server drained)
    assert sent <= DISCARD_FACTOR * cap + 16 * 2**20, "the server kept reading an endless body"
    if answer:  # the 413 may be lost to a reset when the client is still writing
        assert answer.startswith(b"HTTP/1.1 413")
    assert small_emu.stats.too_large == 1


def test_core_client_gets_a_typed_413_sent_once(small_emu: Emulator) -> None:
    with Client(account_id="emulator", api_token="t", base_url=small_emu.base_url,
                retry_base_delay=0.01) as client, pytest.raises(cf_aig.APIStatusError) as info:
        client.run(MODEL, {"prompt": "a" * 100_000})
    assert info.value.status == 413 and info.value.code == 3006
    assert small_emu.stats.too_large == 1  # not retried: 413 / 3006 is final


# ---- slow and silent clients ---------------------------------------------------------


def _slowloris_count(wanted: int = 500) -> int:
    """``wanted``, or fewer when the fd limit cannot hold 2 x wanted sockets plus slack."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * wanted + 256
    if soft < need and (hard == resource.RLIM_INFINITY or hard >= need):
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        soft = need
    return min(wanted, (soft - 256) // 2)


def test_slowloris_connections_are_dropped_and_do_not_block_others(
        small_emu: Emulator) -> None:
    count = _slowloris_count()
    assert count >= 100
    socks = []
    try:
        for _ in range(count):
            s = _connect(small_emu)
            s.sendall(b"POST /client/v4/accounts/emulator/ai/run/x HTTP/1.1\r\nhost: x\r\n")
            socks.append(s)
        # a normal request is served while they are held
        r = httpx.post(_url(small_emu), json={"prompt": "hi"}, headers=AUTH, timeout=BOUND)
        assert r.status_code == 200
        # each slowloris connection is closed by the server (a hang would time out here)
        for s in socks:
            assert _read_all(s) == b""
    finally:
        for s in socks:
            s.close()
    assert small_emu.stats.timeouts >= count
    assert small_emu.stats.requests == 1


def test_trickled_head_is_dropped_at_the_header_timeout(small_emu: Emulator) -> None:
    """A byte every 0.2 s is never idle for 1 s, but the head's clock still runs out."""
    s = _connect(small_emu)
    head = _head("/client/v4/x", length=2)
    sent, closed = 0, False
    try:
        for i in range(len(head)):
            s.sendall(head[i:i + 1])
            sent += 1
            if _poll(s, 0.2):
                closed = s.recv(1) == b""
                break
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    finally:
        s.close()
    assert closed and sent < len(head), "the whole trickled head was accepted"
    assert small_emu.stats.timeouts == 1 and small_emu.stats.requests == 0


def _poll(s: socket.socket, seconds: float) -> bool:
    import select

    return bool(select.select([s], [], [], seconds)[0])


def test_idle_keep_alive_connection_is_closed(small_emu: Emulator) -> None:
    s = _connect(small_emu)
    body = json.dumps({"prompt": "hi"}).encode()
    s.sendall(_head(f"/client/v4/accounts/emulator/ai/run/{MODEL}", length=len(body)) + body)
    answer = _read_all(s)  # served, then closed after the idle timeout
    s.close()
    assert answer.startswith(b"HTTP/1.1 200")
    assert small_emu.stats.timeouts == 1


def test_trickled_body_gets_408(small_emu: Emulator) -> None:
    s = _connect(small_emu)
    s.sendall(_head(f"/client/v4/accounts/emulator/ai/run/{MODEL}", length=1000) + b"{")
    answer = b""
    try:
        for _ in range(200):  # one byte every 0.1 s: never idle, but the body is late
            if _poll(s, 0.1):
                answer = _read_all(s)
                break
            s.sendall(b" ")
    except (BrokenPipeError, ConnectionResetError):
        pass
    s.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert b'"code": 3007' in answer
    assert small_emu.requests == []


# ---- history ------------------------------------------------------------------------


def test_history_is_bounded_and_reset_still_clears_it(small_emu: Emulator) -> None:
    with httpx.Client(timeout=BOUND) as http:
        for i in range(12):
            http.post(_url(small_emu), json={"prompt": f"p{i}"}, headers=AUTH)
    prompts = [r.json["prompt"] for r in small_emu.requests]
    assert prompts == [f"p{i}" for i in range(7, 12)]  # the newest five
    assert len(small_emu.logs) == 5
    small_emu.reset()
    assert small_emu.requests == [] and small_emu.logs == []
    httpx.post(_url(small_emu), json={"prompt": "again"}, headers=AUTH, timeout=BOUND)
    assert [r.json["prompt"] for r in small_emu.requests] == ["again"]


# ---- one large request does not hold up the others ----------------------------------


def test_a_body_in_flight_does_not_block_other_requests(small_emu: Emulator) -> None:
    cap = small_emu._server.limits.max_request_bytes
    body = _body(cap)
    s = _connect(small_emu)
    s.sendall(_head(f"/client/v4/accounts/emulator/ai/run/{MODEL}", length=len(body))
              + body[: cap // 2])
    r = httpx.post(_url(small_emu), json={"prompt": "hi"}, headers=AUTH, timeout=BOUND)
    assert r.status_code == 200  # served while the other body is half-way
    s.sendall(body[cap // 2:])
    assert _read_all_one_response(s).startswith(b"HTTP/1.1 200")
    s.close()


def _read_all_one_response(s: socket.socket) -> bytes:
    out = b""
    while b"\r\n\r\n" not in out:
        out += s.recv(65536)
    return out


def test_a_large_body_is_handled_off_the_event_loop() -> None:
    """The handler of a large body waits for a small request to be served first: that
    can only happen when the large one runs off the event loop."""
    with Emulator(max_request_bytes=4 * OFFLOAD_BYTES) as emu:
        server = emu._server
        inner = server._handler
        small_served = threading.Event()
        seen_by_large: list[bool] = []

        def handler(request: Request) -> object:
            if len(request.body) > OFFLOAD_BYTES:
                seen_by_large.append(small_served.wait(BOUND))
            else:
                reply = inner(request)
                small_served.set()
                return reply
            return inner(request)

        server._handler = handler  # type: ignore[assignment]
        results: list[int] = []
        big = threading.Thread(target=lambda: results.append(httpx.post(
            _url(emu), content=_body(2 * OFFLOAD_BYTES), headers=AUTH,
            timeout=BOUND + 10).status_code))
        big.start()
        for _ in range(2000):  # until the large request reached its handler
            if emu.stats.requests:
                break
            threading.Event().wait(0.01)
        small = httpx.post(_url(emu), json={"prompt": "hi"}, headers=AUTH, timeout=BOUND)
        big.join(BOUND + 15)
        assert small.status_code == 200
        assert seen_by_large == [True], "the small request waited for the large handler"
        assert results == [200]


# ---- the pytest plugin's settings ---------------------------------------------------

PLUGIN_TEST = '''
import httpx


def test_bounds_from_ini(cf_aig_emulator):
    url = cf_aig_emulator.account_url + "/ai/run/@cf/meta/llama-3.1-8b-instruct-fp8"
    auth = {"authorization": "Bearer t"}
    assert httpx.post(url, content=b"x" * 2000, headers=auth).status_code == 413
    for i in range(4):
        httpx.post(url, json={"prompt": str(i)}, headers=auth)
    assert [r.json["prompt"] for r in cf_aig_emulator.requests] == ["2", "3"]
'''


def test_plugin_takes_the_emulator_bounds_from_the_ini_file(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\ncf_aig_emulator_max_request_bytes = 1000\n"
        "cf_aig_emulator_max_history = 2\ncf_aig_emulator_header_timeout = 2.5\n")
    (tmp_path / "test_bounds.py").write_text(PLUGIN_TEST)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(tmp_path)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout
