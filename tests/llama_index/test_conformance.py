"""The conformance suite over each endpoint the adapter speaks today."""

from __future__ import annotations

from li_conformance import LLMConformance


class TestChatCompletions(LLMConformance):
    api = "chat_completions"
    model = "openai/gpt-5.5"


class TestWorkersAIRun(LLMConformance):
    api = "run"
    model = "@cf/moonshotai/kimi-k2.6"
