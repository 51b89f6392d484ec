"""Ordered fallback models (core ``cf_aig.fallback``, used by LlamaIndex): the next model
answers when one cannot; bad input never falls back; a stream that began is never
restarted on another model."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage

from cf_aig import ConfigurationError
from cf_aig.emulator import Emulator, Fault
from cf_aig.errors import AuthenticationError, StreamInterruptedError
from cf_aig.fallback import model_chain, should_fall_back
from cf_aig.testing import EMULATOR_TOKEN
from llama_index_cf_aig import CloudflareAIGateway

HI = [ChatMessage(role="user", content="Hi")]


def _llm(emu: Emulator, **kw: Any) -> CloudflareAIGateway:
    return CloudflareAIGateway(account_id=emu.account_id, api_token=EMULATOR_TOKEN,
                               base_url=emu.base_url, max_retries=0, **kw)


def _models(emu: Emulator) -> list[str]:
    return [r.json["model"] for r in emu.requests if r.method == "POST"]


def _run(llm: CloudflareAIGateway, mode: str) -> str:
    if mode == "chat":
        return llm.chat(HI).message.content or ""
    if mode == "achat":
        return asyncio.run(llm.achat(HI)).message.content or ""
    if mode == "stream":
        return [r for r in llm.stream_chat(HI)][-1].message.content or ""

    async def last() -> str:
        out = ""
        async for r in await llm.astream_chat(HI):
            out = r.message.content or ""
        return out
    return asyncio.run(last())


MODES = ["chat", "achat", "stream", "astream"]


@pytest.mark.parametrize("mode", MODES)
def test_an_unknown_model_falls_back_to_the_next(cf_aig_emulator: Emulator, mode: str) -> None:
    llm = _llm(cf_aig_emulator, model="acme/retired-model",
               fallback_models=["openai/gpt-5.5", "google/gemini-2.5-flash"])
    assert _run(llm, mode)
    assert _models(cf_aig_emulator) == ["acme/retired-model", "openai/gpt-5.5"]


@pytest.mark.parametrize("mode", MODES)
def test_capacity_errors_fall_back(cf_aig_emulator: Emulator, mode: str) -> None:
    cf_aig_emulator.enqueue(Fault(kind="status", code=3040), Fault(kind="status", code=3040))
    llm = _llm(cf_aig_emulator, model="openai/gpt-5.5",
               fallback_models=["openai/gpt-5-mini", "google/gemini-2.5-flash"])
    assert _run(llm, mode)
    assert _models(cf_aig_emulator) == ["openai/gpt-5.5", "openai/gpt-5-mini",
                                        "google/gemini-2.5-flash"]


def test_the_last_models_error_is_raised(cf_aig_emulator: Emulator) -> None:
    llm = _llm(cf_aig_emulator, model="acme/a", fallback_models=["acme/b"])
    with pytest.raises(Exception, match="acme/b"):
        llm.chat(HI)
    assert _models(cf_aig_emulator) == ["acme/a", "acme/b"]


def test_bad_input_and_auth_errors_do_not_fall_back(cf_aig_emulator: Emulator) -> None:
    llm = _llm(cf_aig_emulator, model="openai/gpt-5.5", fallback_models=["openai/gpt-5-mini"])
    with pytest.raises(ConfigurationError):
        llm.chat(HI, tools=[{"type": "web_search_preview"}])
    cf_aig_emulator.enqueue(Fault(kind="status", status=401, code=10000))
    with pytest.raises(AuthenticationError):
        llm.chat(HI)
    assert _models(cf_aig_emulator) == ["openai/gpt-5.5"]
    assert not should_fall_back(ConfigurationError("x"))


def test_a_stream_that_began_is_not_restarted(cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.enqueue(Fault(kind="disconnect", after=2))
    llm = _llm(cf_aig_emulator, model="openai/gpt-5.5", fallback_models=["openai/gpt-5-mini"])
    with pytest.raises(StreamInterruptedError):
        list(llm.stream_chat(HI))
    assert _models(cf_aig_emulator) == ["openai/gpt-5.5"]


def test_model_chain_keeps_order_and_drops_repeats() -> None:
    assert model_chain("a/x", ["b/y", "a/x", "c/z", "b/y"]) == ["a/x", "b/y", "c/z"]
    with pytest.raises(ConfigurationError, match="fallback_models"):
        model_chain("a/x", [""])
