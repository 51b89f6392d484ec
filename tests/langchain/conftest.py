"""Fixtures for the LangChain adapter tests: one emulator for the session, loopback only.

Unit suites run with sockets disabled (pytest-socket); everything else talks to the
emulator on 127.0.0.1 (see ``lc_helpers``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
from lc_helpers import emulator, offline_get, stop_emulator

from cf_aig.emulator import Emulator

# The suites' media downloads are answered locally (offline_get); this only quiets their
# reminder to identify ourselves to the site they would otherwise fetch from.
os.environ.setdefault("LANGCHAIN_TESTS_USER_AGENT", "cf-aig-tests (offline fixtures)")


@pytest.fixture(scope="session", autouse=True)
def _stop_emulator() -> Iterator[None]:
    yield
    stop_emulator()


@pytest.fixture
def emu() -> Emulator:
    """The session emulator, reset for this test."""
    e = emulator()
    e.reset()
    return e


@pytest.fixture
def offline_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Answer ``httpx.get`` to non-loopback hosts with local fixture bytes."""
    monkeypatch.setattr(httpx, "get", offline_get)
