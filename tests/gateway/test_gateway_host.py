"""The gateway host surface on the core clients, over loopback: paths, auth, BYOK, dynamic
routes, the Auto Router, routing info, and refusals before sending."""

from __future__ import annotations

import logging
import pickle
from typing import Any

import httpx
import pytest

from cf_aig import (
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    ChunkAccumulator,
    Client,
    ConfigurationError,
    GatewayOptions,
)
from cf_aig.emulator import Emulator

TOKEN = "cf-token-0123456789"
KEY = "sk-provider-abcdef"
HI = [{"role": "user", "content": "Hello gateway host"}]
APIS = ["chat_completions", "responses"]
PATHS = {"chat_completions": "/compat/chat/completions", "responses": "/compat/responses"}


def settings(emu: Emulator, **kw: Any) -> dict[str, Any]:
    return {"account_id": emu.account_id, "api_token": TOKEN, "base_url": emu.base_url,
            "surface": "gateway", "gateway_url": emu.gateway_url, **kw}


def model_calls(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if "/compat/" in r.path or "/ai/" in r.path]


@pytest.mark.parametrize("api", APIS)
def test_sync_invoke_and_stream_use_the_compat_path_and_gateway_auth(
        cf_aig_emulator: Emulator, api: str) -> None:
    with Client(**settings(cf_aig_emulator, gateway_id="default")) as client:
        done = client.chat({"model": "openai/gpt-5-mini", "messages": HI}, api=api)
        with client.chat_stream({"model": "openai/gpt-5-mini", "messages": HI}, api=api) as s:
            acc = ChunkAccumulator()
            for chunk in s:
                acc.add(chunk)
    assert done.text and acc.completion()["choices"][0]["message"]["content"] == done.text
    assert done.info.model == "openai/gpt-5-mini" and done.info.provider == "openai"
    sent = model_calls(cf_aig_emulator)
    assert [r.path for r in sent] == [f"/v1/{cf_aig_emulator.account_id}/default"
                                      + PATHS[api]] * 2
    for r in sent:
        assert r.headers["cf-aig-authorization"] == "<redacted>"  # recorded, value hidden
        assert r.bearer_is(TOKEN)  # the emulator keeps the cf-aig-authorization value
        assert "authorization" not in r.headers  # no provider key given
        assert "cf-aig-gateway-id" not in r.headers  # the gateway is in the path


@pytest.mark.parametrize("api", APIS)
async def test_async_invoke_and_stream(cf_aig_emulator: Emulator, api: str) -> None:
    async with AsyncClient(**settings(cf_aig_emulator, provider_api_key=KEY)) as client:
        done = await client.chat({"model": "cloudflare/auto", "messages": HI}, api=api)
        stream = await client.chat_stream({"model": "cloudflare/auto", "messages": HI},
                                          api=api)
        async with stream:
            chunks = [c async for c in stream]
    assert done.info.routed_model and done.info.routed_model == done.info.model
    assert stream.info.routed_model == done.info.routed_model  # same prompt, same pick
    assert stream.info.routing_decision_id and stream.info.routing_reason == "default"
    assert chunks
    for r in model_calls(cf_aig_emulator):  # the router picks the provider: key not sent
        assert "authorization" not in r.headers and r.bearer_is(TOKEN)


def test_provider_key_goes_with_a_fixed_provider_model_only(cf_aig_emulator: Emulator) -> None:
    with Client(**settings(cf_aig_emulator, provider_api_key=KEY)) as client:
        for model in ("openai/gpt-5-mini", "dynamic/support", "cloudflare/auto"):
            client.chat({"model": model, "messages": HI})
    sent = ["authorization" in r.headers for r in model_calls(cf_aig_emulator)]
    assert sent == [True, False, False]
    assert model_calls(cf_aig_emulator)[0].headers["authorization"] == "<redacted>"


def test_workers_ai_model_names_take_the_compat_form(cf_aig_emulator: Emulator) -> None:
    with Client(**settings(cf_aig_emulator)) as client:
        done = client.chat({"model": "@cf/moonshotai/kimi-k2.6", "messages": HI})
    assert model_calls(cf_aig_emulator)[-1].json["model"] == "workers-ai/@cf/moonshotai/kimi-k2.6"
    assert done.info.provider == "workers-ai"


def test_dynamic_route_reports_what_served(cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.gateway.routes["triage"] = ["anthropic/claude-haiku-4.5", "openai/gpt-5"]
    with Client(**settings(cf_aig_emulator)) as client:
        done = client.chat({"model": "dynamic/triage", "messages": HI})
        with pytest.raises(Exception) as info:
            client.chat({"model": "dynamic/nope", "messages": HI})
    assert done.info.model == "anthropic/claude-haiku-4.5" and done.info.provider == "anthropic"
    assert "not found" in str(info.value).lower() and info.value.status == 404


def test_auto_router_options_travel_as_headers_and_narrow_the_pick(
        cf_aig_emulator: Emulator) -> None:
    opts = GatewayOptions(allowed_models=["anthropic/*"], session_id="conv-1", turn_id="t1")
    with Client(**settings(cf_aig_emulator), options=opts) as client:
        first = client.chat({"model": "cloudflare/auto", "messages": HI})
        other_prompt = [{"role": "user", "content": "something else entirely 42"}]
        second = client.chat({"model": "cloudflare/auto", "messages": other_prompt},
                             options={"turn_id": "t2"})
        fresh = client.chat({"model": "cloudflare/auto", "messages": other_prompt},
                            options={"no_session_affinity": True, "session_id": "conv-2"})
        with pytest.raises(BadRequestError, match="allowed"):
            client.chat({"model": "cloudflare/auto", "messages": HI},
                        options={"allowed_models": ["nobody/*"]})
    sent = model_calls(cf_aig_emulator)[0].headers
    assert sent["cf-aig-allowed-models"] == "anthropic/*" and sent["cf-aig-session-id"] == "conv-1"
    assert model_calls(cf_aig_emulator)[1].headers["cf-aig-turn-id"] == "t2"
    assert first.info.routed_model.startswith("anthropic/")
    assert first.info.routing_reason == "allowed_models"
    assert second.info.routed_model == first.info.routed_model
    assert second.info.routing_reason == "session_affinity"
    assert fresh.info.routing_reason == "allowed_models"
    assert first.info.routing_decision_id != second.info.routing_decision_id


def test_allowed_providers_and_bad_auto_router_options() -> None:
    assert GatewayOptions(allowed_providers=("openai", "xai")).headers() == {
        "cf-aig-allowed-providers": "openai,xai"}
    assert GatewayOptions(allowed_models="openai/*,xai/*").allowed_models == ("openai/*", "xai/*")
    for bad in ([], ["a,b"], ["has space"], [""], 5, {"a": 1}):
        with pytest.raises(ConfigurationError, match="allowed_models"):
            GatewayOptions(allowed_models=bad)
    with pytest.raises(ConfigurationError, match="no_session_affinity"):
        GatewayOptions(no_session_affinity="yes")
    with pytest.raises(ConfigurationError, match="session_id"):
        GatewayOptions(session_id="two\nlines")


def test_authentication_on_and_off(cf_aig_emulator: Emulator) -> None:
    url = f"{cf_aig_emulator.gateway_url}/{cf_aig_emulator.account_id}/default/compat/chat/completions"
    body = {"model": "openai/gpt-5-mini", "messages": HI}
    missing = httpx.post(url, json=body)
    assert missing.status_code == 401 and missing.json()["internalCode"] == 2009
    cf_aig_emulator.gateway.auth = False
    assert httpx.post(url, json=body).status_code == 200
    cf_aig_emulator.gateway.auth = True
    with Client(**settings(cf_aig_emulator)) as client:
        assert client.chat(body).text


def test_wrong_gateway_token_is_an_authentication_error() -> None:
    with Emulator(token="the-right-one") as emu, Client(**settings(emu)) as client, \
            pytest.raises(AuthenticationError) as info:
        client.chat({"model": "openai/gpt-5-mini", "messages": HI})
    assert info.value.code == 2009 and TOKEN not in str(info.value)
    assert len(model_calls(emu)) == 1  # 401 is not retried


def test_refused_before_sending(cf_aig_emulator: Emulator) -> None:
    with Client(**settings(cf_aig_emulator)) as gw, Client(
            account_id=cf_aig_emulator.account_id, api_token=TOKEN,
            base_url=cf_aig_emulator.base_url) as api:
        with pytest.raises(ConfigurationError, match=r"messages.*gateway host"):
            gw.chat({"model": "anthropic/claude-haiku-4.5", "messages": HI}, api="messages")
        with pytest.raises(ConfigurationError, match=r"run.*gateway host"):
            gw.chat({"model": "@cf/moonshotai/kimi-k2.6", "messages": HI}, api="run")
        for model in ("dynamic/support", "cloudflare/auto"):
            with pytest.raises(ConfigurationError, match="surface='gateway'"):
                api.chat({"model": model, "messages": HI})
    assert model_calls(cf_aig_emulator) == []


@pytest.mark.parametrize(("kw", "words"), [
    ({"surface": "proxy"}, "surface"),
    ({"gateway_url": "ftp://x"}, "gateway_url"),
    ({"gateway_url": "http://example.com/v1"}, "gateway_url"),
    ({"provider_api_key": "sk bad"}, "provider_api_key"),
])
def test_bad_surface_settings(cf_aig_emulator: Emulator, kw: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        Client(**{**settings(cf_aig_emulator), **kw})


def test_secrets_stay_out_of_repr_logs_errors_and_pickles(
        cf_aig_emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = Client(**settings(cf_aig_emulator, provider_api_key=KEY))
    cf_aig_emulator.gateway.denied_models.add("openai/gpt-5-mini")
    with client, pytest.raises(Exception) as info:
        client.chat({"model": "openai/gpt-5-mini", "messages": HI})
    shown = [repr(client), repr(client.gateway), str(info.value), repr(info.value),
             caplog.text, str(info.value.body)]
    for text in shown:
        assert TOKEN not in text and KEY not in text
    copy = pickle.loads(pickle.dumps(client))  # survives pickling, still on the gateway host
    assert copy.gateway == client.gateway and copy.gateway.surface == "gateway"
    assert KEY not in repr(copy.gateway)


@pytest.mark.parametrize(("header", "value"), [
    ("cf-aig-allowed-models", "has space"), ("cf-aig-allowed-providers", ","),
    ("cf-aig-no-session-affinity", "yes"), ("cf-aig-turn-id", ""),
])
def test_emulator_rejects_bad_auto_router_headers_naming_them(
        cf_aig_emulator: Emulator, header: str, value: str) -> None:
    r = httpx.post(f"{cf_aig_emulator.account_url}/ai/v1/chat/completions",
                   headers={"authorization": "Bearer t", header: value},
                   json={"model": "openai/gpt-5-mini", "messages": HI})
    assert r.status_code == 400 and header in r.json()["message"]
