"""The O(1) async connection pool: bounds, reuse, expiry, cancellation (over loopback)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from cf_aig import AsyncClient
from cf_aig._pool import LeanAsyncTransport, _Gate
from cf_aig.emulator import Emulator

REQ = {"model": "openai/gpt-5.5", "messages": [{"role": "user", "content": "hi"}]}


def chat_url(emu: Emulator) -> str:
    return f"{emu.account_url}/ai/v1/chat/completions"


async def post(http: httpx.AsyncClient, emu: Emulator) -> int:
    r = await http.post(chat_url(emu), json=REQ, headers={"authorization": "Bearer t"})
    return r.status_code


async def test_burst_through_the_core_client_reuses_at_most_the_pool(cf_aig_emulator: Emulator) -> None:
    client = AsyncClient(account_id="a", api_token="t", base_url=cf_aig_emulator.base_url)
    results = await asyncio.gather(*(client.chat(REQ) for _ in range(400)))
    assert len(results) == 400 and all(r.text for r in results)
    assert cf_aig_emulator.stats.connections_opened <= 100
    opened = cf_aig_emulator.stats.connections_opened
    await asyncio.gather(*(client.chat(REQ) for _ in range(50)))
    assert cf_aig_emulator.stats.connections_opened == opened  # warm: all reused
    await client.aclose()


async def test_sequential_calls_share_one_connection(cf_aig_emulator: Emulator) -> None:
    async with httpx.AsyncClient(transport=LeanAsyncTransport()) as http:
        for _ in range(5):
            assert await post(http, cf_aig_emulator) == 200
    assert cf_aig_emulator.stats.connections_opened == 1


async def test_expired_idle_connections_are_replaced(cf_aig_emulator: Emulator) -> None:
    limits = httpx.Limits(keepalive_expiry=0.05)
    async with httpx.AsyncClient(transport=LeanAsyncTransport(limits=limits)) as http:
        await post(http, cf_aig_emulator)
        await asyncio.sleep(0.15)
        await post(http, cf_aig_emulator)
    assert cf_aig_emulator.stats.connections_opened == 2


async def test_keepalive_budget_and_connection_bound(cf_aig_emulator: Emulator) -> None:
    limits = httpx.Limits(max_connections=3, max_keepalive_connections=1)
    async with httpx.AsyncClient(transport=LeanAsyncTransport(limits=limits)) as http:
        codes = await asyncio.gather(*(post(http, cf_aig_emulator) for _ in range(30)))
        assert set(codes) == {200}
        assert cf_aig_emulator.stats.connections_opened <= 30
        transport = http._transport
        assert isinstance(transport, LeanAsyncTransport)
        assert len(transport._idle) <= 1


async def test_cancelled_waiter_does_not_lose_a_permit(cf_aig_emulator: Emulator) -> None:
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(transport=LeanAsyncTransport(limits=limits)) as http:
        held = await http.send(http.build_request(
            "POST", chat_url(cf_aig_emulator), json={**REQ, "stream": True},
            headers={"authorization": "Bearer t"}), stream=True)
        waiting = asyncio.create_task(post(http, cf_aig_emulator))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # the only permit is held by the open stream
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await held.aclose()
        assert await asyncio.wait_for(post(http, cf_aig_emulator), 5) == 200


async def test_gate_is_fifo_and_hands_off() -> None:
    gate = _Gate(1)
    await gate.acquire()
    order: list[int] = []

    async def take(i: int) -> None:
        await gate.acquire()
        order.append(i)
        gate.release()

    tasks = [asyncio.create_task(take(i)) for i in range(5)]
    await asyncio.sleep(0)
    gate.release()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]


def test_sync_transport_reuses_and_bounds_connections(cf_aig_emulator: Emulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from cf_aig._pool import LeanTransport

    limits = httpx.Limits(max_connections=3, max_keepalive_connections=2)
    with httpx.Client(transport=LeanTransport(limits=limits)) as http:
        def one(_: int) -> int:
            r = http.post(chat_url(cf_aig_emulator), json=REQ,
                          headers={"authorization": "Bearer t"})
            return r.status_code

        assert one(0) == 200 and one(1) == 200
        assert cf_aig_emulator.stats.connections_opened == 1  # sequential: one connection
        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(one, range(40))) == {200}
        transport = http._transport
        assert isinstance(transport, LeanTransport) and len(transport._idle) <= 2


def test_sync_transport_pool_timeout_when_every_connection_is_held(
        cf_aig_emulator: Emulator) -> None:
    from cf_aig._pool import LeanTransport

    limits = httpx.Limits(max_connections=1)
    with httpx.Client(transport=LeanTransport(limits=limits),
                      timeout=httpx.Timeout(5.0, pool=0.1)) as http:
        held = http.send(http.build_request(
            "POST", chat_url(cf_aig_emulator), json={**REQ, "stream": True},
            headers={"authorization": "Bearer t"}), stream=True)
        with pytest.raises(httpx.PoolTimeout):
            http.post(chat_url(cf_aig_emulator), json=REQ, headers={"authorization": "Bearer t"})
        held.close()
        assert http.post(chat_url(cf_aig_emulator), json=REQ,
                         headers={"authorization": "Bearer t"}).status_code == 200
