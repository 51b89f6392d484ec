"""The core's transport limits through all four adapter classes (issue 13, item 4).

``max_response_bytes``, ``total_timeout``, ``stream_idle_timeout`` and ``retry_ambiguous``
are fields of the LangChain and LlamaIndex classes (declared once, in
:mod:`cf_aig.fields`), reach the core client each instance builds, take effect when
changed after first use, and are per-call keywords wherever the framework passes
keywords through (LlamaIndex's embedding API passes none). Bad values are a
``ConfigurationError`` naming the field, before any request.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from cf_aig import APITimeoutError, ConfigurationError
from cf_aig.emulator import Emulator
from cf_aig.errors import ResponseTooLargeError

from .conftest import TOKEN, HostileServer, Script

CHAT_MODEL = "openai/gpt-5.5"
EMBED_MODEL = "openai/text-embedding-3-small"  # 1536 floats: ~30 KB of JSON per answer
LONG_PROMPT = "x" * 3000  # the emulator's chat answer repeats it: ~6 KB
SMALL_CAP = 1024  # the core's smallest allowed cap


@dataclass(frozen=True)
class Kind:
    """One adapter class: how to build it and how to make one call with it."""

    name: str
    build: Callable[..., Any]
    call: Callable[..., Any]
    per_call: bool = True
    """Whether the framework passes per-call keywords through to us."""


def _lc_chat(**kw: Any) -> Any:
    from langchain_cf_aig import ChatCloudflareAIGateway

    return ChatCloudflareAIGateway(model=CHAT_MODEL, **kw)


def _lc_embed(**kw: Any) -> Any:
    from langchain_cf_aig import CloudflareAIGatewayEmbeddings

    return CloudflareAIGatewayEmbeddings(model=EMBED_MODEL, **kw)


def _li_llm(**kw: Any) -> Any:
    from llama_index_cf_aig import CloudflareAIGateway

    return CloudflareAIGateway(model=CHAT_MODEL, **kw)


def _li_embed(**kw: Any) -> Any:
    from llama_index_cf_aig import CloudflareAIGatewayEmbedding

    return CloudflareAIGatewayEmbedding(model_name=EMBED_MODEL, **kw)


def _li_chat(llm: Any, **call: Any) -> Any:
    from llama_index.core.llms import ChatMessage

    return llm.chat([ChatMessage(role="user", content=LONG_PROMPT)], **call).message.content


def _li_embed_call(emb: Any, **call: Any) -> Any:
    assert not call, "LlamaIndex's embedding API has no per-call keywords"
    return emb.get_text_embedding("hi")


KINDS = [
    Kind("langchain-chat", _lc_chat, lambda m, **c: m.invoke(LONG_PROMPT, **c).content),
    Kind("langchain-embeddings", _lc_embed, lambda m, **c: m.embed_query("hi", **c)),
    Kind("llama_index-llm", _li_llm, _li_chat),
    Kind("llama_index-embedding", _li_embed, _li_embed_call, per_call=False),
]
PER_CALL = [k for k in KINDS if k.per_call]


def _ids(kind: Kind) -> str:
    return kind.name


def creds(base_url: str) -> dict[str, Any]:
    return {"account_id": "a", "api_token": TOKEN, "base_url": base_url}


def framework_error(kind: Kind, exc: BaseException) -> None:
    """A LangChain class raises LangChain's error family too (as for every other error)."""
    if kind.name.startswith("langchain"):
        from langchain_core.exceptions import ModelError

        assert isinstance(exc, ModelError)


@pytest.fixture
def emu(cf_aig_emulator: Emulator) -> Emulator:
    return cf_aig_emulator


@pytest.fixture
def stall(hostile: Callable[[Script], HostileServer]) -> Iterator[HostileServer]:
    """A server that takes every request and never answers (until the test ends)."""
    released = threading.Event()

    def script(conn: socket.socket, req: bytes, n: int) -> str:
        released.wait(10)
        return "close"

    yield hostile(script)
    released.set()


# ------------------------------------------------------------------ max_response_bytes

@pytest.mark.parametrize("kind", KINDS, ids=_ids)
def test_small_cap_refuses_an_oversized_answer(emu: Emulator, kind: Kind) -> None:
    assert kind.call(kind.build(**creds(emu.base_url)))  # the default cap takes it
    model = kind.build(**creds(emu.base_url), max_response_bytes=SMALL_CAP)
    with pytest.raises(ResponseTooLargeError, match="max_response_bytes=1024") as info:
        kind.call(model)
    framework_error(kind, info.value)
    assert info.value.limit == SMALL_CAP


@pytest.mark.parametrize("kind", KINDS, ids=_ids)
def test_a_cap_changed_after_first_use_takes_effect(emu: Emulator, kind: Kind) -> None:
    model = kind.build(**creds(emu.base_url))
    assert kind.call(model)
    model.max_response_bytes = SMALL_CAP
    with pytest.raises(ResponseTooLargeError):
        kind.call(model)
    model.max_response_bytes = None
    assert kind.call(model)


@pytest.mark.parametrize("kind", PER_CALL, ids=_ids)
def test_per_call_cap_overrides_the_field(emu: Emulator, kind: Kind) -> None:
    model = kind.build(**creds(emu.base_url))
    with pytest.raises(ResponseTooLargeError):
        kind.call(model, max_response_bytes=SMALL_CAP)
    assert kind.call(model)  # one call only
    small = kind.build(**creds(emu.base_url), max_response_bytes=SMALL_CAP)
    assert kind.call(small, max_response_bytes=2**20)


async def test_async_calls_use_the_fields_too(emu: Emulator) -> None:
    from llama_index.core.llms import ChatMessage

    lc = _lc_chat(**creds(emu.base_url), max_response_bytes=SMALL_CAP)
    li = _li_llm(**creds(emu.base_url), max_response_bytes=SMALL_CAP)
    with pytest.raises(ResponseTooLargeError):
        await lc.ainvoke(LONG_PROMPT)
    with pytest.raises(ResponseTooLargeError):
        await li.achat([ChatMessage(role="user", content=LONG_PROMPT)])
    with pytest.raises(ResponseTooLargeError):
        await _lc_embed(**creds(emu.base_url), max_response_bytes=SMALL_CAP).aembed_query("x")
    with pytest.raises(ResponseTooLargeError):
        await _li_embed(**creds(emu.base_url),
                        max_response_bytes=SMALL_CAP).aget_text_embedding("x")


# ------------------------------------------------------------------ total_timeout

@pytest.mark.parametrize("kind", KINDS, ids=_ids)
def test_total_timeout_ends_a_stalled_call(stall: HostileServer, kind: Kind) -> None:
    """The read timeout (30 s) would never fire in time; the whole-call deadline does."""
    model = kind.build(**creds(stall.base_url), timeout=30, total_timeout=0.5)
    with pytest.raises(APITimeoutError, match=r"total_timeout=0\.5") as info:
        kind.call(model)
    framework_error(kind, info.value)
    assert stall.arrivals == 1


@pytest.mark.parametrize("kind", PER_CALL, ids=_ids)
def test_per_call_total_timeout(stall: HostileServer, kind: Kind) -> None:
    model = kind.build(**creds(stall.base_url), timeout=30, total_timeout=600)
    with pytest.raises(APITimeoutError, match=r"total_timeout=0\.5"):
        kind.call(model, total_timeout=0.5)


def test_stream_idle_timeout_field(hostile: Callable[[Script], HostileServer]) -> None:
    """The idle limit between stream events, as a field of both chat classes."""
    from llama_index.core.llms import ChatMessage

    from cf_aig import StreamInterruptedError

    released = threading.Event()

    def keepalives(conn: socket.socket, req: bytes, n: int) -> str:
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                     b"connection: close\r\n\r\n")
        while not released.wait(0.1):
            conn.sendall(b": keep-alive\n\n")
        return "close"

    server = hostile(keepalives)
    try:
        lc = _lc_chat(**creds(server.base_url), timeout=30, stream_idle_timeout=0.5)
        with pytest.raises(StreamInterruptedError, match="stream_idle_timeout"):
            list(lc.stream("hi"))
        li = _li_llm(**creds(server.base_url), timeout=30, stream_idle_timeout=0.5)
        with pytest.raises(StreamInterruptedError, match="stream_idle_timeout"):
            list(li.stream_chat([ChatMessage(role="user", content="hi")]))
    finally:
        released.set()
    assert server.arrivals == 2


# ------------------------------------------------------------------ retry_ambiguous

@pytest.mark.parametrize(("allow", "arrivals"), [(False, 1), (True, 3)])
@pytest.mark.parametrize("kind", KINDS, ids=_ids)
def test_retry_ambiguous_field(stall: HostileServer, kind: Kind, allow: bool,
                               arrivals: int) -> None:
    """A read timeout after the request was sent: resent only with retry_ambiguous."""
    model = kind.build(**creds(stall.base_url), timeout=0.3, max_retries=2,
                       retry_base_delay=0.01, retry_ambiguous=allow)
    with pytest.raises(APITimeoutError):
        kind.call(model)
    assert stall.arrivals == arrivals


@pytest.mark.parametrize("kind", PER_CALL, ids=_ids)
def test_per_call_retry_ambiguous(stall: HostileServer, kind: Kind) -> None:
    model = kind.build(**creds(stall.base_url), timeout=0.3, max_retries=2,
                       retry_base_delay=0.01)
    with pytest.raises(APITimeoutError):
        kind.call(model, retry_ambiguous=True)
    assert stall.arrivals == 3


# ------------------------------------------------------------------ bad values

BAD: list[tuple[str, Any]] = [
    ("total_timeout", 0), ("total_timeout", -1.0), ("total_timeout", float("nan")),
    ("stream_idle_timeout", 0), ("stream_idle_timeout", float("inf")),
    ("max_response_bytes", 0), ("max_response_bytes", 100),
]


@pytest.mark.parametrize(("name", "value"), BAD, ids=repr)
@pytest.mark.parametrize("kind", KINDS, ids=_ids)
def test_bad_limits_fail_before_sending(emu: Emulator, kind: Kind, name: str,
                                        value: Any) -> None:
    with pytest.raises(ValueError, match=name):  # ConfigurationError (LangChain: wrapped)
        kind.build(**creds(emu.base_url), **{name: value})
    model = kind.build(**creds(emu.base_url))
    with pytest.raises(ConfigurationError, match=name):
        setattr(model, name, value)
    if kind.per_call:
        with pytest.raises(ConfigurationError, match=name):
            kind.call(model, **{name: value})
    assert emu.stats.requests == 0


@pytest.mark.parametrize("kind", PER_CALL, ids=_ids)
def test_retry_ambiguous_must_be_a_bool_per_call(emu: Emulator, kind: Kind) -> None:
    model = kind.build(**creds(emu.base_url))
    with pytest.raises(ConfigurationError, match="retry_ambiguous"):
        kind.call(model, retry_ambiguous="yes")
    with pytest.raises(ConfigurationError, match="retry_ambiguous"):
        model.retry_ambiguous = "yes"
    assert emu.stats.requests == 0


def test_limits_are_serialized_settings(emu: Emulator) -> None:
    """The limits are ordinary settings: they survive a dump and a rebuild."""
    li = _li_llm(**creds(emu.base_url), total_timeout=30, max_response_bytes=2**20,
                 retry_ambiguous=True, stream_idle_timeout=5)
    dumped = li.model_dump()
    assert {k: dumped[k] for k in ("total_timeout", "max_response_bytes", "retry_ambiguous",
                                   "stream_idle_timeout")} == {
        "total_timeout": 30, "max_response_bytes": 2**20, "retry_ambiguous": True,
        "stream_idle_timeout": 5}
    policy = li.client.policy
    assert (policy.total, policy.max_response_bytes, policy.retry_ambiguous, policy.idle) == (
        30, 2**20, True, 5)
    assert asyncio.run(_async_policy(li)) == policy


async def _async_policy(model: Any) -> Any:
    return model.async_client.policy
