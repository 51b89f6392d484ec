"""Both adapters on the gateway host: invoke and stream, sync and async, routing info in the
framework's response, Auto Router options as fields and per-call kwargs, the new errors in
each framework's family, and the provider key kept secret."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.exceptions import ModelPermissionDeniedError, ModelRateLimitError
from langchain_core.messages import AIMessageChunk
from llama_index.core.llms import ChatMessage

import cf_aig
from cf_aig.emulator import Emulator
from langchain_cf_aig import ChatCloudflareAIGateway
from llama_index_cf_aig import CloudflareAIGateway

TOKEN = "cf-token-adapters-0123"
KEY = "sk-provider-adapters-xyz"
APIS = ["chat_completions", "responses"]
USER = [ChatMessage(role="user", content="Hello adapters")]


def kw(emu: Emulator, **extra: Any) -> dict[str, Any]:
    return {"account_id": emu.account_id, "api_token": TOKEN, "base_url": emu.base_url,
            "surface": "gateway", "gateway_url": emu.gateway_url, "max_retries": 3, **extra}


def lc(emu: Emulator, **extra: Any) -> ChatCloudflareAIGateway:
    return ChatCloudflareAIGateway(**{"model": "cloudflare/auto", **kw(emu, **extra)})


def li(emu: Emulator, **extra: Any) -> CloudflareAIGateway:
    return CloudflareAIGateway(**{"model": "cloudflare/auto", **kw(emu, **extra)})


def compat_calls(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if "/compat/" in r.path]


def assert_routed(gateway: dict[str, Any]) -> None:
    assert gateway["routed_model"] == gateway["model"]
    assert gateway["routing_reason"] in ("default", "allowed_models", "session_affinity")
    assert gateway["routing_decision_id"] and gateway["request_id"] and gateway["provider"]


# ---- LangChain ---------------------------------------------------------------------------

@pytest.mark.parametrize("api", APIS)
def test_langchain_sync_invoke_and_stream(cf_aig_emulator: Emulator, api: str) -> None:
    model = lc(cf_aig_emulator, api=api, allowed_providers=["anthropic"], session_id="s-lc")
    msg = model.invoke("Hello adapters")
    assert_routed(msg.response_metadata["gateway"])
    assert msg.response_metadata["gateway"]["provider"] == "anthropic"
    merged: AIMessageChunk | None = None
    for chunk in model.stream("Hello adapters", turn_id="t2"):
        merged = chunk if merged is None else merged + chunk
    assert merged is not None and merged.content == msg.content
    assert_routed(merged.response_metadata["gateway"])
    assert merged.response_metadata["gateway"]["routing_reason"] == "session_affinity"
    sent = compat_calls(cf_aig_emulator)
    assert all(r.path.endswith("/compat/" + ("responses" if api == "responses"
                                             else "chat/completions")) for r in sent)
    assert sent[0].headers["cf-aig-allowed-providers"] == "anthropic"
    assert sent[1].headers["cf-aig-turn-id"] == "t2" and "cf-aig-turn-id" not in sent[0].headers


@pytest.mark.parametrize("api", APIS)
async def test_langchain_async_invoke_and_stream(cf_aig_emulator: Emulator, api: str) -> None:
    model = lc(cf_aig_emulator, api=api, provider_api_key=KEY)
    msg = await model.ainvoke("Hello adapters")
    chunks = [c async for c in model.astream("Hello adapters")]
    assert_routed(msg.response_metadata["gateway"])
    assert any(c.response_metadata.get("gateway", {}).get("routed_model") for c in chunks)
    for r in compat_calls(cf_aig_emulator):  # the Auto Router picks: the key stays home
        assert "authorization" not in r.headers and r.bearer_is(TOKEN)
    await model.ainvoke("Hello adapters", model="openai/gpt-5-mini")
    assert compat_calls(cf_aig_emulator)[-1].headers["authorization"] == "<redacted>"


def test_langchain_errors_map_into_its_family(cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.gateway.denied_models.add("openai/gpt-5-mini")
    cf_aig_emulator.gateway.spend["gateway:default"] = (5.0, 5.0)
    model = lc(cf_aig_emulator, model="openai/gpt-5-mini")
    with pytest.raises(ModelPermissionDeniedError) as denied:
        model.invoke("hi")
    assert isinstance(denied.value, cf_aig.PolicyDeniedError)
    with pytest.raises(ModelRateLimitError) as spend:
        model.invoke("hi", model="openai/gpt-5")
    err = spend.value
    assert isinstance(err, cf_aig.SpendLimitExceededError) and not err.is_retryable
    assert (err.bucket, err.spent, err.limit) == ("gateway:default", 5.0, 5.0)
    cf_aig_emulator.gateway.spend.clear()
    cf_aig_emulator.gateway.plan = "free"
    with pytest.raises(ModelPermissionDeniedError) as plan:
        lc(cf_aig_emulator, surface="api", model="@cf/moonshotai/kimi-k2.6").invoke("hi")
    assert isinstance(plan.value, cf_aig.PlanRequiredError)
    with pytest.raises(cf_aig.RetiredModelError):
        lc(cf_aig_emulator, model="@cf/meta/llama-3.1-8b-instruct").invoke("hi")
    assert len(compat_calls(cf_aig_emulator)) == 2  # none retried, none for the retired model


def test_langchain_provider_key_is_secret(cf_aig_emulator: Emulator) -> None:
    from langchain_core.load import dumps

    model = lc(cf_aig_emulator, provider_api_key=KEY)
    for text in (repr(model), str(model.model_dump()), dumps(model)):
        assert KEY not in text and TOKEN not in text
    assert model.provider_api_key is not None
    assert model.provider_api_key.get_secret_value() == KEY


def test_langchain_surface_field_change_takes_effect(cf_aig_emulator: Emulator) -> None:
    model = lc(cf_aig_emulator, model="openai/gpt-5-mini", surface="api")
    model.invoke("hi")
    model.surface = "gateway"
    model.invoke("hi")
    paths = [r.path for r in cf_aig_emulator.requests]
    assert paths[0].endswith("/ai/v1/chat/completions") and "/compat/" in paths[1]


# ---- LlamaIndex --------------------------------------------------------------------------

@pytest.mark.parametrize("api", APIS)
def test_llamaindex_sync_chat_and_stream(cf_aig_emulator: Emulator, api: str) -> None:
    llm = li(cf_aig_emulator, api=api, allowed_models=["openai/gpt-5*"])
    response = llm.chat(USER)
    gateway = response.additional_kwargs["gateway"]
    assert_routed(gateway)
    assert gateway["routed_model"].startswith("openai/gpt-5")
    last = list(llm.stream_chat(USER, no_session_affinity=True))[-1]
    assert last.message.content == response.message.content
    assert_routed(last.additional_kwargs["gateway"])
    sent = compat_calls(cf_aig_emulator)
    assert sent[0].headers["cf-aig-allowed-models"] == "openai/gpt-5*"
    assert sent[1].headers["cf-aig-no-session-affinity"] == "true"


@pytest.mark.parametrize("api", APIS)
async def test_llamaindex_async_chat_and_stream(cf_aig_emulator: Emulator, api: str) -> None:
    cf_aig_emulator.gateway.routes["helpdesk"] = ["google/gemini-2.5-flash"]
    llm = li(cf_aig_emulator, api=api, model="dynamic/helpdesk")
    response = await llm.achat(USER)
    assert response.additional_kwargs["gateway"]["model"] == "google/gemini-2.5-flash"
    last = [r async for r in await llm.astream_chat(USER)][-1]
    assert last.additional_kwargs["gateway"]["provider"] == "google"
    completion = await llm.acomplete("Hello adapters")
    assert completion.text


def test_llamaindex_errors_are_the_core_types(cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.gateway.spend["user:u1"] = (1.5, 1.0)
    llm = li(cf_aig_emulator, model="openai/gpt-5-mini", gateway_metadata={"user": "u1"})
    with pytest.raises(cf_aig.SpendLimitExceededError) as info:
        llm.chat(USER)
    assert (info.value.bucket, info.value.spent, info.value.limit) == ("user:u1", 1.5, 1.0)
    cf_aig_emulator.gateway.responses_402 = True
    with pytest.raises(cf_aig.ResponsesBillingError, match="chat_completions"):
        li(cf_aig_emulator, surface="api", model="openai/gpt-5.5", api="responses").chat(USER)
    with pytest.raises(cf_aig.RetiredModelError, match="2026-05-30"):
        li(cf_aig_emulator, model="@hf/nousresearch/hermes-2-pro-mistral-7b").chat(USER)
    retired_ok = li(cf_aig_emulator, surface="api", api="run", allow_retired=True,
                    model="@hf/nousresearch/hermes-2-pro-mistral-7b")
    assert retired_ok.chat(USER).message.content  # sent anyway (the emulator still serves it)


def test_llamaindex_provider_key_is_secret(cf_aig_emulator: Emulator) -> None:
    llm = li(cf_aig_emulator, provider_api_key=KEY, model="openai/gpt-5-mini")
    for text in (repr(llm), llm.to_json(), str(llm.to_dict()), str(llm.model_dump())):
        assert KEY not in text and TOKEN not in text
    llm.chat(USER)
    assert compat_calls(cf_aig_emulator)[-1].headers["authorization"] == "<redacted>"


def test_llamaindex_profiles_follow_aliases(cf_aig_emulator: Emulator) -> None:
    alias = li(cf_aig_emulator, surface="api", model="@cf/moonshotai/kimi-k2.5").metadata
    target = li(cf_aig_emulator, surface="api", model="@cf/moonshotai/kimi-k2.6").metadata
    assert alias.context_window == target.context_window == 262_144


@pytest.mark.parametrize("surface", ["api", "gateway"])
def test_embeddings_refuse_a_provider_key_they_could_not_send(surface: str) -> None:
    """Embeddings go to the REST API, which takes no provider key in the request: a key given
    to an embeddings class would be dropped while Unified Billing paid instead."""
    from langchain_cf_aig import CloudflareAIGatewayEmbeddings
    from llama_index_cf_aig import CloudflareAIGatewayEmbedding

    common = {"account_id": "acc", "api_token": "tok", "surface": surface,
              "provider_api_key": "sk-SECRET-provider"}
    with pytest.raises(ValueError, match="provider_api_key") as lc:
        CloudflareAIGatewayEmbeddings(model="openai/text-embedding-3-small", **common)
    with pytest.raises(cf_aig.ConfigurationError, match="provider_api_key") as li:
        CloudflareAIGatewayEmbedding(model_name="openai/text-embedding-3-small", **common)
    for err in (lc.value, li.value):
        assert "byok_alias" in str(err) and "SECRET" not in str(err)
