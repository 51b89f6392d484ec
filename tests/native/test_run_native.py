"""Unified and native ``/ai/run``: vision models' own image input, stream usage for
third-party models, and stream usage that never goes backwards."""

from __future__ import annotations

import pytest

from cf_aig import Client, ConfigurationError
from cf_aig.accumulate import ChunkAccumulator
from cf_aig.dialects import get_dialect
from cf_aig.emulator import Emulator
from cf_aig.testing import EMULATOR_TOKEN

PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"
VISION = ("@cf/meta/llama-3.2-11b-vision-instruct", "@cf/meta/llama-4-scout-17b-16e-instruct",
          "@cf/google/gemma-3-12b-it")


def _client(emu: Emulator) -> Client:
    return Client(account_id=emu.account_id, api_token=EMULATOR_TOKEN, base_url=emu.base_url)


def _image_message(url: str) -> list[dict[str, object]]:
    return [{"role": "user", "content": [{"type": "text", "text": "What is in it?"},
                                         {"type": "image_url", "image_url": {"url": url}}]}]


@pytest.mark.parametrize("model", VISION)
def test_classic_vision_models_get_images_in_their_native_form(
        cf_aig_emulator: Emulator, model: str) -> None:
    with _client(cf_aig_emulator) as client:
        result = client.chat({"model": model, "messages": _image_message(PNG)}, api="run")
    assert result.text
    sent = cf_aig_emulator.requests[-1]
    assert sent.path.endswith(f"/ai/run/{model}")
    assert sent.json["messages"][0]["content"] == [
        {"type": "text", "text": "What is in it?"},
        {"type": "image_url", "image_url": {"url": PNG}}]


def test_classic_vision_models_refuse_http_image_urls_before_sending(
        cf_aig_emulator: Emulator) -> None:
    with _client(cf_aig_emulator) as client, pytest.raises(ConfigurationError,
                                                           match="data: URIs"):
        client.chat({"model": VISION[0], "messages": _image_message("https://x.test/a.png")},
                    api="run")
    assert cf_aig_emulator.requests == []


def test_text_only_classic_model_names_a_vision_model_for_images() -> None:
    with pytest.raises(ConfigurationError, match="vision model"):
        get_dialect("run").build({"model": "@cf/meta/llama-3.1-8b-instruct-fp8",
                                  "messages": _image_message(PNG)}, stream=False)


def test_classic_models_refuse_audio_naming_an_endpoint_that_carries_it() -> None:
    audio = [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}]
    for model in ("@cf/meta/llama-3.1-8b-instruct-fp8", VISION[1]):
        with pytest.raises(ConfigurationError, match=r"input_audio.*chat_completions"):
            get_dialect("run").build({"model": model, "messages": audio}, stream=False)


def test_unified_run_streams_usage_for_third_party_models(cf_aig_emulator: Emulator) -> None:
    with _client(cf_aig_emulator) as client:
        acc = ChunkAccumulator()
        for chunk in client.chat_stream(
                {"model": "openai/gpt-5.5", "messages": [{"role": "user", "content": "Hi"}]},
                api="run"):
            acc.add(chunk)
    sent = cf_aig_emulator.requests[-1].json
    assert sent["input"]["stream_options"] == {"include_usage": True}
    usage = acc.completion()["usage"]
    assert usage is not None and usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0


ZERO_AFTER_REAL = [
    b'{"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,'
    b'"delta":{"content":"Hi"},"finish_reason":"stop"}]}',
    b'{"id":"c","object":"chat.completion.chunk","model":"m","choices":[],'
    b'"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,'
    b'"prompt_tokens_details":{"cached_tokens":4}}}',
    b'{"id":"c","object":"chat.completion.chunk","model":"m","choices":[],'
    b'"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,'
    b'"prompt_tokens_details":{"cached_tokens":0}}}',
    b"[DONE]",
]


@pytest.mark.parametrize("api", ["chat_completions", "run"])
def test_a_later_all_zero_usage_never_erases_real_figures(api: str) -> None:
    state = get_dialect(api).stream_state("@cf/moonshotai/kimi-k2.6")
    acc = ChunkAccumulator()
    for event in ZERO_AFTER_REAL:
        for chunk in state.event(None, event):
            acc.add(chunk)
    for chunk in state.finish():
        acc.add(chunk)
    assert acc.completion()["usage"] == {"prompt_tokens": 12, "completion_tokens": 3,
                                         "total_tokens": 15,
                                         "prompt_tokens_details": {"cached_tokens": 4}}


def test_accumulator_keeps_the_largest_usage_whatever_the_dialect_sent() -> None:
    acc = ChunkAccumulator()
    acc.add({"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2,
                                      "total_tokens": 9}})
    acc.add({"choices": [], "usage": {"prompt_tokens": 0, "completion_tokens": 0,
                                      "total_tokens": 0}})
    assert acc.completion()["usage"] == {"prompt_tokens": 7, "completion_tokens": 2,
                                         "total_tokens": 9}


def test_workers_ai_all_zero_increment_does_not_switch_to_summing() -> None:
    state = get_dialect("run").stream_state("@cf/google/gemma-4-26b-a4b-it")
    events = [
        b'{"id":"g","choices":[{"index":0,"delta":{"content":"a"}}],'
        b'"usage":{"prompt_tokens":10,"completion_tokens":1,"total_tokens":11}}',
        b'{"id":"g","choices":[{"index":0,"delta":{"content":"b"}}],'
        b'"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}',
        b'{"id":"g","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],'
        b'"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}',
        b"[DONE]",
    ]
    acc = ChunkAccumulator()
    for event in events:
        for chunk in state.event(None, event):
            acc.add(chunk)
    for chunk in state.finish():
        acc.add(chunk)
    assert acc.completion()["usage"] == {"prompt_tokens": 10, "completion_tokens": 2,
                                         "total_tokens": 12}
