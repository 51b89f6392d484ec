"""Pytest plugin (entry point ``pytest11: cf_aig``): test your app against a local gateway.

Installed with ``cf-aig``; nothing to configure. The fixtures:

* ``cf_aig_emulator`` (function scope): a running :class:`~cf_aig.emulator.Emulator` on
  127.0.0.1, reset (queue, cache, logs, recorded requests, stats) before each test.
  ``base_url``, ``account_url`` and ``account_id`` say where it is; ``requests`` lists what
  it received (Authorization redacted), ``logs`` the gateway log entries, ``stats`` counters.
* ``cf_aig_env`` (function scope): the same emulator, with ``CLOUDFLARE_ACCOUNT_ID``,
  ``CLOUDFLARE_API_TOKEN`` and ``CLOUDFLARE_AI_GATEWAY_BASE_URL`` set to point at it for the
  test (:meth:`~cf_aig.emulator.Emulator.env`), so code that reads credentials from the
  environment (``Client()``, ``ChatCloudflareAIGateway(model=...)``,
  ``CloudflareAIGateway(model=...)``) talks to it unchanged.
* ``cf_aig_emulator_session`` (session scope): the one emulator behind both, not reset.

Its bounds (see :class:`~cf_aig.emulator.server.Limits`) are settable in the ini file:
``cf_aig_emulator_max_request_bytes`` (32 MiB; larger bodies get 413),
``cf_aig_emulator_header_timeout`` (10 s), ``cf_aig_emulator_idle_timeout`` (15 s),
``cf_aig_emulator_body_timeout`` (60 s), ``cf_aig_emulator_max_history`` (10,000 recorded
requests, and logs per gateway).

Answers are deterministic (a text that echoes the prompt, tool calls for forced or obvious
tools, JSON for a schema). To decide the next answers, queue entries with
``emulator.enqueue(*entries, match=None)``; each is used by one later model request, first
in first out, and ``match`` (a path substring such as ``"/ai/v1/messages"``) limits which:

* :class:`Script`: an exact answer: ``Script(text=..., tool_calls=[{"name": ...,
  "arguments": {...}}], reasoning=..., usage={...}, finish_reason=...)``.
* :class:`Fault`: a failure: ``Fault(kind="status", code=3040)`` (429 rate limit; any HTTP
  ``status`` or Cloudflare ``code``, ``envelope`` ``"v4"``/``"gateway"``/``"openai"``/
  ``"anthropic"``, ``retry_after``), ``"hang"`` (``seconds``), ``"disconnect"`` /
  ``"stall"`` / ``"stream_error"`` / ``"malformed_sse"`` after ``after`` SSE events,
  ``"malformed_json"``, ``"success_false"``, ``"json_for_stream"``.
* a plain dict with the same keys (one with ``"kind"`` is a fault, else a script).

Importing this module is cheap: the emulator is imported when a fixture runs or when
``Fault``/``Script``/``Emulator`` is first used from here.

Example test (run by this package's own tests)::

    from cf_aig import Client
    from cf_aig.errors import RateLimitError
    from cf_aig.testing import Fault, Script

    def test_my_app(cf_aig_env):
        cf_aig_env.enqueue(Script(text="Paris"), Fault(kind="status", code=3040))
        with Client(max_retries=0) as client:
            body = {"model": "openai/gpt-5.5", "messages": [{"role": "user", "content": "?"}]}
            assert client.chat(body).text == "Paris"
            with pytest.raises(RateLimitError):
                client.chat(body)
        assert len(cf_aig_env.requests) == 2
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from cf_aig.emulator import Emulator, Fault, Script

__all__ = ["EMULATOR_TOKEN", "Emulator", "Fault", "Script", "cf_aig_emulator",
           "cf_aig_emulator_session", "cf_aig_env"]

EMULATOR_TOKEN = "cf-aig-emulator-token"
"""The API token ``cf_aig_env`` puts in ``CLOUDFLARE_API_TOKEN``."""


def __getattr__(name: str) -> Any:
    if name in ("Emulator", "Fault", "Script"):
        value = getattr(import_module("cf_aig.emulator"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


LIMIT_OPTIONS: dict[str, type] = {"max_request_bytes": int, "header_timeout": float,
                                   "idle_timeout": float, "body_timeout": float,
                                   "max_history": int}
"""Emulator bounds settable as ``cf_aig_emulator_<name>`` ini options."""


def pytest_addoption(parser: pytest.Parser) -> None:
    for name, kind in LIMIT_OPTIONS.items():
        parser.addini(f"cf_aig_emulator_{name}",
                      f"cf_aig emulator fixtures: {name} ({kind.__name__}; default: built-in)")


def _limits(config: pytest.Config) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in LIMIT_OPTIONS.items():
        raw = config.getini(f"cf_aig_emulator_{name}")
        if raw not in (None, "", []):
            try:
                out[name] = kind(str(raw).strip())
            except ValueError:
                raise pytest.UsageError(f"cf_aig_emulator_{name} must be a {kind.__name__}, "
                                        f"got {raw!r}") from None
    return out


@pytest.fixture(scope="session")
def cf_aig_emulator_session(pytestconfig: pytest.Config) -> Iterator[Emulator]:
    """A running emulator shared by the whole test session."""
    from cf_aig.emulator import Emulator

    with Emulator(**_limits(pytestconfig)) as emu:
        yield emu


@pytest.fixture
def cf_aig_emulator(cf_aig_emulator_session: Emulator) -> Emulator:
    """The session emulator, reset for this test."""
    cf_aig_emulator_session.reset()
    return cf_aig_emulator_session


@pytest.fixture
def cf_aig_env(cf_aig_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """Point the ``CLOUDFLARE_*`` environment variables at the emulator (the gateway host's
    ``CLOUDFLARE_AI_GATEWAY_URL`` too, for ``surface="gateway"``)."""
    for name, value in cf_aig_emulator.env(EMULATOR_TOKEN).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CLOUDFLARE_AI_GATEWAY_URL", cf_aig_emulator.gateway_url)
    return cf_aig_emulator
