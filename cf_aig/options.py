"""Gateway options (``cf-aig-*`` request headers) and gateway info (response headers).

Every option is validated when the object is built, so a bad value fails before
anything is sent. Options set on a client are merged with per-request options; the
per-request value wins.

>>> opts = GatewayOptions(cache_ttl=3600, metadata={"user": "alice"})
>>> opts.headers()["cf-aig-cache-ttl"], opts.headers()["cf-aig-metadata"]
('3600', '{"user":"alice"}')
>>> GatewayOptions(max_attempts=9)
Traceback (most recent call last):
...
cf_aig.errors.ConfigurationError: max_attempts must be an integer from 1 to 5, got 9
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ConfigurationError

MetadataValue = str | int | float | bool
Backoff = Literal["constant", "linear", "exponential"]

SECRET_HEADERS = frozenset({"authorization", "cf-aig-authorization", "x-api-key"})
"""Headers that carry credentials: never set from options, never shown."""
CACHE_TTL_MIN = 60
CACHE_TTL_MAX = 30 * 24 * 3600  # "1 month" (reference §3.1)
RETRY_DELAY_MAX_MS = 60_000  # docs say 5000 (June) and 60000 (Sept): accept the larger
METADATA_MAX_ENTRIES = 5
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_HEX16 = re.compile(r"[0-9a-fA-F]{16}")
_COST_KEYS = frozenset(
    {"per_token_in", "per_token_out", "per_cache_read_token", "per_cache_write_token", "total_cost"}
)


def _bad(name: str, rule: str, value: Any) -> ConfigurationError:
    return ConfigurationError(f"{name} must be {rule}, got {value!r}")


def _int_in(name: str, value: Any, lo: int, hi: int | None, unit: str = "") -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < lo
        or (hi is not None and value > hi)
    ):
        rng = f"from {lo} to {hi}" if hi is not None else f">= {lo}"
        raise _bad(name, f"an integer {rng}{unit}", value)


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise _bad(name, "True or False", value)


def _check_str(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip() or "\n" in value or "\r" in value:
        raise _bad(name, "a non-empty single-line string", value)


def validate_metadata(value: Any, name: str = "metadata") -> dict[str, MetadataValue]:
    """Check a ``cf-aig-metadata`` object: ≤5 entries, scalar values, no ``cf.`` keys."""
    if not isinstance(value, Mapping):
        raise _bad(name, "a dict of at most 5 str/int/float/bool values", value)
    if len(value) > METADATA_MAX_ENTRIES:
        raise ConfigurationError(
            f"{name} may hold at most {METADATA_MAX_ENTRIES} entries (the gateway drops the "
            f"rest), got {len(value)}: {sorted(map(str, value))}"
        )
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise _bad(f"{name} key", "a non-empty string", key)
        if key.startswith("cf."):
            raise ConfigurationError(
                f"{name} key {key!r} is reserved: keys starting 'cf.' belong to Cloudflare"
            )
        if not isinstance(item, (str, int, float, bool)):
            raise ConfigurationError(
                f"{name}[{key!r}] must be a str, int, float or bool (no None or nesting: the "
                f"gateway would drop the whole metadata), got {type(item).__name__}"
            )
    return dict(value)


def _check_cost(value: Any) -> None:
    ok = isinstance(value, Mapping) and value and set(value) <= _COST_KEYS
    if ok:
        ok = all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
            for v in value.values()
        ) and (("total_cost" in value) != bool(set(value) - {"total_cost"}))
    if not ok:
        raise _bad(
            "custom_cost",
            'a dict like {"per_token_in": 1e-6, "per_token_out": 2e-6} (optionally '
            'per_cache_read_token/per_cache_write_token) or {"total_cost": 0.01}, '
            "with numbers >= 0",
            value,
        )


def _flag(value: bool) -> str:
    return "true" if value else "false"


@dataclass(frozen=True)
class GatewayOptions:
    """Per-request gateway controls, sent as ``cf-aig-*`` headers (reference §3.1).

    Every field is optional; ``None`` means "leave the gateway's setting alone".

    >>> GatewayOptions(skip_cache=True, backoff="linear").headers()
    {'cf-aig-skip-cache': 'true', 'cf-aig-backoff': 'linear'}
    """

    cache_ttl: int | None = None
    """Cache the response for this many seconds (60 .. 2,592,000)."""
    skip_cache: bool | None = None
    """Bypass the cache lookup."""
    cache_key: str | None = None
    """Replace the default cache key."""
    metadata: Mapping[str, MetadataValue] | None = None
    """Up to 5 str/int/float/bool values attached to the gateway log."""
    collect_log: bool | None = None
    """Write (True) or skip (False) the gateway log entry."""
    collect_log_payload: bool | None = None
    """Keep (True) or drop (False) request and response bodies in the log."""
    request_timeout_ms: int | None = None
    """Gateway-side timeout to the first response byte, in milliseconds."""
    max_attempts: int | None = None
    """Gateway-side attempts against the provider (1 .. 5)."""
    retry_delay_ms: int | None = None
    """Gateway-side delay between attempts, in milliseconds (0 .. 60,000)."""
    backoff: Backoff | None = None
    """Gateway-side backoff: constant, linear or exponential."""
    event_id: str | None = None
    """Your id for this request; echoed back and stored in the log."""
    custom_cost: Mapping[str, float] | None = None
    """Cost override: per-token prices in USD, or ``{"total_cost": x}``."""
    byok_alias: str | None = None
    """Which stored provider key (BYOK alias) to use."""
    zdr: bool | None = None
    """Zero Data Retention for this request (Unified Billing only)."""
    no_wholesale: bool | None = None
    """Forbid falling back to Unified Billing."""
    otel_trace_id: str | None = None
    """OpenTelemetry trace id (32 hex characters)."""
    otel_parent_span_id: str | None = None
    """OpenTelemetry parent span id (16 hex characters)."""
    session_affinity: str | None = None
    """Workers AI prefix-cache routing key (``x-session-affinity``)."""
    _headers: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.cache_ttl is not None:
            _int_in("cache_ttl", self.cache_ttl, CACHE_TTL_MIN, CACHE_TTL_MAX, " seconds")
        for name in ("skip_cache", "collect_log", "collect_log_payload", "zdr", "no_wholesale"):
            if getattr(self, name) is not None:
                _check_bool(name, getattr(self, name))
        for name in ("cache_key", "event_id", "byok_alias", "session_affinity"):
            if getattr(self, name) is not None:
                _check_str(name, getattr(self, name))
        if self.metadata is not None:
            object.__setattr__(self, "metadata", validate_metadata(self.metadata))
        if self.request_timeout_ms is not None:
            _int_in("request_timeout_ms", self.request_timeout_ms, 1, None, " milliseconds")
        if self.max_attempts is not None:
            _int_in("max_attempts", self.max_attempts, 1, 5)
        if self.retry_delay_ms is not None:
            _int_in("retry_delay_ms", self.retry_delay_ms, 0, RETRY_DELAY_MAX_MS, " milliseconds")
        if self.backoff is not None and self.backoff not in ("constant", "linear", "exponential"):
            raise _bad("backoff", "one of 'constant', 'linear', 'exponential'", self.backoff)
        if self.custom_cost is not None:
            _check_cost(self.custom_cost)
        if self.otel_trace_id is not None and not (
            isinstance(self.otel_trace_id, str) and _HEX32.fullmatch(self.otel_trace_id)
        ):
            raise _bad("otel_trace_id", "32 hexadecimal characters", self.otel_trace_id)
        if self.otel_parent_span_id is not None and not (
            isinstance(self.otel_parent_span_id, str) and _HEX16.fullmatch(self.otel_parent_span_id)
        ):
            raise _bad("otel_parent_span_id", "16 hexadecimal characters", self.otel_parent_span_id)
        self._headers.update(self._build_headers())

    def _build_headers(self) -> dict[str, str]:
        h: dict[str, str] = {}
        if self.cache_ttl is not None:
            h["cf-aig-cache-ttl"] = str(self.cache_ttl)
        if self.skip_cache is not None:
            h["cf-aig-skip-cache"] = _flag(self.skip_cache)
        if self.cache_key is not None:
            h["cf-aig-cache-key"] = self.cache_key
        if self.metadata is not None:
            h["cf-aig-metadata"] = json.dumps(
                self.metadata, separators=(",", ":"), ensure_ascii=True
            )
        if self.collect_log is not None:
            h["cf-aig-collect-log"] = _flag(self.collect_log)
        if self.collect_log_payload is not None:
            h["cf-aig-collect-log-payload"] = _flag(self.collect_log_payload)
        if self.request_timeout_ms is not None:
            h["cf-aig-request-timeout"] = str(self.request_timeout_ms)
        if self.max_attempts is not None:
            h["cf-aig-max-attempts"] = str(self.max_attempts)
        if self.retry_delay_ms is not None:
            h["cf-aig-retry-delay"] = str(self.retry_delay_ms)
        if self.backoff is not None:
            h["cf-aig-backoff"] = self.backoff
        if self.event_id is not None:
            h["cf-aig-event-id"] = self.event_id
        if self.custom_cost is not None:
            h["cf-aig-custom-cost"] = json.dumps(dict(self.custom_cost), separators=(",", ":"))
        if self.byok_alias is not None:
            h["cf-aig-byok-alias"] = self.byok_alias
        if self.zdr is not None:
            h["cf-aig-zdr"] = _flag(self.zdr)
        if self.no_wholesale is not None:
            h["cf-aig-no-wholesale"] = _flag(self.no_wholesale)
        if self.otel_trace_id is not None:
            h["cf-aig-otel-trace-id"] = self.otel_trace_id.lower()
        if self.otel_parent_span_id is not None:
            h["cf-aig-otel-parent-span-id"] = self.otel_parent_span_id.lower()
        if self.session_affinity is not None:
            h["x-session-affinity"] = self.session_affinity
        return h

    def headers(self) -> dict[str, str]:
        """The ``cf-aig-*`` headers for these options (a fresh dict)."""
        return dict(self._headers)

    def merge(self, override: GatewayOptions | Mapping[str, Any] | None) -> GatewayOptions:
        """A copy where every option set in ``override`` replaces ours."""
        if override is None:
            return self
        if isinstance(override, Mapping):
            override = GatewayOptions.from_mapping(override)
        changes = {
            f.name: getattr(override, f.name)
            for f in OPTION_FIELDS
            if getattr(override, f.name) is not None
        }
        return dataclasses.replace(self, **changes) if changes else self

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> GatewayOptions:
        """Build from a dict; unknown keys are an error naming them."""
        unknown = set(values) - OPTION_NAMES
        if unknown:
            raise ConfigurationError(
                f"unknown gateway option(s) {sorted(unknown)}; known: {sorted(OPTION_NAMES)}"
            )
        return cls(**{k: v for k, v in values.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        """The options that are set, by name."""
        return {
            f.name: getattr(self, f.name)
            for f in OPTION_FIELDS
            if getattr(self, f.name) is not None
        }


OPTION_FIELDS = tuple(f for f in dataclasses.fields(GatewayOptions) if f.init)
OPTION_NAMES = frozenset(f.name for f in OPTION_FIELDS)
"""Names of every gateway option; adapters expose each as a field and a per-call kwarg."""
NO_OPTIONS = GatewayOptions()


@dataclass(frozen=True, slots=True)
class GatewayInfo:
    """What the gateway said about a call, read from ``cf-aig-*`` response headers.

    >>> GatewayInfo.from_headers({"cf-aig-log-id": "019a", "cf-aig-cache-status": "HIT"}).cached
    True
    """

    log_id: str | None = None
    request_id: str | None = None
    event_id: str | None = None
    cache_status: str | None = None
    step: int | None = None
    model: str | None = None
    provider: str | None = None
    dlp: dict[str, Any] | None = None

    @property
    def cached(self) -> bool:
        """True when the answer came from the gateway cache."""
        return (self.cache_status or "").upper() == "HIT"

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> GatewayInfo:
        get = headers.get
        step = get("cf-aig-step")
        dlp_raw = get("cf-aig-dlp")
        dlp: dict[str, Any] | None = None
        if dlp_raw:
            try:
                parsed = json.loads(dlp_raw)
                dlp = parsed if isinstance(parsed, dict) else {"raw": dlp_raw}
            except ValueError:
                dlp = {"raw": dlp_raw}
        return cls(
            log_id=get("cf-aig-log-id"),
            request_id=get("cf-aig-request-id"),
            event_id=get("cf-aig-event-id"),
            cache_status=get("cf-aig-cache-status"),
            step=int(step) if step and step.isdigit() else None,
            model=get("cf-aig-model"),
            provider=get("cf-aig-provider"),
            dlp=dlp,
        )

    def as_dict(self) -> dict[str, Any]:
        """The fields that are set, for response metadata."""
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}
