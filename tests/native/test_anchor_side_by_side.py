"""Side by side with the anchors on the same emulator: ChatOpenAI (Responses API, v1
output) and ours give the same web-search blocks and citations, invoke and stream; and
both stream partial structured objects."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk

from cf_aig.emulator import Emulator
from cf_aig.testing import EMULATOR_TOKEN
from langchain_cf_aig import ChatCloudflareAIGateway

langchain_openai = pytest.importorskip("langchain_openai")

QUESTION = "Latest release of the Rust compiler"
SEARCH = {"type": "web_search_preview"}


def _anchor(emu: Emulator) -> Any:
    return langchain_openai.ChatOpenAI(
        model="openai/gpt-5.5", base_url=f"{emu.account_url}/ai/v1", api_key=EMULATOR_TOKEN,
        use_responses_api=True, output_version="v1", max_retries=0)


def _ours(emu: Emulator) -> ChatCloudflareAIGateway:
    return ChatCloudflareAIGateway(model="openai/gpt-5.5", api="responses",
                                   account_id=emu.account_id, api_token=EMULATOR_TOKEN,
                                   base_url=emu.base_url)


def _comparable(message: AIMessage) -> list[dict[str, Any]]:
    """Content blocks without ids, indices and extras (they differ by design: ids are
    per answer, our server_tool_call keeps the provider's item in extras)."""
    out = []
    for block in message.content_blocks:
        kept = {k: v for k, v in block.items() if k not in ("id", "index", "extras")}
        if "tool_call_id" in kept:
            kept["tool_call_id"] = "<id>"
        out.append(kept)
    return out


def _run(model: Any, stream: bool) -> AIMessage:
    bound = model.bind_tools([SEARCH])
    if not stream:
        return bound.invoke(QUESTION)  # type: ignore[no-any-return]
    total: AIMessageChunk | None = None
    for chunk in bound.stream(QUESTION):
        total = chunk if total is None else total + chunk
    assert total is not None
    return total


@pytest.mark.parametrize("stream", [False, True])
def test_web_search_blocks_match_chatopenai(cf_aig_emulator: Emulator, stream: bool) -> None:
    anchor = _comparable(_run(_anchor(cf_aig_emulator), stream))
    ours = _comparable(_run(_ours(cf_aig_emulator), stream))
    assert [b["type"] for b in ours] == [b["type"] for b in anchor] == [
        "server_tool_call", "server_tool_result", "text"]
    assert ours[0] == anchor[0] and ours[1] == anchor[1]
    ours_cites = [c for b in ours for c in b.get("annotations", ())]
    anchor_cites = [c for b in anchor for c in b.get("annotations", ())]
    assert ours_cites == anchor_cites and ours_cites
    sent = [r.json for r in cf_aig_emulator.requests if r.method == "POST"]
    assert sent[0]["tools"] == sent[1]["tools"] == [SEARCH]


def test_both_stream_partial_structured_objects(cf_aig_emulator: Emulator) -> None:
    schema = {"title": "Song", "type": "object", "properties": {
        "title": {"type": "string"}, "seconds": {"type": "integer"}},
        "required": ["title", "seconds"]}
    prompt = "Write a song called Dawn lasting 180 seconds"
    anchor = list(_anchor(cf_aig_emulator).with_structured_output(
        schema, method="json_schema").stream(prompt))
    ours = list(_ours(cf_aig_emulator).with_structured_output(
        schema, method="json_schema").stream(prompt))
    assert anchor[-1] == ours[-1] == {"title": "Dawn", "seconds": 180}
    assert len(anchor) > 1 and len(ours) > 1
