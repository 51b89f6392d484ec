"""The retry plan, driven by hand with no socket: every action it yields, every answer.

A plan is a generator of :class:`Send`, :class:`Read` and :class:`Sleep` actions; here
the test plays the network: it answers each ``Send`` with a hand-made ``httpx.Response``
(or throws the transport error a driver would), each ``Read`` with bytes fed through the
plan's own :class:`BodyReader`, and moves a fake clock for deadlines.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cf_aig import (
    APITimeoutError,
    CfAigError,
    ConfigurationError,
    ConnectionFailedError,
    RateLimitError,
    ServerError,
)
from cf_aig._protocol import (
    MAX_RETRY_WAIT,
    BodyReader,
    Call,
    CallPolicy,
    Core,
    Read,
    Send,
    Sleep,
)
from cf_aig.errors import RedirectError, ResponseTooLargeError

URL = "http://127.0.0.1:9/client/v4"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_core(clock: Clock | None = None, **kw: Any) -> Core:
    core = Core(account_id="a", api_token="t", base_url=URL, **kw)
    if clock is not None:
        core._clock = clock
    return core


def request(core: Core) -> httpx.Request:
    return core.build_request("POST", "/ai/v1/chat/completions", body={"x": 1},
                              headers=core.headers())


def answer(req: httpx.Request, status: int, headers: dict[str, str] | None = None,
           ctype: str = "application/json") -> httpx.Response:
    return httpx.Response(status, headers={"content-type": ctype, **(headers or {})},
                          request=req, stream=httpx.ByteStream(b""))


def read(action: Any, body: bytes) -> bytes:
    """What a driver does for a Read: feed the raw body through the plan's reader."""
    assert isinstance(action, Read)
    action.reader.feed(body)
    return action.reader.finish()


def interpret(response: httpx.Response, body: bytes | None) -> str:
    return "stream" if body is None else body.decode()


def finish(plan: Call[Any], value: Any) -> Any:
    with pytest.raises(StopIteration) as stop:
        plan.send(value)
    return stop.value.value


BUSY = b'{"success":false,"errors":[{"code":3040,"message":"busy"}]}'
DOWN = b'{"success":false,"errors":[{"code":3043,"message":"down"}]}'


def test_success_is_send_read_interpret() -> None:
    core = make_core()
    req = request(core)
    plan = core.call(req, interpret)
    assert isinstance(next(plan), Send)
    action = plan.send(answer(req, 200))
    assert isinstance(action, Read)
    assert finish(plan, read(action, b"hello")) == "hello"


def test_retryable_status_sleeps_then_resends() -> None:
    core = make_core(retry_base_delay=0.5)
    req = request(core)
    plan = core.call(req, interpret)
    next(plan)
    action = plan.send(answer(req, 503))
    sleep = plan.send(read(action, DOWN))
    assert isinstance(sleep, Sleep) and 0.25 <= sleep.seconds <= 0.5
    assert isinstance(plan.send(None), Send)
    action = plan.send(answer(req, 200))
    assert finish(plan, read(action, b"ok")) == "ok"


def test_gives_up_after_max_retries_with_the_typed_error() -> None:
    core = make_core(max_retries=1)
    req = request(core)
    plan = core.call(req, interpret)
    next(plan)
    sleep = plan.send(read(plan.send(answer(req, 503)), DOWN))
    assert isinstance(sleep, Sleep)
    plan.send(None)
    with pytest.raises(ServerError):
        plan.send(read(plan.send(answer(req, 503)), DOWN))


def test_retry_after_is_honoured_and_a_malformed_one_ignored() -> None:
    core = make_core(retry_base_delay=0.5)
    req = request(core)
    plan = core.call(req, interpret)
    next(plan)
    sleep = plan.send(read(plan.send(answer(req, 429, {"retry-after": "3"})), BUSY))
    assert isinstance(sleep, Sleep) and sleep.seconds == 3.0
    plan.send(None)
    sleep = plan.send(read(plan.send(answer(req, 429, {"retry-after": "soon"})), BUSY))
    assert isinstance(sleep, Sleep) and sleep.seconds <= 1.0  # our own backoff instead


def test_retry_after_beyond_the_cap_gives_up_at_once() -> None:
    core = make_core()
    req = request(core)
    plan = core.call(req, interpret)
    next(plan)
    too_long = str(int(MAX_RETRY_WAIT) + 1)
    with pytest.raises(RateLimitError):
        plan.send(read(plan.send(answer(req, 429, {"retry-after": too_long})), BUSY))


def test_not_sent_failures_are_resent() -> None:
    core = make_core(max_retries=4)
    req = request(core)
    plan = core.call(req, interpret)
    next(plan)
    for exc in (httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"),
                httpx.PoolTimeout("busy"), httpx.WriteError("broken pipe")):
        sleep = plan.throw(exc)
        assert isinstance(sleep, Sleep), exc
        assert isinstance(plan.send(None), Send)
    with pytest.raises(ConnectionFailedError) as info:  # the fifth failure: out of retries
        plan.throw(httpx.ConnectError("refused"))
    assert info.value.retryable


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("silent"), httpx.ReadError("reset"),
                                 httpx.RemoteProtocolError("closed without a response")])
def test_ambiguous_failures_are_not_resent_by_default(exc: Exception) -> None:
    core = make_core()
    req = request(core)
    plan = core.call(req, interpret)
    next(plan)
    with pytest.raises(CfAigError, match="retry_ambiguous") as info:
        plan.throw(exc)
    assert not info.value.retryable


def test_ambiguous_failures_are_resent_when_allowed() -> None:
    core = make_core(retry_ambiguous=True)
    req = request(core)
    plan = core.call(req, interpret)
    next(plan)
    assert isinstance(plan.throw(httpx.ReadTimeout("silent")), Sleep)
    # and per call, the other way round
    core = make_core(retry_ambiguous=True)
    plan = core.call(req, interpret, policy=core.policy.override({"retry_ambiguous": False}))
    next(plan)
    with pytest.raises(APITimeoutError):
        plan.throw(httpx.ReadTimeout("silent"))


def test_a_success_cut_off_is_never_resent() -> None:
    core = make_core(max_retries=10)
    req = request(core)
    plan = core.call(req, interpret)
    next(plan)
    assert isinstance(plan.send(answer(req, 200)), Read)
    with pytest.raises(ConnectionFailedError) as info:
        plan.throw(httpx.RemoteProtocolError("peer closed connection"))
    assert info.value.status == 200 and not info.value.retryable


def test_a_retryable_status_cut_off_is_resent() -> None:
    core = make_core()
    req = request(core)
    plan = core.call(req, interpret)
    next(plan)
    plan.send(answer(req, 503))
    assert isinstance(plan.throw(httpx.RemoteProtocolError("cut")), Sleep)


def test_local_protocol_error_is_a_configuration_error_without_retry() -> None:
    core = make_core()
    req = request(core)
    plan = core.call(req, interpret)
    next(plan)
    with pytest.raises(ConfigurationError):
        plan.throw(httpx.LocalProtocolError("Illegal header value"))


def test_redirect_is_read_then_a_typed_error() -> None:
    core = make_core(max_retries=5)
    req = request(core)
    plan = core.call(req, interpret)
    next(plan)
    action = plan.send(answer(req, 307, {"location": "https://x.example/p?secret=1"}))
    with pytest.raises(RedirectError) as info:
        plan.send(read(action, b""))
    assert "307 redirecting to https://x.example/p;" in str(info.value)


def test_open_sse_stream_is_handed_over_unread() -> None:
    core = make_core()
    req = request(core)
    plan = core.call(req, interpret, stream=True)
    next(plan)
    assert finish(plan, answer(req, 200, ctype="text/event-stream")) == "stream"


def test_deadline_clamps_timeouts_and_stops_resending() -> None:
    clock = Clock()
    core = make_core(clock, timeout=30, total_timeout=10)
    req = request(core)
    plan = core.call(req, interpret)
    next(plan)
    assert req.extensions["timeout"]["read"] == 10.0  # clamped to the time left
    clock.now += 9.9
    with pytest.raises(ServerError):  # backoff would end past the deadline: give up now
        plan.send(read(plan.send(answer(req, 503)), DOWN))


def test_deadline_reached_while_sending_is_an_api_timeout() -> None:
    clock = Clock()
    core = make_core(clock, total_timeout=5, retry_ambiguous=True)
    req = request(core)
    plan = core.call(req, interpret)
    next(plan)
    clock.now += 6
    with pytest.raises(APITimeoutError, match="total_timeout=5") as info:
        plan.throw(httpx.ReadTimeout("clamped"))
    assert not info.value.retryable


def test_reader_caps_declared_and_streamed_sizes() -> None:
    with pytest.raises(ResponseTooLargeError):
        BodyReader(httpx.Headers({"content-length": "2048"}), limit=1024, deadline=None)
    reader = BodyReader(httpx.Headers(), limit=1024, deadline=None)
    reader.feed(b"x" * 1000)
    with pytest.raises(ResponseTooLargeError):
        reader.feed(b"x" * 100)


def test_reader_stops_at_the_deadline() -> None:
    clock = Clock()
    reader = BodyReader(httpx.Headers(), limit=1024, deadline=clock.now + 1, total=1,
                        clock=clock)
    reader.feed(b"a")
    clock.now += 2
    with pytest.raises(APITimeoutError):
        reader.feed(b"b")


def test_policy_validation_and_overrides() -> None:
    p = CallPolicy(timeout=20)
    assert p.total == 600.0 and p.idle == 20.0
    assert CallPolicy(timeout=900).total == 900.0
    assert p.override({"max_retries": None}) is p
    for bad in ({"timeout": 0}, {"total_timeout": -1}, {"max_retries": 11},
                {"max_response_bytes": 1}, {"retry_ambiguous": "yes"}):
        with pytest.raises(ConfigurationError):
            p.override(bad)


def test_sync_and_async_clients_have_one_surface() -> None:
    """Same public methods, parameters and docstrings (only ``close``/``aclose`` and the
    async-only ``max_concurrency`` differ); every call method takes ``**call``."""
    import inspect

    from cf_aig import AsyncClient, Client

    def public(cls: type) -> dict[str, Any]:
        return {n: f for n, f in vars(cls).items() if callable(f) and not n.startswith("_")}

    sync, asyn = public(Client), public(AsyncClient)
    assert set(sync) - {"close"} == set(asyn) - {"aclose"}
    for name, fn in sync.items():
        if name == "close":
            continue
        other = asyn[name]
        doc = inspect.getdoc(fn)
        assert doc and (inspect.getdoc(other) or "").startswith(doc), name  # + async notes
        params = list(inspect.signature(fn).parameters.values())
        assert params == list(inspect.signature(other).parameters.values()), name
        assert params[-1].kind is inspect.Parameter.VAR_KEYWORD, name
