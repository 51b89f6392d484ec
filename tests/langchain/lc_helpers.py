"""Shared helpers of the LangChain adapter tests: the session emulator and loopback-only
downloads (the standard suites fetch a test image/PDF/WAV from the web; answered locally here).
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from cf_aig.emulator import Emulator

ACCOUNT = "acc-langchain"
TOKEN = "tok-langchain"

# A 1x1 PNG and a one-page PDF, served in place of the suites' remote fixtures.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

_session: dict[str, Emulator] = {}


def emulator() -> Emulator:
    """The session's emulator (started on first use, stopped at session end)."""
    if "emu" not in _session:
        _session["emu"] = Emulator().start()
    return _session["emu"]


def stop_emulator() -> None:
    emu = _session.pop("emu", None)
    if emu is not None:
        emu.stop()


def creds(e: Emulator | None = None) -> dict[str, Any]:
    """Constructor arguments pointing at the emulator."""
    return {"account_id": ACCOUNT, "api_token": TOKEN, "base_url": (e or emulator()).base_url}


# 10 ms of 8 kHz mono silence: a valid RIFF/WAVE file for the audio-input suite test.
WAV = (
    b"RIFF" + (36 + 160).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
    + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
    + (16000).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
    + b"data" + (160).to_bytes(4, "little") + bytes(160)
)

_real_get = httpx.get


def offline_get(url: Any, *args: Any, **kwargs: Any) -> httpx.Response:
    host = httpx.URL(str(url)).host
    if host in ("127.0.0.1", "localhost", "::1"):
        return _real_get(url, *args, **kwargs)
    suffix = str(url).lower().rsplit(".", 1)[-1]
    body, ctype = {"pdf": (PDF, "application/pdf"), "wav": (WAV, "audio/wav")}.get(
        suffix, (PNG, "image/png"))
    return httpx.Response(
        200, content=body, headers={"content-type": ctype}, request=httpx.Request("GET", url)
    )


class ChatCapabilities:
    """Capability flags shared by the unit and integration standard suites (one place)."""

    override = "openai/gpt-5-mini"

    @property
    def chat_model_class(self) -> type[Any]:
        from langchain_cf_aig import ChatCloudflareAIGateway

        return ChatCloudflareAIGateway

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return self.override
