"""Anthropic server tools and tool-result media on Anthropic's wire, both adapters:
``web_search_20250305`` goes out untouched (never a fake function tool), its
``server_tool_use``/``web_search_tool_result`` blocks and citations come back as LangChain
v1 ``server_tool_call``/``server_tool_result`` blocks with citation annotations and as
LlamaIndex citation blocks plus server tool kwargs (the same invoked and streamed), and go
back as Anthropic's own blocks on the next turn. Images and PDFs inside tool results go as
``image``/``document`` blocks (the emulator refuses them flattened into JSON text)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from llama_index.core.base.llms.types import (
    ChatMessage,
    CitationBlock,
    DocumentBlock,
    ImageBlock,
    TextBlock,
)

from cf_aig import ConfigurationError
from cf_aig.emulator import Emulator
from cf_aig.testing import EMULATOR_TOKEN
from langchain_cf_aig import ChatCloudflareAIGateway
from llama_index_cf_aig import CloudflareAIGateway

CLAUDE = "anthropic/claude-sonnet-4.5"
WIRES = ["messages", "run"]
SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}
QUESTION = "Latest release of the Rust compiler"
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PDF_B64 = base64.b64encode(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF").decode()


def _creds(emu: Emulator) -> dict[str, Any]:
    return {"account_id": emu.account_id, "api_token": EMULATOR_TOKEN,
            "base_url": emu.base_url}


def _body(emu: Emulator) -> dict[str, Any]:
    sent = emu.requests[-1].json
    return dict(sent.get("input", sent))


def _lc_call(llm: Any, messages: Any, mode: str) -> AIMessage:
    if mode == "invoke":
        return llm.invoke(messages)  # type: ignore[no-any-return]
    if mode == "ainvoke":
        return asyncio.run(llm.ainvoke(messages))  # type: ignore[no-any-return]
    if mode == "stream":
        chunks: list[AIMessageChunk] = list(llm.stream(messages))
    else:
        async def collect() -> list[AIMessageChunk]:
            return [c async for c in llm.astream(messages)]
        chunks = asyncio.run(collect())
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    return full


@pytest.mark.parametrize("api", WIRES)
@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
def test_langchain_web_search_is_native_and_comes_back_as_v1_blocks(
        cf_aig_emulator: Emulator, api: str, mode: str) -> None:
    llm = ChatCloudflareAIGateway(model=CLAUDE, api=api, output_version="v1",
                                  **_creds(cf_aig_emulator)).bind_tools([SEARCH])
    answer = _lc_call(llm, [HumanMessage(QUESTION)], mode)
    assert _body(cf_aig_emulator)["tools"] == [SEARCH]
    blocks = answer.content_blocks
    [call] = [b for b in blocks if b["type"] == "server_tool_call"]
    [result] = [b for b in blocks if b["type"] == "server_tool_result"]
    assert call["name"] == "web_search" and call["args"] == {"query": QUESTION}
    assert result["tool_call_id"] == call["id"] and result["status"] == "success"
    assert result["output"][0]["url"].startswith("https://")
    cites = [a for b in blocks if b["type"] == "text" for a in b.get("annotations") or ()]
    assert cites and cites[0]["type"] == "citation"
    assert cites[0]["url"] == result["output"][0]["url"]
    assert not answer.tool_calls  # never a client function call
    # the search turn goes back as Anthropic's own blocks, call then result, before the text
    _lc_call(llm, [HumanMessage(QUESTION), answer, HumanMessage("And before that?")], mode)
    turn = _body(cf_aig_emulator)["messages"][1]["content"]
    assert [b["type"] for b in turn][:2] == ["server_tool_use", "web_search_tool_result"]
    assert turn[0]["id"] == call["id"] and turn[1]["tool_use_id"] == call["id"]


@pytest.mark.parametrize("api", WIRES)
@pytest.mark.parametrize("stream", [False, True])
def test_llama_index_web_search_gives_citation_blocks_and_goes_back(
        cf_aig_emulator: Emulator, api: str, stream: bool) -> None:
    llm = CloudflareAIGateway(model=CLAUDE, api=api, **_creds(cf_aig_emulator))
    msgs = [ChatMessage(role="user", content=QUESTION)]
    response = (list(llm.stream_chat(msgs, tools=[SEARCH]))[-1] if stream
                else llm.chat(msgs, tools=[SEARCH]))
    assert _body(cf_aig_emulator)["tools"] == [SEARCH]
    [cite] = [b for b in response.message.blocks if isinstance(b, CitationBlock)]
    assert cite.source.startswith("https://example.com/") and cite.cited_content.text
    [call] = response.message.additional_kwargs["server_tool_calls"]
    assert call["name"] == "web_search" and call["native"]["type"] == "server_tool_use"
    [result] = response.message.additional_kwargs["server_tool_results"]
    assert result["native"]["type"] == "web_search_tool_result"
    assert not llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    llm.chat([*msgs, response.message, ChatMessage(role="user", content="and?")],
             tools=[SEARCH])
    turn = _body(cf_aig_emulator)["messages"][1]["content"]
    assert [b["type"] for b in turn][:2] == ["server_tool_use", "web_search_tool_result"]


@pytest.mark.parametrize(("api", "model", "carrier"), [
    ("chat_completions", CLAUDE, "api='messages'"),
    ("responses", "openai/gpt-5.5", "api='messages'"),
    ("run", "@cf/moonshotai/kimi-k2.6", "api='messages'"),
])
def test_anthropic_server_tools_are_refused_elsewhere_naming_the_carrier(
        cf_aig_emulator: Emulator, api: str, model: str, carrier: str) -> None:
    lc = ChatCloudflareAIGateway(model=model, api=api, **_creds(cf_aig_emulator))
    with pytest.raises(ConfigurationError, match=carrier):
        lc.bind_tools([SEARCH]).invoke(QUESTION)
    li = CloudflareAIGateway(model=model, api=api, **_creds(cf_aig_emulator))
    with pytest.raises(ConfigurationError, match=carrier):
        li.chat([ChatMessage(role="user", content=QUESTION)], tools=[SEARCH])
    assert cf_aig_emulator.requests == []


# ----------------------------------------------------------------- media in tool results


@pytest.mark.parametrize("api", WIRES)
def test_tool_results_with_images_and_pdfs_are_native_blocks(cf_aig_emulator: Emulator,
                                                             api: str) -> None:
    call = {"name": "chart", "args": {}, "id": "toolu_1", "type": "tool_call"}
    image = {"type": "image", "base64": PNG_B64, "mime_type": "image/png"}
    pdf = {"type": "file", "base64": PDF_B64, "mime_type": "application/pdf",
           "filename": "r.pdf"}
    history = [HumanMessage("chart?"), AIMessage("", tool_calls=[call]),
               ToolMessage([{"type": "text", "text": "here"}, image, pdf],
                           tool_call_id="toolu_1")]
    ChatCloudflareAIGateway(model=CLAUDE, api=api, **_creds(cf_aig_emulator)).invoke(history)
    [result] = _body(cf_aig_emulator)["messages"][-1]["content"]
    assert result["type"] == "tool_result"
    assert [b["type"] for b in result["content"]] == ["text", "image", "document"]
    assert result["content"][1]["source"] == {"type": "base64", "media_type": "image/png",
                                              "data": PNG_B64}
    assert result["content"][2]["source"]["media_type"] == "application/pdf"

    li_history = [
        ChatMessage(role="user", content="chart?"),
        ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": [
            {"id": "toolu_1", "type": "function",
             "function": {"name": "chart", "arguments": "{}"}}]}),
        ChatMessage(role="tool", blocks=[
            TextBlock(text="here"),
            ImageBlock(image=base64.b64decode(PNG_B64), image_mimetype="image/png"),
            DocumentBlock(data=base64.b64decode(PDF_B64), document_mimetype="application/pdf",
                          title="r.pdf")],
            additional_kwargs={"tool_call_id": "toolu_1"}),
    ]
    CloudflareAIGateway(model=CLAUDE, api=api, **_creds(cf_aig_emulator)).chat(li_history)
    [result] = _body(cf_aig_emulator)["messages"][-1]["content"]
    assert [b["type"] for b in result["content"]] == ["text", "image", "document"]


def test_the_emulator_refuses_a_tool_result_flattened_into_json(
        cf_aig_emulator: Emulator) -> None:
    """What the standard suites rely on: an image sent as JSON text is a 400, not an OK."""
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": PNG_B64}}
    body = {"model": CLAUDE, "max_tokens": 64, "messages": [
        {"role": "user", "content": "chart?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1",
                                           "name": "chart", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                      "content": [{"type": "text", "text": "x"}]}]}]}
    url = f"{cf_aig_emulator.base_url}/accounts/{cf_aig_emulator.account_id}/ai/v1/messages"
    headers = {"authorization": f"Bearer {EMULATOR_TOKEN}"}
    body["messages"][2]["content"][0]["content"][0]["text"] = str(image).replace("'", '"')
    flattened = httpx.post(url, json=body, headers=headers)
    assert flattened.status_code == 400 and "serialized 'image' block" in flattened.text
    body["messages"][2]["content"][0]["content"] = [image]
    assert httpx.post(url, json=body, headers=headers).status_code == 200
