"""LangChain integration for Cloudflare AI Gateway's unified API.

>>> from langchain_cf_aig import ChatCloudflareAIGateway, CloudflareAIGatewayEmbeddings

Names load lazily (module ``__getattr__``): ``import langchain_cf_aig`` imports neither
LangChain nor httpx; the first use of a class imports what it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cf_aig._extras import LazyExports

if TYPE_CHECKING:
    from .chat_models import ChatCloudflareAIGateway, gateway_info, log_id_of, model_profile
    from .embeddings import CloudflareAIGatewayEmbeddings
    from .errors import to_langchain_error

_LAZY = {
    "ChatCloudflareAIGateway": "chat_models",
    "gateway_info": "chat_models",
    "log_id_of": "chat_models",
    "model_profile": "chat_models",
    "CloudflareAIGatewayEmbeddings": "embeddings",
    "to_langchain_error": "errors",
}


_EXPORTS = LazyExports(globals(), _LAZY, extra="langchain")


def __getattr__(name: str) -> Any:
    return _EXPORTS.load(name)


def __dir__() -> list[str]:
    return _EXPORTS.names()


__all__ = [
    "ChatCloudflareAIGateway",
    "CloudflareAIGatewayEmbeddings",
    "gateway_info",
    "log_id_of",
    "model_profile",
    "to_langchain_error",
]
