"""LlamaIndex integration for Cloudflare AI Gateway: an LLM and an embedding model.

>>> from llama_index_cf_aig import CloudflareAIGateway, CloudflareAIGatewayEmbedding

Errors are the core's typed exceptions (:mod:`cf_aig.errors`), re-exported here: each
carries the HTTP ``status``, the Cloudflare ``code`` and the gateway ``log_id``.
"""

from __future__ import annotations

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
    QuotaExceededError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    StreamInterruptedError,
)

from .convert import UnsupportedContentError
from .embeddings import CloudflareAIGatewayEmbedding
from .llms import CloudflareAIGateway

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
    "QuotaExceededError",
    "RateLimitError",
    "ResponseDecodeError",
    "ServerError",
    "StreamInterruptedError",
    "UnsupportedContentError",
]
