"""Shared pieces of the reliability suite: a distinctive token, model factories for the
core and both adapters, short client-side backoff, and the fault-matrix recorder.

The recorder writes every observed fault-matrix row (real attempt counts from the
emulator) to ``/tmp/cf_aig_fault_matrix.md`` and ``.json`` at the end of the session.
"""

from __future__ import annotations

import functools
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cf_aig import _protocol
from cf_aig.emulator import Emulator

TOKEN = "cfat_SECRET_TOKEN_0123456789abcdef"
"""A distinctive API token; no test output may ever contain it."""
ACCOUNT = "acc-reliability"
MODEL = "openai/gpt-5.5"
PROMPT = "Hello there, gateway"
FAST_DELAY = 0.01
MATRIX_PATH = Path("/tmp/cf_aig_fault_matrix")


def model_calls(emu: Emulator) -> list[Any]:
    """Model requests the emulator received (logs API excluded)."""
    return [r for r in emu.requests if "/ai/" in r.path and "ai-gateway" not in r.path]


def closed_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Client-side backoff base of 10 ms for every core client built in the test.

    Neither adapter exposes the core's ``retry_base_delay``; only the base delay changes,
    never which errors are retried or how many attempts are made.
    """
    original = _protocol.Core.__init__

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("retry_base_delay", FAST_DELAY)
        original(self, *args, **kwargs)

    monkeypatch.setattr(_protocol.Core, "__init__", init)


# ---- model factories ------------------------------------------------------------------


def creds(base_url: str, **extra: Any) -> dict[str, Any]:
    return {"account_id": ACCOUNT, "api_token": TOKEN, "base_url": base_url, **extra}


def make_langchain(base_url: str, **extra: Any) -> Any:
    from langchain_cf_aig import ChatCloudflareAIGateway

    return ChatCloudflareAIGateway(model=MODEL, **creds(base_url, **extra))


def make_llama_index(base_url: str, **extra: Any) -> Any:
    from llama_index_cf_aig import CloudflareAIGateway

    return CloudflareAIGateway(model=MODEL, **creds(base_url, **extra))


def li_messages(text: str = PROMPT) -> list[Any]:
    from llama_index.core.llms import ChatMessage

    return [ChatMessage(role="user", content=text)]


class Driver:
    """One way to call a model: framework x mode (sync/async) x op (invoke/stream).

    ``invoke`` returns the answer text; ``stream`` appends each delivered text piece to
    ``received`` as it arrives (so a test sees what the caller had before an error).
    """

    def __init__(self, framework: str, mode: str, op: str) -> None:
        self.framework, self.mode, self.op = framework, mode, op

    def make(self, base_url: str, **extra: Any) -> Any:
        if self.framework == "langchain":
            return make_langchain(base_url, **extra)
        if self.framework == "llama_index":
            return make_llama_index(base_url, **extra)
        from cf_aig import AsyncClient, Client

        cls = AsyncClient if self.mode == "async" else Client
        return cls(**creds(base_url, **extra))

    async def run(self, model: Any, received: list[str]) -> str:
        fw, mode, op = self.framework, self.mode, self.op
        if fw == "core":
            req = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]}
            if op == "invoke":
                if mode == "sync":
                    return str(model.chat(req).text)
                return str((await model.chat(req)).text)
            if mode == "sync":
                with model.chat_stream(req) as stream:
                    for ch in stream:
                        received.extend(_chunk_text(ch))
            else:
                stream = await model.chat_stream(req)
                async with stream:
                    async for ch in stream:
                        received.extend(_chunk_text(ch))
            return "".join(received)
        if fw == "langchain":
            if op == "invoke":
                msg = model.invoke(PROMPT) if mode == "sync" else await model.ainvoke(PROMPT)
                return str(msg.text)
            if mode == "sync":
                for chunk in model.stream(PROMPT):
                    received.append(chunk.text)
            else:
                async for chunk in model.astream(PROMPT):
                    received.append(chunk.text)
            return "".join(received)
        if op == "invoke":
            resp = (
                model.chat(li_messages()) if mode == "sync" else await model.achat(li_messages())
            )
            return str(resp.message.content)
        if mode == "sync":
            for r in model.stream_chat(li_messages()):
                received.append(r.delta or "")
        else:
            async for r in await model.astream_chat(li_messages()):
                received.append(r.delta or "")
        return "".join(received)


def _chunk_text(chunk: Any) -> list[str]:
    out = []
    for choice in chunk.get("choices") or ():
        content = (choice.get("delta") or {}).get("content")
        if isinstance(content, str):
            out.append(content)
    return out


# ---- the matrix recorder --------------------------------------------------------------

_ROWS: list[dict[str, Any]] = []


@pytest.fixture(scope="session")
def matrix() -> Iterator[list[dict[str, Any]]]:
    """Append one dict per observed fault-matrix row; written out at session end."""
    yield _ROWS
    if not _ROWS:
        return
    rows = sorted(_ROWS, key=lambda r: (r["framework"], r["mode"], r["op"], r["order"]))
    MATRIX_PATH.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    lines = [
        "| framework | mode | op | fault | attempts | error type | code | status | log id | outcome |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['framework']} | {r['mode']} | {r['op']} | {r['fault']} | {r['attempts']} "
            f"| {r['error']} | {r['code']} | {r['status']} | {r['log_id']} | {r['outcome']} |"
        )
    MATRIX_PATH.with_suffix(".md").write_text("\n".join(lines) + "\n")
    MATRIX_PATH.with_name(MATRIX_PATH.name + "_condensed.md").write_text(_condensed(rows))


def _condensed(rows: list[dict[str, Any]]) -> str:
    """One line per (fault, op): the cells of every framework x mode, merged when equal."""
    groups: dict[tuple[int, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["order"], r["fault"], r["op"]), []).append(r)
    lines = [
        "| fault | op | cells (framework/mode) | attempts | error type | code | status "
        "| log id | outcome |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (_o, fault, op), cells in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][2])):
        variants: dict[tuple[Any, ...], list[str]] = {}
        for c in cells:
            err = str(c["error"]).split(" (as ")[0]
            outcome = str(c["outcome"]).split(" (")[0] if op == "stream" else c["outcome"]
            key = (c["attempts"], err, c["code"], c["status"], c["log_id"], outcome)
            variants.setdefault(key, []).append(f"{c['framework'][:2]}/{c['mode'][0]}")
        for key, where in variants.items():
            who = f"all {len(where)}" if len(variants) == 1 else ", ".join(where)
            lines.append(f"| {fault} | {op} | {who} | " + " | ".join(map(str, key)) + " |")
    return "\n".join(lines) + "\n"
