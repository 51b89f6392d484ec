"""Native structured output on Anthropic's wire: a JSON schema goes out as
``output_config.format`` (chosen automatically for Claude models), in both adapters,
sync/async, invoke/stream, and LangChain's ``create_agent`` with a provider strategy works
there. JSON-object mode stays a typed refusal before sending."""

from __future__ import annotations

import asyncio
from typing import Any

import jsonschema
import pytest
from langchain.agents import create_agent
from langchain.agents.structured_output import ProviderStrategy
from langchain_core.messages import HumanMessage
from llama_index.core.prompts import PromptTemplate
from pydantic import BaseModel

from cf_aig import ConfigurationError
from cf_aig.emulator import Emulator
from cf_aig.testing import EMULATOR_TOKEN
from langchain_cf_aig import ChatCloudflareAIGateway
from llama_index_cf_aig import CloudflareAIGateway

CLAUDE = "anthropic/claude-sonnet-4.5"
WIRES = ["messages", "run"]


class City(BaseModel):
    """A city and how many times it was named."""

    city: str
    count: int


def _creds(emu: Emulator) -> dict[str, Any]:
    return {"account_id": emu.account_id, "api_token": EMULATOR_TOKEN,
            "base_url": emu.base_url}


def _bodies(emu: Emulator) -> list[dict[str, Any]]:
    return [dict(r.json.get("input", r.json)) for r in emu.requests if r.method == "POST"]


def _assert_native(emu: Emulator) -> None:
    bodies = _bodies(emu)
    assert bodies
    for body in bodies:
        fmt = body["output_config"]["format"]
        assert fmt["type"] == "json_schema"
        assert set(fmt["schema"]["properties"]) == {"city", "count"}
        assert "tools" not in body and "tool_choice" not in body  # no forced-tool detour


@pytest.mark.parametrize("api", WIRES)
@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
def test_langchain_with_structured_output_is_native(cf_aig_emulator: Emulator, api: str,
                                                    mode: str) -> None:
    llm = ChatCloudflareAIGateway(model=CLAUDE, api=api, **_creds(cf_aig_emulator))
    structured = llm.with_structured_output(City)  # method chosen by the core: json_schema
    prompt = "Berlin, count 4"
    if mode == "invoke":
        result = structured.invoke(prompt)
    elif mode == "ainvoke":
        result = asyncio.run(structured.ainvoke(prompt))
    elif mode == "stream":
        result = list(structured.stream(prompt))[-1]
    else:
        async def last() -> Any:
            return [x async for x in structured.astream(prompt)][-1]
        result = asyncio.run(last())
    assert result == City(city="Berlin", count=4)
    _assert_native(cf_aig_emulator)


def test_langchain_json_schema_dict_and_include_raw(cf_aig_emulator: Emulator) -> None:
    llm = ChatCloudflareAIGateway(model=CLAUDE, api="messages", **_creds(cf_aig_emulator))
    schema = City.model_json_schema()
    out = llm.with_structured_output(schema, method="json_schema", include_raw=True).invoke(
        "Berlin, count 4")
    jsonschema.validate(out["parsed"], schema)
    assert out["parsing_error"] is None and out["raw"].text
    _assert_native(cf_aig_emulator)


@pytest.mark.parametrize("api", WIRES)
def test_create_agent_with_a_provider_strategy(cf_aig_emulator: Emulator, api: str) -> None:
    llm = ChatCloudflareAIGateway(model=CLAUDE, api=api, **_creds(cf_aig_emulator))
    agent = create_agent(llm, tools=[], response_format=ProviderStrategy(City))
    state = agent.invoke({"messages": [HumanMessage("Berlin, count 4")]})
    assert state["structured_response"] == City(city="Berlin", count=4)
    _assert_native(cf_aig_emulator)


def test_json_mode_is_refused_before_sending(cf_aig_emulator: Emulator) -> None:
    llm = ChatCloudflareAIGateway(model=CLAUDE, api="messages", **_creds(cf_aig_emulator))
    with pytest.raises(ConfigurationError, match="json_object"):
        llm.with_structured_output(None, method="json_mode").invoke("Berlin, count 4")
    li = CloudflareAIGateway(model=CLAUDE, api="messages", **_creds(cf_aig_emulator))
    with pytest.raises(ConfigurationError, match="json_object"):
        li.complete("Berlin, count 4", response_format={"type": "json_object"})
    assert cf_aig_emulator.requests == []


PROMPT = PromptTemplate("{text}")


@pytest.mark.parametrize("api", WIRES)
@pytest.mark.parametrize("mode", ["predict", "apredict", "stream", "astream"])
def test_llama_index_structured_predict_is_native(cf_aig_emulator: Emulator, api: str,
                                                  mode: str) -> None:
    llm = CloudflareAIGateway(model=CLAUDE, api=api, **_creds(cf_aig_emulator))
    if mode == "predict":
        result: Any = llm.structured_predict(City, PROMPT, text="Berlin, count 4")
    elif mode == "apredict":
        result = asyncio.run(llm.astructured_predict(City, PROMPT, text="Berlin, count 4"))
    elif mode == "stream":
        result = list(llm.stream_structured_predict(City, PROMPT, text="Berlin, count 4"))[-1]
    else:
        async def last() -> Any:
            gen = await llm.astream_structured_predict(City, PROMPT, text="Berlin, count 4")
            return [x async for x in gen][-1]
        result = asyncio.run(last())
    assert result == City(city="Berlin", count=4)
    _assert_native(cf_aig_emulator)


@pytest.mark.parametrize("api", [*WIRES, "chat_completions"])
@pytest.mark.parametrize("mode", ["predict", "stream", "astream"])
def test_llama_index_tool_mode_forces_the_tool_streamed_too(cf_aig_emulator: Emulator,
                                                            api: str, mode: str) -> None:
    llm = CloudflareAIGateway(model=CLAUDE, api=api, structured_output="tools",
                              **_creds(cf_aig_emulator))
    if mode == "predict":
        result: Any = llm.structured_predict(City, PROMPT, text="Berlin, count 4")
    elif mode == "stream":
        result = list(llm.stream_structured_predict(City, PROMPT, text="Berlin, count 4"))[-1]
    else:
        async def last() -> Any:
            gen = await llm.astream_structured_predict(City, PROMPT, text="Berlin, count 4")
            return [x async for x in gen][-1]
        result = asyncio.run(last())
    assert result == City(city="Berlin", count=4)
    [body] = _bodies(cf_aig_emulator)
    choice = body["tool_choice"]
    assert choice == "required" or choice["type"] == "any"  # forced, as the called path is
