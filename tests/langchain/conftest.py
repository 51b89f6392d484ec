"""Fixtures for the LangChain adapter tests: one emulator for the session, loopback only.

The standard integration suites download a test image/PDF from GitHub; here those
downloads are answered locally (``offline_downloads``) so that every byte of traffic
stays on 127.0.0.1. Unit suites are run with sockets disabled (pytest-socket).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cf_aig.emulator import Emulator

ACCOUNT = "acc-langchain"
TOKEN = "tok-langchain"

# A 1x1 PNG and a one-page PDF, served in place of the suites' remote fixtures.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

_session_emulator: Emulator | None = None


def emulator() -> Emulator:
    """The session's emulator (started on first use, stopped at session end)."""
    global _session_emulator
    if _session_emulator is None:
        _session_emulator = Emulator().start()
    return _session_emulator


@pytest.fixture(scope="session", autouse=True)
def _stop_emulator() -> Iterator[None]:
    yield
    if _session_emulator is not None:
        _session_emulator.stop()


@pytest.fixture
def emu() -> Emulator:
    """The session emulator, reset for this test."""
    e = emulator()
    e.reset()
    return e


def creds(e: Emulator | None = None) -> dict[str, Any]:
    """Constructor arguments pointing at the emulator."""
    return {"account_id": ACCOUNT, "api_token": TOKEN, "base_url": (e or emulator()).base_url}


_real_get = httpx.get


def _offline_get(url: Any, *args: Any, **kwargs: Any) -> httpx.Response:
    host = httpx.URL(str(url)).host
    if host in ("127.0.0.1", "localhost", "::1"):
        return _real_get(url, *args, **kwargs)
    body = PDF if str(url).lower().endswith(".pdf") else PNG
    ctype = "application/pdf" if body is PDF else "image/png"
    return httpx.Response(
        200, content=body, headers={"content-type": ctype}, request=httpx.Request("GET", url)
    )


@pytest.fixture
def offline_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Answer ``httpx.get`` to non-loopback hosts with local fixture bytes."""
    monkeypatch.setattr(httpx, "get", _offline_get)
