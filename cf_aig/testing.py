"""Pytest plugin (entry point ``pytest11: cf_aig``): fixtures running the local emulator.

Fixtures:

* ``cf_aig_emulator_session`` (session): one running :class:`cf_aig.emulator.Emulator`.
* ``cf_aig_emulator`` (function): the same emulator, reset (queue, cache, logs, requests,
  stats cleared) before the test.
* ``cf_aig_env`` (function): sets ``CLOUDFLARE_ACCOUNT_ID``, ``CLOUDFLARE_API_TOKEN`` and
  ``CLOUDFLARE_AI_GATEWAY_BASE_URL`` to point at the emulator; yields the emulator.

Importing this module is cheap: the emulator is imported only when a fixture runs.

Example test::

    def test_hello(cf_aig_emulator):
        cf_aig_emulator.enqueue({"text": "hi"})
        ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from cf_aig.emulator import Emulator

EMULATOR_TOKEN = "cf-aig-emulator-token"
"""The API token ``cf_aig_env`` puts in ``CLOUDFLARE_API_TOKEN``."""


@pytest.fixture(scope="session")
def cf_aig_emulator_session() -> Iterator[Emulator]:
    """A running emulator shared by the whole test session."""
    from cf_aig.emulator import Emulator

    with Emulator() as emu:
        yield emu


@pytest.fixture
def cf_aig_emulator(cf_aig_emulator_session: Emulator) -> Emulator:
    """The session emulator, reset for this test."""
    cf_aig_emulator_session.reset()
    return cf_aig_emulator_session


@pytest.fixture
def cf_aig_env(cf_aig_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """Point the ``CLOUDFLARE_*`` environment variables at the emulator."""
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", cf_aig_emulator.account_id)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", EMULATOR_TOKEN)
    monkeypatch.setenv("CLOUDFLARE_AI_GATEWAY_BASE_URL", cf_aig_emulator.base_url)
    return cf_aig_emulator
