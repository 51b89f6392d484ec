"""Token log-probabilities: LlamaIndex ``ChatResponse.logprobs`` from chat completions and
from responses (where ``logprobs`` becomes Responses' ``include`` entry), invoke and
stream alike; LangChain gets them in ``response_metadata`` on both endpoints."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage

from cf_aig.emulator import Emulator
from cf_aig.testing import EMULATOR_TOKEN
from langchain_cf_aig import ChatCloudflareAIGateway
from llama_index_cf_aig import CloudflareAIGateway

from .wire_schemas import validate

HI = [ChatMessage(role="user", content="Tell me about rivers")]


@pytest.mark.parametrize("api", ["chat_completions", "responses"])
def test_llamaindex_logprobs(cf_aig_emulator: Emulator, api: str) -> None:
    llm = CloudflareAIGateway(model="openai/gpt-5.5", api=api, logprobs=True, top_logprobs=2,
                              account_id=cf_aig_emulator.account_id, api_token=EMULATOR_TOKEN,
                              base_url=cf_aig_emulator.base_url)
    done = llm.chat(HI)
    *_, streamed = llm.stream_chat(HI)

    async def last() -> object:
        out = None
        async for r in await llm.astream_chat(HI):
            out = r
        return out

    for response in (done, streamed, asyncio.run(last()), asyncio.run(llm.achat(HI))):
        lps = response.logprobs  # type: ignore[attr-defined]
        assert lps and all(len(alts) == 2 for alts in lps)
        assert "".join(alts[0].token for alts in lps) == response.message.content  # type: ignore[attr-defined]
        assert all(alts[0].logprob >= alts[1].logprob for alts in lps)
    body = cf_aig_emulator.requests[0].json
    if api == "responses":
        assert body["include"] == ["message.output_text.logprobs"] and "logprobs" not in body
        validate(body, "CreateResponse")
    else:
        assert body["logprobs"] is True and body["top_logprobs"] == 2
        validate(body, "CreateChatCompletionRequest")


def test_langchain_logprobs_on_responses(cf_aig_emulator: Emulator) -> None:
    model = ChatCloudflareAIGateway(model="openai/gpt-5.5", api="responses", logprobs=True,
                                    account_id=cf_aig_emulator.account_id,
                                    api_token=EMULATOR_TOKEN, base_url=cf_aig_emulator.base_url)
    message = model.invoke([HumanMessage("Tell me about rivers")])
    tokens = message.response_metadata["logprobs"]["content"]
    assert "".join(t["token"] for t in tokens) == message.text
