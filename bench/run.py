# ruff: noqa: RUF001  (the report strings use µs, multiplication sign and en dash on purpose)
"""Benchmark harness: every candidate against one fast local server, interleaved.

    python bench/run.py            # full run (several minutes)
    python bench/run.py --quick    # under 90 s: fewer repetitions, fewer subprocesses
    python bench/run.py --only raw,ours   # candidates whose name or group contains a word

Method (see bench/README.md):

- The server (bench/server.py) runs in its own process; the harness in this one.
- Rounds are interleaved: for each repetition, every candidate runs one batch of each
  metric in turn (start rotated), and the table shows the median over repetitions.
- invoke µs/call: sequential sync calls (after a warm-up), wall time / calls.
- stream µs/chunk: sequential sync streams of 200 content chunks; per chunk =
  (µs per stream - µs per invoke) / chunks, i.e. the cost that grows with the stream.
- burst s: ``asyncio.gather`` of 1,000 ``ainvoke`` through one instance on one loop, after
  one warm-up burst (so the pool is warm, the case the httpcore trap hits). ``conns``:
  connections the server saw opened during the cold + warm bursts.
- astream s: ``gather`` of 200 streams of 200 chunks each.
- import ms: ``python -c "import X"`` in fresh subprocesses minus ``python -c "pass"``.
- RSS MB: a fresh subprocess per candidate runs one 1,000-call burst and reports VmHWM
  (peak resident set), and the RSS after imports + setup.
- embeddings texts/s: 10,000 short texts, batches of 100, 8 in flight (async), and the
  same batches sequentially (sync).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

from candidates import CHUNKS, Candidate, Skip, all_candidates  # noqa: E402

# Figures of the issue (2-core machine) used to scale absolute targets to this machine.
ISSUE = {"httpx_call": 390.0, "httpx_chunk": 9.7, "aiohttp_burst": 0.52, "aiohttp_astream": 0.29}
# (label, statement, in quick mode)
IMPORTS = [
    ("httpx", "import httpx", False),
    ("aiohttp", "import aiohttp", False),
    ("langchain-core", "import langchain_core.language_models", True),
    ("langchain-core BaseChatModel", "from langchain_core.language_models import BaseChatModel", True),
    ("llama-index-core", "import llama_index.core.llms", True),
    ("cf_aig", "import cf_aig", True),
    ("cf_aig.client", "import cf_aig.client", True),
    ("langchain_cf_aig", "import langchain_cf_aig", True),
    ("langchain_cf_aig.ChatCloudflareAIGateway", "from langchain_cf_aig import ChatCloudflareAIGateway", True),
    ("llama_index_cf_aig", "import llama_index_cf_aig", True),
    ("langchain-openai ChatOpenAI", "from langchain_openai import ChatOpenAI", False),
    ("langchain-cloudflare", "from langchain_cloudflare import ChatCloudflareWorkersAI", False),
    ("OpenAILike", "from llama_index.llms.openai_like import OpenAILike", False),
]


# ------------------------------------------------------------------------- server


class Server:
    def __init__(self, chunks: int = CHUNKS) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "server.py"), "--port", "0", "--chunks", str(chunks)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._conn = http.client.HTTPConnection("127.0.0.1", self.port)

    def stats(self) -> dict[str, int]:
        self._conn.request("GET", "/__stats")
        return json.loads(self._conn.getresponse().read())

    def stop(self) -> None:
        self._conn.close()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ------------------------------------------------------------------------- measuring


def timed(fn: Callable[[], Any], n: int) -> float:
    """Seconds per call of ``fn`` over ``n`` calls."""
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


class TooSlow(Exception):
    pass


async def burst(fn: Callable[[], Any], n: int, cap: float | None = None) -> float:
    """Seconds for ``n`` concurrent calls; raises TooSlow after ``cap`` seconds."""
    t = time.perf_counter()
    try:
        await asyncio.wait_for(asyncio.gather(*(fn() for _ in range(n))), cap)
    except asyncio.TimeoutError:
        raise TooSlow(f"> {cap:g} s (stopped)") from None
    return time.perf_counter() - t


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick = args.quick
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.server = Server()
        self.results: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.notes: dict[str, str] = {}
        self.cands: list[Candidate] = []
        self.conns: dict[str, list[int]] = defaultdict(list)
        self.phase_times: dict[str, float] = {}

    def run_async(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def log(self, msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    def setup(self) -> None:
        words = [w for w in (self.args.only or "").split(",") if w]
        for cand in all_candidates():
            if words and not any(w in cand.name or w == cand.group for w in words):
                continue
            try:
                cand.setup(self.server.url)
                self.check(cand)
            except Skip as exc:
                self.notes[cand.name] = f"skipped: {exc}"
                self.log(f"skip {cand.name}: {exc}")
                continue
            except Exception as exc:
                self.notes[cand.name] = f"skipped: setup/check failed: {type(exc).__name__}: {exc}"
                self.log(f"skip {cand.name}: {type(exc).__name__}: {exc}")
                continue
            self.cands.append(cand)
        self.freeze()

    def check(self, cand: Candidate) -> None:
        """One call of each kind, and the stream length, before any timing."""
        if cand.has("invoke"):
            cand.invoke()
        if cand.has("stream"):
            n = cand.stream()
            if n < CHUNKS:
                raise RuntimeError(f"stream gave {n} chunks, expected >= {CHUNKS}")
        if cand.has("ainvoke"):
            self.run_async(cand.ainvoke())
        if cand.has("astream"):
            n = self.run_async(cand.astream())
            if n < CHUNKS:
                raise RuntimeError(f"astream gave {n} chunks, expected >= {CHUNKS}")

    # ---- rounds ----------------------------------------------------------------------

    def freeze(self) -> None:
        """Move everything alive to the permanent GC generation: the harness holds every
        candidate (hundreds of MB of framework objects); without this, gen-2 collections
        during a burst would scan them all and bill one candidate for the others."""
        gc.collect()
        gc.freeze()

    def rotated(self, rep: int) -> list[Candidate]:
        k = rep % len(self.cands) if self.cands else 0
        return self.cands[k:] + self.cands[:k]

    def sequential(self) -> None:
        reps = 3 if self.quick else 5
        calls = 150 if self.quick else 400
        streams = 6 if self.quick else 15
        for cand in self.cands:  # warm-up
            if cand.has("invoke"):
                timed(cand.invoke, 30)
            if cand.has("stream"):
                timed(cand.stream, 2)
        for rep in range(reps):
            self.log(f"sequential round {rep + 1}/{reps}")
            for cand in self.rotated(rep):
                r = self.results[cand.name]
                gc.collect()
                if cand.has("invoke"):
                    r["invoke"].append(timed(cand.invoke, calls) * 1e6)
                if cand.has("stream"):
                    r["stream"].append(timed(cand.stream, streams) * 1e6)

    def concurrent_isolated(self) -> None:
        """Quick mode: bursts in child processes, killed at a hard deadline.

        A burst stuck in httpcore's stock pool cannot be cancelled cheaply in-process
        (the cancellation itself walks the pool's queue); a child simply exits (or is
        killed). One child serves a family of candidates (same class, same imports: e.g.
        ours with its three transports), so imports are paid once per family; the child
        reports each measurement as a JSON line and exits at the first burst that stops;
        the parent then starts a new child for the family's remaining items. Peak RSS
        comes from the first candidate of each child (fresh process), after its cold burst.
        """
        cap = 1.5
        families: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for cand in self.cands:
            for phase in ("ainvoke", "astream"):
                if cand.has(phase):
                    families[type(cand).__name__].append((cand.name, phase))
        for items in families.values():
            while items:
                items = self._burst_child(items, cap)

    def _burst_child(self, items: list[tuple[str, str]], cap: float) -> list[tuple[str, str]]:
        """Run ``items`` in one child; return the items still to run in a new child."""
        self.log("bursts: " + "; ".join(f"{n} {p}" for n, p in items))
        proc = subprocess.Popen(
            [sys.executable, __file__, "--burst-child", json.dumps(items),
             "--url", self.server.url, "--cap", str(cap)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        try:
            out, _ = proc.communicate(timeout=20 + 3 * cap * len(items))
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        done: set[tuple[str, str]] = set()
        stopped_last = False
        for line in out.splitlines():
            if not line.startswith("{"):
                continue
            d = json.loads(line)
            name, metric, value = d["name"], d["metric"], d["value"]
            r = self.results[name]
            if metric == "conns":
                self.conns[name].append(int(value))
                continue
            if metric == "rss":
                r["rss_peak"].append(value["peak_mb"])
                r["rss_base"].append(value["base_mb"])
                continue
            stopped_last = value is None
            if stopped_last:
                value = float("inf")
                self.notes[f"{name} {metric}"] = f"> {cap:g} s (stopped); not repeated"
                if metric == "burst_cold":
                    r["burst"].append(float("inf"))
            r[metric].append(value)
            if metric in ("burst", "astream") or stopped_last:
                done.add((name, "astream" if metric == "astream" else "ainvoke"))
        rest = [item for item in items if item not in done]
        if rest and not stopped_last:  # killed or crashed while running rest[0]
            name, phase = rest[0]
            metric = "astream" if phase == "astream" else "burst"
            self.results[name][metric].append(float("inf"))
            self.notes[f"{name} {phase}"] = "child killed at the deadline (or failed)"
            rest = rest[1:]
        return rest

    def concurrent(self) -> None:
        if self.quick:
            self.concurrent_isolated()
            return
        reps = 1 if self.quick else 3
        cap = 1.5 if self.quick else 30.0
        n_calls, n_streams = 1000, 200
        slow: set[tuple[str, str]] = set()

        def one(cand: Candidate, metric: str, fn: Any, n: int) -> None:
            if (cand.name, metric) in slow:
                return
            gc.collect()
            before = self.server.stats()["connections"]
            try:
                self.results[cand.name][metric].append(self.run_async(burst(fn, n, cap)))
            except TooSlow as exc:
                slow.add((cand.name, metric))
                self.results[cand.name][metric].append(float("inf"))
                self.notes[f"{cand.name} {metric}"] = f"{exc}; not repeated"
            self.freeze()
            if metric.startswith("burst"):
                self.conns[cand.name].append(self.server.stats()["connections"] - before)

        for cand in self.cands:  # cold burst: warms the pool, counts connections
            if cand.has("ainvoke"):
                one(cand, "burst_cold", cand.ainvoke, n_calls)
                if (cand.name, "burst_cold") in slow:
                    slow.add((cand.name, "burst"))
                    self.results[cand.name]["burst"].append(float("inf"))
        for rep in range(reps):
            self.log(f"concurrent round {rep + 1}/{reps}")
            for cand in self.rotated(rep):
                if cand.has("ainvoke"):
                    one(cand, "burst", cand.ainvoke, n_calls)
                if cand.has("astream"):
                    one(cand, "astream", cand.astream, n_streams)

    def embeddings(self) -> None:
        texts = [f"short text number {i}" for i in range(10_000)]
        reps = 1 if self.quick else 3
        cands = [c for c in self.cands if c.has("aembed") or c.has("embed")]
        for rep in range(reps):
            self.log(f"embeddings round {rep + 1}/{reps}")
            for cand in cands:
                r = self.results[cand.name]
                for kind in ("aembed", "embed"):
                    if not cand.has(kind) or (kind == "embed" and self.quick):
                        continue
                    gc.collect()
                    t = time.perf_counter()
                    try:
                        out = getattr(cand, kind)(texts)
                        if kind == "aembed":
                            out = self.run_async(out)
                    except Skip as exc:
                        self.notes.setdefault(cand.name, f"{kind}: {exc}")
                        continue
                    dt = time.perf_counter() - t
                    if len(out) != len(texts) or len(out[0]) != 768:
                        raise RuntimeError(f"{cand.name} {kind}: wrong shape")
                    r[kind].append(len(texts) / dt)

    def imports(self) -> None:
        reps = 2 if self.quick else 7
        py = sys.executable
        # Bytecode for every module, as in an installed package: with
        # PYTHONDONTWRITEBYTECODE and no __pycache__ in the work tree, our modules (and
        # only ours) would be compiled from source in every child (~20-30 ms).
        import tempfile

        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-pyc-")

        def once(code: str) -> float:
            t = time.perf_counter()
            subprocess.run([py, "-c", code], check=True, env=env)
            return time.perf_counter() - t

        available = []
        for label, stmt, quick in IMPORTS:
            if self.quick and not quick:
                continue
            try:
                subprocess.run([py, "-c", stmt], check=True, capture_output=True, env=env)
                available.append((label, stmt))
            except subprocess.CalledProcessError:
                self.notes[f"import {label}"] = "not importable"
        for rep in range(reps):
            self.log(f"imports round {rep + 1}/{reps}")
            base = once("pass")
            for label, stmt in available:
                self.results[f"import:{label}"]["import"].append((once(stmt) - base) * 1e3)

    def rss(self) -> None:
        wanted = (
            {"ChatCloudflareAIGateway (lean pool)", "langchain-cloudflare"}
            if self.quick
            else None
        )
        for cand in self.cands:
            if not cand.has("ainvoke") or (wanted is not None and cand.name not in wanted):
                continue
            self.log(f"rss {cand.name}")
            out = subprocess.run(
                [sys.executable, __file__, "--rss-child", cand.name, "--url", self.server.url],
                capture_output=True,
                text=True,
            )
            if out.returncode:
                self.notes[f"rss {cand.name}"] = out.stderr.strip().splitlines()[-1:]
                continue
            data = json.loads(out.stdout.strip().splitlines()[-1])
            self.results[cand.name]["rss_peak"].append(data["peak_mb"])
            self.results[cand.name]["rss_base"].append(data["base_mb"])

    def close(self) -> None:
        for cand in self.cands:
            try:
                cand.close()
                self.run_async(cand.aclose())
            except Exception:
                pass
        self.server.stop()
        self.loop.close()


def rss_child(name: str, url: str) -> None:
    """Fresh process: import + set up one candidate, warm burst, measured burst."""
    cand = next(c for c in all_candidates() if c.name == name)
    cand.setup(url)
    loop = asyncio.new_event_loop()
    base = _rss_now()
    loop.run_until_complete(burst(cand.ainvoke, 1000))  # one burst (a warm one can hit the trap)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec from the forking parent.
    print(json.dumps({"peak_mb": _status_mb("VmHWM"), "base_mb": base}))


def burst_child(items: list[tuple[str, str]], url: str, cap: float) -> None:
    """Fresh process: for each (candidate, phase) in order, the cold + warm 1,000-call
    bursts (phase ``ainvoke``) or the 200x200 astream; one JSON line per result; exits at
    once (no cancellation) when a burst stops."""
    by_name = {c.name: c for c in all_candidates()}
    ready: dict[str, Candidate] = {}
    loop = asyncio.new_event_loop()
    srv = http.client.HTTPConnection(*url.split("//")[1].split(":"))
    first = items[0][0]

    def conns() -> int:
        srv.request("GET", "/__stats")
        return int(json.loads(srv.getresponse().read())["connections"])

    def emit(name: str, metric: str, value: Any) -> None:
        print(json.dumps({"name": name, "metric": metric, "value": value}), flush=True)

    for name, phase in items:
        cand = ready.get(name)
        if cand is None:
            cand = ready[name] = by_name[name]
            cand.setup(url)
            loop.run_until_complete(cand.ainvoke() if cand.has("ainvoke") else cand.astream())
        gc.collect()
        gc.freeze()
        base = _rss_now()
        runs = (
            [("burst_cold", cand.ainvoke, 1000), ("burst", cand.ainvoke, 1000)]
            if phase == "ainvoke"
            else [("astream", cand.astream, 200)]
        )
        for metric, fn, n in runs:
            before = conns()
            try:
                emit(name, metric, loop.run_until_complete(burst(fn, n, cap)))
            except TooSlow:
                if metric.startswith("burst"):
                    emit(name, "conns", conns() - before)
                emit(name, metric, None)
                os._exit(0)
            if metric.startswith("burst"):
                emit(name, "conns", conns() - before)
            if metric == "burst_cold" and name == first:
                emit(name, "rss", {"peak_mb": _status_mb("VmHWM"), "base_mb": base})
            gc.collect()
            gc.freeze()
    os._exit(0)


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _rss_now() -> float:
    return _status_mb("VmRSS")


# ------------------------------------------------------------------------- report


def fmt(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "–"
    if x == float("inf"):
        return "stopped"
    return f"{x:,.{digits}f}"


def ratio(x: float | None, floor: float | None) -> str:
    if x is None or not floor or x == float("inf"):
        return ""
    return f" ({x / floor:.2f}×)"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    pkgs = []
    for p in (
        "httpx", "httpcore", "h11", "aiohttp", "httpx2", "httpx-aiohttp", "pydantic",
        "langchain-core", "llama-index-core", "langchain-openai", "openai",
        "langchain-cloudflare", "llama-index-llms-openai-like",
    ):
        with contextlib.suppress(PackageNotFoundError):
            pkgs.append(f"{p} {version(p)}")
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}; "
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}; "
        + ", ".join(pkgs)
    )


def report(b: Bench) -> str:
    R = {k: {m: median(v) for m, v in d.items()} for k, d in b.results.items()}

    def get(name: str, metric: str) -> float | None:
        return R.get(name, {}).get(metric)

    per_chunk: dict[str, float | None] = {}
    for cand in b.cands:
        s, i = get(cand.name, "stream"), get(cand.name, "invoke")
        per_chunk[cand.name] = (s - i) / CHUNKS if s is not None and i is not None else None

    f_call = get("raw httpx", "invoke")
    f_chunk = per_chunk.get("raw httpx")
    f_burst = get("raw aiohttp", "burst")
    f_astream = get("raw aiohttp", "astream")
    f_emb = get("raw httpx", "aembed")
    f_emb_sync = get("raw httpx", "embed")
    lines = [
        f"Machine: {machine()}",
        "",
        f"Mode: {'quick' if b.quick else 'full'}; medians of interleaved rounds; "
        "ratios in parentheses are to the floor of the column "
        "(raw httpx for invoke/stream, raw aiohttp for burst/astream, raw httpx for embeddings).",
        "",
        "| candidate | invoke µs/call | stream µs/chunk | 1000 ainvoke s (cold) | conns opened | "
        "200×200 astream s | peak RSS MB (after setup) | embed texts/s async | sync |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for cand in b.cands:
        n = cand.name
        conns = b.conns.get(n)
        lines.append(
            f"| {n} | {fmt(get(n, 'invoke'))}{ratio(get(n, 'invoke'), f_call)} "
            f"| {fmt(per_chunk[n], 1)}{ratio(per_chunk[n], f_chunk)} "
            f"| {fmt(get(n, 'burst'), 2)}{ratio(get(n, 'burst'), f_burst)} ({fmt(get(n, 'burst_cold'), 2)}) "
            f"| {'–' if not conns else f'{conns[0]} cold, {max(conns[1:], default=0)} warm'} "
            f"| {fmt(get(n, 'astream'), 2)}{ratio(get(n, 'astream'), f_astream)} "
            f"| {fmt(get(n, 'rss_peak'))} ({fmt(get(n, 'rss_base'))}) "
            f"| {fmt(get(n, 'aembed'))}{ratio(get(n, 'aembed'), f_emb)} "
            f"| {fmt(get(n, 'embed'))}{ratio(get(n, 'embed'), f_emb_sync)} |"
        )
    lines += ["", "| import | ms (fresh process, minus bare interpreter) |", "|---|---|"]
    for label, *_ in IMPORTS:
        v = get(f"import:{label}", "import")
        if v is not None:
            lines.append(f"| {label} | {fmt(v)} |")
    if b.notes:
        lines += ["", "Notes:"]
        lines += [f"- {k}: {v}" for k, v in b.notes.items()]

    # ---- targets
    lines += ["", "## Targets", ""]
    t: list[tuple[str, bool | None, str]] = []

    def target(label: str, value: float | None, limit: float | None, unit: str, d: int = 0) -> None:
        if value is None or limit is None:
            t.append((label, None, "not measured"))
        else:
            t.append((label, value <= limit, f"{fmt(value, d)} {unit} ≤ {fmt(limit, d)} {unit}"))

    lc, li, core = "ChatCloudflareAIGateway (ours)", "CloudflareAIGateway (ours, LlamaIndex)", "cf_aig core client"
    lcc, lic = "langchain-core alone", "llama-index-core alone"
    oai = "ChatOpenAI (langchain-openai)"
    if f_call and get(lcc, "invoke"):
        target("LangChain invoke ≤ raw httpx + langchain-core + 40 µs", get(lc, "invoke"), f_call + get(lcc, "invoke") + 40, "µs")  # type: ignore[operator]
    b2b_lc, b2b_li = "langchain-core alone + raw httpx, back to back", "llama-index-core alone + raw httpx, back to back"
    if get(b2b_lc, "invoke"):
        target("LangChain invoke ≤ (langchain-core + raw httpx back to back) + 40 µs (reference, not the issue's)", get(lc, "invoke"), get(b2b_lc, "invoke") + 40, "µs")  # type: ignore[operator]
    if get(b2b_li, "invoke"):
        target("LlamaIndex chat ≤ (llama-index-core + raw httpx back to back) + 40 µs (reference, not the issue's)", get(li, "invoke"), get(b2b_li, "invoke") + 40, "µs")  # type: ignore[operator]
    if f_call and get(oai, "invoke") and get(lc, "invoke"):
        ours_over = get(lc, "invoke") - f_call  # type: ignore[operator]
        theirs_over = get(oai, "invoke") - f_call  # type: ignore[operator]
        target("LangChain invoke overhead over raw httpx ≤ ½ ChatOpenAI's", ours_over, theirs_over / 2, "µs")
    if f_chunk:
        target("LangChain stream ≤ 22 µs/chunk (scaled: ×raw httpx chunk/9.7)", per_chunk.get(lc), 22 * f_chunk / ISSUE["httpx_chunk"], "µs", 1)
    if f_call and get(lic, "invoke"):
        target("LlamaIndex chat ≤ raw httpx + llama-index-core + 40 µs", get(li, "invoke"), f_call + get(lic, "invoke") + 40, "µs")  # type: ignore[operator]
    if f_chunk:
        target("LlamaIndex stream ≤ 30 µs/chunk (scaled)", per_chunk.get(li), 30 * f_chunk / ISSUE["httpx_chunk"], "µs", 1)
    if f_call:
        target("core Client per call ≤ 1.1× raw httpx", get(core, "invoke"), 1.1 * f_call, "µs")
    if f_chunk:
        target("core Client per chunk ≤ 1.1× raw httpx", per_chunk.get(core), 1.1 * f_chunk, "µs", 1)
    for name in [c.name for c in b.cands if c.group == "ours" and c.has("ainvoke")]:
        if f_burst:
            target(f"{name}: 1000 concurrent ainvoke, warm keep-alive pool ≤ 1.0 s (scaled: ×aiohttp/0.52)", get(name, "burst"), 1.0 * f_burst / ISSUE["aiohttp_burst"], "s", 2)
        target(f"{name}: 1000 concurrent ainvoke ≤ 1.0 s absolute", get(name, "burst"), 1.0, "s", 2)
        c = b.conns.get(name)
        target(f"{name}: connections opened by one 1000-call burst ≤ 100 (max over bursts)", float(max(c)) if c else None, 100, "")
        if f_astream:
            target(f"{name}: 200×200 astream ≤ 1.0 s (scaled: ×aiohttp/0.29)", get(name, "astream"), 1.0 * f_astream / ISSUE["aiohttp_astream"], "s", 2)
        target(f"{name}: 200×200 astream ≤ 1.0 s absolute", get(name, "astream"), 1.0, "s", 2)
    imp = lambda k: get(f"import:{k}", "import")  # noqa: E731
    if imp("langchain-core") is not None:
        target("import langchain_cf_aig ≤ import langchain_core.language_models + 60 ms", imp("langchain_cf_aig"), imp("langchain-core") + 60, "ms")  # type: ignore[operator]
    if imp("langchain-core BaseChatModel") is not None:
        target("from langchain_cf_aig import ChatCloudflareAIGateway ≤ BaseChatModel + 60 ms", imp("langchain_cf_aig.ChatCloudflareAIGateway"), imp("langchain-core BaseChatModel") + 60, "ms")  # type: ignore[operator]
    if imp("llama-index-core") is not None:
        target("import llama_index_cf_aig ≤ llama_index.core.llms + 60 ms", imp("llama_index_cf_aig"), imp("llama-index-core") + 60, "ms")  # type: ignore[operator]
    target("import cf_aig ≤ 120 ms", imp("cf_aig"), 120, "ms")
    target("import cf_aig.client ≤ 120 ms (what a first call needs)", imp("cf_aig.client"), 120, "ms")
    target("peak RSS, 1000-call burst: ours (LangChain) ≤ langchain-cloudflare", get(lc, "rss_peak"), get("langchain-cloudflare", "rss_peak"), "MB")
    if f_emb:
        v = get(lc, "aembed")
        t.append(("Embeddings (LangChain, async) texts/s vs raw httpx (report only)", None if v is None else True, f"{fmt(v)} vs {fmt(f_emb)} = {v / f_emb:.2f}×" if v else "not measured"))

    lines += ["| target | result | measured |", "|---|---|---|"]
    for label, ok, detail in t:
        lines.append(f"| {label} | {'–' if ok is None else ('PASS' if ok else 'FAIL')} | {detail} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="short run (< 90 s)")
    parser.add_argument("--only", help="comma-separated words: candidate name parts or groups")
    parser.add_argument("--skip", default="", help="comma list of phases: seq,conc,embed,import,rss")
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--burst-child", help=argparse.SUPPRESS)
    parser.add_argument("--cap", type=float, default=1.5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.burst_child:
        burst_child([tuple(i) for i in json.loads(args.burst_child)], args.url, args.cap)
        return
    if args.rss_child:
        rss_child(args.rss_child, args.url)
        return
    skip = set(args.skip.split(","))
    started = time.perf_counter()
    b = Bench(args)
    try:
        b.setup()
        if "seq" not in skip:
            t0 = time.perf_counter()
            b.sequential()
            b.phase_times["seq"] = time.perf_counter() - t0
        if "conc" not in skip:
            t0 = time.perf_counter()
            b.concurrent()
            b.phase_times["conc"] = time.perf_counter() - t0
        if "embed" not in skip:
            t0 = time.perf_counter()
            b.embeddings()
            b.phase_times["embed"] = time.perf_counter() - t0
        if "rss" not in skip and not b.quick:  # quick: peak RSS comes from the burst children
            t0 = time.perf_counter()
            b.rss()
            b.phase_times["rss"] = time.perf_counter() - t0
        if "import" not in skip:
            t0 = time.perf_counter()
            b.imports()
            b.phase_times["import"] = time.perf_counter() - t0
    finally:
        b.close()
    b.log("phase times: " + ", ".join(f"{k} {v:.0f} s" for k, v in b.phase_times.items()))
    text = report(b) + f"\n\nTotal run time: {time.perf_counter() - started:.0f} s\n"
    print(text)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.md").write_text(text)


if __name__ == "__main__":
    main()
