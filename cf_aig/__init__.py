"""cf_aig: core client for Cloudflare AI Gateway's unified REST API.

Speaks the wire (chat completions, Workers AI ``/ai/run``, embeddings, logs) and
imports no framework. Heavy parts load lazily, so ``import cf_aig`` stays cheap.

>>> import cf_aig
>>> cf_aig.GatewayOptions(cache_ttl=600).headers()
{'cf-aig-cache-ttl': '600'}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._extras import LazyExports
from .errors import (
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BatchTimeoutError,
    CfAigError,
    ConfigurationError,
    ConflictError,
    ConnectionFailedError,
    ContextWindowExceededError,
    DLPBlockedError,
    GuardrailBlockedError,
    GuardrailUnavailableError,
    InsufficientCreditsError,
    InvalidIdError,
    LogIdUnavailableError,
    MissingCredentialsError,
    NotFoundError,
    PermissionDeniedError,
    PlanRequiredError,
    PolicyDeniedError,
    QuotaExceededError,
    RateLimitError,
    RedirectError,
    ResponseDecodeError,
    ResponsesBillingError,
    ResponseTooLargeError,
    RetiredModelError,
    ServerError,
    SpendLimitExceededError,
    StreamInterruptedError,
)
from .options import GatewayInfo, GatewayOptions

if TYPE_CHECKING:
    from ._protocol import CallOptions
    from .accumulate import ChunkAccumulator
    from .batch import AsyncBatchJob, BatchItem, BatchJob, BatchProgress
    from .client import (
        AsyncClient,
        AsyncStream,
        ChatResult,
        Client,
        EmbeddingResult,
        RunResult,
        Stream,
    )
    from .config import Settings
    from .profiles import ModelProfile, get_profile
    from .ratelimit import RateLimiter

__version__ = "0.1.0"

_LAZY = {
    "CallOptions": "_protocol",
    "Client": "client",
    "AsyncClient": "client",
    "Stream": "client",
    "AsyncStream": "client",
    "ChatResult": "client",
    "RunResult": "client",
    "EmbeddingResult": "client",
    "ChunkAccumulator": "accumulate",
    "Settings": "config",
    "ModelProfile": "profiles",
    "get_profile": "profiles",
    "BatchJob": "batch",
    "AsyncBatchJob": "batch",
    "BatchItem": "batch",
    "BatchProgress": "batch",
    "RateLimiter": "ratelimit",
}


_EXPORTS = LazyExports(globals(), _LAZY)


def __getattr__(name: str) -> Any:
    return _EXPORTS.load(name)


def __dir__() -> list[str]:
    return _EXPORTS.names()


__all__ = [
    "APIStatusError",
    "APITimeoutError",
    "AsyncBatchJob",
    "AsyncClient",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "BatchItem",
    "BatchJob",
    "BatchProgress",
    "BatchTimeoutError",
    "CallOptions",
    "CfAigError",
    "ChatResult",
    "ChunkAccumulator",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "ConnectionFailedError",
    "ContextWindowExceededError",
    "DLPBlockedError",
    "EmbeddingResult",
    "GatewayInfo",
    "GatewayOptions",
    "GuardrailBlockedError",
    "GuardrailUnavailableError",
    "InsufficientCreditsError",
    "InvalidIdError",
    "LogIdUnavailableError",
    "MissingCredentialsError",
    "ModelProfile",
    "NotFoundError",
    "PermissionDeniedError",
    "PlanRequiredError",
    "PolicyDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "RateLimiter",
    "RedirectError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "ResponsesBillingError",
    "RetiredModelError",
    "RunResult",
    "ServerError",
    "Settings",
    "SpendLimitExceededError",
    "Stream",
    "StreamInterruptedError",
    "get_profile",
]
