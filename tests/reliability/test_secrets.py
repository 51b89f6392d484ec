"""The API token never leaks: reprs, dumps, errors and tracebacks, logs at DEBUG (ours,
httpx, httpcore), LangChain callbacks and LlamaIndex instrumentation events; credential
headers are redacted wherever headers are shown; plain HTTP only to loopback."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import pickle
import traceback
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

import cf_aig
from cf_aig import AsyncClient, Client
from cf_aig._protocol import redact_headers
from cf_aig.config import Settings
from cf_aig.emulator import Emulator, Fault

from .conftest import (
    PROMPT,
    TOKEN,
    closed_port,
    creds,
    li_messages,
    make_langchain,
    make_llama_index,
)

HELLO = [{"role": "user", "content": PROMPT}]
REQ = {"model": "openai/gpt-5.5", "messages": HELLO}
LOGGERS = ("", "httpx", "httpcore", "cf_aig", "langchain_cf_aig", "llama_index_cf_aig",
           "langchain_core", "llama_index")


def leaks(obj: Any) -> bool:
    """True when the token shows in ``obj``'s str, repr, or JSON (default=repr) form."""
    texts = [str(obj), repr(obj)]
    with contextlib.suppress(TypeError, ValueError):
        texts.append(json.dumps(obj, default=repr))
    return any(TOKEN in t for t in texts)


def error_texts(err: BaseException) -> list[str]:
    """Everything a user or a log handler could print about an error, with its causes."""
    out = ["".join(traceback.format_exception(err)), str(err), repr(err)]
    seen: set[int] = set()
    e: BaseException | None = err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        out += [str(e), repr(e), repr(vars(e)) if hasattr(e, "__dict__") else ""]
        out.append(repr(getattr(e, "body", None)))
        e = e.__cause__ or e.__context__
    with contextlib.suppress(Exception):
        out.append(repr(pickle.loads(pickle.dumps(err))))
    return out


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def assert_logs_clean(caplog: pytest.LogCaptureFixture) -> None:
    assert caplog.records, "DEBUG logging captured nothing: the check would be vacuous"
    for rec in caplog.records:
        text = rec.getMessage() + repr(rec.args) + repr(rec.__dict__)
        assert TOKEN not in text, f"token in log record {rec.name}: {rec.getMessage()[:200]}"
    assert TOKEN not in caplog.text
    assert {r.name.split(".")[0] for r in caplog.records} >= {"httpcore"}


# ---- objects -----------------------------------------------------------------------


def test_core_objects_never_show_the_token(cf_aig_emulator: Emulator) -> None:
    with Client(**creds(cf_aig_emulator.base_url)) as c:
        result = c.chat(REQ)
        stream = c.chat_stream(REQ)
        with stream:
            chunks = list(stream)
        for obj in (c, c.settings, c.options, result, result.info, stream, chunks,
                    c.headers().__class__(redact_headers(c.headers()))):
            assert not leaks(obj), type(obj)
        assert not leaks(pickle.dumps(result))
    ac = AsyncClient(**creds(cf_aig_emulator.base_url))
    assert not leaks(ac) and not leaks(ac.settings)
    s = Settings.resolve(account_id="a", api_token=TOKEN)
    assert not leaks(s) and TOKEN not in str(vars(s) if hasattr(s, "__dict__") else s)


def test_credential_headers_are_redacted_wherever_shown(cf_aig_emulator: Emulator) -> None:
    shown = redact_headers({"Authorization": f"Bearer {TOKEN}", "cf-aig-authorization":
                            f"Bearer {TOKEN}", "X-Api-Key": TOKEN, "cf-aig-cache-ttl": "60"})
    assert TOKEN not in repr(shown) and shown["cf-aig-cache-ttl"] == "60"
    assert shown["Authorization"] == shown["cf-aig-authorization"] == "***"
    with Client(**creds(cf_aig_emulator.base_url)) as c:
        c.chat(REQ)
        request = c.build_request("POST", "/x", body={}, headers=c.headers())
        assert TOKEN not in repr(request.headers) and TOKEN not in str(request.headers)
        # nobody can smuggle a credential header in beside the token, nor see it echoed
        for name in ("Authorization", "cf-aig-authorization"):
            with pytest.raises(cf_aig.ConfigurationError) as info:
                c.chat(REQ, headers={name: f"Bearer {TOKEN}"})
            assert TOKEN not in str(info.value)
            with pytest.raises(cf_aig.ConfigurationError) as info:
                Client(**creds(cf_aig_emulator.base_url), default_headers={name: TOKEN})
            assert TOKEN not in str(info.value)
    sent = cf_aig_emulator.requests[-1]
    assert sent.bearer_is(TOKEN)  # the token did travel, in Authorization only
    assert all(TOKEN not in v for v in sent.headers.values())
    assert TOKEN not in repr(cf_aig_emulator.requests)


# ---- errors and tracebacks ---------------------------------------------------------


@pytest.mark.usefixtures("fast_retries")
@pytest.mark.parametrize("fault", [Fault(code=10000), Fault(code=3040), Fault(status=500),
                                   Fault(kind="malformed_json"),
                                   Fault(kind="disconnect", after=2),
                                   Fault(kind="stream_error", after=1, code=2017)],
                         ids=lambda f: f"{f.kind}-{f.code or f.status}")
def test_errors_and_tracebacks_never_show_the_token(cf_aig_emulator: Emulator, fault: Fault,
                                                    debug_logs: pytest.LogCaptureFixture
                                                    ) -> None:
    errors: list[BaseException] = []
    lc = make_langchain(cf_aig_emulator.base_url)
    li = make_llama_index(cf_aig_emulator.base_url)
    attempts = [
        lambda: lc.invoke(PROMPT),
        lambda: list(lc.stream(PROMPT)),
        lambda: li.chat(li_messages()),
        lambda: list(li.stream_chat(li_messages())),
        lambda: asyncio.run(lc.ainvoke(PROMPT)),
    ]
    for attempt in attempts:
        cf_aig_emulator.reset()
        cf_aig_emulator.enqueue(*[Fault(**fault.__dict__) for _ in range(3)])
        try:
            attempt()
        except Exception as exc:
            errors.append(exc)
    assert errors
    for err in errors:
        for text in error_texts(err):
            assert TOKEN not in text, f"{type(err).__name__}: {text[:300]}"
    assert_logs_clean(debug_logs)


@pytest.mark.usefixtures("fast_retries")
def test_transport_errors_never_show_the_token(debug_logs: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{closed_port()}/client/v4"
    for call in (lambda: Client(**creds(url)).chat(REQ),
                 lambda: make_langchain(url).invoke(PROMPT),
                 lambda: make_llama_index(url).chat(li_messages())):
        with pytest.raises(cf_aig.ConnectionFailedError) as info:
            call()
        for text in error_texts(info.value):
            assert TOKEN not in text
    assert_logs_clean(debug_logs)


def test_settings_errors_never_show_the_token() -> None:
    bad = [
        {"base_url": "http://example.com/client/v4"},
        {"base_url": "ftp://example.com"},
        {"timeout": -1},
        {"account_id": "has space"},
    ]
    for kw in bad:
        args = {"account_id": "a", "api_token": TOKEN, **kw}
        builds: list[Callable[[], Any]] = [
            functools.partial(Client, **args),
            functools.partial(make_langchain, **_base(args)),
            functools.partial(make_llama_index, **_base(args))]
        for build in builds:
            with pytest.raises(Exception) as info:
                build()
            for text in error_texts(info.value):
                assert TOKEN not in text, kw


def _base(args: dict[str, Any]) -> dict[str, Any]:
    rest = dict(args)
    rest.pop("api_token")
    base = rest.pop("base_url", "http://127.0.0.1:8787/client/v4")
    return {"base_url": base, **rest}


# ---- adapters: dumps, logs, callbacks, instrumentation ------------------------------


def test_langchain_dumps_logs_and_callbacks(cf_aig_emulator: Emulator,
                                            debug_logs: pytest.LogCaptureFixture) -> None:
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.load import dumpd, dumps

    seen: list[str] = []

    class Capture(BaseCallbackHandler):
        """Records every on_* call with all its arguments."""

        def __getattribute__(self, name: str) -> Any:
            attr = object.__getattribute__(self, name)
            if name.startswith("on_") and callable(attr):
                def record(*args: Any, **kwargs: Any) -> Any:
                    seen.append(f"{name} {args!r} {kwargs!r}")
                    seen.append(json.dumps([args, kwargs], default=repr))
                    return attr(*args, **kwargs)
                return record
            return attr

    llm = make_langchain(cf_aig_emulator.base_url, send_run_id=True)
    cfg = {"callbacks": [Capture()], "metadata": {"user": "alice"}, "tags": ["t"]}
    msg = llm.invoke(PROMPT, config=cfg)
    chunks = list(llm.stream(PROMPT, config=cfg))
    asyncio.run(llm.ainvoke(PROMPT, config=cfg))

    async def events() -> list[Any]:
        return [e async for e in llm.astream_events(PROMPT, version="v2", config=cfg)]

    evs = asyncio.run(events())
    assert len(seen) > 10 and evs
    assert any(t.startswith("on_chat_model_start") for t in seen)
    assert any(t.startswith("on_llm_new_token") for t in seen)
    for text in seen:
        assert TOKEN not in text, text[:300]
    for obj in (llm, msg, chunks, evs, llm.model_dump(), dumpd(llm),
                llm._get_invocation_params(), llm.model_dump_json(), llm.to_json(),
                llm.client, llm.async_client):
        assert not leaks(obj), type(obj)
    assert TOKEN not in dumps(llm) and TOKEN not in dumps(msg) and TOKEN not in pickle.dumps(
        msg).decode("latin-1")
    assert_logs_clean(debug_logs)


def test_langchain_embeddings_never_show_the_token(cf_aig_emulator: Emulator) -> None:
    from langchain_cf_aig import CloudflareAIGatewayEmbeddings

    emb = CloudflareAIGatewayEmbeddings(model="@cf/baai/bge-small-en-v1.5",
                                        **creds(cf_aig_emulator.base_url))
    assert emb.embed_query("hello")
    for obj in (emb, emb.model_dump(), emb.model_dump_json()):
        assert not leaks(obj)


def test_llama_index_dumps_logs_and_instrumentation(cf_aig_emulator: Emulator,
                                                    debug_logs: pytest.LogCaptureFixture
                                                    ) -> None:
    from llama_index.core.instrumentation import get_dispatcher
    from llama_index.core.instrumentation.event_handlers import BaseEventHandler
    from llama_index.core.instrumentation.span_handlers import SimpleSpanHandler

    seen: list[str] = []

    class Capture(BaseEventHandler):
        @classmethod
        def class_name(cls) -> str:
            return "Capture"

        def handle(self, event: Any, **kwargs: Any) -> None:
            seen.append(repr(event))
            seen.append(json.dumps(event.model_dump(), default=repr))
            with contextlib.suppress(Exception):
                seen.append(event.model_dump_json())

    root = get_dispatcher()
    handler, spans = Capture(), SimpleSpanHandler()
    root.add_event_handler(handler)
    root.add_span_handler(spans)
    try:
        llm = make_llama_index(cf_aig_emulator.base_url)
        resp = llm.chat(li_messages())
        streamed = list(llm.stream_chat(li_messages()))
        comp = llm.complete(PROMPT)
        asyncio.run(llm.achat(li_messages()))

        async def astream() -> list[Any]:
            return [r async for r in await llm.astream_chat(li_messages())]

        asyncio.run(astream())
    finally:
        root.event_handlers.remove(handler)
        root.span_handlers.remove(spans)
    assert len(seen) > 6 and any("LLMChatStartEvent" in t for t in seen)
    for text in seen:
        assert TOKEN not in text, text[:300]
    for sp in spans.completed_spans + spans.dropped_spans:
        assert not leaks(sp.model_dump() if hasattr(sp, "model_dump") else sp)
    for obj in (llm, resp, streamed, comp, llm.to_dict(), llm.to_json(), llm.model_dump(),
                llm.model_dump_json(), llm.client, llm.async_client, llm.metadata):
        assert not leaks(obj), type(obj)
    assert_logs_clean(debug_logs)


def test_llama_index_embedding_never_shows_the_token(cf_aig_emulator: Emulator) -> None:
    from llama_index_cf_aig import CloudflareAIGatewayEmbedding

    emb = CloudflareAIGatewayEmbedding(model_name="@cf/baai/bge-small-en-v1.5",
                                       **creds(cf_aig_emulator.base_url))
    assert emb.get_query_embedding("hello")
    for obj in (emb, emb.to_dict(), emb.to_json(), emb.model_dump()):
        assert not leaks(obj)


# ---- transport security --------------------------------------------------------------

NON_LOOPBACK_HTTP = [
    "http://example.com/client/v4",
    "http://127.0.0.1.evil.example/client/v4",
    "http://localhost.evil.example/client/v4",
    "http://10.0.0.8:8787/client/v4",
    "HTTP://EXAMPLE.COM/client/v4",
]
# (``http://127.0.0.1@evil.example``: refused for its userinfo even when plain HTTP is
# allowed; see tests/hostile/test_ids_secrets.py)


@pytest.mark.parametrize("url", NON_LOOPBACK_HTTP)
def test_plain_http_to_non_loopback_is_refused_everywhere(url: str,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    with pytest.raises(cf_aig.ConfigurationError, match=r"https|HTTP"):
        Client(account_id="a", api_token=TOKEN, base_url=url)
    for build in (make_langchain, make_llama_index):
        with pytest.raises(ValueError):  # ConfigurationError is a ValueError
            build(url)
    monkeypatch.setenv("CLOUDFLARE_AI_GATEWAY_BASE_URL", url)
    with pytest.raises(cf_aig.ConfigurationError):
        Client(account_id="a", api_token=TOKEN)
    # explicitly allowed: accepted
    Client(account_id="a", api_token=TOKEN, base_url=url, allow_insecure_http=True).close()
    make_langchain(url, allow_insecure_http=True)
    make_llama_index(url, allow_insecure_http=True)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8787/client/v4", "http://localhost:1/v4",
                                 "http://[::1]:8787/client/v4", "https://gw.example/client/v4"])
def test_loopback_http_and_https_are_accepted(url: str) -> None:
    Client(account_id="a", api_token=TOKEN, base_url=url).close()
    make_langchain(url)
    make_llama_index(url)


def test_run_ids_are_not_secrets() -> None:
    # guard for the callback capture: UUIDs and the token never collide
    assert TOKEN not in str(UUID(int=0))


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
@pytest.mark.parametrize("header", ["cf-aig-authorization", "Authorization"])
def test_credential_in_default_headers_is_refused_at_construction(framework: str,
                                                                  header: str) -> None:
    make = make_langchain if framework == "langchain" else make_llama_index
    with pytest.raises(ValueError, match=header):
        model = make("http://127.0.0.1:9/client/v4",
                     default_headers={header: f"Bearer {TOKEN}"})
        assert not leaks(model)
