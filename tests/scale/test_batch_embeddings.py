"""``batch_api=True`` on both embeddings classes: bulk embedding goes through the Workers
AI Batch API (same vectors as direct calls), queries stay direct, and what the Batch API
cannot carry is refused at construction."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cf_aig.emulator import Emulator
from langchain_cf_aig import CloudflareAIGatewayEmbeddings
from llama_index_cf_aig import CloudflareAIGatewayEmbedding

MODEL = "@cf/baai/bge-small-en-v1.5"
TEXTS = [f"passage {i} on subject {i % 7}" for i in range(250)]
QUICK = {"x-cf-aig-emulator-batch": json.dumps({"queued_polls": 0, "running_polls": 0})}


def settings(emu: Emulator, **extra: Any) -> dict[str, Any]:
    return {"account_id": "acc", "api_token": "tok", "base_url": emu.base_url,
            "default_headers": QUICK, **extra}


def batch_requests(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if "queueRequest=true" in r.query]


def test_langchain_embed_documents_via_batch(cf_aig_emulator: Emulator) -> None:
    direct = CloudflareAIGatewayEmbeddings(model=MODEL, **settings(cf_aig_emulator))
    batched = CloudflareAIGatewayEmbeddings(model=MODEL, batch_api=True, batch_timeout=60,
                                            **settings(cf_aig_emulator))
    expected = direct.embed_documents(TEXTS)
    cf_aig_emulator.reset()
    assert batched.embed_documents(TEXTS) == expected
    subs = [r for r in batch_requests(cf_aig_emulator) if "requests" in r.json]
    assert len(subs) == 1 and [len(x["text"]) for x in subs[0].json["requests"]] == [
        100, 100, 50]
    cf_aig_emulator.reset()
    assert batched.embed_query(TEXTS[0]) == expected[0]
    assert batch_requests(cf_aig_emulator) == []  # a query is a direct call


async def test_langchain_async_embed_documents_via_batch(cf_aig_emulator: Emulator) -> None:
    batched = CloudflareAIGatewayEmbeddings(model=MODEL, batch_api=True,
                                            **settings(cf_aig_emulator))
    vectors = await batched.aembed_documents(TEXTS[:30])
    assert len(vectors) == 30 and len(vectors[0]) == 384
    assert batch_requests(cf_aig_emulator)


def test_llama_index_text_batches_via_batch(cf_aig_emulator: Emulator) -> None:
    direct = CloudflareAIGatewayEmbedding(model_name=MODEL, **settings(cf_aig_emulator))
    batched = CloudflareAIGatewayEmbedding(model_name=MODEL, batch_api=True,
                                           **settings(cf_aig_emulator))
    assert batched.embed_batch_size == 2048
    expected = direct.get_text_embedding_batch(TEXTS)
    cf_aig_emulator.reset()
    assert batched.get_text_embedding_batch(TEXTS) == expected
    assert len([r for r in batch_requests(cf_aig_emulator) if "requests" in r.json]) == 1


async def test_llama_index_async_via_batch(cf_aig_emulator: Emulator) -> None:
    batched = CloudflareAIGatewayEmbedding(model_name=MODEL, batch_api=True,
                                           **settings(cf_aig_emulator))
    vectors = await batched.aget_text_embedding_batch(TEXTS[:10])
    assert len(vectors) == 10
    assert batch_requests(cf_aig_emulator)


def test_a_failed_item_is_raised_not_dropped(cf_aig_emulator: Emulator) -> None:
    headers = {"x-cf-aig-emulator-batch": json.dumps(
        {"queued_polls": 0, "running_polls": 0, "fail": [1]})}
    batched = CloudflareAIGatewayEmbeddings(
        model=MODEL, batch_api=True, **{**settings(cf_aig_emulator), "default_headers": headers})
    with pytest.raises(Exception, match="batch input 1"):
        batched.embed_documents(TEXTS[:150])


@pytest.mark.parametrize(("extra", "match"), [
    ({"model": "openai/text-embedding-3-small"}, "Workers AI"),
    ({"model": MODEL, "api": "openai"}, "api='openai'"),
    ({"model": MODEL, "encoding_format": "base64"}, "encoding_format"),
])
def test_what_the_batch_api_cannot_carry_is_refused(cf_aig_emulator: Emulator,
                                                    extra: dict[str, Any], match: str) -> None:
    with pytest.raises(Exception, match=match):
        CloudflareAIGatewayEmbeddings(batch_api=True, **extra, **settings(cf_aig_emulator))
    li_extra = {("model_name" if k == "model" else k): v for k, v in extra.items()}
    with pytest.raises(Exception, match=match):
        CloudflareAIGatewayEmbedding(batch_api=True, **li_extra, **settings(cf_aig_emulator))
    assert cf_aig_emulator.requests == []
