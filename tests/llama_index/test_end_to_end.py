"""A VectorStoreIndex query engine with our LLM and our embedding, over loopback."""

from __future__ import annotations

import json

import pytest
from li_token import TOKEN
from llama_index.core import Document, VectorStoreIndex

from cf_aig.emulator import Emulator
from llama_index_cf_aig import CloudflareAIGateway, CloudflareAIGatewayEmbedding

DOCS = [
    Document(text="The Eiffel tower is in Paris and is 330 metres tall."),
    Document(text="Mount Fuji is the highest mountain in Japan."),
    Document(text="The Colosseum is an amphitheatre in Rome."),
]


@pytest.mark.parametrize(
    ("api", "model"),
    [("chat_completions", "openai/gpt-5.5"), ("run", "@cf/moonshotai/kimi-k2.6")],
)
async def test_vector_index_query_engine(emu: Emulator, api: str, model: str) -> None:
    common = {"account_id": "acc", "api_token": TOKEN, "base_url": emu.base_url}
    llm = CloudflareAIGateway(model=model, api=api, **common)  # type: ignore[arg-type]
    emb = CloudflareAIGatewayEmbedding(model_name="@cf/baai/bge-small-en-v1.5", **common)
    index = VectorStoreIndex.from_documents(DOCS, embed_model=emb)
    engine = index.as_query_engine(llm=llm, similarity_top_k=2)

    response = engine.query("How tall is the Eiffel tower?")
    assert str(response).startswith("Here is an emulated answer")
    assert len(response.source_nodes) == 2
    prompt = _last_prompt(emu)
    assert "How tall is the Eiffel tower?" in prompt
    assert all(n.node.get_content() in prompt for n in response.source_nodes)

    aresponse = await index.as_query_engine(llm=llm).aquery("Where is the Colosseum?")
    assert str(aresponse).startswith("Here is an emulated answer")
    assert "Where is the Colosseum?" in _last_prompt(emu)

    streaming = index.as_query_engine(llm=llm, streaming=True).query("Tell me about Mount Fuji")
    text = "".join(streaming.response_gen)
    assert text.startswith("Here is an emulated answer")
    assert "Tell me about Mount Fuji" in _last_prompt(emu)

    paths = {r.path.rsplit("/accounts/acc/", 1)[1] for r in emu.requests}
    assert "ai/run/@cf/baai/bge-small-en-v1.5" in paths
    assert len(paths) == 2  # embeddings + the chat endpoint, nothing else


def _last_prompt(emu: Emulator) -> str:
    body = next(r.json for r in reversed(emu.requests) if "bge" not in r.path)
    return json.dumps((body.get("input") or body)["messages"])
