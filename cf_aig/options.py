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

Adding an option: one ``option(header, validator, doc)`` field on :class:`GatewayOptions`
(header building, validation, the adapters' pydantic fields and per-call kwargs follow),
its test, and, if the emulator should check it, a line in its own header table
(``cf_aig/emulator/routes.py`` ``HEADER_FIELDS``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ConfigurationError, LogIdUnavailableError

MetadataValue = str | int | float | bool
Backoff = Literal["constant", "linear", "exponential"]

SECRET_HEADERS = frozenset({"authorization", "cf-aig-authorization", "x-api-key"})
"""Headers that carry credentials: never set from options, never shown."""
CACHE_TTL_MIN = 60
CACHE_TTL_MAX = 30 * 24 * 3600  # "1 month" (reference §3.1)
RETRY_DELAY_MAX_MS = 60_000  # docs say 5000 (June) and 60000 (Sept): accept the larger
METADATA_MAX_ENTRIES = 5
_COST_KEYS = frozenset(
    {"per_token_in", "per_token_out", "per_cache_read_token", "per_cache_write_token", "total_cost"}
)


def _bad(name: str, rule: str, value: Any) -> ConfigurationError:
    return ConfigurationError(f"{name} must be {rule}, got {value!r}")


# ---- validators: (option name, value) -> the value to keep, or ConfigurationError ---------

Check = Callable[[str, Any], Any]
Encode = Callable[[Any], str]


def int_in(lo: int, hi: int | None, unit: str = "") -> Check:
    """An integer from ``lo`` to ``hi`` (inclusive; ``None`` = no upper bound)."""

    def check(name: str, value: Any) -> int:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < lo
            or (hi is not None and value > hi)
        ):
            rng = f"from {lo} to {hi}" if hi is not None else f">= {lo}"
            raise _bad(name, f"an integer {rng}{unit}", value)
        return value

    return check


def check_bool(name: str, value: Any) -> bool:
    """True or False (not a truthy string)."""
    if not isinstance(value, bool):
        raise _bad(name, "True or False", value)
    return value


_HEADER_TEXT = re.compile(r"[\x20-\x7e]+")
"""What a header value can carry as-is: printable ASCII (no control character)."""


def check_str(name: str, value: Any) -> str:
    """A non-empty string of printable ASCII on one line (it becomes a header value)."""
    if not isinstance(value, str) or not value.strip() or not _HEADER_TEXT.fullmatch(value):
        raise _bad(name, "a non-empty single-line string of printable ASCII", value)
    return value


def one_of(*choices: str) -> Check:
    """One of ``choices``."""

    def check(name: str, value: Any) -> str:
        if value not in choices:
            raise _bad(name, "one of " + ", ".join(repr(c) for c in choices), value)
        return str(value)

    return check


def hex_chars(n: int) -> Check:
    """Exactly ``n`` hexadecimal characters."""
    pattern = re.compile(f"[0-9a-fA-F]{{{n}}}")

    def check(name: str, value: Any) -> str:
        if not (isinstance(value, str) and pattern.fullmatch(value)):
            raise _bad(name, f"{n} hexadecimal characters", value)
        return value

    return check


def name_list(name: str, value: Any) -> tuple[str, ...]:
    """A non-empty list of names (or one comma-separated string), none holding a comma."""
    items = value.split(",") if isinstance(value, str) else value
    rule = "a non-empty list of names without commas or spaces, e.g. ['openai/*', 'anthropic/*']"
    if isinstance(items, (bytes, Mapping)) or not isinstance(items, (list, tuple, set, frozenset)):
        raise _bad(name, rule, value)
    names = tuple(i.strip() if isinstance(i, str) else i for i in items)
    if not names or not all(
        isinstance(i, str) and i and "," not in i and not any(c.isspace() for c in i)
        and _HEADER_TEXT.fullmatch(i) for i in names
    ):
        raise _bad(name, rule, value)
    return names


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


def _check_metadata(name: str, value: Any) -> dict[str, MetadataValue]:
    return validate_metadata(value, name)


def _check_cost(name: str, value: Any) -> dict[str, float]:
    ok = isinstance(value, Mapping) and value and set(value) <= _COST_KEYS
    if ok:
        ok = all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
            for v in value.values()
        ) and (("total_cost" in value) != bool(set(value) - {"total_cost"}))
    if not ok:
        raise _bad(
            name,
            'a dict like {"per_token_in": 1e-6, "per_token_out": 2e-6} (optionally '
            'per_cache_read_token/per_cache_write_token) or {"total_cost": 0.01}, '
            "with numbers >= 0",
            value,
        )
    return dict(value)


# ---- encoders: the kept value -> the header's text -----------------------------------------


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _compact_json(value: Any) -> str:
    return json.dumps(dict(value), separators=(",", ":"), ensure_ascii=True)


def _lower(value: str) -> str:
    return value.lower()


def _comma_list(value: tuple[str, ...]) -> str:
    return ",".join(value)


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """How one gateway option travels: its header, validator, encoder and one-line doc.

    >>> OPTION_SPECS["cache_ttl"].header, OPTION_SPECS["metadata"].field
    ('cf-aig-cache-ttl', 'gateway_metadata')
    """

    name: str
    header: str
    check: Check
    encode: Encode
    doc: str
    field: str
    """Name of the adapters' pydantic field and per-call kwarg (usually ``name``)."""


def option(header: str, check: Check, doc: str, *, encode: Encode = str,
           field_name: str | None = None) -> Any:
    """Declare a gateway option: a ``GatewayOptions`` field defaulting to ``None``.

    The header, validator, encoder, doc and adapter field name ride in the dataclass
    field's metadata; :data:`OPTION_SPECS` collects them.
    """
    meta = {"cf_aig_option": (header, check, encode, doc, field_name)}
    return field(default=None, metadata=meta)


@dataclass(frozen=True)
class GatewayOptions:
    """Per-request gateway controls, sent as ``cf-aig-*`` headers (reference §3.1).

    Every field is optional; ``None`` means "leave the gateway's setting alone". Each
    field is declared once, below, with its header, validator and doc; header building,
    validation and the adapters' pydantic fields all derive from these declarations.

    >>> GatewayOptions(skip_cache=True, backoff="linear").headers()
    {'cf-aig-skip-cache': 'true', 'cf-aig-backoff': 'linear'}
    """

    cache_ttl: int | None = option(
        "cf-aig-cache-ttl", int_in(CACHE_TTL_MIN, CACHE_TTL_MAX, " seconds"),
        "Cache the response for this many seconds (60 .. 2,592,000).")
    skip_cache: bool | None = option(
        "cf-aig-skip-cache", check_bool, "Bypass the cache lookup.", encode=_flag)
    cache_key: str | None = option(
        "cf-aig-cache-key", check_str, "Replace the default cache key.")
    metadata: Mapping[str, MetadataValue] | None = option(
        "cf-aig-metadata", _check_metadata,
        "Up to 5 str/int/float/bool values attached to the gateway log.",
        encode=_compact_json, field_name="gateway_metadata")
    collect_log: bool | None = option(
        "cf-aig-collect-log", check_bool, "Write (True) or skip (False) the gateway log entry.",
        encode=_flag)
    collect_log_payload: bool | None = option(
        "cf-aig-collect-log-payload", check_bool,
        "Keep (True) or drop (False) request and response bodies in the log.", encode=_flag)
    request_timeout_ms: int | None = option(
        "cf-aig-request-timeout", int_in(1, None, " milliseconds"),
        "Gateway-side timeout to the first response byte, in milliseconds.")
    max_attempts: int | None = option(
        "cf-aig-max-attempts", int_in(1, 5), "Gateway-side attempts against the provider (1 .. 5).")
    retry_delay_ms: int | None = option(
        "cf-aig-retry-delay", int_in(0, RETRY_DELAY_MAX_MS, " milliseconds"),
        "Gateway-side delay between attempts, in milliseconds (0 .. 60,000).")
    backoff: Backoff | None = option(
        "cf-aig-backoff", one_of("constant", "linear", "exponential"),
        "Gateway-side backoff: constant, linear or exponential.")
    event_id: str | None = option(
        "cf-aig-event-id", check_str,
        "Your id for this request; echoed back and stored in the log.")
    custom_cost: Mapping[str, float] | None = option(
        "cf-aig-custom-cost", _check_cost,
        'Cost override: per-token prices in USD, or {"total_cost": x}.', encode=_compact_json)
    byok_alias: str | None = option(
        "cf-aig-byok-alias", check_str, "Which stored provider key (BYOK alias) to use.")
    zdr: bool | None = option(
        "cf-aig-zdr", check_bool, "Zero Data Retention for this request (Unified Billing only).",
        encode=_flag)
    no_wholesale: bool | None = option(
        "cf-aig-no-wholesale", check_bool, "Forbid falling back to Unified Billing.",
        encode=_flag)
    otel_trace_id: str | None = option(
        "cf-aig-otel-trace-id", hex_chars(32),
        "OpenTelemetry trace id (32 hexadecimal characters).", encode=_lower)
    otel_parent_span_id: str | None = option(
        "cf-aig-otel-parent-span-id", hex_chars(16),
        "OpenTelemetry parent span id (16 hexadecimal characters).", encode=_lower)
    session_affinity: str | None = option(
        "x-session-affinity", check_str, "Workers AI prefix-cache routing key.")
    # Auto Router (model "cloudflare/auto" on the gateway host's /compat; reference §11.1)
    session_id: str | None = option(
        "cf-aig-session-id", check_str, "Auto Router: conversation id, keeps one routing choice.")
    turn_id: str | None = option(
        "cf-aig-turn-id", check_str, "Auto Router: id of this turn within the session.")
    no_session_affinity: bool | None = option(
        "cf-aig-no-session-affinity", check_bool,
        "Auto Router: route each turn afresh instead of sticking to the session's model.",
        encode=_flag)
    allowed_models: Sequence[str] | None = option(
        "cf-aig-allowed-models", name_list,
        "Auto Router: models it may pick ('openai/*' style; '*' does not cross '/').",
        encode=_comma_list)
    allowed_providers: Sequence[str] | None = option(
        "cf-aig-allowed-providers", name_list, "Auto Router: providers it may pick.",
        encode=_comma_list)
    _headers: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for spec in OPTION_SPECS.values():
            value = getattr(self, spec.name)
            if value is not None:
                object.__setattr__(self, spec.name, spec.check(spec.name, value))
        self._headers.update(self._build_headers())

    def _build_headers(self) -> dict[str, str]:
        return {
            spec.header: spec.encode(getattr(self, spec.name))
            for spec in OPTION_SPECS.values()
            if getattr(self, spec.name) is not None
        }

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
            name: getattr(override, name)
            for name in OPTION_SPECS
            if getattr(override, name) is not None
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
            name: getattr(self, name)
            for name in OPTION_SPECS
            if getattr(self, name) is not None
        }


def _collect_specs() -> dict[str, OptionSpec]:
    specs: dict[str, OptionSpec] = {}
    for f in dataclasses.fields(GatewayOptions):
        if "cf_aig_option" in f.metadata:
            header, check, encode, doc, field_name = f.metadata["cf_aig_option"]
            specs[f.name] = OptionSpec(f.name, header, check, encode, doc, field_name or f.name)
    return specs


OPTION_SPECS: dict[str, OptionSpec] = _collect_specs()
"""Every gateway option by name, in declaration order: the one table of options."""
OPTION_FIELDS = tuple(f for f in dataclasses.fields(GatewayOptions) if f.name in OPTION_SPECS)
OPTION_NAMES = frozenset(OPTION_SPECS)
"""Names of every gateway option; adapters expose each as a field and a per-call kwarg."""
OPTION_HEADERS = frozenset(spec.header for spec in OPTION_SPECS.values())
"""Every request header an option can set."""
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
    """Model that served the request (``cf-aig-model``; dynamic routes)."""
    provider: str | None = None
    """Provider slug that served the request (``cf-aig-provider``)."""
    dlp: dict[str, Any] | None = None
    routed_model: str | None = None
    """Model the Auto Router picked (``cf-aig-routed-model``)."""
    routing_reason: str | None = None
    """Why the Auto Router picked it (``cf-aig-routing-reason``)."""
    routing_decision_id: str | None = None
    """Id of the Auto Router's decision (``cf-aig-routing-decision-id``)."""

    @property
    def cached(self) -> bool:
        """True when the answer came from the gateway cache."""
        return (self.cache_status or "").upper() == "HIT"

    def require_log_id(self) -> str:
        """The log id as a ``str`` (for ``get_log``/``patch_log``), or a typed error saying
        why there is none.

        >>> GatewayInfo(log_id="019a").require_log_id()
        '019a'
        >>> GatewayInfo().require_log_id()
        Traceback (most recent call last):
        ...
        cf_aig.errors.LogIdUnavailableError: this answer carries no gateway log id ...
        """
        if not self.log_id:
            raise LogIdUnavailableError(
                "this answer carries no gateway log id (no cf-aig-log-id header): the gateway "
                "did not log the call (logging off for the gateway, or collect_log=False), "
                "so there is no log to fetch or send feedback for")
        return self.log_id

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> GatewayInfo:
        # one pass over the headers (an httpx.Headers lookup scans them all, per key)
        get = {k.lower(): v for k, v in headers.items() if k[:7].lower() == "cf-aig-"}.get
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
            routed_model=get("cf-aig-routed-model"),
            routing_reason=get("cf-aig-routing-reason"),
            routing_decision_id=get("cf-aig-routing-decision-id"),
        )

    def as_dict(self) -> dict[str, Any]:
        """The fields that are set, for response metadata."""
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}
