"""Streams: canonical chunks (or raw ``/ai/run`` events) from an open SSE answer.

:class:`Stream` and :class:`AsyncStream` share every step but the read loop: raw bytes
are decompressed (bounded), split into events (each capped), decoded by the dialect's
stream state, and checked against the call's deadline and the idle limit between events.

>>> from cf_aig.options import GatewayInfo
>>> list(Stream(Opened(GatewayInfo(), pre=[{"id": "c1"}])))
[{'id': 'c1'}]
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import httpx

from ._protocol import (
    _SHAPE_ERRORS,
    CallPolicy,
    Inflater,
    shape_error,
    stream_break,
)
from .dialects.chat import check_error, loads
from .errors import CfAigError, StreamInterruptedError
from .options import GatewayInfo
from .sse import SSEDecoder
from .types import ChatCompletionChunk

T = TypeVar("T")


class EventDecoder(Protocol[T]):
    """Per-stream decoder: SSE events in, items out (a dialect's ``StreamState``)."""

    def event(self, name: str | None, data: bytes) -> list[T]: ...

    def finish(self) -> list[T]: ...


class RawEvents:
    """Decoder for ``run(..., stream=True)``: each JSON event as a dict.

    >>> RawEvents().event(None, b'{"response": "Hi"}')
    [{'response': 'Hi'}]
    """

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


@dataclass(slots=True)
class Opened(Generic[T]):
    """What a stream plan returns: an open SSE answer and its decoder, or, when the
    gateway answered with a whole body instead, the items to replay (``pre``).

    >>> Opened(GatewayInfo(), pre=[1, 2]).pre
    [1, 2]
    """

    info: GatewayInfo
    response: httpx.Response | None = None
    decoder: EventDecoder[T] | None = None
    pre: list[T] | None = None
    policy: CallPolicy | None = None
    deadline: float | None = None


class _StreamBase(Generic[T]):
    __slots__ = ("_deadline", "_decoder", "_idle", "_inflater", "_last", "_policy", "_pre",
                 "_sse", "info", "received", "response")

    _now: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, opened: Opened[T]) -> None:
        self.response = opened.response
        self.info = opened.info
        self._decoder = opened.decoder
        self._pre = opened.pre
        policy = opened.policy or CallPolicy()
        self._policy = policy
        self._sse = SSEDecoder(policy.max_event_bytes)
        self._deadline = opened.deadline
        self._idle = policy.idle
        self._last = self._now()
        self._inflater = Inflater(self.response.headers.get("content-encoding", "")) \
            if self.response is not None else None
        self.received = 0
        """Items already handed to the caller."""

    def _decode(self, raw: bytes) -> list[T]:
        now = self._now()
        if self._deadline is not None and now > self._deadline:
            raise self._past_deadline()
        assert self._decoder is not None and self._inflater is not None
        out: list[T] = []
        try:
            for piece in (raw,) if self._inflater.identity else self._inflater.feed(raw):
                for name, data in self._sse.feed(piece):
                    out.extend(self._decoder.event(name, data))
        except _SHAPE_ERRORS as exc:
            raise shape_error(exc) from exc
        if out:
            self._last = now
        elif now - self._last > self._idle:  # bytes (keep-alives, a trickle), no event
            raise StreamInterruptedError(
                f"the stream sent no event for {self._idle:g}s (stream_idle_timeout) after "
                f"{self.received} chunks", received=self.received)
        return out

    def _past_deadline(self) -> StreamInterruptedError:
        return StreamInterruptedError(
            f"the stream did not finish within total_timeout={self._policy.total:g}s "
            f"(after {self.received} chunks)", received=self.received)

    def _end(self) -> list[T]:
        assert self._decoder is not None and self._inflater is not None
        out: list[T] = []
        try:
            tail = self._inflater.flush()
            events = [*(self._sse.feed(tail) if tail else []), *self._sse.flush()]
            for name, data in events:
                out.extend(self._decoder.event(name, data))
            out.extend(self._decoder.finish())
        except _SHAPE_ERRORS as exc:
            raise shape_error(exc) from exc
        return out

    def _error(self, exc: BaseException) -> CfAigError | None:
        if isinstance(exc, CfAigError):
            err = exc
        elif (isinstance(exc, httpx.TimeoutException) and self._deadline is not None
              and self._now() >= self._deadline - 0.05):
            err = self._past_deadline()  # the read timeout was clamped to the deadline
            err.__cause__ = exc
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

    >>> from cf_aig import Client
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
            for raw in self.response.iter_raw():
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
    >>> from cf_aig import AsyncClient
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
            async for raw in self.response.aiter_raw():
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

__all__ = ["AsyncChatStream", "AsyncStream", "ChatStream", "EventDecoder", "Opened",
           "RawEvents", "Stream"]
