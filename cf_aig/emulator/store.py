"""Emulator state shared by the server thread and the Python handle.

Every mutation holds one lock, so the test thread may enqueue, read logs or reset while
the server runs.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .engine import Script
from .faults import Fault

REDACTED = "<redacted>"
MAX_STORED_RESPONSES = 10_000
DEFAULT_MAX_HISTORY = 10_000
"""Recorded requests, and log entries per gateway, kept (the oldest go first)."""


@dataclass
class Stats:
    """Counters for connection-reuse and cancellation tests."""

    connections_opened: int = 0
    requests: int = 0
    disconnects: int = 0
    """Streams the client closed before the last event was sent."""
    timeouts: int = 0
    """Connections dropped (or answered 408) for a slow head, body or idle silence."""
    too_large: int = 0
    """Requests answered 413 for a body above ``max_request_bytes``."""


@dataclass
class RecordedRequest:
    """One request as the emulator saw it; the Authorization value is redacted."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    json: Any
    _authorization: str | None = field(default=None, repr=False, compare=False)

    def bearer_is(self, token: str) -> bool:
        """True when the request carried ``Authorization: Bearer <token>``."""
        return self._authorization is not None and hmac.compare_digest(
            self._authorization, f"Bearer {token}")


QueueEntry = Fault | Script


@dataclass
class CacheEntry:
    expires: float
    status: int
    content_type: str
    body: bytes
    model: str
    provider: str


class State:
    """Queue, cache, logs, recorded requests and stats."""

    def __init__(self, gateways: set[str], max_history: int = DEFAULT_MAX_HISTORY) -> None:
        if isinstance(max_history, bool) or not isinstance(max_history, int) or max_history < 1:
            raise ValueError(f"max_history must be an int >= 1, got {max_history!r}")
        self.max_history = max_history
        self.lock = threading.Lock()
        self.gateways = gateways
        self.queue: deque[QueueEntry] = deque()
        self.cache: dict[str, CacheEntry] = {}
        self.logs: dict[str, dict[str, dict[str, Any]]] = {g: {} for g in gateways}
        self.requests: deque[RecordedRequest] = deque(maxlen=max_history)
        self.stats = Stats()
        self.affinity: dict[str, set[str]] = {}
        self.responses: dict[str, list[dict[str, Any]]] = {}
        """Stored Responses conversations by response id (``previous_response_id``)."""
        self.batches: dict[str, Any] = {}
        self.webhooks: list[tuple[str, Any]] = []
        """Webhook POSTs background runs would have made: ``(url, body)``."""
        """Async batch jobs by request id (see ``batch.py``)."""
        self.clock: Callable[[], float] = time.monotonic

    def reset(self) -> None:
        with self.lock:
            self.queue.clear()
            self.cache.clear()
            self.logs = {g: {} for g in self.gateways}
            self.requests.clear()
            self.stats = Stats()
            self.affinity.clear()
            self.responses.clear()
            self.batches.clear()
            self.webhooks.clear()

    def take(self, path: str) -> QueueEntry | None:
        """Pop the first queued entry whose ``match`` is in ``path`` (or has none)."""
        with self.lock:
            for i, entry in enumerate(self.queue):
                if entry.match is None or entry.match in path:
                    del self.queue[i]
                    return entry
        return None

    def cache_get(self, key: str) -> CacheEntry | None:
        with self.lock:
            entry = self.cache.get(key)
            if entry is not None and entry.expires < self.clock():
                del self.cache[key]
                return None
            return entry

    def cache_put(self, key: str, ttl: int, entry: CacheEntry) -> None:
        entry.expires = self.clock() + ttl
        with self.lock:
            self.cache[key] = entry

    def add_log(self, gateway: str, entry: dict[str, Any]) -> None:
        with self.lock:
            logs = self.logs.setdefault(gateway, {})
            logs[entry["id"]] = entry
            while len(logs) > self.max_history:
                del logs[next(iter(logs))]

    def remember_response(self, response_id: str, conversation: list[dict[str, Any]]) -> None:
        """Keep a Responses conversation (the oldest go beyond ``MAX_STORED_RESPONSES``)."""
        with self.lock:
            self.responses[response_id] = conversation
            while len(self.responses) > MAX_STORED_RESPONSES:
                del self.responses[next(iter(self.responses))]

    def seen_prompt(self, affinity: str, digest: str) -> bool:
        """Remember ``digest`` under a session-affinity key; True when seen before."""
        with self.lock:
            seen = self.affinity.setdefault(affinity, set())
            hit = digest in seen
            seen.add(digest)
            return hit
