"""Workers AI async Batch API through the core clients, against the emulator: order,
per-item failures, splitting under 10 MB, polling states, deadline, faults, both model
ids, the async twin, progress reporting and rebuilding a job from its id."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cf_aig import BadRequestError, ConfigurationError
from cf_aig.batch import (
    BatchItem,
    BatchProgress,
    batch_model_ids,
    pack_requests,
)
from cf_aig.client import AsyncClient, Client
from cf_aig.emulator import Emulator, Fault
from cf_aig.errors import BatchTimeoutError, RateLimitError

EMBED = "@cf/baai/bge-small-en-v1.5"
FAST = {"poll_interval": 0.001, "max_interval": 0.01}


def client_for(emu: Emulator, **kw: Any) -> Client:
    return Client(account_id="acc", api_token="tok", base_url=emu.base_url,
                  retry_base_delay=0.001, **kw)


def batch_calls(emu: Emulator) -> tuple[int, int]:
    """(submissions, polls) the emulator received."""
    subs = polls = 0
    for r in emu.requests:
        if "queueRequest=true" in r.query and isinstance(r.json, dict):
            subs += "requests" in r.json
            polls += "request_id" in r.json
    return subs, polls


def test_results_come_back_in_input_order_with_references(cf_aig_emulator: Emulator) -> None:
    texts = [f"text number {i} about {w}" for i, w in enumerate("abcdefghijkl")]
    with client_for(cf_aig_emulator) as client:
        job = client.submit_batch(EMBED, [{"text": [t]} for t in texts],
                                  external_references=[f"ref-{i}" for i in range(12)])
        items = job.wait(timeout=30, **FAST)
        direct = client.embed(EMBED, texts).vectors
    assert [i.index for i in items] == list(range(12))
    assert [i.external_reference for i in items] == [f"ref-{i}" for i in range(12)]
    assert all(i.ok and i.error is None for i in items)
    assert [i.result["data"][0] for i in items] == direct  # shuffled on the wire
    assert job.usage["prompt_tokens"] > 0
    body = next(r.json for r in cf_aig_emulator.requests if "requests" in (r.json or {}))
    assert body["requests"][3] == {"text": [texts[3]], "external_reference": "ref-3"}


def test_poll_walks_queued_running_done(cf_aig_emulator: Emulator) -> None:
    with client_for(cf_aig_emulator) as client:
        job = client.submit_batch(EMBED, [{"text": ["a"]}, {"text": ["b"]}],
                                  headers={"x-cf-aig-emulator-batch": json.dumps(
                                      {"queued_polls": 1, "running_polls": 2})})
        with pytest.raises(ConfigurationError, match="not done"):
            job.results()
        states = [job.poll().state for _ in range(4)]
        items = job.results()
    assert states == ["queued", "running", "running", "done"]
    assert [i.ok for i in items] == [True, True]


def test_item_failures_are_per_item(cf_aig_emulator: Emulator) -> None:
    inputs: list[dict[str, Any]] = [{"text": ["fine"]}, {"text": ["unlucky"]}, {"text": 42},
                                    {"text": ["fine too"]}]
    with client_for(cf_aig_emulator) as client:
        job = client.submit_batch(EMBED, inputs, headers={
            "x-cf-aig-emulator-batch": json.dumps({"fail": [1]})})
        items = job.wait(timeout=30, **FAST)
    assert [i.ok for i in items] == [True, False, False, True]
    assert isinstance(items[1].error, RateLimitError) and items[1].error.code == 3040
    assert items[2].error is not None and items[2].error.code == 5006
    assert "batch input 2" in str(items[2].error)
    assert items[3].result["shape"] == [1, 384]


def test_thousand_inputs_over_10_mb_are_split(cf_aig_emulator: Emulator) -> None:
    """The report's round trip: 1,000 inputs, about 11 MB, two submissions."""
    inputs = [{"text": [f"doc{i} " + "y" * 11_000]} for i in range(1000)]
    progress: list[BatchProgress] = []
    with client_for(cf_aig_emulator) as client:
        job = client.submit_batch(EMBED, inputs)
        items = job.wait(timeout=120, on_progress=progress.append, **FAST)
    subs, polls = batch_calls(cf_aig_emulator)
    sizes = [len(r.json["requests"]) for r in cf_aig_emulator.requests
             if "requests" in (r.json or {})]
    assert subs == 2 and len(job.request_ids) == 2 and "," in job.id
    assert sum(sizes) == 1000 and job.counts == tuple(sizes)
    assert polls == 2 * 3  # queued, running, done for each submission
    assert len(items) == 1000 and all(i.ok for i in items)
    assert [i.index for i in items] == list(range(1000))
    assert progress[-1].state == "done" and progress[-1].done_items == 1000
    print(f"\nbatch round trip: {len(items)} items, {subs} submissions "
          f"({sizes}), {polls} polls")


def test_pack_requests_stays_under_the_limit() -> None:
    items = [{"text": ["x" * n]} for n in (10, 500, 30, 900, 5)]
    runs = pack_requests(items, max_bytes=1024)
    assert [c for _, c in runs] and sum(c for _, c in runs) == 5
    for offset, count in runs:
        body = json.dumps({"requests": items[offset:offset + count]}, separators=(",", ":"))
        assert len(body) <= 1024
    with pytest.raises(ConfigurationError, match="batch input 0"):
        pack_requests([{"text": "x" * 2000}], max_bytes=1024)


@pytest.mark.parametrize(("args", "match"), [
    (("openai/gpt-5.5", [{"prompt": "hi"}]), "Workers AI"),
    ((EMBED, []), "at least one"),
    ((EMBED, {"text": ["a"]}), "list of model inputs"),
    ((EMBED, ["just text"]), r"inputs\[0\] must be a dict"),
    ((EMBED, [{"text": ["a"], "external_reference": "x"}]), "external_references="),
    ((EMBED, [{"text": ["a"]}], ["r1", "r2"]), "2 entries for 1 inputs"),
    ((EMBED, [{"text": ["a"]}], [7]), "list of strings"),
    ((EMBED, [{"text": ["x" * 11_000_000]}]), "10 MB"),
])
def test_bad_batches_fail_before_sending(cf_aig_emulator: Emulator, args: tuple[Any, ...],
                                         match: str) -> None:
    with client_for(cf_aig_emulator) as client, pytest.raises(ConfigurationError, match=match):
        client.submit_batch(*args)
    assert cf_aig_emulator.requests == []


def test_deadline_raises_and_the_job_survives(cf_aig_emulator: Emulator) -> None:
    with client_for(cf_aig_emulator) as client:
        job = client.submit_batch(EMBED, [{"text": ["slow"]}], headers={
            "x-cf-aig-emulator-batch": json.dumps({"queued_polls": 3})})
        with pytest.raises(BatchTimeoutError) as info:
            job.wait(timeout=0.001, poll_interval=0.001, max_interval=0.001)
        assert info.value.job_id == job.id
        items = job.wait(timeout=30, **FAST)
    assert items[0].ok


def test_capacity_fault_on_a_poll_is_retried(cf_aig_emulator: Emulator) -> None:
    with client_for(cf_aig_emulator) as client:
        job = client.submit_batch(EMBED, [{"text": ["x"]}])
        cf_aig_emulator.enqueue(Fault(kind="status", code=3040, retry_after=0.001))
        items = job.wait(timeout=30, **FAST)
    assert items[0].ok
    assert any(r.json == {"request_id": job.id} for r in cf_aig_emulator.requests)


def test_rejected_submission_is_a_typed_error(cf_aig_emulator: Emulator) -> None:
    with client_for(cf_aig_emulator) as client, pytest.raises(BadRequestError, match="batch"):
        client.submit_batch("@cf/meta/llama-3.2-1b-instruct", [{"prompt": "hi"}])


@pytest.mark.parametrize("model", ["@cf/meta/llama-3.3-70b-instruct-batch",
                                   "@cf/meta/llama-3.3-70b-instruct-fp8-fast"])
def test_both_model_ids_work(cf_aig_emulator: Emulator, model: str) -> None:
    assert set(batch_model_ids(model)) == {"@cf/meta/llama-3.3-70b-instruct-batch",
                                           "@cf/meta/llama-3.3-70b-instruct-fp8-fast"}
    with client_for(cf_aig_emulator) as client:
        job = client.submit_batch(model, [{"prompt": "Hello"}, {"prompt": "Bye"}])
        items = job.wait(timeout=30, **FAST)
    assert all(i.ok and i.result["response"] for i in items)


async def test_async_twin(cf_aig_emulator: Emulator) -> None:
    seen: list[str] = []
    async with AsyncClient(account_id="acc", api_token="tok",
                           base_url=cf_aig_emulator.base_url) as client:
        job = await client.submit_batch(EMBED, [{"text": ["a"]}, {"text": ["b"]}],
                                        external_references=["A", "B"])
        first = await job.poll()
        items = await job.wait(timeout=30, on_progress=lambda p: seen.append(p.state),
                               **FAST)
    assert first.state == "queued"
    assert [(i.ok, i.external_reference) for i in items] == [(True, "A"), (True, "B")]
    assert seen[-1] == "done"


def test_progress_bar_and_rebuilt_job(cf_aig_emulator: Emulator,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    with client_for(cf_aig_emulator) as client:
        job = client.submit_batch(EMBED, [{"text": ["a"]}] * 5)
        again = client.batch_job(EMBED, job.id, job.counts)
        items = again.wait(timeout=30, progress_bar=True, **FAST)
    assert len(items) == 5 and all(isinstance(i, BatchItem) and i.ok for i in items)
    assert "5/5" in capsys.readouterr().err


def test_a_job_pickles_mid_way_and_finishes_in_the_copy(cf_aig_emulator: Emulator) -> None:
    import pickle

    with client_for(cf_aig_emulator) as client:
        job = client.submit_batch(EMBED, [{"text": ["a"]}, {"text": ["b"]}],
                                  external_references=["x", "y"])
        assert job.poll().state == "queued"
        copy = pickle.loads(pickle.dumps(job))
        items = copy.wait(timeout=30, **FAST)
    assert [(i.ok, i.external_reference) for i in items] == [(True, "x"), (True, "y")]
    assert copy.polls == 3
