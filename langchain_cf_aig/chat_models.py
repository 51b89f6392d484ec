"""``ChatCloudflareAIGateway``: a LangChain chat model over Cloudflare AI Gateway.

All HTTP goes through the core (:mod:`cf_aig`); this module merges parameters in one
place (:meth:`ChatCloudflareAIGateway._prepare`), calls the core client, and converts
with :mod:`langchain_cf_aig._convert`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal, cast

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.exceptions import ModelRefusalError, OutputParserException
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr, model_validator

import cf_aig
from cf_aig import GatewayInfo, GatewayOptions
from cf_aig.fields import pop_call_options
from cf_aig.options import METADATA_MAX_ENTRIES
from cf_aig.policy import (
    apply_request_policy,
    drop_replaced_limit,
    json_schema_format,
    keeps_signed_thinking,
    normalize_tool_choice,
    structured_output_method,
)
from cf_aig.profiles import get_profile
from cf_aig.tokens import estimate_message_tokens, estimate_tokens
from cf_aig.types import Api

from ._convert import ChunkConverter, completion_to_result, messages_to_dicts
from ._settings import GatewaySettings
from .errors import to_langchain_error

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool
    from pydantic import SecretStr

_SAMPLING = (
    "temperature",
    "top_p",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "reasoning_effort",
    "thinking",
    "reasoning",
    "effort",
    "n",
    "logprobs",
    "top_logprobs",
)
# Per-call kwargs that go into the request body as they are.
_REQUEST_KEYS = frozenset(
    {
        *_SAMPLING,
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "logit_bias",
        "user",
        "top_k",
        "repetition_penalty",
        "verbosity",
        "modalities",
        "prediction",
        "service_tier",
        "store",
        "cache_control",  # Anthropic's automatic caching, per call as ChatAnthropic takes it
    }
)
# Per-call kwargs LangChain itself may pass and that mean nothing on the wire.
_IGNORED = frozenset({"stream", "ls_structured_output_format", "structured_output_format"})


@dataclass(slots=True)
class _Call:
    """Everything one call sends: canonical request, endpoint and per-call transport."""

    request: dict[str, Any]
    api: Api
    options: GatewayOptions | None
    headers: dict[str, str] | None
    transport: dict[str, Any]
    """``timeout`` and the transport limits given for this call."""
    include_usage: bool

    def indexed_blocks(self, v1: bool) -> bool:
        """Stream text as indexed blocks: for ``output_version="v1"``, and whenever
        provider-run tools are offered (their citations then merge into the text block,
        as ChatOpenAI's do)."""
        return v1 or any(isinstance(t, Mapping) and t.get("type") not in (None, "function")
                         for t in self.request.get("tools") or ())

    @property
    def args(self) -> dict[str, Any]:
        """Keyword arguments of the core call (``chat``/``chat_stream``)."""
        return {"api": self.api, "options": self.options, "headers": self.headers,
                **self.transport}


def _wrap(exc: BaseException) -> BaseException:
    return to_langchain_error(exc)


class ChatCloudflareAIGateway(GatewaySettings, BaseChatModel):
    """Chat model for Cloudflare AI Gateway's unified API (chat completions or ``/ai/run``).

    Any model of the gateway's catalogue works: third-party (``openai/gpt-5.5``,
    ``anthropic/claude-sonnet-4.5``...) and Workers AI (``@cf/moonshotai/kimi-k2.6``).
    Credentials come from arguments or ``CLOUDFLARE_ACCOUNT_ID`` / ``CLOUDFLARE_API_TOKEN``.
    The anchors' names work too: ``thinking``, ``reasoning``, ``effort`` (each endpoint's
    native form, :mod:`cf_aig.reasoning`) and ``request_timeout``. For model fallback,
    compose ``model.with_fallbacks([other_model])``; the core's :mod:`cf_aig.fallback` (used
    by LlamaIndex's ``fallback_models``) decides which errors another model can cure.

    Example (against the local emulator):

    >>> from cf_aig.emulator import Emulator
    >>> with Emulator() as emu:
    ...     llm = ChatCloudflareAIGateway(model="openai/gpt-5.5", account_id="acc",
    ...                                   api_token="tok", base_url=emu.base_url, cache_ttl=600)
    ...     msg = llm.invoke("Hello there")
    ...     again = llm.invoke("Hello there")
    ...     streamed = "".join(c.text for c in llm.stream("Hello there", skip_cache=True))
    >>> msg.usage_metadata["total_tokens"] > 0, again.response_metadata["gateway"]["cache_status"]
    (True, 'HIT')
    >>> streamed == msg.text
    True
    """

    model_config = GatewaySettings.model_config  # the framework base must not override it

    if TYPE_CHECKING:  # the signature type checkers see (with or without pydantic's plugin)

        def __init__(
            self,
            *,
            model: str = ...,
            model_name: str = ...,
            api: Api = ...,
            account_id: str | None = ...,
            api_token: str | SecretStr | None = ...,
            api_key: str | SecretStr | None = ...,
            base_url: str | None = ...,
            gateway_id: str | None = ...,
            temperature: float | None = ...,
            max_tokens: int | None = ...,
            max_completion_tokens: int | None = ...,
            stop: list[str] | str | None = ...,
            stop_sequences: list[str] | str | None = ...,
            **kwargs: Any,  # every other field and gateway option, validated at run time
        ) -> None: ...

    model: str = Field(alias="model_name")
    """Model id, e.g. ``openai/gpt-5.5`` or ``@cf/moonshotai/kimi-k2.6``."""
    api: Api = "chat_completions"
    """Endpoint: ``chat_completions`` (``/ai/v1/chat/completions``), ``run`` (Workers AI
    ``/ai/run``), ``messages`` (``/ai/v1/messages``) or ``responses`` (``/ai/v1/responses``)."""

    temperature: float | None = None
    """Sampling temperature."""
    max_tokens: int | None = Field(default=None, alias="max_completion_tokens")
    """Output token limit (sent as ``max_completion_tokens`` to OpenAI models)."""
    top_p: float | None = None
    """Nucleus sampling mass."""
    stop: list[str] | str | None = Field(default=None, alias="stop_sequences")
    """Stop sequences."""
    seed: int | None = None
    """Sampling seed."""
    frequency_penalty: float | None = None
    """Penalty for frequent tokens."""
    presence_penalty: float | None = None
    """Penalty for tokens already present."""
    reasoning_effort: str | None = None
    """Reasoning effort (``low``/``medium``/``high``) for reasoning models."""
    thinking: dict[str, Any] | None = None
    """ChatAnthropic's ``{"type": "enabled", "budget_tokens": N}``: native on Anthropic's
    wire, a reasoning effort elsewhere (:mod:`cf_aig.reasoning`)."""
    reasoning: dict[str, Any] | None = None
    """ChatOpenAI's Responses ``{"effort": ..., "summary": ...}``: native on
    ``api="responses"``, its effort elsewhere (``summary`` only on responses)."""
    effort: str | None = None
    """ChatAnthropic's ``effort`` (``output_config.effort`` on Anthropic's wire, a reasoning
    effort elsewhere)."""
    n: int | None = None
    """Number of choices (invoke only)."""
    logprobs: bool | None = None
    """Return token log-probabilities."""
    top_logprobs: int | None = None
    """Alternatives per token when ``logprobs`` is on."""

    streaming: bool = False
    """Use the streaming endpoint for ``invoke`` too."""
    stream_usage: bool = True
    """Report token usage on the last streamed chunk."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra request-body fields for every call (merged before ``extra_body``)."""
    extra_body: dict[str, Any] | None = None
    """Extra request-body fields for every call (sent as they are)."""

    send_run_id: bool = False
    """Send the LangChain run id as ``cf-aig-event-id`` (find the gateway log from a trace)."""
    metadata_to_gateway: bool | list[str] = False
    """Copy run metadata (all scalar entries, or these keys) and tags into ``cf-aig-metadata``,
    after ``gateway_metadata``, up to the gateway's 5 entries."""

    _params: dict[str, Any] | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _no_unknown(cls, values: Any) -> Any:
        if isinstance(values, Mapping):
            allowed = set(cls.model_fields) | {
                f.alias for f in cls.model_fields.values() if f.alias
            } | {  # validation aliases (request_timeout for timeout...)
                c for f in cls.model_fields.values()
                for c in getattr(f.validation_alias, "choices", ()) if isinstance(c, str)
            }
            unknown = sorted(set(values) - allowed)
            if unknown:
                raise ValueError(
                    f"unknown argument(s) {unknown} for {cls.__name__}; request-body fields "
                    "go in model_kwargs=/extra_body=, gateway options are fields of their own"
                )
        return values

    @model_validator(mode="after")
    def _validate(self) -> ChatCloudflareAIGateway:
        self._check_settings()
        if self.n is not None and self.n > 1 and self.streaming:
            raise ValueError("n > 1 cannot be combined with streaming=True")
        return self

    def _reset(self) -> None:
        super()._reset()
        if getattr(self, "__pydantic_private__", None) is not None:
            self._params = None

    # ------------------------------------------------------------------ LangChain hooks

    @property
    def _llm_type(self) -> str:
        return "cloudflare-ai-gateway-chat"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_cf_aig", "chat_models"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_token": "CLOUDFLARE_API_TOKEN",
                "provider_api_key": "CLOUDFLARE_AI_GATEWAY_PROVIDER_KEY"}

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "api": self.api, **self._base_params()}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="cloudflare",
            ls_model_name=kwargs.get("model") or self.model,
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        stops = stop or kwargs.get("stop") or self.stop
        if stops:
            params["ls_stop"] = [stops] if isinstance(stops, str) else list(stops)
        return params

    def _resolve_model_profile(self) -> ModelProfile | None:
        return model_profile(self.model)

    @property
    def core_profile(self) -> cf_aig.ModelProfile:
        """The core's capability profile of :attr:`model`."""
        return get_profile(self.model)

    # ------------------------------------------------------------------ request building

    def _base_params(self) -> dict[str, Any]:
        """Body fields fixed by the instance (computed once)."""
        params = self._params
        if params is None:
            params = {k: getattr(self, k) for k in _SAMPLING if getattr(self, k) is not None}
            if self.max_tokens is not None:
                params["max_tokens"] = self.max_tokens
            if self.stop:
                params["stop"] = self.stop
            params.update(self.model_kwargs)
            params.update(self.extra_body or {})
            self._params = params
        return params

    def _prepare(
        self,
        messages: Sequence[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None,
    ) -> _Call:
        """Merge instance settings and per-call kwargs into one :class:`_Call`."""
        model = kwargs.pop("model", None) or self.model
        api = kwargs.pop("api", None) or self.api
        headers = kwargs.pop("headers", None) or kwargs.pop("extra_headers", None)
        extra_body = kwargs.pop("extra_body", None)
        include_usage = kwargs.pop("stream_usage", None)
        transport = pop_call_options(kwargs)  # gateway options, timeout, transport limits
        options: GatewayOptions | None = transport.pop("options", None)
        if "headers" in transport:  # both headers= and extra_headers= given: both are sent
            headers = {**transport.pop("headers"), **(headers or {})}
        request: dict[str, Any] = {"model": model}
        request.update(self._base_params())
        drop_replaced_limit(request, kwargs)
        for key in list(kwargs):
            if key in _REQUEST_KEYS:
                value = kwargs.pop(key)
                if value is not None:
                    request[key] = value
            elif key in _IGNORED:
                kwargs.pop(key)
        if kwargs:
            raise cf_aig.ConfigurationError(
                f"unknown per-call argument(s) {sorted(kwargs)}; request-body fields go in "
                "extra_body=, gateway options use their own names (see OPTION_NAMES)"
            )
        if extra_body:
            request.update(extra_body)
        if stop:
            request["stop"] = stop
        elif not request.get("stop"):
            request.pop("stop", None)
        request["messages"] = messages_to_dicts(messages, keeps_signed_thinking(model, api))
        apply_request_policy(request, api)
        if run_manager is not None and (self.send_run_id or self.metadata_to_gateway):
            options = self._correlate(options, run_manager)
        return _Call(
            request,
            api,
            options,
            headers,
            transport,
            self.stream_usage if include_usage is None else bool(include_usage),
        )

    def _correlate(
        self,
        options: GatewayOptions | None,
        run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun,
    ) -> GatewayOptions:
        """Add the run id (``cf-aig-event-id``) and run metadata/tags (``cf-aig-metadata``)."""
        merged = self.gateway_options().merge(options)
        changes: dict[str, Any] = {}
        if self.send_run_id and merged.event_id is None:
            changes["event_id"] = str(run_manager.run_id)
        if self.metadata_to_gateway:
            meta: dict[str, Any] = dict(merged.metadata or {})
            wanted = self.metadata_to_gateway
            for key, value in (run_manager.metadata or {}).items():
                if len(meta) >= METADATA_MAX_ENTRIES:
                    break
                if key in meta or key.startswith(("ls_", "cf.")) or not key:
                    continue
                if isinstance(wanted, list) and key not in wanted:
                    continue
                if isinstance(value, (str, int, float, bool)):
                    meta[key] = value
            tags = run_manager.tags
            if (
                tags
                and "tags" not in meta
                and len(meta) < METADATA_MAX_ENTRIES
                and (not isinstance(wanted, list) or "tags" in wanted)
            ):
                meta["tags"] = ",".join(tags)
            if meta:
                changes["metadata"] = meta
        return merged.merge(changes) if changes else merged

    # ------------------------------------------------------------------ calls

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._prepare(messages, stop, kwargs, run_manager)
        try:
            result = self.client.chat(call.request, **call.args)  # type: ignore[arg-type]
        except cf_aig.CfAigError as exc:
            raise _wrap(exc) from exc
        return completion_to_result(result.completion, result.info)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._prepare(messages, stop, kwargs, run_manager)
        try:
            result = await self.async_client.chat(call.request, **call.args)  # type: ignore[arg-type]
        except cf_aig.CfAigError as exc:
            raise _wrap(exc) from exc
        return completion_to_result(result.completion, result.info)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        call = self._prepare(messages, stop, kwargs, run_manager)
        try:
            stream = self.client.chat_stream(call.request, **call.args)  # type: ignore[arg-type]
            with stream:
                conv = ChunkConverter(stream.info, call.include_usage,
                                      call.indexed_blocks(self.output_version == "v1"))
                for raw in stream:
                    chunk = conv.feed(raw)
                    if chunk is not None:
                        yield chunk
                last = conv.finish()
        except cf_aig.CfAigError as exc:
            raise _wrap(exc) from exc
        yield last  # LangChain reports each chunk to the callbacks itself

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        call = self._prepare(messages, stop, kwargs, run_manager)
        try:
            stream = await self.async_client.chat_stream(call.request, **call.args)  # type: ignore[arg-type]
            async with stream:
                conv = ChunkConverter(stream.info, call.include_usage,
                                      call.indexed_blocks(self.output_version == "v1"))
                async for raw in stream:
                    chunk = conv.feed(raw)
                    if chunk is not None:
                        yield chunk
                last = conv.finish()
        except cf_aig.CfAigError as exc:
            raise _wrap(exc) from exc
        yield last

    # ------------------------------------------------------------------ tools & structure

    def get_num_tokens(self, text: str) -> int:
        """Estimated tokens of ``text`` (:mod:`cf_aig.tokens`; no tokenizer download, never
        an ``ImportError``). The exact count of a call is its ``usage_metadata``."""
        return estimate_tokens(text)

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Estimated prompt tokens of ``messages`` and ``tools`` (:mod:`cf_aig.tokens`)."""
        from langchain_core.utils.function_calling import convert_to_openai_tool

        formatted = [dict(t) if isinstance(t, Mapping) else convert_to_openai_tool(t)
                     for t in tools or ()]
        return estimate_message_tokens(messages_to_dicts(messages), formatted)

    def bind_tools(
        self,
        tools: Sequence[Mapping[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | bool | Mapping[str, Any] | None = None,
        parallel_tool_calls: bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (any LangChain tool form).

        ``tool_choice``: ``"auto"``, ``"none"``, ``"any"``/``"required"``/``True`` (some
        tool), a tool name, or a Chat Completions dict. ``strict`` asks for exact schemas.
        """
        from langchain_core.utils.function_calling import convert_to_openai_tool

        formatted = [  # provider-run tools ({"type": "web_search_preview"}...) go untouched
            dict(t) if isinstance(t, Mapping) and t.get("type") not in (None, "function", "custom")
            else convert_to_openai_tool(t, strict=strict) for t in tools]
        for tool, out in zip(tools, formatted, strict=True):  # Anthropic prompt-cache marks
            if isinstance(tool, Mapping) and tool.get("cache_control") and "function" in out:
                out["cache_control"] = dict(tool["cache_control"])
        names = [t["function"]["name"] for t in formatted if "function" in t]
        choice = normalize_tool_choice(tool_choice, names)
        if choice is not None:
            kwargs["tool_choice"] = choice
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: Mapping[str, Any] | type | None = None,
        *,
        method: Literal["json_schema", "function_calling", "json_mode"] | None = None,
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Model whose output is parsed into ``schema`` (Pydantic, TypedDict or JSON schema).

        ``method`` defaults to the core's choice for the model and endpoint
        (:func:`cf_aig.policy.structured_output_method`: ``json_schema`` where both carry
        it, else ``function_calling``, else ``json_mode``). Streaming yields partial
        objects as the JSON grows (dicts; Pydantic objects once they validate), then the
        complete one, like ChatOpenAI's.
        """
        if kwargs:
            raise ValueError(f"unsupported argument(s) {sorted(kwargs)}")
        from langchain_core.runnables import RunnableMap, RunnablePassthrough
        from langchain_core.utils.function_calling import convert_to_openai_tool
        from langchain_core.utils.pydantic import is_basemodel_subclass

        if method is None:
            method = structured_output_method(self.model, self.api)
        if schema is None and method != "json_mode":
            raise ValueError(f"schema is required for method={method!r}")
        pydantic_cls = (
            schema if isinstance(schema, type) and is_basemodel_subclass(schema) else None
        )
        ls_format = {
            "kwargs": {"method": method, "strict": strict},
            "schema": schema,
        }
        llm: Runnable[LanguageModelInput, Any]
        tool_name: str | None = None  # the forced tool whose arguments are the object
        if method == "function_calling":
            tool = convert_to_openai_tool(schema, strict=strict)  # type: ignore[arg-type]
            name = tool_name = tool["function"]["name"]
            llm = self.bind_tools(  # the core relaxes the forced choice where it cannot be
                [tool],
                tool_choice=name,
                parallel_tool_calls=False,
                strict=strict,
                ls_structured_output_format=ls_format,
            )
            parse: Callable[[Any], Any] = _tool_parser(name, pydantic_cls)
        elif method == "json_schema":
            fn = convert_to_openai_tool(schema, strict=strict)["function"]  # type: ignore[arg-type]
            llm = self.bind(
                response_format=json_schema_format(
                    fn["name"], fn["parameters"], description=fn.get("description"),
                    strict=strict),
                ls_structured_output_format=ls_format,
            )
            parse = _json_parser(pydantic_cls)
        elif method == "json_mode":
            llm = self.bind(
                response_format={"type": "json_object"},
                ls_structured_output_format=ls_format,
            )
            parse = _json_parser(pydantic_cls)
        else:
            raise ValueError(f"unknown method {method!r}")
        parser: Runnable[Any, Any] = _parser_class()(
            final=parse, partial=_partial_reader(method, tool_name, pydantic_cls))
        if not include_raw:
            return llm | parser
        parsed = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        ).with_fallbacks(
            [RunnablePassthrough.assign(parsed=lambda _: None)], exception_key="parsing_error"
        )
        return RunnableMap(raw=llm) | parsed

    # ------------------------------------------------------------------ gateway helpers

    def send_feedback(
        self,
        message_or_log_id: BaseMessage | str,
        feedback: int | None = 1,
        score: float | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send feedback (1 / -1 / 0), a score and/or metadata for a response's gateway log."""
        log_id = log_id_of(message_or_log_id)
        try:
            return self.client.patch_log(log_id, feedback=feedback, score=score, metadata=metadata)
        except cf_aig.CfAigError as exc:
            raise _wrap(exc) from exc

    async def asend_feedback(
        self,
        message_or_log_id: BaseMessage | str,
        feedback: int | None = 1,
        score: float | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Any:
        """Async :meth:`send_feedback`."""
        log_id = log_id_of(message_or_log_id)
        try:
            return await self.async_client.patch_log(
                log_id, feedback=feedback, score=score, metadata=metadata
            )
        except cf_aig.CfAigError as exc:
            raise _wrap(exc) from exc


def log_id_of(message_or_log_id: BaseMessage | str) -> str:
    """The gateway log id of a response message (or the id itself)."""
    if isinstance(message_or_log_id, str):
        return message_or_log_id
    gateway = message_or_log_id.response_metadata.get("gateway") or {}
    log_id = gateway.get("log_id") if isinstance(gateway, Mapping) else None
    if not log_id:
        raise ValueError("this message carries no gateway log id (response_metadata.gateway)")
    return str(log_id)


def gateway_info(message: BaseMessage) -> GatewayInfo:
    """The :class:`cf_aig.GatewayInfo` of a response message."""
    data = message.response_metadata.get("gateway") or {}
    return GatewayInfo(**data)


def model_profile(model: str) -> ModelProfile:
    """The core profile of ``model`` as LangChain's ``ModelProfile``."""
    p = get_profile(model)
    return ModelProfile(
        max_input_tokens=p.context_window,
        max_output_tokens=p.max_output_tokens,
        text_inputs=True,
        text_outputs=True,
        image_inputs=p.vision,
        image_url_inputs=p.vision,
        pdf_inputs=p.pdf_input,
        reasoning_output=p.reasoning,
        tool_calling=p.tool_calling,
        tool_choice=p.tool_choice,
        tool_call_streaming=p.tool_calling,
        structured_output=p.json_schema,
    )


def _check_refusal(message: Any) -> None:
    if isinstance(message, AIMessage) and message.additional_kwargs.get("refusal"):
        raise ModelRefusalError(
            f"Model refused: {message.additional_kwargs['refusal']}", raw_message=message
        )


def _validate(obj: Any, pydantic_cls: Any, text: str) -> Any:
    if pydantic_cls is None:
        return obj
    try:
        if hasattr(pydantic_cls, "model_validate"):
            return pydantic_cls.model_validate(obj)
        return pydantic_cls.parse_obj(obj)
    except Exception as exc:
        raise OutputParserException(
            f"output does not match {pydantic_cls.__name__}: {exc}", llm_output=text
        ) from exc


class _Progress:
    """The structured-output stream's state, shared by the sync and async transforms: the
    chunks so far, and the last object yielded (a new one is yielded only when it differs)."""

    __slots__ = ("acc", "final", "last", "partial")

    def __init__(self, partial: Callable[[Any], Any], final: Callable[[Any], Any]) -> None:
        self.partial, self.final = partial, final
        self.acc: Any = None
        self.last: Any = None

    def feed(self, chunk: Any) -> list[Any]:
        self.acc = chunk if self.acc is None else self.acc + chunk
        obj = self.partial(self.acc)
        if obj is None or obj == self.last:
            return []
        self.last = obj
        return [obj]

    def finish(self) -> list[Any]:
        if self.acc is None:
            return []
        done = self.final(self.acc)
        return [] if done == self.last else [done]


@lru_cache(maxsize=1)
def _parser_class() -> type[Any]:
    """The structured-output parser class (LangChain's parser base loads on first use)."""
    from langchain_core.output_parsers.transform import BaseCumulativeTransformOutputParser
    from langchain_core.outputs import Generation

    class _StructuredOutputParser(BaseCumulativeTransformOutputParser[Any]):
        """Invoke: the strict parse of the whole answer. Stream: a partial object each time the
        JSON (or the forced tool's arguments) grows into a new value, then the strict parse."""

        final: Callable[[Any], Any]
        partial: Callable[[Any], Any]

        @property
        def _type(self) -> str:
            return "cf_aig_structured_output"

        def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
            message = getattr(result[0], "message", None) or result[0].text
            return self.partial(message) if partial else self.final(message)

        def parse(self, text: str) -> Any:
            return self.final(text)

        def _transform(self, input: Iterator[str | BaseMessage]) -> Iterator[Any]:
            progress = _Progress(self.partial, self.final)
            for chunk in input:
                yield from progress.feed(chunk)
            yield from progress.finish()

        async def _atransform(self, input: AsyncIterator[str | BaseMessage]) -> AsyncIterator[Any]:
            progress = _Progress(self.partial, self.final)
            async for chunk in input:
                for obj in progress.feed(chunk):
                    yield obj
            for obj in progress.finish():
                yield obj

    return _StructuredOutputParser


def _partial_reader(method: str, tool: str | None, pydantic_cls: Any) -> Callable[[Any], Any]:
    """The object a partial answer holds so far (``None``: nothing new to show)."""
    from langchain_core.utils.json import parse_partial_json

    def read(message: Any) -> Any:
        if tool is not None:
            calls = getattr(message, "tool_calls", None) or []
            data = next((c["args"] for c in calls if c.get("name") == tool), None)
        else:
            text = message.text if isinstance(message, BaseMessage) else str(message)
            body = text.strip()
            if body.startswith("```"):
                body = body.strip("`").removeprefix("json").strip()
            try:
                data = parse_partial_json(body) if body else None
            except ValueError:
                return None
        if not isinstance(data, dict) or not data:
            return None
        if pydantic_cls is None:
            return data
        try:
            return _validate(data, pydantic_cls, "")
        except (OutputParserException, ValueError):
            return None  # not yet a valid object

    return read


def _json_parser(pydantic_cls: Any) -> Callable[[Any], Any]:
    def parse(message: Any) -> Any:
        _check_refusal(message)
        text = message.text if isinstance(message, BaseMessage) else str(message)
        body = text.strip()
        if body.startswith("```"):
            body = body.strip("`").removeprefix("json").strip()
        try:
            obj = json.loads(body)
        except ValueError as exc:
            raise OutputParserException(f"invalid JSON: {exc}", llm_output=text) from exc
        return _validate(obj, pydantic_cls, text)

    return parse


def _tool_parser(name: str, pydantic_cls: Any) -> Callable[[Any], Any]:
    def parse(message: Any) -> Any:
        _check_refusal(message)
        msg = cast(AIMessage, message)
        for call in msg.tool_calls:
            if call["name"] == name:
                return _validate(call["args"], pydantic_cls, json.dumps(call["args"]))
        bad = [c for c in msg.invalid_tool_calls if c.get("name") == name]
        if bad:
            raise OutputParserException(
                f"invalid tool arguments: {bad[0].get('error')}", llm_output=bad[0].get("args")
            )
        return None

    return parse


__all__ = ["ChatCloudflareAIGateway", "gateway_info", "log_id_of", "model_profile"]
