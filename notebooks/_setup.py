"""Shared helpers for the notebooks and ``demo.py``: pick a target, load the corpus, time calls.

Only plumbing lives here; everything a reader should see (models, chains, agents, gateway
options) is written out in the notebooks themselves.

>>> target = choose_target()          # doctest: +SKIP
target: local emulator at http://127.0.0.1:53117/client/v4 (no CLOUDFLARE_* credentials set)
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

DEFAULT_CHAT_MODEL = "@cf/moonshotai/kimi-k2.6"
DEFAULT_FALLBACK_MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
DEFAULT_EMBED_MODEL = "@cf/baai/bge-base-en-v1.5"


@dataclass
class Target:
    """Where requests go and which models to use.

    ``emulator`` is the running :class:`cf_aig.emulator.Emulator`, or ``None`` on Cloudflare.
    """

    kind: str
    chat_model: str
    fallback_model: str
    embed_model: str
    emulator: Any = None

    @property
    def is_emulator(self) -> bool:
        return self.emulator is not None


_emulator: Any = None


def choose_target(quiet: bool = False) -> Target:
    """Cloudflare if ``CLOUDFLARE_ACCOUNT_ID`` and ``CLOUDFLARE_API_TOKEN`` are set, else a
    local emulator (started once per process, kept alive until exit).

    Models come from ``CF_AIG_CHAT_MODEL``, ``CF_AIG_FALLBACK_MODEL`` and
    ``CF_AIG_EMBED_MODEL`` (defaults: Workers AI models, billed to the account). With the
    emulator, ``CLOUDFLARE_*`` variables are set to point at it, so every class below
    finds its settings in the environment exactly as it would with real credentials.
    """
    global _emulator
    models = {
        "chat_model": os.environ.get("CF_AIG_CHAT_MODEL") or DEFAULT_CHAT_MODEL,
        "fallback_model": os.environ.get("CF_AIG_FALLBACK_MODEL") or DEFAULT_FALLBACK_MODEL,
        "embed_model": os.environ.get("CF_AIG_EMBED_MODEL") or DEFAULT_EMBED_MODEL,
    }
    real = os.environ.get("CLOUDFLARE_ACCOUNT_ID") and os.environ.get("CLOUDFLARE_API_TOKEN")
    if real and _emulator is None:
        target = Target(kind="cloudflare", **models)
        if not quiet:
            gateway = os.environ.get("CLOUDFLARE_AI_GATEWAY_ID") or "default"
            print(f"target: Cloudflare AI Gateway, gateway {gateway!r} "
                  "(credentials from the environment)")
    else:
        from cf_aig.emulator import Emulator

        if _emulator is None:
            # A small delay between streamed events, so streaming is visible to a person.
            _emulator = Emulator(stream_delay=0.005).start()
            atexit.register(_emulator.stop)
        os.environ["CLOUDFLARE_ACCOUNT_ID"] = _emulator.account_id
        os.environ["CLOUDFLARE_API_TOKEN"] = "emulator-token"
        os.environ["CLOUDFLARE_AI_GATEWAY_BASE_URL"] = _emulator.base_url
        os.environ.pop("CLOUDFLARE_AI_GATEWAY_ID", None)
        target = Target(kind="emulator", emulator=_emulator, **models)
        if not quiet:
            print(f"target: local emulator at {_emulator.base_url} "
                  "(no CLOUDFLARE_* credentials set)")
    if not quiet:
        print(f"models: chat={target.chat_model}  fallback={target.fallback_model}  "
              f"embeddings={target.embed_model}")
    return target


# --------------------------------------------------------------------------- corpus


@dataclass
class Chunk:
    """A piece of one corpus file: its text, file name and section heading."""

    text: str
    source: str
    section: str


def load_corpus() -> dict[str, str]:
    """The bundled markdown files (``notebooks/data/*.md``): file name → text."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(DATA.glob("*.md"))}


def split_markdown(text: str, source: str, max_chars: int = 600) -> list[Chunk]:
    """Split markdown at headings, then at blank lines when a section is too long.

    Each chunk keeps the heading it came from, which makes sources readable.
    """
    chunks: list[Chunk] = []
    title = ""
    for block in re.split(r"(?m)^(?=#{1,6} )", text):
        block = block.strip()
        if not block:
            continue
        heading, _, body = block.partition("\n")
        heading = heading.lstrip("#").strip()
        if block.startswith("# "):
            title = heading
        section = heading if heading == title else f"{title} / {heading}"
        body = body.strip()
        if not body:
            continue
        piece = ""
        for para in re.split(r"\n\s*\n", body):
            para = " ".join(para.split())
            if piece and len(piece) + len(para) + 1 > max_chars:
                chunks.append(Chunk(piece, source, section))
                piece = ""
            piece = f"{piece}\n{para}".strip()
        if piece:
            chunks.append(Chunk(piece, source, section))
    return chunks


def corpus_chunks(max_chars: int = 600) -> list[Chunk]:
    """Every file of the corpus, split."""
    return [c for name, text in load_corpus().items() for c in split_markdown(text, name, max_chars)]


# --------------------------------------------------------------------------- measuring


@dataclass
class Call:
    """One measured step: what it was, how long it took, what the gateway said."""

    step: str
    seconds: float
    tokens: int | None = None
    cache: str | None = None
    log_id: str | None = None


@dataclass
class CallLog:
    """Collects :class:`Call` rows; prints them as a table and plots them."""

    calls: list[Call] = field(default_factory=list)

    def add(self, step: str, seconds: float, tokens: int | None = None,
            cache: str | None = None, log_id: str | None = None) -> None:
        self.calls.append(Call(step, seconds, tokens, cache, log_id))

    @contextmanager
    def timed(self, step: str) -> Iterator[Call]:
        """Time the block; fill ``tokens``/``cache``/``log_id`` on the yielded row inside it."""
        call = Call(step, 0.0)
        start = time.perf_counter()
        try:
            yield call
        finally:
            call.seconds = time.perf_counter() - start
            self.calls.append(call)

    def table(self) -> str:
        """A plain-text table of every call."""
        rows = [("step", "ms", "tokens", "cache", "log id")]
        for c in self.calls:
            rows.append((c.step, f"{c.seconds * 1000:.0f}", "" if c.tokens is None else
                         str(c.tokens), c.cache or "", c.log_id or ""))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                 for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def plot(self, title: str = "Calls through the gateway") -> None:
        """Show bar charts of latency (green = cache HIT) and tokens per step."""
        import matplotlib.pyplot as plt

        steps = [c.step for c in self.calls]
        rows = range(len(steps))
        hit = [c.cache == "HIT" for c in self.calls]
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.45 * len(steps) + 1.6),
                                          sharey=True)
        left.barh(rows, [c.seconds * 1000 for c in self.calls],
                  color=["tab:green" if h else "tab:blue" for h in hit])
        left.set_yticks(list(rows), steps)
        left.set_xlabel("latency (ms); green = cache HIT")
        left.invert_yaxis()
        right.barh(rows, [c.tokens or 0 for c in self.calls],
                   color=["tab:gray" if h else "tab:orange" for h in hit])
        right.set_xlabel("total tokens; grey = served from cache, no model call")
        fig.suptitle(title)
        fig.tight_layout()
        plt.show()


def usage_tokens(message: Any) -> int | None:
    """Total tokens of a LangChain message (``usage_metadata``), if reported."""
    usage = getattr(message, "usage_metadata", None)
    return usage.get("total_tokens") if usage else None


# --------------------------------------------------------------------------- progress


class Waiting:
    """Print ``label ...`` now and a dot every second until :meth:`done` ends the line.

    For waits whose end is an event (a first streamed token) rather than a block.
    """

    def __init__(self, label: str, stream: Any = None) -> None:
        self.out = stream or sys.stdout
        self.start = time.perf_counter()
        self._stop = threading.Event()
        self.out.write(f"{label} ...")
        self.out.flush()
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            self.out.write(".")
            self.out.flush()

    @property
    def active(self) -> bool:
        """True until :meth:`done` is called."""
        return not self._stop.is_set()

    def done(self) -> None:
        """End the line with the time waited (only the first call does anything)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._ticker.join()
        self.out.write(f" {time.perf_counter() - self.start:.2f} s\n")
        self.out.flush()


@contextmanager
def progress(label: str, stream: Any = None) -> Iterator[None]:
    """Print ``label ...`` now, a dot every second while the block runs, then the time."""
    waiting = Waiting(label, stream)
    try:
        yield
    finally:
        waiting.done()


# --------------------------------------------------------------------------- llamaindex


def record_llamaindex_calls(calls: CallLog) -> Any:
    """Add a row to ``calls`` for every LlamaIndex LLM call in this process.

    Query engines, chat engines and agents do not return the LLM's ``ChatResponse``, but
    LlamaIndex's instrumentation sees each one: ``additional_kwargs["gateway"]`` holds the
    gateway info (log id, cache status) and ``raw["usage"]`` the tokens. Returns the
    handler; set its ``label`` to name the rows that follow.
    """
    from llama_index.core.instrumentation import get_dispatcher
    from llama_index.core.instrumentation.event_handlers import BaseEventHandler
    from llama_index.core.instrumentation.events.llm import (
        LLMChatEndEvent,
        LLMChatStartEvent,
        LLMCompletionEndEvent,
        LLMCompletionStartEvent,
    )

    class GatewayCalls(BaseEventHandler):
        label: str = "llm call"
        started: dict[str, float] = {}  # pydantic copies it per instance

        @classmethod
        def class_name(cls) -> str:
            return "GatewayCalls"

        def handle(self, event: Any, **kwargs: Any) -> None:
            if isinstance(event, (LLMChatStartEvent, LLMCompletionStartEvent)):
                self.started[event.span_id] = time.perf_counter()
            elif isinstance(event, (LLMChatEndEvent, LLMCompletionEndEvent)) and event.response:
                response = event.response
                gateway = response.additional_kwargs.get("gateway") or {}
                raw = response.raw if isinstance(response.raw, dict) else {}
                usage = raw.get("usage") or {}
                begun = self.started.pop(event.span_id, time.perf_counter())
                calls.add(self.label, time.perf_counter() - begun, usage.get("total_tokens"),
                          gateway.get("cache_status"), gateway.get("log_id"))

    handler = GatewayCalls()
    get_dispatcher().add_event_handler(handler)
    return handler
