"""Load and resources, without timing: a 1,000-call burst and 200 concurrent streams through
one model instance, 1,000 streams abandoned early, and several event loops in sequence.

Each check counts things: requests and connections at the emulator, open file descriptors
(``/proc/self/fd``; the emulator's server-side sockets are in this process too), asyncio
tasks, live httpx/httpcore/cf_aig objects, and ``ResourceWarning``s. Waiting for the
emulator to notice a close is bounded polling, never an assertion on time.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import cf_aig
from cf_aig.client import DEFAULT_LIMITS
from cf_aig.emulator import Emulator

from .conftest import MODEL, PROMPT, Driver, creds

BURST = 1000
"""Concurrent calls through one model instance."""
SMALL_POOL_BURST = 300
"""Concurrent calls through a caller-provided 20-connection httpx pool (httpcore's own
pool, whose bookkeeping is O(queue x connections) per event, so kept smaller)."""
STREAMS = 200
ABANDONED = 1000
ADAPTER_ABANDONED = 500
WAVE = 100
SYNC_ABANDONED = 100
SMALL_POOL = 20
REQ = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]}
POOL = DEFAULT_LIMITS.max_connections or 100

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def live_objects() -> dict[str, int]:
    """Live instances of the classes a leak would keep alive."""
    gc.collect()
    kinds = (httpx.Response, httpx.AsyncClient, cf_aig.AsyncStream, cf_aig.Stream,
             cf_aig.client.ChatResult)
    counts = dict.fromkeys((k.__name__ for k in kinds), 0)
    for obj in gc.get_objects():
        for k in kinds:
            if isinstance(obj, k):
                counts[k.__name__] += 1
    return counts


def settle(check: Callable[[], bool], limit: float = 10.0) -> None:
    """Poll until ``check()`` holds or ``limit`` seconds pass (the caller asserts after)."""
    end = time.monotonic() + limit
    gc.collect()
    while not check() and time.monotonic() < end:
        time.sleep(0.02)


@contextlib.contextmanager
def no_unclosed_warnings() -> Iterator[list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield caught
        gc.collect()
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert unclosed == [], unclosed[:3]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


@pytest.fixture(scope="module")
def slow_emu() -> Iterator[Emulator]:
    """Streams that last long enough (20 ms between events) to be abandoned mid-way."""
    with Emulator(stream_delay=0.02) as e:
        yield e


@pytest.fixture(scope="module")
def reference(emu: Emulator) -> str:
    with cf_aig.Client(**creds(emu.base_url)) as c:
        return c.chat(REQ).text


def _fresh(e: Emulator) -> Emulator:
    e.reset()
    settle(lambda: True, 0)
    return e


def with_pool(driver: Driver, base_url: str) -> tuple[Any, httpx.AsyncClient]:
    """``driver``'s model on a caller-provided 20-connection pool (one instance)."""
    http = httpx.AsyncClient(limits=httpx.Limits(max_connections=SMALL_POOL,
                                                 max_keepalive_connections=SMALL_POOL))
    field = {"core": "http_client", "langchain": "http_async_client",
             "llama_index": "async_http_client"}[driver.framework]
    return driver.make(base_url, **{field: http}), http


async def _close(driver: Driver, model: Any, http: httpx.AsyncClient | None = None) -> None:
    if driver.framework == "core":
        await model.aclose()
    else:  # the adapters' core client: what a careful user closes at the end
        await model.async_client.aclose()
    if http is not None:
        await http.aclose()


async def _tasks_settled(tasks0: int) -> int:
    """Task count once pending async-generator finalizers (``aclose`` tasks) have run."""
    for _ in range(50):
        if len(asyncio.all_tasks()) <= tasks0:
            break
        await asyncio.sleep(0)
    return len(asyncio.all_tasks())


# ---- bursts -------------------------------------------------------------------------


@pytest.mark.parametrize(("framework", "pool", "n"), [
    ("core", "default", BURST), ("langchain", "default", BURST),
    ("llama_index", "default", BURST), ("core", "small", SMALL_POOL_BURST)])
def test_concurrent_burst_reuses_connections_and_leaks_nothing(
        emu: Emulator, reference: str, framework: str, pool: str, n: int) -> None:
    _fresh(emu)
    driver = Driver(framework, "async", "invoke")
    fd0, objs0 = fds(), live_objects()
    http = None
    if pool == "small":
        model, http = with_pool(driver, emu.base_url)
    else:
        model = driver.make(emu.base_url)

    async def burst() -> None:
        tasks0 = len(asyncio.all_tasks())
        texts = await asyncio.gather(*(driver.run(model, []) for _ in range(n)))
        assert texts == [reference] * n
        assert await _tasks_settled(tasks0) == tasks0
        await _close(driver, model, http)

    with no_unclosed_warnings():
        asyncio.run(burst())
    model = http = None  # drop our references before counting live objects
    stats = emu.stats
    assert stats.requests == n
    # reused: never one connection per call
    assert stats.connections_opened <= (SMALL_POOL if pool == "small" else POOL)
    settle(lambda: fds() <= fd0)
    assert fds() <= fd0
    assert live_objects() == objs0


@pytest.mark.parametrize("framework", ["core", "langchain", "llama_index"])
def test_concurrent_streams_complete_and_leak_nothing(emu: Emulator, reference: str,
                                                      framework: str) -> None:
    _fresh(emu)
    driver = Driver(framework, "async", "stream")
    fd0, objs0 = fds(), live_objects()
    model, http = driver.make(emu.base_url), None

    async def streams() -> None:
        tasks0 = len(asyncio.all_tasks())
        texts = await asyncio.gather(*(driver.run(model, []) for _ in range(STREAMS)))
        assert texts == [reference] * STREAMS
        assert await _tasks_settled(tasks0) == tasks0
        await _close(driver, model, http)

    with no_unclosed_warnings():
        asyncio.run(streams())
    model = http = None  # drop our references before counting live objects
    assert emu.stats.requests == STREAMS and emu.stats.connections_opened <= POOL
    assert emu.stats.disconnects == 0
    settle(lambda: fds() <= fd0)
    assert fds() <= fd0
    assert live_objects() == objs0


# ---- abandoned streams ----------------------------------------------------------------


async def _first_then_leave(driver: Driver, model: Any, how: str, gate: asyncio.Semaphore
                            ) -> int:
    """Open a stream, take one piece, then leave (``break`` or task cancel)."""
    async with gate:
        got = asyncio.Event()
        pieces: list[Any] = []

        async def consume() -> None:
            if driver.framework == "core":
                stream = await model.chat_stream(REQ)
                async with stream:
                    async for ch in stream:
                        pieces.append(ch)
                        got.set()
                        if how == "break":
                            break
                        await asyncio.sleep(10)
            elif driver.framework == "langchain":
                async for ch in model.astream(PROMPT):
                    pieces.append(ch)
                    got.set()
                    if how == "break":
                        break
                    await asyncio.sleep(10)
            else:
                async for r in await model.astream_chat(
                        [__import__("llama_index.core.llms", fromlist=["ChatMessage"])
                         .ChatMessage(role="user", content=PROMPT)]):
                    pieces.append(r)
                    got.set()
                    if how == "break":
                        break
                    await asyncio.sleep(10)

        task = asyncio.ensure_future(consume())
        if how == "cancel":
            await got.wait()
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return len(pieces)


@pytest.mark.parametrize("how", ["break", "cancel"])
@pytest.mark.parametrize(("framework", "n"), [("core", ABANDONED),
                                              ("langchain", ADAPTER_ABANDONED),
                                              ("llama_index", ADAPTER_ABANDONED)])
def test_abandoned_async_streams_close_every_connection(slow_emu: Emulator, framework: str,
                                                        n: int, how: str) -> None:
    e = _fresh(slow_emu)
    driver = Driver(framework, "async", "stream")
    model = driver.make(e.base_url)
    fd0, objs0 = fds(), live_objects()

    async def run() -> None:
        tasks0 = len(asyncio.all_tasks())
        gate = asyncio.Semaphore(WAVE)
        got = await asyncio.gather(*(_first_then_leave(driver, model, how, gate)
                                     for _ in range(n)))
        assert got == [1] * n
        assert await _tasks_settled(tasks0) == tasks0
        await _close(driver, model)

    with no_unclosed_warnings():
        asyncio.run(run())
    model = None
    settle(lambda: e.stats.disconnects >= n and fds() <= fd0)
    assert e.stats.requests == n
    assert e.stats.disconnects == n  # the gateway saw every stream closed early
    assert fds() <= fd0
    assert live_objects() == objs0


@pytest.mark.parametrize("framework", ["core", "langchain", "llama_index"])
def test_abandoned_sync_streams_close_every_connection(slow_emu: Emulator,
                                                       framework: str) -> None:
    e = _fresh(slow_emu)
    driver = Driver(framework, "sync", "stream")
    model = driver.make(e.base_url)
    fd0 = fds()
    with no_unclosed_warnings():
        for _ in range(SYNC_ABANDONED):
            if framework == "core":
                with model.chat_stream(REQ) as stream:
                    for _ch in stream:
                        break
            elif framework == "langchain":
                for _ch in model.stream(PROMPT):
                    break
            else:
                from llama_index.core.llms import ChatMessage

                for _r in model.stream_chat([ChatMessage(role="user", content=PROMPT)]):
                    break
        (model if framework == "core" else model.client).close()
    settle(lambda: e.stats.disconnects >= SYNC_ABANDONED and fds() <= fd0)
    assert e.stats.requests == SYNC_ABANDONED
    assert e.stats.disconnects == SYNC_ABANDONED
    assert fds() <= fd0


# ---- event loops ------------------------------------------------------------------------


@pytest.mark.parametrize("framework", ["core", "langchain", "llama_index"])
def test_same_model_from_several_event_loops(emu: Emulator, reference: str,
                                             framework: str) -> None:
    """Notebook re-runs / ``asyncio.run`` twice: every loop works, none sees a closed loop."""
    _fresh(emu)
    model = Driver(framework, "async", "invoke").make(emu.base_url)
    for _ in range(3):
        for op in ("invoke", "stream"):
            assert asyncio.run(Driver(framework, "async", op).run(model, [])) == reference
    loop = asyncio.new_event_loop()  # a hand-made loop, closed the documented way
    try:
        assert loop.run_until_complete(
            Driver(framework, "async", "invoke").run(model, [])) == reference
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    assert emu.stats.requests == 7


@pytest.mark.parametrize("framework", ["core", "langchain", "llama_index"])
def test_switching_event_loops_leaves_no_unclosed_sockets(emu: Emulator,
                                                          framework: str) -> None:
    """Each loop's pool is closed with that loop (regression: pools used to be replaced
    without closing, leaking sockets until GC and 'unclosed transport' warnings)."""
    _fresh(emu)
    model = Driver(framework, "async", "invoke").make(emu.base_url)
    fd0 = fds()
    with no_unclosed_warnings():
        for _ in range(3):
            asyncio.run(Driver(framework, "async", "invoke").run(model, []))
        # only the current loop's pool may hold sockets (1 connection = 2 fds here)
        assert fds() - fd0 <= 2


def test_python_version_has_asyncio_all_tasks() -> None:
    assert sys.version_info >= (3, 10)


def test_dropped_unclosed_streams_do_not_hang_later_calls(emu: Emulator) -> None:
    _fresh(emu)

    async def run() -> str:
        client = cf_aig.AsyncClient(timeout=0.5, **creds(emu.base_url))
        for _ in range(POOL):
            stream = await client.chat_stream(REQ)  # opened, then dropped unclosed
            del stream
        gc.collect()
        try:
            # liveness bound only: the call must end (answer or typed error) at all
            await asyncio.wait_for(client.chat(REQ), 3)
        except cf_aig.CfAigError as err:
            return type(err).__name__
        except asyncio.TimeoutError:
            return "hang"
        finally:
            await client.aclose()
        return "ok"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        outcome = asyncio.run(run())
    assert outcome != "hang"
