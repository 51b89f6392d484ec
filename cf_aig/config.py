"""Connection settings: account, token, base URL, gateway, timeout, retries.

Arguments win over environment variables. The token is held as a
:class:`pydantic.SecretStr` and never shows in ``repr``/``str``; it must be visible
ASCII (it travels in an HTTP header), and errors about it never repeat it. Account and
gateway ids follow the path-segment grammar of :mod:`cf_aig._ids`. A base URL may not
carry credentials (``user:pass@``), a query or a fragment, and errors about a base URL
show only its scheme, host, port and path.

>>> s = Settings.resolve(account_id="acc", api_token="t0ken", base_url="http://127.0.0.1:8787/client/v4")
>>> "t0ken" in repr(s)
False
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from pydantic import SecretStr

from ._ids import check_id, segment
from .errors import ConfigurationError, MissingCredentialsError

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_RETRIES = 2
ENV_ACCOUNT_ID = "CLOUDFLARE_ACCOUNT_ID"
ENV_API_TOKEN = "CLOUDFLARE_API_TOKEN"
ENV_GATEWAY_ID = "CLOUDFLARE_AI_GATEWAY_ID"
ENV_BASE_URL = "CLOUDFLARE_AI_GATEWAY_BASE_URL"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _shown_url(parts: SplitResult, path: bool = True) -> str:
    """A URL for an error message: no credentials, query or fragment; cut short."""
    host = parts.netloc.rpartition("@")[2]
    tail = parts.path if path else ""
    shown = f"{parts.scheme}://{host}{tail}" if parts.scheme else "(not a URL)"
    return repr(shown if len(shown) <= 100 else shown[:97] + "...")


def check_base_url(url: str, *, allow_insecure_http: bool = False) -> str:
    """Validate a base URL; plain HTTP only to loopback unless explicitly allowed.

    Credentials in the URL are refused and never repeated in the error.

    >>> check_base_url("http://user:s3cret@127.0.0.1:8787/client/v4")
    Traceback (most recent call last):
    ...
    cf_aig.errors.ConfigurationError: base_url must not carry credentials (user:password@)...
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError("base_url must be a non-empty URL string")
    url = url.strip()
    try:
        parts = urlsplit(url)
        hostname, _ = parts.hostname, parts.port
    except ValueError:  # the message would quote the URL: say what, not where
        raise ConfigurationError(
            "base_url is not a valid URL (bad host or port); expected e.g. "
            f"{DEFAULT_BASE_URL!r}"
        ) from None
    if "@" in parts.netloc:
        raise ConfigurationError(
            f"base_url must not carry credentials (user:password@), got {_shown_url(parts)}: "
            "the API token is sent as a Bearer header; pass it as api_token"
        )
    if any(not c.isascii() or not c.isprintable() or c.isspace() for c in url):
        raise ConfigurationError(
            f"base_url must be printable ASCII without spaces, got {_shown_url(parts, False)}"
            "...; "
            "percent-encode the path or use the host's IDNA (xn--) form"
        )
    if parts.scheme not in ("http", "https") or not hostname:
        raise ConfigurationError(
            f"base_url must be an http(s) URL with a host, got {_shown_url(parts)}"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(
            f"base_url must not carry a query or fragment, got {_shown_url(parts)} "
            "followed by one"
        )
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(hostname):
        raise ConfigurationError(
            f"base_url {_shown_url(parts)} uses plain HTTP to a non-loopback host; the API "
            "token would travel unencrypted. Use https, or pass allow_insecure_http=True."
        )
    return url.rstrip("/")


def check_token(token: str | SecretStr) -> SecretStr:
    """The token as a ``SecretStr``, surrounding whitespace removed; a typed error if it
    cannot travel in an HTTP header. The error never repeats the token.

    >>> check_token("t0ken\\x00")
    Traceback (most recent call last):
    ...
    cf_aig.errors.ConfigurationError: api_token has a control character at position 6;...
    """
    value = token.get_secret_value() if isinstance(token, SecretStr) else token
    if not isinstance(value, str):
        raise ConfigurationError(f"api_token must be a str, got {type(value).__name__}")
    value = value.strip()
    if not value:
        raise ConfigurationError("api_token must be a non-empty token")
    for i, c in enumerate(value, 1):
        if not "!" <= c <= "~":
            kind = (
                "a non-ASCII character" if not c.isascii()
                else "a space" if c.isspace() and c.isprintable()
                else "a control character"
            )
            raise ConfigurationError(
                f"api_token has {kind} at position {i}; a Cloudflare API token is "
                "visible ASCII only. Check for a stray newline, space or quote pasted with it."
            )
    return SecretStr(value)


def _check_id(name: str, value: str, env: str) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a str, got {type(value).__name__}")
    return check_id(f"{name} (or ${env})", value.strip())


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved settings for a client. Build with :meth:`resolve`.

    Built directly, a plain-str token becomes a ``SecretStr`` and the ids, token and
    base URL are checked the same way.

    >>> Settings.resolve(account_id="a", api_token="t").account_url
    'https://api.cloudflare.com/client/v4/accounts/a'
    >>> "t0ken" in repr(Settings(account_id="a", api_token="t0ken"))  # type: ignore[arg-type]
    False
    """

    account_id: str
    api_token: SecretStr
    base_url: str = DEFAULT_BASE_URL
    gateway_id: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES

    def __post_init__(self) -> None:
        # A direct construction gets the same checks as resolve() (which already ran the
        # stricter plain-HTTP rule); a plain-str token becomes a SecretStr here.
        fix = object.__setattr__
        fix(self, "api_token", check_token(self.api_token))
        fix(self, "account_id", _check_id("account_id", self.account_id, ENV_ACCOUNT_ID))
        if self.gateway_id is not None:
            fix(self, "gateway_id", _check_id("gateway_id", self.gateway_id, ENV_GATEWAY_ID))
        fix(self, "base_url", check_base_url(self.base_url, allow_insecure_http=True))

    @property
    def account_url(self) -> str:
        return f"{self.base_url}/accounts/{segment('account_id', self.account_id)}"

    @classmethod
    def resolve(
        cls,
        *,
        account_id: str | None = None,
        api_token: str | SecretStr | None = None,
        base_url: str | None = None,
        gateway_id: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        allow_insecure_http: bool = False,
    ) -> Settings:
        """Fill each setting from the argument, else its environment variable."""
        account = account_id or os.environ.get(ENV_ACCOUNT_ID)
        if isinstance(api_token, SecretStr):
            api_token = api_token.get_secret_value()
        token = api_token or os.environ.get(ENV_API_TOKEN)
        missing = []
        if not account:
            missing.append(f"account_id (or ${ENV_ACCOUNT_ID})")
        if not token:
            missing.append(f"api_token (or ${ENV_API_TOKEN})")
        if missing:
            raise MissingCredentialsError(
                "missing Cloudflare credentials: pass " + " and ".join(missing)
                + "; the token needs Workers AI Read, AI Gateway Run and AI Gateway Read (a"
                " local emulator takes any values: python -m cf_aig.emulator --print-env)"
            )
        assert account is not None and token is not None
        gateway = gateway_id or os.environ.get(ENV_GATEWAY_ID) or None
        url = base_url if base_url is not None else os.environ.get(ENV_BASE_URL)
        url = DEFAULT_BASE_URL if url is None or (url == "" and base_url is None) else url
        t = DEFAULT_TIMEOUT if timeout is None else timeout
        if isinstance(t, bool) or not isinstance(t, (int, float)) or t <= 0:
            raise ConfigurationError(f"timeout must be a number of seconds > 0, got {t!r}")
        r = DEFAULT_MAX_RETRIES if max_retries is None else max_retries
        if isinstance(r, bool) or not isinstance(r, int) or not 0 <= r <= 10:
            raise ConfigurationError(f"max_retries must be an integer from 0 to 10, got {r!r}")
        return cls(
            account_id=_check_id("account_id", account, ENV_ACCOUNT_ID),
            api_token=check_token(token),
            base_url=check_base_url(url, allow_insecure_http=allow_insecure_http),
            gateway_id=_check_id("gateway_id", gateway, ENV_GATEWAY_ID) if gateway else None,
            timeout=float(t),
            max_retries=r,
        )


DEFAULT_GATEWAY_URL = "https://gateway.ai.cloudflare.com/v1"
ENV_GATEWAY_URL = "CLOUDFLARE_AI_GATEWAY_URL"
SURFACES = ("api", "gateway")
"""``api``: the unified REST API on api.cloudflare.com (surface A, reference §1.1);
``gateway``: the gateway host's ``/{account}/{gateway}/compat/...`` (surface C)."""


def resolve_surface(surface: str | None, gateway_url: str | None, *,
                    allow_insecure_http: bool = False) -> tuple[str, str]:
    """The checked surface name and gateway host URL (argument, else env, else default).

    >>> resolve_surface("gateway", None)
    ('gateway', 'https://gateway.ai.cloudflare.com/v1')
    >>> resolve_surface("proxy", None)
    Traceback (most recent call last):
    ...
    cf_aig.errors.ConfigurationError: surface must be 'api' or 'gateway', got 'proxy'
    """
    name = "api" if surface is None else surface
    if name not in SURFACES:
        raise ConfigurationError(f"surface must be 'api' or 'gateway', got {surface!r}")
    url = gateway_url or os.environ.get(ENV_GATEWAY_URL) or DEFAULT_GATEWAY_URL
    try:
        checked = check_base_url(url, allow_insecure_http=allow_insecure_http)
    except ConfigurationError as exc:
        raise ConfigurationError(str(exc).replace("base_url", "gateway_url")) from None
    return name, checked
