"""``CloudflareAIGatewayEmbeddings``: LangChain embeddings over Cloudflare AI Gateway."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.embeddings import Embeddings
from pydantic import Field

import cf_aig
from cf_aig.profiles import get_profile

from ._settings import GatewaySettings, split_options
from .errors import to_langchain_error


class CloudflareAIGatewayEmbeddings(GatewaySettings, Embeddings):
    """Embeddings through AI Gateway: ``/ai/run/@cf/...`` for Workers AI models, else
    ``/ai/v1/embeddings``. Texts are sent in batches at the model's limit.

    Example (against the local emulator):

    >>> from cf_aig.emulator import Emulator
    >>> with Emulator() as emu:
    ...     emb = CloudflareAIGatewayEmbeddings(model="@cf/baai/bge-base-en-v1.5",
    ...                                         account_id="acc", api_token="tok",
    ...                                         base_url=emu.base_url)
    ...     vectors = emb.embed_documents(["hello", "world"])
    >>> len(vectors), len(vectors[0])
    (2, 768)
    """

    model_config = GatewaySettings.model_config  # the framework base must not override it

    model: str = Field(alias="model_name")
    """Embedding model, e.g. ``@cf/baai/bge-base-en-v1.5`` or ``openai/text-embedding-3-small``."""
    api: Literal["run", "openai"] | None = None
    """``run`` (``/ai/run/{model}``) or ``openai`` (``/ai/v1/embeddings``); by model if None."""
    batch_size: int | None = None
    """Texts per request; the model's limit (core profile) if None."""

    def model_post_init(self, context: Any, /) -> None:
        self._check_settings()

    @property
    def dimensions(self) -> int | None:
        """Vector size of :attr:`model`, if known."""
        return get_profile(self.model).embedding_dimensions

    def _args(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        opts = split_options(dict(kwargs)) if kwargs else None
        return {
            "api": self.api,
            "batch_size": self.batch_size,
            "options": opts,
        }

    def embed_documents(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
        """Embed ``texts`` (per-call gateway options may be passed as keywords)."""
        if not texts:
            return []
        try:
            return self.client.embed(self.model, texts, **self._args(kwargs)).vectors
        except cf_aig.CfAigError as exc:
            raise to_langchain_error(exc) from exc

    def embed_query(self, text: str, **kwargs: Any) -> list[float]:
        return self.embed_documents([text], **kwargs)[0]

    async def aembed_documents(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
        if not texts:
            return []
        try:
            result = await self.async_client.embed(self.model, texts, **self._args(kwargs))
        except cf_aig.CfAigError as exc:
            raise to_langchain_error(exc) from exc
        return result.vectors

    async def aembed_query(self, text: str, **kwargs: Any) -> list[float]:
        return (await self.aembed_documents([text], **kwargs))[0]


__all__ = ["CloudflareAIGatewayEmbeddings"]
