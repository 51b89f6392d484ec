"""The per-process rate limiter: schedule, LangChain's acquire protocol, pickling, fork,
and its use by the core client before every attempt (retries included)."""

from __future__ import annotations

import asyncio
import os
import pickle

import pytest

from cf_aig import ConfigurationError
from cf_aig.client import Client
from cf_aig.emulator import Emulator, Fault
from cf_aig.ratelimit import RateLimiter, as_limiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_spacing_and_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4.0, burst=3, clock=clock)
    assert [limiter.reserve() for _ in range(5)] == [0.0, 0.0, 0.0, 0.25, 0.5]
    clock.now += 10  # idle long enough: the bucket refills to the burst, not beyond
    assert [limiter.reserve() for _ in range(4)] == [0.0, 0.0, 0.0, 0.25]


def test_non_blocking_acquire_refuses_without_taking_a_slot() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1.0, clock=clock)
    assert limiter.acquire(blocking=False) is True
    assert limiter.acquire(blocking=False) is False
    assert limiter.acquire(blocking=False) is False
    clock.now += 1.0
    assert limiter.acquire(blocking=False) is True


def test_blocking_acquire_and_aacquire_return_true() -> None:
    limiter = RateLimiter(1000.0)
    assert limiter.acquire() is True
    assert asyncio.run(limiter.aacquire()) is True
    assert asyncio.run(limiter.aacquire(blocking=False)) in (True, False)


def test_pause_holds_back_later_requests() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10.0, clock=clock)
    limiter.pause(2.0)
    assert limiter.reserve() == pytest.approx(2.0)


@pytest.mark.parametrize("bad", [0, -1, "5", True, None])
def test_bad_rate_is_a_typed_error(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="requests_per_second"):
        RateLimiter(bad)  # type: ignore[arg-type]


def test_bad_burst_and_workers() -> None:
    with pytest.raises(ConfigurationError, match="burst"):
        RateLimiter(1.0, burst=0)
    with pytest.raises(ConfigurationError, match="workers"):
        RateLimiter.per_worker(10.0, workers=0)


def test_per_worker_share() -> None:
    limiter = RateLimiter.per_worker(200 / 60, workers=4)
    assert limiter.requests_per_second == pytest.approx(200 / 60 / 4)
    assert as_limiter(limiter) is limiter
    assert as_limiter(2).requests_per_second == 2.0  # type: ignore[union-attr]


def test_pickle_drops_the_lock_and_starts_a_fresh_bucket() -> None:
    limiter = RateLimiter(1.0)
    limiter.reserve()
    limiter.reserve()
    copy = pickle.loads(pickle.dumps(limiter))
    assert copy.requests_per_second == 1.0
    assert copy.reserve() == 0.0  # the copy's bucket is its own
    assert limiter.reserve() > 0.0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_forked_child_gets_its_own_lock_and_bucket() -> None:
    limiter = RateLimiter(0.5)
    limiter.reserve()
    limiter._lock.acquire()  # as if another parent thread held it at fork time
    try:
        pid = os.fork()
        if pid == 0:  # child: must not deadlock, must start fresh
            ok = limiter.reserve() == 0.0
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
    finally:
        limiter._lock.release()
    assert os.WEXITSTATUS(status) == 0


class Recording(RateLimiter):
    def __init__(self, rps: float) -> None:
        super().__init__(rps)
        self.reserved = 0
        self.paused: list[float] = []

    def reserve(self) -> float:
        self.reserved += 1
        return super().reserve()

    def pause(self, seconds: float) -> None:
        self.paused.append(seconds)
        super().pause(seconds)


def test_client_consults_the_limiter_before_every_attempt(cf_aig_emulator: Emulator) -> None:
    limiter = Recording(1000.0)
    emu = cf_aig_emulator
    emu.enqueue(Fault(kind="status", code=3040, retry_after=0.01))
    with Client(account_id="a", api_token="t", base_url=emu.base_url, rate_limit=limiter,
                max_retries=2) as client:
        client.chat({"model": "openai/gpt-5.5", "messages": [{"role": "user", "content": "hi"}]})
        client.embed("@cf/baai/bge-small-en-v1.5", ["a", "b"])
    assert limiter.reserved == 3  # the 429, its retry, the embedding
    assert limiter.paused == [pytest.approx(0.01)]  # Retry-After held the whole bucket


def test_client_takes_a_number_as_requests_per_second() -> None:
    client = Client(account_id="a", api_token="t", rate_limit=7)
    assert client.rate_limiter is not None
    assert client.rate_limiter.requests_per_second == 7.0
    with pytest.raises(ConfigurationError):
        Client(account_id="a", api_token="t", rate_limit=-1)


def test_langchain_rate_limiter_field_accepts_the_core_limiter(cf_aig_emulator: Emulator) -> None:
    from langchain_cf_aig import ChatCloudflareAIGateway

    limiter = Recording(1000.0)
    calls: list[bool] = []
    original = limiter.acquire

    def acquire(*, blocking: bool = True) -> bool:
        calls.append(blocking)
        return original(blocking=blocking)

    limiter.acquire = acquire  # type: ignore[method-assign]
    chat = ChatCloudflareAIGateway(model="openai/gpt-5.5", account_id="a", api_token="t",
                                   base_url=cf_aig_emulator.base_url, rate_limiter=limiter)
    assert chat.rate_limiter is limiter
    assert chat.invoke("hello").content
    assert calls == [True]  # LangChain asked before the call


def test_adapter_requests_per_second_is_one_limiter_for_both_clients(
        cf_aig_emulator: Emulator) -> None:
    from langchain_cf_aig import CloudflareAIGatewayEmbeddings
    from llama_index_cf_aig import CloudflareAIGatewayEmbedding

    common = {"account_id": "a", "api_token": "t", "base_url": cf_aig_emulator.base_url,
              "requests_per_second": 50.0}
    lc = CloudflareAIGatewayEmbeddings(model="@cf/baai/bge-small-en-v1.5", **common)
    li = CloudflareAIGatewayEmbedding(model_name="@cf/baai/bge-small-en-v1.5", **common)
    for obj in (lc, li):
        limiter = obj.client.rate_limiter
        assert limiter is not None and limiter.requests_per_second == 50.0
        assert obj.async_client.rate_limiter is limiter
    assert len(lc.embed_documents(["x", "y"])) == 2
    copy = pickle.loads(pickle.dumps(lc))
    assert copy.client.rate_limiter.requests_per_second == 50.0
    with pytest.raises(Exception, match="requests_per_second"):
        CloudflareAIGatewayEmbeddings(model="@cf/baai/bge-small-en-v1.5",
                                      **{**common, "requests_per_second": 0})


def test_ray_callables_take_plain_kwargs_and_refuse_unknown_ones(
        cf_aig_emulator: Emulator) -> None:
    from cf_aig.ray import ChatBatches, EmbedBatches

    common = {"account_id": "a", "api_token": "t", "base_url": cf_aig_emulator.base_url}
    embed = EmbedBatches("@cf/baai/bge-small-en-v1.5", rate_limit=5.0, max_concurrency=2,
                         **common)
    assert embed.client.rate_limiter is not None
    assert embed.client.rate_limiter.requests_per_second == 5.0
    assert embed.client.max_concurrency == 2
    with pytest.raises(ConfigurationError, match="no column 'text'"):
        embed({"body": ["x"]})
    with pytest.raises(ConfigurationError, match="unknown argument"):
        EmbedBatches("@cf/baai/bge-small-en-v1.5", temperature=0.1, **common)
    with pytest.raises(ConfigurationError, match="max_concurrency"):
        EmbedBatches("@cf/baai/bge-small-en-v1.5", max_concurrency=0, **common)
    with pytest.raises(ConfigurationError, match="on_error"):
        ChatBatches("openai/gpt-5.5", on_error="ignore", **common)
    with pytest.raises(ConfigurationError, match="api must be"):
        ChatBatches("openai/gpt-5.5", api="smoke-signals", **common)
    assert cf_aig_emulator.requests == []
