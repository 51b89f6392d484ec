"""SSE decoder: framing rules and split-invariance (property tests)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cf_aig.sse import SSEDecoder


def decode_all(parts: list[bytes]) -> list[tuple[str | None, bytes]]:
    d = SSEDecoder()
    out = []
    for p in parts:
        out.extend(d.feed(p))
    out.extend(d.flush())
    return out


def test_basic_events_comments_and_event_names() -> None:
    raw = (b": keep-alive\n\nevent: message_start\ndata: {\"a\":1}\n\n"
           b"data: line1\ndata: line2\n\nid: 7\nretry: 10\ndata: x\n\ndata: [DONE]\n\n")
    assert decode_all([raw]) == [
        ("message_start", b'{"a":1}'), (None, b"line1\nline2"), (None, b"x"), (None, b"[DONE]")]


def test_crlf_and_cr_line_endings_even_split_between_cr_and_lf() -> None:
    raw = b"data: a\r\n\r\ndata: b\r\rdata: c\n\n"
    expected = [(None, b"a"), (None, b"b"), (None, b"c")]
    assert decode_all([raw]) == expected
    for i in range(len(raw) + 1):
        assert decode_all([raw[:i], raw[i:]]) == expected


def test_utf8_split_across_reads() -> None:
    raw = 'data: {"t":"héllo 世界 🌍"}\n\n'.encode()
    for i in range(len(raw) + 1):
        assert decode_all([raw[:i], raw[i:]]) == [(None, '{"t":"héllo 世界 🌍"}'.encode())]


def test_last_event_without_blank_line_is_flushed() -> None:
    assert decode_all([b'data: {"x":1}']) == [(None, b'{"x":1}')]


def test_data_without_space_and_padding_field() -> None:
    assert decode_all([b'data:{"response":"a","p":"xyz"}\n\n']) == [
        (None, b'{"response":"a","p":"xyz"}')]


_payload = st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]),
                   max_size=30)
_events = st.lists(st.tuples(st.one_of(st.none(), st.sampled_from(["ping", "delta", "error"])),
                             _payload), max_size=12)


@given(_events, st.lists(st.integers(min_value=0, max_value=400), max_size=10),
       st.sampled_from([b"\n", b"\r\n", b"\r"]))
def test_any_split_decodes_the_same(events: list[tuple[str | None, str]], cuts: list[int],
                                    eol: bytes) -> None:
    raw = b""
    for name, data in events:
        if name:
            raw += b"event: " + name.encode() + eol
        raw += b"data: " + data.encode() + eol + eol
    expected = [(n, d.encode()) for n, d in events]
    positions = sorted({min(c, len(raw)) for c in cuts})
    parts, last = [], 0
    for p in positions:
        parts.append(raw[last:p])
        last = p
    parts.append(raw[last:])
    got = decode_all(parts)
    # an empty payload is still an event ("data: " line present)
    assert got == expected


@given(st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=300), max_size=6))
def test_garbage_never_raises(raw: bytes, cuts: list[int]) -> None:
    parts, last = [], 0
    for p in sorted({min(c, len(raw)) for c in cuts}):
        parts.append(raw[last:p])
        last = p
    parts.append(raw[last:])
    for name, data in decode_all(parts):
        assert isinstance(data, bytes)
        assert name is None or isinstance(name, str)


def test_fast_path_keeps_a_pending_event_name() -> None:
    d = SSEDecoder()
    assert d.feed(b"event: message_start\n") == []
    assert d.feed(b'data: {"a":1}\n\n') == [("message_start", b'{"a":1}')]
    assert d.feed(b"data: x\n\n") == [(None, b"x")]
