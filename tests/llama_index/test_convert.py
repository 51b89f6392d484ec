"""Pure converter tests: messages, blocks, tools, tool choice, stream assembly."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from li_tools import ADD
from llama_index.core.base.llms.types import (
    AudioBlock,
    CachePoint,
    ChatMessage,
    ChatResponse,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)

from cf_aig.profiles import get_profile
from llama_index_cf_aig.convert import (
    StreamConverter,
    UnsupportedContentError,
    completion_to_response,
    message_to_canonical,
    parse_arguments,
    tool_selections,
    tool_to_canonical,
)

GPT = get_profile("openai/gpt-5.5")


def chunk(*calls: dict[str, Any], content: str | None = None, finish: str | None = None) -> Any:
    delta: dict[str, Any] = {}
    if content is not None:
        delta["content"] = content
    if calls:
        delta["tool_calls"] = list(calls)
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def frag(
    index: int | None = None,
    id: str | None = None,
    name: str | None = None,
    args: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"function": {}}
    if index is not None:
        out["index"] = index
    if id is not None:
        out["id"] = id
    if name is not None:
        out["function"]["name"] = name
    if args is not None:
        out["function"]["arguments"] = args
    return out


def run(*chunks: Any) -> list[ChatResponse]:
    conv = StreamConverter({"log_id": "L"})
    return [conv.feed(c) for c in chunks]


def calls_of(response: ChatResponse) -> list[tuple[str | None, str, dict[str, Any]]]:
    return [
        (b.tool_call_id, b.tool_name, b.tool_kwargs)  # type: ignore[misc]
        for b in response.message.blocks
        if isinstance(b, ToolCallBlock)
    ]


# ---- stream assembly ---------------------------------------------------------------------


def test_fragments_assemble_by_index() -> None:
    out = run(
        chunk(frag(0, "call_a", "add", "")),
        chunk(frag(0, args='{"a": ')),
        chunk(frag(0, args="2, ")),
        chunk(frag(0, args='"b": 3}'), finish="tool_calls"),
    )
    assert calls_of(out[-1]) == [("call_a", "add", {"a": 2, "b": 3})]
    kw = out[-1].message.additional_kwargs["tool_calls"]
    assert kw == [
        {
            "id": "call_a",
            "type": "function",
            "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
        }
    ]
    assert calls_of(out[1]) == [("call_a", "add", {})]  # partial JSON tolerated
    assert calls_of(out[2]) == [("call_a", "add", {"a": 2})]


def test_several_calls_in_one_chunk() -> None:
    out = run(
        chunk(frag(0, "c0", "add", '{"a": 1'), frag(1, "c1", "multiply", '{"a": 3')),
        chunk(frag(0, args=', "b": 2}'), frag(1, args=', "b": 4}'), finish="tool_calls"),
    )
    assert calls_of(out[-1]) == [
        ("c0", "add", {"a": 1, "b": 2}),
        ("c1", "multiply", {"a": 3, "b": 4}),
    ]


def test_repeated_ids_are_set_not_appended() -> None:
    out = run(
        chunk(frag(0, "call_x", "add", '{"a":')),
        chunk(frag(0, "call_x", "add", " 1}"), finish="tool_calls"),
    )
    assert calls_of(out[-1]) == [("call_x", "add", {"a": 1})]


def test_missing_index_uses_ids_then_position() -> None:
    out = run(
        chunk(frag(id="c0", name="add", args='{"a": 1}')),
        chunk(frag(id="c1", name="multiply", args='{"a":')),
        chunk(frag(args=" 2}")),  # no index, no id: continues the latest call
        chunk(frag(id="c0", args="")),  # a known id maps back to its call
        chunk(finish="tool_calls"),
    )
    assert calls_of(out[-1]) == [("c0", "add", {"a": 1}), ("c1", "multiply", {"a": 2})]


def test_missing_ids_generated_once_at_finish() -> None:
    conv = StreamConverter()
    first = conv.feed(chunk(frag(0, name="add", args="{}")))
    assert calls_of(first)[0][0] is None
    done = conv.feed(chunk(finish="tool_calls"))
    generated = calls_of(done)[0][0]
    assert generated and generated.startswith("call_")
    usage = conv.feed(
        {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}
    )
    assert calls_of(usage)[0][0] == generated
    assert usage.additional_kwargs["total_tokens"] == 3 and usage.delta == ""


def test_late_id_is_kept() -> None:
    out = run(
        chunk(frag(0, name="add", args="{")),
        chunk(frag(0, "late", args="}")),
        chunk(finish="tool_calls"),
    )
    assert calls_of(out[-1])[0][0] == "late"


def test_text_stream_cumulative_with_reasoning_out_of_delta() -> None:
    conv = StreamConverter()
    a = conv.feed({"choices": [{"index": 0, "delta": {"reasoning_content": "think "}}]})
    b = conv.feed({"choices": [{"index": 0, "delta": {"content": "Hel"}}]})
    c = conv.feed({"choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]})
    assert [r.delta for r in (a, b, c)] == ["", "Hel", "lo"]
    assert a.additional_kwargs["thinking_delta"] == "think "
    assert c.message.content == "Hello"
    assert isinstance(c.message.blocks[0], ThinkingBlock)
    assert c.message.blocks[0].content == "think "
    assert c.additional_kwargs["finish_reason"] == "stop"


# ---- completion -> response -----------------------------------------------------------------


def test_completion_with_tool_calls_only() -> None:
    completion = {
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }
    r = completion_to_response(completion, {"log_id": "L"})
    assert r.message.content == ""
    assert calls_of(r) == [("c1", "add", {"a": 1, "b": 2})]
    assert r.additional_kwargs["gateway"] == {"log_id": "L"}
    assert r.additional_kwargs["prompt_tokens"] == 3 and r.raw["usage"]["total_tokens"] == 7
    sel = tool_selections(r)
    assert (sel[0].tool_id, sel[0].tool_name, sel[0].tool_kwargs) == ("c1", "add", {"a": 1, "b": 2})


def test_tool_selections_from_additional_kwargs_only() -> None:
    msg = ChatMessage(
        role="assistant",
        content="",
        additional_kwargs={
            "tool_calls": [{"id": "c9", "function": {"name": "add", "arguments": '{"a": 1'}}]
        },
    )
    sel = tool_selections(ChatResponse(message=msg))
    assert (sel[0].tool_id, sel[0].tool_kwargs) == ("c9", {"a": 1})
    assert tool_selections(ChatResponse(message=ChatMessage(content="x")), False) == []
    with pytest.raises(ValueError, match="tool call"):
        tool_selections(ChatResponse(message=ChatMessage(content="x")))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('{"a": 1, "b": [1, 2', {"a": 1, "b": [1, 2]}),
        ("", {}),
        ("not json", {}),
        ("[1, 2]", {}),
        ({"x": 1}, {"x": 1}),
        (None, {}),
    ],
)
def test_parse_arguments(raw: Any, expected: dict[str, Any]) -> None:
    assert parse_arguments(raw) == expected


# ---- messages -> canonical ---------------------------------------------------------------


def test_text_messages_and_roles() -> None:
    assert message_to_canonical(ChatMessage(role="system", content="S")) == {
        "role": "system",
        "content": "S",
    }
    multi = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="a"),
            CachePoint(cache_control={"type": "ephemeral"}),
            TextBlock(text="b"),
        ],
    )
    assert message_to_canonical(multi) == {"role": "user", "content": [  # CachePoint marks "a"
        {"type": "text", "text": "a", "cache_control": {"type": "ephemeral", "ttl": "5m"}},
        {"type": "text", "text": "b"}]}
    assert message_to_canonical(ChatMessage(role="model", content="x"))["role"] == "assistant"


def test_images_url_and_base64() -> None:
    raw = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    msg = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="look"),
            ImageBlock(url="https://example.com/a.jpg", detail="low"),
            ImageBlock(image=base64.b64encode(raw), image_mimetype="image/png"),
        ],
    )
    parts = message_to_canonical(msg, GPT)["content"]
    assert parts[0] == {"type": "text", "text": "look"}
    assert parts[1] == {
        "type": "image_url",
        "image_url": {"url": "https://example.com/a.jpg", "detail": "low"},
    }
    assert parts[2]["image_url"]["url"] == (
        "data:image/png;base64," + base64.b64encode(raw).decode()
    )


def test_document_block_becomes_file_part() -> None:
    pdf = b"%PDF-1.4\n%%EOF"
    msg = ChatMessage(
        role="user",
        blocks=[DocumentBlock(data=pdf, title="a.pdf", document_mimetype="application/pdf")],
    )
    part = message_to_canonical(msg, GPT)["content"][0]
    assert part["type"] == "file" and part["file"]["filename"] == "a.pdf"
    assert part["file"]["file_data"].startswith("data:application/pdf;base64,")


def test_capabilities_checked_for_known_models_only() -> None:
    img = ChatMessage(role="user", blocks=[ImageBlock(url="https://example.com/a.png")])
    with pytest.raises(UnsupportedContentError, match="image"):
        message_to_canonical(img, get_profile("@cf/meta/llama-3.1-8b-instruct"))
    assert message_to_canonical(img, get_profile("acme/new-model"))["content"][0]["type"] == (
        "image_url"
    )
    doc = ChatMessage(role="user", blocks=[DocumentBlock(data=b"%PDF-1.4")])
    with pytest.raises(UnsupportedContentError, match="document"):
        message_to_canonical(doc, get_profile("@cf/moonshotai/kimi-k2.6"))


def test_unsupported_blocks_raise_clearly() -> None:
    msg = ChatMessage(role="user", blocks=[VideoBlock(video=b"abc")])
    with pytest.raises(UnsupportedContentError, match="VideoBlock"):
        message_to_canonical(msg)
    audio = ChatMessage(role="user", blocks=[AudioBlock(audio=b"abc", format="mp3")])
    assert message_to_canonical(audio)["content"] == [
        {"type": "input_audio", "input_audio": {"data": "YWJj", "format": "mp3"}}]


def test_assistant_thinking_and_tool_call_blocks() -> None:
    msg = ChatMessage(
        role="assistant",
        blocks=[
            ThinkingBlock(content="hmm"),
            TextBlock(text=""),
            ToolCallBlock(tool_call_id="c1", tool_name="add", tool_kwargs={"a": 1}),
        ],
    )
    out = message_to_canonical(msg)
    assert "reasoning_content" not in out  # no endpoint takes unsigned thinking back
    assert out["tool_calls"] == [
        {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}
    ]


def test_assistant_legacy_tool_calls_and_tool_results() -> None:
    msg = ChatMessage(
        role="assistant",
        content=None,
        additional_kwargs={
            "tool_calls": [
                {"id": "c2", "type": "function", "function": {"name": "add", "arguments": {"a": 2}}}
            ]
        },
    )
    out = message_to_canonical(msg)
    assert out["tool_calls"][0]["function"]["arguments"] == '{"a": 2}'
    assert out["content"] is None
    tool = ChatMessage(
        role=MessageRole.TOOL, content="3", additional_kwargs={"tool_call_id": "c2", "name": "add"}
    )
    assert message_to_canonical(tool) == {
        "role": "tool",
        "content": "3",
        "tool_call_id": "c2",
        "name": "add",
    }
    with pytest.raises(UnsupportedContentError, match="tool_call_id"):
        message_to_canonical(ChatMessage(role="tool", content="3"))


# ---- tools ----------------------------------------------------------------------------------


def test_tool_to_canonical() -> None:
    spec = tool_to_canonical(ADD)
    assert spec["type"] == "function" and spec["function"]["name"] == "add"
    params = spec["function"]["parameters"]
    assert set(params["properties"]) == {"a", "b"} and params["required"] == ["a", "b"]
    json.dumps(spec)




@pytest.mark.parametrize(("model", "kind"), [("@cf/meta/llama-3.1-8b-instruct", "image"),
                                             ("@cf/moonshotai/kimi-k2.6", "file")])
def test_media_refusal_is_the_core_rule(model: str, kind: str) -> None:
    # The converter refuses with the very rule (and words) the core applies for LangChain.
    from cf_aig.errors import ConfigurationError
    from cf_aig.policy import check_media, media_refusal

    block = (ImageBlock(url="https://example.com/a.png") if kind == "image"
             else DocumentBlock(data=b"%PDF-1.4"))
    with pytest.raises(UnsupportedContentError) as converted:
        message_to_canonical(ChatMessage(role="user", blocks=[block]), get_profile(model))
    part = ({"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
            if kind == "image" else {"type": "file", "file": {"file_data": "data:"}})
    with pytest.raises(ConfigurationError) as core:
        check_media({"model": model, "messages": [{"role": "user", "content": [part]}]})
    assert str(converted.value) == media_refusal(get_profile(model), kind)  # type: ignore[arg-type]
    assert str(core.value) == f"messages[0]: {converted.value}"
