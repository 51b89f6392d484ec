"""Core errors re-raised as classes that are both the ``cf_aig`` error and the matching
``langchain_core.exceptions`` type, so either ``except`` clause catches them.

>>> import cf_aig
>>> from langchain_core.exceptions import ModelRateLimitError
>>> err = to_langchain_error(cf_aig.RateLimitError("busy", status=429, code=3040))
>>> isinstance(err, cf_aig.RateLimitError), isinstance(err, ModelRateLimitError)
(True, True)
"""

from __future__ import annotations

from typing import Any

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from pydantic import ValidationError

import cf_aig.errors as core


class MissingCredentialsValidationError(core.MissingCredentialsError, ValidationError):
    """No account id or token at construction: pydantic's ``ValidationError`` (what LangChain
    classes raise for bad arguments) and ``cf_aig``'s ``MissingCredentialsError`` (what the
    LlamaIndex classes and the core raise) at once, so either ``except`` catches it.

    >>> import os
    >>> from langchain_cf_aig import ChatCloudflareAIGateway
    >>> saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("CLOUDFLARE_")}
    >>> try:
    ...     ChatCloudflareAIGateway(model="openai/gpt-5.5")
    ... except core.MissingCredentialsError as exc:
    ...     print(type(exc).__name__, isinstance(exc, ValidationError))
    MissingCredentialsValidationError True
    >>> os.environ.update(saved)
    """


def unwrap_configuration_error(exc: ValidationError) -> ValidationError:
    """``exc`` as a :class:`MissingCredentialsValidationError` when missing credentials caused
    it; otherwise ``exc`` itself."""
    errors = exc.errors(include_url=False)
    if not any(isinstance((e.get("ctx") or {}).get("error"), core.MissingCredentialsError)
               for e in errors):
        return exc
    details: list[Any] = [{k: e[k] for k in ("type", "loc", "input", "ctx") if k in e}
                          for e in errors]
    return MissingCredentialsValidationError.from_exception_data(exc.title, details)


def _both(core_cls: type[core.CfAigError], lc_cls: type[ModelError], doc: str) -> type[Any]:
    name = "CloudflareAIGateway" + core_cls.__name__
    attrs = {
        "__doc__": doc,
        "__module__": __name__,
        "is_retryable": core_cls.retryable,
    }
    return type(name, (core_cls, lc_cls), attrs)


_PAIRS: list[tuple[type[core.CfAigError], type[ModelError], str]] = [
    (core.AuthenticationError, ModelAuthenticationError, "Bad or missing API token."),
    (core.PolicyDeniedError, ModelPermissionDeniedError, "Refused by a gateway policy (403)."),
    (core.PlanRequiredError, ModelPermissionDeniedError, "The model needs Workers Paid."),
    (core.SpendLimitExceededError, ModelRateLimitError, "A spend limit is used up (429)."),
    (core.ResponsesBillingError, ModelPermissionDeniedError,
     "/ai/v1/responses refused under Unified Billing (402)."),
    (core.PermissionDeniedError, ModelPermissionDeniedError, "Not allowed for this account."),
    (core.NotFoundError, ModelNotFoundError, "Unknown model, gateway or route."),
    (core.QuotaExceededError, ModelRateLimitError, "Daily allocation or spend limit used up."),
    (core.RateLimitError, ModelRateLimitError, "Too many requests (429)."),
    (core.ContextWindowExceededError, ContextOverflowError, "Prompt exceeds the context."),
    (core.BadRequestError, ModelInvalidRequestError, "The request was rejected as invalid."),
    (core.BatchTimeoutError, ModelTimeoutError, "A batch did not finish in batch_timeout."),
    (core.APITimeoutError, ModelTimeoutError, "No response in time."),
    (core.ConnectionFailedError, ModelConnectionError, "The gateway could not be reached."),
    (core.StreamInterruptedError, ModelConnectionError, "The stream broke before its end."),
    (core.GuardrailUnavailableError, ModelAPIError, "Guardrail scanner down (Block rule)."),
    (core.GuardrailBlockedError, ModelInvalidRequestError, "Blocked by a guardrail."),
    (core.DLPBlockedError, ModelInvalidRequestError, "Blocked by a DLP policy."),
    (core.InsufficientCreditsError, ModelPermissionDeniedError, "Out of credits / needs BYOK."),
    (core.ConflictError, ModelAPIError, "HTTP 409."),
    (core.ServerError, ModelAPIError, "The gateway or the provider failed (5xx)."),
    (core.ResponseDecodeError, ModelAPIError, "The gateway answered with a malformed body."),
    (core.ResponseTooLargeError, ModelAPIError, "The answer passed max_response_bytes."),
    (core.RedirectError, ModelAPIError, "A redirect (never followed)."),
    (core.APIStatusError, ModelAPIError, "The gateway or provider answered with an error."),
    (core.CfAigError, ModelError, "Any other gateway error."),
]

MAPPED: dict[type[core.CfAigError], type[Any]] = {c: _both(c, lc, doc) for c, lc, doc in _PAIRS}
"""cf_aig error class → its dual-parent subclass."""

globals().update({cls.__name__: cls for cls in MAPPED.values()})


def _mapped_class(cls: type[core.CfAigError]) -> type[Any]:
    for klass in cls.__mro__:
        if klass in MAPPED:
            return MAPPED[klass]
    return MAPPED[core.CfAigError]


def to_langchain_error(err: BaseException) -> BaseException:
    """``err`` as its dual-parent subclass (same fields); other exceptions unchanged."""
    if not isinstance(err, core.CfAigError) or isinstance(err, ModelError):
        return err
    cls: type[BaseException] = _mapped_class(type(err))
    new = BaseException.__new__(cls)
    new.__dict__.update(err.__dict__)
    new.args = err.args
    new.__cause__ = err.__cause__
    new.__traceback__ = err.__traceback__
    return new


__all__ = ["MAPPED", "to_langchain_error"]
