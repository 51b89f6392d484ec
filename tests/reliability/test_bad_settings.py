"""Invalid settings fail with a clear error before any request (the emulator sees none):
on the core client, on both adapters' constructors, and as per-call options."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import cf_aig
from cf_aig.emulator import Emulator

from .conftest import PROMPT, TOKEN, Driver, li_messages, make_langchain, make_llama_index

# (option name, bad value, words the message must contain)
BAD_OPTIONS: list[tuple[str, Any, str]] = [
    ("metadata", {f"k{i}": i for i in range(6)}, "at most 5"),
    ("metadata", {"user": {"nested": 1}}, "nesting"),
    ("metadata", {"user": None}, "None"),
    ("metadata", {"cf.internal": "x"}, "reserved"),
    ("metadata", ["not", "a", "dict"], "metadata"),
    ("cache_ttl", 59, "cache_ttl"),
    ("cache_ttl", 30 * 24 * 3600 + 1, "cache_ttl"),
    ("cache_ttl", -1, "cache_ttl"),
    ("max_attempts", 6, "max_attempts"),
    ("max_attempts", 0, "max_attempts"),
    ("retry_delay_ms", 60_001, "retry_delay_ms"),
    ("backoff", "random", "backoff"),
    ("otel_trace_id", "xyz", "otel_trace_id"),
    ("event_id", "two\nlines", "event_id"),
]
FIELD = {"metadata": "gateway_metadata"}

BAD_URLS = ["ftp://example.com/client/v4", "", "not a url", "https://h.example/?q=1",
            "http://example.com/client/v4", "https:///client/v4"]


def _ids(x: Any) -> str:
    return repr(x)[:40]


@pytest.fixture
def emu(cf_aig_emulator: Emulator) -> Emulator:
    return cf_aig_emulator


def _no_requests(emu: Emulator) -> None:
    assert emu.stats.requests == 0 and emu.requests == []


@pytest.mark.parametrize(("name", "value", "words"), BAD_OPTIONS, ids=_ids)
def test_bad_option_on_the_core_client(emu: Emulator, name: str, value: Any, words: str) -> None:
    with pytest.raises(cf_aig.ConfigurationError, match=words):
        cf_aig.Client(account_id="a", api_token=TOKEN, base_url=emu.base_url,
                      options={name: value})
    with cf_aig.Client(account_id="a", api_token=TOKEN, base_url=emu.base_url) as c, \
            pytest.raises(cf_aig.ConfigurationError, match=words):
        c.chat({"model": "openai/gpt-5.5", "messages": [{"role": "user", "content": "x"}]},
               options={name: value})
    _no_requests(emu)


@pytest.mark.parametrize(("name", "value", "words"), BAD_OPTIONS, ids=_ids)
@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
def test_bad_option_on_an_adapter_field(emu: Emulator, framework: str, name: str, value: Any,
                                        words: str) -> None:
    make = make_langchain if framework == "langchain" else make_llama_index
    with pytest.raises(ValueError) as info:  # ConfigurationError and ValidationError
        make(emu.base_url, **{FIELD.get(name, name): value})
    assert FIELD.get(name, name) in str(info.value) or name in str(info.value)
    _no_requests(emu)


@pytest.mark.parametrize(("name", "value", "words"), BAD_OPTIONS, ids=_ids)
@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
@pytest.mark.parametrize("op", ["invoke", "stream"])
def test_bad_option_per_call(emu: Emulator, framework: str, op: str, name: str, value: Any,
                             words: str) -> None:
    kw = {FIELD.get(name, name): value}
    if framework == "langchain":
        llm = make_langchain(emu.base_url)
        with pytest.raises(ValueError, match=words):
            llm.invoke(PROMPT, **kw) if op == "invoke" else list(llm.stream(PROMPT, **kw))
    else:
        li = make_llama_index(emu.base_url)
        with pytest.raises(ValueError, match=words):
            li.chat(li_messages(), **kw) if op == "invoke" else list(
                li.stream_chat(li_messages(), **kw))
    _no_requests(emu)


@pytest.mark.parametrize("framework", ["core", "langchain", "llama_index"])
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("op", ["invoke", "stream"])
@pytest.mark.parametrize("model", ["", "   "])
def test_empty_model_fails_before_any_request(emu: Emulator, framework: str, mode: str,
                                              op: str, model: str) -> None:
    driver = Driver(framework, mode, op)
    try:
        if framework == "core":
            client = driver.make(emu.base_url)
            req = {"model": model, "messages": [{"role": "user", "content": "x"}]}
            call = client.chat if op == "invoke" else client.chat_stream
            with pytest.raises(cf_aig.ConfigurationError, match="model"):
                out = call(req)
                if asyncio.iscoroutine(out):
                    asyncio.run(out)
            return
        from .conftest import creds

        if framework == "langchain":
            from langchain_cf_aig import ChatCloudflareAIGateway as Cls
        else:
            from llama_index_cf_aig import CloudflareAIGateway as Cls
        try:
            llm = Cls(model=model, **creds(emu.base_url))
        except ValueError as exc:  # refused at construction: fine
            assert "model" in str(exc)
            return
        with pytest.raises(ValueError, match="model"):
            asyncio.run(driver.run(llm, []))
    finally:
        _no_requests(emu)


@pytest.mark.parametrize("url", BAD_URLS, ids=_ids)
@pytest.mark.parametrize("framework", ["core", "langchain", "llama_index"])
def test_bad_base_url_fails_at_construction(emu: Emulator, framework: str, url: str) -> None:
    with pytest.raises(ValueError, match=r"base_url|URL|url"):
        if framework == "core":
            cf_aig.Client(account_id="a", api_token=TOKEN, base_url=url)
        elif framework == "langchain":
            make_langchain(url)
        else:
            make_llama_index(url)
    _no_requests(emu)


@pytest.mark.parametrize(("field", "value"), [("timeout", 0), ("timeout", -3),
                                              ("max_retries", 11), ("max_retries", -1),
                                              ("account_id", "a/b"), ("gateway_id", "x y")])
@pytest.mark.parametrize("framework", ["core", "langchain", "llama_index"])
def test_bad_transport_settings_fail_at_construction(emu: Emulator, framework: str, field: str,
                                                     value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        if framework == "core":
            kw = {"account_id": "a", "api_token": TOKEN, "base_url": emu.base_url, field: value}
            cf_aig.Client(**kw)
        elif framework == "langchain":
            make_langchain(emu.base_url, **{field: value})
        else:
            make_llama_index(emu.base_url, **{field: value})
    _no_requests(emu)


def test_missing_credentials_fail_at_construction(emu: Emulator,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_cf_aig import ChatCloudflareAIGateway
    from llama_index_cf_aig import CloudflareAIGateway

    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    monkeypatch.delenv("CLOUDFLARE_ACCOUNT_ID", raising=False)
    for build in (lambda: ChatCloudflareAIGateway(model="openai/gpt-5.5", base_url=emu.base_url),
                  lambda: CloudflareAIGateway(model="openai/gpt-5.5", base_url=emu.base_url)):
        with pytest.raises(ValueError, match="CLOUDFLARE_API_TOKEN"):
            build()
    _no_requests(emu)
