"""Faults on demand: error statuses, hangs, broken streams and malformed bodies.

A fault comes from the ``x-cf-aig-emulator-fault`` request header (JSON) or from the
emulator's FIFO queue (``Emulator.enqueue(Fault(...))``). JSON form, every key optional
except ``kind``::

    {"kind": "status", "status": 429, "code": 3040, "envelope": "v4", "retry_after": 1,
     "message": "...", "match": "/chat/completions"}
    {"kind": "hang", "seconds": 0.5}                  # delay before headers, then answer
    {"kind": "disconnect", "after": 2}                # close the socket after 2 SSE events
    {"kind": "stall", "after": 2, "seconds": 0.5}     # pause after 2 SSE events
    {"kind": "malformed_json"} | {"kind": "malformed_sse", "after": 1}
    {"kind": "success_false", "code": 3040}           # 200 with a v4 success:false body
    {"kind": "stream_error", "after": 1, "code": 3040, "message": "..."}
    {"kind": "json_for_stream"}                       # JSON body though a stream was asked

>>> Fault.from_dict({"kind": "status", "code": 3040}).resolved_status()
429
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

KINDS = frozenset({"status", "hang", "disconnect", "stall", "malformed_json", "malformed_sse",
                   "success_false", "stream_error", "json_for_stream"})
ENVELOPES = frozenset({"v4", "gateway", "openai", "anthropic", "provider"})
"""``provider``: the route's own provider shape (Anthropic on ``/ai/v1/messages``, OpenAI on
``/ai/v1/chat/completions``, ``/ai/v1/responses`` and ``/ai/v1/embeddings``, v4 elsewhere)."""

CODE_STATUS: dict[int, int] = {
    3040: 429, 3036: 429, 4006: 429, 2041: 429, 2003: 429, 7013: 503, 2016: 424, 2017: 424,
    2021: 402, 10000: 401, 2009: 401, 3007: 408, 3008: 408, 3046: 408, 5007: 400, 7003: 404,
    2001: 400, 5021: 413, 5035: 403, 5016: 403,
}
CODE_MESSAGE: dict[int, str] = {
    3040: "Capacity temporarily exceeded, please try again.",
    3036: "AiError: Account limited: you have used up your daily free allocation",
    4006: "you have used up your daily free allocation of 10,000 neurons",
    2041: "Spend limit exceeded: rule 'emulator' (cost limit 100 per 604800s, sliding)",
    2003: "Rate limited",
    7013: "Guardrails scanner unavailable",
    2016: "Prompt blocked due to security configurations",
    2017: "Response blocked due to security configurations",
    2021: "Insufficient balance; add money to your gateway or use BYOK",
    10000: "Authentication error",
    2009: "Unauthorized",
    3007: "Request timeout",
    7003: "Model not found",
}
STATUS_CODE: dict[int, int] = {408: 3007, 429: 3040, 500: 3043, 502: 3043, 503: 3040,
                               504: 3007, 401: 10000, 402: 2021, 424: 2016}


@dataclass
class Fault:
    """One scripted failure; see the module docstring for the meaning of each kind."""

    kind: str = "status"
    status: int | None = None
    code: int | None = None
    message: str | None = None
    envelope: str | None = None
    retry_after: float | None = None
    seconds: float = 0.2
    after: int = 1
    match: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"fault kind must be one of {sorted(KINDS)}, got {self.kind!r}")
        if self.envelope is not None and self.envelope not in ENVELOPES:
            raise ValueError(f"fault envelope must be one of {sorted(ENVELOPES)}, "
                             f"got {self.envelope!r}")
        if self.status is not None and not (isinstance(self.status, int)
                                            and 100 <= self.status <= 599):
            raise ValueError(f"fault status must be an HTTP status, got {self.status!r}")
        if not isinstance(self.seconds, (int, float)) or self.seconds < 0:
            raise ValueError(f"fault seconds must be >= 0, got {self.seconds!r}")
        if not isinstance(self.after, int) or self.after < 0:
            raise ValueError(f"fault after must be an integer >= 0, got {self.after!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown fault field(s) {sorted(unknown)}; known: {sorted(names)}")
        return cls(**dict(data))

    @classmethod
    def from_header(cls, raw: str) -> Fault:
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"x-cf-aig-emulator-fault is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("x-cf-aig-emulator-fault must be a JSON object")
        return cls.from_dict(data)

    def resolved_status(self) -> int:
        if self.status is not None:
            return self.status
        return CODE_STATUS.get(self.code or 0, 500)

    def resolved_code(self) -> int:
        if self.code is not None:
            return self.code
        return STATUS_CODE.get(self.resolved_status(), 3043)

    def resolved_message(self) -> str:
        if self.message:
            return self.message
        return CODE_MESSAGE.get(self.resolved_code(),
                                f"Emulated upstream failure (HTTP {self.resolved_status()})")

    def resolved_envelope(self) -> str:
        if self.envelope:
            return self.envelope
        code = self.resolved_code()
        return "gateway" if 2000 <= code < 3000 or code in (7003, 7013) else "v4"
