"""Provider-run tools and tool-result media through the core: OpenAI built-in tools pass
through untouched on ``/ai/v1/responses`` (their results come back as canonical
annotations and server tool calls, the same invoked and streamed), ``enable_search`` on
chat completions for Alibaba models, typed refusals before sending everywhere else."""

from __future__ import annotations

from typing import Any

import pytest

from cf_aig import Client, ConfigurationError
from cf_aig.accumulate import ChunkAccumulator
from cf_aig.dialects import get_dialect
from cf_aig.emulator import Emulator
from cf_aig.testing import EMULATOR_TOKEN

from .wire_schemas import validate

SEARCH = [{"type": "web_search_preview", "search_context_size": "low"}]
ASK = [{"role": "user", "content": "Latest release of the Rust compiler"}]
PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"


def _client(emu: Emulator) -> Client:
    return Client(account_id=emu.account_id, api_token=EMULATOR_TOKEN, base_url=emu.base_url)


def _stream(client: Client, request: Any, api: str) -> dict[str, Any]:
    acc = ChunkAccumulator()
    for chunk in client.chat_stream(request, api=api):  # type: ignore[arg-type]
        acc.add(chunk)
    return dict(acc.completion()["choices"][0]["message"])


def test_web_search_preview_goes_untouched_and_its_results_come_back(
        cf_aig_emulator: Emulator) -> None:
    request = {"model": "openai/gpt-5.5", "messages": ASK, "tools": SEARCH}
    with _client(cf_aig_emulator) as client:
        done = dict(client.chat(request, api="responses").completion["choices"][0]["message"])
        streamed = _stream(client, request, "responses")
    for sent in cf_aig_emulator.requests:
        assert sent.json["tools"] == SEARCH
        validate(sent.json, "CreateResponse")
    for message in (done, streamed):
        [citation] = message["annotations"]
        assert citation["type"] == "url_citation"
        body = citation["url_citation"]
        assert body["url"].startswith("https://") and body["title"]
        assert message["content"][body["start_index"]:body["end_index"]]
        [call] = message["server_tool_calls"]
        assert call["name"] == "web_search" and call["args"]["query"] == ASK[0]["content"]
        assert call["native"]["type"] == "web_search_call"
        [result] = message["server_tool_results"]
        assert result["tool_call_id"] == call["id"] and result["status"] == "success"
        assert "tool_calls" not in message  # never turned into a client function call
    assert streamed["annotations"] == done["annotations"]
    assert streamed["content"] == done["content"]


def test_a_search_turn_goes_back_as_the_providers_own_item(cf_aig_emulator: Emulator) -> None:
    request = {"model": "openai/gpt-5.5", "messages": ASK, "tools": SEARCH}
    with _client(cf_aig_emulator) as client:
        first = client.chat(request, api="responses").completion["choices"][0]["message"]
        history = [*ASK, first, {"role": "user", "content": "And before that?"}]
        client.chat({**request, "messages": history}, api="responses")
    sent = cf_aig_emulator.requests[-1].json
    validate(sent, "CreateResponse")
    kinds = [item.get("type", "message") for item in sent["input"]]
    assert kinds == ["message", "web_search_call", "message", "message"]
    assert sent["input"][1] == first["server_tool_calls"][0]["native"]


@pytest.mark.parametrize(("api", "model", "carrier"), [
    ("chat_completions", "openai/gpt-5.5", "api='responses'"),
    ("run", "openai/gpt-5.5", "api='responses'"),
    ("run", "@cf/moonshotai/kimi-k2.6", "api='responses'"),
    ("run", "@cf/meta/llama-3.3-70b-instruct-fp8-fast", "api='responses'"),
])
def test_builtin_tools_are_refused_where_they_cannot_run(
        cf_aig_emulator: Emulator, api: str, model: str, carrier: str) -> None:
    with _client(cf_aig_emulator) as client:
        for tools, where in ((SEARCH, carrier),
                             ([{"type": "web_search_20250305", "name": "web_search"}],
                              "api='messages'")):
            with pytest.raises(ConfigurationError, match="provider-run tool") as info:
                client.chat({"model": model, "messages": ASK, "tools": tools},
                            api=api)  # type: ignore[arg-type]
            assert where in str(info.value) and tools[0]["type"] in str(info.value)
    assert cf_aig_emulator.requests == []


def test_enable_search_reaches_alibaba_models_and_is_refused_elsewhere(
        cf_aig_emulator: Emulator) -> None:
    with _client(cf_aig_emulator) as client:
        client.chat({"model": "alibaba/qwen3-max", "messages": ASK, "enable_search": True})
        assert cf_aig_emulator.requests[-1].json["enable_search"] is True
        validate(cf_aig_emulator.requests[-1].json, "CreateChatCompletionRequest")
        for api, model in (("chat_completions", "openai/gpt-5.5"),
                           ("run", "@cf/moonshotai/kimi-k2.6")):
            with pytest.raises(ConfigurationError, match=r"enable_search.*web_search_preview"):
                client.chat({"model": model, "messages": ASK, "enable_search": True},
                            api=api)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="enable_search"):
            client.chat({"model": "openai/gpt-5.5", "messages": ASK, "enable_search": True},
                        api="responses")
    assert len(cf_aig_emulator.requests) == 1


def test_tool_results_carry_images_and_files_on_responses(cf_aig_emulator: Emulator) -> None:
    tool_call = {"id": "call_1", "type": "function",
                 "function": {"name": "snapshot", "arguments": "{}"}}
    result = [{"type": "text", "text": "the chart"},
              {"type": "image_url", "image_url": {"url": PNG}},
              {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0x",
                                        "filename": "r.pdf"}}]
    messages = [*ASK, {"role": "assistant", "content": None, "tool_calls": [tool_call]},
                {"role": "tool", "tool_call_id": "call_1", "content": result}]
    with _client(cf_aig_emulator) as client:
        client.chat({"model": "openai/gpt-5.5", "messages": messages}, api="responses")
    sent = cf_aig_emulator.requests[-1].json
    validate(sent, "CreateResponse")
    output = sent["input"][-1]
    assert output["type"] == "function_call_output" and output["call_id"] == "call_1"
    assert output["output"] == [
        {"type": "input_text", "text": "the chart"},
        {"type": "input_image", "image_url": PNG, "detail": "auto"},
        {"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0x",
         "filename": "r.pdf"}]


def test_history_extras_are_not_sent_to_chat_completions() -> None:
    turn = {"role": "assistant", "content": "It is 1.90.",
            "annotations": [{"type": "url_citation", "url_citation": {"url": "https://x"}}],
            "server_tool_calls": [{"id": "ws_1", "name": "web_search", "args": {}}],
            "server_tool_results": [{"tool_call_id": "ws_1", "status": "success"}]}
    body = get_dialect("chat_completions").build(
        {"model": "openai/gpt-5.5", "messages": [*ASK, turn]}, stream=False)
    assert body["messages"][1] == {"role": "assistant", "content": "It is 1.90."}
    validate(body, "CreateChatCompletionRequest")
