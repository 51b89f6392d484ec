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
        for name in self.default_headers or {}:
            if name.lower() in SECRET_HEADERS:  # it would sit in repr/dumps as plain text
                raise ConfigurationError(
                    f"default_headers may not carry {name!r}: pass the token as api_token")

    def core_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`~cf_aig.Client` / :class:`~cf_aig.AsyncClient`."""
        return {"account_id": self.account_id, "api_token": self.api_token,
                "base_url": self.base_url, "gateway_id": self.gateway_id,
                "timeout": self.timeout, "max_retries": self.max_retries,
                "options": self.gateway_options(), "default_headers": self.default_headers,
                "allow_insecure_http": self.allow_insecure_http,
                "surface": self.surface, "gateway_url": self.gateway_url,
                "provider_api_key": self.provider_api_key, "allow_retired": self.allow_retired,
                "rate_limit": self._rate_limiter(),
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
    """Take per-call gateway options, ``extra_headers`` and ``timeout`` out of ``kwargs``.

    Returns keyword arguments for a core call: ``options`` (the named options merged over
    ``gateway_options=``, a dict or :class:`GatewayOptions`), ``headers``, ``timeout``.

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
    timeout = kwargs.pop("timeout", None)
    if timeout is not None:
        call["timeout"] = timeout
    return call


def _checked_id(name: str) -> Any:
    def check(model: GatewayFields, value: Any) -> Any:
        check_id(name, value.strip() if isinstance(value, str) else value)
        return value

    return check


_CHECKED_ON_ASSIGNMENT: dict[str, Any] = {
    "base_url": lambda model, value: check_base_url(
        value, allow_insecure_http=bool(getattr(model, "allow_insecure_http", False))),
    "api_token": lambda model, value: check_token(value),
    "account_id": _checked_id("account_id"),
    "gateway_id": _checked_id("gateway_id"),
}
"""Fields checked when assigned after construction (construction checks them all)."""
