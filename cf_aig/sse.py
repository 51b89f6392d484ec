"""Incremental Server-Sent Events decoder over bytes (sans-I/O).

Handles ``event:`` lines, comments, LF/CRLF/CR line ends (also split across reads),
multi-line ``data``, and UTF-8 split across reads (lines are cut on bytes, decoded
whole). ``data`` is returned as bytes so it can go straight to a JSON parser.

Bounded and linear: each byte is scanned once (an unfinished line is kept as a list of
pieces, joined once when its end arrives), and a line or an event longer than
``max_event_bytes`` raises :class:`~cf_aig.errors.ResponseTooLargeError`.

>>> d = SSEDecoder()
>>> d.feed(b'event: ping\\ndata: {"a"') + d.feed(b':1}\\n\\ndata: [DONE]\\n\\n')
[('ping', b'{"a":1}'), (None, b'[DONE]')]
"""

from __future__ import annotations

from .errors import ResponseTooLargeError

Event = tuple[str | None, bytes]
DEFAULT_MAX_EVENT_BYTES = 16 * 2**20


class SSEDecoder:
    """Feed raw bytes, get back complete ``(event_name, data)`` pairs.

    >>> SSEDecoder(max_event_bytes=8).feed(b"data: " + b"x" * 9)
    Traceback (most recent call last):
    ...
    cf_aig.errors.ResponseTooLargeError: one stream line is longer than 8 bytes...
    """

    __slots__ = ("_data", "_data_size", "_event", "_max", "_pending", "_pending_size",
                 "_skip_lf")

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._max = max_event_bytes
        self._pending: list[bytes] = []  # pieces of the unfinished line
        self._pending_size = 0
        self._skip_lf = False  # the last piece ended with CR: a leading LF is its pair
        self._event: str | None = None
        self._data: list[bytes] = []
        self._data_size = 0

    def feed(self, chunk: bytes) -> list[Event]:
        if (
            not self._pending
            and not self._data
            and self._event is None
            and not self._skip_lf
            and chunk.startswith(b"data: ")
            and chunk.endswith(b"\n\n")
            and chunk.count(b"\n") == 2
            and b"\r" not in chunk
            and len(chunk) <= self._max
        ):  # fast path: one whole one-line event per read, the common case
            return [(None, chunk[6:-2])]
        if self._skip_lf:
            self._skip_lf = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._skip_lf = chunk.endswith(b"\r")
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        out: list[Event] = []
        end = chunk.find(b"\n")
        if end < 0:
            self._hold(chunk)
            return out
        first = chunk[:end]
        if self._pending:
            self._hold(first)
            first = b"".join(self._pending)
            self._pending, self._pending_size = [], 0
        self._line(first, out)
        lines = chunk[end + 1:].split(b"\n")
        self._hold(lines.pop())
        for line in lines:
            self._line(line, out)
        return out

    def _hold(self, piece: bytes) -> None:
        if piece:
            self._pending_size += len(piece)
            if self._pending_size > self._max:
                self._pending, self._pending_size = [], 0
                raise self._too_large("line")
            self._pending.append(piece)

    def _too_large(self, what: str) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"one stream {what} is longer than {self._max} bytes (the stream's cap per "
            "line/event, min(16 MiB, max_response_bytes))", limit=self._max)

    def flush(self) -> list[Event]:
        """End of input: decode what is left (a last event without its blank line)."""
        out: list[Event] = []
        rest = b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        if rest:
            self._line(rest, out)
        self._line(b"", out)
        return out

    def _line(self, line: bytes, out: list[Event]) -> None:
        if len(line) > self._max:
            raise self._too_large("line")
        if not line:
            if self._data:
                out.append((self._event, b"\n".join(self._data)))
            self._data = []
            self._data_size = 0
            self._event = None
            return
        if line.startswith(b"data:"):
            value = line[5:]
            value = value[1:] if value.startswith(b" ") else value
            self._data_size += len(value) + 1
            if self._data_size > self._max:
                self._data, self._data_size = [], 0
                raise self._too_large("event")
            self._data.append(value)
        elif line.startswith(b":"):
            return  # comment / keep-alive
        elif line.startswith(b"event:"):
            self._event = line[6:].strip().decode("utf-8", "replace")
        # id:, retry: and unknown fields are ignored, as the SSE spec allows
