"""Wire renderers: engine output to OpenAI, Workers AI and error bodies (pure functions)."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import secrets
import struct
import time
from typing import Any

from .engine import Generation, Turn

_DUMP = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
DONE = b"data: [DONE]\n\n"


class HttpError(Exception):
    """Raised by route code; becomes a JSON error reply."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def user_error(detail: str) -> HttpError:
    """400, v4 envelope, code 7003: Cloudflare's per-model schema validation (reference §4.5)."""
    return HttpError(400, v4_error(7003, f"Model execution failed (User Input Error): {detail}"))


def dumps(obj: Any) -> bytes:
    """Compact JSON bytes."""
    return _DUMP(obj).encode()


def sse(obj: Any) -> bytes:
    """One ``data:`` SSE event."""
    return b"data: " + dumps(obj) + b"\n\n"


def named_sse(obj: dict[str, Any]) -> bytes:
    """One SSE event with an ``event:`` line naming ``obj["type"]``."""
    return b"event: " + str(obj["type"]).encode() + b"\ndata: " + dumps(obj) + b"\n\n"


_LAST = [0, 0]  # last millisecond, counter within it


def uuid7() -> str:
    """A lowercase UUIDv7-style id, increasing within the process (ms time + counter)."""
    ms = int(time.time() * 1000) & ((1 << 48) - 1)
    if ms <= _LAST[0]:
        ms, seq = _LAST[0], _LAST[1] + 1
        if seq > 0xFFF:
            ms, seq = ms + 1, 0
    else:
        seq = 0
    _LAST[0], _LAST[1] = ms, seq
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (seq << 64) | (0b10 << 62) | rand
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# ---- envelopes -------------------------------------------------------------------------

def v4_ok(result: Any) -> dict[str, Any]:
    return {"result": result, "success": True, "errors": [], "messages": []}


def v4_error(code: int, message: str) -> dict[str, Any]:
    return {"result": None, "success": False, "errors": [{"code": code, "message": message}],
            "messages": []}


def gateway_error(status: int, code: int, message: str) -> dict[str, Any]:
    return {"success": False, "result": [], "messages": [],
            "error": [{"code": code, "message": message}], "name": "AiGatewayError",
            "httpCode": status, "internalCode": code, "message": message}


_OPENAI_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                 403: "permission_error", 404: "not_found_error", 408: "timeout_error",
                 429: "rate_limit_error", 529: "overloaded_error"}


def openai_error(status: int, code: int | str | None, message: str) -> dict[str, Any]:
    etype = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": etype, "param": None, "code": code}}


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    etype = _OPENAI_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    if etype == "server_error":
        etype = "api_error"
    return {"type": "error", "error": {"type": etype, "message": message},
            "request_id": "req_" + secrets.token_hex(12)}


def error_body(envelope: str, status: int, code: int, message: str) -> dict[str, Any]:
    """An error body in the named envelope: ``v4``, ``gateway``, ``openai``, ``anthropic``."""
    if envelope == "gateway":
        return gateway_error(status, code, message)
    if envelope == "openai":
        return openai_error(status, code, message)
    if envelope == "anthropic":
        return anthropic_error(status, message)
    return v4_error(code, message)


# ---- OpenAI chat completions -------------------------------------------------------------

def _usage_out(usage: dict[str, Any]) -> dict[str, Any]:
    return {**usage, "prompt_tokens_details": {"audio_tokens": 0,
                                               **usage.get("prompt_tokens_details", {})},
            "completion_tokens_details": {"audio_tokens": 0, "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0,
                                          **usage.get("completion_tokens_details", {})}}


def _message(turn: Turn, reasoning_field: str) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": turn.text, "refusal": None,
                           "annotations": []}
    if turn.reasoning is not None:
        msg[reasoning_field] = turn.reasoning
    if turn.tool_calls:
        msg["tool_calls"] = [{"id": c["id"], "type": "function",
                              "function": {"name": c["name"], "arguments": c["arguments"]}}
                             for c in turn.tool_calls]
    return msg


def token_logprobs(text: str, top: int) -> list[dict[str, Any]]:
    """Deterministic per-token log-probabilities (one token per word piece), each with
    ``top`` alternatives (the token itself first), in OpenAI's ``ChatCompletionTokenLogprob``
    shape."""
    out = []
    for piece in _split_words(text):
        score = -round(0.05 * (len(piece) % 7), 4)
        alts = [{"token": piece, "logprob": score, "bytes": list(piece.encode())}]
        alts += [{"token": f"{piece.strip()}~{k}", "logprob": round(score - 1.5 * k, 4),
                  "bytes": list(f"{piece.strip()}~{k}".encode())} for k in range(1, top)]
        out.append({**alts[0], "top_logprobs": alts[:top]})
    return out


def chat_completion(model: str, gen: Generation, *,
                    reasoning_field: str = "reasoning_content",
                    logprobs: int | None = None) -> dict[str, Any]:
    """A ``chat.completion`` object (``logprobs``: None, or alternatives per token)."""
    return {
        "id": "chatcmpl-" + secrets.token_hex(12), "object": "chat.completion",
        "created": int(time.time()), "model": model,
        "choices": [{"index": i, "message": _message(t, reasoning_field),
                     "finish_reason": t.finish_reason,
                     "logprobs": None if logprobs is None else {
                         "content": token_logprobs(t.text or "", logprobs), "refusal": None}}
                    for i, t in enumerate(gen.turns)],
        "usage": _usage_out(gen.usage), "system_fingerprint": "fp_emulator",
        "service_tier": "default",
    }


def _split_words(text: str) -> list[str]:
    pieces = text.split(" ")
    return [p + " " for p in pieces[:-1]] + [pieces[-1]] if text else []


def _split_n(text: str, n: int) -> list[str]:
    size = max(1, math.ceil(len(text) / n))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def chat_chunks(model: str, gen: Generation, *, include_usage: bool,
                reasoning_field: str = "reasoning_content",
                workers_ai: bool = False, logprobs: int | None = None) -> list[bytes]:
    """The SSE events of a streamed chat completion, ``[DONE]`` included.

    ``workers_ai`` adds ``p`` padding and per-chunk usage increments, then the final
    cumulative ``{"response": "", "usage": ...}`` line (reference §4.2.3).
    """
    cid, created = "chatcmpl-" + secrets.token_hex(12), int(time.time())
    usage = _usage_out(gen.usage)
    events: list[bytes] = []

    def emit(index: int, delta: dict[str, Any], finish: str | None = None,
             inc: dict[str, Any] | None = None) -> None:
        lp = None
        if logprobs is not None and delta.get("content"):
            lp = {"content": token_logprobs(delta["content"], logprobs), "refusal": None}
        chunk: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created,
                                 "model": model, "choices": [{"index": index, "delta": delta,
                                                              "finish_reason": finish,
                                                              "logprobs": lp}]}
        if workers_ai:
            chunk["p"] = "abcdefghijklmnop"[: 1 + len(events) % 16]
            chunk["usage"] = inc or {"prompt_tokens": 0, "completion_tokens": 0,
                                     "total_tokens": 0}
        elif include_usage:
            chunk["usage"] = None
        events.append(sse(chunk))

    def inc_for(text: str) -> dict[str, Any]:
        n = len(text.split())
        return {"prompt_tokens": 0, "completion_tokens": n, "total_tokens": n}

    for i, turn in enumerate(gen.turns):
        p = usage["prompt_tokens"] if i == 0 else 0
        emit(i, {"role": "assistant", "content": ""},
             inc={"prompt_tokens": p, "completion_tokens": 0, "total_tokens": p,
                  "prompt_tokens_details": usage["prompt_tokens_details"]})
        for piece in _split_words(turn.reasoning or ""):
            emit(i, {reasoning_field: piece}, inc=inc_for(piece))
        for piece in _split_words(turn.text or ""):
            emit(i, {"content": piece}, inc=inc_for(piece))
        for k, call in enumerate(turn.tool_calls):
            emit(i, {"tool_calls": [{"index": k, "id": call["id"], "type": "function",
                                     "function": {"name": call["name"], "arguments": ""}}]})
            for frag in _split_n(call["arguments"], 3):
                emit(i, {"tool_calls": [{"index": k, "function": {"arguments": frag}}]},
                     inc=inc_for(frag))
        emit(i, {}, turn.finish_reason)
    if include_usage:
        tail: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created,
                                "model": model, "choices": [], "usage": usage}
        events.append(sse(tail))
    if workers_ai:
        events.append(sse({"response": "", "usage": usage}))
    events.append(DONE)
    return events


# ---- Workers AI classic -----------------------------------------------------------------

def _basic_usage(usage: dict[str, Any]) -> dict[str, int]:
    return {k: int(usage.get(k, 0)) for k in ("prompt_tokens", "completion_tokens",
                                              "total_tokens")}


def _legacy_calls(turn: Turn, scout: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for c in turn.tool_calls:
        args = json.loads(c["arguments"]) if c["arguments"] else {}
        if scout:
            out.append({"id": c["id"], "type": "function",
                        "function": {"name": c["name"], "arguments": args}})
        else:
            out.append({"name": c["name"], "arguments": args})
    return out


def classic_result(gen: Generation, *, scout: bool = False) -> dict[str, Any]:
    """``{"response", "tool_calls"?, "usage"}`` of a classic text-generation model."""
    turn = gen.turns[0]
    result: dict[str, Any] = {"response": turn.json_value if turn.is_json else (turn.text or "")}
    if turn.tool_calls:
        result["tool_calls"] = _legacy_calls(turn, scout)
    result["usage"] = _basic_usage(gen.usage)
    return result


def classic_events(gen: Generation, *, scout: bool = False) -> list[bytes]:
    """SSE events of a classic model stream (padding ``p``, usage last, ``[DONE]``)."""
    turn = gen.turns[0]
    events = [sse({"response": piece, "p": "abcdefghij"[: 1 + i % 10]})
              for i, piece in enumerate(_split_words(turn.text or ""))]
    if turn.tool_calls:
        events.append(sse({"response": "", "tool_calls": _legacy_calls(turn, scout)}))
    events.append(sse({"response": ""}))
    events.append(sse({"response": "", "usage": _basic_usage(gen.usage)}))
    events.append(DONE)
    return events


# ---- embeddings -------------------------------------------------------------------------

def embed(text: str, dim: int) -> list[float]:
    """A deterministic unit vector; texts sharing words get similar vectors."""
    vec = [0.0] * dim
    words = text.lower().split() or [""]
    for word in words:
        digest = hashlib.blake2b(word.encode(), digest_size=32).digest()
        for j in range(0, 32, 4):
            idx = int.from_bytes(digest[j:j + 3], "big") % dim
            vec[idx] += 1.0 if digest[j + 3] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [round(v / norm, 6) for v in vec]


def embed_b64(text: str, dim: int) -> str:
    """:func:`embed` as OpenAI's ``encoding_format: "base64"`` (little-endian float32)."""
    return base64.b64encode(struct.pack(f"<{dim}f", *embed(text, dim))).decode()
