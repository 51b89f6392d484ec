"""``python -m cf_aig demo``: a short tour through the gateway.

With ``CLOUDFLARE_ACCOUNT_ID`` and ``CLOUDFLARE_API_TOKEN`` set it talks to Cloudflare;
otherwise it starts the local emulator on loopback and says so.
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


def main(argv: list[str]) -> int:
    if argv[:1] == ["demo"]:
        return demo()
    print("usage: python -m cf_aig demo")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
