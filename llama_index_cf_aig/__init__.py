"""LlamaIndex integration for Cloudflare AI Gateway: an LLM and an embedding model.

>>> from llama_index_cf_aig import CloudflareAIGateway, CloudflareAIGatewayEmbedding

Errors are the core's typed exceptions (:mod:`cf_aig.errors`), re-exported here: each
carries the HTTP ``status``, the Cloudflare ``code`` and the gateway ``log_id``.

Names load lazily (module ``__getattr__``): ``import llama_index_cf_aig`` imports
neither LlamaIndex nor httpx; the first use of a class imports what it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cf_aig._extras import LazyExports

if TYPE_CHECKING:
    from cf_aig.errors import (
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        CfAigError,
        ConfigurationError,
        ConnectionFailedError,
        ContextWindowExceededError,
        GuardrailBlockedError,
        MissingCredentialsError,
        NotFoundError,
        PlanRequiredError,
        PolicyDeniedError,
        QuotaExceededError,
        RateLimitError,
        ResponseDecodeError,
        ResponsesBillingError,
        ResponseTooLargeError,
        RetiredModelError,
        ServerError,
        SpendLimitExceededError,
        StreamInterruptedError,
    )

    from .convert import UnsupportedContentError
    from .embeddings import CloudflareAIGatewayEmbedding
    from .llms import CloudflareAIGateway

_ERRORS = (
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CfAigError",
    "ConfigurationError",
    "ConnectionFailedError",
    "ContextWindowExceededError",
    "GuardrailBlockedError",
    "MissingCredentialsError",
    "NotFoundError",
    "PlanRequiredError",
    "PolicyDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "ResponseDecodeError",
    "ResponsesBillingError",
    "ResponseTooLargeError",
    "RetiredModelError",
    "ServerError",
    "SpendLimitExceededError",
    "StreamInterruptedError",
)
_LAZY = {
    **{name: "cf_aig.errors" for name in _ERRORS},
    "UnsupportedContentError": f"{__name__}.convert",
    "CloudflareAIGatewayEmbedding": f"{__name__}.embeddings",
    "CloudflareAIGateway": f"{__name__}.llms",
}


_EXPORTS = LazyExports(globals(), _LAZY, extra="llama-index")


def __getattr__(name: str) -> Any:
    return _EXPORTS.load(name)


def __dir__() -> list[str]:
    return _EXPORTS.names()


__all__ = [
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CfAigError",
    "CloudflareAIGateway",
    "CloudflareAIGatewayEmbedding",
    "ConfigurationError",
    "ConnectionFailedError",
    "ContextWindowExceededError",
    "GuardrailBlockedError",
    "MissingCredentialsError",
    "NotFoundError",
    "PlanRequiredError",
    "PolicyDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "ResponsesBillingError",
    "RetiredModelError",
    "ServerError",
    "SpendLimitExceededError",
    "StreamInterruptedError",
    "UnsupportedContentError",
]
