"""A per-process request rate limiter, framework-free and LangChain-compatible.

:class:`RateLimiter` spaces requests to ``requests_per_second`` on average, allowing
bursts of ``burst``. The core clients take it (``Client(rate_limit=5.0)`` or
``rate_limit=RateLimiter(...)``) and consult it before *every* HTTP attempt, retries
included, without blocking an event loop: the call plan sleeps the reserved delay.

It has LangChain's ``BaseRateLimiter`` methods (``acquire(blocking=True)``,
``aacquire(blocking=True)``), so the LangChain chat model's ``rate_limiter`` field
accepts it too (``langchain_cf_aig`` registers it as a virtual subclass).

**Across processes** each process has its own bucket (a pickled or forked limiter
starts fresh). To respect an account-wide limit with N workers (Ray actors, pool
processes), give each worker its share: :meth:`RateLimiter.per_worker` (for
example 200 requests per 60 s per gateway = 3.33/s; 4 workers get 0.83/s each).
Every worker also backs off on 429 (3040 capacity, 2003 gateway rate limit), honouring
``Retry-After``; a client with a limiter pauses its whole bucket for that long, so the
other calls of that process wait too.

>>> limiter = RateLimiter(2.0, burst=2, clock=lambda: 0.0)
>>> [limiter.reserve() for _ in range(4)]
[0.0, 0.0, 0.5, 1.0]
>>> RateLimiter.per_worker(200 / 60, workers=4).requests_per_second
0.8333333333333334
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from .errors import ConfigurationError


class RateLimiter:
    """Token bucket (GCRA) for one process; see the module docstring.

    >>> RateLimiter(10).acquire()
    True
    """

    def __init__(
        self,
        requests_per_second: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        rps = requests_per_second
        if isinstance(rps, bool) or not isinstance(rps, (int, float)) or not rps > 0:
            raise ConfigurationError(
                f"requests_per_second must be a number > 0, got {requests_per_second!r}"
            )
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ConfigurationError(f"burst must be an integer >= 1, got {burst!r}")
        self.requests_per_second = float(rps)
        self.burst = burst
        self._clock = clock
        self._interval = 1.0 / self.requests_per_second
        self._tolerance = (burst - 1) * self._interval
        self._tat = 0.0  # theoretical arrival time of the next request
        self._lock = threading.Lock()
        self._pid = os.getpid()

    @classmethod
    def per_worker(cls, account_rps: float, *, workers: int, burst: int = 1) -> RateLimiter:
        """A limiter for one of ``workers`` processes sharing ``account_rps``."""
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigurationError(f"workers must be an integer >= 1, got {workers!r}")
        return cls(account_rps / workers, burst=burst)

    def __repr__(self) -> str:
        return f"RateLimiter(requests_per_second={self.requests_per_second}, burst={self.burst})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        state["_tat"] = 0.0  # a new process starts with a full bucket of its own
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _guard(self) -> threading.Lock:
        if self._pid != os.getpid():  # forked: the parent's lock may be held forever
            self._lock, self._pid, self._tat = threading.Lock(), os.getpid(), 0.0
        return self._lock

    def reserve(self) -> float:
        """Take the next slot; returns the seconds to wait before sending (0 = now)."""
        with self._guard():
            now = self._clock()
            tat = max(self._tat, now)
            self._tat = tat + self._interval
            return max(0.0, tat - self._tolerance - now)

    def pause(self, seconds: float) -> None:
        """Hold every later request back ``seconds`` from now (after a 429 Retry-After)."""
        with self._guard():
            self._tat = max(self._tat, self._clock() + max(0.0, seconds) + self._tolerance)

    def _try(self) -> bool:
        with self._guard():
            now = self._clock()
            tat = max(self._tat, now)
            if tat - self._tolerance > now:
                return False
            self._tat = tat + self._interval
            return True

    def acquire(self, *, blocking: bool = True) -> bool:
        """LangChain-style: take a slot, sleeping if needed; non-blocking may say False."""
        if not blocking:
            return self._try()
        wait = self.reserve()
        if wait > 0:
            time.sleep(wait)
        return True

    async def aacquire(self, *, blocking: bool = True) -> bool:
        """Async :meth:`acquire` (sleeps with ``asyncio.sleep``)."""
        if not blocking:
            return self._try()
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)
        return True


def as_limiter(value: float | RateLimiter | None) -> RateLimiter | None:
    """``rate_limit=`` argument → limiter (a number means requests per second).

    >>> as_limiter(4).requests_per_second, as_limiter(None)
    (4.0, None)
    """
    if value is None or isinstance(value, RateLimiter):
        return value
    return RateLimiter(value)


__all__ = ["RateLimiter", "as_limiter"]
