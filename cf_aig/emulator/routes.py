"""Request routing: auth, gateway, ``cf-aig-*`` headers, faults, cache, logs, model routes.

Envelope choices where the real API is undocumented (reference §10):

* ``POST /ai/run`` (unified) answers ``@cf`` models exactly like ``/ai/run/{model}``, and
  third-party chat models with an OpenAI ``chat.completion`` inside the v4 envelope
  (streams are bare OpenAI chunks). ``anthropic/*`` input is an Anthropic Messages body,
  answered natively (a bare Anthropic message or event stream, as the binding does);
  which the emulator does not speak yet: 400, v4 envelope, code 7003.
* Invalid ``cf-aig-*`` headers: 400 ``AiGatewayError`` with code 2000 (no documented code).
* Request-body validation errors: 400, v4 envelope, code 7003 ("Model execution failed
  (User Input Error): ..."), Workers AI bad input 5006, JSON mode + stream 5023.
* ``/ai/v1/messages`` and ``/ai/v1/responses``: see ``messages.py`` and ``responses.py`` for
  their validation and state choices. Faults there keep their route's shapes: a
  ``stream_error`` is Anthropic's ``event: error`` or the Responses ``error`` event followed
  by ``response.failed``; fault envelope ``provider`` means the route's own provider body.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, unquote

from ..errors import ConfigurationError
from ..options import GatewayOptions, validate_metadata
from . import background, batch, engine, messages, responses, wire
from .catalog import (
    EMBEDDING_DIMS,
    REASONING_FIELD_REASONING,
    REASONING_MODELS,
    THIRD_PARTY_CHAT,
    WORKERS_AI_MODELS,
    provider_of,
)
from .engine import Script
from .faults import Fault
from .gateway_host import GATEWAY_PREFIX, GatewayConfig, pipeline_checks
from .gateway_host import handle as serve_gateway_host
from .models_api import handle as serve_catalogue
from .server import Reply, Request
from .store import REDACTED, CacheEntry, RecordedRequest, State
from .wire import HttpError

PREFIX = "/client/v4/accounts/"
JSON_CT = ("content-type", "application/json")
SSE_HEADERS = [("content-type", "text/event-stream"), ("cache-control", "no-cache")]
MAX_EMBED_ITEMS = 100

_BOOL, _INT, _STR, _JSON = "bool", "int", "str", "json"
HEADER_FIELDS: dict[str, tuple[str, str]] = {
    "cf-aig-cache-ttl": ("cache_ttl", _INT), "cf-cache-ttl": ("cache_ttl", _INT),
    "cf-aig-skip-cache": ("skip_cache", _BOOL), "cf-skip-cache": ("skip_cache", _BOOL),
    "cf-aig-cache-key": ("cache_key", _STR), "cf-aig-metadata": ("metadata", _JSON),
    "cf-aig-collect-log": ("collect_log", _BOOL),
    "cf-aig-collect-log-payload": ("collect_log_payload", _BOOL),
    "cf-aig-request-timeout": ("request_timeout_ms", _INT),
    "cf-aig-max-attempts": ("max_attempts", _INT),
    "cf-aig-retry-delay": ("retry_delay_ms", _INT), "cf-aig-backoff": ("backoff", _STR),
    "cf-aig-event-id": ("event_id", _STR), "cf-aig-custom-cost": ("custom_cost", _JSON),
    "cf-aig-byok-alias": ("byok_alias", _STR), "cf-aig-zdr": ("zdr", _BOOL),
    "cf-aig-no-wholesale": ("no_wholesale", _BOOL),
    "cf-aig-otel-trace-id": ("otel_trace_id", _STR),
    "cf-aig-otel-parent-span-id": ("otel_parent_span_id", _STR),
    "x-session-affinity": ("session_affinity", _STR),
    "cf-aig-session-id": ("session_id", _STR), "cf-aig-turn-id": ("turn_id", _STR),
    "cf-aig-no-session-affinity": ("no_session_affinity", _BOOL),
    "cf-aig-allowed-models": ("allowed_models", _STR),
    "cf-aig-allowed-providers": ("allowed_providers", _STR),
}


def _v4(status: int, code: int, message: str) -> HttpError:
    return HttpError(status, wire.v4_error(code, message))


def _gw(status: int, code: int, message: str) -> HttpError:
    return HttpError(status, wire.gateway_error(status, code, message))


def _user_error(detail: str) -> HttpError:
    return wire.user_error(detail)


def _json_reply(status: int, obj: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(status, [JSON_CT, *(headers or [])], wire.dumps(obj))


def parse_gateway_headers(headers: Mapping[str, str]) -> GatewayOptions:
    """Validate every known ``cf-aig-*`` header with the core's ``GatewayOptions``."""
    values: dict[str, Any] = {}
    for name, raw in headers.items():
        spec = HEADER_FIELDS.get(name)
        if spec is None:
            continue
        field, kind = spec
        value: Any = raw
        try:
            if kind == _INT:
                value = int(raw.strip())
            elif kind == _BOOL:
                if raw.strip().lower() not in ("true", "false"):
                    raise ConfigurationError(f"must be 'true' or 'false', got {raw!r}")
                value = raw.strip().lower() == "true"
            elif kind == _JSON:
                value = json.loads(raw)
            GatewayOptions(**{field: value})
        except (ValueError, ConfigurationError) as exc:
            raise _gw(400, 2000, f"Invalid {name} header: {exc}") from None
        values[field] = value
    return GatewayOptions(**values)


@dataclass
class Outcome:
    """A model route's answer before headers, cache and log are added."""

    model: str
    body: Any = None
    events: list[bytes] | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    kind: str = "chat"
    flavor: str = "chat"
    """Wire family for fault rendering: ``chat``, ``messages`` or ``responses``."""
    detail: Any = None
    """The rendered Responses object (for ``response.failed``)."""


@dataclass
class Call:
    """Per-request context handed to model routes."""

    request: Request
    body: dict[str, Any]
    opts: GatewayOptions
    script: Script | None
    stream_wanted: bool = False


ModelRoute = Callable[[Call], Outcome]


class App:
    """The emulator's request handler (``Request -> Reply``)."""

    def __init__(self, state: State, token: str | None = None,
                 stream_delay: float = 0.0) -> None:
        self.state = state
        self.token = token
        self.stream_delay = stream_delay
        self.gateway_config = GatewayConfig()
        """Gateway host, policies and lifecycle (``gateway_host.py``)."""
        self._model_routes: dict[str, ModelRoute] = {
            "ai/v1/chat/completions": self._chat_completions,
            "ai/v1/embeddings": self._embeddings,
            "ai/run": self._unified_run,
            "ai/v1/messages": self._messages,
            "ai/v1/responses": self._responses,
        }

    # ---- entry -----------------------------------------------------------------------

    def __call__(self, req: Request) -> Reply:
        body: Any = None
        if req.body:
            try:
                body = json.loads(req.body)
            except ValueError:
                body = None
        if req.path.startswith(GATEWAY_PREFIX):
            return serve_gateway_host(self, req, body)
        auth = req.headers.get("authorization")
        shown = {k: (REDACTED if k == "authorization" else v) for k, v in req.headers.items()}
        with self.state.lock:
            self.state.requests.append(RecordedRequest(req.method, req.path, req.query, shown,
                                                       body, auth))
        if not req.path.startswith(PREFIX):
            return _json_reply(404, wire.v4_error(7000, "No route for that URI"))
        if not self._authorized(auth):
            return _json_reply(401, wire.v4_error(10000, "Authentication error"))
        _, _, rest = req.path[len(PREFIX):].partition("/")
        rest = rest.rstrip("/")
        try:
            if rest.startswith("ai-gateway/gateways/"):
                return self._logs_api(req, rest[len("ai-gateway/gateways/"):], body)
            if rest.startswith("ai/models/"):
                return serve_catalogue(req, rest)
            route = self._model_routes.get(rest)
            if route is None and rest.startswith("ai/run/"):
                route = self._run_model
                if parse_qs(req.query).get("queueRequest") == ["true"]:
                    route = self._batch
            if route is None:
                if rest == "ai/v1/models":
                    raise _v4(405, 7001, f"{req.method} not supported for requested URI.")
                raise _v4(404, 7000, "No route for that URI")
            if req.method != "POST":
                raise _v4(405, 7001, f"{req.method} not supported for requested URI.")
        except HttpError as err:
            return _json_reply(err.status, err.body)
        return self._model_call(req, rest, route, body)

    def serve_model(self, req: Request, rest: str, body: Any) -> Reply:
        """Run the model route ``rest`` for a request already authenticated elsewhere."""
        return self._model_call(req, rest, self._model_routes[rest], body)

    def _authorized(self, auth: str | None) -> bool:
        if not auth or not auth.startswith("Bearer ") or not auth[7:].strip():
            return False
        return self.token is None or auth[7:].strip() == self.token

    # ---- the model pipeline ------------------------------------------------------------

    def _model_call(self, req: Request, rest: str, route: ModelRoute, body: Any) -> Reply:
        started = time.perf_counter()
        log_id = wire.uuid7()
        gateway = req.headers.get("cf-aig-gateway-id", "default").strip() or "default"
        event_id = req.headers.get("cf-aig-event-id") or log_id
        headers = [("cf-aig-log-id", log_id), ("cf-aig-request-id", log_id),
                   ("cf-aig-event-id", event_id), ("cf-aig-step", "0")]
        if gateway not in self.state.gateways:
            err = _gw(400, 2001, f"Gateway '{gateway}' does not exist")
            return _json_reply(400, err.body, headers)
        model = str(body.get("model", "")) if isinstance(body, dict) else ""
        if rest.startswith("ai/run/"):
            model = unquote(rest[len("ai/run/"):])
        reply: Reply
        opts = GatewayOptions()
        fault: Fault | None = None
        outcome: Outcome | None = None
        cached = False
        try:
            opts = parse_gateway_headers(req.headers)
            pipeline_checks(self.gateway_config, req, rest, model, gateway, opts.metadata)
            raw_fault = req.headers.get("x-cf-aig-emulator-fault")
            try:
                fault = Fault.from_header(raw_fault) if raw_fault else None
            except ValueError as exc:
                raise _v4(400, 7003, str(exc)) from None
            entry = self.state.take(req.path)
            script = entry if isinstance(entry, Script) else None
            if fault is None and isinstance(entry, Fault):
                fault = entry
            if not isinstance(body, dict):
                raise _v4(400, 7003 if req.body else 3003,
                          "Request body must be a JSON object" if req.body
                          else "Incomplete request: missing JSON body")
            stream = _wants_stream(rest, body)
            if fault is not None and fault.kind == "status":
                raise HttpError(fault.resolved_status(), wire.error_body(
                    _envelope(fault, rest), fault.resolved_status(), fault.resolved_code(),
                    fault.resolved_message()))
            cache_key = self._cache_key(req, rest, model, opts, stream)
            hit = self.state.cache_get(cache_key) if cache_key else None
            if hit is not None:
                cached = True
                model = hit.model
                reply = Reply(hit.status, [("content-type", hit.content_type)], hit.body)
                outcome = Outcome(model, kind="cached")
            else:
                as_json = stream and fault is not None and fault.kind == "json_for_stream"
                call = Call(req, body, opts, script, stream and not as_json)
                outcome = route(call)
                model = outcome.model
                reply = self._render(outcome, fault)
                if cache_key and reply.status == 200 and outcome.events is None and (
                        fault is None or fault.kind in ("hang",)):
                    self.state.cache_put(cache_key, opts.cache_ttl or 0, CacheEntry(
                        0.0, 200, "application/json", reply.body, model, provider_of(model)))
        except HttpError as err:
            reply = _json_reply(err.status, err.body)
            if fault is not None and fault.kind == "status" and fault.retry_after is not None:
                reply.headers.append(("retry-after", _fmt_num(fault.retry_after)))
        reply.headers.extend(headers)
        reply.headers.append(("cf-aig-cache-status", "HIT" if cached else "MISS"))
        if model:
            reply.headers += [("cf-aig-model", model), ("cf-aig-provider", provider_of(model))]
        if opts.collect_log is not False:
            self._log(gateway, log_id, event_id, rest, model, reply, outcome, opts, cached,
                      started)
        return reply

    def _cache_key(self, req: Request, rest: str, model: str, opts: GatewayOptions,
                   stream: bool) -> str | None:
        if not opts.cache_ttl or opts.skip_cache or stream:
            return None
        if opts.cache_key:
            return "k:" + opts.cache_key
        digest = hashlib.sha256(rest.encode() + b"\0" + model.encode() + b"\0" + req.body)
        return "h:" + digest.hexdigest()

    def _render(self, outcome: Outcome, fault: Fault | None) -> Reply:
        if outcome.events is None:
            reply = _json_reply(200, outcome.body)
        else:
            reply = Reply(200, list(SSE_HEADERS), events=list(outcome.events),
                          event_delay=self.stream_delay)
        if fault is None:
            return reply
        kind, events = fault.kind, reply.events
        if kind == "hang":
            reply.hang = fault.seconds
        elif kind == "disconnect":
            reply.drop_after = fault.after if events is not None else 0
        elif kind == "stall":
            if events is None:
                reply.hang = fault.seconds
            else:
                reply.stall_after, reply.stall_seconds = fault.after, fault.seconds
        elif kind == "malformed_json" or (kind == "malformed_sse" and events is None):
            reply.body = _BROKEN_BODY[outcome.flavor]
        elif kind == "malformed_sse" and events is not None:
            events.insert(min(fault.after, len(events)), _BROKEN_EVENT[outcome.flavor])
        elif kind == "success_false":
            reply = _json_reply(200, wire.v4_error(fault.resolved_code(),
                                                   fault.resolved_message()))
        elif kind == "stream_error":
            reply = self._stream_error(outcome, fault, reply)
        return reply

    @staticmethod
    def _stream_error(outcome: Outcome, fault: Fault, reply: Reply) -> Reply:
        status, code = fault.resolved_status(), fault.resolved_code()
        message, events = fault.resolved_message(), reply.events
        if outcome.flavor == "messages":
            if events is None:
                return _json_reply(status, wire.anthropic_error(status, message))
            reply.events = [*events[: fault.after], messages.error_event(status, message)]
            return reply
        if outcome.flavor == "responses" and events is not None:
            after = min(fault.after, len(events))
            reply.events = [*events[:after], *responses.failure_events(
                outcome.detail, after, status, code, message)]
            return reply
        if outcome.flavor == "responses":
            return _json_reply(status, wire.openai_error(status, str(code), message))
        err = {"error": {"message": message, "type": "server_error", "code": code}}
        if events is not None:
            reply.events = [*events[: fault.after], wire.sse(err)]
            return reply
        return _json_reply(status, err)

    def _log(self, gateway: str, log_id: str, event_id: str, rest: str, model: str,
             reply: Reply, outcome: Outcome | None, opts: GatewayOptions, cached: bool,
             started: float) -> None:
        tin = outcome.tokens_in if outcome else 0
        tout = outcome.tokens_out if outcome else 0
        cost_spec = opts.custom_cost or {}
        if cached:
            cost = 0.0
        elif "total_cost" in cost_spec:
            cost = float(cost_spec["total_cost"])
        else:
            cost = tin * float(cost_spec.get("per_token_in", 1e-6)) + tout * float(
                cost_spec.get("per_token_out", 2e-6))
        content_type = next((v for k, v in reply.headers if k == "content-type"),
                            "application/json")
        self.state.add_log(gateway, {
            "id": log_id,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "provider": provider_of(model) if model else None, "model": model or None,
            "model_type": outcome.kind if outcome else None, "path": rest,
            "request_type": rest.rsplit("/", 1)[-1], "request_content_type": "application/json",
            "response_content_type": content_type, "status_code": reply.status,
            "success": reply.status < 400, "cached": cached,
            "duration": int((time.perf_counter() - started) * 1000),
            "tokens_in": tin, "tokens_out": tout, "cost": round(cost, 12),
            "custom_cost": bool(cost_spec), "metadata": dict(opts.metadata or {}),
            "event_id": event_id, "step": 0, "feedback": None, "score": None,
        })

    # ---- model routes ------------------------------------------------------------------

    def _chat_completions(self, call: Call) -> Outcome:
        body = call.body
        model = _require_model(body)
        kind = self._chat_kind(model)
        _check_messages(body)
        _check_chat_tools(body, model)
        n = body.get("n", 1)
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 8:
            raise _user_error(f"n must be an integer from 1 to 8, got {n!r}")
        gen = self._generate(call, body, model)
        field = "reasoning" if model in REASONING_FIELD_REASONING else "reasoning_content"
        out = Outcome(model, tokens_in=gen.usage["prompt_tokens"],
                      tokens_out=gen.usage["completion_tokens"])
        lp = (int(body.get("top_logprobs") or 0) or 1) if body.get("logprobs") is True else None
        if call.stream_wanted:
            out.events = wire.chat_chunks(model, gen, include_usage=_include_usage(body),
                                          reasoning_field=field, workers_ai=kind == "chat",
                                          logprobs=lp)
        else:
            out.body = wire.chat_completion(model, gen, reasoning_field=field, logprobs=lp)
        return out

    def _chat_kind(self, model: str) -> str:
        if model.startswith(("@cf/", "@hf/")):
            kind = WORKERS_AI_MODELS.get(model)
            if kind is None:
                raise _v4(400, 5007, f"No such model {model} or task")
            if kind not in ("classic", "scout", "chat"):
                raise _v4(400, 5007, f"Model {model} does not support the text-generation "
                                     "task (it is a {kind} model)".replace("{kind}", kind))
            return kind
        if model not in THIRD_PARTY_CHAT:
            if model in EMBEDDING_DIMS:
                raise _user_error(f"{model} is an embedding model; use /ai/v1/embeddings")
            raise _gw(404, 7003, f"Model not found: {model}")
        return "third-party"

    def _generate(self, call: Call, body: Mapping[str, Any], model: str, *,
                  think: bool = False, prompt_cache: str | None = None) -> engine.Generation:
        """Run the engine; a repeated prompt under the session-affinity key (else under
        ``prompt_cache``) reports its prompt tokens as cached."""
        cached_tokens = 0
        affinity = call.opts.session_affinity or prompt_cache
        if affinity:
            digest = hashlib.sha256(wire.dumps([body.get("messages"), body.get("tools")]
                                               if prompt_cache else body.get("messages"))
                                    ).hexdigest()
            if self.state.seen_prompt(affinity, digest):
                cached_tokens = sum(engine.count_tokens(engine.message_text(m))
                                    for m in body["messages"] if isinstance(m, Mapping))
        return engine.generate(body, think=think or model in REASONING_MODELS,
                               script=call.script, cached_tokens=cached_tokens)

    def _messages(self, call: Call, body: Mapping[str, Any] | None = None) -> Outcome:
        parsed = messages.parse(call.body if body is None else body)
        self._chat_kind(parsed.model)
        gen = self._generate(call, parsed.canonical, parsed.model, think=parsed.think)
        # prompt caching by marked prefix: the longest one seen before is read, the rest
        # up to the last breakpoint is written (messages.cache_prefixes)
        hits = [tokens for digest, tokens in parsed.cache_prefixes
                if self.state.seen_prompt("\0anthropic-prompt-cache", digest)]
        read = max(hits, default=0)
        last = parsed.cache_prefixes[-1][1] if parsed.cache_prefixes else 0
        message = messages.render(parsed, gen, cache_creation=max(0, last - read),
                                  cache_read=read)
        out = Outcome(parsed.model, tokens_in=gen.usage["prompt_tokens"],
                      tokens_out=message["usage"]["output_tokens"], flavor="messages")
        if call.stream_wanted:
            out.events = messages.events(message)
        else:
            out.body = message
        return out

    def _responses(self, call: Call) -> Outcome:
        prev_id = call.body.get("previous_response_id")
        previous: list[dict[str, Any]] | None = None
        if prev_id is not None:
            if not isinstance(prev_id, str):
                raise _user_error("previous_response_id: Expected string")
            with self.state.lock:
                previous = self.state.responses.get(prev_id)
            if previous is None:
                raise HttpError(400, {"error": {
                    "message": f"Previous response with id '{prev_id}' not found.",
                    "type": "invalid_request_error", "param": "previous_response_id",
                    "code": "previous_response_not_found"}})
        parsed = responses.parse(call.body, previous)
        self._chat_kind(parsed.model)
        cache = "\0prompt_cache_key:" + parsed.cache_key if parsed.cache_key else None
        gen = self._generate(call, parsed.canonical, parsed.model, think=parsed.think,
                             prompt_cache=cache)
        resp = responses.render(parsed, gen)
        if parsed.store:
            self.state.remember_response(resp["id"], responses.remembered(parsed, resp))
        out = Outcome(parsed.model, tokens_in=gen.usage["prompt_tokens"],
                      tokens_out=gen.usage["completion_tokens"], flavor="responses",
                      detail=resp)
        if call.stream_wanted:
            out.events = responses.events(resp)
        else:
            out.body = resp
        return out

    def _embeddings(self, call: Call) -> Outcome:
        body = call.body
        model = _require_model(body)
        dim = EMBEDDING_DIMS.get(model)
        if dim is None:
            if model.startswith(("@cf/", "@hf/")) and model not in WORKERS_AI_MODELS:
                raise _v4(400, 5007, f"No such model {model} or task")
            if not model.startswith(("@cf/", "@hf/")) and model not in THIRD_PARTY_CHAT:
                raise _gw(404, 7003, f"Model not found: {model}")
            raise _user_error(f"{model} is not an embedding model")
        raw = body.get("input")
        texts = [raw] if isinstance(raw, str) else raw
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str)
                                                                for t in texts):
            raise _user_error("input must be a string or a non-empty list of strings")
        limit = MAX_EMBED_ITEMS if model.startswith("@cf/") else 2048
        if len(texts) > limit:
            raise _user_error(f"input may hold at most {limit} items, got {len(texts)}")
        tokens = sum(engine.count_tokens(t) for t in texts)
        dim = _embedding_size(model, dim, body.get("dimensions"))
        fmt = body.get("encoding_format", "float")
        if fmt not in ("float", "base64"):
            raise _user_error(f"encoding_format must be 'float' or 'base64', got {fmt!r}")
        data = [{"object": "embedding", "index": i,
                 "embedding": wire.embed_b64(t, dim) if fmt == "base64" else wire.embed(t, dim)}
                for i, t in enumerate(texts)]
        return Outcome(model, {"object": "list", "data": data, "model": model,
                               "usage": {"prompt_tokens": tokens, "total_tokens": tokens}},
                       tokens_in=tokens, kind="embedding")

    def _run_model(self, call: Call) -> Outcome:
        model = unquote(call.request.path.split("/ai/run/", 1)[1]).rstrip("/")
        return self._workers_ai(call, model, call.body)

    def _batch(self, call: Call) -> Outcome:
        model = unquote(call.request.path.split("/ai/run/", 1)[1]).rstrip("/")
        reply, tokens = batch.handle(self.state.batches, self.state.lock, model, call.body,
                                     call.request.headers, len(call.request.body),
                                     lambda m, inp: self._workers_ai(call, m, inp))
        return Outcome(model, reply, tokens_in=tokens, kind="batch")

    def _unified_run(self, call: Call) -> Outcome:
        if "options" in call.body:
            return self._with_options(call)
        model = _require_model(call.body)
        inp = call.body.get("input")
        if not isinstance(inp, dict):
            raise _user_error("input must be a JSON object (the model's own input)")
        if model.startswith(("@cf/", "@hf/")):
            return self._workers_ai(call, model, inp)
        if model.startswith("anthropic/") and model in THIRD_PARTY_CHAT:
            # Anthropic models take a Messages body as input and answer natively (as on the
            # binding's run path, reference §4.1): a bare message / Anthropic event stream.
            return self._messages(call, {**inp, "model": model})
        self._chat_kind(model)
        req = {**inp, "model": model}
        _check_messages(req)
        gen = self._generate(call, req, model)
        out = Outcome(model, tokens_in=gen.usage["prompt_tokens"],
                      tokens_out=gen.usage["completion_tokens"])
        if call.stream_wanted:
            out.events = wire.chat_chunks(model, gen, include_usage=_include_usage(req))
        else:
            out.body = wire.v4_ok(wire.chat_completion(model, gen))
        return out

    def _with_options(self, call: Call) -> Outcome:
        options = background.check(call.body["options"])
        inner = replace(call, body={k: v for k, v in call.body.items() if k != "options"})
        if options.get("background") is not True:
            return self._unified_run(inner)
        if call.stream_wanted or (isinstance(call.body.get("input"), dict)
                                  and call.body["input"].get("stream") is True):
            raise _v4(400, 5006, "AiError: Bad input: a background run cannot stream")
        model = _require_model(call.body)
        reply = background.run(self.state.webhooks, self.state.lock, model,
                               provider_of(model), options, lambda: self._unified_run(inner))
        return Outcome(model, reply, kind="background")

    def _workers_ai(self, call: Call, model: str, inp: dict[str, Any]) -> Outcome:
        kind = WORKERS_AI_MODELS.get(model)
        if kind is None:
            raise _v4(400, 5007, f"No such model {model} or task")
        if kind == "embedding":
            return self._native_embeddings(model, inp)
        if kind == "other":
            raise _v4(400, 5007, f"Model {model} is a task model the emulator does not run "
                                 "(only text generation and embeddings)")
        fmt = inp.get("response_format")
        json_mode = isinstance(fmt, Mapping) and fmt.get("type") in ("json_schema",
                                                                     "json_object")
        if inp.get("stream") is True and json_mode:
            raise _v4(400, 5023, "JSON Mode does not support streaming")
        req = dict(inp)
        if "messages" not in req and isinstance(req.get("prompt"), str):
            req["messages"] = [{"role": "user", "content": req["prompt"]}]
        if "messages" not in req and isinstance(req.get("input"), str):
            req["messages"] = [{"role": "user", "content": req["input"]}]
        if not isinstance(req.get("messages"), list) or not req["messages"]:
            raise _v4(400, 5006, "AiError: Bad input: required properties at '/' are 'prompt' "
                                 "or 'messages'")
        gen = self._generate(call, req, model)
        out = Outcome(model, tokens_in=gen.usage["prompt_tokens"],
                      tokens_out=gen.usage["completion_tokens"])
        if kind == "chat":
            field = "reasoning" if model in REASONING_FIELD_REASONING else "reasoning_content"
            if call.stream_wanted:
                out.events = wire.chat_chunks(model, gen, include_usage=_include_usage(req),
                                              reasoning_field=field, workers_ai=True)
            else:
                out.body = wire.v4_ok(wire.chat_completion(model, gen, reasoning_field=field))
        elif call.stream_wanted:
            out.events = wire.classic_events(gen, scout=kind == "scout")
        else:
            out.body = wire.v4_ok(wire.classic_result(gen, scout=kind == "scout"))
        return out

    def _native_embeddings(self, model: str, inp: Mapping[str, Any]) -> Outcome:
        raw = inp.get("text")
        texts = [raw] if isinstance(raw, str) else raw
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str)
                                                                for t in texts):
            raise _v4(400, 5006, "AiError: Bad input: required properties at '/' are 'text' "
                                 "(a string or a list of strings)")
        if len(texts) > MAX_EMBED_ITEMS:
            raise _v4(400, 5006, f"AiError: Bad input: 'text' may hold at most "
                                 f"{MAX_EMBED_ITEMS} items, got {len(texts)}")
        dim = EMBEDDING_DIMS.get(model, 768)
        pooling = inp.get("pooling", "mean")
        tokens = sum(engine.count_tokens(t) for t in texts)
        return Outcome(model, wire.v4_ok({"shape": [len(texts), dim],
                                          "data": [wire.embed(t, dim) for t in texts],
                                          "pooling": pooling}),
                       tokens_in=tokens, kind="embedding")

    # ---- logs API ----------------------------------------------------------------------

    def _logs_api(self, req: Request, rest: str, body: Any) -> Reply:
        gateway, _, tail = rest.partition("/")
        parts = tail.split("/") if tail else []
        if not parts or parts[0] != "logs" or len(parts) > 2:
            raise _v4(404, 7000, "No route for that URI")
        if gateway not in self.state.gateways:
            raise _v4(404, 2001, f"Gateway '{gateway}' not found")
        if len(parts) == 1:
            if req.method != "GET":
                raise _v4(405, 7001, f"{req.method} not supported for requested URI.")
            return self._list_logs(gateway, req.query)
        with self.state.lock:
            entry = self.state.logs.get(gateway, {}).get(parts[1])
            if entry is None:
                raise _v4(404, 7003, "Log not found")
            if req.method == "GET":
                return _json_reply(200, wire.v4_ok(dict(entry)))
            if req.method != "PATCH":
                raise _v4(405, 7001, f"{req.method} not supported for requested URI.")
            entry.update(_feedback_patch(body, entry))
            return _json_reply(200, wire.v4_ok(dict(entry)))

    def _list_logs(self, gateway: str, query: str) -> Reply:
        q = {k: v[-1] for k, v in parse_qs(query).items()}
        try:
            page = int(q.get("page", "1"))
            per_page = int(q.get("per_page", "20"))
        except ValueError:
            raise _v4(400, 7001, "page and per_page must be integers") from None
        if page < 1 or not 1 <= per_page <= 50:
            raise _v4(400, 7001, "page must be >= 1 and per_page from 1 to 50")
        with self.state.lock:
            rows = [dict(e) for e in self.state.logs.get(gateway, {}).values()]
        for key in ("success", "cached"):
            if key in q:
                want = q[key].lower() == "true"
                rows = [r for r in rows if r[key] is want]
        for key in ("model", "provider", "event_id", "model_type"):
            if key in q:
                rows = [r for r in rows if r[key] == q[key]]
        if "feedback" in q:
            rows = [r for r in rows if str(r["feedback"]) == q["feedback"]]
        if "search" in q:
            needle = q["search"].lower()
            rows = [r for r in rows if needle in str(r["model"]).lower() or any(
                needle in str(v).lower() for v in r["metadata"].values())]
        if (q.get("order_by_direction") or q.get("direction") or "desc") == "desc":
            rows.reverse()
        total = len(rows)
        start = (page - 1) * per_page
        result = wire.v4_ok(rows[start:start + per_page])
        result["result_info"] = {"page": page, "per_page": per_page,
                                 "count": len(rows[start:start + per_page]),
                                 "total_count": total}
        return _json_reply(200, result)


def _feedback_patch(body: Any, entry: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _v4(400, 7003, "PATCH body must be a JSON object with feedback, score, metadata")
    unknown = set(body) - {"feedback", "score", "metadata"}
    if unknown:
        raise _v4(400, 7003, f"unknown field(s) {sorted(unknown)}; allowed: feedback, score, "
                             "metadata")
    out: dict[str, Any] = {}
    if "feedback" in body:
        fb = body["feedback"]
        if fb is not None and (isinstance(fb, bool) or fb not in (-1, 0, 1)):
            raise _v4(400, 7003, f"feedback must be 1, -1, 0 or null, got {fb!r}")
        out["feedback"] = fb
    if "score" in body:
        score = body["score"]
        if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))
                                  or not math.isfinite(score)):
            raise _v4(400, 7003, f"score must be a number or null, got {score!r}")
        out["score"] = score
    if "metadata" in body and body["metadata"] is not None:
        try:
            meta = validate_metadata(body["metadata"])
        except ConfigurationError as exc:
            raise _v4(400, 7003, str(exc)) from None
        out["metadata"] = {**(entry.get("metadata") or {}), **meta}
    return out


_BROKEN_BODY = {
    "chat": b'{"id": "chatcmpl-broken", "choices": [{"index": 0, "mess',
    "messages": b'{"id": "msg_broken", "type": "message", "content": [{"ty',
    "responses": b'{"id": "resp_broken", "object": "response", "output": [{"ty',
}
_BROKEN_EVENT = {
    "chat": b"data: {not json at all\n\n",
    "messages": b"event: content_block_delta\ndata: {not json at all\n\n",
    "responses": b"event: response.output_text.delta\ndata: {not json at all\n\n",
}
_PROVIDER_ENVELOPE = {"ai/v1/messages": "anthropic", "ai/v1/chat/completions": "openai",
                      "ai/v1/responses": "openai", "ai/v1/embeddings": "openai"}


def _envelope(fault: Fault, rest: str) -> str:
    envelope = fault.resolved_envelope()
    if envelope == "provider":
        return _PROVIDER_ENVELOPE.get(rest, "v4")
    return envelope


def _check_chat_tools(body: Mapping[str, Any], model: str) -> None:
    """Chat completions take function (and custom) tools only: provider-run tools such as
    ``web_search_preview`` are rejected (reference §11.1); ``enable_search`` is Alibaba's."""
    for i, tool in enumerate(body.get("tools") or ()):
        kind = tool.get("type") if isinstance(tool, Mapping) else None
        if kind not in ("function", "custom"):
            raise _user_error(f"tools[{i}].type: Invalid value {kind!r}; chat completions "
                              "support 'function' and 'custom' tools")
    if "enable_search" in body and not model.startswith("alibaba/"):
        raise _user_error("Unrecognized request argument supplied: enable_search")


def _embedding_size(model: str, native: int, asked: Any) -> int:
    """OpenAI's text-embedding-3 models shorten vectors on request; others refuse."""
    if asked is None:
        return native
    if isinstance(asked, bool) or not isinstance(asked, int) or asked < 1:
        raise _user_error(f"dimensions must be a positive integer, got {asked!r}")
    if not model.startswith("openai/text-embedding-3") or asked > native:
        raise _user_error(f"This model does not support specifying dimensions ({model}, "
                          f"{asked})")
    return asked


def _require_model(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _user_error("model is required (a model id string)")
    return model


def _check_messages(body: Mapping[str, Any]) -> None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _user_error("messages is required: a non-empty list of messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in (
                "system", "developer", "user", "assistant", "tool", "function"):
            raise _user_error(f"messages[{i}] must be an object with a valid role")


def _wants_stream(rest: str, body: Mapping[str, Any]) -> bool:
    if rest == "ai/run":
        inp = body.get("input")
        return isinstance(inp, Mapping) and inp.get("stream") is True
    return body.get("stream") is True


def _include_usage(body: Mapping[str, Any]) -> bool:
    opts = body.get("stream_options")
    return isinstance(opts, Mapping) and opts.get("include_usage") is True


def _fmt_num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
