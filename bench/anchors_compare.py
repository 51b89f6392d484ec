"""The anchors and ours on the same emulator: prompt caching, structured output and a
thinking agent, side by side on Anthropic's wire.

    python bench/anchors_compare.py

Anchors: ``langchain-anthropic`` (``ChatAnthropic``) and ``llama-index-llms-anthropic``
(``Anthropic``), pointed at the emulator's ``/ai/v1/messages``: the Anthropic SDK appends
``/v1/messages`` to its base URL, so ``base_url`` is ``{emulator}/accounts/{account}/ai``;
the token goes as ``Authorization: Bearer`` (the SDK's own ``x-api-key`` is ignored by the
gateway). Ours: ``ChatCloudflareAIGateway`` / ``CloudflareAIGateway`` with ``api="messages"``.

Each row is one library running one scenario from a reset emulator; the columns are read
from what the emulator received (wire body features) and what the library reported
(usage, outcome). Nothing is timed. Needs the ``bench`` extra.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import (
    CacheControl,
    CachePoint,
    ChatMessage,
    LLMMetadata,
    TextBlock,
)
from llama_index.core.memory import Memory
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from cf_aig.emulator import Emulator
from cf_aig.emulator.messages import signature_for

MODEL = "anthropic/claude-sonnet-4.5"
TOKEN = "bench-token"
DOC = "The rules of chess fill many pages. " * 40
MARK = {"type": "ephemeral"}


class City(BaseModel):
    """A city and how many times it was named."""

    city: str
    count: int


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


# --------------------------------------------------------------------------- the four libraries


def lc_anchor(emu: Emulator, **kw: Any) -> Any:
    from langchain_anthropic import ChatAnthropic

    return ChatAnthropic(model=MODEL, base_url=f"{emu.base_url}/accounts/{emu.account_id}/ai",
                         api_key="unused", default_headers={"Authorization": f"Bearer {TOKEN}"},
                         max_tokens=4096, **kw)


def lc_ours(emu: Emulator, **kw: Any) -> Any:
    from langchain_cf_aig import ChatCloudflareAIGateway

    return ChatCloudflareAIGateway(model=MODEL, api="messages", account_id=emu.account_id,
                                   api_token=TOKEN, base_url=emu.base_url, max_tokens=4096, **kw)


def li_anchor(emu: Emulator, **kw: Any) -> Any:
    from llama_index.llms.anthropic import Anthropic

    class GatewayAnthropic(Anthropic):  # the gateway's model name is not in its table
        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(context_window=200_000, num_output=self.max_tokens,
                               is_chat_model=True, is_function_calling_model=True,
                               model_name=self.model)

    return GatewayAnthropic(model=MODEL, base_url=f"{emu.base_url}/accounts/{emu.account_id}/ai",
                            api_key="unused",
                            default_headers={"Authorization": f"Bearer {TOKEN}"},
                            max_tokens=4096, **kw)


def li_ours(emu: Emulator, **kw: Any) -> Any:
    from llama_index_cf_aig import CloudflareAIGateway

    return CloudflareAIGateway(model=MODEL, api="messages", account_id=emu.account_id,
                               api_token=TOKEN, base_url=emu.base_url, max_tokens=4096, **kw)


# --------------------------------------------------------------------------- wire features


def _bodies(emu: Emulator) -> list[dict[str, Any]]:
    return [r.json for r in emu.requests if r.method == "POST" and isinstance(r.json, dict)]


def _count(node: Any, key: str) -> int:
    if isinstance(node, dict):
        return (key in node) + sum(_count(v, key) for v in node.values())
    if isinstance(node, list):
        return sum(_count(v, key) for v in node)
    return 0


def wire(emu: Emulator) -> str:
    """What the requests carried, in a few words."""
    bodies = _bodies(emu)
    out = [f"{len(bodies)} req"]
    marks = sum(_count(b, "cache_control") for b in bodies)
    if marks:
        out.append(f"cache_control x{marks}")
    if any("output_config" in b or "output_format" in b for b in bodies):
        out.append("output_config json_schema")
    choices = {"null" if b["tool_choice"] is None else str(b["tool_choice"].get("type"))
               for b in bodies if "tool_choice" in b}
    if choices:
        out.append("tool_choice " + "/".join(sorted(choices)))
    if any(b.get("thinking") for b in bodies):
        out.append("thinking " + str(bodies[0].get("thinking", {}).get("type")))
    signed = [blk for b in bodies for m in b.get("messages") or () if m.get("role") == "assistant"
              and isinstance(m.get("content"), list) for blk in m["content"]
              if blk.get("type") == "thinking"]
    if signed:
        valid = sum(blk.get("signature") == signature_for(blk.get("thinking", "")) for blk in signed)
        out.append(f"thinking sent back {valid}/{len(signed)} signed")
    return ", ".join(out)


# --------------------------------------------------------------------------- scenarios


def caching_lc(make: Callable[..., Any], emu: Emulator) -> tuple[str, str]:
    llm = make(emu)
    prompt = [HumanMessage([{"type": "text", "text": DOC, "cache_control": MARK},
                            {"type": "text", "text": "Summarise in one line."}])]
    first, second = llm.invoke(prompt), llm.invoke(prompt)

    def fmt(m: Any) -> str:
        d = (m.usage_metadata or {}).get("input_token_details") or {}
        return f"write {d.get('cache_creation')} read {d.get('cache_read')}"
    return f"1st {fmt(first)}; 2nd {fmt(second)}", "ok"


def caching_li(make: Callable[..., Any], emu: Emulator) -> tuple[str, str]:
    llm = make(emu)
    msgs = [ChatMessage(role="user", blocks=[TextBlock(text=DOC), CachePoint(
        cache_control=CacheControl(type="ephemeral")), TextBlock(text="Summarise in one line.")])]
    first, second = llm.chat(msgs), llm.chat(msgs)

    def fmt(r: Any) -> str:
        kw = r.additional_kwargs
        if "cache_creation_tokens" in kw:  # ours: token counts in additional_kwargs
            return f"write {kw['cache_creation_tokens']} read {kw['cache_read_tokens']}"
        usage = r.raw.get("usage") if isinstance(r.raw, dict) else None  # anchor: raw usage
        usage = usage.model_dump() if hasattr(usage, "model_dump") else usage or {}
        return (f"write {usage.get('cache_creation_input_tokens')} "
                f"read {usage.get('cache_read_input_tokens')}")
    return f"1st {fmt(first)}; 2nd {fmt(second)}", "ok"


def structured_lc(make: Callable[..., Any], emu: Emulator) -> tuple[str, str]:
    result = make(emu).with_structured_output(City).invoke("Berlin, count 4")
    return "-", "ok" if result == City(city="Berlin", count=4) else f"got {result!r}"


def structured_li(make: Callable[..., Any], emu: Emulator) -> tuple[str, str]:
    result = make(emu).structured_predict(City, PromptTemplate("{t}"), t="Berlin, count 4")
    return "-", "ok" if result == City(city="Berlin", count=4) else f"got {result!r}"


def agent_lc(make: Callable[..., Any], emu: Emulator, **thinking: Any) -> tuple[str, str]:
    agent = create_agent(make(emu, **thinking), tools=[multiply])
    state = agent.invoke({"messages": [HumanMessage("Please multiply 6 by 7")]})
    state = agent.invoke({"messages": [*state["messages"], HumanMessage("Now multiply 3 by 5")]})
    last = state["messages"][-1]
    usage = last.usage_metadata or {}
    ok = "42" in str(state["messages"]) and "15" in last.text
    return f"out {usage.get('output_tokens')}", "ok (2 turns)" if ok else "wrong answer"


def agent_li(make: Callable[..., Any], emu: Emulator, **thinking: Any) -> tuple[str, str]:
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(multiply)], llm=make(emu, **thinking))
    memory = Memory.from_defaults(session_id="bench")

    async def run() -> tuple[Any, Any]:
        one = await agent.run(user_msg="Please multiply 6 by 7", memory=memory)
        two = await agent.run(user_msg="Now multiply 3 by 5", memory=memory)
        return one, two
    one, two = asyncio.run(run())
    ok = "42" in str(one) and "15" in str(two)
    return "-", "ok (2 turns)" if ok else "wrong answer"


def main() -> int:
    lc_thinking = {"thinking": {"type": "enabled", "budget_tokens": 2048}}
    li_thinking = {"thinking_dict": {"type": "enabled", "budget_tokens": 2048}}
    rows = [
        ("caching", "LangChain", "ChatAnthropic", lc_anchor, caching_lc, {}),
        ("caching", "LangChain", "ours", lc_ours, caching_lc, {}),
        ("caching", "LlamaIndex", "Anthropic", li_anchor, caching_li, {}),
        ("caching", "LlamaIndex", "ours", li_ours, caching_li, {}),
        ("structured output", "LangChain", "ChatAnthropic", lc_anchor, structured_lc, {}),
        ("structured output", "LangChain", "ours", lc_ours, structured_lc, {}),
        ("structured output", "LlamaIndex", "Anthropic", li_anchor, structured_li, {}),
        ("structured output", "LlamaIndex", "ours", li_ours, structured_li, {}),
        ("thinking agent", "LangChain", "ChatAnthropic", lc_anchor, agent_lc, lc_thinking),
        ("thinking agent", "LangChain", "ours", lc_ours, agent_lc, {"reasoning_effort": "low"}),
        ("thinking agent", "LlamaIndex", "Anthropic", li_anchor, agent_li, li_thinking),
        ("thinking agent", "LlamaIndex", "ours", li_ours, agent_li, {"reasoning_effort": "low"}),
    ]
    table = [("scenario", "framework", "library", "wire body features", "usage", "outcome")]
    with Emulator() as emu:
        for scenario, framework, library, make, run, extra in rows:
            emu.reset()
            try:
                usage, outcome = run(make, emu, **extra)
            except Exception as exc:  # a row that fails is reported, not fatal
                usage, outcome = "-", f"error: {type(exc).__name__}: {str(exc)[:80]}"
            table.append((scenario, framework, library, wire(emu), usage, outcome))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for n, row in enumerate(table):
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            print("-+-".join("-" * w for w in widths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
