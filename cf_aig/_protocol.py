"""Sans-I/O call logic shared by :class:`Client` and :class:`AsyncClient`.

A call is a generator that yields I/O *actions* (send, read, sleep) and receives
their results. The sync and async drivers are ten lines each and differ only by
``await``; retries, error mapping and response interpretation live here once.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic_core import to_json

from .config import Settings
from .errors import (
    APITimeoutError,
    CfAigError,
    ConfigurationError,
    ConnectionFailedError,
    ResponseDecodeError,
    StreamInterruptedError,
    error_from_body,
)
from .options import SECRET_HEADERS, GatewayInfo, GatewayOptions

log = logging.getLogger("cf_aig")
T = TypeVar("T")

USER_AGENT = "cf-aig/0.1.0"
MAX_RETRY_WAIT = 60.0
_SECRET_HEADERS = SECRET_HEADERS


@dataclass(slots=True)
class Send:
    request: httpx.Request


@dataclass(slots=True)
class Read:
    response: httpx.Response


@dataclass(slots=True)
class Sleep:
    seconds: float


Action = Send | Read | Sleep
Call = Generator[Action, Any, T]


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` safe to show: credentials replaced by ``***``."""
    return {k: ("***" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """``Retry-After`` (seconds or HTTP date) or ``retry-after-ms``, if present."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def status_error(response: httpx.Response, body: bytes) -> CfAigError:
    """The typed error for an HTTP error response."""
    return error_from_body(
        response.status_code,
        body,
        log_id=response.headers.get("cf-aig-log-id"),
        retry_after=retry_after_seconds(response.headers),
    )


def transport_error(exc: Exception) -> CfAigError:
    """Map an httpx transport failure to our hierarchy (message has no headers)."""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"request timed out ({type(exc).__name__})")
    return ConnectionFailedError(f"connection failed: {type(exc).__name__}: {exc}")


def stream_break(exc: Exception, received: int) -> StreamInterruptedError:
    """Map a failure while reading a stream body to :class:`StreamInterruptedError`."""
    what = (
        "stalled (read timeout)"
        if isinstance(exc, httpx.TimeoutException)
        else (f"broke ({type(exc).__name__}: {exc})")
    )
    return StreamInterruptedError(f"the stream {what} after {received} chunks", received=received)


def is_json(response: httpx.Response) -> bool:
    ctype: str = response.headers.get("content-type", "")
    return "json" in ctype


def is_sse(response: httpx.Response) -> bool:
    ctype: str = response.headers.get("content-type", "")
    return ctype.startswith("text/event-stream")


class Core:
    """Settings, headers, request building and the retry policy of a client."""

    def __init__(
        self,
        *,
        account_id: str | None = None,
        api_token: Any = None,
        base_url: str | None = None,
        gateway_id: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        options: GatewayOptions | Mapping[str, Any] | None = None,
        default_headers: Mapping[str, str] | None = None,
        allow_insecure_http: bool = False,
        retry_base_delay: float = 0.5,
    ) -> None:
        self.settings = Settings.resolve(
            account_id=account_id,
            api_token=api_token,
            base_url=base_url,
            gateway_id=gateway_id,
            timeout=timeout,
            max_retries=max_retries,
            allow_insecure_http=allow_insecure_http,
        )
        if isinstance(options, Mapping):
            options = GatewayOptions.from_mapping(options)
        self.options: GatewayOptions = options or GatewayOptions()
        self.retry_base_delay = retry_base_delay
        s = self.settings
        self.account_url = s.account_url
        self.timeout = httpx.Timeout(s.timeout, connect=min(s.timeout, 10.0))
        base = {
            "accept": "application/json",
            "content-type": "application/json",
            "user-agent": USER_AGENT,
        }
        if s.gateway_id:
            base["cf-aig-gateway-id"] = s.gateway_id
        for key, value in (default_headers or {}).items():
            if key.lower() in _SECRET_HEADERS:
                raise ConfigurationError(f"default_headers may not set {key!r}; pass api_token")
            base[key.lower()] = value
        base.update(self.options.headers())
        self._public_headers = base
        self._auth = {"authorization": f"Bearer {s.api_token.get_secret_value()}"}
        self._headers = {**base, **self._auth}

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"{type(self).__name__}(account_id={s.account_id!r}, base_url={s.base_url!r}, "
            f"gateway_id={s.gateway_id!r})"
        )

    def headers(
        self,
        options: GatewayOptions | Mapping[str, Any] | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Request headers: client defaults, then per-call options, then ``extra``."""
        if options is None and not extra:
            return self._headers
        headers = dict(self._headers)
        if options is not None:
            if isinstance(options, Mapping):
                options = GatewayOptions.from_mapping(options)
            headers.update(options.headers())
        for key, value in (extra or {}).items():
            if key.lower() in _SECRET_HEADERS:
                raise ConfigurationError(f"headers may not set {key!r}; pass api_token")
            headers[key.lower()] = value
        return headers

    def build_request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str],
        timeout: float | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Request:
        """An ``httpx.Request`` to ``{account_url}{path}`` with its timeout attached."""
        content = to_json(body) if body is not None else None
        t = self.timeout if timeout is None else httpx.Timeout(timeout, connect=min(timeout, 10.0))
        return httpx.Request(
            method,
            self.account_url + path,
            content=content,
            headers=headers,
            params=params,
            extensions={"timeout": t.as_dict()},
        )

    def retry_delay(self, attempt: int, err: CfAigError) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up."""
        if not err.retryable or attempt >= self.settings.max_retries:
            return None
        if err.retry_after is not None:
            wait: float = err.retry_after
            return wait if wait <= MAX_RETRY_WAIT else None
        cap: float = min(8.0, self.retry_base_delay * (2**attempt))
        return cap * (0.5 + random.random() / 2)

    def call(
        self,
        request: httpx.Request,
        interpret: Callable[[httpx.Response, bytes | None], T],
        *,
        stream: bool = False,
    ) -> Call[T]:
        """The retrying call plan: send, check, read (unless an SSE stream), interpret.

        ``interpret(response, body)`` gets ``body=None`` for an open SSE stream it
        must take ownership of; it raises a ``CfAigError`` for error payloads.
        """
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = yield Send(request)
                assert response is not None
                if response.status_code >= 400:
                    body = yield Read(response)
                    raise status_error(response, body)
                if stream and is_sse(response):
                    return interpret(response, None)
                body = yield Read(response)
                try:
                    try:
                        return interpret(response, body)
                    except _SHAPE_ERRORS as exc:
                        raise shape_error(exc) from exc
                except CfAigError as err:
                    if err.status is None:
                        err.status = response.status_code
                    err.log_id = err.log_id or response.headers.get("cf-aig-log-id")
                    raise
            except CfAigError as err:
                error = err
            except httpx.TransportError as exc:
                error = transport_error(exc)
                error.__cause__ = exc
            delay = self.retry_delay(attempt, error)
            if delay is None:
                raise error
            log.info(
                "cf_aig: retrying %s %s in %.2fs after %s (attempt %d of %d)",
                request.method,
                request.url.path,
                delay,
                type(error).__name__,
                attempt + 2,
                self.settings.max_retries + 1,
            )
            yield Sleep(delay)
            attempt += 1


_SHAPE_ERRORS = (TypeError, AttributeError, KeyError, IndexError)
"""What a decoder raises when a payload's fields have unexpected types."""


def shape_error(exc: Exception) -> ResponseDecodeError:
    """A payload parsed as JSON but its fields have the wrong types."""
    return ResponseDecodeError(f"unexpected response shape ({type(exc).__name__}: {exc})")


def info_of(response: httpx.Response) -> GatewayInfo:
    return GatewayInfo.from_headers(response.headers)
