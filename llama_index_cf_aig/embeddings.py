"""``CloudflareAIGatewayEmbedding``: a LlamaIndex ``BaseEmbedding`` over the gateway."""

from __future__ import annotations

from typing import Any, Literal

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import Field

from cf_aig.profiles import get_profile

from ._settings import GatewaySettings


class CloudflareAIGatewayEmbedding(GatewaySettings, BaseEmbedding):
    """Embeddings through Cloudflare AI Gateway (Workers AI ``@cf`` models or OpenAI).

    Batches follow the model's limit (100 texts for Workers AI) unless
    ``embed_batch_size`` is given; async calls send batches concurrently.

    >>> from cf_aig.emulator import Emulator
    >>> with Emulator() as emu:
    ...     emb = CloudflareAIGatewayEmbedding(model_name="@cf/baai/bge-small-en-v1.5",
    ...         account_id="acc", api_token="tok", base_url=emu.base_url)
    ...     len(emb.get_query_embedding("hello"))
    384
    """

    model_name: str = Field(
        default="@cf/baai/bge-base-en-v1.5",
        description="Embedding model, e.g. '@cf/baai/bge-m3' or 'openai/text-embedding-3-small'.",
    )
    api: Literal["run", "openai"] | None = Field(
        default=None,
        description="'run' (/ai/run/{model}) or 'openai' (/ai/v1/embeddings); "
        "default: run for @cf models, else openai.",
    )

    def __init__(self, **data: Any) -> None:
        if "embed_batch_size" not in data:
            model = data.get("model_name") or "@cf/baai/bge-base-en-v1.5"
            data["embed_batch_size"] = min(get_profile(model).embedding_batch_size, 2048)
        super().__init__(**data)
        self._check_settings()

    @classmethod
    def class_name(cls) -> str:
        return "CloudflareAIGatewayEmbedding"

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._get_text_embeddings([query])[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return (await self._aget_text_embeddings([query]))[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await self._aget_text_embeddings([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self.client.embed(
            self.model_name, texts, api=self.api, batch_size=self.embed_batch_size
        ).vectors

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        result = await self.async_client.embed(
            self.model_name, texts, api=self.api, batch_size=self.embed_batch_size
        )
        return result.vectors
