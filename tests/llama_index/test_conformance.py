"""The conformance suite over each endpoint the adapter speaks."""

from __future__ import annotations

from li_conformance import LLMConformance


class TestChatCompletions(LLMConformance):
    api = "chat_completions"
    model = "openai/gpt-5.5"


class TestWorkersAIRun(LLMConformance):
    api = "run"
    model = "@cf/moonshotai/kimi-k2.6"


class TestAnthropicMessages(LLMConformance):
    api = "messages"
    model = "anthropic/claude-sonnet-4.5"
    stream_error_code = False


class TestOpenAIResponses(LLMConformance):
    api = "responses"
    model = "openai/gpt-5.5"
