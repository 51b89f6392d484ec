"""Embeddings in both adapters: ``dimensions`` sent where the model can shorten vectors,
refused before sending elsewhere; ``encoding_format``; unknown arguments refused."""

from __future__ import annotations

import asyncio
import base64
import struct

import pytest

from cf_aig import ConfigurationError, ResponseDecodeError
from cf_aig.embeddings import check_sizes, decode_vector
from cf_aig.emulator import Emulator
from cf_aig.testing import EMULATOR_TOKEN
from langchain_cf_aig import CloudflareAIGatewayEmbeddings
from llama_index_cf_aig import CloudflareAIGatewayEmbedding

SMALL = "openai/text-embedding-3-small"
BGE = "@cf/baai/bge-base-en-v1.5"


def _creds(emu: Emulator) -> dict[str, str]:
    return {"account_id": emu.account_id, "api_token": EMULATOR_TOKEN,
            "base_url": emu.base_url}


def _posts(emu: Emulator) -> list[dict[str, object]]:
    return [r.json for r in emu.requests if r.method == "POST"]


@pytest.mark.parametrize("encoding", [None, "float", "base64"])
def test_langchain_sends_dimensions_and_gets_vectors_of_that_size(
        cf_aig_emulator: Emulator, encoding: str | None) -> None:
    emb = CloudflareAIGatewayEmbeddings(model=SMALL, dimensions=256, encoding_format=encoding,
                                        **_creds(cf_aig_emulator))
    docs = emb.embed_documents(["alpha beta", "gamma"])
    query = asyncio.run(emb.aembed_query("alpha beta"))
    assert [len(v) for v in docs] == [256, 256] and len(query) == 256
    assert query == pytest.approx(docs[0], abs=1e-6)
    for body in _posts(cf_aig_emulator):
        assert body["dimensions"] == 256
        assert body.get("encoding_format") == encoding
    assert emb.output_dimensions == 256


@pytest.mark.parametrize("encoding", [None, "base64"])
def test_llamaindex_sends_dimensions_and_gets_vectors_of_that_size(
        cf_aig_emulator: Emulator, encoding: str | None) -> None:
    emb = CloudflareAIGatewayEmbedding(model_name=SMALL, dimensions=64, encoding_format=encoding,
                                       **_creds(cf_aig_emulator))
    vectors = emb.get_text_embedding_batch(["alpha", "beta"])
    query = asyncio.run(emb.aget_query_embedding("alpha"))
    assert [len(v) for v in vectors] == [64, 64] and len(query) == 64
    assert all(body["dimensions"] == 64 for body in _posts(cf_aig_emulator))


def test_a_model_with_a_fixed_size_is_refused_before_sending(cf_aig_emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="always returns 768-dimensional"):
        CloudflareAIGatewayEmbeddings(model=BGE, dimensions=256, **_creds(cf_aig_emulator))
    with pytest.raises(ConfigurationError, match="always returns 768-dimensional"):
        CloudflareAIGatewayEmbedding(model_name=BGE, dimensions=256, **_creds(cf_aig_emulator))
    emb = CloudflareAIGatewayEmbeddings(model=BGE, **_creds(cf_aig_emulator))
    with pytest.raises(ConfigurationError, match="dimensions=256"):
        emb.embed_documents(["x"], dimensions=256)
    assert _posts(cf_aig_emulator) == []
    # its own size is fine, and is not sent (the native input has no such field)
    same = CloudflareAIGatewayEmbeddings(model=BGE, dimensions=768, **_creds(cf_aig_emulator))
    assert len(same.embed_query("x")) == 768
    assert _posts(cf_aig_emulator) == [{"text": ["x"]}]


def test_encoding_format_is_refused_on_workers_ai_native_input(cf_aig_emulator: Emulator) -> None:
    with pytest.raises(ConfigurationError, match=r"encoding_format='base64'.*api='openai'"):
        CloudflareAIGatewayEmbedding(model_name=BGE, encoding_format="base64",
                                     **_creds(cf_aig_emulator))


def test_unknown_keyword_arguments_are_refused(cf_aig_emulator: Emulator) -> None:
    lc = CloudflareAIGatewayEmbeddings(model=SMALL, **_creds(cf_aig_emulator))
    with pytest.raises(ConfigurationError, match="dimension'"):
        lc.embed_documents(["x"], dimension=256)
    with pytest.raises(ConfigurationError, match="timeout"):
        asyncio.run(lc.aembed_documents(["x"], timeout=3))
    with pytest.raises(ValueError, match="dimension"):
        CloudflareAIGatewayEmbeddings(model=SMALL, dimension=256, **_creds(cf_aig_emulator))
    with pytest.raises(ConfigurationError, match="dimension'"):
        CloudflareAIGatewayEmbedding(model_name=SMALL, dimension=256, **_creds(cf_aig_emulator))
    li = CloudflareAIGatewayEmbedding(model_name=SMALL, **_creds(cf_aig_emulator))
    with pytest.raises(ConfigurationError, match="dimensions"):
        li.get_text_embedding_batch(["x"], dimensions=256)
    assert _posts(cf_aig_emulator) == []
    # known per-call names still work (a gateway option here)
    lc.embed_documents(["x"], cache_ttl=60)
    assert cf_aig_emulator.requests[-1].headers["cf-aig-cache-ttl"] == "60"


def test_a_vector_of_the_wrong_size_is_an_error_never_passed_on() -> None:
    with pytest.raises(ResponseDecodeError, match=r"asked .* for 256-dimensional vectors, got 1536"):
        check_sizes(SMALL, [[0.1] * 256, [0.1] * 1536], 256)
    check_sizes(SMALL, [[0.1] * 256], 256)
    assert decode_vector(base64.b64encode(struct.pack("<2f", 0.5, -1.0)).decode()) == [0.5, -1.0]
