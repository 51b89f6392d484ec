"""Background runs on unified ``/ai/run`` (reference §11.1): ``"options": {"background":
true, "webhookUrl", "webhookFormat"}``.

The documented rules answer 400 (``webhookUrl`` without ``background: true``;
``webhookFormat`` without ``webhookUrl``; a URL that is not HTTPS or names a private
address; a background run asking to stream). A background run is computed at once and
answered ``{"id", "state": "queued", "model"}`` (the real reply is undocumented); the
webhook POST it would make (one, never retried) is recorded instead of sent, since the
emulator lives on loopback: ``Emulator.webhooks`` lists ``(url, body)`` pairs.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from . import wire
from .wire import HttpError

FORMATS = ("raw", "chat")


def _bad(message: str) -> HttpError:
    return HttpError(400, wire.v4_error(5006, f"AiError: Bad input: {message}"))


def _public_https(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return False
    host = parts.hostname.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return True  # a name: the real service checks what it resolves to


def check(options: Any) -> dict[str, Any]:
    """Validate ``options`` of a unified run as the service does (HttpError 400)."""
    if not isinstance(options, dict):
        raise _bad("'options' must be an object")
    background = options.get("background", False)
    if not isinstance(background, bool):
        raise _bad("'options.background' must be a boolean")
    url, fmt = options.get("webhookUrl"), options.get("webhookFormat")
    if url is not None and background is not True:
        raise _bad("'options.webhookUrl' requires 'options.background': true")
    if fmt is not None and url is None:
        raise _bad("'options.webhookFormat' requires 'options.webhookUrl'")
    if url is not None and not _public_https(url):
        raise _bad("'options.webhookUrl' must be an https URL to a public address")
    if fmt is not None and fmt not in FORMATS:
        raise _bad(f"'options.webhookFormat' must be one of {list(FORMATS)}")
    return options


def run(webhooks: list[tuple[str, Any]], lock: Any, model: str, provider: str,
        options: dict[str, Any], answer: Callable[[], Any]) -> dict[str, Any]:
    """Compute the run now, record the webhook delivery, return the immediate reply."""
    run_id = str(uuid.uuid4())
    record: dict[str, Any] = {"id": run_id, "state": "Completed", "result": None,
                              "error": None, "provider": provider, "model": model,
                              "usage": None}
    try:
        outcome = answer()
    except HttpError as err:
        record.update(state="Failed", error=err.body)
    else:
        body = outcome.body
        record["result"] = body.get("result", body) if isinstance(body, dict) else body
        record["usage"] = {"prompt_tokens": outcome.tokens_in,
                           "completion_tokens": outcome.tokens_out}
    url = options.get("webhookUrl")
    if url is not None:
        payload: Any = record
        if options.get("webhookFormat") == "chat":
            payload = {"text": json.dumps(record, indent=2)}
        with lock:
            webhooks.append((url, payload))
    return wire.v4_ok({"id": run_id, "state": "queued", "model": model})
