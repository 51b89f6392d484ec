"""Connection settings: account, token, base URL, gateway, timeout, retries.

Arguments win over environment variables. The token is held as a
:class:`pydantic.SecretStr` and never shows in ``repr``/``str``.

>>> s = Settings.resolve(account_id="acc", api_token="t0ken", base_url="http://127.0.0.1:8787/client/v4")
>>> "t0ken" in repr(s)
False
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

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


def check_base_url(url: str, *, allow_insecure_http: bool = False) -> str:
    """Validate a base URL; plain HTTP only to loopback unless explicitly allowed."""
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError("base_url must be a non-empty URL string")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"base_url must be an http(s) URL with a host, got {url!r}")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"base_url must not carry a query or fragment, got {url!r}")
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"base_url {url!r} uses plain HTTP to a non-loopback host; the API token would "
            "travel unencrypted. Use https, or pass allow_insecure_http=True."
        )
    return url.strip().rstrip("/")


def _check_id(name: str, value: str, env: str) -> str:
    value = value.strip()
    if not value or "/" in value or any(c.isspace() for c in value):
        raise ConfigurationError(
            f"{name} (or ${env}) must be a non-empty id without '/' or spaces, got {value!r}"
        )
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved settings for a client. Build with :meth:`resolve`.

    >>> Settings.resolve(account_id="a", api_token="t").account_url
    'https://api.cloudflare.com/client/v4/accounts/a'
    """

    account_id: str
    api_token: SecretStr
    base_url: str = DEFAULT_BASE_URL
    gateway_id: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES

    @property
    def account_url(self) -> str:
        return f"{self.base_url}/accounts/{self.account_id}"

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
        if any(c.isspace() for c in token.strip()) or not token.strip():
            raise ConfigurationError("api_token must be a non-empty token without spaces")
        return cls(
            account_id=_check_id("account_id", account, ENV_ACCOUNT_ID),
            api_token=SecretStr(token.strip()),
            base_url=check_base_url(url, allow_insecure_http=allow_insecure_http),
            gateway_id=_check_id("gateway_id", gateway, ENV_GATEWAY_ID) if gateway else None,
            timeout=float(t),
            max_retries=r,
        )
