"""Load and resource figures for issue #7 against the emulator on loopback.

For the core ``AsyncClient`` and (when importable) both adapters, through ONE model
instance each, on the model's own default pool:

- ``burst``: 1,000 concurrent async calls;
- ``streams``: 200 concurrent streams read to the end;
- ``abandon``: 1,000 concurrent streams left after their first chunk (``break``).

Each row reports: calls that succeeded, requests and connections opened as the emulator
counted them, client disconnects the emulator saw, open file descriptors before/after
(``/proc/self/fd``), asyncio tasks before/after, Python allocated blocks before/after
(``sys.getallocatedblocks()`` after ``gc.collect()``), current RSS before/after and peak
RSS (``resource.getrusage``), and wall time with its ratio to a floor measured in the same
run (raw ``httpx.AsyncClient``, same pool limits, same emulator).

The emulator runs in a child process, so every descriptor and byte counted here is the
client's. "after" is measured once ``asyncio.run`` has returned, with no explicit
``aclose()``: the notebook case, where the loop's end must release everything.

Run: ``python bench/reliability_load.py [--calls 1000] [--streams 200] [--abandon 1000]
[--json /tmp/cf_aig_reliability_load.json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import multiprocessing as mp
import os
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

MODEL = "openai/gpt-5.5"
PROMPT = "Hello there, gateway"
REQ = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]}
TOKEN = "cfat_BENCH_TOKEN_0123456789abcdef"
ACCOUNT = "acc-bench"


# ---- the emulator, in a child process ------------------------------------------------


def _serve(conn: Any, stream_delay: float) -> None:
    from cf_aig.emulator import Emulator

    with Emulator(stream_delay=stream_delay) as emu:
        conn.send(emu.base_url)
        while True:
            cmd = conn.recv()
            if cmd == "stats":
                s = emu.stats
                conn.send({"requests": s.requests, "connections": s.connections_opened,
                           "disconnects": s.disconnects})
            elif cmd == "reset":
                emu.reset()
                conn.send(None)
            else:
                conn.send(None)
                return


class RemoteEmulator:
    def __init__(self, stream_delay: float = 0.0) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, stream_delay), daemon=True)
        self.proc.start()
        self.base_url: str = self.conn.recv()

    def stats(self) -> dict[str, int]:
        self.conn.send("stats")
        return dict(self.conn.recv())

    def reset(self) -> None:
        self.conn.send("reset")
        self.conn.recv()

    def stop(self) -> None:
        self.conn.send("stop")
        self.conn.recv()
        self.proc.join(10)


# ---- measurements --------------------------------------------------------------------


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def blocks() -> int:
    gc.collect()
    return sys.getallocatedblocks()


# ---- targets: one model instance each --------------------------------------------------


def make_target(name: str, base_url: str) -> tuple[Any, Callable[..., Awaitable[str]],
                                                     Callable[..., Awaitable[str]],
                                                     Callable[..., Awaitable[int]]]:
    """(model, invoke(model), stream_all(model), stream_first(model)) for ``name``."""
    creds = {"account_id": ACCOUNT, "api_token": TOKEN, "base_url": base_url}
    if name == "core":
        from cf_aig import AsyncClient

        model = AsyncClient(**creds)

        async def invoke(m: Any) -> str:
            return str((await m.chat(REQ)).text)

        async def stream_all(m: Any) -> str:
            out = []
            stream = await m.chat_stream(REQ)
            async with stream:
                async for ch in stream:
                    for c in ch["choices"]:
                        out.append(c["delta"].get("content") or "")
            return "".join(out)

        async def stream_first(m: Any) -> int:
            stream = await m.chat_stream(REQ)
            async with stream:
                async for _ch in stream:
                    return 1
            return 0

        return model, invoke, stream_all, stream_first
    if name == "langchain":
        from langchain_cf_aig import ChatCloudflareAIGateway

        model = ChatCloudflareAIGateway(model=MODEL, **creds)

        async def invoke(m: Any) -> str:
            return str((await m.ainvoke(PROMPT)).text)

        async def stream_all(m: Any) -> str:
            return "".join([c.text async for c in m.astream(PROMPT)])

        async def stream_first(m: Any) -> int:
            async for _c in m.astream(PROMPT):
                return 1
            return 0

        return model, invoke, stream_all, stream_first
    from llama_index.core.llms import ChatMessage

    from llama_index_cf_aig import CloudflareAIGateway

    model = CloudflareAIGateway(model=MODEL, **creds)
    msgs = [ChatMessage(role="user", content=PROMPT)]

    async def invoke(m: Any) -> str:
        return str((await m.achat(msgs)).message.content)

    async def stream_all(m: Any) -> str:
        return "".join([r.delta or "" async for r in await m.astream_chat(msgs)])

    async def stream_first(m: Any) -> int:
        async for _r in await m.astream_chat(msgs):
            return 1
        return 0

    return model, invoke, stream_all, stream_first


def run_scenario(emu: RemoteEmulator, label: str, n: int,
                 one: Callable[[], Awaitable[Any]], expect: Any) -> dict[str, Any]:
    emu.reset()
    fd0, blocks0, rss0 = fds(), blocks(), rss_mb()
    box: dict[str, Any] = {}

    async def main() -> None:
        box["tasks_before"] = len(asyncio.all_tasks())
        t = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
        box["seconds"] = time.perf_counter() - t
        box["ok"] = sum(1 for r in results if r == expect)
        box["errors"] = sorted({type(r).__name__ for r in results
                                if isinstance(r, BaseException)})
        for _ in range(50):  # let async-generator finalizers run
            if len(asyncio.all_tasks()) <= box["tasks_before"]:
                break
            await asyncio.sleep(0)
        box["tasks_after"] = len(asyncio.all_tasks())

    asyncio.run(main())
    stats = emu.stats()
    end = time.monotonic() + 10
    while time.monotonic() < end and (fds() > fd0 or (
            label.endswith("abandon") and stats["disconnects"] < n)):
        time.sleep(0.05)
        stats = emu.stats()
    return {"scenario": label, "n": n, "ok": box["ok"], "errors": box["errors"],
            "requests": stats["requests"], "connections_opened": stats["connections"],
            "disconnects_seen": stats["disconnects"], "fds_before": fd0, "fds_after": fds(),
            "tasks_before": box["tasks_before"], "tasks_after": box["tasks_after"],
            "blocks_before": blocks0, "blocks_after": blocks(),
            "rss_mb_before": round(rss0, 1), "rss_mb_after": round(rss_mb(), 1),
            "peak_rss_mb": round(peak_rss_mb(), 1), "seconds": round(box["seconds"], 2)}


def floor(emu: RemoteEmulator, n: int) -> float:
    """The same burst on raw httpx with the core's pool limits: the floor."""
    from cf_aig.client import DEFAULT_LIMITS

    emu.reset()
    url = emu.base_url + f"/accounts/{ACCOUNT}/ai/v1/chat/completions"
    body = json.dumps(REQ).encode()
    headers = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}

    async def main() -> float:
        gate = asyncio.Semaphore(DEFAULT_LIMITS.max_connections or 100)
        async with httpx.AsyncClient(limits=DEFAULT_LIMITS) as http:
            async def one() -> None:
                async with gate:
                    (await http.post(url, content=body, headers=headers)).raise_for_status()

            t = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(n)))
            return time.perf_counter() - t

    return asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--streams", type=int, default=200)
    ap.add_argument("--abandon", type=int, default=1000)
    ap.add_argument("--targets", default="core,langchain,llama_index")
    ap.add_argument("--json", default="/tmp/cf_aig_reliability_load.json")
    args = ap.parse_args(argv)
    if not os.path.isdir("/proc/self/fd"):
        print("needs Linux /proc", file=sys.stderr)
        return 2

    fast, slow = RemoteEmulator(), RemoteEmulator(stream_delay=0.02)
    rows: list[dict[str, Any]] = []
    try:
        floor_s = floor(fast, args.calls)
        for name in args.targets.split(","):
            try:
                model, invoke, stream_all, stream_first = make_target(name, fast.base_url)
            except ImportError as exc:
                print(f"# {name}: not importable ({exc}); skipped")
                continue
            reference = asyncio.run(invoke(model))
            text = run_scenario(fast, f"{name} burst", args.calls,
                                functools.partial(invoke, model), reference)
            text["ratio_to_floor"] = round(text["seconds"] / floor_s, 1)
            rows.append(text)
            rows.append(run_scenario(fast, f"{name} streams", args.streams,
                                     functools.partial(stream_all, model), reference))
            model, _i, _s, stream_first = make_target(name, slow.base_url)
            rows.append(run_scenario(slow, f"{name} abandon", args.abandon,
                                     functools.partial(stream_first, model), 1))
    finally:
        fast.stop()
        slow.stop()

    cols = ["scenario", "n", "ok", "requests", "connections_opened", "disconnects_seen",
            "fds_before", "fds_after", "tasks_before", "tasks_after", "blocks_before",
            "blocks_after", "rss_mb_before", "rss_mb_after", "peak_rss_mb", "seconds",
            "ratio_to_floor"]
    print(f"# floor: raw httpx, {args.calls} calls, same pool limits: {floor_s:.2f} s")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r.get(c, "")) for c in cols) + " |")
    bad = [r for r in rows if r["ok"] != r["n"] or r["errors"] or r["fds_after"] > r["fds_before"]
           or r["tasks_after"] > r["tasks_before"]]
    for r in bad:
        print(f"# PROBLEM in {r['scenario']}: ok={r['ok']}/{r['n']} errors={r['errors']} "
              f"fds {r['fds_before']}->{r['fds_after']} tasks {r['tasks_before']}->"
              f"{r['tasks_after']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"floor_seconds": floor_s, "rows": rows}, f, indent=1)
        print(f"# written to {args.json}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
