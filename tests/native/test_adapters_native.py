"""Both adapters, sync/async, invoke/stream: provider-run tools and their results,
tool results with images and files, files by URL and audio, on the endpoints that carry
them; typed errors before sending on the others."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from llama_index.core.base.llms.types import (
    AudioBlock,
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

from .wire_schemas import validate

SEARCH = {"type": "web_search_preview"}
QUESTION = "Latest release of the Rust compiler"
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"
PDF_URL = "https://files.example/report.pdf"


def _creds(emu: Emulator) -> dict[str, str]:
    return {"account_id": emu.account_id, "api_token": EMULATOR_TOKEN,
            "base_url": emu.base_url}


def _lc(emu: Emulator, api: str = "responses",
        model: str = "openai/gpt-5.5") -> ChatCloudflareAIGateway:
    return ChatCloudflareAIGateway(model=model, api=api, **_creds(emu))


def _li(emu: Emulator, api: str = "responses", model: str = "openai/gpt-5.5") -> CloudflareAIGateway:
    return CloudflareAIGateway(model=model, api=api, **_creds(emu))


def _lc_message(model: Any, mode: str) -> AIMessage:
    msgs = [HumanMessage(QUESTION)]
    if mode == "invoke":
        return model.invoke(msgs)  # type: ignore[no-any-return]
    if mode == "ainvoke":
        return asyncio.run(model.ainvoke(msgs))  # type: ignore[no-any-return]
    if mode == "stream":
        chunks = list(model.stream(msgs))
    else:
        async def collect() -> list[AIMessageChunk]:
            return [c async for c in model.astream(msgs)]
        chunks = asyncio.run(collect())
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
def test_langchain_web_search_results_are_v1_server_tool_blocks_and_citations(
        cf_aig_emulator: Emulator, mode: str) -> None:
    model = _lc(cf_aig_emulator).bind_tools([SEARCH])
    message = _lc_message(model, mode)
    assert cf_aig_emulator.requests[-1].json["tools"] == [SEARCH]
    validate(cf_aig_emulator.requests[-1].json, "CreateResponse")
    blocks = message.content_blocks
    [call] = [b for b in blocks if b["type"] == "server_tool_call"]
    [result] = [b for b in blocks if b["type"] == "server_tool_result"]
    assert call["name"] == "web_search" and call["args"]["query"] == QUESTION
    assert result["tool_call_id"] == call["id"] and result["status"] == "success"
    citations = [a for b in blocks if b["type"] == "text" for a in b.get("annotations", ())]
    assert [c["type"] for c in citations] == ["citation"]
    assert citations[0]["url"].startswith("https://") and citations[0]["end_index"] > 0
    assert QUESTION.split()[1] in message.text
    assert message.tool_calls == []  # never a client tool call


def test_langchain_search_turn_goes_back_natively(cf_aig_emulator: Emulator) -> None:
    model = _lc(cf_aig_emulator).bind_tools([SEARCH])
    first = model.invoke([HumanMessage(QUESTION)])
    model.invoke([HumanMessage(QUESTION), first, HumanMessage("and before?")])
    sent = cf_aig_emulator.requests[-1].json
    validate(sent, "CreateResponse")
    assert [i.get("type", "message") for i in sent["input"]] == [
        "message", "web_search_call", "message", "message"]
    assert sent["input"][2] == {"role": "assistant", "content": first.text}


@pytest.mark.parametrize("mode", ["chat", "achat", "stream", "astream"])
def test_llamaindex_web_search_results_are_citation_blocks(
        cf_aig_emulator: Emulator, mode: str) -> None:
    llm = _li(cf_aig_emulator)
    msgs = [ChatMessage(role="user", content=QUESTION)]
    kw: dict[str, Any] = {"tools": [SEARCH]}
    if mode == "chat":
        response = llm.chat(msgs, **kw)
    elif mode == "achat":
        response = asyncio.run(llm.achat(msgs, **kw))
    elif mode == "stream":
        *_, response = llm.stream_chat(msgs, **kw)
    else:
        async def last() -> Any:
            out = None
            async for r in await llm.astream_chat(msgs, **kw):
                out = r
            return out
        response = asyncio.run(last())
    assert cf_aig_emulator.requests[-1].json["tools"] == [SEARCH]
    [cite] = [b for b in response.message.blocks if isinstance(b, CitationBlock)]
    assert cite.source.startswith("https://") and cite.cited_content.text
    [call] = response.message.additional_kwargs["server_tool_calls"]
    assert call["name"] == "web_search"
    assert response.message.additional_kwargs["server_tool_results"][0]["status"] == "success"
    assert not llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    # the answer goes back: citations are not re-sent, the search item is
    llm.chat([*msgs, response.message, ChatMessage(role="user", content="and?")], **kw)
    sent = cf_aig_emulator.requests[-1].json
    validate(sent, "CreateResponse")
    assert "web_search_call" in [i.get("type") for i in sent["input"]]


def test_tool_results_with_images_and_pdfs_reach_responses_natively(
        cf_aig_emulator: Emulator) -> None:
    call = {"name": "chart", "args": {}, "id": "call_1", "type": "tool_call"}
    image = {"type": "image", "base64": PNG_B64, "mime_type": "image/png"}
    pdf = {"type": "file", "base64": "JVBERi0x", "mime_type": "application/pdf",
           "filename": "r.pdf"}
    history = [HumanMessage("chart?"), AIMessage("", tool_calls=[call]),
               ToolMessage([{"type": "text", "text": "here"}, image, pdf],
                           tool_call_id="call_1")]
    _lc(cf_aig_emulator).invoke(history)
    output = cf_aig_emulator.requests[-1].json["input"][-1]["output"]
    validate(cf_aig_emulator.requests[-1].json, "CreateResponse")
    assert [p["type"] for p in output] == ["input_text", "input_image", "input_file"]
    assert output[1]["image_url"] == f"data:image/png;base64,{PNG_B64}"

    li_history = [
        ChatMessage(role="user", content="chart?"),
        ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "chart", "arguments": "{}"}}]}),
        ChatMessage(role="tool", blocks=[TextBlock(text="here"),
                                         ImageBlock(image=base64.b64decode(PNG_B64),
                                                    image_mimetype="image/png")],
                    additional_kwargs={"tool_call_id": "call_1"}),
    ]
    _li(cf_aig_emulator).chat(li_history)
    output = cf_aig_emulator.requests[-1].json["input"][-1]["output"]
    assert [p["type"] for p in output] == ["input_text", "input_image"]


def test_tool_result_images_are_refused_on_chat_completions(cf_aig_emulator: Emulator) -> None:
    image = {"type": "image", "base64": PNG_B64, "mime_type": "image/png"}
    history = [HumanMessage("chart?"),
               AIMessage("", tool_calls=[{"name": "c", "args": {}, "id": "c1"}]),
               ToolMessage([image], tool_call_id="c1")]
    with pytest.raises(ConfigurationError, match=r"tool result with image_url.*api='responses'"):
        _lc(cf_aig_emulator, "chat_completions").invoke(history)
    assert cf_aig_emulator.requests == []


def test_files_by_url_go_to_responses_and_are_refused_on_chat_completions(
        cf_aig_emulator: Emulator) -> None:
    lc_msg = HumanMessage([{"type": "text", "text": "summarise"},
                           {"type": "file", "url": PDF_URL, "mime_type": "application/pdf"}])
    li_msg = ChatMessage(role="user", blocks=[TextBlock(text="summarise"),
                                              DocumentBlock(url=PDF_URL, title="report.pdf")])
    _lc(cf_aig_emulator).invoke([lc_msg])
    _li(cf_aig_emulator).chat([li_msg])
    for sent in cf_aig_emulator.requests:
        validate(sent.json, "CreateResponse")
        file_part = sent.json["input"][0]["content"][1]
        assert file_part["type"] == "input_file" and file_part["file_url"] == PDF_URL
    cf_aig_emulator.reset()
    with pytest.raises(ConfigurationError, match=r"file by URL.*api='responses'"):
        _lc(cf_aig_emulator, "chat_completions").invoke([lc_msg])
    with pytest.raises(ConfigurationError, match=r"file by URL.*api='responses'"):
        _li(cf_aig_emulator, "chat_completions").chat([li_msg])
    assert cf_aig_emulator.requests == []


def test_audio_reaches_chat_completions_and_is_refused_on_responses(
        cf_aig_emulator: Emulator) -> None:
    wav = b"RIFF0000WAVEfmt "
    li_msg = ChatMessage(role="user", blocks=[TextBlock(text="transcribe"),
                                              AudioBlock(audio=wav, format="wav")])
    lc_msg = HumanMessage([{"type": "text", "text": "transcribe"},
                           {"type": "audio", "base64": base64.b64encode(wav).decode(),
                            "mime_type": "audio/wav"}])
    _li(cf_aig_emulator, "chat_completions", "openai/gpt-audio").chat([li_msg])
    _lc(cf_aig_emulator, "chat_completions", "openai/gpt-audio").invoke([lc_msg])
    for sent in cf_aig_emulator.requests:
        validate(sent.json, "CreateChatCompletionRequest")
        part = sent.json["messages"][0]["content"][1]
        assert part == {"type": "input_audio", "input_audio": {
            "data": base64.b64encode(wav).decode(), "format": "wav"}}
    cf_aig_emulator.reset()
    # a model whose profile does not hear audio: refused before sending, naming one that does
    with pytest.raises(ConfigurationError, match=r"does not hear audio.*openai/gpt-audio"):
        _li(cf_aig_emulator, "chat_completions").chat([li_msg])
    with pytest.raises(ConfigurationError, match=r"does not hear audio.*openai/gpt-audio"):
        _lc(cf_aig_emulator, "chat_completions").invoke([lc_msg])
    # a model that hears audio, on an endpoint that cannot carry it: the dialect refuses
    with pytest.raises(ConfigurationError, match=r"input_audio.*api='chat_completions'"):
        _li(cf_aig_emulator, model="openai/gpt-audio").chat([li_msg])
    with pytest.raises(ConfigurationError, match=r"input_audio.*api='chat_completions'"):
        _lc(cf_aig_emulator, model="openai/gpt-audio").invoke([lc_msg])
    assert cf_aig_emulator.requests == []


@pytest.mark.parametrize("api", ["chat_completions", "run"])
def test_builtin_tools_are_refused_by_both_adapters_where_they_cannot_run(
        cf_aig_emulator: Emulator, api: str) -> None:
    with pytest.raises(ConfigurationError, match="provider-run tool 'web_search_preview'"):
        _lc(cf_aig_emulator, api).bind_tools([SEARCH]).invoke([HumanMessage(QUESTION)])
    with pytest.raises(ConfigurationError, match="provider-run tool 'web_search_preview'"):
        _li(cf_aig_emulator, api).chat([ChatMessage(role="user", content=QUESTION)],
                                       tools=[SEARCH])
    assert cf_aig_emulator.requests == []
