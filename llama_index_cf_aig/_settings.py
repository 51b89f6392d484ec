"""Connection settings and gateway options shared by the LLM and the embedding.

A pydantic mixin: every setting is a documented field; the API token is a secret that
is excluded from ``model_dump``/``to_dict``/``to_json`` (and so from instrumentation
events). Core clients are built lazily, once per instance, as private attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from cf_aig.client import AsyncClient, Client
from cf_aig.config import Settings
from cf_aig.options import OPTION_NAMES, GatewayOptions

# Field name -> core option name, where the field had to be renamed (``metadata`` is
# taken by ``LLM.metadata``).
_RENAMED = {"gateway_metadata": "metadata"}
OPTION_FIELDS: tuple[str, ...] = tuple(
    sorted({*(n for n in OPTION_NAMES if n != "metadata"), "gateway_metadata"})
)
"""Field / per-call kwarg names of the gateway options (``gateway_metadata`` for metadata)."""


def _core_name(name: str) -> str:
    return _RENAMED.get(name, name)


class GatewaySettings(BaseModel):
    """Account, token, gateway, transport and ``cf-aig-*`` option fields."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    account_id: str | None = Field(
        default=None, description="Cloudflare account id (else $CLOUDFLARE_ACCOUNT_ID)."
    )
    api_token: SecretStr | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description="Cloudflare API token (else $CLOUDFLARE_API_TOKEN); never serialized.",
    )
    base_url: str | None = Field(
        default=None,
        description="API base URL (else $CLOUDFLARE_AI_GATEWAY_BASE_URL, else "
        "https://api.cloudflare.com/client/v4).",
    )
    gateway_id: str | None = Field(
        default=None, description="AI Gateway id (else $CLOUDFLARE_AI_GATEWAY_ID, else default)."
    )
    timeout: float | None = Field(
        default=None, gt=0, description="Client-side timeout per request, seconds (default 120)."
    )
    max_retries: int = Field(
        default=2, ge=0, le=10, description="Client-side retries of retryable failures."
    )
    default_headers: dict[str, str] | None = Field(
        default=None, description="Extra HTTP headers sent with every request."
    )
    allow_insecure_http: bool = Field(
        default=False, description="Allow plain-HTTP base URLs to non-loopback hosts."
    )
    http_client: httpx.Client | None = Field(
        default=None, exclude=True, description="Custom sync httpx client (not serialized)."
    )
    async_http_client: httpx.AsyncClient | None = Field(
        default=None, exclude=True, description="Custom async httpx client (not serialized)."
    )

    # ---- gateway options (cf-aig-* request headers); each is also a per-call kwarg ----
    cache_ttl: int | None = Field(default=None, description="Cache responses for N seconds.")
    skip_cache: bool | None = Field(default=None, description="Bypass the gateway cache.")
    cache_key: str | None = Field(default=None, description="Custom cache key.")
    gateway_metadata: dict[str, str | int | float | bool] | None = Field(
        default=None, description="Up to 5 scalar values attached to the gateway log."
    )
    collect_log: bool | None = Field(default=None, description="Write (or skip) the log entry.")
    collect_log_payload: bool | None = Field(
        default=None, description="Keep (or drop) request/response bodies in the log."
    )
    request_timeout_ms: int | None = Field(
        default=None, description="Gateway-side timeout to the first byte, milliseconds."
    )
    max_attempts: int | None = Field(
        default=None, description="Gateway-side attempts against the provider (1-5)."
    )
    retry_delay_ms: int | None = Field(
        default=None, description="Gateway-side delay between attempts, milliseconds."
    )
    backoff: Literal["constant", "linear", "exponential"] | None = Field(
        default=None, description="Gateway-side retry backoff."
    )
    event_id: str | None = Field(default=None, description="Your id for the request/log.")
    custom_cost: dict[str, float] | None = Field(
        default=None, description="Cost override: per-token prices or {'total_cost': x}."
    )
    byok_alias: str | None = Field(default=None, description="Stored provider key alias.")
    zdr: bool | None = Field(default=None, description="Zero Data Retention (Unified Billing).")
    no_wholesale: bool | None = Field(
        default=None, description="Forbid falling back to Unified Billing."
    )
    otel_trace_id: str | None = Field(default=None, description="OpenTelemetry trace id.")
    otel_parent_span_id: str | None = Field(
        default=None, description="OpenTelemetry parent span id."
    )
    session_affinity: str | None = Field(
        default=None, description="Workers AI prefix-cache routing key."
    )

    _client: Client | None = PrivateAttr(default=None)
    _aclient: AsyncClient | None = PrivateAttr(default=None)
    _options: GatewayOptions | None = PrivateAttr(default=None)

    def _check_settings(self) -> None:
        """Fail fast on missing credentials or bad options (no client is built)."""
        self._resolve()
        self._options = self.gateway_options()

    def _resolve(self) -> Settings:
        return Settings.resolve(
            account_id=self.account_id,
            api_token=self.api_token,
            base_url=self.base_url,
            gateway_id=self.gateway_id,
            timeout=self.timeout,
            max_retries=self.max_retries,
            allow_insecure_http=self.allow_insecure_http,
        )

    def gateway_options(self) -> GatewayOptions:
        """The gateway options set on this instance."""
        values = {_core_name(n): getattr(self, n) for n in OPTION_FIELDS}
        return GatewayOptions.from_mapping({k: v for k, v in values.items() if v is not None})

    def _core_kwargs(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "api_token": self.api_token,
            "base_url": self.base_url,
            "gateway_id": self.gateway_id,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "default_headers": self.default_headers,
            "allow_insecure_http": self.allow_insecure_http,
            "options": self._options or self.gateway_options(),
        }

    @property
    def client(self) -> Client:
        """The core sync client (built on first use)."""
        if self._client is None:
            self._client = Client(http_client=self.http_client, **self._core_kwargs())
        return self._client

    @property
    def async_client(self) -> AsyncClient:
        """The core async client (built on first use)."""
        if self._aclient is None:
            self._aclient = AsyncClient(http_client=self.async_http_client, **self._core_kwargs())
        return self._aclient


def pop_call_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Remove per-call gateway options, headers and timeout from ``kwargs``.

    Returns the keyword arguments for the core call (``options``, ``headers``,
    ``timeout``); ``gateway_options`` may be a dict or :class:`GatewayOptions`.
    """
    call: dict[str, Any] = {}
    if not kwargs:
        return call
    opts: dict[str, Any] = {}
    for name in [k for k in kwargs if k in _PER_CALL]:
        value = kwargs.pop(name)
        if value is not None:
            opts[_core_name(name)] = value
    given = kwargs.pop("gateway_options", None)
    if given is not None or opts:
        base = (
            given
            if isinstance(given, GatewayOptions)
            else GatewayOptions.from_mapping(dict(given or {}))
        )
        call["options"] = base.merge(opts) if opts else base
    headers = kwargs.pop("extra_headers", None)
    if headers is not None:
        if not isinstance(headers, Mapping):
            raise TypeError("extra_headers must be a dict of header names to values")
        call["headers"] = dict(headers)
    timeout = kwargs.pop("timeout", None)
    if timeout is not None:
        call["timeout"] = timeout
    return call


_PER_CALL = frozenset(OPTION_FIELDS)
