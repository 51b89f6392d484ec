"""The fault matrix: both adapters (and the core async client / core streams, which
tests/core/test_client_wire.py does not cover) x sync/async x invoke/stream x fault.

For every cell: the exact number of model requests the emulator saw, the typed error and
its fields (code, status, log id), and for streams what the caller already had (a prefix
of the undisturbed answer, never duplicated; a truncated stream always raises).
Observed rows are recorded for the closing note (see conftest ``matrix``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest

import cf_aig
from cf_aig.emulator import Emulator, Fault

from .conftest import TOKEN, Driver, closed_port, model_calls


@dataclass(frozen=True)
class Case:
    name: str
    faults: tuple[Fault, ...]
    invoke: tuple[type[Exception] | None, int] | None
    """Expected (error class or None for success, attempts) for invoke; None = n/a."""
    stream: tuple[type[Exception] | None, int] | None
    code: int | None = None
    status: int | None = None
    timeout: float | None = None
    refused: bool = False
    retry_after: float | None = None
    mid_stream: bool = False
    answered: bool = True
    """The gateway sent response headers (so the error carries its log id)."""
    """The stream fault happens after some chunks were delivered."""
    extra: dict[str, Any] = field(default_factory=dict)


E = cf_aig


def _x3(f: Fault) -> tuple[Fault, ...]:
    return (f, Fault(**f.__dict__), Fault(**f.__dict__))


CASES: list[Case] = [
    Case("429 no Retry-After", _x3(Fault(code=3040)),
         (E.RateLimitError, 3), (E.RateLimitError, 3), code=3040, status=429),
    Case("429 Retry-After 0.01", _x3(Fault(code=3040, retry_after=0.01)),
         (E.RateLimitError, 3), (E.RateLimitError, 3), code=3040, status=429, retry_after=0.01),
    Case("429 Retry-After 120 (over the 60 s cap)", _x3(Fault(code=3040, retry_after=120)),
         (E.RateLimitError, 1), (E.RateLimitError, 1), code=3040, status=429, retry_after=120),
    Case("429 quota 3036", _x3(Fault(code=3036)),
         (E.QuotaExceededError, 1), (E.QuotaExceededError, 1), code=3036, status=429),
    Case("429 quota 4006", _x3(Fault(code=4006)),
         (E.QuotaExceededError, 1), (E.QuotaExceededError, 1), code=4006, status=429),
    Case("429 quota 2041", _x3(Fault(code=2041)),
         (E.QuotaExceededError, 1), (E.QuotaExceededError, 1), code=2041, status=429),
    Case("503 + 3040 capacity", _x3(Fault(status=503, code=3040)),
         (E.RateLimitError, 3), (E.RateLimitError, 3), code=3040, status=503),
    Case("408", _x3(Fault(status=408)),
         (E.APITimeoutError, 3), (E.APITimeoutError, 3), code=3007, status=408),
    Case("500", _x3(Fault(status=500)),
         (E.ServerError, 3), (E.ServerError, 3), code=3043, status=500),
    Case("502", _x3(Fault(status=502)),
         (E.ServerError, 3), (E.ServerError, 3), code=3043, status=502),
    Case("503", _x3(Fault(status=503, code=3043)),
         (E.ServerError, 3), (E.ServerError, 3), code=3043, status=503),
    Case("504", _x3(Fault(status=504)),
         (E.APITimeoutError, 3), (E.APITimeoutError, 3), code=3007, status=504),
    Case("7013 guardrail down", _x3(Fault(code=7013)),
         (E.GuardrailUnavailableError, 1), (E.GuardrailUnavailableError, 1), code=7013,
         status=503),
    Case("2016 prompt blocked", _x3(Fault(code=2016)),
         (E.GuardrailBlockedError, 1), (E.GuardrailBlockedError, 1), code=2016, status=424),
    Case("2017 response blocked", _x3(Fault(code=2017)),
         (E.GuardrailBlockedError, 1), (E.GuardrailBlockedError, 1), code=2017, status=424),
    Case("2021 credits", _x3(Fault(code=2021)),
         (E.InsufficientCreditsError, 1), (E.InsufficientCreditsError, 1), code=2021,
         status=402),
    Case("10000 auth", _x3(Fault(code=10000)),
         (E.AuthenticationError, 1), (E.AuthenticationError, 1), code=10000, status=401),
    Case("connection refused", (), (E.ConnectionFailedError, 3),
         (E.ConnectionFailedError, 3), refused=True, answered=False),
    # sent, but no status came: ambiguous (the server may have run it), not resent (#13)
    Case("timeout before first byte", _x3(Fault(kind="hang", seconds=0.5)),
         (E.APITimeoutError, 1), (E.APITimeoutError, 1), timeout=0.12, answered=False),
    Case("stall mid-stream", (Fault(kind="stall", after=2, seconds=0.5),),
         None, (E.StreamInterruptedError, 1), timeout=0.12, mid_stream=True),
    Case("disconnect mid-stream", (Fault(kind="disconnect", after=3),),
         None, (E.StreamInterruptedError, 1), mid_stream=True),
    Case("disconnect before response", _x3(Fault(kind="disconnect", after=0)),
         (E.ConnectionFailedError, 1), None, answered=False),
    Case("malformed JSON body", _x3(Fault(kind="malformed_json")),
         (E.ResponseDecodeError, 1), None),
    Case("malformed SSE line", (Fault(kind="malformed_sse", after=2),),
         None, (E.ResponseDecodeError, 1), mid_stream=True),
    Case("success:false on 200 (3040)", _x3(Fault(kind="success_false", code=3040)),
         (E.RateLimitError, 3), (E.RateLimitError, 3), code=3040, status=200),
    Case("success:false on 200 (2016)", _x3(Fault(kind="success_false", code=2016)),
         (E.GuardrailBlockedError, 1), (E.GuardrailBlockedError, 1), code=2016, status=200),
    Case("data: {error} mid-stream", (Fault(kind="stream_error", after=2, code=3040),),
         None, (E.RateLimitError, 1), code=3040, mid_stream=True),
    Case("JSON body for a stream", (Fault(kind="json_for_stream"),), None, (None, 1)),
]

ORDER = {c.name: i for i, c in enumerate(CASES)}
FRAMEWORKS = ["langchain", "llama_index", "core"]


def _params() -> list[Any]:
    out = []
    for fw in FRAMEWORKS:
        for mode in ("sync", "async"):
            for op in ("invoke", "stream"):
                if fw == "core" and mode == "sync" and op == "invoke":
                    continue  # tests/core/test_client_wire.py covers it
                for case in CASES:
                    if getattr(case, op) is None:
                        continue
                    out.append(pytest.param(Driver(fw, mode, op), case,
                                            id=f"{fw}-{mode}-{op}-{case.name}"))
    return out


@pytest.fixture(scope="module")
def reference(cf_aig_emulator_session: Emulator) -> str:
    """The undisturbed answer to the prompt (the emulator is deterministic)."""
    with cf_aig.Client(account_id="a", api_token="t",
                       base_url=cf_aig_emulator_session.base_url) as c:
        return c.chat({"model": "openai/gpt-5.5",
                       "messages": [{"role": "user", "content": "Hello there, gateway"}]}).text


def _core_class(err: BaseException) -> str:
    for klass in type(err).__mro__:
        if klass.__module__ == "cf_aig.errors":
            name = klass.__name__
            return name if type(err).__name__ == name else f"{name} (as {type(err).__name__})"
    return type(err).__name__


@pytest.mark.usefixtures("fast_retries")
@pytest.mark.parametrize(("driver", "case"), _params())
def test_fault(driver: Driver, case: Case, cf_aig_emulator: Emulator, reference: str,
               matrix: list[dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    emu = cf_aig_emulator
    expected_cls, expected_attempts = getattr(case, driver.op)
    extra: dict[str, Any] = {}
    if case.timeout is not None:
        extra["timeout"] = case.timeout
    base_url = f"http://127.0.0.1:{closed_port()}/client/v4" if case.refused else emu.base_url
    model = driver.make(base_url, **extra)
    emu.enqueue(*case.faults)
    received: list[str] = []
    error: BaseException | None = None
    text = None
    caplog.set_level(logging.INFO, logger="cf_aig")

    async def go() -> str:
        try:
            return await driver.run(model, received)
        finally:
            if driver.framework == "core" and driver.mode == "async":
                await model.aclose()

    try:
        text = asyncio.run(go())
    except Exception as exc:
        error = exc
    finally:
        if driver.framework == "core" and driver.mode == "sync":
            model.close()

    retries = sum(1 for r in caplog.records if r.getMessage().startswith("cf_aig: retrying"))
    attempts = retries + 1 if case.refused else len(model_calls(emu))
    got = "".join(received)
    if error is None:
        outcome = f"ok, {len(received)} pieces, full answer" if text == reference else "ok, WRONG"
    elif driver.op == "stream":
        outcome = (f"raised after {len(received)} pieces ({len(got)} chars, a prefix)"
                   if reference.startswith(got) else "raised, DUPLICATED/garbled output")
    else:
        outcome = "raised"
    matrix.append({
        "framework": driver.framework, "mode": driver.mode, "op": driver.op,
        "fault": case.name, "order": ORDER[case.name], "attempts": attempts,
        "error": _core_class(error) if error else "-",
        "code": getattr(error, "code", None) if error else "-",
        "status": getattr(error, "status", None) if error else "-",
        "log_id": ("yes" if getattr(error, "log_id", None) else "no") if error else "-",
        "outcome": outcome,
    })

    # attempts: retries only where retrying is right
    assert attempts == expected_attempts
    assert emu.pending == max(0, len(case.faults) - expected_attempts)
    if expected_cls is None:
        assert error is None, repr(error)
        assert text == reference
        return
    assert error is not None, f"no error; got {text!r}"
    assert isinstance(error, expected_cls), repr(error)
    assert TOKEN not in str(error) and TOKEN not in repr(error)
    if driver.framework == "langchain":
        from langchain_core.exceptions import ModelError

        assert isinstance(error, ModelError)  # catchable as LangChain's own type too
    if case.code is not None:
        assert error.code == case.code
    if case.status is not None and not case.mid_stream:
        assert error.status == case.status
    if case.retry_after is not None:
        assert error.retry_after == pytest.approx(case.retry_after)
    if case.answered:
        # the gateway answered: its log id travels with the error
        assert error.log_id and error.log_id in {e["id"] for e in emu.logs}
    if driver.op == "stream":
        # never duplicated: what the caller has is a prefix of the real answer
        assert reference.startswith(got)
        if case.mid_stream:
            assert got and got != reference  # something came, and the error says it is cut
            if isinstance(error, cf_aig.StreamInterruptedError):
                assert error.received >= 1
        else:
            assert received == [] or got == ""


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.usefixtures("fast_retries")
def test_retry_then_success_is_one_answer(framework: str, mode: str,
                                          cf_aig_emulator: Emulator, reference: str) -> None:
    """Two retryable failures then success: one full answer, three attempts, no doubling."""
    for op in ("invoke", "stream"):
        cf_aig_emulator.reset()
        cf_aig_emulator.enqueue(Fault(code=3040), Fault(status=502))
        driver = Driver(framework, mode, op)
        received: list[str] = []
        text = asyncio.run(driver.run(driver.make(cf_aig_emulator.base_url), received))
        assert text == reference
        assert len(model_calls(cf_aig_emulator)) == 3


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.usefixtures("fast_retries")
def test_embeddings_survive_retryable_faults_and_type_the_rest(framework: str, mode: str,
                                                               cf_aig_emulator: Emulator
                                                               ) -> None:
    """RAG ingestion: a 429 and a 502 mid-batch are retried and no vector is lost or
    duplicated; a quota error stops at once with its typed error."""
    from .conftest import creds

    emu = cf_aig_emulator
    texts = [f"document {i}" for i in range(250)]  # three batches of <= 100
    if framework == "langchain":
        from langchain_cf_aig import CloudflareAIGatewayEmbeddings

        emb: Any = CloudflareAIGatewayEmbeddings(model="@cf/baai/bge-small-en-v1.5",
                                                 **creds(emu.base_url))

        def embed(ts: list[str]) -> list[list[float]]:
            if mode == "sync":
                return emb.embed_documents(ts)
            return asyncio.run(emb.aembed_documents(ts))
    else:
        from llama_index_cf_aig import CloudflareAIGatewayEmbedding

        emb = CloudflareAIGatewayEmbedding(model_name="@cf/baai/bge-small-en-v1.5",
                                           **creds(emu.base_url))

        def embed(ts: list[str]) -> list[list[float]]:
            if mode == "sync":
                return emb.get_text_embedding_batch(ts)
            return asyncio.run(emb.aget_text_embedding_batch(ts))

    clean = embed(texts)
    emu.reset()
    emu.enqueue(Fault(code=3040), Fault(status=502))
    assert embed(texts) == clean and len(clean) == 250
    assert len(model_calls(emu)) == 3 + 2  # three batches, two of them retried once
    emu.reset()
    emu.enqueue(*_x3(Fault(code=4006)))
    with pytest.raises(cf_aig.QuotaExceededError) as info:
        embed(texts)
    assert info.value.code == 4006 and TOKEN not in str(info.value)
