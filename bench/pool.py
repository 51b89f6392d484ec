"""Connection-pool study: 1,000 concurrent requests through one async client, pool warm.

httpcore 1.0.9's ``AsyncConnectionPool._assign_requests_to_connections`` runs on every
request start/finish and, for *each queued request*, scans every connection
(``available_connections`` / ``idle_connections`` list comprehensions): with 1,000 requests
queued on 100 keep-alive connections that is ~100k steps per event, ~2k events per burst.
This script measures the options side by side (interleaved rounds, medians):

- raw transports: httpx with several limits, a semaphore in front of httpx, httpx2,
  httpx-aiohttp (aiohttp transport under the httpx API), raw aiohttp;
- the core ``cf_aig.AsyncClient`` as it is, with a semaphore in front (what a core fix
  would do), and with httpx2 / httpx-aiohttp clients passed as ``http_client``.

    python bench/pool.py [--rounds 3] [--cap 30] [--n 1000]

Each case runs in a fresh subprocess (fresh interpreter, fresh pool): one cold burst
(connections opened = pool fill), then ``--rounds`` warm bursts; peak RSS is VmHWM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

from candidates import ACCOUNT, HEADERS, PAYLOAD, TOKEN  # noqa: E402

CASES = [
    "httpx default limits (100 conns, 20 keep-alive)",
    "httpx 100/100 (cf_aig DEFAULT_LIMITS)",
    "httpx 1000/100 (openai SDK limits)",
    "httpx keep-alive off",
    "httpx 100/100 + Semaphore(100)",
    "httpx 100/100 LeanAsyncTransport (cf_aig/_pool.py)",
    "httpx2 100/100",
    "httpx-aiohttp",
    "raw aiohttp (limit 100)",
    "cf_aig.AsyncClient (as is)",
    "cf_aig.AsyncClient + Semaphore(100)",
    "cf_aig.AsyncClient(http_client=lean_client())",
    "cf_aig.AsyncClient(http_client=httpx-aiohttp)",
]


def make(case: str, url: str) -> tuple[Any, Any]:
    """(async call, async close) for a case."""
    chat = f"{url}/client/v4/accounts/{ACCOUNT}/ai/v1/chat/completions"
    gate = asyncio.Semaphore(100) if "Semaphore" in case else None
    if case.startswith("cf_aig"):
        import cf_aig

        http: Any = None
        if "lean" in case:
            from candidates import lean_client

            http = lean_client(timeout=120)
        elif "httpx2" in case:
            import httpx2

            http = httpx2.AsyncClient(
                limits=httpx2.Limits(max_connections=100, max_keepalive_connections=100),
                timeout=120,
            )
        elif "httpx-aiohttp" in case:
            from httpx_aiohttp import HttpxAiohttpClient

            http = HttpxAiohttpClient(timeout=120)
        client = cf_aig.AsyncClient(
            account_id=ACCOUNT, api_token=TOKEN, base_url=f"{url}/client/v4", http_client=http
        )
        request = dict(PAYLOAD)

        async def call() -> Any:
            if gate is None:
                return await client.chat(request)
            async with gate:
                return await client.chat(request)

        async def close() -> None:
            await client.aclose()
            if http is not None:
                await http.aclose()

        return call, close
    if case.startswith("raw aiohttp"):
        import aiohttp

        holder: dict[str, Any] = {}

        async def call() -> Any:
            if "s" not in holder:
                holder["s"] = aiohttp.ClientSession(headers=HEADERS)
            async with holder["s"].post(chat, json=PAYLOAD) as r:
                return await r.json()

        async def close() -> None:
            await holder["s"].close()

        return call, close
    if case.startswith("httpx2"):
        import httpx2

        hc: Any = httpx2.AsyncClient(
            limits=httpx2.Limits(max_connections=100, max_keepalive_connections=100),
            headers=HEADERS,
            timeout=120,
        )
    elif "Lean" in case:
        from candidates import lean_client

        hc = lean_client(headers=HEADERS, timeout=120)
    elif case.startswith("httpx-aiohttp"):
        from httpx_aiohttp import HttpxAiohttpClient

        hc = HttpxAiohttpClient(headers=HEADERS, timeout=120)
    else:
        import httpx

        limits = {
            "httpx default limits (100 conns, 20 keep-alive)": httpx.Limits(),
            "httpx 100/100 (cf_aig DEFAULT_LIMITS)": httpx.Limits(
                max_connections=100, max_keepalive_connections=100
            ),
            "httpx 1000/100 (openai SDK limits)": httpx.Limits(
                max_connections=1000, max_keepalive_connections=100
            ),
            "httpx keep-alive off": httpx.Limits(max_connections=None, max_keepalive_connections=0),
            "httpx 100/100 + Semaphore(100)": httpx.Limits(
                max_connections=100, max_keepalive_connections=100
            ),
        }[case]
        hc = httpx.AsyncClient(limits=limits, headers=HEADERS, timeout=120)

    async def call() -> Any:
        if gate is None:
            return (await hc.post(chat, json=PAYLOAD)).json()
        async with gate:
            return (await hc.post(chat, json=PAYLOAD)).json()

    return call, hc.aclose


def child(case: str, url: str, n: int, rounds: int, cap: float) -> None:
    import http.client

    from run import Server  # noqa: F401  (import check only)

    conn = http.client.HTTPConnection(url.split("//")[1].split(":")[0], int(url.rsplit(":", 1)[1]))

    def opened() -> int:
        conn.request("GET", "/__stats")
        return int(json.loads(conn.getresponse().read())["connections"])

    async def main() -> dict[str, Any]:
        call, close = make(case, url)
        times: list[float] = []
        conns: list[int] = []
        for _i in range(rounds + 1):
            before = opened()
            t = time.perf_counter()
            try:
                await asyncio.wait_for(asyncio.gather(*(call() for _ in range(n))), cap)
                times.append(time.perf_counter() - t)
            except asyncio.TimeoutError:
                times.append(float("inf"))
                conns.append(opened() - before)
                break
            conns.append(opened() - before)
        await close()
        return {"cold": times[0], "warm": times[1:], "conns": conns}

    out = asyncio.run(main())
    hwm = next(
        int(x.split()[1]) / 1024
        for x in Path("/proc/self/status").read_text().splitlines()
        if x.startswith("VmHWM")
    )
    out["rss"] = hwm
    print(json.dumps(out))


def main() -> None:
    from run import Server

    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cap", type=float, default=30)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--only", default="")
    p.add_argument("--child")
    p.add_argument("--url")
    a = p.parse_args()
    if a.child:
        child(a.child, a.url, a.n, a.rounds, a.cap)
        return
    server = Server()
    cases = [c for c in CASES if not a.only or any(w in c for w in a.only.split(","))]
    rows = []
    try:
        for case in cases:
            print(f"... {case}", file=sys.stderr, flush=True)
            r = subprocess.run(
                [sys.executable, __file__, "--child", case, "--url", server.url, "--n", str(a.n),
                 "--rounds", str(a.rounds), "--cap", str(a.cap)],
                capture_output=True, text=True,
            )
            if r.returncode:
                rows.append(f"| {case} | error: {r.stderr.strip().splitlines()[-1]} | | | |")
                continue
            d = json.loads(r.stdout.strip().splitlines()[-1])
            warm = statistics.median(d["warm"]) if d["warm"] else float("inf")

            def s(x: float) -> str:
                return f"> {a.cap:g} (stopped)" if x == float("inf") else f"{x:.2f}"

            conns = d["conns"]
            rows.append(
                f"| {case} | {s(d['cold'])} | {s(warm)} | {conns[0]} / {sum(conns[1:])} | {d['rss']:.0f} |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    finally:
        server.stop()
    print(f"\n{a.n} concurrent requests, one client, {a.rounds} warm rounds (median)\n")
    print("| client | cold burst s | warm burst s | conns opened cold / warm | peak RSS MB |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
