"""``CloudflareAIGatewayEmbedding``: a LlamaIndex ``BaseEmbedding`` over the gateway."""

from __future__ import annotations

from typing import Any, Literal

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import Field

from cf_aig.batch import aembed_with_batch_api, check_batch_embedding, embed_with_batch_api
from cf_aig.embeddings import (
    EmbeddingApi,
    check_embedding_args,
    check_embedding_credentials,
    embedding_api,
)
from cf_aig.errors import ConfigurationError
from cf_aig.profiles import get_profile

from ._settings import GatewaySettings, accepted_names

BATCH_JOB_TEXTS = 2048
"""Texts LlamaIndex hands to one Batch API job when ``batch_api=True``."""


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
    api: EmbeddingApi | None = Field(
        default=None,
        description="'run' (/ai/run/{model}) or 'openai' (/ai/v1/embeddings); "
        "default: run for @cf models, else openai.",
    )
    dimensions: int | None = Field(
        default=None,
        description="Vector size to ask for (OpenAI text-embedding-3-* only; other models: "
        "None or their own size, else a typed error before sending).",
    )
    encoding_format: Literal["float", "base64"] | None = Field(
        default=None,
        description="Wire encoding on /ai/v1/embeddings (base64 is smaller; vectors are "
        "floats either way).",
    )
    batch_api: bool = Field(
        default=False,
        description="Send text batches through the Workers AI async Batch API (@cf models): "
        "eventual completion instead of capacity errors; queries stay direct calls. "
        "embed_batch_size then defaults to 2048 texts per job (LlamaIndex's maximum).",
    )
    batch_timeout: float | None = Field(
        default=None, gt=0,
        description="Seconds to wait for a batch job before BatchTimeoutError (None: no "
        "deadline).",
    )

    def __init__(self, **data: Any) -> None:
        if "embed_batch_size" not in data:
            model = data.get("model_name") or "@cf/baai/bge-base-en-v1.5"
            data["embed_batch_size"] = (BATCH_JOB_TEXTS if data.get("batch_api") else
                                        min(get_profile(model).embedding_batch_size, 2048))
        unknown = set(data) - accepted_names(type(self))
        if unknown:  # a typo such as dimension= is an error, never dropped
            raise ConfigurationError(
                f"unknown argument(s) {sorted(unknown)} for {type(self).__name__}; known: "
                f"{', '.join(sorted(type(self).model_fields))}")
        super().__init__(**data)
        self._check_settings()
        api = embedding_api(self.model_name, self.api)
        check_embedding_args(self.model_name, api, self.dimensions, self.encoding_format)
        check_embedding_credentials(self.provider_api_key)
        if self.batch_api:
            check_batch_embedding(self.model_name, self.api, self.dimensions,
                                  self.encoding_format)

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

    def _embed_args(self) -> dict[str, Any]:
        size = None if self.batch_api else self.embed_batch_size  # a job's size, not a call's
        return {"api": self.api, "batch_size": size,
                "dimensions": self.dimensions, "encoding_format": self.encoding_format}

    def get_text_embedding_batch(self, texts: list[str], show_progress: bool = False,
                                 **kwargs: Any) -> list[Embedding]:
        """Embed ``texts`` in batches; keyword arguments are refused (set them as fields)."""
        _no_call_kwargs(kwargs)
        return super().get_text_embedding_batch(texts, show_progress)

    async def aget_text_embedding_batch(self, texts: list[str], show_progress: bool = False,
                                        **kwargs: Any) -> list[Embedding]:
        """Async :meth:`get_text_embedding_batch`."""
        _no_call_kwargs(kwargs)
        return await super().aget_text_embedding_batch(texts, show_progress)

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        if self.batch_api and len(texts) > 1:
            return embed_with_batch_api(self.client, self.model_name, texts,
                                        timeout=self.batch_timeout)
        return self.client.embed(self.model_name, texts, **self._embed_args()).vectors

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        if self.batch_api and len(texts) > 1:
            return await aembed_with_batch_api(self.async_client, self.model_name, texts,
                                               timeout=self.batch_timeout)
        result = await self.async_client.embed(self.model_name, texts, **self._embed_args())
        return result.vectors


def _no_call_kwargs(kwargs: dict[str, Any]) -> None:
    if kwargs:
        raise ConfigurationError(
            f"unknown per-call argument(s) {sorted(kwargs)} for an embedding batch; set "
            "dimensions, encoding_format and gateway options on CloudflareAIGatewayEmbedding")
