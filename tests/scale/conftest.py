"""Shared pieces of the scale-out tests: the emulator in a process of its own (so that
spawned workers, Ray actors and forked children all reach it over loopback)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

ACCOUNT = "acc-scale"
TOKEN = "cfat_SCALE_SECRET_9f8e7d6c5b4a"
"""A distinctive API token: no log of any worker may contain it."""


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    """``python -m cf_aig.emulator --port 0`` and the base URL it prints first."""
    proc = subprocess.Popen([sys.executable, "-m", "cf_aig.emulator", "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        proc.kill()
        raise RuntimeError(f"the emulator did not print its base URL: {url!r}")
    return proc, url


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    """Base URL of an emulator running in its own process for this module."""
    proc, url = start_emulator()
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def scale_env(emulator_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``CLOUDFLARE_*`` pointing at the module's emulator process (inherited by workers)."""
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    monkeypatch.setenv("CLOUDFLARE_AI_GATEWAY_BASE_URL", emulator_url)
    return emulator_url
