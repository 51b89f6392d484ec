"""Reusable conformance suite for ``CloudflareAIGateway`` (any endpoint, any model).

Subclass :class:`LLMConformance` with ``api`` and ``model`` (or override the
``make_llm`` fixture) and name the subclass ``Test...``; every test then runs against
the loopback emulator through that endpoint::

    class TestChatCompletions(LLMConformance):
        api = "chat_completions"
        model = "openai/gpt-5.5"

The suite needs one fixture from the including conftest: ``emu`` (a reset
:class:`cf_aig.emulator.Emulator`).
"""

from __future__ import annotations

import base64
import inspect
import itertools
import json
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from li_tools import ADD, MULTIPLY, Song
from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent, ReActAgent
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatStartEvent,
    LLMCompletionEndEvent,
    LLMCompletionStartEvent,
)
from llama_index.core.prompts import PromptTemplate

import cf_aig
from cf_aig.emulator import Emulator
from llama_index_cf_aig import CloudflareAIGateway

TOKEN = "li-conformance-token-42"
USER = [ChatMessage(role=MessageRole.USER, content="Tell me about Paris and the Eiffel tower")]
ENDPOINTS = (
    "chat",
    "achat",
    "stream_chat",
    "astream_chat",
    "complete",
    "acomplete",
    "stream_complete",
    "astream_complete",
)
STREAMING = tuple(e for e in ENDPOINTS if "stream" in e)


async def call_endpoint(llm: CloudflareAIGateway, name: str, **kwargs: Any) -> list[Any]:
    """Call one of the eight endpoints; the responses (a list of one when not streaming)."""
    arg: Any = USER if "chat" in name else "Tell me about Paris and the Eiffel tower"
    result = getattr(llm, name)(arg, **kwargs)
    if name.startswith("a"):
        assert inspect.iscoroutine(result), f"{name} must be a coroutine"
        result = await result
    if "stream" not in name:
        return [result]
    if name.startswith("a"):
        assert inspect.isasyncgen(result), f"{name} must return an async generator"
        return [r async for r in result]
    assert inspect.isgenerator(result)
    return list(result)


class _Collect(BaseEventHandler):
    events: list[BaseEvent] = []

    @classmethod
    def class_name(cls) -> str:
        return "Collect"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)


class LLMConformance:
    """Behaviour every endpoint must show; see the module docstring."""

    api: ClassVar[str] = "chat_completions"
    model: ClassVar[str] = "openai/gpt-5.5"
    extra: ClassVar[dict[str, Any]] = {}
    native_json_schema: ClassVar[bool] = True
    """The endpoint takes ``response_format`` JSON schema (all four do: messages as output_config)."""
    stream_error_code: ClassVar[bool] = True
    """Mid-stream error events carry the Cloudflare code (Anthropic's do not)."""

    def _modes(self, mode: str) -> None:
        if mode == "json_schema" and not self.native_json_schema:
            pytest.skip(f"{self.api} has no native JSON schema output")

    @pytest.fixture
    def make_llm(self, emu: Emulator) -> Callable[..., CloudflareAIGateway]:
        """A factory of LLMs pointed at the emulator; keyword arguments override."""

        def make(**overrides: Any) -> CloudflareAIGateway:
            settings: dict[str, Any] = {
                "model": self.model,
                "api": self.api,
                "account_id": "acc",
                "api_token": TOKEN,
                "base_url": emu.base_url,
                **self.extra,
            }
            settings.update(overrides)
            return CloudflareAIGateway(**settings)

        return make

    @pytest.fixture
    def llm(self, make_llm: Callable[..., CloudflareAIGateway]) -> CloudflareAIGateway:
        return make_llm()

    # ---- the eight endpoints ----------------------------------------------------------

    @pytest.mark.parametrize("endpoint", ENDPOINTS)
    async def test_endpoint_types(self, llm: CloudflareAIGateway, endpoint: str) -> None:
        responses = await call_endpoint(llm, endpoint)
        kind = ChatResponse if "chat" in endpoint else CompletionResponse
        assert responses and all(isinstance(r, kind) for r in responses)
        last = responses[-1]
        text = last.message.content if kind is ChatResponse else last.text
        assert "Paris" in text
        if kind is ChatResponse:
            assert last.message.role == MessageRole.ASSISTANT

    @pytest.mark.parametrize("endpoint", ENDPOINTS)
    async def test_gateway_info_on_every_response(
        self, llm: CloudflareAIGateway, endpoint: str
    ) -> None:
        for r in await call_endpoint(llm, endpoint):
            info = r.additional_kwargs["gateway"]
            assert info["log_id"] and info["cache_status"] == "MISS"

    # ---- streaming invariants -----------------------------------------------------------

    @pytest.mark.parametrize("endpoint", STREAMING)
    async def test_stream_deltas_join_to_content(
        self, llm: CloudflareAIGateway, endpoint: str
    ) -> None:
        responses = await call_endpoint(llm, endpoint)
        assert len(responses) > 2
        texts = [r.message.content if "chat" in endpoint else r.text for r in responses]
        assert "".join(r.delta or "" for r in responses) == texts[-1]
        for before, after in itertools.pairwise(texts):
            assert after.startswith(before), "stream messages must be cumulative"

    @pytest.mark.parametrize("endpoint", ["stream_chat", "astream_chat"])
    async def test_reasoning_never_in_delta(
        self, make_llm: Callable[..., CloudflareAIGateway], endpoint: str
    ) -> None:
        llm = make_llm(reasoning_effort="low")
        responses = await call_endpoint(llm, endpoint)
        last = responses[-1].message
        thinking = [b for b in last.blocks if isinstance(b, ThinkingBlock)]
        assert len(thinking) == 1 and thinking[0].content
        streamed = "".join(r.additional_kwargs.get("thinking_delta", "") for r in responses)
        assert streamed == thinking[0].content
        assert "".join(r.delta or "" for r in responses) == last.content
        assert thinking[0].content not in (last.content or "")

    async def test_reasoning_as_thinking_block_non_stream(
        self, make_llm: Callable[..., CloudflareAIGateway]
    ) -> None:
        response = make_llm(reasoning_effort="low").chat(USER)
        blocks = response.message.blocks
        assert isinstance(blocks[0], ThinkingBlock) and blocks[0].content
        assert "Paris" in (response.message.content or "")

    # ---- usage ----------------------------------------------------------------------------

    @pytest.mark.parametrize("endpoint", ENDPOINTS)
    async def test_usage_on_final_response(self, llm: CloudflareAIGateway, endpoint: str) -> None:
        last = (await call_endpoint(llm, endpoint))[-1]
        usage = last.raw["usage"]
        assert isinstance(usage, dict) and usage["prompt_tokens"] > 0
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            assert last.additional_kwargs[key] == usage[key]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]

    @pytest.mark.parametrize("endpoint", ENDPOINTS)
    async def test_token_counting_handler_sees_real_counts(
        self, llm: CloudflareAIGateway, endpoint: str
    ) -> None:
        handler = TokenCountingHandler(tokenizer=lambda text: [])  # no tokenizer: usage only
        llm.callback_manager = CallbackManager([handler])
        last = (await call_endpoint(llm, endpoint))[-1]
        usage = last.raw["usage"]
        assert handler.prompt_llm_token_count == usage["prompt_tokens"]
        assert handler.completion_llm_token_count == usage["completion_tokens"]

    # ---- instrumentation --------------------------------------------------------------------

    @pytest.mark.parametrize("endpoint", ENDPOINTS)
    async def test_one_start_end_event_pair(self, llm: CloudflareAIGateway, endpoint: str) -> None:
        dispatcher = get_dispatcher()
        collector = _Collect(events=[])
        dispatcher.add_event_handler(collector)
        try:
            await call_endpoint(llm, endpoint)
        finally:
            dispatcher.event_handlers.remove(collector)
        starts = [
            e
            for e in collector.events
            if isinstance(e, (LLMChatStartEvent, LLMCompletionStartEvent))
        ]
        ends = [
            e for e in collector.events if isinstance(e, (LLMChatEndEvent, LLMCompletionEndEvent))
        ]
        assert len(starts) == 1 and len(ends) == 1
        assert type(starts[0]).__name__.replace("Start", "End") == type(ends[0]).__name__
        dumped = "".join(e.model_dump_json() for e in collector.events)
        assert TOKEN not in dumped

    # ---- tools ------------------------------------------------------------------------------

    def test_chat_with_tools_returns_tool_call(self, llm: CloudflareAIGateway) -> None:
        response = llm.chat_with_tools([ADD, MULTIPLY], user_msg="Please add 2 and 3")
        calls = llm.get_tool_calls_from_response(response)
        assert [(c.tool_name, c.tool_kwargs) for c in calls] == [("add", {"a": 2, "b": 3})]
        blocks = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
        assert blocks[0].tool_call_id == calls[0].tool_id
        raw_calls = response.message.additional_kwargs["tool_calls"]
        assert raw_calls[0]["id"] == calls[0].tool_id
        assert json.loads(raw_calls[0]["function"]["arguments"]) == {"a": 2, "b": 3}

    async def test_stream_chat_with_tools_assembles_calls(self, llm: CloudflareAIGateway) -> None:
        gen = await llm.astream_chat_with_tools(
            [ADD, MULTIPLY],
            user_msg="Use add on 4 and 5 and multiply 6 by 7",
            allow_parallel_tool_calls=True,
        )
        responses = [r async for r in gen]
        calls = llm.get_tool_calls_from_response(responses[-1])
        assert [c.tool_name for c in calls] == ["add", "multiply"]
        assert all(set(c.tool_kwargs) == {"a", "b"} for c in calls)
        assert calls[0].tool_kwargs == {"a": 4, "b": 5}
        assert len({c.tool_id for c in calls}) == 2 and all(c.tool_id for c in calls)
        assert "".join(r.delta or "" for r in responses) == responses[-1].message.content

    def test_single_tool_call_unless_parallel_allowed(self, llm: CloudflareAIGateway) -> None:
        msg = "Use add on 4 and 5 and multiply 6 by 7"
        one = llm.chat_with_tools([ADD, MULTIPLY], user_msg=msg)
        assert len(llm.get_tool_calls_from_response(one)) == 1
        both = llm.chat_with_tools([ADD, MULTIPLY], user_msg=msg, allow_parallel_tool_calls=True)
        assert len(llm.get_tool_calls_from_response(both)) == 2

    def test_tool_required_and_tool_choice(self, llm: CloudflareAIGateway, emu: Emulator) -> None:
        forced = llm.chat_with_tools([ADD], user_msg="Say hello to 2 friends", tool_required=True)
        assert llm.get_tool_calls_from_response(forced)[0].tool_name == "add"
        sent = emu.requests[-1].json["tool_choice"]
        assert sent == "required" or sent.get("type") in ("any", "required")
        named = llm.chat_with_tools([ADD, MULTIPLY], user_msg="2 and 3", tool_choice="multiply")
        assert llm.get_tool_calls_from_response(named)[0].tool_name == "multiply"
        none = llm.chat_with_tools([ADD], user_msg="Please add 2 and 3", tool_choice="none")
        assert llm.get_tool_calls_from_response(none, error_on_no_tool_call=False) == []
        with pytest.raises(ValueError):
            llm.get_tool_calls_from_response(none)

    def test_tool_result_round_trip(self, llm: CloudflareAIGateway) -> None:
        first = llm.chat_with_tools([ADD], user_msg="Please add 2 and 3")
        call = llm.get_tool_calls_from_response(first)[0]
        history = [
            ChatMessage(role=MessageRole.USER, content="Please add 2 and 3"),
            first.message,
            ChatMessage(
                role=MessageRole.TOOL,
                content="5",
                additional_kwargs={"tool_call_id": call.tool_id, "name": "add"},
            ),
        ]
        final = llm.chat(history)
        assert "5" in (final.message.content or "")

    def test_predict_and_call(self, llm: CloudflareAIGateway) -> None:
        response = llm.predict_and_call([ADD, MULTIPLY], user_msg="Please multiply 6 by 7")
        assert response.response == "42"

    async def test_apredict_and_call(self, llm: CloudflareAIGateway) -> None:
        response = await llm.apredict_and_call([ADD], user_msg="Please add 2 and 40")
        assert response.response == "42"

    # ---- agents -----------------------------------------------------------------------------

    @pytest.mark.parametrize("streaming", [True, False])
    async def test_function_agent(self, llm: CloudflareAIGateway, streaming: bool) -> None:
        agent = FunctionAgent(tools=[ADD, MULTIPLY], llm=llm, streaming=streaming)
        result = await agent.run(user_msg="Please multiply 6 by 7")
        text = str(result)
        assert "42" in text and "multiply" in text
        assert [t.tool_name for t in result.tool_calls] == ["multiply"]

    async def test_react_agent(self, llm: CloudflareAIGateway, emu: Emulator) -> None:
        emu.enqueue(
            {"text": 'Thought: I need a tool.\nAction: add\nAction Input: {"a": 2, "b": 3}'},
            {"text": "Thought: I can answer without using any more tools.\nAnswer: It is 5."},
        )
        agent = ReActAgent(tools=[ADD], llm=llm)
        result = await agent.run(user_msg="What is 2 + 3?")
        assert "It is 5." in str(result)
        assert [(t.tool_name, t.tool_output.content) for t in result.tool_calls] == [("add", "5")]

    async def test_agent_workflow_two_tools(self, llm: CloudflareAIGateway) -> None:
        agent = FunctionAgent(
            name="calculator",
            description="Adds and multiplies",
            tools=[ADD, MULTIPLY],
            llm=llm,
            system_prompt="You are a calculator.",
        )
        workflow = AgentWorkflow(agents=[agent], root_agent="calculator")
        result = await workflow.run(user_msg="Use add and multiply on 6 and 7")
        outputs = sorted((t.tool_name, t.tool_output.content) for t in result.tool_calls)
        assert outputs == [("add", "13"), ("multiply", "42")]
        assert "13" in str(result) and "42" in str(result)

    # ---- structured output --------------------------------------------------------------

    PROMPT = PromptTemplate("Write a song called {title} lasting 180 seconds")

    @pytest.mark.parametrize("mode", ["json_schema", "tools"])
    def test_structured_predict(
        self, make_llm: Callable[..., CloudflareAIGateway], mode: str, emu: Emulator
    ) -> None:
        self._modes(mode)
        llm = make_llm(structured_output=mode)
        song = llm.structured_predict(Song, self.PROMPT, title="Sunrise")
        assert isinstance(song, Song) and song.length_seconds == 180
        body = emu.requests[-1].json
        assert ('"json_schema"' in json.dumps(body)) == (mode == "json_schema")
        assert ("tools" in body) == (mode == "tools")

    @pytest.mark.parametrize("mode", ["json_schema", "tools"])
    async def test_astructured_predict(
        self, make_llm: Callable[..., CloudflareAIGateway], mode: str
    ) -> None:
        self._modes(mode)
        llm = make_llm(structured_output=mode)
        song = await llm.astructured_predict(Song, self.PROMPT, title="Sunrise")
        assert isinstance(song, Song) and song.length_seconds == 180

    @pytest.mark.parametrize("mode", ["json_schema", "tools"])
    def test_stream_structured_predict(
        self, make_llm: Callable[..., CloudflareAIGateway], mode: str
    ) -> None:
        self._modes(mode)
        llm = make_llm(structured_output=mode)
        parts = list(llm.stream_structured_predict(Song, self.PROMPT, title="Sunrise"))
        assert parts
        final = parts[-1]
        assert final.length_seconds == 180 and isinstance(final.title, str)

    @pytest.mark.parametrize("mode", ["json_schema", "tools"])
    async def test_astream_structured_predict(
        self, make_llm: Callable[..., CloudflareAIGateway], mode: str
    ) -> None:
        self._modes(mode)
        llm = make_llm(structured_output=mode)
        gen = await llm.astream_structured_predict(Song, self.PROMPT, title="Sunrise")
        parts = [p async for p in gen]
        assert parts and parts[-1].length_seconds == 180

    async def test_as_structured_llm(self, llm: CloudflareAIGateway) -> None:
        sllm = llm.as_structured_llm(Song)
        msgs = [ChatMessage(role="user", content="Write a song called Dawn lasting 200 seconds")]
        response = sllm.chat(msgs)
        assert isinstance(response.raw, Song) and response.raw.length_seconds == 200
        response = await sllm.achat(msgs)
        assert isinstance(response.raw, Song)
        streamed = list(sllm.stream_chat(msgs))
        assert streamed[-1].raw.length_seconds == 200

    # ---- errors and retries --------------------------------------------------------------

    @pytest.mark.parametrize(
        ("fault", "error", "code"),
        [
            ({"kind": "status", "code": 3040, "retry_after": 0}, cf_aig.RateLimitError, 3040),
            ({"kind": "status", "code": 10000}, cf_aig.AuthenticationError, 10000),
            ({"kind": "status", "code": 2016}, cf_aig.GuardrailBlockedError, 2016),
            ({"kind": "status", "status": 500, "retry_after": 0}, cf_aig.ServerError, None),
            ({"kind": "success_false", "code": 3040}, cf_aig.RateLimitError, 3040),
            ({"kind": "malformed_json"}, cf_aig.ResponseDecodeError, None),
        ],
    )
    @pytest.mark.parametrize("endpoint", ["chat", "astream_chat"])
    async def test_typed_errors(
        self,
        make_llm: Callable[..., CloudflareAIGateway],
        emu: Emulator,
        fault: dict[str, Any],
        error: type[Exception],
        code: int | None,
        endpoint: str,
    ) -> None:
        if fault["kind"] in ("malformed_json", "success_false") and "stream" in endpoint:
            fault = (
                {**fault, "kind": "malformed_sse"}
                if fault["kind"] == "malformed_json"
                else {**fault, "kind": "stream_error"}
            )
        llm = make_llm(max_retries=0)
        emu.enqueue(fault)
        with pytest.raises(error) as info:
            await call_endpoint(llm, endpoint)
        err = info.value
        assert isinstance(err, cf_aig.CfAigError)
        if code is not None and (self.stream_error_code or "stream" not in endpoint):
            assert err.code == code
        assert err.log_id
        assert TOKEN not in str(err) and TOKEN not in repr(err)

    def test_retries_retryable_then_succeeds(
        self, make_llm: Callable[..., CloudflareAIGateway], emu: Emulator
    ) -> None:
        llm = make_llm(max_retries=2)
        emu.enqueue(
            {"kind": "status", "code": 3040, "retry_after": 0},
            {"kind": "status", "status": 503, "retry_after": 0},
        )
        assert "Paris" in (llm.chat(USER).message.content or "")
        assert len(emu.requests) == 3

    def test_no_retry_on_auth_error(
        self, make_llm: Callable[..., CloudflareAIGateway], emu: Emulator
    ) -> None:
        emu.enqueue({"kind": "status", "code": 10000})
        with pytest.raises(cf_aig.AuthenticationError):
            make_llm(max_retries=3).chat(USER)
        assert len(emu.requests) == 1

    @pytest.mark.parametrize("endpoint", ["stream_chat", "astream_chat"])
    async def test_stream_cut_is_typed(
        self, make_llm: Callable[..., CloudflareAIGateway], emu: Emulator, endpoint: str
    ) -> None:
        emu.enqueue({"kind": "disconnect", "after": 3})
        with pytest.raises(cf_aig.StreamInterruptedError):
            await call_endpoint(make_llm(max_retries=0), endpoint)

    async def test_timeout_is_typed(
        self, make_llm: Callable[..., CloudflareAIGateway], emu: Emulator
    ) -> None:
        emu.enqueue({"kind": "hang", "seconds": 2})
        with pytest.raises(cf_aig.APITimeoutError):
            await make_llm(max_retries=0, timeout=0.2).achat(USER)

    # ---- gateway options --------------------------------------------------------------------

    def test_gateway_options_field_and_per_call(
        self, make_llm: Callable[..., CloudflareAIGateway], emu: Emulator
    ) -> None:
        llm = make_llm(cache_ttl=600, gateway_metadata={"user": "alice"}, collect_log=True)
        llm.chat(USER, skip_cache=True, event_id="evt-1", extra_headers={"x-trace": "t1"})
        headers = emu.requests[-1].headers
        assert headers["cf-aig-cache-ttl"] == "600"
        assert json.loads(headers["cf-aig-metadata"]) == {"user": "alice"}
        assert headers["cf-aig-skip-cache"] == "true"
        assert headers["cf-aig-event-id"] == "evt-1"
        assert headers["x-trace"] == "t1"
        llm.chat(USER, gateway_options={"cache_ttl": 120})
        headers = emu.requests[-1].headers
        assert headers["cf-aig-cache-ttl"] == "120" and "cf-aig-skip-cache" not in headers

    def test_cache_hit_visible(
        self, make_llm: Callable[..., CloudflareAIGateway], emu: Emulator
    ) -> None:
        llm = make_llm(cache_ttl=600)
        first = llm.chat(USER)
        second = llm.chat(USER)
        assert first.additional_kwargs["gateway"]["cache_status"] == "MISS"
        assert second.additional_kwargs["gateway"]["cache_status"] == "HIT"
        assert second.message.content == first.message.content

    def test_sampling_params_reach_the_wire(
        self, make_llm: Callable[..., CloudflareAIGateway], emu: Emulator
    ) -> None:
        llm = make_llm(temperature=0.2, max_tokens=16)
        response = llm.chat(USER, top_p=0.9)
        body = emu.requests[-1].json
        sent = {**body, **body.get("input", {})} if isinstance(body.get("input"), dict) else body
        assert sent["temperature"] == 0.2 and sent["top_p"] == 0.9
        assert 16 in (
            sent.get(k) for k in ("max_completion_tokens", "max_tokens", "max_output_tokens")
        )
        assert response.additional_kwargs["finish_reason"] in ("length", "max_tokens")

    # ---- configuration and serialization -----------------------------------------------------

    def test_config_from_env(self, emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "env-acc")
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
        monkeypatch.setenv("CLOUDFLARE_AI_GATEWAY_BASE_URL", emu.base_url)
        monkeypatch.setenv("CLOUDFLARE_AI_GATEWAY_ID", "default")
        llm = CloudflareAIGateway(model=self.model, api=self.api, **self.extra)  # type: ignore[arg-type]
        assert llm.chat(USER).message.content
        request = emu.requests[-1]
        assert "/accounts/env-acc/" in request.path and request.bearer_is(TOKEN)
        assert request.headers["cf-aig-gateway-id"] == "default"

    def test_args_override_env(
        self,
        make_llm: Callable[..., CloudflareAIGateway],
        emu: Emulator,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "env-acc")
        make_llm(account_id="arg-acc").chat(USER)
        assert "/accounts/arg-acc/" in emu.requests[-1].path

    def test_missing_credentials_never_use_openai_key(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-us")
        with pytest.raises(cf_aig.MissingCredentialsError):
            CloudflareAIGateway(model=self.model, api=self.api)  # type: ignore[arg-type]

    def test_serialization_has_no_secret_and_round_trips(
        self, make_llm: Callable[..., CloudflareAIGateway], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        llm = make_llm(cache_ttl=600, temperature=0.3)
        data = llm.to_dict()
        for text in (json.dumps(data, default=str), llm.to_json(), repr(llm), str(llm)):
            assert TOKEN not in text
        assert "api_token" not in data
        assert data["class_name"] == "CloudflareAIGateway"
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
        clone = CloudflareAIGateway.from_dict(data)
        assert clone.to_dict() == data
        assert clone.chat(USER).message.content
        clone2 = CloudflareAIGateway.from_json(llm.to_json())
        assert clone2.to_dict() == data

    def test_metadata_from_profile(self, llm: CloudflareAIGateway) -> None:
        profile = cf_aig.get_profile(self.model)
        md = llm.metadata
        assert md.is_chat_model and md.model_name == self.model
        assert md.context_window == profile.context_window
        assert md.num_output == profile.max_output_tokens
        assert md.is_function_calling_model == profile.tool_calling

    # ---- content blocks ------------------------------------------------------------------

    def test_image_url_and_base64_blocks(self, llm: CloudflareAIGateway, emu: Emulator) -> None:
        png = (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
            b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00"
            b"\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
        )
        msg = ChatMessage(
            role="user",
            blocks=[
                TextBlock(text="Describe these pictures"),
                ImageBlock(url="https://example.com/cat.png"),
                ImageBlock(image=png),
            ],
        )
        assert llm.chat([msg]).message.content
        wire = json.dumps(emu.requests[-1].json)
        assert "https://example.com/cat.png" in wire
        assert base64.b64encode(png).decode() in wire
