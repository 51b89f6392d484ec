"""Core client vs raw httpx on the local emulator, same run (the first benchmark of #2).

    python bench/core_vs_httpx.py [--rounds 7] [--calls 200] [--chunks 100]

Both sides send the same chat-completions request to one emulator (in this process's
background thread) over keep-alive loopback; rounds alternate between them and the table
shows medians and the ratio to raw httpx. Raw httpx does the minimum a client must: post,
parse JSON (or split SSE lines and parse each event). The emulator's own work is in both
sides' numbers, which narrows the ratio; ``bench/run.py`` (against a server that is never
the bottleneck) gives the precise per-call and per-chunk figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import httpx

from cf_aig import Client
from cf_aig.emulator import Emulator, Script

TOKEN = "bench-token"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--chunks", type=int, default=100)
    args = ap.parse_args()
    text = " ".join(f"w{i}" for i in range(args.chunks))
    request = {"model": "openai/gpt-5.5", "messages": [{"role": "user", "content": "hi"}]}

    with Emulator() as emu, Client(account_id=emu.account_id, api_token=TOKEN,
                                   base_url=emu.base_url) as core, httpx.Client() as raw:
        url = f"{emu.account_url}/ai/v1/chat/completions"
        headers = {"authorization": f"Bearer {TOKEN}"}

        def raw_invoke() -> None:
            r = raw.post(url, json=request, headers=headers)
            r.raise_for_status()
            json.loads(r.content)

        def core_invoke() -> None:
            core.chat(request)  # type: ignore[arg-type]

        def raw_stream() -> None:
            emu.enqueue(Script(text=text))
            body = {**request, "stream": True, "stream_options": {"include_usage": True}}
            with raw.stream("POST", url, json=body, headers=headers) as r:
                for line in r.iter_lines():
                    if line.startswith("data: ") and line != "data: [DONE]":
                        json.loads(line[6:])

        def core_stream() -> None:
            emu.enqueue(Script(text=text))
            with core.chat_stream(request) as stream:  # type: ignore[arg-type]
                for _ in stream:
                    pass

        cases: dict[str, Callable[[], None]] = {
            "raw httpx invoke": raw_invoke, "core invoke": core_invoke,
            "raw httpx stream": raw_stream, "core stream": core_stream}
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for fn in cases.values():  # warm up connections and caches
            fn()
        for _ in range(args.rounds):
            for name, fn in cases.items():
                start = time.perf_counter()
                for _ in range(args.calls):
                    fn()
                samples[name].append((time.perf_counter() - start) / args.calls * 1e6)

    med = {name: statistics.median(v) for name, v in samples.items()}
    print(f"emulator on loopback, {args.rounds} rounds x {args.calls} calls, "
          f"stream of {args.chunks} words\n")
    print("| case | µs per call (median) | ratio to raw httpx |")
    print("|---|---|---|")
    for kind in ("invoke", "stream"):
        floor = med[f"raw httpx {kind}"]
        for who in ("raw httpx", "core"):
            value = med[f"{who} {kind}"]
            print(f"| {who} {kind} | {value:,.0f} | {value / floor:.2f}x |")


if __name__ == "__main__":
    main()
