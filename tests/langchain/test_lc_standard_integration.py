"""langchain-tests standard integration suites, unmodified, against the emulator on loopback.

Chat runs on both endpoints: chat completions (``openai/gpt-5.5``) and Workers AI
``/ai/run`` with a chat-schema model (``@cf/moonshotai/kimi-k2.6``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_tests.integration_tests import ChatModelIntegrationTests, EmbeddingsIntegrationTests
from lc_helpers import WAV, ChatCapabilities, creds, emulator

from langchain_cf_aig import ChatCloudflareAIGateway, CloudflareAIGatewayEmbeddings


@pytest.fixture(autouse=True)
def _loopback_only(offline_downloads: None) -> None:
    """Remote fixture downloads of the suites are answered locally."""


class _ChatSuite(ChatCapabilities, ChatModelIntegrationTests):
    model_name = "openai/gpt-5.5"
    api = "chat_completions"
    override = "openai/gpt-5-mini"

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": self.model_name, "api": self.api, **creds()}

    @property
    def supported_usage_metadata_details(self) -> dict[str, Any]:
        details = ["reasoning_output", "cache_read_input"]
        return {"invoke": details, "stream": details}

    def _run(self, llm: ChatCloudflareAIGateway, prompt: str, stream: bool) -> AIMessage:
        if not stream:
            return llm.invoke(prompt)
        full: AIMessageChunk | None = None
        for chunk in llm.stream(prompt):
            full = chunk if full is None else full + chunk
        assert full is not None
        return full

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        llm = ChatCloudflareAIGateway(**self.chat_model_params, reasoning_effort="medium")
        return self._run(llm, "Explain why the sky is blue.", stream)

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        # The gateway reports cached prompt tokens when a session-affinity key routes a
        # repeated prefix to the same replica.
        llm = ChatCloudflareAIGateway(**self.chat_model_params, session_affinity="suite")
        prompt = "Summarise the rules of chess. " * 20
        self._run(llm, prompt, stream)
        return self._run(llm, prompt, stream)


class TestChatCompletions(_ChatSuite):
    @property
    def supports_pdf_inputs(self) -> bool:
        return True


class TestGeminiChatCompletions(_ChatSuite):
    """The suite with a Google model on ``/ai/v1/chat/completions``: its profile hears
    audio, so the suite's audio test runs (and its wire is checked)."""

    model_name = "google/gemini-2.5-flash"

    @property
    def supports_pdf_inputs(self) -> bool:
        return True

    @property
    def supports_audio_inputs(self) -> bool:  # input_audio parts on /ai/v1/chat/completions
        return True

    @pytest.fixture(autouse=True)
    def _audio_on_the_wire(self, request: pytest.FixtureRequest) -> Iterator[None]:
        """After the suite's audio test (not overridable), check the wire: both of its
        messages (LangChain audio block, OpenAI input_audio part) reached the emulator as
        input_audio parts carrying the WAV bytes, not as text."""
        if request.node.originalname != "test_audio_inputs":
            yield
            return
        emulator().reset()
        yield
        parts = [part for r in emulator().requests if r.method == "POST"
                 for m in r.json.get("messages") or () if isinstance(m.get("content"), list)
                 for part in m["content"] if part.get("type") == "input_audio"]
        assert len(parts) == 2, parts
        assert all(p["input_audio"]["format"] == "wav"
                   and base64.b64decode(p["input_audio"]["data"]) == WAV for p in parts)


class TestWorkersAIRun(_ChatSuite):
    model_name = "@cf/moonshotai/kimi-k2.6"
    api = "run"
    override = "@cf/moonshotai/kimi-k2.5"


class TestEmbeddingsRun(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[CloudflareAIGatewayEmbeddings]:
        return CloudflareAIGatewayEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "@cf/baai/bge-base-en-v1.5", **creds()}


class TestEmbeddingsOpenAI(TestEmbeddingsRun):
    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "openai/text-embedding-3-small", **creds()}


class TestResponsesApi(_ChatSuite):
    """The same suite through ``/ai/v1/responses`` (core Responses dialect)."""

    api = "responses"

    @property
    def supports_pdf_inputs(self) -> bool:
        return True

    @pytest.mark.xfail(
        reason="the Responses API has no stop sequences; the core refuses `stop` on "
        "api='responses' rather than silently dropping it",
        strict=True,
    )
    def test_stop_sequence(self, model: BaseChatModel) -> None:
        super().test_stop_sequence(model)

    @property
    def supports_image_tool_message(self) -> bool:
        return True

    @property
    def supports_pdf_tool_message(self) -> bool:
        return True

    @staticmethod
    def _tool_output_kinds() -> list[list[str]]:
        """Content-item types of every function_call_output the emulator received."""
        return [[p["type"] for p in item["output"]]
                for r in emulator().requests if r.method == "POST"
                for item in r.json.get("input") or ()
                if item.get("type") == "function_call_output"
                and isinstance(item.get("output"), list)]

    @pytest.fixture(autouse=True)
    def _tool_media_on_the_wire(self, request: pytest.FixtureRequest) -> Iterator[None]:
        """After the suite's image/PDF tool-message tests (not overridable), check the wire:
        each tool result reached the emulator as input_image / input_file items, not text."""
        wanted = {"test_image_tool_message": "input_image",
                  "test_pdf_tool_message": "input_file"}.get(request.node.originalname)
        if wanted is not None:
            emulator().reset()
        yield
        if wanted is not None:
            kinds = self._tool_output_kinds()
            assert kinds and all(wanted in k for k in kinds), kinds


class TestMessagesApi(_ChatSuite):
    """The same suite through ``/ai/v1/messages`` (core Anthropic dialect)."""

    model_name = "anthropic/claude-sonnet-4.5"
    api = "messages"
    override = "anthropic/claude-haiku-4.5"

    @pytest.mark.xfail(
        reason="Anthropic Messages has no JSON-object mode; the core refuses response_format "
        "json_object on api='messages' (ConfigurationError naming the JSON-schema form, "
        "sent as output_config, and api='chat_completions') rather than silently dropping it",
        strict=True,
    )
    def test_json_mode(self, model: BaseChatModel) -> None:
        super().test_json_mode(model)

    @property
    def supports_pdf_inputs(self) -> bool:
        return True

    @property
    def supported_usage_metadata_details(self) -> dict[str, Any]:
        # Anthropic usage has no separate reasoning-token count
        details = ["cache_read_input", "cache_creation_input"]
        return {"invoke": details, "stream": details}

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        # Anthropic prompt caching: the prefix up to a cache_control mark is written once,
        # then read
        llm = ChatCloudflareAIGateway(**self.chat_model_params)
        self._run(llm, self._marked_prompt("read"), stream)  # type: ignore[arg-type]
        return self._run(llm, self._marked_prompt("read"), stream)  # type: ignore[arg-type]

    def invoke_with_cache_creation_input(self, *, stream: bool = False) -> AIMessage:
        llm = ChatCloudflareAIGateway(**self.chat_model_params)
        return self._run(llm, self._marked_prompt(f"write {stream}"), stream)  # type: ignore[arg-type]

    @staticmethod
    def _marked_prompt(tag: str) -> list[Any]:
        return [HumanMessage([
            {"type": "text", "text": f"{tag}: " + "Summarise the rules of chess. " * 20,
             "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Be brief."}])]

    @property
    def supports_anthropic_inputs(self) -> bool:
        return True

    @property
    def supports_image_tool_message(self) -> bool:
        return True

    @property
    def supports_pdf_tool_message(self) -> bool:
        return True

    @staticmethod
    def _bodies() -> list[dict[str, Any]]:
        """Messages bodies the emulator received (unified /ai/run nests it in ``input``)."""
        return [dict((r.json or {}).get("input") or r.json or {}) for r in emulator().requests
                if r.method == "POST"]

    @staticmethod
    def _sent(kind: str) -> list[dict[str, Any]]:
        """Blocks of type ``kind`` the emulator received (inside tool results too)."""
        found = []
        for body in TestMessagesApi._bodies():
            for m in body.get("messages") or ():
                for b in m["content"] if isinstance(m["content"], list) else ():
                    inner = b.get("content") if b.get("type") == "tool_result" else None
                    for x in [b, *(inner if isinstance(inner, list) else ())]:
                        if x.get("type") == kind:
                            found.append({**x, "in_tool_result": x is not b})
        return found

    @pytest.fixture(autouse=True)
    def _wire_checked(self, request: pytest.FixtureRequest) -> Any:
        """After the multimodal and Anthropic-input tests, check what reached the wire
        (a fixture, since the suite forbids overriding its tests)."""
        emulator().reset()
        yield
        check = getattr(self, "_check_" + request.node.originalname.removeprefix("test_"), None)
        if check is not None:
            check()

    def _check_image_tool_message(self) -> None:
        images = [b for b in self._sent("image") if b["in_tool_result"]]
        assert images and all(b["source"]["type"] == "base64" for b in images)

    def _check_pdf_tool_message(self) -> None:
        docs = [b for b in self._sent("document") if b["in_tool_result"]]
        assert docs and all(b["source"]["media_type"] == "application/pdf" for b in docs)

    def _check_anthropic_inputs(self) -> None:
        marked = [b for b in self._sent("text") if b.get("cache_control")]
        assert marked, "cache_control on the text block reached the wire"
        tools = [t for body in self._bodies() for t in body.get("tools") or ()]
        assert tools and all(t.get("cache_control") == {"type": "ephemeral"} for t in tools)
        assert self._sent("image") and self._sent("tool_use")


class TestAnthropicOnRun(TestMessagesApi):
    """The same suite for an ``anthropic/*`` model on unified ``/ai/run`` (its input is a
    Messages body), wire checks included."""

    api = "run"
