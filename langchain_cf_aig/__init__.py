"""LangChain integration for Cloudflare AI Gateway's unified API.

>>> from langchain_cf_aig import ChatCloudflareAIGateway, CloudflareAIGatewayEmbeddings
"""

from .chat_models import ChatCloudflareAIGateway, gateway_info, log_id_of, model_profile
from .embeddings import CloudflareAIGatewayEmbeddings
from .errors import to_langchain_error

__all__ = [
    "ChatCloudflareAIGateway",
    "CloudflareAIGatewayEmbeddings",
    "gateway_info",
    "log_id_of",
    "model_profile",
    "to_langchain_error",
]
