"""Sans-I/O call logic shared by :class:`Client` and :class:`AsyncClient`.

A call is a generator (a *plan*) that yields I/O *actions* (send, read, sleep) and
receives their results. The sync and async drivers are ten lines each and differ only
by ``await``; retries, limits, deadlines, error mapping and response interpretation
live here once, and tests drive a plan with no socket at all (``tests/core/test_plan.py``).

Resend rule (the README's "Retries" sentence): a request is sent again only when it
never reached the server (connection refused or reset before the request was written,
DNS, pool timeout), or when the server answered with a retryable status (408, 409, 429,
5xx and the gateway's retryable codes). A failure after the request was fully written
but before any status line (read timeout, connection cut) is *ambiguous* (the server
may have run it) and is not resent unless ``retry_ambiguous=True``. A body cut off
after a success status is never resent.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import math
import random
import re
import time
import zlib
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

import httpx
from pydantic_core import to_json

from ._pool import DEADLINE_EXTENSION
from .config import Settings
from .dialects._common import SHAPE_ERRORS
from .dialects._common import shape_error as _shape_error
from .errors import (
    APITimeoutError,
    CfAigError,
    ConfigurationError,
    ConnectionFailedError,
    RedirectError,
    ResponseDecodeError,
    ResponseTooLargeError,
    StreamInterruptedError,
    error_from_body,
    responses_billing_hint,
)
from .gateway_host import GatewayHost, gateway_only_model
from .options import SECRET_HEADERS, GatewayInfo, GatewayOptions
from .profiles import check_lifecycle
from .ratelimit import RateLimiter, as_limiter

if TYPE_CHECKING:
    from .dialects import Dialect

log = logging.getLogger("cf_aig")
T = TypeVar("T")

USER_AGENT = "cf-aig/0.1.0"
MAX_RETRY_WAIT = 60.0
DEFAULT_TOTAL_TIMEOUT = 600.0
"""Whole-call deadline (connect, retries, backoff, body) unless ``timeout`` is longer."""
DEFAULT_MAX_RESPONSE_BYTES = 64 * 2**20
"""Largest answer body read into memory (after decompression)."""
MAX_EVENT_BYTES = 16 * 2**20
"""Largest single SSE line or event (capped further by ``max_response_bytes``)."""
_SECRET_HEADERS = SECRET_HEADERS
_PIECE = 256 * 1024  # decompression output step


@dataclass(slots=True)
class Send:
    request: httpx.Request


@dataclass(slots=True)
class Read:
    """Read ``response``'s raw body into ``reader`` (chunk by chunk), then close it."""

    response: httpx.Response
    reader: BodyReader


@dataclass(slots=True)
class Sleep:
    seconds: float


Action = Send | Read | Sleep
Call = Generator[Action, Any, T]
Interpret = Callable[[httpx.Response, "bytes | None"], T]
"""``interpret(response, body)``: ``body`` is None for an open SSE stream it must own."""


class CallOptions(TypedDict, total=False):
    """Per-call settings: every client method takes them the same way, as keywords.

    Each overrides the client's own setting for one call.

    >>> opts: CallOptions = {"timeout": 30, "headers": {"x-team": "search"}}
    >>> from cf_aig import Client
    >>> headers, policy = Client(account_id="a", api_token="t").resolve(opts)
    >>> headers["x-team"], policy.timeout, policy.total
    ('search', 30.0, 600.0)

    ``client.chat(request, **opts)`` applies them to one call.
    """

    options: GatewayOptions | Mapping[str, Any] | None
    """Gateway options (``cf-aig-*`` headers) merged over the client's."""
    headers: Mapping[str, str] | None
    """Extra request headers (not ``authorization``)."""
    timeout: float | None
    """Seconds to connect, and between two reads of the answer."""
    total_timeout: float | None
    """Seconds for the whole call: connect, retries, backoff and the whole body."""
    stream_idle_timeout: float | None
    """Seconds a stream may go without an event (keep-alive comments do not count)."""
    max_retries: int | None
    """Resends allowed (0-10) under the resend rule."""
    retry_ambiguous: bool | None
    """Also resend when the request was sent but no status came back."""
    max_response_bytes: int | None
    """Largest answer body read into memory (after decompression)."""


CALL_OPTION_NAMES = frozenset(CallOptions.__annotations__)


def _seconds(name: str, value: Any, *, optional: bool = True) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or not math.isfinite(value):
        raise ConfigurationError(f"{name} must be a number of seconds > 0, got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """Limits and the resend rule of a call: the client's, with per-call overrides.

    >>> p = CallPolicy(timeout=10).override({"total_timeout": 30, "max_retries": 0})
    >>> p.total, p.idle, p.max_retries, p.retry_ambiguous
    (30.0, 10.0, 0, False)
    """

    timeout: float = 120.0
    total_timeout: float | None = None
    stream_idle_timeout: float | None = None
    max_retries: int = 2
    retry_ambiguous: bool = False
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    retry_base_delay: float = 0.5

    def __post_init__(self) -> None:
        for name in ("timeout", "total_timeout", "stream_idle_timeout"):
            value = _seconds(name, getattr(self, name), optional=name != "timeout")
            object.__setattr__(self, name, value)
        r = self.max_retries
        if isinstance(r, bool) or not isinstance(r, int) or not 0 <= r <= 10:
            raise ConfigurationError(f"max_retries must be an integer from 0 to 10, got {r!r}")
        if not isinstance(self.retry_ambiguous, bool):
            raise ConfigurationError(
                f"retry_ambiguous must be True or False, got {self.retry_ambiguous!r}")
        m = self.max_response_bytes
        if isinstance(m, bool) or not isinstance(m, int) or m < 1024:
            raise ConfigurationError(
                f"max_response_bytes must be an integer >= 1024, got {m!r}")
        d = self.retry_base_delay
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 <= d <= 60:
            raise ConfigurationError(f"retry_base_delay must be 0-60 seconds, got {d!r}")

    def override(self, call: Mapping[str, Any]) -> CallPolicy:
        """This policy with the non-None per-call values of ``call`` (validated)."""
        changes = {k: call[k] for k in (
            "timeout", "total_timeout", "stream_idle_timeout", "max_retries",
            "retry_ambiguous", "max_response_bytes") if call.get(k) is not None}
        return replace(self, **changes) if changes else self

    @property
    def total(self) -> float:
        """The whole-call deadline in seconds."""
        if self.total_timeout is not None:
            return self.total_timeout
        return max(DEFAULT_TOTAL_TIMEOUT, self.timeout)

    @property
    def idle(self) -> float:
        """Longest silence between two stream events."""
        return self.stream_idle_timeout if self.stream_idle_timeout is not None \
            else self.timeout

    @property
    def max_event_bytes(self) -> int:
        """Largest single SSE line or event."""
        return min(MAX_EVENT_BYTES, self.max_response_bytes)

    def timeouts(self, remaining: float, stream: bool) -> dict[str, float]:
        """httpx's per-request timeout extension, clamped to the time left."""
        read = min(self.timeout, self.idle) if stream else self.timeout
        left = max(remaining, 0.001)
        return {"connect": min(self.timeout, 10.0, left), "read": min(read, left),
                "write": min(self.timeout, left), "pool": min(self.timeout, left)}

    def retry_delay(self, attempt: int, err: CfAigError, remaining: float) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up."""
        if not err.retryable or attempt >= self.max_retries:
            return None
        if err.retry_after is not None:
            wait: float = err.retry_after
        else:
            cap = min(8.0, self.retry_base_delay * (2**attempt))
            wait = cap * (0.5 + random.random() / 2)
        return wait if wait <= MAX_RETRY_WAIT and wait < remaining else None


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` safe to show: credentials replaced by ``***``."""
    return {k: ("***" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def check_header(name: Any, value: Any, where: str) -> tuple[str, str]:
    """``(name.lower(), value)`` if both are valid HTTP, else :class:`ConfigurationError`.

    The value is never echoed (it may be a credential).

    >>> check_header("X-Team", "search", "headers")
    ('x-team', 'search')
    """
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        raise ConfigurationError(
            f"{where}: {name!r} is not a valid HTTP header name (letters, digits, '-')")
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{where}: header {name!r} must be a string, got {type(value).__name__}")
    if _BAD_VALUE.search(value) or not value.isascii():
        raise ConfigurationError(
            f"{where}: header {name!r} has a control character (CR, LF, NUL...) or a "
            "non-ASCII character; remove it (values are sent as-is, one line)")
    return name.lower(), value


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """``Retry-After`` (seconds or HTTP date) or ``retry-after-ms``; malformed → None.

    >>> retry_after_seconds(httpx.Headers({"retry-after": "soon"})) is None
    True
    """
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            value = float(ms) / 1000
            if math.isfinite(value) and value >= 0:  # a negative delay is malformed
                return value
        except ValueError:
            pass
    text = headers.get("retry-after")
    if not text:
        return None
    try:
        seconds = float(text)
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(text)
        return max(0.0, parsed.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError, IndexError):
        return None  # malformed: ignore it and use our own backoff


def status_error(response: httpx.Response, body: bytes) -> CfAigError:
    """The typed error for an HTTP error response (a 402 from Responses says what to try)."""
    err = error_from_body(
        response.status_code,
        body,
        log_id=response.headers.get("cf-aig-log-id"),
        retry_after=retry_after_seconds(response.headers),
    )
    if err.status == 402:
        try:
            path = response.request.url.path
        except RuntimeError:  # a Response built by hand has no request
            return err
        err = responses_billing_hint(err, path)
    return err


def redirect_error(response: httpx.Response) -> RedirectError:
    """A 3xx answer: never followed (the token would go along); name where it pointed."""
    target = response.headers.get("location", "")
    try:
        url = httpx.URL(target)
        shown = str(url.copy_with(userinfo=b"", query=None, fragment=None)) if target else ""
    except (httpx.InvalidURL, ValueError, TypeError):
        shown = "<unparseable location>"
    return RedirectError(
        f"the gateway answered {response.status_code} redirecting to {shown or '<none>'}; "
        "cf_aig never follows redirects (the API token would go along): check base_url",
        status=response.status_code,
        log_id=response.headers.get("cf-aig-log-id"),
    )


_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError,
             httpx.WriteTimeout, httpx.UnsupportedProtocol, httpx.ProxyError)


def transport_error(exc: Exception, policy: CallPolicy | None = None) -> CfAigError:
    """Map an httpx failure before any status line to our hierarchy.

    Not-sent failures stay retryable; after the request was written the outcome is
    ambiguous and retryable only with ``retry_ambiguous``. The message has no headers.
    """
    name = type(exc).__name__
    error: CfAigError
    if isinstance(exc, httpx.TimeoutException):
        error = APITimeoutError(f"request timed out ({name})")
    else:
        error = ConnectionFailedError(f"connection failed: {name}: {exc}{_where(exc)}")
    if not isinstance(exc, _NOT_SENT):
        error.retryable = policy is not None and policy.retry_ambiguous
        if not error.retryable:
            error.message += (" (the request was sent and may have run: not resent; "
                              "pass retry_ambiguous=True to allow)")
    return error


def _where(exc: Exception) -> str:
    """`` (<url>)`` (scheme, host, port and path only: no user info, no query) and what to
    check when nothing answered there; '' when the request is unknown."""
    try:
        url = exc.request.url  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):
        return ""
    if not isinstance(url, httpx.URL):
        return ""
    host = f"[{url.host}]" if ":" in url.host else url.host
    port = f":{url.port}" if url.port else ""
    where = f" ({url.scheme}://{host}{port}{url.path})"
    if isinstance(exc, httpx.ConnectError):
        where += ("; is the server up and the base URL right (base_url= or "
                  "CLOUDFLARE_AI_GATEWAY_BASE_URL)?")
    return where


def deadline_error(total: float, what: str = "call") -> APITimeoutError:
    err = APITimeoutError(f"the {what} did not finish within total_timeout={total:g}s")
    err.retryable = False
    return err


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


class Inflater:
    """Bounded ``Content-Encoding`` decoder: output comes in pieces of at most 256 KiB,
    whatever the ratio, so a caller's byte cap holds while decompressing (gzip bombs).

    >>> import gzip
    >>> b"".join(Inflater("gzip").feed(gzip.compress(b"hi" * 3)))
    b'hihihi'
    """

    __slots__ = ("_encoding", "_z", "identity")

    def __init__(self, encoding: str) -> None:
        encoding = encoding.strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise ResponseDecodeError(
                f"the answer uses content-encoding {encoding!r}; cf_aig accepts only gzip "
                "and deflate (it asks for those)")
        self._encoding = encoding
        self.identity = encoding in ("", "identity")
        """Bytes pass unchanged (callers may skip :meth:`feed`)."""
        self._z: Any = None
        if encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self.identity:
            if data:
                yield data
            return
        if self._z is None:  # deflate: zlib-wrapped (RFC) or raw (common in practice)
            zlib_header = len(data) >= 2 and data[0] & 0x0F == 8 \
                and (data[0] << 8 | data[1]) % 31 == 0
            self._z = zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)
        try:
            while data and not self._z.eof:
                out = self._z.decompress(data, _PIECE)
                data = self._z.unconsumed_tail
                if out:
                    yield out
        except zlib.error as exc:
            raise ResponseDecodeError(f"the {self._encoding} answer is corrupt: {exc}") from exc

    def flush(self) -> bytes:
        if self._z is None:
            return b""
        try:
            return bytes(self._z.flush(_PIECE))
        except zlib.error as exc:
            raise ResponseDecodeError(f"the {self._encoding} answer is corrupt: {exc}") from exc


def _too_large(limit: int, what: str = "answer") -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"the {what} is larger than max_response_bytes={limit}; raise it per client or "
        "per call if this answer is expected", limit=limit)


class BodyReader:
    """Collects one response body: bounded decompression, a byte cap, the deadline.

    Drivers feed it the *raw* body chunks; it raises :class:`ResponseTooLargeError` as
    soon as the decoded size passes the cap and :class:`APITimeoutError` at the deadline.

    >>> r = BodyReader(httpx.Headers(), limit=4, deadline=None)
    >>> r.feed(b"ab"); r.finish()
    b'ab'
    """

    __slots__ = ("_clock", "_deadline", "_inflater", "_limit", "_parts", "_size", "_total")

    def __init__(self, headers: httpx.Headers, *, limit: int, deadline: float | None,
                 total: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        encoding = headers.get("content-encoding", "")
        self._inflater = Inflater(encoding)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit and encoding in ("", "identity"):
            raise _too_large(limit)
        self._limit = limit
        self._deadline = deadline
        self._total = total
        self._clock = clock
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, raw: bytes) -> None:
        if self._deadline is not None and self._clock() > self._deadline:
            raise deadline_error(self._total)
        for piece in self._inflater.feed(raw):
            self._add(piece)

    def _add(self, piece: bytes) -> None:
        self._size += len(piece)
        if self._size > self._limit:
            self._parts.clear()
            raise _too_large(self._limit)
        self._parts.append(piece)

    def finish(self) -> bytes:
        self._add(self._inflater.flush())
        return b"".join(self._parts)


class Core:
    """Settings, headers, request building and the retry plan of a client."""

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
        total_timeout: float | None = None,
        stream_idle_timeout: float | None = None,
        retry_ambiguous: bool | None = None,
        max_response_bytes: int | None = None,
        surface: str | None = None,
        gateway_url: str | None = None,
        provider_api_key: Any = None,
        allow_retired: bool = False,
        rate_limit: float | RateLimiter | None = None,
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
        s = self.settings
        self.policy = CallPolicy(
            timeout=s.timeout, total_timeout=total_timeout,
            stream_idle_timeout=stream_idle_timeout, max_retries=s.max_retries,
            retry_ambiguous=False if retry_ambiguous is None else retry_ambiguous,
            max_response_bytes=(DEFAULT_MAX_RESPONSE_BYTES if max_response_bytes is None
                                else max_response_bytes),
            retry_base_delay=retry_base_delay)
        self.account_url = s.account_url
        self.rate_limiter = as_limiter(rate_limit)
        """Per-process limiter consulted before every attempt (``rate_limit=`` rps)."""
        self.timeout = httpx.Timeout(s.timeout, connect=min(s.timeout, 10.0))
        base = {
            "accept": "application/json",
            "accept-encoding": "gzip, deflate",
            "content-type": "application/json",
            "user-agent": USER_AGENT,
        }
        if s.gateway_id:
            base["cf-aig-gateway-id"] = s.gateway_id
        for key, value in (default_headers or {}).items():
            if isinstance(key, str) and key.lower() in _SECRET_HEADERS:
                raise ConfigurationError(f"default_headers may not set {key!r}; pass api_token")
            name, value = check_header(key, value, "default_headers")
            base[name] = value
        base.update(self.options.headers())
        self._public_headers = base
        self._auth = {"authorization": f"Bearer {s.api_token.get_secret_value()}"}
        self._headers = {**base, **self._auth}
        self.gateway = GatewayHost.resolve(
            s, surface, gateway_url, provider_api_key, allow_insecure_http=allow_insecure_http)
        self.allow_retired = bool(allow_retired)

    def check_model(self, model: str) -> None:
        """Before sending to the REST API: refuse retired and gateway-host-only models."""
        check_lifecycle(model, allow_retired=self.allow_retired)
        gateway_only_model(model)

    def chat_request(self, dialect: Dialect, model: str, *, body: dict[str, Any],
                     headers: Mapping[str, str], timeout: float | None = None) -> httpx.Request:
        """The request for a chat call on this client's surface (checked before sending).

        Retired models raise :class:`~cf_aig.errors.RetiredModelError` (unless
        ``allow_retired``); on ``surface="gateway"`` the path is the dialect's gateway-host
        path and the token travels as ``cf-aig-authorization``.
        """
        caps = dialect.capabilities(model)
        if self.gateway.surface == "api":
            self.check_model(model)
            return self.build_request("POST", caps.path, body=body, headers=headers,
                                      timeout=timeout)
        check_lifecycle(model, allow_retired=self.allow_retired)
        url, body, headers = self.gateway.route(dialect.api, caps, model, body, headers)
        return self.build_request("POST", caps.path, body=body, headers=headers,
                                  timeout=timeout, url=url)

    @property
    def retry_base_delay(self) -> float:
        return self.policy.retry_base_delay

    _clock: Callable[[], float] = staticmethod(time.monotonic)

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
            elif not isinstance(options, GatewayOptions):
                raise ConfigurationError(
                    f"options must be a GatewayOptions or a dict, got {type(options).__name__}")
            headers.update(options.headers())
        if extra is not None and not isinstance(extra, Mapping):
            raise ConfigurationError(
                f"headers must be a dict of header names to values, got {type(extra).__name__}")
        for key, value in (extra or {}).items():
            if isinstance(key, str) and key.lower() in _SECRET_HEADERS:
                raise ConfigurationError(f"headers may not set {key!r}; pass api_token")
            name, value = check_header(key, value, "headers")
            headers[name] = value
        return headers

    def resolve(self, call: Mapping[str, Any]) -> tuple[dict[str, str], CallPolicy]:
        """Headers and policy of one call from its :class:`CallOptions` (validated)."""
        if not call:
            return self._headers, self.policy
        unknown = set(call) - CALL_OPTION_NAMES
        if unknown:
            raise ConfigurationError(
                f"unknown call option(s) {sorted(unknown)}; per-call options are "
                f"{sorted(CALL_OPTION_NAMES)}")
        return self.headers(call.get("options"), call.get("headers")), \
            self.policy.override(call)

    def build_request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str],
        timeout: float | None = None,
        params: Mapping[str, Any] | None = None,
        url: str | None = None,
    ) -> httpx.Request:
        """An ``httpx.Request`` to ``{account_url}{path}`` (or ``url``; timeouts set when sent)."""
        content = to_json(body) if body is not None else None
        t = self.timeout if timeout is None else httpx.Timeout(timeout, connect=min(timeout, 10.0))
        return httpx.Request(
            method,
            url or self.account_url + path,
            content=content,
            headers=headers,
            params=params,
            extensions={"timeout": t.as_dict()},
        )

    def retry_delay(self, attempt: int, err: CfAigError) -> float | None:
        """Seconds to wait before attempt ``attempt + 1`` under the client's policy."""
        return self.policy.retry_delay(attempt, err, math.inf)

    def call(
        self,
        request: httpx.Request,
        interpret: Interpret[T],
        *,
        stream: bool = False,
        policy: CallPolicy | None = None,
    ) -> Call[T]:
        """The retrying call plan: send, check, read (unless an SSE stream), interpret.

        ``interpret(response, body)`` gets ``body=None`` for an open SSE stream it
        must take ownership of; it raises a ``CfAigError`` for error payloads.
        """
        policy = policy or self.policy
        clock = self._clock
        total = policy.total
        deadline = clock() + total
        attempt = 0
        while True:
            try:
                if self.rate_limiter is not None:
                    wait = self.rate_limiter.reserve()
                    if wait > 0:
                        if wait >= deadline - clock():
                            raise deadline_error(total)
                        yield Sleep(wait)
                remaining = deadline - clock()
                if remaining <= 0:
                    raise deadline_error(total)
                request.extensions["timeout"] = policy.timeouts(remaining, stream)
                request.extensions[DEADLINE_EXTENSION] = deadline
                try:
                    response: httpx.Response = yield Send(request)
                except httpx.LocalProtocolError as exc:  # refused locally: nothing sent
                    raise ConfigurationError(f"invalid request: {exc}") from None
                except httpx.TransportError as exc:
                    if clock() >= deadline:
                        raise deadline_error(total) from exc
                    raise transport_error(exc, policy) from exc
                return (yield from self._answer(request, response, interpret, stream, policy,
                                                deadline))
            except CfAigError as err:
                error = err
            delay = policy.retry_delay(attempt, error, deadline - clock())
            if delay is None:
                raise error
            if self.rate_limiter is not None and error.retry_after is not None:
                self.rate_limiter.pause(delay)  # the process's other calls wait too
            log.info(
                "cf_aig: retrying %s %s in %.2fs after %s (attempt %d of %d)",
                request.method,
                request.url.path,
                delay,
                type(error).__name__,
                attempt + 2,
                policy.max_retries + 1,
            )
            yield Sleep(delay)
            attempt += 1

    def _read(self, response: httpx.Response, policy: CallPolicy, deadline: float,
              after_status: bool) -> Generator[Action, Any, bytes]:
        reader = BodyReader(response.headers, limit=policy.max_response_bytes,
                            deadline=deadline, total=policy.total, clock=self._clock)
        try:
            body: bytes = yield Read(response, reader)
        except httpx.TransportError as exc:
            if self._clock() >= deadline:
                raise deadline_error(policy.total) from exc
            error = transport_error(exc)
            error.message = (f"the answer ({response.status_code}) was cut off: "
                             f"{type(exc).__name__}: {exc}")
            error.status = response.status_code
            error.log_id = response.headers.get("cf-aig-log-id")
            error.retryable = after_status  # only for a retryable status
            raise error from exc
        return body

    def _answer(self, request: httpx.Request, response: httpx.Response,
                interpret: Interpret[T], stream: bool, policy: CallPolicy,
                deadline: float) -> Generator[Action, Any, T]:
        status = response.status_code
        if 300 <= status < 400:
            with contextlib.suppress(CfAigError):  # read (bounded) and close it
                yield from self._read(response, policy, deadline, False)
            raise redirect_error(response)
        if status >= 400:
            try:
                body = yield from self._read(response, policy, deadline, True)
            except CfAigError as err:
                if isinstance(err, ResponseTooLargeError) or err.status is None:
                    raise
                body = b""  # the status decides; a cut-off error body is only detail
            error = status_error(response, body)
            raise error
        if stream and is_sse(response):
            return interpret(response, None)
        body = yield from self._read(response, policy, deadline, False)
        try:
            try:
                return interpret(response, body)
            except ConfigurationError:
                raise
            except _SHAPE_ERRORS as exc:
                raise shape_error(exc) from exc
        except CfAigError as err:
            if err.status is None:
                err.status = response.status_code
            err.log_id = err.log_id or response.headers.get("cf-aig-log-id")
            raise


_SHAPE_ERRORS = SHAPE_ERRORS
"""What a decoder raises when a payload's fields have unexpected types: the dialects' one
set (:data:`cf_aig.dialects._common.SHAPE_ERRORS`), so client and dialects agree."""


def shape_error(exc: Exception) -> ResponseDecodeError:
    """A payload parsed as JSON but its fields have the wrong types (the dialects' one
    boundary, :func:`cf_aig.dialects._common.shape_error`)."""
    return _shape_error("response", None, exc)


def info_of(response: httpx.Response) -> GatewayInfo:
    return GatewayInfo.from_headers(response.headers)
