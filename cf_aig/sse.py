"""Incremental Server-Sent Events decoder over bytes (sans-I/O).

Handles ``event:`` lines, comments, LF/CRLF/CR line ends (also split across reads),
multi-line ``data``, and UTF-8 split across reads (lines are cut on bytes, decoded
whole). ``data`` is returned as bytes so it can go straight to a JSON parser.

>>> d = SSEDecoder()
>>> d.feed(b'event: ping\\ndata: {"a"') + d.feed(b':1}\\n\\ndata: [DONE]\\n\\n')
[('ping', b'{"a":1}'), (None, b'[DONE]')]
"""

from __future__ import annotations

Event = tuple[str | None, bytes]


class SSEDecoder:
    """Feed raw bytes, get back complete ``(event_name, data)`` pairs."""

    __slots__ = ("_buf", "_data", "_event")

    def __init__(self) -> None:
        self._buf = b""
        self._event: str | None = None
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[Event]:
        if (
            not self._buf
            and not self._data
            and self._event is None
            and chunk.startswith(b"data: ")
            and chunk.endswith(b"\n\n")
            and chunk.count(b"\n") == 2
            and b"\r" not in chunk
        ):  # fast path: one whole one-line event per read, the common case
            return [(None, chunk[6:-2])]
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            hold = buf.endswith(b"\r")  # maybe the first half of a CRLF: wait for more
            if hold:
                buf = buf[:-1]
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if hold:
                buf += b"\r"
        lines = buf.split(b"\n")
        self._buf = lines.pop()
        out: list[Event] = []
        for line in lines:
            self._line(line, out)
        return out

    def flush(self) -> list[Event]:
        """End of input: decode what is left (a last event without its blank line)."""
        out: list[Event] = []
        rest, self._buf = self._buf.rstrip(b"\r"), b""
        if rest:
            self._line(rest, out)
        self._line(b"", out)
        return out

    def _line(self, line: bytes, out: list[Event]) -> None:
        if not line:
            if self._data:
                out.append((self._event, b"\n".join(self._data)))
            self._data = []
            self._event = None
            return
        if line.startswith(b"data:"):
            value = line[5:]
            self._data.append(value[1:] if value.startswith(b" ") else value)
        elif line.startswith(b":"):
            return  # comment / keep-alive
        elif line.startswith(b"event:"):
            self._event = line[6:].strip().decode("utf-8", "replace")
        # id:, retry: and unknown fields are ignored, as the SSE spec allows
