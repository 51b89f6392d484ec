"""Background runs on unified ``/ai/run`` (reference §11.1): validated before sending.

The body gains ``"options": {"background": true, "webhookUrl": ..., "webhookFormat": ...}``;
the call returns at once and the webhook (if any) later gets one POST with
``{"id", "state", "result", "error", "provider", "model", "usage"}`` (best effort, never
retried). The documented rules, checked here so a mistake costs no request:

* ``webhook_url`` only with ``background=True`` (the API answers 400 otherwise);
* ``webhook_format`` only with ``webhook_url``; it is ``raw`` or ``chat`` (``chat`` wraps
  the body as ``{"text": "<pretty JSON>"}`` for Slack / Google Chat);
* the URL is HTTPS and not a private, loopback or link-local address (names are not
  resolved here: the service checks what they resolve to);
* a background run does not stream, and it goes to unified ``/ai/run`` only.

What the immediate reply carries is not documented, so it is exposed as it came
(``RunResult.result`` is the whole JSON body, envelope included).

>>> background_options(True, "https://hooks.example.com/x", "chat")
{'background': True, 'webhookUrl': 'https://hooks.example.com/x', 'webhookFormat': 'chat'}
>>> background_options(False, "https://hooks.example.com/x", None)
Traceback (most recent call last):
...
cf_aig.errors.ConfigurationError: webhook_url needs background=True: ...
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from ._ids import check_model_id
from ._protocol import Call, info_of
from .dialects.chat import check_error, loads
from .errors import ConfigurationError
from .results import RunResult

if TYPE_CHECKING:
    from ._protocol import Core

WEBHOOK_FORMATS = ("raw", "chat")


def _check_webhook_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError("webhook_url must be a non-empty https:// URL")
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigurationError(
            f"webhook_url must be an https:// URL with a host (the API refuses others), "
            f"got {url!r}")
    if parts.username or parts.password:
        raise ConfigurationError("webhook_url must not carry credentials (user:pass@)")
    host = parts.hostname.strip("[]").lower()
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise ConfigurationError(
            f"webhook_url host {host!r} is private; the API only calls public addresses")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return url.strip()
    if not ip.is_global:
        raise ConfigurationError(
            f"webhook_url address {host} is not public (private, loopback, link-local or "
            "reserved); the API only calls public addresses")
    return url.strip()


def background_options(
    background: bool, webhook_url: str | None, webhook_format: str | None
) -> dict[str, Any] | None:
    """The ``options`` object of a background run, or None for a normal run."""
    if not isinstance(background, bool):
        raise ConfigurationError(f"background must be True or False, got {background!r}")
    if webhook_url is not None and not background:
        raise ConfigurationError(
            "webhook_url needs background=True: the API answers 400 to a webhook on a "
            "normal run; pass background=True or drop webhook_url")
    if webhook_format is not None and webhook_url is None:
        raise ConfigurationError(
            "webhook_format needs webhook_url: the API answers 400 otherwise; pass "
            "webhook_url=... or drop webhook_format")
    if not background:
        return None
    options: dict[str, Any] = {"background": True}
    if webhook_url is not None:
        options["webhookUrl"] = _check_webhook_url(webhook_url)
    if webhook_format is not None:
        if webhook_format not in WEBHOOK_FORMATS:
            raise ConfigurationError(
                f"webhook_format must be one of {list(WEBHOOK_FORMATS)}, got {webhook_format!r}")
        options["webhookFormat"] = webhook_format
    return options


def background_body(
    model: str, input: dict[str, Any], options: dict[str, Any], *, stream: bool,
    unified: bool | None,
) -> dict[str, Any]:
    """The unified ``/ai/run`` body of a background run (refusing what cannot be one)."""
    if stream or input.get("stream") is True:
        raise ConfigurationError(
            "a background run cannot stream: it returns at once and the result goes to the "
            "webhook; drop stream=True (or run without background)")
    if unified is False:
        raise ConfigurationError(
            "background runs exist on unified /ai/run only; drop unified=False")
    return {"model": model, "input": input, "options": options}


def background_plan(
    client: Core, model: str, input: Mapping[str, Any], stream: bool, unified: bool | None,
    options: dict[str, Any], call: Mapping[str, Any],
) -> Call[RunResult]:
    """Plan of one background run; its result is the immediate reply, whole."""
    if not isinstance(input, Mapping):
        raise ConfigurationError(f"input must be a dict, got {type(input).__name__}")
    body = background_body(check_model_id(model), dict(input), options, stream=stream,
                           unified=unified)
    headers, policy = client.resolve(call)
    request = client.build_request("POST", "/ai/run", body=body, headers=headers)

    def interpret(response: httpx.Response, raw: bytes | None) -> RunResult:
        assert raw is not None
        reply = loads(raw, "background run reply")
        check_error(reply, response.status_code)
        return RunResult(reply, info_of(response))

    return client.call(request, interpret, policy=policy)


__all__ = ["WEBHOOK_FORMATS", "background_body", "background_options", "background_plan"]
