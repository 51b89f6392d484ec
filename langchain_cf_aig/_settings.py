"""Connection settings and gateway options shared by the chat model and the embeddings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.utils import from_env, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from cf_aig import AsyncClient, Client, GatewayOptions
from cf_aig.config import ENV_ACCOUNT_ID, ENV_API_TOKEN, ENV_BASE_URL, ENV_GATEWAY_ID
from cf_aig.options import OPTION_NAMES, MetadataValue

from .errors import to_langchain_error

FIELD_OF_OPTION = {name: name for name in OPTION_NAMES}
FIELD_OF_OPTION["metadata"] = "gateway_metadata"  # `metadata` is LangChain's tracing field
OPTION_OF_FIELD = {v: k for k, v in FIELD_OF_OPTION.items()}
"""Model field / per-call kwarg name → gateway option name (identical but for metadata)."""


class GatewaySettings(BaseModel):
    """Credentials, endpoint, transport and every gateway option (``cf-aig-*`` header)."""

    model_config = ConfigDict(
        populate_by_name=True,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        protected_namespaces=(),
        arbitrary_types_allowed=True,
    )

    account_id: str | None = Field(default_factory=from_env(ENV_ACCOUNT_ID, default=None))
    """Cloudflare account id (env ``CLOUDFLARE_ACCOUNT_ID``)."""
    api_token: SecretStr | None = Field(
        alias="api_key", default_factory=secret_from_env(ENV_API_TOKEN, default=None)
    )
    """API token (alias ``api_key``; env ``CLOUDFLARE_API_TOKEN``)."""
    base_url: str | None = Field(default_factory=from_env(ENV_BASE_URL, default=None))
    """API base, default ``https://api.cloudflare.com/client/v4``."""
    gateway_id: str | None = Field(default_factory=from_env(ENV_GATEWAY_ID, default=None))
    """AI Gateway id (env ``CLOUDFLARE_AI_GATEWAY_ID``); the gateway's default if unset."""
    timeout: float | None = None
    """Client-side timeout in seconds (core default 120)."""
    max_retries: int | None = None
    """Client-side retries of retryable errors (core default 2)."""
    default_headers: dict[str, str] | None = None
    """Extra headers on every request."""
    allow_insecure_http: bool = False
    """Allow plain-HTTP base URLs to non-loopback hosts."""
    http_client: Any = Field(default=None, exclude=True)
    """An ``httpx.Client`` to use instead of the core's own pool."""
    http_async_client: Any = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` to use instead of the core's own pool."""

    # Gateway options: one field each (see cf_aig.options.GatewayOptions).
    cache_ttl: int | None = None
    """Cache the response for this many seconds."""
    skip_cache: bool | None = None
    """Bypass the gateway cache."""
    cache_key: str | None = None
    """Custom cache key."""
    gateway_metadata: dict[str, MetadataValue] | None = None
    """Up to 5 scalar values for the gateway log (``cf-aig-metadata``)."""
    collect_log: bool | None = None
    """Write (True) or skip (False) the gateway log."""
    collect_log_payload: bool | None = None
    """Keep or drop bodies in the gateway log."""
    request_timeout_ms: int | None = None
    """Gateway-side timeout to first byte, in ms."""
    max_attempts: int | None = None
    """Gateway-side attempts (1..5)."""
    retry_delay_ms: int | None = None
    """Gateway-side delay between attempts, in ms."""
    backoff: Literal["constant", "linear", "exponential"] | None = None
    """Gateway-side backoff."""
    event_id: str | None = None
    """Your id for the request, stored in the log."""
    custom_cost: dict[str, float] | None = None
    """Cost override (per-token prices or total_cost)."""
    byok_alias: str | None = None
    """Stored provider key alias."""
    zdr: bool | None = None
    """Zero Data Retention."""
    no_wholesale: bool | None = None
    """Forbid Unified Billing fallback."""
    otel_trace_id: str | None = None
    """OpenTelemetry trace id (32 hex)."""
    otel_parent_span_id: str | None = None
    """OpenTelemetry parent span id (16 hex)."""
    session_affinity: str | None = None
    """Workers AI prefix-cache routing key."""

    _client: Client | None = PrivateAttr(default=None)
    _async_client: AsyncClient | None = PrivateAttr(default=None)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if not name.startswith("_"):
            self._reset()

    def _reset(self) -> None:
        """Forget clients and cached per-call constants after a field changed."""
        if getattr(self, "__pydantic_private__", None) is None:
            return  # still validating
        self._client = None
        self._async_client = None

    def gateway_options(self) -> GatewayOptions:
        """The gateway options set on this instance (validated)."""
        values = {
            opt: getattr(self, fld)
            for fld, opt in OPTION_OF_FIELD.items()
            if getattr(self, fld) is not None
        }
        return GatewayOptions(**values)

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "api_token": self.api_token,
            "base_url": self.base_url,
            "gateway_id": self.gateway_id,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "options": self.gateway_options(),
            "default_headers": self.default_headers,
            "allow_insecure_http": self.allow_insecure_http,
        }

    def _check_settings(self) -> None:
        """Fail at construction on missing credentials or invalid options."""
        from cf_aig.config import Settings

        try:
            Settings.resolve(
                account_id=self.account_id,
                api_token=self.api_token,
                base_url=self.base_url,
                gateway_id=self.gateway_id,
                timeout=self.timeout,
                max_retries=self.max_retries,
                allow_insecure_http=self.allow_insecure_http,
            )
            self.gateway_options()
        except Exception as exc:
            raise to_langchain_error(exc) from None

    @property
    def client(self) -> Client:
        """The core sync client (created once, on first use)."""
        client = self._client
        if client is None:
            client = Client(http_client=self.http_client, **self._client_kwargs())
            self._client = client
        return client

    @property
    def async_client(self) -> AsyncClient:
        """The core async client (created once, on first use)."""
        client = self._async_client
        if client is None:
            client = AsyncClient(http_client=self.http_async_client, **self._client_kwargs())
            self._async_client = client
        return client


def split_options(kwargs: dict[str, Any]) -> GatewayOptions | None:
    """Pop per-call gateway options (and ``gateway_options=``) out of ``kwargs``."""
    values: dict[str, Any] = {}
    extra = kwargs.pop("gateway_options", None)
    for fld in [k for k in kwargs if k in OPTION_OF_FIELD]:
        value = kwargs.pop(fld)
        if value is not None:
            values[OPTION_OF_FIELD[fld]] = value
    if not values and extra is None:
        return None
    opts = GatewayOptions(**values)
    if extra is not None:
        extra_opts = GatewayOptions.from_mapping(extra) if isinstance(extra, Mapping) else extra
        opts = extra_opts.merge(opts)
    return opts
