"""Helpers every dialect shares, and the one boundary for answers of unexpected shape.

- :func:`loads` — JSON or :class:`~cf_aig.errors.ResponseDecodeError` naming what was
  malformed; :func:`check_error` — raise the typed error of an error payload (any envelope);
- :data:`SHAPE_ERRORS` and :func:`shape_error` — a decoder that indexes a payload of the
  wrong shape (a list where an object was due, a missing key) fails with one of
  :data:`SHAPE_ERRORS`; every dialect (and the client's stream loop) catches exactly those
  and raises :func:`shape_error`'s :class:`~cf_aig.errors.ResponseDecodeError`;
- :func:`refuse_unknown_keys` — a key a translated wire cannot carry is refused, never
  dropped;
- :func:`unwrap_envelope` — error check plus the v4 ``{"success", "result"}`` envelope;
- :data:`FINISH_REASONS`, :func:`text_of_parts`, :func:`normalize_text_and_reasoning`,
  :func:`strip_history_extras`;
- :func:`assistant_message` and :func:`one_choice_completion`, how every decoder shapes
  a whole answer (tool calls are built by :func:`cf_aig.accumulate.build_tool_call`);
- :func:`make_chunk`, :func:`completion_to_chunks` and :class:`TypedEventStream`, the shell
  of the decoders for typed event streams (Messages, Responses).

>>> str(shape_error("stream event", b'[1]', TypeError("not a mapping")))
"unexpected stream event shape (TypeError: not a mapping): b'[1]'"
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection, Mapping
from typing import Any, cast

from pydantic_core import from_json

from ..accumulate import native_stop_of
from ..errors import (
    CfAigError,
    ConfigurationError,
    ResponseDecodeError,
    StreamInterruptedError,
    error_from_body,
)
from ..types import ChatCompletion, ChatCompletionChunk, ServerToolCall, ServerToolResult

SHAPE_ERRORS: tuple[type[Exception], ...] = (
    TypeError, ValueError, KeyError, AttributeError, IndexError)
"""What indexing a payload of unexpected shape raises. Catch these (after letting a
:class:`~cf_aig.errors.CfAigError` through) and raise :func:`shape_error`."""


def shape_error(what: str, data: Any, exc: BaseException) -> ResponseDecodeError:
    """The :class:`ResponseDecodeError` for ``what`` (e.g. ``"stream event"``) whose payload
    ``data`` had an unexpected shape; the payload is shown cut to 200 characters (``None``:
    not shown)."""
    message = f"unexpected {what} shape ({type(exc).__name__}: {exc})"
    if data is None:
        return ResponseDecodeError(message)
    shown = data[:200] if isinstance(data, (bytes, str)) else str(data)[:200]
    return ResponseDecodeError(f"{message}: {shown!r}")


def loads(data: bytes | str, what: str) -> Any:
    """Parse JSON or raise :class:`ResponseDecodeError` naming ``what`` was malformed."""
    try:
        return from_json(data)
    except ValueError as exc:
        snippet = data[:200] if isinstance(data, str) else data[:200].decode("utf-8", "replace")
        raise ResponseDecodeError(f"malformed JSON in {what}: {snippet!r}") from exc


def check_error(obj: Any, status: int | None = None) -> None:
    """Raise the typed error if ``obj`` is an error payload (any envelope)."""
    if not isinstance(obj, dict):
        return
    if (
        obj.get("success") is False
        or (obj.get("error") and "choices" not in obj)
        or (obj.get("type") == "error")
    ):
        code = obj.get("httpCode") or obj.get("status")
        raise error_from_body(code if isinstance(code, int) else status, obj)


_HISTORY_EXTRAS = ("reasoning_content", "thinking_blocks", "annotations", "server_tool_calls",
                   "server_tool_results")


def strip_history_extras(messages: list[Any]) -> list[Any]:
    """Drop what assistant turns keep for round trips on other endpoints (reasoning,
    ``thinking_blocks``, citations, provider-run tool calls and results): they are outputs
    of an earlier turn, OpenAI-style endpoints reject unknown message fields, and the
    turn's text still goes."""
    if not any(isinstance(m, dict) and (m.keys() & _HISTORY_EXTRAS) for m in messages):
        return messages
    return [{k: v for k, v in m.items() if k not in _HISTORY_EXTRAS}
            if isinstance(m, dict) else m for m in messages]



FINISH_REASONS: dict[str, str] = {
    "model_length": "length",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "eos": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
"""Provider spellings of finish reasons (Workers AI, Anthropic ``stop_reason``) → the
canonical OpenAI ones; every dialect maps through this one table."""


def refuse_unknown_keys(req: Mapping[str, Any], known: Collection[str], where: str,
                        api: str) -> None:
    """Nothing silently lost on a translated wire: a request key the endpoint has no
    equivalent for, or ``n`` other than 1, is a :class:`~cf_aig.errors.ConfigurationError`
    naming the key, the endpoint and where it can go (Chat Completions).

    >>> refuse_unknown_keys({"seed": 1}, {"model"}, "/ai/v1/messages", "messages")
    Traceback (most recent call last):
    ...
    cf_aig.errors.ConfigurationError: 'seed' has no equivalent on /ai/v1/messages \
(api='messages'); remove it or use api='chat_completions'
    """
    for key in req:
        if key not in known:
            raise ConfigurationError(
                f"{key!r} has no equivalent on {where} (api={api!r}); remove it or use "
                "api='chat_completions'")
    if req.get("n", 1) != 1:
        raise ConfigurationError(f"'n' must be 1 on {where} (one answer per call); use "
                                 "api='chat_completions' for several choices per call")


def unwrap_envelope(body: Any, status: int | None = None) -> Any:
    """Raise the typed error of an error body (``status``: the HTTP status, when the body
    names none); else the body without its v4 envelope (``{"success", "result"}`` →
    ``result``), or as it is when it has none."""
    check_error(body, status)
    if isinstance(body, dict) and "success" in body and "result" in body:
        return body["result"]
    return body


def normalize_text_and_reasoning(obj: dict[str, Any]) -> None:
    """In place, on a message or a stream delta: a list of text parts → one string, and
    ``reasoning`` (some providers' spelling) → ``reasoning_content`` when it is text."""
    if isinstance(obj.get("content"), list):
        obj["content"] = text_of_parts(obj["content"])
    if "reasoning" in obj and not obj.get("reasoning_content"):
        value = obj.pop("reasoning")
        if isinstance(value, str):
            obj["reasoning_content"] = value
        else:
            obj["reasoning"] = value


def image_url_of(part: dict[str, Any], where: str) -> str:
    """The URL of an ``image_url`` content part (``{"url": ...}`` or a bare string), or a
    :class:`~cf_aig.errors.ConfigurationError` naming ``where`` when it has none."""
    spec = part.get("image_url")
    url = spec.get("url") if isinstance(spec, dict) else spec
    if not isinstance(url, str) or not url:
        raise ConfigurationError(f"{where}: image_url part without a url")
    return url


def text_of_parts(content: Any) -> Any:
    """Content given as a list of ``{"type": "text", "text"}`` parts → one string;
    anything else is returned unchanged."""
    if isinstance(content, list) and all(
        isinstance(p, dict) and p.get("type") in ("text", "output_text") for p in content
    ):
        return "".join(str(p.get("text") or "") for p in content)
    return content



def assistant_message(
    text: str,
    annotations: list[dict[str, Any]],
    server_calls: list[ServerToolCall],
    server_results: list[ServerToolResult],
) -> dict[str, Any]:
    """The canonical assistant message of a typed-item answer (Messages, Responses): its
    text, then citations and provider-run tool calls and results where there are any."""
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if annotations:
        message["annotations"] = annotations
    if server_calls:
        message["server_tool_calls"] = server_calls
    if server_results:
        message["server_tool_results"] = server_results
    return message


def one_choice_completion(
    completion_id: str, created: int, model: str, message: dict[str, Any],
    finish_reason: str | None, usage: Any, **choice: Any,
) -> ChatCompletion:
    """A canonical ``chat.completion`` with one choice (``choice`` adds keys to it, such
    as ``logprobs``)."""
    return cast(ChatCompletion, {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason,
                     **choice}],
        "usage": usage,
    })


def chat_completion_instead(body: Any) -> ChatCompletion | None:
    """An OpenAI ``chat.completion`` answered where another endpoint's shape was due (a
    gateway replying in its unified shape, reference §11.5), normalised as Chat Completions
    would; ``None`` for any other body.

    >>> chat_completion_instead({"type": "message", "content": []}) is None
    True
    """
    if isinstance(body, dict) and isinstance(body.get("choices"), list) \
            and not isinstance(body.get("type"), str):
        from .chat import normalize_completion

        return normalize_completion(body)
    return None


def completion_to_chunks(completion: ChatCompletion) -> list[ChatCompletionChunk]:
    """A whole completion as stream chunks (for a JSON body where a stream was asked)."""
    base: dict[str, Any] = {
        "id": completion.get("id", ""),
        "object": "chat.completion.chunk",
        "created": completion.get("created", 0),
        "model": completion.get("model", ""),
    }
    chunks: list[ChatCompletionChunk] = []
    for choice in completion.get("choices") or ():
        delta: dict[str, Any] = dict(choice.get("message") or {})
        if delta.get("tool_calls"):
            delta["tool_calls"] = [dict(tc, index=i) for i, tc in enumerate(delta["tool_calls"])]
        chunk_choice: dict[str, Any] = {
            "index": choice.get("index", 0),
            "delta": delta,
            "finish_reason": choice.get("finish_reason"),
        }
        if choice.get("logprobs"):  # token log-probabilities travel with their chunk
            chunk_choice["logprobs"] = choice["logprobs"]
        chunk_choice.update(native_stop_of(choice))  # e.g. Anthropic's pause_turn
        chunks.append(make_chunk(base, [chunk_choice]))
    if completion.get("usage"):
        chunks.append(make_chunk(base, [], completion["usage"]))
    return chunks


def make_chunk(
    base: dict[str, Any], choices: list[dict[str, Any]], usage: Any = None
) -> ChatCompletionChunk:
    """A chunk dict from a base (id, model, created) and its choices."""
    chunk: dict[str, Any] = {**base, "choices": choices}
    if usage is not None:
        chunk["usage"] = usage
    return cast(ChatCompletionChunk, chunk)



class TypedEventStream:
    """Shared shell of the decoders for typed event streams (Messages, Responses).

    It parses each event's JSON, names it by its ``type`` (else the SSE event name),
    hands it to :meth:`_event`, and turns a payload of unexpected shape into a
    :class:`ResponseDecodeError`. Chunks get one id per stream (the provider's when it
    sends one). :meth:`finish` raises if the terminal event never came. OpenAI-shaped
    chunks arriving instead (a gateway answering in its unified shape, reference §11.5)
    are decoded as such by a Chat Completions chunk decoder, never dropped.
    """

    __slots__ = ("_chunks", "_created", "_done", "_id", "_model")
    ID_PREFIX = "chatcmpl"
    LABEL = "stream"
    TERMINAL = "its terminal event"

    def __init__(self, model: str) -> None:
        self._model = model
        self._id: str | None = None
        self._created = int(time.time())
        self._done = False
        self._chunks: Any = None  # a chat.ChunkStream, once OpenAI-shaped chunks arrive

    def _base(self) -> dict[str, Any]:
        if self._id is None:
            self._id = f"{self.ID_PREFIX}_{uuid.uuid4().hex[:24]}"
        return {"id": self._id, "object": "chat.completion.chunk", "created": self._created,
                "model": self._model}

    def _delta(self, delta: dict[str, Any], reason: str | None = None) -> ChatCompletionChunk:
        return make_chunk(self._base(), [{"index": 0, "delta": delta, "finish_reason": reason}])

    def event(self, name: str | None, data: bytes) -> list[ChatCompletionChunk]:
        if data.strip() == b"[DONE]":  # not sent by these APIs; some proxies append it
            return [] if self._chunks is None else cast(
                "list[ChatCompletionChunk]", self._chunks.event(name, data))
        obj = loads(data, f"{self.LABEL} stream event")
        if not isinstance(obj, dict):
            raise ResponseDecodeError(f"stream event is not a JSON object: {data[:200]!r}")
        if isinstance(obj.get("choices"), list) and not isinstance(obj.get("type"), str):
            if self._chunks is None:  # OpenAI-shaped chunks where typed events were due
                from .chat import ChunkStream

                self._chunks = ChunkStream(self._model)
            return cast("list[ChatCompletionChunk]", self._chunks.event(name, data))
        kind = obj.get("type") if isinstance(obj.get("type"), str) else name
        try:
            return self._event(kind, obj)
        except CfAigError:
            raise
        except SHAPE_ERRORS as exc:
            raise shape_error(f"{self.LABEL} {kind} event", data, exc) from exc

    def _event(self, kind: str | None, obj: dict[str, Any]) -> list[ChatCompletionChunk]:
        raise NotImplementedError

    def finish(self) -> list[ChatCompletionChunk]:
        if self._chunks is not None and not self._done:
            return cast("list[ChatCompletionChunk]", self._chunks.finish())
        if not self._done:
            raise StreamInterruptedError(
                f"the {self.LABEL} stream ended without {self.TERMINAL}: the answer is truncated")
        return []
