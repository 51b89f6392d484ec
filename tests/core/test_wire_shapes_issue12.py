"""Realistic wire shapes (reference §4.3-4.5, §11.1, §11.5) through the core decoders:
nothing the gateway sends is lost on the way to a canonical completion."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cf_aig import ChunkAccumulator
from cf_aig.dialects import get_dialect

REAL = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 4}}
ZERO = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def merged(api: str, model: str, events: list[Any]) -> dict[str, Any]:
    state = get_dialect(api).stream_state(model)
    acc = ChunkAccumulator()
    for event in events:
        data = event if isinstance(event, bytes) else json.dumps(event).encode()
        for chunk in state.event(None, data):
            acc.add(chunk)
    for chunk in state.finish():
        acc.add(chunk)
    return dict(acc.completion())


@pytest.mark.parametrize(("api", "model", "trailer"), [
    ("chat_completions", "openai/gpt-5.5", {"id": "c", "choices": [], "usage": ZERO}),
    ("run", "@cf/openai/gpt-oss-120b", {"response": "", "usage": ZERO}),
])
def test_usage_on_the_last_choice_chunk_survives_a_trailing_all_zero_usage(
        api: str, model: str, trailer: dict[str, Any]) -> None:
    done = merged(api, model, [
        {"id": "c", "choices": [{"index": 0, "delta": {"content": "Hi"}}]},
        {"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
         "usage": REAL},
        trailer, b"[DONE]"])
    assert done["usage"] == REAL
