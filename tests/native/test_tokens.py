"""``get_num_tokens*`` never needs a tokenizer download (documented estimate)."""

from __future__ import annotations

import sys

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from cf_aig.tokens import IMAGE_TOKENS, estimate_message_tokens, estimate_tokens
from langchain_cf_aig import ChatCloudflareAIGateway


def test_counts_without_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # import fails
    model = ChatCloudflareAIGateway(model="openai/gpt-5.5", account_id="a", api_token="t")
    assert model.get_num_tokens("Hello, world!") == 4
    short = model.get_num_tokens_from_messages([HumanMessage("Hi")])
    longer = model.get_num_tokens_from_messages([HumanMessage("Hi"), AIMessage("Hello there")])
    with_tool = model.get_num_tokens_from_messages(
        [HumanMessage("Hi")], tools=[{"type": "function", "function": {
            "name": "get_weather", "parameters": {"type": "object", "properties": {}}}}])
    assert 0 < short < longer and short < with_tool


def test_estimate_rules() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("internationalization") == 4
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]
    assert estimate_message_tokens(image) == 3 + 3 + IMAGE_TOKENS
