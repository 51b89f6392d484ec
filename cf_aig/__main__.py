"""``python -m cf_aig demo`` and ``python -m cf_aig models``.

``demo``: a short tour through the gateway. With ``CLOUDFLARE_ACCOUNT_ID`` and
``CLOUDFLARE_API_TOKEN`` set it talks to Cloudflare; otherwise it starts the local emulator
on loopback and says so.

``models [--search TEXT] [--refresh] [--json]``: the model catalogue as a table (id, task,
context window, tools, vision, batch, reasoning). ``--refresh`` fetches it from
``/ai/models/search`` and ``/ai/models/schema`` with the ``CLOUDFLARE_*`` credentials (and
``CLOUDFLARE_AI_GATEWAY_BASE_URL``, e.g. an emulator) and caches it on disk; without it the
cached catalogue is shown, else the bundled table.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def gateway() -> Iterator[dict[str, Any]]:
    """Client settings for Cloudflare (credentials in env) or a local emulator."""
    if os.environ.get("CLOUDFLARE_ACCOUNT_ID") and os.environ.get("CLOUDFLARE_API_TOKEN"):
        print("target: Cloudflare AI Gateway (credentials from the environment)")
        yield {"gateway_id": os.environ.get("CLOUDFLARE_AI_GATEWAY_ID") or "default"}
        return
    from .emulator import Emulator

    with Emulator() as emu:
        print(f"target: local emulator at {emu.base_url} (no CLOUDFLARE_* credentials set)")
        yield {"account_id": emu.account_id, "api_token": "emulator",
               "base_url": emu.base_url, "gateway_id": "default"}


def demo() -> int:
    from . import Client, GatewayOptions
    from .types import ChatRequest

    chat_model = os.environ.get("CF_AIG_DEMO_MODEL", "@cf/moonshotai/kimi-k2.6")
    embed_model = os.environ.get("CF_AIG_DEMO_EMBED_MODEL", "@cf/baai/bge-base-en-v1.5")
    with gateway() as settings, Client(**settings) as client:
        question: ChatRequest = {"model": chat_model, "messages": [
            {"role": "system", "content": "Answer in one sentence."},
            {"role": "user", "content": "What does an AI gateway do?"}]}
        t = time.perf_counter()
        first = client.chat(question, options=GatewayOptions(cache_ttl=300))
        print(f"\n[chat] {first.text}\n  log_id={first.info.log_id} "
              f"cache={first.info.cache_status} ({(time.perf_counter() - t) * 1000:.0f} ms)")
        t = time.perf_counter()
        again = client.chat(question, options=GatewayOptions(cache_ttl=300))
        print(f"[chat again] cache={again.info.cache_status} "
              f"({(time.perf_counter() - t) * 1000:.0f} ms)")

        print("[stream] ", end="", flush=True)
        listing: ChatRequest = {"model": chat_model, "messages": [
            {"role": "user", "content": "Name three things a gateway logs."}]}
        with client.chat_stream(listing) as stream:
            for chunk in stream:
                for choice in chunk["choices"]:
                    print(choice["delta"].get("content") or "", end="", flush=True)
                usage = chunk.get("usage")
                if usage:
                    print(f"\n  usage={usage.get('total_tokens')} tokens "
                          f"log_id={stream.info.log_id}")

        tool = {"type": "function", "function": {
            "name": "get_weather", "description": "Current weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                           "required": ["city"]}}}
        call = client.chat({"model": chat_model, "tools": [tool], "messages": [
            {"role": "user", "content": "Use get_weather for Lisbon."}]})
        for tc in call.completion["choices"][0]["message"].get("tool_calls") or []:
            print(f"[tool call] {tc['function']['name']}({tc['function']['arguments']})")

        vectors = client.embed(embed_model, ["gateways cache", "gateways log"])
        print(f"[embed] {len(vectors.vectors)} vectors of {len(vectors.vectors[0])} dims")
        if first.info.log_id:
            client.patch_log(first.info.log_id, feedback=1, score=100)
            print(f"[feedback] +1 sent for log {first.info.log_id}")
    return 0


def models(argv: list[str]) -> int:
    import argparse
    import dataclasses
    import json

    from . import catalog
    from .errors import CfAigError, ConfigurationError

    parser = argparse.ArgumentParser(prog="python -m cf_aig models",
                                     description="List the model catalogue.")
    parser.add_argument("--search", metavar="TEXT", help="only models whose id, task or "
                        "description contains TEXT")
    parser.add_argument("--refresh", action="store_true", help="fetch the catalogue from "
                        "Cloudflare (CLOUDFLARE_* credentials) and cache it on disk")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.refresh:
        from .client import Client

        try:
            with Client() as client:
                found = catalog.refresh(client)
        except (CfAigError, ConfigurationError) as exc:
            print(f"cannot refresh the catalogue: {exc}", file=sys.stderr)
            return 2
        print(f"cached {len(found.entries)} models in {catalog.cache_path()}", file=sys.stderr)
    current = catalog.cached() or catalog.bundled()
    entries = current.search(args.search)
    if args.json:
        print(json.dumps({"fetched_at": current.fetched_at, "source": current.source,
                          "models": [dataclasses.asdict(e) for e in entries]}, indent=1))
        return 0
    origin = ("the bundled table (offline default; --refresh fetches the catalogue)"
              if current.fetched_at == "bundled" else
              f"{current.source} (fetched {current.fetched_at})")
    print(f"catalogue: {origin}, {len(entries)} of {len(current.entries)} models")
    print(catalog.table(entries))
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["demo"]:
        return demo()
    if argv[:1] == ["models"]:
        return models(argv[1:])
    print("usage: python -m cf_aig demo | models [--search TEXT] [--refresh] [--json]")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
