"""Typed call plans for each endpoint (sans-I/O): chat, run, embeddings, logs.

A plan method validates its arguments, builds the ``httpx.Request`` and returns the
retrying :meth:`~cf_aig._protocol.Core.call` plan with its interpreter. Nothing here
does I/O; :mod:`cf_aig.client` drives the plans, sync or async.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from pydantic_core import to_json

from ._ids import segment
from ._pool import DEADLINE_EXTENSION
from ._protocol import (
    Call,
    CallPolicy,
    Core,
    info_of,
    is_json,
    is_sse,
)
from .accumulate import ChunkAccumulator
from .dialects import Dialect, get_dialect
from .dialects._common import completion_to_chunks, loads, unwrap_envelope
from .dialects.workers_ai import run_body, run_path
from .embeddings import (
    check_embedding_args,
    check_sizes,
    embedding_api,
    embedding_body,
    embedding_path,
    embedding_result,
)
from .errors import ConfigurationError, ResponseDecodeError
from .options import GatewayInfo, validate_metadata
from .profiles import get_profile
from .results import ChatResult, EmbeddingResult, RunResult
from .sse import SSEDecoder
from .streams import Opened, RawEvents
from .types import Api, ChatCompletion, ChatCompletionChunk, ChatRequest

EmbedPart = tuple[list[list[float]], dict[str, Any], GatewayInfo]
"""One embeddings batch: its vectors, its usage, its gateway info."""


def _check_chat_request(request: Any) -> str:
    if not isinstance(request, Mapping):
        raise ConfigurationError(f"request must be a dict, got {type(request).__name__}")
    model = request.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ConfigurationError(
            "request['model'] must be a non-empty model name, e.g. "
            "'openai/gpt-5.5' or '@cf/moonshotai/kimi-k2.6'"
        )
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ConfigurationError("request['messages'] must be a non-empty list of messages")
    return model


def _json_schema(request: Mapping[str, Any]) -> bool:
    fmt = request.get("response_format")
    return isinstance(fmt, Mapping) and fmt.get("type") in ("json_schema", "json_object")


def _as_completion(dialect: Dialect, model: str, response: httpx.Response, body: bytes,
                   policy: CallPolicy) -> ChatCompletion:
    if is_sse(response):  # a stream although none was asked: decode and merge it
        sse, acc = SSEDecoder(policy.max_event_bytes), ChunkAccumulator()
        state = dialect.stream_state(model)
        for name, data in [*sse.feed(body), *sse.flush()]:
            for chunk in state.event(name, data):
                acc.add(chunk)
        for chunk in state.finish():
            acc.add(chunk)
        return acc.completion()
    completion = dialect.parse(loads(body, "response body"))  # parse() raises error bodies
    if not completion.get("model"):
        completion["model"] = model
    return completion


def unwrap_v4(response: httpx.Response, body: bytes | None) -> Any:
    """A JSON body's ``result`` (v4 envelope removed); error envelopes raise."""
    assert body is not None
    return unwrap_envelope(loads(body, "response body"), response.status_code)


def _deadline(response: httpx.Response) -> float | None:
    value = response.request.extensions.get(DEADLINE_EXTENSION)
    return value if isinstance(value, float) else None


def _as_dict(response: httpx.Response, body: bytes | None) -> dict[str, Any]:
    obj = unwrap_v4(response, body)
    if not isinstance(obj, dict):
        raise ResponseDecodeError(f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _as_list(response: httpx.Response, body: bytes | None) -> list[dict[str, Any]]:
    obj = unwrap_v4(response, body)
    if not isinstance(obj, list):
        raise ResponseDecodeError(f"expected a JSON list, got {type(obj).__name__}")
    return obj


class Endpoints(Core):
    """Request building and response interpretation of every endpoint (no I/O)."""

    def _chat_request(self, request: ChatRequest, dialect: Dialect, model: str, stream: bool,
                      call: Mapping[str, Any]) -> tuple[httpx.Request, CallPolicy]:
        headers, policy = self.resolve(call)
        http_request = self.chat_request(
            dialect, model, body=dialect.build(request, stream=stream), headers=headers)
        return http_request, policy

    def chat_plan(self, request: ChatRequest, api: Api,
                  call: Mapping[str, Any]) -> Call[ChatResult]:
        """Plan of one non-streaming chat completion."""
        model = _check_chat_request(request)
        dialect = get_dialect(api)
        http_request, policy = self._chat_request(request, dialect, model, False, call)

        def interpret(response: httpx.Response, body: bytes | None) -> ChatResult:
            assert body is not None
            return ChatResult(_as_completion(dialect, model, response, body, policy),
                              info_of(response))

        return self.call(http_request, interpret, policy=policy)

    def chat_stream_plan(self, request: ChatRequest, api: Api,
                         call: Mapping[str, Any]) -> Call[Opened[ChatCompletionChunk]]:
        """Plan that opens a chat stream (retries happen before the first byte)."""
        model = _check_chat_request(request)
        dialect = get_dialect(api)
        # e.g. Workers AI: JSON mode cannot stream (error 5023): ask whole, replay as chunks
        wire_stream = not (_json_schema(request)
                           and not dialect.capabilities(model).stream_with_schema)
        http_request, policy = self._chat_request(request, dialect, model, wire_stream, call)

        def interpret(response: httpx.Response,
                      body: bytes | None) -> Opened[ChatCompletionChunk]:
            info = info_of(response)
            if body is None:
                return Opened(info, response, dialect.stream_state(model), policy=policy,
                              deadline=_deadline(response))
            completion = _as_completion(dialect, model, response, body, policy)
            return Opened(info, pre=completion_to_chunks(completion), policy=policy)

        return self.call(http_request, interpret, stream=wire_stream, policy=policy)

    def _run_request(self, model: str, input: Any, stream: bool, unified: bool | None,
                     call: Mapping[str, Any]) -> tuple[httpx.Request, CallPolicy]:
        if not isinstance(model, str) or not model.strip():
            raise ConfigurationError("model must be a non-empty model name")
        if not isinstance(input, Mapping):
            raise ConfigurationError(f"input must be a dict, got {type(input).__name__}")
        payload: dict[str, Any] = dict(input)
        if stream:
            payload["stream"] = True
        self.check_model(model)
        headers, policy = self.resolve(call)
        http_request = self.build_request(
            "POST", run_path(model, unified), body=run_body(model, payload, unified),
            headers=headers)
        return http_request, policy

    def run_plan(self, model: str, input: Any, unified: bool | None,
                 call: Mapping[str, Any]) -> Call[RunResult]:
        """Plan of one ``/ai/run`` call answered whole (JSON, or bytes if binary)."""
        http_request, policy = self._run_request(model, input, False, unified, call)

        def interpret(response: httpx.Response, raw: bytes | None) -> RunResult:
            assert raw is not None
            info = info_of(response)
            if is_json(response):
                return RunResult(unwrap_v4(response, raw), info)
            ctype = response.headers.get("content-type", "application/octet-stream")
            return RunResult(raw, info, ctype)

        return self.call(http_request, interpret, policy=policy)

    def run_stream_plan(self, model: str, input: Any, unified: bool | None,
                        call: Mapping[str, Any]) -> Call[Opened[dict[str, Any]]]:
        """Plan that opens an ``/ai/run`` stream of raw JSON events."""
        http_request, policy = self._run_request(model, input, True, unified, call)

        def interpret(response: httpx.Response, raw: bytes | None) -> Opened[dict[str, Any]]:
            info = info_of(response)
            if raw is None:
                return Opened(info, response, RawEvents(), policy=policy,
                              deadline=_deadline(response))
            if is_json(response):
                return Opened(info, pre=[unwrap_v4(response, raw)], policy=policy)
            ctype = response.headers.get("content-type", "application/octet-stream")
            raise ResponseDecodeError(f"expected a stream, got {ctype}")

        return self.call(http_request, interpret, stream=True, policy=policy)

    def embed_plans(
        self,
        model: str,
        texts: Sequence[str],
        api: str | None,
        batch_size: int | None,
        dimensions: int | None,
        encoding_format: str | None,
        call: Mapping[str, Any],
    ) -> list[Call[EmbedPart]]:
        """One plan per batch of ``texts``; merge their parts with :meth:`merge_embeddings`."""
        if not isinstance(model, str) or not model.strip():
            raise ConfigurationError("model must be a non-empty embedding model name")
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise ConfigurationError("texts must be a list of strings")
        api = embedding_api(model, api)
        check_embedding_args(model, api, dimensions, encoding_format)
        size = batch_size or get_profile(model).embedding_batch_size
        if size < 1:
            raise ConfigurationError(f"batch_size must be >= 1, got {size}")
        headers, policy = self.resolve(call)

        def interpret(response: httpx.Response, body: bytes | None) -> EmbedPart:
            obj = unwrap_v4(response, body)
            data, usage = embedding_result(api, obj)
            if not isinstance(data, list) or not all(isinstance(v, list) for v in data):
                raise ResponseDecodeError(f"unrecognised embeddings result: {str(obj)[:200]}")
            return data, usage, info_of(response)

        plans = []
        for start in range(0, len(texts), size):
            body = embedding_body(model, texts[start : start + size], api,
                                  dimensions=dimensions, encoding_format=encoding_format)
            request = self.build_request("POST", embedding_path(model, api), body=body,
                                         headers=headers)
            plans.append(self.call(request, interpret, policy=policy))
        return plans

    @staticmethod
    def merge_embeddings(model: str, parts: Sequence[EmbedPart], expected: int,
                         dimensions: int | None = None) -> EmbeddingResult:
        """The batches' vectors in order, usage summed; checks counts and sizes."""
        result = EmbeddingResult(vectors=[], model=model)
        for vectors, usage, info in parts:
            result.vectors.extend(vectors)
            result.infos.append(info)
            for key, value in usage.items():
                if isinstance(value, int):
                    result.usage[key] = result.usage.get(key, 0) + value
        if len(result.vectors) != expected:
            raise ResponseDecodeError(f"asked for {expected} embeddings, got {len(result.vectors)}")
        check_sizes(model, result.vectors, dimensions)
        return result

    def _log_path(self, log_id: str, gateway_id: str | None) -> str:
        if not isinstance(log_id, str) or not log_id.strip():
            raise ConfigurationError("log_id must be a non-empty string (from GatewayInfo.log_id)")
        gw = gateway_id or self.settings.gateway_id or "default"
        return f"/ai-gateway/gateways/{segment('gateway_id', gw)}/logs/{segment('log_id', log_id)}"

    def get_log_plan(self, log_id: str, gateway_id: str | None,
                     call: Mapping[str, Any]) -> Call[dict[str, Any]]:
        """Plan of ``GET .../logs/{log_id}``."""
        headers, policy = self.resolve(call)
        request = self.build_request("GET", self._log_path(log_id, gateway_id), headers=headers)
        return self.call(request, _as_dict, policy=policy)

    def list_logs_plan(self, gateway_id: str | None, params: Mapping[str, Any] | None,
                       call: Mapping[str, Any]) -> Call[list[dict[str, Any]]]:
        """Plan of ``GET .../logs`` with query ``params`` (reference §8.1)."""
        if params is not None and not isinstance(params, Mapping):
            raise ConfigurationError(f"params must be a dict, got {type(params).__name__}")
        gw = gateway_id or self.settings.gateway_id or "default"
        query = {
            k: (v if not isinstance(v, (list, dict)) else to_json(v).decode())
            for k, v in (params or {}).items()
            if v is not None
        }
        query = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in query.items()}
        headers, policy = self.resolve(call)
        request = self.build_request(
            "GET", f"/ai-gateway/gateways/{segment('gateway_id', gw)}/logs", headers=headers,
            params=query)
        return self.call(request, _as_list, policy=policy)

    def patch_log_plan(
        self,
        log_id: str,
        feedback: int | None,
        score: float | None,
        metadata: Mapping[str, Any] | None,
        gateway_id: str | None,
        call: Mapping[str, Any],
    ) -> Call[Any]:
        """Plan of ``PATCH .../logs/{log_id}`` (feedback, score, metadata)."""
        body: dict[str, Any] = {}
        if feedback is not None:
            if feedback not in (-1, 0, 1) or isinstance(feedback, bool):
                raise ConfigurationError(f"feedback must be 1, -1 or 0, got {feedback!r}")
            body["feedback"] = feedback
        if score is not None:
            if isinstance(score, bool) or not isinstance(score, (int, float)):
                raise ConfigurationError(f"score must be a number, got {score!r}")
            body["score"] = score
        if metadata is not None:
            body["metadata"] = validate_metadata(metadata, "log metadata")
        if not body:
            raise ConfigurationError("give at least one of feedback, score, metadata")
        headers, policy = self.resolve(call)
        request = self.build_request(
            "PATCH", self._log_path(log_id, gateway_id), body=body, headers=headers)
        return self.call(request, unwrap_v4, policy=policy)
