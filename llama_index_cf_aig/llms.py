"""``CloudflareAIGateway``: a LlamaIndex ``FunctionCallingLLM`` over Cloudflare AI Gateway.

All HTTP goes through the core (:mod:`cf_aig`); this module only merges parameters,
converts types (:mod:`llama_index_cf_aig.convert`) and wires the callbacks.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import Field
from llama_index.core.instrumentation.events.llm import (
    LLMStructuredPredictEndEvent,
    LLMStructuredPredictInProgressEvent,
    LLMStructuredPredictStartEvent,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.prompts import PromptTemplate
from llama_index.core.types import Model, PydanticProgramMode
from llama_index_instrumentation import get_dispatcher
from pydantic import AliasChoices, BaseModel
from pydantic_core import from_json

from cf_aig.fallback import (
    acall_with_fallbacks,
    astream_with_fallbacks,
    call_with_fallbacks,
    model_chain,
    stream_with_fallbacks,
)
from cf_aig.policy import (
    apply_request_policy,
    drop_replaced_limit,
    json_schema_format,
    keeps_signed_thinking,
    normalize_tool_choice,
    structured_output_method,
    tool_names,
)
from cf_aig.profiles import ModelProfile, get_profile
from cf_aig.types import Api, ChatRequest

from ._settings import GatewaySettings, pop_call_options, refuse_unknown_arguments
from .convert import (
    StreamConverter,
    chat_to_completion_response,
    completion_to_response,
    messages_to_canonical,
    tool_selections,
    tool_to_canonical,
)

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

dispatcher = get_dispatcher(__name__)

# Sampling fields copied into every request when set: field name -> request key.
_SAMPLING = (
    ("temperature", "temperature"),
    ("max_tokens", "max_tokens"),  # moved to the endpoint's key by the core policy
    ("top_p", "top_p"),
    ("seed", "seed"),
    ("stop", "stop"),
    ("frequency_penalty", "frequency_penalty"),
    ("presence_penalty", "presence_penalty"),
    ("reasoning_effort", "reasoning_effort"),
    ("thinking", "thinking"),
    ("reasoning", "reasoning"),
    ("effort", "effort"),
    ("logprobs", "logprobs"),
    ("top_logprobs", "top_logprobs"),
)


class CloudflareAIGateway(GatewaySettings, FunctionCallingLLM):
    """Chat, completion, tools and structured output through Cloudflare AI Gateway.

    ``api`` picks the endpoint: ``"chat_completions"`` (``/ai/v1/chat/completions``, any
    provider), ``"run"`` (``/ai/run``), ``"messages"`` (``/ai/v1/messages``) or
    ``"responses"`` (``/ai/v1/responses``). Credentials come from the arguments or
    ``CLOUDFLARE_ACCOUNT_ID`` / ``CLOUDFLARE_API_TOKEN``. Request rules (tool choice, token
    limit key, signed thinking, structured-output method) are the core's
    :mod:`cf_aig.policy`, shared with the LangChain adapter.

    >>> from cf_aig.emulator import Emulator
    >>> with Emulator() as emu:
    ...     llm = CloudflareAIGateway(model="openai/gpt-5.5", account_id="acc",
    ...                               api_token="tok", base_url=emu.base_url)
    ...     print(llm.complete("Say hello").text[:24])
    Here is an emulated answ
    """

    model: str = Field(description="Model id, e.g. 'openai/gpt-5.5' or '@cf/moonshotai/kimi-k2.6'.")
    api: Api = Field(
        default="chat_completions",
        description="Endpoint: 'chat_completions', 'run' (Workers AI), 'messages', 'responses'.",
    )
    temperature: float | None = Field(default=None, description="Sampling temperature.")
    max_tokens: int | None = Field(
        default=None, gt=0, description="Maximum output tokens (default: the model's own)."
    )
    top_p: float | None = Field(default=None, description="Nucleus sampling probability.")
    seed: int | None = Field(default=None, description="Sampling seed.")
    stop: list[str] | None = Field(default=None, description="Stop sequences.")
    frequency_penalty: float | None = Field(default=None, description="Frequency penalty.")
    presence_penalty: float | None = Field(default=None, description="Presence penalty.")
    reasoning_effort: str | None = Field(
        default=None, description="Reasoning effort for reasoning models: low, medium, high."
    )
    thinking: dict[str, Any] | None = Field(
        default=None, validation_alias=AliasChoices("thinking", "thinking_dict"),
        description="Anthropic's {'type': 'enabled', 'budget_tokens': N} (also as "
        "thinking_dict): native on Anthropic's wire, a reasoning effort elsewhere.")
    reasoning: dict[str, Any] | None = Field(
        default=None, description="OpenAI Responses' {'effort', 'summary'}: native on "
        "api='responses', its effort elsewhere (summary only on responses).")
    effort: str | None = Field(
        default=None, description="Anthropic's effort (output_config.effort on Anthropic's "
        "wire, a reasoning effort elsewhere).")
    strict: bool = Field(
        default=False, description="Strict tool schemas: sent as 'strict' inside each "
        "function tool (never as a body key).")
    logprobs: bool | None = Field(
        default=None, description="Return token log-probabilities (ChatResponse.logprobs).")
    top_logprobs: int | None = Field(
        default=None, description="Alternatives per token when logprobs is on (0-20).")
    fallback_models: list[str] = Field(
        default_factory=list, description="Models tried in order when one cannot answer "
        "(capacity, rate limits, timeouts, unknown or retired model, context window, quota); "
        "a stream falls back only before its first chunk. See cf_aig.fallback.")
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra request-body fields sent with every call."
    )
    structured_output: Literal["auto", "json_schema", "tools"] = Field(
        default="auto",
        description="Structured output via native JSON schema, tool calling, or auto "
        "(JSON schema where the model supports it).",
    )

    def __init__(self, **data: Any) -> None:
        refuse_unknown_arguments(type(self), data)
        super().__init__(**data)
        self._check_settings()

    @classmethod
    def class_name(cls) -> str:
        return "CloudflareAIGateway"

    @property
    def profile(self) -> ModelProfile:
        """The core's capability profile of :attr:`model`."""
        return get_profile(self.model)

    @property
    def metadata(self) -> LLMMetadata:
        p = self.profile
        return LLMMetadata(
            context_window=p.context_window,
            num_output=self.max_tokens or p.max_output_tokens,
            is_chat_model=True,
            is_function_calling_model=p.tool_calling,
            model_name=self.model,
            system_role=MessageRole.SYSTEM,
        )

    # ---- request building: the one place parameters merge --------------------------

    def _prepare(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any], model: str | None = None
    ) -> tuple[ChatRequest, dict[str, Any]]:
        call = pop_call_options(kwargs)
        model, api = model or self.model, self.api
        request: dict[str, Any] = {
            "model": model,
            "messages": messages_to_canonical(
                messages, get_profile(model), keeps_signed_thinking(model, api)
            ),
        }
        for field, key in _SAMPLING:
            value = getattr(self, field)
            if value is not None:
                request[key] = value
        if self.additional_kwargs:
            request.update(self.additional_kwargs)
        if kwargs:
            drop_replaced_limit(request, kwargs)
            extra = kwargs.pop("extra_body", None)
            request.update(kwargs)
            if extra:
                request.update(extra)
        apply_request_policy(request, api)
        call["api"] = api
        return request, call  # type: ignore[return-value]

    # ---- chat -------------------------------------------------------------------------

    def _attempts(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> tuple[list[str], Callable[[str], tuple[ChatRequest, dict[str, Any]]]]:
        """The model chain (:attr:`model`, then :attr:`fallback_models`) and the request for
        each: the primary's is built now (bad input fails before sending), a fallback's
        only when it is tried (its own profile and endpoint rules apply)."""
        first = self._prepare(messages, dict(kwargs))

        def prepared(model: str) -> tuple[ChatRequest, dict[str, Any]]:
            return first if model == self.model else self._prepare(messages, dict(kwargs), model)

        return model_chain(self.model, self.fallback_models), prepared

    def _chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        models, prepared = self._attempts(messages, kwargs)

        def one(model: str) -> ChatResponse:
            request, call = prepared(model)
            result = self.client.chat(request, **call)
            return completion_to_response(result.completion, result.info.as_dict())

        return call_with_fallbacks(models, one)

    async def _achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        models, prepared = self._attempts(messages, kwargs)

        async def one(model: str) -> ChatResponse:
            request, call = prepared(model)
            result = await self.async_client.chat(request, **call)
            return completion_to_response(result.completion, result.info.as_dict())

        return await acall_with_fallbacks(models, one)

    def _stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        models, prepared = self._attempts(messages, kwargs)
        client = self.client

        def one(model: str) -> ChatResponseGen:
            request, call = prepared(model)
            with client.chat_stream(request, **call) as stream:
                feed = StreamConverter(stream.info.as_dict()).feed
                for chunk in stream:
                    yield feed(chunk)

        return stream_with_fallbacks(models, one)

    def _astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        models, prepared = self._attempts(messages, kwargs)
        client = self.async_client

        async def one(model: str) -> ChatResponseAsyncGen:
            request, call = prepared(model)
            stream = await client.chat_stream(request, **call)
            try:
                feed = StreamConverter(stream.info.as_dict()).feed
                async for chunk in stream:
                    yield feed(chunk)
            finally:
                await stream.aclose()

        return astream_with_fallbacks(models, one)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._chat(messages, **kwargs)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return await self._achat(messages, **kwargs)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        return self._stream_chat(messages, **kwargs)

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        return self._astream_chat(messages, **kwargs)

    # ---- completion (a chat with one user message; one event pair per call) ------------

    def _prompt_messages(self, prompt: str, formatted: bool) -> list[ChatMessage]:
        if not formatted and self.completion_to_prompt is not None:
            prompt = self.completion_to_prompt(prompt)
        return [ChatMessage(role=MessageRole.USER, content=prompt)]

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return chat_to_completion_response(
            self._chat(self._prompt_messages(prompt, formatted), **kwargs)
        )

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        return chat_to_completion_response(
            await self._achat(self._prompt_messages(prompt, formatted), **kwargs)
        )

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        chats = self._stream_chat(self._prompt_messages(prompt, formatted), **kwargs)

        def gen() -> CompletionResponseGen:
            for response in chats:
                yield chat_to_completion_response(response)

        return gen()

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        chats = self._astream_chat(self._prompt_messages(prompt, formatted), **kwargs)

        async def gen() -> CompletionResponseAsyncGen:
            async for response in chats:
                yield chat_to_completion_response(response)

        return gen()

    # ---- tools --------------------------------------------------------------------------

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        messages = list(chat_history or [])
        if user_msg is not None:
            if isinstance(user_msg, str):
                user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
            messages.append(user_msg)
        strict = kwargs.pop("strict", None)
        strict = self.strict if strict is None else strict
        out: dict[str, Any] = {"messages": messages, **kwargs}
        if tools:
            out["tools"] = [tool_to_canonical(t) for t in tools]
            if strict:  # OpenAI's place for it: inside each function
                for tool in out["tools"]:
                    tool["function"]["strict"] = True
            # Relaxed or refused where the model cannot be forced: cf_aig.policy, in _prepare.
            choice = normalize_tool_choice(
                tool_choice, tool_names(out["tools"]), required=tool_required
            )
            if choice is not None:
                out["tool_choice"] = choice
            out["parallel_tool_calls"] = allow_parallel_tool_calls
        return out

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        if not allow_parallel_tool_calls:
            force_single_tool_call(response)
        return response

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        return tool_selections(response, error_on_no_tool_call)

    # ---- structured output --------------------------------------------------------------

    def _program_kwargs(self) -> dict[str, Any]:
        """LlamaIndex's tool program forces its tool when called, not when streamed; ask for
        the same forced choice on both paths (the core's policy relaxes it where a model
        cannot be forced, or with thinking on Anthropic's wire)."""
        if (self.pydantic_program_mode == PydanticProgramMode.DEFAULT
                and self.metadata.is_function_calling_model):
            return {"tool_choice": "required"}
        return {}

    def _structured_stream_call(
        self, output_cls: type[Model], prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None, **prompt_args: Any,
    ) -> Generator[Any, None, None]:
        from llama_index.core.program.utils import get_program_for_llm

        program = get_program_for_llm(output_cls, prompt, self,
                                      pydantic_program_mode=self.pydantic_program_mode,
                                      **self._program_kwargs())
        return program.stream_call(llm_kwargs=llm_kwargs, **prompt_args)

    async def _structured_astream_call(
        self, output_cls: type[Model], prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None, **prompt_args: Any,
    ) -> AsyncGenerator[Any, None]:
        from llama_index.core.program.utils import get_program_for_llm

        program = get_program_for_llm(output_cls, prompt, self,
                                      pydantic_program_mode=self.pydantic_program_mode,
                                      **self._program_kwargs())
        return await program.astream_call(llm_kwargs=llm_kwargs, **prompt_args)

    def _native_structured(self) -> bool:
        if self.structured_output != "auto":
            return self.structured_output == "json_schema"
        return (
            self.pydantic_program_mode == PydanticProgramMode.DEFAULT
            and structured_output_method(self.model, self.api) == "json_schema"
        )

    def _structured_call(
        self,
        output_cls: type[BaseModel],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None,
        prompt_args: dict[str, Any],
    ) -> tuple[list[ChatMessage], dict[str, Any]]:
        messages = self._extend_messages(prompt.format_messages(llm=self, **prompt_args))
        kwargs = dict(llm_kwargs or {})
        kwargs["response_format"] = _response_format(output_cls)
        return messages, kwargs

    @dispatcher.span
    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        if not self._native_structured():
            return cast(
                Model, super().structured_predict(output_cls, prompt, llm_kwargs, **prompt_args)
            )
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=output_cls, template=prompt, template_args=prompt_args
            )
        )
        messages, kwargs = self._structured_call(output_cls, prompt, llm_kwargs, prompt_args)
        result = parse_model(output_cls, self.chat(messages, **kwargs).message.content or "")
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result

    @dispatcher.span
    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        if not self._native_structured():
            result: Model = await super().astructured_predict(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
            return result
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=output_cls, template=prompt, template_args=prompt_args
            )
        )
        messages, kwargs = self._structured_call(output_cls, prompt, llm_kwargs, prompt_args)
        response = await self.achat(messages, **kwargs)
        result = parse_model(output_cls, response.message.content or "")
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result

    @dispatcher.span
    def stream_structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Any, None, None]:
        if not self._native_structured():
            yield from super().stream_structured_predict(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
            return
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=output_cls, template=prompt, template_args=prompt_args
            )
        )
        messages, kwargs = self._structured_call(output_cls, prompt, llm_kwargs, prompt_args)
        partials = _Partials(output_cls)
        for response in self.stream_chat(messages, **kwargs):
            obj = partials.update(response)
            if obj is not None:
                dispatcher.event(LLMStructuredPredictInProgressEvent(output=obj))
                yield obj
        final = partials.final()
        if final is not partials.last:
            yield final
        dispatcher.event(LLMStructuredPredictEndEvent(output=final))

    @dispatcher.span
    async def astream_structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Any, None]:
        if not self._native_structured():
            return await super().astream_structured_predict(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
        messages, kwargs = self._structured_call(output_cls, prompt, llm_kwargs, prompt_args)

        async def gen() -> AsyncGenerator[Any, None]:
            dispatcher.event(
                LLMStructuredPredictStartEvent(
                    output_cls=output_cls, template=prompt, template_args=prompt_args
                )
            )
            partials = _Partials(output_cls)
            async for response in await self.astream_chat(messages, **kwargs):
                obj = partials.update(response)
                if obj is not None:
                    dispatcher.event(LLMStructuredPredictInProgressEvent(output=obj))
                    yield obj
            final = partials.final()
            if final is not partials.last:
                yield final
            dispatcher.event(LLMStructuredPredictEndEvent(output=final))

        return gen()


def force_single_tool_call(response: ChatResponse) -> None:
    """Keep only the first tool call of ``response`` (blocks and ``additional_kwargs``)."""
    blocks = response.message.blocks
    calls = [b for b in blocks if isinstance(b, ToolCallBlock)]
    if len(calls) > 1:
        response.message.blocks = [b for b in blocks if not isinstance(b, ToolCallBlock)] + [
            calls[0]
        ]
    kw = response.message.additional_kwargs.get("tool_calls")
    if kw and len(kw) > 1:
        response.message.additional_kwargs["tool_calls"] = kw[:1]


def _response_format(output_cls: type[BaseModel]) -> dict[str, Any]:
    """The ``response_format`` asking for ``output_cls``'s JSON schema (core policy)."""
    schema = output_cls.model_json_schema()
    return json_schema_format(output_cls.__name__, schema, description=schema.get("description"))


def _json_text(text: str) -> str:
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if start != -1 and end > start else text


def parse_model(output_cls: type[Model], text: str) -> Model:
    """Validate the model's JSON answer (tolerates surrounding prose or code fences)."""
    try:
        return output_cls.model_validate_json(text)
    except ValueError:
        return output_cls.model_validate_json(_json_text(text))


class _Partials:
    """Partial objects from a growing JSON text (flexible model while incomplete)."""

    def __init__(self, output_cls: type[BaseModel]) -> None:
        from llama_index.core.program.utils import create_flexible_model

        self.output_cls = output_cls
        self.flexible = create_flexible_model(output_cls)
        self.text = ""
        self.last: Any = None

    def update(self, response: ChatResponse) -> Any:
        if not response.delta:
            return None
        self.text = response.message.content or ""
        try:
            data = from_json(_json_text(self.text), allow_partial=True)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        try:
            self.last = self.output_cls.model_validate(data)
        except ValueError:
            self.last = self.flexible.model_validate(data)
        return self.last

    def final(self) -> Any:
        if isinstance(self.last, self.output_cls):
            return self.last
        return parse_model(self.output_cls, self.text)
