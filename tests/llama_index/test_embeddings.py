"""CloudflareAIGatewayEmbedding over the loopback emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from li_token import TOKEN

import cf_aig
from cf_aig.emulator import Emulator
from llama_index_cf_aig import CloudflareAIGatewayEmbedding

Factory = Callable[..., CloudflareAIGatewayEmbedding]


@pytest.fixture
def make_emb(emu: Emulator) -> Factory:
    def make(**kw: Any) -> CloudflareAIGatewayEmbedding:
        settings: dict[str, Any] = {
            "model_name": "@cf/baai/bge-small-en-v1.5",
            "account_id": "acc",
            "api_token": TOKEN,
            "base_url": emu.base_url,
            **kw,
        }
        return CloudflareAIGatewayEmbedding(**settings)

    return make


def test_query_text_and_batch(make_emb: Factory, emu: Emulator) -> None:
    emb = make_emb()
    q = emb.get_query_embedding("hello world")
    t = emb.get_text_embedding("hello world")
    batch = emb.get_text_embedding_batch(["hello world", "goodbye"])
    assert len(q) == 384 and q == t == batch[0] and batch[0] != batch[1]
    assert emu.requests[-1].path.endswith("/ai/run/@cf/baai/bge-small-en-v1.5")


async def test_async_query_text_and_batch(make_emb: Factory) -> None:
    emb = make_emb()
    q = await emb.aget_query_embedding("hello world")
    t = await emb.aget_text_embedding("hello world")
    batch = await emb.aget_text_embedding_batch(["hello world", "goodbye"])
    assert q == t == batch[0] and len(batch) == 2


def test_batch_size_is_the_model_limit(make_emb: Factory, emu: Emulator) -> None:
    emb = make_emb()
    assert emb.embed_batch_size == cf_aig.get_profile(emb.model_name).embedding_batch_size == 100
    vectors = emb.get_text_embedding_batch([f"text number {i}" for i in range(250)])
    assert len(vectors) == 250
    sizes = [len(r.json["text"]) for r in emu.requests]
    assert sizes == [100, 100, 50]


async def test_async_batches(make_emb: Factory, emu: Emulator) -> None:
    emb = make_emb(embed_batch_size=10)
    vectors = await emb.aget_text_embedding_batch([f"t{i}" for i in range(35)])
    assert len(vectors) == 35 and len(emu.requests) == 4
    assert vectors[34] == emb.get_text_embedding("t34")


def test_openai_embeddings_route(make_emb: Factory, emu: Emulator) -> None:
    emb = make_emb(model_name="openai/text-embedding-3-small")
    assert emb.embed_batch_size == 2048
    assert len(emb.get_query_embedding("hi")) == 1536
    assert emu.requests[-1].path.endswith("/ai/v1/embeddings")


def test_gateway_options_sent(make_emb: Factory, emu: Emulator) -> None:
    emb = make_emb(cache_ttl=600, gateway_metadata={"team": "search"}, gateway_id="default")
    emb.get_query_embedding("hi")
    headers = emu.requests[-1].headers
    assert headers["cf-aig-cache-ttl"] == "600"
    assert json.loads(headers["cf-aig-metadata"]) == {"team": "search"}
    assert headers["cf-aig-gateway-id"] == "default"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"kind": "status", "code": 3040, "retry_after": 0}, cf_aig.RateLimitError),
        ({"kind": "status", "code": 10000}, cf_aig.AuthenticationError),
        ({"kind": "malformed_json"}, cf_aig.ResponseDecodeError),
    ],
)
async def test_typed_errors(
    make_emb: Factory, emu: Emulator, fault: dict[str, Any], error: type[Exception]
) -> None:
    emb = make_emb(max_retries=0)
    emu.enqueue(fault)
    with pytest.raises(error) as info:
        emb.get_query_embedding("hi")
    assert info.value.log_id  # type: ignore[attr-defined]
    emu.enqueue(fault)
    with pytest.raises(error):
        await emb.aget_query_embedding("hi")


def test_retry_then_success(make_emb: Factory, emu: Emulator) -> None:
    emu.enqueue({"kind": "status", "code": 3040, "retry_after": 0})
    assert make_emb(max_retries=1).get_query_embedding("hi")
    assert len(emu.requests) == 2


def test_serialization_without_secret(make_emb: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    emb = make_emb(cache_ttl=600)
    data = emb.to_dict()
    assert TOKEN not in json.dumps(data, default=str) and TOKEN not in emb.to_json()
    assert TOKEN not in repr(emb)
    assert data["model_name"] == "@cf/baai/bge-small-en-v1.5"
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    clone = CloudflareAIGatewayEmbedding.from_dict(data)
    assert clone.to_dict() == data
    assert len(clone.get_query_embedding("x")) == 384


def test_config_from_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "env-acc")
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    monkeypatch.setenv("CLOUDFLARE_AI_GATEWAY_BASE_URL", emu.base_url)
    emb = CloudflareAIGatewayEmbedding(model_name="@cf/baai/bge-base-en-v1.5")
    assert len(emb.get_query_embedding("x")) == 768
    assert "/accounts/env-acc/" in emu.requests[-1].path


def test_missing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-nope")
    with pytest.raises(cf_aig.MissingCredentialsError):
        CloudflareAIGatewayEmbedding()
