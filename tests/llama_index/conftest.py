"""Fixtures for the LlamaIndex adapter tests: one loopback emulator per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cf_aig.emulator import Emulator

_ENV = (
    "CLOUDFLARE_ACCOUNT_ID",
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_AI_GATEWAY_ID",
    "CLOUDFLARE_AI_GATEWAY_BASE_URL",
    "OPENAI_API_KEY",
)


@pytest.fixture(scope="session")
def li_emulator_session() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(li_emulator_session: Emulator) -> Emulator:
    """The session emulator, reset (queue, cache, logs, requests) for this test."""
    li_emulator_session.reset()
    return li_emulator_session


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ambient credentials: every test states its configuration."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
