"""Hostile arguments (issue 13 items 1 and 6): ids that would change the request path,
and credentials that would leak at the edges.

Every hostile id is a typed :class:`cf_aig.InvalidIdError` (a ``ConfigurationError``,
itself a ``ValueError``) before anything is sent: the emulator sees zero requests. Every
rejected token or base URL is a ``ConfigurationError`` whose text never repeats it.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cf_aig
from cf_aig import AsyncClient, Client, ConfigurationError, InvalidIdError
from cf_aig._ids import MAX_ID_LENGTH, check_id, check_model_id, model_path, segment
from cf_aig.config import Settings, check_base_url, check_token
from cf_aig.emulator import Emulator
from cf_aig.emulator.catalog import WORKERS_AI_MODELS
from cf_aig.profiles import _TABLE

TOKEN = "cfat_HOSTILE_0123456789abcdef"
MSGS = [{"role": "user", "content": "Hi"}]

HOSTILE_MODELS = [
    "@cf/../../../../user/tokens/verify",
    "@cf/x?admin=1",
    "@cf/x#frag",
    "@cf/%2e%2e/%2e%2e/user",
    "@cf/./x",
    "@cf//x",
    "@cf/x/",
    "/@cf/x",
    "@cf/x\\..\\..\\y",
    "@cf/a b",
    "@cf/x\r\nX-Evil: 1",
    "@cf/x\x00",
    "@cf/\u2025/x",  # one-dot leader: not ASCII
    "@cf/@@x",
    "@cf/x@y",
    "@cf/" + "a" * 300,
]
HOSTILE_IDS = ["..", ".", "...", "x#y", "x?y=1", "a/b", "%2e%2e", "x y", "x\ny", "x\\y",
               "@x", "é", "a" * (MAX_ID_LENGTH + 1)]
PATH_MODELS = [m for m in HOSTILE_MODELS if m.startswith("@cf/")][:12]
"""Ids that go into the path (``@cf/``): the others travel in a JSON body."""
VALID_MODELS = [
    "@cf/meta/llama-3.1-8b-instruct-fp8",
    "@hf/nousresearch/hermes-2-pro-mistral-7b",
    "@cf/baai/bge-base-en-v1.5",
    "openai/gpt-5.5",
    "anthropic/claude-sonnet-4.5",
    "google-ai-studio/gemini-2.5-flash",
    "workers-ai/@cf/meta/llama-3.1-8b-instruct",
    "dynamic/support",
    "custom-acme/model_v2",
    "ft:gpt-4o-mini:org:custom:abc123",
    "openrouter/meta-llama/llama-3-8b:free",
    "cloudflare/auto",
]


def _sent(emu: Emulator) -> list[str]:
    return [f"{r.method} {r.path}?{r.query}" for r in emu.requests]


def _is_invalid_id(exc: BaseException) -> bool:
    e: BaseException | None = exc
    while e is not None:
        if isinstance(e, InvalidIdError):
            return True
        e = e.__cause__ or e.__context__
    return False


def _texts(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(vars(exc))


# ---- item 1: ids --------------------------------------------------------------------


@pytest.mark.parametrize("model", VALID_MODELS)
def test_real_model_ids_pass_unchanged(model: str) -> None:
    assert check_model_id(model) == model
    assert model_path(model) == "/ai/run/" + model  # nothing to encode in a valid id


def test_every_catalogued_model_id_passes() -> None:
    models = [*WORKERS_AI_MODELS, *_TABLE]
    assert len(models) > 20
    for model in models:
        assert check_model_id(model) == model


@pytest.mark.parametrize("model", HOSTILE_MODELS)
def test_hostile_model_id_is_refused_by_the_grammar(model: str) -> None:
    with pytest.raises(InvalidIdError) as info:
        model_path(model)
    assert isinstance(info.value, ConfigurationError) and isinstance(info.value, ValueError)
    assert "model id" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("value", HOSTILE_IDS)
def test_hostile_plain_id_is_refused_by_the_grammar(value: str) -> None:
    with pytest.raises(InvalidIdError, match="gateway_id"):
        segment("gateway_id", value)


@settings(max_examples=400, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]),
               min_size=1, max_size=40)
       | st.lists(st.sampled_from(["@cf", "..", ".", "a", "%2e", "?", "#", "", "b.c", ":"]),
                  min_size=1, max_size=6).map("/".join))
def test_any_accepted_model_id_stays_inside_its_path(model: str) -> None:
    """Whatever passes the grammar lands exactly at ``/ai/run/<model>`` after httpx
    builds (and normalises) the URL: no query, no fragment, no dot segment."""
    base = "http://127.0.0.1:1/client/v4/accounts/acc"
    try:
        path = model_path(model)
    except InvalidIdError:
        return
    url = httpx.URL(base + path)
    assert url.query == b"" and url.fragment == ""
    assert unquote(url.path) == "/client/v4/accounts/acc/ai/run/" + model
    assert not any(s in (".", "..") for s in model.split("/"))


CORE_CALLS: dict[str, Callable[[Client, str], Any]] = {
    "run": lambda c, m: c.run(m, {"prompt": "hi"}),
    "run_stream": lambda c, m: list(c.run(m, {"prompt": "hi"}, stream=True)),
    "chat_api_run": lambda c, m: c.chat({"model": m, "messages": MSGS}, api="run"),
    "chat_stream_api_run": lambda c, m: list(
        c.chat_stream({"model": m, "messages": MSGS}, api="run")),
    "embed_run": lambda c, m: c.embed(m, ["hi"], api="run"),
    "embed_default": lambda c, m: c.embed(m, ["hi"]),
}


@pytest.mark.parametrize("call", sorted(CORE_CALLS))
@pytest.mark.parametrize("model", PATH_MODELS)
def test_core_sends_nothing_for_a_hostile_model_id(cf_aig_emulator: Emulator, call: str,
                                                   model: str) -> None:
    with Client(account_id=cf_aig_emulator.account_id, api_token=TOKEN, max_retries=0,
                base_url=cf_aig_emulator.base_url) as client, pytest.raises(InvalidIdError):
        CORE_CALLS[call](client, model)
    assert _sent(cf_aig_emulator) == []


async def test_async_core_sends_nothing_for_a_hostile_model_id(
        cf_aig_emulator: Emulator) -> None:
    client = AsyncClient(account_id=cf_aig_emulator.account_id, api_token=TOKEN,
                         max_retries=0, base_url=cf_aig_emulator.base_url)
    try:
        for model in PATH_MODELS[:6]:
            with pytest.raises(InvalidIdError):
                await client.run(model, {"prompt": "hi"})
            with pytest.raises(InvalidIdError):
                await client.chat({"model": model, "messages": MSGS}, api="run")
            with pytest.raises(InvalidIdError):
                await client.embed(model, ["hi"], api="run")
    finally:
        await client.aclose()
    assert _sent(cf_aig_emulator) == []


def test_hostile_model_id_in_the_body_only_still_reaches_its_endpoint(
        cf_aig_emulator: Emulator) -> None:
    """On body-carried endpoints the id is JSON, not a path: it cannot move the request
    (the gateway answers it); the path stays the endpoint's own."""
    with Client(account_id=cf_aig_emulator.account_id, api_token=TOKEN, max_retries=0,
                base_url=cf_aig_emulator.base_url) as client, pytest.raises(cf_aig.CfAigError):
        client.chat({"model": "../../user/tokens/verify?x=1", "messages": MSGS})
    assert [r.path for r in cf_aig_emulator.requests] == [
        f"/client/v4/accounts/{cf_aig_emulator.account_id}/ai/v1/chat/completions"]


@pytest.mark.parametrize("value", HOSTILE_IDS)
def test_hostile_account_and_gateway_ids_fail_at_construction(
        value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidIdError, match="account_id"):
        Client(account_id=value, api_token=TOKEN)
    with pytest.raises(InvalidIdError, match="gateway_id"):
        Client(account_id="acc", api_token=TOKEN, gateway_id=value)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", value)
    with pytest.raises(InvalidIdError, match="CLOUDFLARE_ACCOUNT_ID"):
        Client(api_token=TOKEN)
    with pytest.raises(InvalidIdError):  # built directly, not through resolve()
        Settings(account_id=value, api_token=TOKEN)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["..", ".", "x?y", "a/b", "x#y", "%2e%2e", "x\r\ny"])
def test_logs_api_sends_nothing_for_hostile_log_or_gateway_ids(
        cf_aig_emulator: Emulator, value: str) -> None:
    with Client(account_id=cf_aig_emulator.account_id, api_token=TOKEN, max_retries=0,
                base_url=cf_aig_emulator.base_url) as client:
        attempts: list[Callable[[], Any]] = [
            lambda: client.get_log(value),
            lambda: client.patch_log(value, feedback=1),
            lambda: client.get_log("019a-ok", gateway_id=value),
            lambda: client.list_logs(gateway_id=value),
        ]
        for attempt in attempts:
            with pytest.raises(InvalidIdError):
                attempt()
    assert _sent(cf_aig_emulator) == []


def test_valid_ids_still_reach_the_emulator(cf_aig_emulator: Emulator) -> None:
    emu = cf_aig_emulator
    with Client(account_id=emu.account_id, api_token=TOKEN, base_url=emu.base_url) as client:
        result = client.run("@cf/meta/llama-3.1-8b-instruct-fp8", {"prompt": "hi"})
        assert result.info.log_id
        assert client.get_log(result.info.log_id)["id"] == result.info.log_id
    assert [r.path.rsplit("/", 1)[-1] for r in emu.requests] == [
        "llama-3.1-8b-instruct-fp8", result.info.log_id]


def _lc_chat(emu: Emulator, model: str) -> Any:
    from langchain_cf_aig import ChatCloudflareAIGateway

    chat = ChatCloudflareAIGateway(model=model, api="run", account_id=emu.account_id,
                                   api_token=TOKEN, base_url=emu.base_url, max_retries=0)
    return chat.invoke("hi")


def _lc_chat_stream(emu: Emulator, model: str) -> Any:
    from langchain_cf_aig import ChatCloudflareAIGateway

    chat = ChatCloudflareAIGateway(model=model, api="run", account_id=emu.account_id,
                                   api_token=TOKEN, base_url=emu.base_url, max_retries=0)
    return list(chat.stream("hi"))


def _lc_chat_async(emu: Emulator, model: str) -> Any:
    from langchain_cf_aig import ChatCloudflareAIGateway

    chat = ChatCloudflareAIGateway(model=model, api="run", account_id=emu.account_id,
                                   api_token=TOKEN, base_url=emu.base_url, max_retries=0)
    return asyncio.run(chat.ainvoke("hi"))


def _lc_embed(emu: Emulator, model: str) -> Any:
    from langchain_cf_aig import CloudflareAIGatewayEmbeddings

    emb = CloudflareAIGatewayEmbeddings(model=model, account_id=emu.account_id,
                                        api_token=TOKEN, base_url=emu.base_url, max_retries=0)
    return emb.embed_query("hi")


def _li_chat(emu: Emulator, model: str) -> Any:
    from llama_index.core.llms import ChatMessage

    from llama_index_cf_aig import CloudflareAIGateway

    llm = CloudflareAIGateway(model=model, api="run", account_id=emu.account_id,
                              api_token=TOKEN, base_url=emu.base_url, max_retries=0)
    return llm.chat([ChatMessage(role="user", content="hi")])


def _li_chat_async(emu: Emulator, model: str) -> Any:
    from llama_index.core.llms import ChatMessage

    from llama_index_cf_aig import CloudflareAIGateway

    llm = CloudflareAIGateway(model=model, api="run", account_id=emu.account_id,
                              api_token=TOKEN, base_url=emu.base_url, max_retries=0)
    return asyncio.run(llm.achat([ChatMessage(role="user", content="hi")]))


def _li_embed(emu: Emulator, model: str) -> Any:
    from llama_index_cf_aig import CloudflareAIGatewayEmbedding

    emb = CloudflareAIGatewayEmbedding(model_name=model, account_id=emu.account_id,
                                       api_token=TOKEN, base_url=emu.base_url, max_retries=0)
    return emb.get_text_embedding("hi")


ADAPTER_CALLS = {f.__name__.strip("_"): f for f in (
    _lc_chat, _lc_chat_stream, _lc_chat_async, _lc_embed, _li_chat, _li_chat_async, _li_embed)}


@pytest.mark.parametrize("call", sorted(ADAPTER_CALLS))
@pytest.mark.parametrize("model", ["@cf/../../../../user/tokens/verify", "@cf/x?admin=1",
                                   "@cf/x#frag", "@cf/%2e%2e/x"])
def test_adapters_send_nothing_for_a_hostile_model_id(cf_aig_emulator: Emulator, call: str,
                                                      model: str) -> None:
    with pytest.raises(ValueError) as info:  # at construction or at the call, never sent
        ADAPTER_CALLS[call](cf_aig_emulator, model)
    assert _is_invalid_id(info.value), repr(info.value)
    assert _sent(cf_aig_emulator) == []


# ---- item 6: credentials ------------------------------------------------------------

BAD_TOKENS = {
    "nul": "cfat_SECRET\x00abc",
    "crlf": "cfat_SECRET\r\nX-Evil: 1",
    "inner_space": "cfat_SECRET abc",
    "tab": "cfat_SECRET\tabc",
    "non_ascii": "cfat_SECRÉT_abc",
    "emoji": "cfat_SECRET_\U0001f511",
    "del": "cfat_SECRET\x7fabc",
    "nbsp": "cfat_SECRET\u00a0abc",
}


def _constructors(emu: Emulator) -> dict[str, Callable[[Any], Any]]:
    from langchain_cf_aig import ChatCloudflareAIGateway, CloudflareAIGatewayEmbeddings
    from llama_index_cf_aig import CloudflareAIGateway, CloudflareAIGatewayEmbedding

    kw = {"account_id": emu.account_id, "base_url": emu.base_url}
    return {
        "Client": lambda t: Client(api_token=t, **kw),
        "AsyncClient": lambda t: AsyncClient(api_token=t, **kw),
        "Settings": lambda t: Settings(api_token=t, account_id="acc"),
        "lc_chat": lambda t: ChatCloudflareAIGateway(model="openai/gpt-5.5", api_token=t, **kw),
        "lc_embed": lambda t: CloudflareAIGatewayEmbeddings(model="@cf/baai/bge-m3",
                                                            api_token=t, **kw),
        "li_llm": lambda t: CloudflareAIGateway(model="openai/gpt-5.5", api_token=t, **kw),
        "li_embed": lambda t: CloudflareAIGatewayEmbedding(model_name="@cf/baai/bge-m3",
                                                           api_token=t, **kw),
    }


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_token_characters_fail_at_construction_without_echo(
        cf_aig_emulator: Emulator, kind: str, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)
    token = BAD_TOKENS[kind]
    for name, build in _constructors(cf_aig_emulator).items():
        with pytest.raises(ValueError) as info:
            build(token)
        text = _texts(info.value)
        assert "SECRET" not in text, f"{name} echoed the token"
        assert "api_token" in text and "visible ASCII" in text, name
    if "\x00" not in token:  # (an environment variable cannot hold NUL)
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", token)
        with pytest.raises(ConfigurationError) as info:
            Client(account_id="acc", base_url=cf_aig_emulator.base_url)
        assert "SECRET" not in _texts(info.value)
    assert "SECRET" not in caplog.text
    assert _sent(cf_aig_emulator) == []


def test_token_padding_is_trimmed_and_a_good_token_still_works(
        cf_aig_emulator: Emulator) -> None:
    with Client(account_id=cf_aig_emulator.account_id, api_token=f"  {TOKEN}\n",
                base_url=cf_aig_emulator.base_url) as client:
        client.run("@cf/meta/llama-3.1-8b-instruct-fp8", {"prompt": "hi"})
    assert cf_aig_emulator.requests[0].bearer_is(TOKEN)


def test_settings_built_directly_hide_a_plain_string_token() -> None:
    s = Settings(account_id="acc", api_token=TOKEN)  # type: ignore[arg-type]
    assert isinstance(s.api_token, cf_aig.config.SecretStr)
    assert s.api_token.get_secret_value() == TOKEN
    assert TOKEN not in repr(s) and TOKEN not in str(s)
    assert check_token(f" {TOKEN} ").get_secret_value() == TOKEN


URL_SECRET = "pa55SECRETword"
BAD_URLS = [
    f"http://user:{URL_SECRET}@127.0.0.1:8787/client/v4",
    f"https://{URL_SECRET}@api.cloudflare.com/client/v4",
    f"http://127.0.0.1:{URL_SECRET}@evil.example/client/v4",
    f"https://api.cloudflare.com/client/v4?token={URL_SECRET}",
    f"https://api.cloudflare.com/client/v4#{URL_SECRET}",
    f"http://127.0.0.1:{URL_SECRET}/client/v4",
    f"http://[::1{URL_SECRET}/client/v4",
    f"ftp://user:{URL_SECRET}@127.0.0.1/client/v4",
    f"https://api.cloudflare.com/client/v4/{URL_SECRET} x",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_rejected_base_url_never_repeats_its_secrets(url: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for allow in (False, True):
        with pytest.raises(ConfigurationError) as info:
            check_base_url(url, allow_insecure_http=allow)
        assert URL_SECRET not in _texts(info.value)
    from langchain_cf_aig import ChatCloudflareAIGateway
    from llama_index_cf_aig import CloudflareAIGateway

    builders: list[Callable[[], Any]] = [
        lambda: Client(account_id="acc", api_token=TOKEN, base_url=url),
        lambda: Client(account_id="acc", api_token=TOKEN, base_url=url,
                       allow_insecure_http=True),
        lambda: ChatCloudflareAIGateway(model="openai/gpt-5.5", account_id="acc",
                                        api_token=TOKEN, base_url=url),
        lambda: CloudflareAIGateway(model="openai/gpt-5.5", account_id="acc",
                                    api_token=TOKEN, base_url=url),
    ]
    for build in builders:
        with pytest.raises(ValueError) as info:
            build()
        text = _texts(info.value)
        assert URL_SECRET not in text and TOKEN not in text
    monkeypatch.setenv("CLOUDFLARE_AI_GATEWAY_BASE_URL", url)
    with pytest.raises(ConfigurationError) as info:
        Client(account_id="acc", api_token=TOKEN)
    assert URL_SECRET not in _texts(info.value)


def test_userinfo_is_refused_even_on_loopback_so_bearer_auth_is_never_replaced() -> None:
    with pytest.raises(ConfigurationError, match="credentials"):
        Client(account_id="acc", api_token=TOKEN,
               base_url=f"http://u:{URL_SECRET}@127.0.0.1:8787/client/v4")
    with pytest.raises(ConfigurationError, match="credentials"):
        check_base_url("http://127.0.0.1@evil.example/client/v4", allow_insecure_http=True)


def test_check_id_error_shows_the_id_but_bounded() -> None:
    with pytest.raises(InvalidIdError) as info:
        check_id("log_id", "x?" + "y" * 10_000)
    assert len(str(info.value)) < 400


def test_adapter_fields_assigned_later_get_the_same_checks() -> None:
    from langchain_cf_aig import ChatCloudflareAIGateway
    from llama_index_cf_aig import CloudflareAIGateway

    for cls in (ChatCloudflareAIGateway, CloudflareAIGateway):
        model = cls(model="openai/gpt-5.5", account_id="acc", api_token=TOKEN,
                    base_url="http://127.0.0.1:1/client/v4")
        with pytest.raises(ConfigurationError) as info:
            model.base_url = f"http://u:{URL_SECRET}@127.0.0.1:1/client/v4"
        assert URL_SECRET not in _texts(info.value)
        with pytest.raises(ConfigurationError):
            model.api_token = "cfat_SECRET\nX: y"  # type: ignore[assignment]
        with pytest.raises(InvalidIdError):
            model.account_id = "../user"
        with pytest.raises(InvalidIdError):
            model.gateway_id = "x#y"
        shown = repr(model) + str(model.model_dump())
        assert URL_SECRET not in shown and "SECRET\n" not in shown
        assert model.base_url == "http://127.0.0.1:1/client/v4" and model.account_id == "acc"
        model.gateway_id = "prod"  # a valid assignment still works and reaches the client
        assert model.client.settings.gateway_id == "prod"
