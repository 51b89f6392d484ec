"""The gateway host (surface C), gateway policies and the model lifecycle, emulated.

Routes: ``POST /v1/{account}/{gateway}/compat/chat/completions`` and ``.../compat/responses``
(reference §1.1, §4.7, §11.1). They run through the same model pipeline as the REST API
(cache, logs, faults), with these additions. Where the real behaviour is undocumented the
emulator's choice is stated.

* **Authentication** (:attr:`GatewayConfig.auth`, on by default like the default gateway):
  ``cf-aig-authorization: Bearer <token>`` (the emulator's token, or any non-empty one);
  missing or wrong → 401 ``AiGatewayError`` 2009 "Unauthorized". A provider key may come
  in ``authorization`` (BYOK in the request); it is recorded redacted.
* **Model names**: ``workers-ai/@cf/...`` → ``@cf/...``; ``google-ai-studio/`` → ``google/``;
  ``grok/`` → ``xai/``; others as given.
* **Dynamic routes** ``dynamic/<name>`` (:attr:`GatewayConfig.routes`): the route's first
  model serves; an unknown route → 404 ``AiGatewayError`` 7003; on an unauthenticated
  gateway → 400 ``AiGatewayError`` 2000 (dynamic routes need an authenticated gateway).
* **Auto Router** ``cloudflare/auto``: candidates are the emulator's third-party chat
  models, narrowed by ``cf-aig-allowed-models`` (``*`` matches within one ``/`` segment) and
  ``cf-aig-allowed-providers``; none left → 400 ``AiGatewayError`` 2000. The pick is
  deterministic (SHA-256 of the last user text); with ``cf-aig-session-id`` (and no
  ``cf-aig-no-session-affinity: true``) later turns keep the session's model. Response
  headers ``cf-aig-routed-model``, ``cf-aig-routing-reason`` (``session_affinity``,
  ``allowed_models`` when narrowed, else ``default``) and ``cf-aig-routing-decision-id``.

On both surfaces (hooked into the model pipeline):

* **Policies** (§11.2): a model in :attr:`GatewayConfig.denied_models` → 403
  ``{"success": false, "error": {"message": "Access denied by policy"}}``; a bucket in
  :attr:`GatewayConfig.spend` with ``spent >= limit`` → 429 ``{"success": false, "error":
  {"message": "Spending limit exceeded", "bucket", "spent", "limit"}}``. The bucket is
  ``user:<cf-aig-metadata user>`` when that metadata key is set, else ``gateway:<id>``.
* **Lifecycle** (§11.3): with :attr:`GatewayConfig.retire` on, retired models → 400 v4 5007
  naming the date; with :attr:`GatewayConfig.plan` ``"free"``, Workers-Paid models → 403 v4
  5035. Both off by default, so the rest of the emulator keeps serving those models.
* **Unified Billing on Responses** (§11.2): with :attr:`GatewayConfig.responses_402` on,
  ``/responses`` for ``openai/gpt-5.4``, ``gpt-5.4-mini`` and ``gpt-5.5`` without a provider
  key → 402 ``AiGatewayError`` 2021.

>>> import httpx
>>> from cf_aig.emulator import Emulator
>>> with Emulator() as emu:
...     r = httpx.post(f"{emu.gateway_url}/{emu.account_id}/default/compat/chat/completions",
...                    headers={"cf-aig-authorization": "Bearer t"},
...                    json={"model": "cloudflare/auto",
...                          "messages": [{"role": "user", "content": "Hi"}]})
>>> r.status_code, r.headers["cf-aig-routed-model"] == r.headers["cf-aig-model"]
(200, True)
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import wire
from .catalog import THIRD_PARTY_CHAT, provider_of
from .server import Reply, Request
from .store import REDACTED, RecordedRequest
from .wire import HttpError

if TYPE_CHECKING:
    from .routes import App

GATEWAY_PREFIX = "/v1/"
COMPAT_ROUTES = {"chat/completions": "ai/v1/chat/completions", "responses": "ai/v1/responses"}
SLUGS = {"google-ai-studio": "google", "grok": "xai"}
"""Gateway-host provider slugs whose REST API spelling differs."""

RETIRED: dict[str, str] = {
    "@cf/meta/llama-3.1-8b-instruct": "2026-05-30",
    "@hf/nousresearch/hermes-2-pro-mistral-7b": "2026-05-30",
    "@cf/meta/llama-2-7b-chat-fp16": "2026-05-30",
    "@cf/mistral/mistral-7b-instruct-v0.1": "2026-05-30",
}
"""The emulator's retirements (the changelog names the first two of 18)."""
WORKERS_PAID: frozenset[str] = frozenset({
    "@cf/moonshotai/kimi-k2.6", "@cf/moonshotai/kimi-k2.5", "@cf/moonshotai/kimi-k2.7-code",
    "@cf/zai-org/glm-5.2",
})
RESPONSES_402: frozenset[str] = frozenset({"openai/gpt-5.4", "openai/gpt-5.4-mini",
                                           "openai/gpt-5.5"})
_SECRET = ("authorization", "cf-aig-authorization")


@dataclass
class GatewayConfig:
    """Gateway-host, policy and lifecycle settings of one emulator (reset by ``reset()``).

    >>> GatewayConfig().routes["support"][0]
    'openai/gpt-5-mini'
    """

    auth: bool = True
    """The gateway is authenticated (``cf-aig-authorization`` required on the gateway host)."""
    routes: dict[str, list[str]] = field(default_factory=lambda: {
        "support": ["openai/gpt-5-mini", "anthropic/claude-haiku-4.5"]})
    """Dynamic routes: name → models (the first serves)."""
    denied_models: set[str] = field(default_factory=set)
    """Models a policy denies (403)."""
    spend: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Spend buckets: name → (spent, limit); ``spent >= limit`` blocks (429)."""
    plan: str = "paid"
    """``free``: Workers-Paid models answer 403/5035."""
    retire: bool = False
    """Retired models answer 400/5007."""
    responses_402: bool = False
    """Unified Billing ``/responses`` answers 402 for the GPT-5.4/5.5 family."""
    sessions: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reset(self) -> None:
        """Back to the defaults."""
        fresh = GatewayConfig()
        with self.lock:
            for name in ("auth", "routes", "denied_models", "spend", "plan", "retire",
                         "responses_402", "sessions"):
                setattr(self, name, getattr(fresh, name))


def _gw(status: int, code: int, message: str) -> HttpError:
    return HttpError(status, wire.gateway_error(status, code, message))


def _policy(status: int, error: dict[str, Any]) -> HttpError:
    return HttpError(status, {"success": False, "error": error})


# ---- checks on both surfaces ----------------------------------------------------------------


def pipeline_checks(config: GatewayConfig, req: Request, rest: str, model: str,
                    gateway: str, metadata: Mapping[str, Any] | None) -> None:
    """Policies, lifecycle and the Responses billing rule; raises ``HttpError``."""
    if model in config.denied_models:
        raise _policy(403, {"message": "Access denied by policy"})
    user = (metadata or {}).get("user")
    bucket = f"user:{user}" if user is not None else f"gateway:{gateway}"
    if bucket in config.spend:
        spent, limit = config.spend[bucket]
        if spent >= limit:
            raise _policy(429, {"message": "Spending limit exceeded", "bucket": bucket,
                                "spent": spent, "limit": limit})
    if config.retire and model in RETIRED:
        raise HttpError(400, wire.v4_error(
            5007, f"No such model {model}: it was retired on {RETIRED[model]}"))
    if config.plan == "free" and model in WORKERS_PAID:
        raise HttpError(403, wire.v4_error(
            5035, f"AiError: {model} requires the Workers Paid plan"))
    if (config.responses_402 and rest.endswith("responses") and model in RESPONSES_402
            and not req.headers.get("x-emulator-provider-key")):
        raise _gw(402, 2021, "Insufficient balance; add money to your gateway or use BYOK")


# ---- the gateway host ------------------------------------------------------------------------


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("[^/]*".join(re.escape(p) for p in pattern.split("*")))


def _names(raw: str | None) -> list[str]:
    return [n.strip() for n in (raw or "").split(",") if n.strip()]


def _last_user_text(body: Mapping[str, Any]) -> str:
    items = body.get("messages") or body.get("input") or []
    if isinstance(items, str):
        return items
    for item in reversed(items if isinstance(items, list) else []):
        if isinstance(item, Mapping) and item.get("role") == "user":
            return json.dumps(item.get("content"), sort_keys=True)
    return ""


def auto_route(config: GatewayConfig, headers: Mapping[str, str],
               body: Mapping[str, Any]) -> tuple[str, str]:
    """The Auto Router's pick and reason (see the module notes)."""
    candidates = sorted(THIRD_PARTY_CHAT)
    allowed, providers = _names(headers.get("cf-aig-allowed-models")), _names(
        headers.get("cf-aig-allowed-providers"))
    if allowed:
        patterns = [_glob(a) for a in allowed]
        candidates = [c for c in candidates if any(p.fullmatch(c) for p in patterns)]
    if providers:
        candidates = [c for c in candidates if provider_of(c) in providers]
    if not candidates:
        raise _gw(400, 2000, "No model matches cf-aig-allowed-models / "
                             "cf-aig-allowed-providers")
    session = headers.get("cf-aig-session-id")
    sticky = session and headers.get("cf-aig-no-session-affinity", "").lower() != "true"
    with config.lock:
        kept = config.sessions.get(session) if sticky and session else None
        if kept in candidates:
            return str(kept), "session_affinity"
        digest = hashlib.sha256(_last_user_text(body).encode()).digest()
        pick = candidates[int.from_bytes(digest[:4], "big") % len(candidates)]
        if sticky and session:
            config.sessions[session] = pick
    return pick, "allowed_models" if allowed or providers else "default"


def resolve_model(config: GatewayConfig, model: str, headers: Mapping[str, str],
                  body: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """The model that serves a ``/compat`` request, and routing headers to add."""
    if model == "cloudflare/auto":
        pick, reason = auto_route(config, headers, body)
        return pick, [("cf-aig-routed-model", pick), ("cf-aig-routing-reason", reason),
                      ("cf-aig-routing-decision-id", wire.uuid7())]
    if model.startswith("dynamic/"):
        name = model[len("dynamic/"):]
        if not config.auth:
            raise _gw(400, 2000, "Dynamic routes need an authenticated gateway")
        route = config.routes.get(name)
        if not route:
            raise _gw(404, 7003, f"Dynamic route not found: {name}")
        return route[0], []
    if model.startswith("workers-ai/"):
        return model[len("workers-ai/"):], []
    slug, sep, rest = model.partition("/")
    return (SLUGS[slug] + sep + rest if slug in SLUGS else model), []


def handle(app: App, req: Request, body: Any) -> Reply:
    """Serve one request to the gateway host (``/v1/{account}/{gateway}/...``)."""
    shown = {k: (REDACTED if k in _SECRET else v) for k, v in req.headers.items()}
    with app.state.lock:
        app.state.requests.append(RecordedRequest(
            req.method, req.path, req.query, shown, body, req.headers.get("cf-aig-authorization")))
    parts = req.path[len(GATEWAY_PREFIX):].split("/", 3)
    route = COMPAT_ROUTES.get(parts[3].rstrip("/")) if len(parts) == 4 else None
    try:
        if len(parts) < 3 or not parts[0] or not parts[1]:
            raise _gw(404, 2001, "Gateway URL must be /v1/{account}/{gateway}/...")
        account, gateway = parts[0], parts[1]
        config: GatewayConfig = app.gateway_config
        if config.auth and not _authorized(app, req.headers.get("cf-aig-authorization")):
            raise _gw(401, 2009, "Unauthorized")
        if route is None or parts[2] != "compat":
            raise _gw(404, 7000, "No route for that URI on the emulated gateway host")
        if req.method != "POST":
            raise _gw(405, 7001, f"{req.method} not supported for requested URI.")
        extra: list[tuple[str, str]] = []
        if isinstance(body, dict) and isinstance(body.get("model"), str):
            model, extra = resolve_model(config, body["model"], req.headers, body)
            body = {**body, "model": model}
    except HttpError as err:
        return Reply(err.status, [("content-type", "application/json")], wire.dumps(err.body))
    headers = {k: v for k, v in req.headers.items() if k not in _SECRET}
    headers["cf-aig-gateway-id"] = gateway
    if req.headers.get("authorization"):
        headers["x-emulator-provider-key"] = "1"
    inner = Request(req.method, f"/client/v4/accounts/{account}/{route}", req.query, headers,
                    json.dumps(body).encode() if body is not None else req.body)
    reply = app.serve_model(inner, route, body)
    reply.headers.extend(extra)
    return reply


def _authorized(app: App, value: str | None) -> bool:
    if not value or not value.startswith("Bearer ") or not value[7:].strip():
        return False
    return app.token is None or value[7:].strip() == app.token
