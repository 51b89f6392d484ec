"""A local Cloudflare AI Gateway on loopback, speaking the same wire as api.cloudflare.com.

Routes (under ``/client/v4/accounts/{account_id}/``): ``ai/v1/chat/completions``,
``ai/v1/messages`` (Anthropic), ``ai/v1/responses`` (OpenAI Responses),
``ai/v1/embeddings``, ``ai/run`` (unified), ``ai/run/{model}`` (Workers AI) and the logs
API ``ai-gateway/gateways/{gw}/logs[/{id}]``, the catalogue ``ai/models/search`` and
``ai/models/schema``; and the gateway host ``/v1/{account}/{gateway}/compat/...`` (chat
completions, responses; dynamic routes, the Auto Router; see :attr:`Emulator.gateway` for
its auth, policies and model lifecycle). Answers come from a deterministic engine;
faults and exact answers can be queued. Run ``python -m cf_aig.emulator`` for a CLI.

>>> import httpx
>>> with Emulator() as emu:
...     r = httpx.post(f"{emu.account_url}/ai/v1/chat/completions",
...                    headers={"Authorization": "Bearer test"},
...                    json={"model": "openai/gpt-5-mini",
...                          "messages": [{"role": "user", "content": "Hello there"}]})
...     emu.enqueue(Fault(kind="status", code=3040))   # the next model call gets 429/3040
...     (r.status_code, r.headers["cf-aig-cache-status"], emu.stats.requests)
(200, 'MISS', 1)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from .engine import Script
from .faults import Fault
from .gateway_host import GatewayConfig
from .routes import App
from .server import Limits, Server
from .store import DEFAULT_MAX_HISTORY, RecordedRequest, State, Stats

__all__ = ["Emulator", "Fault", "RecordedRequest", "Script", "Stats"]

QueueItem = Fault | Script | Mapping[str, Any]


class Emulator:
    """The emulator on a background thread with its own event loop.

    ``token``: accept only this bearer token (default: any non-empty token).
    ``gateways``: gateway ids that exist (``default`` always does).
    ``stream_delay``: seconds between SSE events (0 = as fast as possible).
    ``max_request_bytes``, ``header_timeout``, ``idle_timeout``, ``body_timeout``: what one
    client may make it hold (see :class:`~cf_aig.emulator.server.Limits`: 32 MiB, 10 s,
    15 s, 60 s). ``max_history``: recorded requests, and logs per gateway, kept (10,000).

    >>> import httpx
    >>> with Emulator(gateways=["prod"]) as emu:
    ...     emu.enqueue(Script(text="scripted"), Fault(kind="status", code=3040))
    ...     url = f"{emu.account_url}/ai/run/@cf/meta/llama-3.1-8b-instruct-fp8"
    ...     auth = {"Authorization": "Bearer t", "cf-aig-gateway-id": "prod"}
    ...     first = httpx.post(url, headers=auth, json={"prompt": "hi"}).json()["result"]
    ...     second = httpx.post(url, headers=auth, json={"prompt": "hi"})
    ...     (first["response"], second.status_code, len(emu.logs))
    ('scripted', 429, 2)
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str | None = None,
                 gateways: Iterable[str] = ("default",), *, account_id: str = "emulator",
                 stream_delay: float = 0.0, max_request_bytes: int = Limits.max_request_bytes,
                 header_timeout: float = Limits.header_timeout,
                 idle_timeout: float = Limits.idle_timeout,
                 body_timeout: float = Limits.body_timeout,
                 max_history: int = DEFAULT_MAX_HISTORY) -> None:
        self.host = host
        self.port = port
        self.account_id = account_id
        self.state = State({"default", *gateways}, max_history)
        self._app = App(self.state, token, stream_delay)
        self._server = Server(self._app, lambda: self.state.stats, Limits(
            max_request_bytes, header_timeout, idle_timeout, body_timeout))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"Emulator(base_url={self.base_url!r})"

    @property
    def base_url(self) -> str:
        """``http://host:port/client/v4``, the stand-in for https://api.cloudflare.com/client/v4."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/client/v4"

    def env(self, token: str = "emulator-token") -> dict[str, str]:
        """The ``CLOUDFLARE_*`` variables that point ``cf_aig`` and both adapters here.

        Any account id and any non-empty token are accepted (unless the emulator was given
        ``token=``, then pass that one).

        >>> Emulator(port=8787).env()  # doctest: +NORMALIZE_WHITESPACE
        {'CLOUDFLARE_AI_GATEWAY_BASE_URL': 'http://127.0.0.1:8787/client/v4',
         'CLOUDFLARE_ACCOUNT_ID': 'emulator', 'CLOUDFLARE_API_TOKEN': 'emulator-token'}
        """
        return {"CLOUDFLARE_AI_GATEWAY_BASE_URL": self.base_url,
                "CLOUDFLARE_ACCOUNT_ID": self.account_id, "CLOUDFLARE_API_TOKEN": token}

    @property
    def gateway_url(self) -> str:
        """``http://host:port/v1``, the stand-in for https://gateway.ai.cloudflare.com/v1."""
        return self.base_url.rsplit("/client/v4", 1)[0] + "/v1"

    @property
    def gateway(self) -> GatewayConfig:
        """Gateway-host auth, dynamic routes, policies and lifecycle (mutable; see
        :mod:`cf_aig.emulator.gateway_host`)."""
        return self._app.gateway_config

    @property
    def account_url(self) -> str:
        """``base_url`` plus ``/accounts/{account_id}``."""
        return f"{self.base_url}/accounts/{self.account_id}"

    def start(self) -> Emulator:
        """Bind and serve on a daemon thread; returns self once listening."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                self.port = loop.run_until_complete(self._server.start(self.host, self.port))
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._server.stop())
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.close()

        self._thread = threading.Thread(target=run, name="cf-aig-emulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def enqueue(self, *entries: QueueItem, match: str | None = None) -> None:
        """Queue faults or scripted answers; each is used by one later model request.

        Dicts with a ``kind`` key are faults, other dicts are scripts. ``match``
        (a path substring) applies to entries that do not set their own.
        """
        items: list[Fault | Script] = []
        for entry in entries:
            if isinstance(entry, Mapping):
                entry = Fault.from_dict(entry) if "kind" in entry else Script.from_dict(entry)
            if entry.match is None:
                entry.match = match
            items.append(entry)
        with self.state.lock:
            self.state.queue.extend(items)

    def reset(self) -> None:
        """Clear the queue, cache, logs, recorded requests and stats; gateway settings
        back to their defaults."""
        self.state.reset()
        self._app.gateway_config.reset()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests received so far, the last ``max_history`` (Authorization redacted)."""
        with self.state.lock:
            return list(self.state.requests)

    @property
    def stats(self) -> Stats:
        """Live counters: connections opened, requests, client disconnects."""
        return self.state.stats

    @property
    def logs(self) -> list[dict[str, Any]]:
        """Every stored log entry, oldest first, across gateways."""
        with self.state.lock:
            rows = [dict(e) for g in self.state.logs.values() for e in g.values()]
        return sorted(rows, key=lambda e: str(e["id"]))

    @property
    def webhooks(self) -> list[tuple[str, Any]]:
        """Webhook deliveries background runs would have POSTed, as ``(url, body)``."""
        with self.state.lock:
            return list(self.state.webhooks)

    @property
    def pending(self) -> int:
        """How many queued entries are still unused."""
        return len(self.state.queue)
