"""``Client`` and ``AsyncClient``: the gateway's chat, run, embeddings and logs APIs.

Both share every piece of logic (:mod:`cf_aig._protocol`): they differ only in the
ten-line driver that performs I/O, and in their stream classes' loops.

>>> from cf_aig.emulator import Emulator                              # doctest: +SKIP
>>> with Emulator() as emu, Client(account_id="acc", api_token="t",   # doctest: +SKIP
...                                base_url=emu.base_url) as client:
...     result = client.chat({"model": "openai/gpt-5.5",
...                           "messages": [{"role": "user", "content": "Hi"}]})
...     print(result.text, result.info.log_id)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, cast, overload

import httpx

from ._ids import model_path, segment
from ._pool import LeanAsyncTransport
from ._protocol import (
    _SHAPE_ERRORS,
    Call,
    Core,
    Read,
    Send,
    Sleep,
    info_of,
    is_json,
    is_sse,
    shape_error,
    stream_break,
)
from .accumulate import ChunkAccumulator
from .dialects import Dialect, StreamState, get_dialect
from .dialects.chat import check_error, completion_to_chunks, loads
from .dialects.workers_ai import run_body, run_path
from .embeddings import check_embedding_args, check_sizes, decode_vector, embedding_body
from .errors import CfAigError, ConfigurationError, ResponseDecodeError
from .options import GatewayInfo, GatewayOptions, validate_metadata
from .profiles import get_profile, is_workers_ai
from .sse import SSEDecoder
from .types import Api, ChatCompletion, ChatCompletionChunk, ChatRequest

T = TypeVar("T")
OptionsArg = GatewayOptions | Mapping[str, Any] | None
DEFAULT_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=100, keepalive_expiry=30.0
)


@dataclass(slots=True)
class ChatResult:
    """A canonical ``chat.completion`` plus what the gateway said about it.

    >>> r = ChatResult({"choices": [{"message": {"role": "assistant", "content": "Hi"}}]},
    ...                GatewayInfo(log_id="019a"))
    >>> r.text, r.info.log_id
    ('Hi', '019a')
    """

    completion: ChatCompletion
    info: GatewayInfo

    @property
    def text(self) -> str:
        """The first choice's text content ('' when none)."""
        choices = self.completion.get("choices") or [{}]
        content = (choices[0].get("message") or {}).get("content")
        return content if isinstance(content, str) else ""


@dataclass(slots=True)
class RunResult:
    """An ``/ai/run`` result: the model's output (envelope removed), or bytes if binary.

    >>> RunResult({"response": "Hello"}, GatewayInfo()).result["response"]
    'Hello'
    """

    result: Any
    info: GatewayInfo
    content_type: str = "application/json"


@dataclass(slots=True)
class EmbeddingResult:
    """Vectors in input order, the token usage, and the gateway info of each batch.

    >>> EmbeddingResult(vectors=[[0.6, 0.8]], model="@cf/baai/bge-small-en-v1.5").vectors
    [[0.6, 0.8]]
    """

    vectors: list[list[float]]
    model: str
    usage: dict[str, int] = field(default_factory=dict)
    infos: list[GatewayInfo] = field(default_factory=list)


class _RawEvents:
    """Stream state for ``run(..., stream=True)``: each JSON event as a dict."""

    __slots__ = ("_done",)

    def __init__(self) -> None:
        self._done = False

    def event(self, name: str | None, data: bytes) -> list[dict[str, Any]]:
        if data == b"[DONE]":
            self._done = True
            return []
        obj = loads(data, "stream event")
        check_error(obj)
        return [obj]

    def finish(self) -> list[dict[str, Any]]:
        return []


class _StreamBase(Generic[T]):
    __slots__ = ("_pre", "_sse", "_state", "info", "received", "response")

    def __init__(
        self,
        response: httpx.Response | None,
        state: Any,
        info: GatewayInfo,
        pre: list[T] | None = None,
    ) -> None:
        self.response = response
        self._state = state
        self._sse = SSEDecoder()
        self._pre = pre
        self.info = info
        self.received = 0
        """Items already handed to the caller."""

    def _decode(self, raw: bytes) -> list[T]:
        out: list[T] = []
        try:
            for name, data in self._sse.feed(raw):
                out.extend(self._state.event(name, data))
        except _SHAPE_ERRORS as exc:
            raise shape_error(exc) from exc
        return out

    def _end(self) -> list[T]:
        out: list[T] = []
        try:
            for name, data in self._sse.flush():
                out.extend(self._state.event(name, data))
            out.extend(self._state.finish())
        except _SHAPE_ERRORS as exc:
            raise shape_error(exc) from exc
        return out

    def _error(self, exc: BaseException) -> CfAigError | None:
        if isinstance(exc, CfAigError):
            err = exc
        elif isinstance(exc, (httpx.TransportError, httpx.StreamError)):
            err = stream_break(exc, self.received)
            err.__cause__ = exc
        else:
            return None
        if err.log_id is None:
            err.log_id = self.info.log_id
        if hasattr(err, "received"):
            err.received = self.received
        return err


class Stream(_StreamBase[T]):
    """A sync stream of canonical chunks (or raw events); iterate it once.

    Use it as a context manager, or call :meth:`close` when you stop early.

    >>> from cf_aig.emulator import Emulator
    >>> with Emulator() as emu, Client(account_id="a", api_token="t",
    ...                                base_url=emu.base_url) as client:
    ...     with client.chat_stream({"model": "openai/gpt-5.5", "messages": [
    ...             {"role": "user", "content": "Hello"}]}) as stream:
    ...         chunks = list(stream)
    >>> chunks[-1]["usage"]["total_tokens"] > 0, stream.info.log_id is not None
    (True, True)
    """

    __slots__ = ()

    def __iter__(self) -> Iterator[T]:
        if self._pre is not None:
            for item in self._pre:
                self.received += 1
                yield item
            return
        assert self.response is not None
        try:
            for raw in self.response.iter_bytes():
                for item in self._decode(raw):
                    self.received += 1
                    yield item
            for item in self._end():
                self.received += 1
                yield item
        except Exception as exc:
            err = self._error(exc)
            if err is None or err is exc:
                raise
            raise err from exc
        finally:
            self.response.close()

    def close(self) -> None:
        if self.response is not None:
            self.response.close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncStream(_StreamBase[T]):
    """An async stream of canonical chunks (or raw events); iterate it once.

    >>> import asyncio
    >>> from cf_aig.emulator import Emulator
    >>> async def main(url: str) -> str:
    ...     client = AsyncClient(account_id="a", api_token="t", base_url=url)
    ...     stream = await client.chat_stream({"model": "openai/gpt-5.5", "messages": [
    ...         {"role": "user", "content": "Hello"}]})
    ...     text = "".join([c["choices"][0]["delta"].get("content") or ""
    ...                     async for c in stream if c["choices"]])
    ...     await client.aclose()
    ...     return text
    >>> with Emulator() as emu:
    ...     print(asyncio.run(main(emu.base_url))[:24])
    Here is an emulated answ
    """

    __slots__ = ()

    async def __aiter__(self) -> AsyncIterator[T]:
        if self._pre is not None:
            for item in self._pre:
                self.received += 1
                yield item
            return
        assert self.response is not None
        try:
            async for raw in self.response.aiter_bytes():
                for item in self._decode(raw):
                    self.received += 1
                    yield item
            for item in self._end():
                self.received += 1
                yield item
        except Exception as exc:
            err = self._error(exc)
            if err is None or err is exc:
                raise
            raise err from exc
        finally:
            await self.response.aclose()

    async def aclose(self) -> None:
        if self.response is not None:
            await self.response.aclose()

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


ChatStream = Stream[ChatCompletionChunk]
AsyncChatStream = AsyncStream[ChatCompletionChunk]


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


def _as_completion(
    dialect: Dialect, model: str, response: httpx.Response, body: bytes
) -> ChatCompletion:
    if is_sse(response):  # a stream although none was asked: decode and merge it
        sse, state, acc = SSEDecoder(), dialect.stream_state(model), ChunkAccumulator()
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


def _unwrap_v4(response: httpx.Response, body: bytes | None) -> Any:
    assert body is not None
    obj = loads(body, "response body")
    check_error(obj, response.status_code)
    if isinstance(obj, dict) and "success" in obj and "result" in obj:
        return obj["result"]
    return obj


class _Base(Core):
    """Everything but I/O: request building and response interpretation."""

    def _chat_call(
        self,
        request: ChatRequest,
        api: Api,
        stream: bool,
        options: OptionsArg,
        headers: Mapping[str, str] | None,
        timeout: float | None,
        make_stream: Callable[..., Any],
    ) -> Call[Any]:
        model = _check_chat_request(request)
        dialect = get_dialect(api)
        if stream and _json_schema(request) and not dialect.capabilities(model).stream_with_schema:
            stream = False  # e.g. Workers AI: JSON mode cannot stream (error 5023)
            as_stream = True
        else:
            as_stream = stream
        http_request = self.build_request(
            "POST",
            dialect.endpoint(model),
            body=dialect.build(request, stream=stream),
            headers=self.headers(options, headers),
            timeout=timeout,
        )

        def interpret(response: httpx.Response, body: bytes | None) -> Any:
            info = info_of(response)
            if not as_stream:
                assert body is not None
                return ChatResult(_as_completion(dialect, model, response, body), info)
            if body is None:
                return make_stream(response, dialect.stream_state(model), info)
            pre = completion_to_chunks(_as_completion(dialect, model, response, body))
            return make_stream(None, None, info, pre)

        return self.call(http_request, interpret, stream=stream)

    def _run_call(
        self,
        model: str,
        input: Any,
        stream: bool,
        unified: bool | None,
        options: OptionsArg,
        headers: Mapping[str, str] | None,
        timeout: float | None,
        make_stream: Callable[..., Any],
    ) -> Call[Any]:
        if not isinstance(model, str) or not model.strip():
            raise ConfigurationError("model must be a non-empty model name")
        if not isinstance(input, Mapping):
            raise ConfigurationError(f"input must be a dict, got {type(input).__name__}")
        payload: dict[str, Any] = dict(input)
        if stream:
            payload["stream"] = True
        http_request = self.build_request(
            "POST",
            run_path(model, unified),
            body=run_body(model, payload, unified),
            headers=self.headers(options, headers),
            timeout=timeout,
        )

        def interpret(response: httpx.Response, raw: bytes | None) -> Any:
            info = info_of(response)
            if raw is None:
                return make_stream(response, _RawEvents(), info)
            if is_json(response):
                result = _unwrap_v4(response, raw)
                return (
                    make_stream(None, None, info, [result]) if stream else RunResult(result, info)
                )
            ctype = response.headers.get("content-type", "application/octet-stream")
            if stream:
                raise ResponseDecodeError(f"expected a stream, got {ctype}")
            return RunResult(raw, info, ctype)

        return self.call(http_request, interpret, stream=stream)

    def _embed_requests(
        self,
        model: str,
        texts: Sequence[str],
        api: str | None,
        batch_size: int | None,
        options: OptionsArg,
        headers: Mapping[str, str] | None,
        dimensions: int | None = None,
        encoding_format: str | None = None,
    ) -> tuple[str, list[httpx.Request]]:
        if not isinstance(model, str) or not model.strip():
            raise ConfigurationError("model must be a non-empty embedding model name")
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise ConfigurationError("texts must be a list of strings")
        api = api or ("run" if is_workers_ai(model) else "openai")
        if api not in ("run", "openai"):
            raise ConfigurationError(f"embeddings api must be 'run' or 'openai', got {api!r}")
        check_embedding_args(model, api, dimensions, encoding_format)
        size = batch_size or get_profile(model).embedding_batch_size
        if size < 1:
            raise ConfigurationError(f"batch_size must be >= 1, got {size}")
        hdrs = self.headers(options, headers)
        requests = []
        for start in range(0, len(texts), size):
            body = embedding_body(model, texts[start : start + size], api,
                                  dimensions=dimensions, encoding_format=encoding_format)
            path = model_path(model) if api == "run" else "/ai/v1/embeddings"
            requests.append(self.build_request("POST", path, body=body, headers=hdrs))
        return api, requests

    @staticmethod
    def _interpret_embeddings(api: str) -> Callable[[httpx.Response, bytes | None], Any]:
        def interpret(response: httpx.Response, body: bytes | None) -> Any:
            assert body is not None
            obj = _unwrap_v4(response, body)
            if api == "run":
                data = obj.get("data") if isinstance(obj, dict) else None
                usage: dict[str, Any] = {}
            else:
                items = sorted(obj.get("data") or [], key=lambda d: d.get("index", 0))
                data = [decode_vector(d.get("embedding")) for d in items]
                usage = obj.get("usage") or {}
            if not isinstance(data, list) or not all(isinstance(v, list) for v in data):
                raise ResponseDecodeError(f"unrecognised embeddings result: {str(obj)[:200]}")
            return data, usage, info_of(response)

        return interpret

    @staticmethod
    def _merge_embeddings(model: str, parts: list[Any], expected: int,
                          dimensions: int | None = None) -> EmbeddingResult:
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

    def _get_log_call(self, log_id: str, gateway_id: str | None) -> Call[Any]:
        request = self.build_request(
            "GET", self._log_path(log_id, gateway_id), headers=self._headers
        )
        return self.call(request, _unwrap_v4)

    def _list_logs_call(self, gateway_id: str | None, params: Mapping[str, Any]) -> Call[Any]:
        gw = gateway_id or self.settings.gateway_id or "default"
        query = {
            k: (v if not isinstance(v, (list, dict)) else _json(v))
            for k, v in params.items()
            if v is not None
        }
        query = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in query.items()}
        request = self.build_request(
            "GET",
            f"/ai-gateway/gateways/{segment('gateway_id', gw)}/logs",
            headers=self._headers,
            params=query,
        )
        return self.call(request, _unwrap_v4)

    def _patch_log_call(
        self,
        log_id: str,
        feedback: int | None,
        score: float | None,
        metadata: Mapping[str, Any] | None,
        gateway_id: str | None,
    ) -> Call[Any]:
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
        request = self.build_request(
            "PATCH", self._log_path(log_id, gateway_id), body=body, headers=self._headers
        )
        return self.call(request, _unwrap_v4)


def _json(value: Any) -> str:
    from pydantic_core import to_json

    return to_json(value).decode()


def _json_schema(request: Mapping[str, Any]) -> bool:
    fmt = request.get("response_format")
    return isinstance(fmt, Mapping) and fmt.get("type") in ("json_schema", "json_object")


class Client(_Base):
    """Synchronous client for the unified API. One connection pool, reused.

    >>> client = Client(account_id="acc", api_token="tok",
    ...                 base_url="http://127.0.0.1:8787/client/v4")
    >>> client
    Client(account_id='acc', base_url='http://127.0.0.1:8787/client/v4', gateway_id=None)
    >>> client.close()
    """

    def __init__(self, *, http_client: httpx.Client | None = None, **settings: Any) -> None:
        super().__init__(**settings)
        self._own_http = http_client is None
        self._http = http_client or httpx.Client(timeout=self.timeout, limits=DEFAULT_LIMITS)

    def _drive(self, call: Call[T]) -> T:
        action = next(call)
        while True:
            try:
                if isinstance(action, Send):
                    value: Any = self._http.send(action.request, stream=True)
                elif isinstance(action, Read):
                    try:
                        value = action.response.read()
                    finally:
                        action.response.close()
                else:
                    time.sleep(action.seconds)
                    value = None
            except Exception as exc:
                try:
                    action = call.throw(exc)
                except StopIteration as stop:
                    return cast(T, stop.value)
                continue
            try:
                action = call.send(value)
            except StopIteration as stop:
                return cast(T, stop.value)

    def chat(
        self,
        request: ChatRequest,
        *,
        api: Api = "chat_completions",
        options: OptionsArg = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> ChatResult:
        """One canonical chat completion through ``api``."""
        return cast(
            ChatResult,
            self._drive(self._chat_call(request, api, False, options, headers, timeout, Stream)),
        )

    def chat_stream(
        self,
        request: ChatRequest,
        *,
        api: Api = "chat_completions",
        options: OptionsArg = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Stream[ChatCompletionChunk]:
        """Open a stream of canonical chunks (retries happen before the first byte)."""
        return cast(
            Stream[ChatCompletionChunk],
            self._drive(self._chat_call(request, api, True, options, headers, timeout, Stream)),
        )

    @overload
    def chat_completions(
        self, request: ChatRequest, *, stream: Literal[False] = False, options: OptionsArg = None
    ) -> ChatResult: ...
    @overload
    def chat_completions(
        self, request: ChatRequest, *, stream: Literal[True], options: OptionsArg = None
    ) -> Stream[ChatCompletionChunk]: ...

    def chat_completions(
        self, request: ChatRequest, *, stream: bool = False, options: OptionsArg = None
    ) -> ChatResult | Stream[ChatCompletionChunk]:
        """``POST /ai/v1/chat/completions``."""
        if stream:
            return self.chat_stream(request, options=options)
        return self.chat(request, options=options)

    @overload
    def run(
        self,
        model: str,
        input: Mapping[str, Any],
        *,
        stream: Literal[False] = False,
        unified: bool | None = None,
        options: OptionsArg = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> RunResult: ...
    @overload
    def run(
        self,
        model: str,
        input: Mapping[str, Any],
        *,
        stream: Literal[True],
        unified: bool | None = None,
        options: OptionsArg = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Stream[dict[str, Any]]: ...

    def run(
        self,
        model: str,
        input: Mapping[str, Any],
        *,
        stream: bool = False,
        unified: bool | None = None,
        options: OptionsArg = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> RunResult | Stream[dict[str, Any]]:
        """``POST /ai/run/{model}`` (``@cf`` models) or unified ``/ai/run`` (others, or
        ``unified=True``) with the model's own input; streams yield raw JSON events."""
        return cast(
            "RunResult | Stream[dict[str, Any]]",
            self._drive(
                self._run_call(model, input, stream, unified, options, headers, timeout, Stream)
            ),
        )

    def embed(
        self,
        model: str,
        texts: Sequence[str],
        *,
        api: str | None = None,
        batch_size: int | None = None,
        options: OptionsArg = None,
        headers: Mapping[str, str] | None = None,
        dimensions: int | None = None,
        encoding_format: str | None = None,
    ) -> EmbeddingResult:
        """Embed ``texts`` in batches (``api='run'`` for ``@cf`` models, else ``'openai'``);
        ``dimensions``/``encoding_format`` follow :mod:`cf_aig.embeddings`."""
        api, requests = self._embed_requests(model, texts, api, batch_size, options, headers,
                                             dimensions, encoding_format)
        interpret = self._interpret_embeddings(api)
        parts = [self._drive(self.call(r, interpret)) for r in requests]
        return self._merge_embeddings(model, parts, len(texts), dimensions)

    def get_log(self, log_id: str, *, gateway_id: str | None = None) -> dict[str, Any]:
        """``GET .../ai-gateway/gateways/{gw}/logs/{log_id}``."""
        return cast("dict[str, Any]", self._drive(self._get_log_call(log_id, gateway_id)))

    def list_logs(self, *, gateway_id: str | None = None, **params: Any) -> list[dict[str, Any]]:
        """``GET .../logs`` with the reference §8.1 query parameters."""
        return cast("list[dict[str, Any]]", self._drive(self._list_logs_call(gateway_id, params)))

    def patch_log(
        self,
        log_id: str,
        *,
        feedback: int | None = None,
        score: float | None = None,
        metadata: Mapping[str, Any] | None = None,
        gateway_id: str | None = None,
    ) -> Any:
        """Send feedback (1 / -1), a score, and/or metadata for a log entry."""
        return cast(
            Any, self._drive(self._patch_log_call(log_id, feedback, score, metadata, gateway_id))
        )

    feedback = patch_log

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _close_with_loop(client: httpx.AsyncClient) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await client.aclose()


class AsyncClient(_Base):
    """Asynchronous twin of :class:`Client` (same methods, awaited).

    Safe across event loops: a pool made on one loop is replaced when the client is
    used from another (notebook re-runs, ``asyncio.run`` twice).

    >>> client = AsyncClient(account_id="acc", api_token="tok")
    >>> client.settings.base_url
    'https://api.cloudflare.com/client/v4'
    """

    def __init__(
        self,
        *,
        http_client: httpx.AsyncClient | None = None,
        max_concurrency: int = 8,
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        self._own_http = http_client is None
        self._http_client = http_client
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closer: AsyncIterator[None] | None = None
        self.max_concurrency = max_concurrency

    async def _pool(self) -> httpx.AsyncClient:
        """The HTTP client of the running event loop.

        Our own pool is :class:`~cf_aig._pool.LeanAsyncTransport` (O(1) per request;
        httpcore's pool is quadratic under bursts, see ``bench/pool.py``).

        A pool belongs to one loop. On a new loop (``asyncio.run`` again, a notebook
        re-run) we open a fresh pool, and register an async generator whose ``finally``
        closes it: ``asyncio.run`` finalises every async generator before closing its
        loop (PEP 525 hooks), so the old pool's sockets are closed on their own loop.
        """
        loop = asyncio.get_running_loop()
        http = self._http_client
        if http is None or (self._own_http and self._loop is not loop):
            self._loop = loop
            self._own_http = True
            http = self._http_client = httpx.AsyncClient(
                timeout=self.timeout, transport=LeanAsyncTransport(limits=DEFAULT_LIMITS))
            self._closer = _close_with_loop(http)
            await self._closer.__anext__()
        return http

    async def _drive(self, call: Call[T]) -> T:
        action = next(call)
        while True:
            try:
                if isinstance(action, Send):
                    http = await self._pool()
                    value: Any = await http.send(action.request, stream=True)
                elif isinstance(action, Read):
                    try:
                        value = await action.response.aread()
                    finally:
                        await action.response.aclose()
                elif isinstance(action, Sleep):
                    await asyncio.sleep(action.seconds)
                    value = None
            except Exception as exc:
                try:
                    action = call.throw(exc)
                except StopIteration as stop:
                    return cast(T, stop.value)
                continue
            try:
                action = call.send(value)
            except StopIteration as stop:
                return cast(T, stop.value)

    async def chat(
        self,
        request: ChatRequest,
        *,
        api: Api = "chat_completions",
        options: OptionsArg = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> ChatResult:
        """One canonical chat completion through ``api``."""
        return cast(
            ChatResult,
            await self._drive(
                self._chat_call(request, api, False, options, headers, timeout, AsyncStream)
            ),
        )

    async def chat_stream(
        self,
        request: ChatRequest,
        *,
        api: Api = "chat_completions",
        options: OptionsArg = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> AsyncStream[ChatCompletionChunk]:
        """Open a stream of canonical chunks (retries happen before the first byte)."""
        return cast(
            AsyncStream[ChatCompletionChunk],
            await self._drive(
                self._chat_call(request, api, True, options, headers, timeout, AsyncStream)
            ),
        )

    async def chat_completions(
        self, request: ChatRequest, *, stream: bool = False, options: OptionsArg = None
    ) -> ChatResult | AsyncStream[ChatCompletionChunk]:
        """``POST /ai/v1/chat/completions``."""
        if stream:
            return await self.chat_stream(request, options=options)
        return await self.chat(request, options=options)

    async def run(
        self,
        model: str,
        input: Mapping[str, Any],
        *,
        stream: bool = False,
        unified: bool | None = None,
        options: OptionsArg = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> RunResult | AsyncStream[dict[str, Any]]:
        """Async :meth:`Client.run`."""
        return cast(
            "RunResult | AsyncStream[dict[str, Any]]",
            await self._drive(
                self._run_call(
                    model, input, stream, unified, options, headers, timeout, AsyncStream
                )
            ),
        )

    async def embed(
        self,
        model: str,
        texts: Sequence[str],
        *,
        api: str | None = None,
        batch_size: int | None = None,
        options: OptionsArg = None,
        headers: Mapping[str, str] | None = None,
        dimensions: int | None = None,
        encoding_format: str | None = None,
    ) -> EmbeddingResult:
        """Embed in batches, at most ``max_concurrency`` batches in flight."""
        api, requests = self._embed_requests(model, texts, api, batch_size, options, headers,
                                             dimensions, encoding_format)
        interpret = self._interpret_embeddings(api)
        gate = asyncio.Semaphore(self.max_concurrency)

        async def one(request: httpx.Request) -> Any:
            async with gate:
                return await self._drive(self.call(request, interpret))

        parts = await asyncio.gather(*(one(r) for r in requests))
        return self._merge_embeddings(model, list(parts), len(texts), dimensions)

    async def get_log(self, log_id: str, *, gateway_id: str | None = None) -> dict[str, Any]:
        return cast("dict[str, Any]", await self._drive(self._get_log_call(log_id, gateway_id)))

    async def list_logs(
        self, *, gateway_id: str | None = None, **params: Any
    ) -> list[dict[str, Any]]:
        return cast(
            "list[dict[str, Any]]", await self._drive(self._list_logs_call(gateway_id, params))
        )

    async def patch_log(
        self,
        log_id: str,
        *,
        feedback: int | None = None,
        score: float | None = None,
        metadata: Mapping[str, Any] | None = None,
        gateway_id: str | None = None,
    ) -> Any:
        return cast(
            Any,
            await self._drive(self._patch_log_call(log_id, feedback, score, metadata, gateway_id)),
        )

    feedback = patch_log

    async def aclose(self) -> None:
        if self._own_http and self._http_client is not None:
            await self._http_client.aclose()
            self._http_client = None
            self._loop = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = [
    "AsyncClient",
    "AsyncStream",
    "ChatResult",
    "Client",
    "EmbeddingResult",
    "RunResult",
    "Stream",
    "StreamState",
]
