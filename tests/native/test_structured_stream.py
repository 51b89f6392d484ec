"""LangChain structured output streams partial objects (as ChatOpenAI's does), on every
method and the endpoints that carry it, sync and async; invoke still parses strictly."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from pydantic import BaseModel

from cf_aig.emulator import Emulator, Script
from cf_aig.testing import EMULATOR_TOKEN
from langchain_cf_aig import ChatCloudflareAIGateway

PROMPT = "Write a song called Dawn lasting 180 seconds"


class Song(BaseModel):
    title: str
    seconds: int


def _model(emu: Emulator, api: str) -> ChatCloudflareAIGateway:
    model = "anthropic/claude-sonnet-4.5" if api == "messages" else "openai/gpt-5.5"
    return ChatCloudflareAIGateway(model=model, api=api, account_id=emu.account_id,
                                   api_token=EMULATOR_TOKEN, base_url=emu.base_url)


@pytest.mark.parametrize("api", ["chat_completions", "responses", "messages"])
@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_dict_schemas_stream_growing_partial_objects(
        cf_aig_emulator: Emulator, api: str, method: str) -> None:
    runnable = _model(cf_aig_emulator, api).with_structured_output(
        Song.model_json_schema(), method=method)  # type: ignore[arg-type]
    parts = list(runnable.stream(PROMPT))

    async def collect() -> list[Any]:
        return [p async for p in runnable.astream(PROMPT)]

    for seq in (parts, asyncio.run(collect())):
        assert len(seq) >= 2  # more than the one final object
        assert seq[-1] == {"title": "Dawn", "seconds": 180}
        assert all(set(a) <= set(b) for a, b in itertools.pairwise(seq))  # keys only grow
    assert runnable.invoke(PROMPT) == {"title": "Dawn", "seconds": 180}


@pytest.mark.parametrize("api", ["chat_completions", "responses"])
def test_pydantic_schemas_stream_valid_objects_and_end_with_the_whole(
        cf_aig_emulator: Emulator, api: str) -> None:
    runnable = _model(cf_aig_emulator, api).with_structured_output(Song)
    parts = list(runnable.stream(PROMPT))
    assert parts and parts[-1] == Song(title="Dawn", seconds=180)
    assert all(isinstance(p, Song) for p in parts)


def test_a_broken_answer_still_fails_when_streamed(cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.enqueue(Script(text='{"title": "Dawn", "seconds": '))
    runnable = _model(cf_aig_emulator, "chat_completions").with_structured_output(
        Song.model_json_schema(), method="json_schema")
    with pytest.raises(OutputParserException):
        list(runnable.stream(PROMPT))
