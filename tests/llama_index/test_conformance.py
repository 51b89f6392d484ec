"""The conformance suite over each endpoint the adapter speaks."""

from __future__ import annotations

import pytest
from li_conformance import LLMConformance


class TestChatCompletions(LLMConformance):
    api = "chat_completions"
    model = "openai/gpt-5.5"


class TestWorkersAIRun(LLMConformance):
    api = "run"
    model = "@cf/moonshotai/kimi-k2.6"


_NO_ROUTE = "the emulator has no {} route yet; remove this skip once it does"


@pytest.mark.skip(reason=_NO_ROUTE.format("/ai/v1/messages"))
class TestAnthropicMessages(LLMConformance):
    api = "messages"
    model = "anthropic/claude-sonnet-4.5"


@pytest.mark.skip(reason=_NO_ROUTE.format("/ai/v1/responses"))
class TestOpenAIResponses(LLMConformance):
    api = "responses"
    model = "openai/gpt-5.5"
