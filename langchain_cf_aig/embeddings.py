"""``CloudflareAIGatewayEmbeddings``: LangChain embeddings over Cloudflare AI Gateway."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from langchain_core.embeddings import Embeddings
from pydantic import Field, SecretStr

import cf_aig
from cf_aig.batch import aembed_with_batch_api, check_batch_embedding, embed_with_batch_api
from cf_aig.embeddings import (
    EmbeddingApi,
    check_embedding_args,
    check_embedding_credentials,
    embedding_api,
    pop_embedding_call_args,
)
from cf_aig.errors import ConfigurationError
from cf_aig.profiles import get_profile

from ._settings import GatewaySettings
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

    if TYPE_CHECKING:  # the signature type checkers see (with or without pydantic's plugin)

        def __init__(
            self,
            *,
            model: str = ...,
            model_name: str = ...,
            account_id: str | None = ...,
            api_token: str | SecretStr | None = ...,
            api_key: str | SecretStr | None = ...,
            base_url: str | None = ...,
            gateway_id: str | None = ...,
            **kwargs: Any,  # every other field and gateway option, validated at run time
        ) -> None: ...

    model: str = Field(alias="model_name")
    """Embedding model, e.g. ``@cf/baai/bge-base-en-v1.5`` or ``openai/text-embedding-3-small``."""
    api: EmbeddingApi | None = None
    """``run`` (``/ai/run/{model}``) or ``openai`` (``/ai/v1/embeddings``); by model if None."""
    batch_size: int | None = None
    """Texts per request; the model's limit (core profile) if None."""
    dimensions: int | None = None
    """Vector size to ask for (OpenAI ``text-embedding-3-*`` only; any other model must be
    left at None or its own size: a typed error before sending otherwise)."""
    encoding_format: Literal["float", "base64"] | None = None
    """Wire encoding on ``/ai/v1/embeddings`` (``base64`` is smaller; vectors are floats
    either way)."""
    batch_api: bool = False
    """Send ``embed_documents`` through the Workers AI async Batch API (``@cf`` models):
    eventual completion instead of capacity errors; queries stay direct calls."""
    batch_timeout: float | None = Field(default=None, gt=0)
    """Seconds to wait for a batch before ``BatchTimeoutError`` (None: no deadline)."""

    def model_post_init(self, context: Any, /) -> None:
        self._check_settings()
        try:
            check_embedding_args(self.model, self._api(), self.dimensions, self.encoding_format)
            check_embedding_credentials(self.provider_api_key)
            if self.batch_api:
                check_batch_embedding(self.model, self.api, self.dimensions,
                                      self.encoding_format)
        except cf_aig.CfAigError as exc:
            raise to_langchain_error(exc) from None

    @property
    def output_dimensions(self) -> int | None:
        """Length of the vectors this instance returns, if known."""
        return self.dimensions or get_profile(self.model).embedding_dimensions

    def _api(self) -> str:
        return embedding_api(self.model, self.api)

    def _args(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        args: dict[str, Any] = {"api": self.api, "batch_size": self.batch_size,
                                "dimensions": self.dimensions,
                                "encoding_format": self.encoding_format}
        if kwargs:
            try:
                args.update(pop_embedding_call_args(kwargs))
            except cf_aig.CfAigError as exc:
                raise to_langchain_error(exc) from None
        return args

    def _batch_args(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        if kwargs:
            raise to_langchain_error(ConfigurationError(
                f"per-call arguments {sorted(kwargs)} cannot be carried with batch_api=True; "
                "set them on the instance or use batch_api=False"))
        return {"batch_size": self.batch_size, "timeout": self.batch_timeout}

    def embed_documents(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
        """Embed ``texts`` (per-call gateway options may be passed as keywords)."""
        if not texts:
            return []
        try:
            if self.batch_api and len(texts) > 1:  # one text: a direct call
                return embed_with_batch_api(self.client, self.model, texts,
                                            **self._batch_args(kwargs))
            return self.client.embed(self.model, texts, **self._args(kwargs)).vectors
        except cf_aig.CfAigError as exc:
            raise to_langchain_error(exc) from exc

    def embed_query(self, text: str, **kwargs: Any) -> list[float]:
        return self.embed_documents([text], **kwargs)[0]

    async def aembed_documents(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
        if not texts:
            return []
        try:
            if self.batch_api and len(texts) > 1:
                return await aembed_with_batch_api(self.async_client, self.model, texts,
                                                   **self._batch_args(kwargs))
            result = await self.async_client.embed(self.model, texts, **self._args(kwargs))
        except cf_aig.CfAigError as exc:
            raise to_langchain_error(exc) from exc
        return result.vectors

    async def aembed_query(self, text: str, **kwargs: Any) -> list[float]:
        return (await self.aembed_documents([text], **kwargs))[0]


__all__ = ["CloudflareAIGatewayEmbeddings"]
