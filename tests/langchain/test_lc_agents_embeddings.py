"""End to end: agent tool loops, LCEL streaming chains, and embeddings over the emulator."""

from __future__ import annotations

import pytest
from langchain.agents import create_agent
from langchain_core.exceptions import ModelRateLimitError
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from lc_helpers import creds

import cf_aig
from cf_aig.emulator import Emulator, Fault
from langchain_cf_aig import ChatCloudflareAIGateway, CloudflareAIGatewayEmbeddings

MODELS = [("openai/gpt-5.5", "chat_completions"), ("@cf/moonshotai/kimi-k2.6", "run")]


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


@pytest.mark.parametrize(("model", "api"), MODELS)
def test_create_agent_tool_loop_runs_to_completion(emu: Emulator, model: str, api: str) -> None:
    llm = ChatCloudflareAIGateway(model=model, api=api, **creds(emu))
    agent = create_agent(llm, tools=[multiply])
    result = agent.invoke({"messages": [("user", "Use multiply on 6 and 7")]})
    messages = result["messages"]
    tool_msgs = [m for m in messages if isinstance(m, ToolMessage)]
    assert tool_msgs and tool_msgs[0].content == "42"
    final = messages[-1]
    assert isinstance(final, AIMessage) and not final.tool_calls and "42" in final.text
    # the assistant tool turn went out with content "" and the tool result as a string
    sent = [r.json for r in emu.requests if r.method == "POST"][-1]["messages"]
    assistant = next(m for m in sent if m["role"] == "assistant")
    assert assistant["content"] == "" and assistant["tool_calls"]


@pytest.mark.parametrize(("model", "api"), MODELS)
async def test_create_agent_streams_async(emu: Emulator, model: str, api: str) -> None:
    llm = ChatCloudflareAIGateway(model=model, api=api, **creds(emu))
    agent = create_agent(llm, tools=[multiply])
    tokens: list[str] = []
    async for chunk, _meta in agent.astream(
        {"messages": [("user", "Use multiply on 3 and 5")]}, stream_mode="messages"
    ):
        if isinstance(chunk, AIMessage) and chunk.text:
            tokens.append(chunk.text)
    assert "15" in "".join(tokens)


@pytest.mark.parametrize(("model", "api"), MODELS)
def test_lcel_chain_streams_tokens(emu: Emulator, model: str, api: str) -> None:
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{q}")])
    chain = prompt | ChatCloudflareAIGateway(model=model, api=api, **creds(emu)) | StrOutputParser()
    pieces = list(chain.stream({"q": "Tell me about lighthouses"}))
    assert len(pieces) > 1
    assert "lighthouses" in "".join(pieces)
    assert chain.invoke({"q": "Tell me about lighthouses"}) == "".join(pieces)


async def test_lcel_chain_astream(emu: Emulator) -> None:
    chain = ChatCloudflareAIGateway(model="openai/gpt-5.5", **creds(emu)) | StrOutputParser()
    pieces = [p async for p in chain.astream("Tell me about harbours")]
    assert len(pieces) > 1 and "harbours" in "".join(pieces)


# ----------------------------------------------------------------- embeddings


@pytest.mark.parametrize(
    ("model", "path", "dim"),
    [
        ("@cf/baai/bge-base-en-v1.5", "/ai/run/@cf/baai/bge-base-en-v1.5", 768),
        ("openai/text-embedding-3-small", "/ai/v1/embeddings", 1536),
    ],
)
def test_embeddings_routes_and_batching(emu: Emulator, model: str, path: str, dim: int) -> None:
    emb = CloudflareAIGatewayEmbeddings(model=model, batch_size=2, **creds(emu))
    texts = [f"text {i}" for i in range(5)]
    vectors = emb.embed_documents(texts)
    assert len(vectors) == 5 and all(len(v) == dim for v in vectors)
    posts = [r for r in emu.requests if r.method == "POST"]
    assert len(posts) == 3 and all(r.path.endswith(path) for r in posts)
    assert emb.embed_query("text 3") == vectors[3]
    assert emb.output_dimensions == dim


def test_embeddings_default_batch_is_model_limit(emu: Emulator) -> None:
    emb = CloudflareAIGatewayEmbeddings(model="@cf/baai/bge-small-en-v1.5", **creds(emu))
    emb.embed_documents([f"t{i}" for i in range(150)])
    assert len([r for r in emu.requests if r.method == "POST"]) == 2  # limit 100


async def test_embeddings_async_and_gateway_options(emu: Emulator) -> None:
    emb = CloudflareAIGatewayEmbeddings(
        model="@cf/baai/bge-m3", batch_size=1, cache_ttl=300, **creds(emu)
    )
    vectors = await emb.aembed_documents(["a", "b", "c"], skip_cache=True)
    assert len(vectors) == 3
    assert await emb.aembed_query("b") == vectors[1]
    h = next(r for r in emu.requests if r.method == "POST").headers
    assert h["cf-aig-cache-ttl"] == "300" and h["cf-aig-skip-cache"] == "true"


@pytest.mark.parametrize("use_async", [False, True])
async def test_embeddings_errors_are_mapped(emu: Emulator, use_async: bool) -> None:
    emb = CloudflareAIGatewayEmbeddings(model="@cf/baai/bge-m3", max_retries=0, **creds(emu))
    emu.enqueue(Fault(kind="status", code=3040))
    with pytest.raises(ModelRateLimitError) as info:
        if use_async:
            await emb.aembed_documents(["x"])
        else:
            emb.embed_documents(["x"])
    assert isinstance(info.value, cf_aig.RateLimitError)


def test_embeddings_empty_input_sends_nothing(emu: Emulator) -> None:
    emb = CloudflareAIGatewayEmbeddings(model="@cf/baai/bge-m3", **creds(emu))
    assert emb.embed_documents([]) == []
    assert emu.requests == []
