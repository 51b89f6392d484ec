"""Settings as pydantic fields, shared by the LangChain and LlamaIndex classes.

:class:`GatewayFields` declares, once, every setting a framework class exposes:
credentials, endpoint, transport, and each gateway option (``cf-aig-*`` header) as a
field of its own. It builds the core clients lazily, once per instance, and keeps them
out of serialisation. :func:`pop_call_options` takes the per-call forms of the same
options out of a framework's ``**kwargs``.

The core's ``metadata`` option is the field ``gateway_metadata`` here: both frameworks
already use ``metadata`` for something else.

>>> class MyModel(GatewayFields):
...     model: str
>>> m = MyModel(model="openai/gpt-5.5", account_id="acc", api_token="tok", cache_ttl=600)
>>> m.gateway_options().headers()
{'cf-aig-cache-ttl': '600'}
>>> "tok" in repr(m) or "tok" in str(m.model_dump())
False
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, get_type_hints

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    create_model,
)

from ._ids import check_id
from .config import Settings, check_base_url, check_token, resolve_surface
from .errors import ConfigurationError
from .options import OPTION_SPECS, SECRET_HEADERS, GatewayOptions
from .ratelimit import RateLimiter

if TYPE_CHECKING:  # the HTTP stack loads on first use, not when a framework class is defined
    from .client import AsyncClient, Client

OPTION_OF_FIELD: dict[str, str] = {spec.field: name for name, spec in OPTION_SPECS.items()}
"""Field / per-call kwarg name → core gateway option name (the same but for metadata)."""

LIMIT_FIELDS: tuple[str, ...] = (
    "total_timeout", "stream_idle_timeout", "max_response_bytes", "retry_ambiguous")
"""Transport limits: each a field, a core client argument and a per-call kwarg."""


def check_limits(limits: dict[str, Any]) -> dict[str, Any]:
    """``limits`` (a subset of :data:`LIMIT_FIELDS`) if the core accepts them, else a
    :class:`ConfigurationError` naming the first bad one.

    >>> check_limits({"total_timeout": 0})
    Traceback (most recent call last):
    ...
    cf_aig.errors.ConfigurationError: total_timeout must be a number of seconds > 0, got 0
    """
    if limits:
        from ._protocol import CallPolicy  # the HTTP stack loads only when a limit is set

        CallPolicy().override(limits)
    return limits


def _option_fields() -> dict[str, Any]:
    """One pydantic field per gateway option: the option's type, default None, its doc."""
    hints = get_type_hints(GatewayOptions)
    return {spec.field: (hints[name], Field(default=None, description=spec.doc))
            for name, spec in OPTION_SPECS.items()}


if TYPE_CHECKING:
    _OptionFields = BaseModel
else:
    _OptionFields = create_model(
        "GatewayOptionFields", __config__=ConfigDict(protected_namespaces=()),
        __module__=__name__, **_option_fields())


class GatewayFields(_OptionFields):
    """Account, token, endpoint, transport and gateway-option fields of a framework class."""

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True,
                              protected_namespaces=(), hide_input_in_errors=True)
    # (hide_input_in_errors: a validation error must not print the inputs, token included)

    account_id: str | None = Field(
        default=None, description="Cloudflare account id (else $CLOUDFLARE_ACCOUNT_ID).")
    api_token: SecretStr | None = Field(
        default=None, exclude=True, repr=False,
        description="Cloudflare API token (else $CLOUDFLARE_API_TOKEN); never serialized.")
    base_url: str | None = Field(
        default=None, description="API base URL (else $CLOUDFLARE_AI_GATEWAY_BASE_URL, else "
        "https://api.cloudflare.com/client/v4).")
    gateway_id: str | None = Field(
        default=None, description="AI Gateway id (else $CLOUDFLARE_AI_GATEWAY_ID; the "
        "account's default gateway when unset).")
    timeout: float | None = Field(
        default=None, gt=0, validation_alias=AliasChoices("timeout", "request_timeout"),
        description="Client-side timeout per request, seconds (120; also as "
        "request_timeout, the anchors' name).")
    max_retries: int | None = Field(
        default=None, ge=0, le=10, description="Client-side retries of retryable errors (2).")
    default_headers: dict[str, str] | None = Field(
        default=None, description="Extra HTTP headers sent with every request.")
    allow_insecure_http: bool = Field(
        default=False, description="Allow plain-HTTP base URLs to non-loopback hosts.")
    retry_base_delay: float | None = Field(
        default=None, ge=0, description="First client-side retry backoff, seconds (0.5; "
        "doubles per attempt, with jitter).")
    requests_per_second: float | None = Field(
        default=None, gt=0, description="This process's limit of HTTP requests to the "
        "gateway, retries included (shared by the sync and async clients); with N worker "
        "processes give each its share of the account's limit (cf_aig.ratelimit).")
    total_timeout: float | None = Field(
        default=None, description="Seconds for a whole call: connect, retries, backoff and "
        "the whole answer (600, or timeout if longer).")
    stream_idle_timeout: float | None = Field(
        default=None, description="Seconds a stream may go without an event; keep-alive "
        "comments do not count (timeout).")
    max_response_bytes: int | None = Field(
        default=None, description="Largest answer read into memory, bytes after "
        "decompression (64 MiB; at least 1024).")
    retry_ambiguous: bool = Field(
        default=False, description="Also resend a request that was sent in full but got no "
        "status back (the server may have run and billed it).")
    http_client: Any = Field(
        default=None, exclude=True, description="An httpx.Client to use instead of our pool.")
    http_async_client: Any = Field(
        default=None, exclude=True,
        validation_alias=AliasChoices("http_async_client", "async_http_client"),
        description="An httpx.AsyncClient to use instead of our pool "
        "(also accepted as async_http_client).")

    surface: Literal["api", "gateway"] = Field(
        default="api", description="'api': the REST API (base_url); 'gateway': chat "
        "completions and responses via the gateway host's /compat (gateway_url).")
    gateway_url: str | None = Field(
        default=None, description="Gateway host URL for surface='gateway' (else "
        "$CLOUDFLARE_AI_GATEWAY_URL, else https://gateway.ai.cloudflare.com/v1).")
    provider_api_key: SecretStr | None = Field(
        default=None, exclude=True, repr=False,
        description="Provider key sent on surface='gateway' with a provider/model name (BYOK "
        "in the request; not with dynamic routes or the Auto Router); never serialized. "
        "Unset: the gateway's stored keys or Unified Billing.")
    allow_retired: bool = Field(
        default=False, description="Send even to a model the bundled table says is retired.")

    # Gateway options (cf-aig-* request headers) come from the base class, derived from
    # cf_aig.options.GatewayOptions; each is also a per-call kwarg.

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)
    _limiter: Any = PrivateAttr(default=None)

    def gateway_options(self) -> GatewayOptions:
        """The gateway options set on this instance (validated)."""
        values = {opt: getattr(self, fld) for fld, opt in OPTION_OF_FIELD.items()}
        return GatewayOptions(**{k: v for k, v in values.items() if v is not None})

    def check_settings(self) -> None:
        """Fail at construction on missing credentials or invalid options."""
        Settings.resolve(
            account_id=self.account_id, api_token=self.api_token, base_url=self.base_url,
            gateway_id=self.gateway_id, timeout=self.timeout, max_retries=self.max_retries,
            allow_insecure_http=self.allow_insecure_http)
        resolve_surface(self.surface, self.gateway_url,
                        allow_insecure_http=self.allow_insecure_http)
        if self.provider_api_key is not None:
            try:
                check_token(self.provider_api_key)
            except ConfigurationError as exc:
                raise ConfigurationError(
                    str(exc).replace("api_token", "provider_api_key")) from None
        self.gateway_options()
        self.transport_limits()
        for name in self.default_headers or {}:
            if name.lower() in SECRET_HEADERS:  # it would sit in repr/dumps as plain text
                raise ConfigurationError(
                    f"default_headers may not carry {name!r}: pass the token as api_token")

    def transport_limits(self) -> dict[str, Any]:
        """The transport limits set on this instance (:data:`LIMIT_FIELDS`), validated by
        the core's rules: a :class:`ConfigurationError` naming the field otherwise."""
        limits = {name: getattr(self, name) for name in LIMIT_FIELDS}
        return check_limits({k: v for k, v in limits.items() if v is not None})

    def core_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`~cf_aig.Client` / :class:`~cf_aig.AsyncClient`."""
        return {"account_id": self.account_id, "api_token": self.api_token,
                "base_url": self.base_url, "gateway_id": self.gateway_id,
                "timeout": self.timeout, "max_retries": self.max_retries,
                "options": self.gateway_options(), "default_headers": self.default_headers,
                "allow_insecure_http": self.allow_insecure_http,
                "surface": self.surface, "gateway_url": self.gateway_url,
                "provider_api_key": self.provider_api_key, "allow_retired": self.allow_retired,
                "rate_limit": self._rate_limiter(), **self.transport_limits(),
                **({} if self.retry_base_delay is None else
                   {"retry_base_delay": self.retry_base_delay})}

    def __setattr__(self, name: str, value: Any) -> None:
        # An assignment after construction gets the construction checks for the fields that
        # land in URLs and headers: a URL credential or bad token never sits in repr/dumps.
        check = _CHECKED_ON_ASSIGNMENT.get(name)
        if check is not None and value is not None:
            value = check(self, value)
        super().__setattr__(name, value)
        if not name.startswith("_"):
            self._reset()

    def _reset(self) -> None:
        """A public field changed: forget what was built from the old values (the core
        clients; subclasses add their own caches). Both adapters rely on this."""
        self.reset_clients()

    def _rate_limiter(self) -> RateLimiter | None:
        """One limiter for both clients of this instance (None without a rate)."""
        if self.requests_per_second is None:
            return None
        limiter: RateLimiter | None = self._limiter
        if limiter is None or limiter.requests_per_second != self.requests_per_second:
            limiter = self._limiter = RateLimiter(self.requests_per_second)
        return limiter

    def reset_clients(self) -> None:
        """Forget the core clients (after a setting changed); rebuilt on next use."""
        if getattr(self, "__pydantic_private__", None) is not None:
            self._client = None
            self._async_client = None

    @property
    def client(self) -> Client:
        """The core sync client (built on first use, then reused)."""
        client: Client | None = self._client
        if client is None:
            from .client import Client

            client = self._client = Client(http_client=self.http_client, **self.core_kwargs())
        return client

    @property
    def async_client(self) -> AsyncClient:
        """The core async client (built on first use, then reused)."""
        client: AsyncClient | None = self._async_client
        if client is None:
            from .client import AsyncClient

            client = self._async_client = AsyncClient(http_client=self.http_async_client,
                                                      **self.core_kwargs())
        return client


def pop_call_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take per-call gateway options, ``extra_headers``, ``timeout`` and the transport
    limits (:data:`LIMIT_FIELDS`) out of ``kwargs``.

    Returns keyword arguments for a core call: ``options`` (the named options merged over
    ``gateway_options=``, a dict or :class:`GatewayOptions`), ``headers``, ``timeout`` and
    each limit given (the core validates them before sending).

    >>> kw = {"cache_ttl": 60, "temperature": 0.2}
    >>> pop_call_options(kw)["options"].headers(), kw
    ({'cf-aig-cache-ttl': '60'}, {'temperature': 0.2})
    """
    call: dict[str, Any] = {}
    if not kwargs:
        return call
    named = {OPTION_OF_FIELD[k]: kwargs.pop(k) for k in [k for k in kwargs if k in OPTION_OF_FIELD]}
    named = {k: v for k, v in named.items() if v is not None}
    given = kwargs.pop("gateway_options", None)
    if given is not None or named:
        base = given if isinstance(given, GatewayOptions) else GatewayOptions.from_mapping(
            dict(given or {}))
        call["options"] = base.merge(named) if named else base
    headers = kwargs.pop("extra_headers", None)
    if headers is not None:
        if not isinstance(headers, Mapping):
            raise TypeError("extra_headers must be a dict of header names to values")
        call["headers"] = dict(headers)
    for name in ("timeout", *LIMIT_FIELDS):
        value = kwargs.pop(name, None)
        if value is not None:
            call[name] = value
    return call


def _checked_id(name: str) -> Any:
    def check(model: GatewayFields, value: Any) -> Any:
        check_id(name, value.strip() if isinstance(value, str) else value)
        return value

    return check


def _checked_limit(name: str) -> Any:
    def check(model: GatewayFields, value: Any) -> Any:
        return check_limits({name: value})[name]

    return check


_CHECKED_ON_ASSIGNMENT: dict[str, Any] = {
    "base_url": lambda model, value: check_base_url(
        value, allow_insecure_http=bool(getattr(model, "allow_insecure_http", False))),
    "api_token": lambda model, value: check_token(value),
    "account_id": _checked_id("account_id"),
    "gateway_id": _checked_id("gateway_id"),
    **{name: _checked_limit(name) for name in LIMIT_FIELDS},
}
"""Fields checked when assigned after construction (construction checks them all)."""
