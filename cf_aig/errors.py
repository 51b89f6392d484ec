"""One error hierarchy for every route and every error envelope.

Cloudflare answers errors in three shapes (reference §5): the v4 envelope
(``errors: [{code, message}]``), the ``AiGatewayError`` envelope (``error`` +
``internalCode``), and provider-native bodies (OpenAI ``{"error": {...}}``, Anthropic
``{"type": "error", "error": {...}}``). :func:`error_from_body` reads all of them and
picks the class from the Cloudflare code first, then the HTTP status.

>>> err = error_from_body(429, {"success": False, "errors": [{"code": 3040, "message": "busy"}]})
>>> type(err).__name__, err.code, err.retryable
('RateLimitError', 3040, True)
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any


class CfAigError(Exception):
    """Base of every error this package raises about a call to the gateway.

    Carries the HTTP ``status`` (None when no response came), the Cloudflare or
    provider ``code``, the server's ``message``, and the gateway ``log_id`` when known.
    The API token is never part of any field.
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | str | None = None,
        log_id: str | None = None,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.log_id = log_id
        self.body = body
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.log_id:
            parts.append(f"log_id={self.log_id}")
        return parts[0] if len(parts) == 1 else f"{parts[0]} ({', '.join(parts[1:])})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status}, code={self.code!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle every field (status, code, message, log id...) as it is, without
        calling ``__init__`` (subclasses take other arguments): errors cross processes."""
        return (_restore_error, (type(self), self.args), self.__dict__)


def _restore_error(cls: type[BaseException], args: tuple[Any, ...]) -> BaseException:
    return cls.__new__(cls, *args)


class ConnectionFailedError(CfAigError):
    """The request never got an HTTP answer (refused, reset, DNS...)."""

    retryable = True


class APITimeoutError(CfAigError):
    """No response in time: client-side timeout, HTTP 408, or Workers AI 3007/3008/3046."""

    retryable = True


class BatchTimeoutError(APITimeoutError):
    """A batch job was not done by the ``wait()`` deadline; the job itself stays valid.

    ``job_id`` names it (``client.batch_job(model, job_id, counts)`` rebuilds it).
    """

    retryable = False

    def __init__(self, message: str, *, job_id: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.job_id = job_id


class ResponseDecodeError(CfAigError):
    """The gateway answered with a body that is not what the protocol allows."""


class StreamInterruptedError(CfAigError):
    """A stream ended, stalled or broke before it was complete.

    ``received`` counts the chunks already handed to the caller; they are not re-sent.
    """

    def __init__(self, message: str, *, received: int = 0, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.received = received


class APIStatusError(CfAigError):
    """The gateway or the provider answered with an error."""


class BadRequestError(APIStatusError):
    """The request was rejected as invalid (400, 413, 422, schema errors)."""


class ContextWindowExceededError(BadRequestError):
    """The prompt plus the requested output does not fit the model's context window."""


class AuthenticationError(APIStatusError):
    """The token is missing, wrong, or lacks permission (401, code 10000, 2009)."""


class PermissionDeniedError(APIStatusError):
    """The account may not use this model or feature (403)."""


class NotFoundError(APIStatusError):
    """Unknown model, gateway, route or log id (404, 7003, 5007, 2001)."""


class ConflictError(APIStatusError):
    """HTTP 409; retried."""

    retryable = True


class RateLimitError(APIStatusError):
    """Too many requests (429); retried with backoff unless it is a quota."""

    retryable = True


class QuotaExceededError(RateLimitError):
    """A daily allocation or spend limit is used up (3036, 4006, 2041): not retried."""

    retryable = False


class InsufficientCreditsError(APIStatusError):
    """Unified Billing credits are exhausted, or the model needs BYOK (402, 2021)."""


class GuardrailBlockedError(APIStatusError):
    """A guardrail blocked the prompt or the response (2016, 2017)."""


class GuardrailUnavailableError(GuardrailBlockedError):
    """The guardrail scanner is down while a Block rule applies (503, 7013): not retried."""


class DLPBlockedError(APIStatusError):
    """A Data Loss Prevention policy blocked the request or response (2029, 2030)."""


class ServerError(APIStatusError):
    """The gateway or the provider failed (5xx, overloaded); retried."""

    retryable = True


class PolicyDeniedError(PermissionDeniedError):
    """A gateway policy refused the request (403 "Access denied by policy"): not retried.

    Policies (beta, reference §11.2) answer ``{"success": false, "error": {"message":
    ...}}``; ``error`` is an object there. Ask the gateway's admin which policy applies.

    >>> body = b'{"success":false,"error":{"message":"Access denied by policy"}}'
    >>> type(error_from_body(403, body)).__name__
    'PolicyDeniedError'
    """


class PlanRequiredError(PermissionDeniedError):
    """The model needs the Workers Paid plan (403, code 5035): upgrade, or pick another.

    >>> err = error_from_body(403, {"errors": [{"code": 5035, "message": "paid only"}]})
    >>> type(err).__name__, "Workers Paid plan" in str(err)
    ('PlanRequiredError', True)
    """


class SpendLimitExceededError(QuotaExceededError):
    """A spend limit is used up (429 "Spending limit exceeded", or code 2041): not retried.

    ``bucket``, ``spent`` and ``limit`` are what the policy body reported (None if absent).

    >>> err = error_from_body(429, {"success": False, "error": {
    ...     "message": "Spending limit exceeded", "bucket": "user:alice", "spent": 10.5,
    ...     "limit": 10}})
    >>> type(err).__name__, err.bucket, err.spent, err.limit, err.retryable
    ('SpendLimitExceededError', 'user:alice', 10.5, 10, False)
    """

    def __init__(self, message: str, *, bucket: Any = None, spent: Any = None,
                 limit: Any = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.bucket = bucket
        self.spent = spent
        self.limit = limit


class ResponsesBillingError(InsufficientCreditsError):
    """``/ai/v1/responses`` answered 402 under Unified Billing (reference §11.2).

    Seen for ``openai/gpt-5.x`` on authenticated gateways while chat completions worked;
    the message says what to try instead (see :func:`responses_billing_hint`).
    """


class ConfigurationError(ValueError):
    """Settings are missing or invalid; raised before anything is sent."""

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as it is, without calling ``__init__`` (see :class:`CfAigError`)."""
        return (_restore_error, (type(self), self.args), self.__dict__)


class MissingCredentialsError(ConfigurationError):
    """No account id or API token was given as argument or environment variable."""


class LogIdUnavailableError(ConfigurationError):
    """An answer carries no gateway log id, so no log can be fetched or annotated for it.

    Raised by :meth:`cf_aig.GatewayInfo.require_log_id` before anything is sent.
    """


class InvalidIdError(ConfigurationError):
    """An account, gateway, log or model id that cannot be a URL path segment.

    >>> from cf_aig import Client
    >>> Client(account_id="..", api_token="t")
    Traceback (most recent call last):
    ...
    cf_aig.errors.InvalidIdError: account_id (or $CLOUDFLARE_ACCOUNT_ID) has a '.' or '..'...
    """


class RetiredModelError(ConfigurationError):
    """The model was retired; raised before sending, naming the date and a replacement.

    The table of retirements can be stale: pass ``allow_retired=True`` (client or
    adapter setting) to send anyway.

    >>> from cf_aig.profiles import check_lifecycle
    >>> try:
    ...     check_lifecycle("@cf/meta/llama-3.1-8b-instruct")
    ... except RetiredModelError as err:
    ...     print(err.retired_on, err.replacement)
    2026-05-30 @cf/meta/llama-3.1-8b-instruct-fp8
    """

    def __init__(self, message: str, *, model: str, retired_on: str,
                 replacement: str | None) -> None:
        super().__init__(message)
        self.model = model
        self.retired_on = retired_on
        self.replacement = replacement


_BY_CODE: dict[int, type[APIStatusError]] = {
    10000: AuthenticationError,
    9109: AuthenticationError,
    2009: AuthenticationError,
    2001: NotFoundError,
    2003: RateLimitError,
    3040: RateLimitError,
    3036: QuotaExceededError,
    4006: QuotaExceededError,
    2041: SpendLimitExceededError,
    2021: InsufficientCreditsError,
    2016: GuardrailBlockedError,
    2017: GuardrailBlockedError,
    7013: GuardrailUnavailableError,
    2029: DLPBlockedError,
    2030: DLPBlockedError,
    5007: NotFoundError,
    3042: NotFoundError,
    5021: ContextWindowExceededError,
    5018: PermissionDeniedError,
    3041: PermissionDeniedError,
    5016: PermissionDeniedError,
    5035: PlanRequiredError,
    3023: PermissionDeniedError,
}
_TIMEOUT_CODES = frozenset({3007, 3008, 3046})

_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: BadRequestError,
    422: BadRequestError,
    424: GuardrailBlockedError,
    429: RateLimitError,
}

_BY_PROVIDER_TYPE: dict[str, type[CfAigError]] = {
    "invalid_request_error": BadRequestError,
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "rate_limit_error": RateLimitError,
    "overloaded_error": ServerError,
    "api_error": ServerError,
    "server_error": ServerError,
    "billing_error": InsufficientCreditsError,
    "insufficient_quota": QuotaExceededError,
    "context_length_exceeded": ContextWindowExceededError,
    "timeout_error": APITimeoutError,
    "request_too_large": BadRequestError,
    "rate_limit_exceeded": RateLimitError,
}

_CONTEXT_HINTS = ("context window", "context length", "context_length", "maximum context")


def _first_sse_data(text: str) -> str | None:
    for line in text.splitlines():
        if line.startswith("data:"):
            data = line[5:].strip()
            if data.startswith("{"):
                return data
    return None


def parse_error_body(body: Any) -> tuple[int | str | None, str | None, str | None]:
    """Return ``(code, message, provider_error_type)`` from any known error envelope."""
    if isinstance(body, (bytes, str)):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            body = json.loads(text)
        except ValueError:
            data = _first_sse_data(text)  # an error sent as an SSE event
            if data is None:
                return None, text.strip()[:500] or None, None
            return parse_error_body(data)
    if not isinstance(body, Mapping):
        return None, None, None
    code: int | str | None = body.get("internalCode")
    message = body.get("message") if isinstance(body.get("message"), str) else None
    etype: str | None = None
    for key in ("error", "errors"):
        value = body.get(key)
        if isinstance(value, list) and value and isinstance(value[0], Mapping):
            code = code if code is not None else value[0].get("code")
            message = message or value[0].get("message")
        elif isinstance(value, Mapping):  # OpenAI / Anthropic provider bodies
            message = message or value.get("message")
            etype = value.get("type") if isinstance(value.get("type"), str) else None
            if code is None and value.get("code") is not None:
                code = value["code"]
        elif isinstance(value, str) and message is None:
            message = value
    if code is None and body.get("type") == "error" and body.get("code") is not None:
        code = body["code"]  # a bare Responses error event: {"type": "error", "code": ...}
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    return code, (str(message) if message is not None else None), etype


def _classify(
    status: int | None, code: int | str | None, etype: str | None, message: str
) -> type[CfAigError]:
    if isinstance(code, int):
        if code in _BY_CODE:
            return _BY_CODE[code]
        if code in _TIMEOUT_CODES:
            return APITimeoutError
    if isinstance(code, str) and code in _BY_PROVIDER_TYPE:
        return _BY_PROVIDER_TYPE[code]
    low = message.lower()
    if any(h in low for h in _CONTEXT_HINTS):
        return ContextWindowExceededError
    if etype in _BY_PROVIDER_TYPE and not (etype == "invalid_request_error" and status == 429):
        return _BY_PROVIDER_TYPE[etype]
    if status == 408:
        return APITimeoutError
    if status is not None:
        if status in _BY_STATUS:
            return _BY_STATUS[status]
        if status == 501:
            return APIStatusError
        if status >= 500:
            return ServerError
        if status >= 400:
            return BadRequestError
    return ServerError


def error_from_body(
    status: int | None,
    body: Any,
    *,
    log_id: str | None = None,
    retry_after: float | None = None,
) -> CfAigError:
    """Build the typed error for an error response (or a mid-stream error event)."""
    code, message, etype = parse_error_body(body)
    text = message or (f"HTTP {status}" if status else "error from the gateway")
    cls = _classify(status, code, etype, text)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    policy = _policy_error(status, body, text)
    if policy is not None:
        policy_cls, extra = policy
        return policy_cls(text, status=status, code=code, log_id=log_id, body=body,
                          retry_after=retry_after, **extra)
    if cls is PlanRequiredError:
        text += ": this model needs the Workers Paid plan; upgrade the account or pick another"
    if cls is AuthenticationError:
        text += AUTH_HINT
    if cls is NotFoundError:
        text += _model_hint(text)
    return cls(text, status=status, code=code, log_id=log_id, body=body, retry_after=retry_after)


AUTH_HINT = (
    ": check the API token (api_token=, else CLOUDFLARE_API_TOKEN) and CLOUDFLARE_ACCOUNT_ID;"
    " the token needs the permissions Workers AI Read, AI Gateway Run and AI Gateway Read"
    " (AI Gateway Edit to send feedback)"
)
"""What a 401 (or Cloudflare 10000/9109/2009) adds to the server's message."""

_MODEL_NOT_FOUND = re.compile(r"model not found:?\s*['\"]?([^\s'\",;]+)", re.I)


def _model_hint(message: str) -> str:
    """For "Model not found: gpt-4o": the known ids it probably meant, from the profiles.

    >>> _model_hint("Model not found: gpt-4o")
    "; did you mean 'openai/gpt-4o'? Models are named provider/model (openai/gpt-5.5) or ..."
    """
    found = _MODEL_NOT_FOUND.search(message)
    if found is None:
        return ""
    from .profiles import suggest_models  # profiles imports this module

    close = suggest_models(found.group(1))
    named = ("Models are named provider/model (openai/gpt-5.5) or @cf/... for Workers AI")
    if not close:
        return f"; {named[0].lower()}{named[1:]}"
    return f"; did you mean {' or '.join(repr(c) for c in close)}? {named}"


def _policy_error(
    status: int | None, body: Any, message: str
) -> tuple[type[CfAigError], dict[str, Any]] | None:
    """The gateway policies' body (``error`` an object, no code): which error, which fields.

    Accepted shapes: ``bucket``/``spent``/``limit`` inside ``error``, in the first item of a v4
    ``errors`` list, or at the top level (figures kept only as finite numbers);
    the message matched case-insensitively ("access denied by policy", "spending limit").
    """
    low = message.lower()
    if status == 403 and "denied by policy" in low:
        return PolicyDeniedError, {}
    if status == 429 and ("spending limit" in low or "spend limit" in low):
        obj: Any = body
        if isinstance(obj, str):
            try:
                obj = json.loads(obj)
            except ValueError:
                obj = {}
        fields: dict[str, Any] = {}
        if isinstance(obj, Mapping):
            inner, listed = obj.get("error"), obj.get("errors")
            first = listed[0] if isinstance(listed, list) and listed else None
            for source in (obj, first, inner):
                if not isinstance(source, Mapping):
                    continue
                bucket = source.get("bucket")
                if isinstance(bucket, str) and bucket:
                    fields["bucket"] = bucket
                for key in ("spent", "limit"):
                    amount = _amount(source.get(key))
                    if amount is not None:
                        fields[key] = amount
        return SpendLimitExceededError, fields
    return None


def _amount(value: Any) -> float | None:
    """A spend figure as a finite number (numeric strings accepted); None otherwise.

    >>> _amount(10), _amount("12.5"), _amount(True), _amount("nan"), _amount({})
    (10, 12.5, None, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return value
    return None


def responses_billing_hint(err: CfAigError, path: str) -> CfAigError:
    """A 402 from ``/ai/v1/responses`` as :class:`ResponsesBillingError` saying what to try.

    >>> e = responses_billing_hint(InsufficientCreditsError("Payment required", status=402),
    ...                            "/client/v4/accounts/a/ai/v1/responses")
    >>> type(e).__name__, "chat_completions" in str(e)
    ('ResponsesBillingError', True)
    """
    if err.status != 402 or not path.rstrip("/").endswith("/responses"):
        return err
    hint = (f"{err.message}. The Responses endpoint can answer 402 under Unified Billing "
            "while chat completions work for the same model: try api='chat_completions', "
            "or bring your own provider key (BYOK: a stored key, or provider_api_key with "
            "surface='gateway')")
    return ResponsesBillingError(hint, status=err.status, code=err.code, log_id=err.log_id,
                                 body=err.body, retry_after=err.retry_after)


class ResponseTooLargeError(CfAigError):
    """The answer (body, SSE line or event, or decompressed size) passed a byte cap.

    ``limit`` is the cap; raise ``max_response_bytes`` per client or per call.

    >>> ResponseTooLargeError("too large", limit=1024).limit
    1024
    """

    def __init__(self, message: str, *, limit: int = 0, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.limit = limit


class RedirectError(APIStatusError):
    """The gateway answered a 3xx redirect; it is never followed (the token would go along).

    >>> RedirectError("302 to https://elsewhere.example/", status=302).status
    302
    """
