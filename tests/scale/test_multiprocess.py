"""Every public class pickles before and after use; a forked child gets its own pool while
the parent keeps working; a spawn pool maps the LangChain embeddings; LlamaIndex's
``IngestionPipeline.run(num_workers=2)`` runs our embedding; every error class
round-trips through pickle. The emulator runs in its own process (``emulator_url``)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
from collections.abc import Callable
from typing import Any

import pytest

import cf_aig.errors as errors_module
from cf_aig.client import AsyncClient, Client
from langchain_cf_aig import ChatCloudflareAIGateway, CloudflareAIGatewayEmbeddings
from llama_index_cf_aig import CloudflareAIGateway, CloudflareAIGatewayEmbedding

from .conftest import ACCOUNT

EMBED = "@cf/baai/bge-small-en-v1.5"
CHAT = "openai/gpt-5.5"


CARRIED_TOKEN = "cfat_CARRIED_IN_PICKLES_0000"
"""The token these objects carry when they are pickled (distinct from ``TOKEN``, which
Ray actors read from their environment and which must appear in no Ray log)."""


def creds(url: str) -> dict[str, Any]:
    return {"account_id": ACCOUNT, "api_token": CARRIED_TOKEN, "base_url": url}


def _client(url: str) -> Any:
    return Client(**creds(url))


def _use_client(o: Any) -> Any:
    return o.embed(EMBED, ["hello"]).vectors[0]


def _async_client(url: str) -> Any:
    return AsyncClient(**creds(url))


def _use_async_client(o: Any) -> Any:
    return asyncio.run(o.embed(EMBED, ["hello"])).vectors[0]


def _lc_chat(url: str) -> Any:
    return ChatCloudflareAIGateway(model=CHAT, **creds(url))


def _use_lc_chat(o: Any) -> Any:
    return o.invoke("hello").content


def _lc_embeddings(url: str) -> Any:
    return CloudflareAIGatewayEmbeddings(model=EMBED, **creds(url))


def _use_lc_embeddings(o: Any) -> Any:
    return o.embed_query("hello")


def _li_llm(url: str) -> Any:
    return CloudflareAIGateway(model=CHAT, **creds(url))


def _use_li_llm(o: Any) -> Any:
    return o.complete("hello").text


def _li_embedding(url: str) -> Any:
    return CloudflareAIGatewayEmbedding(model_name=EMBED, **creds(url))


def _use_li_embedding(o: Any) -> Any:
    return o.get_query_embedding("hello")


CLASSES: dict[str, tuple[Callable[[str], Any], Callable[[Any], Any]]] = {
    "Client": (_client, _use_client),
    "AsyncClient": (_async_client, _use_async_client),
    "ChatCloudflareAIGateway": (_lc_chat, _use_lc_chat),
    "CloudflareAIGatewayEmbeddings": (_lc_embeddings, _use_lc_embeddings),
    "CloudflareAIGateway": (_li_llm, _use_li_llm),
    "CloudflareAIGatewayEmbedding": (_li_embedding, _use_li_embedding),
}


@pytest.mark.parametrize("name", list(CLASSES))
def test_pickles_before_and_after_use(name: str, emulator_url: str) -> None:
    make, use = CLASSES[name]
    obj = make(emulator_url)
    fresh = pickle.loads(pickle.dumps(obj))
    expected = use(obj)
    data = pickle.dumps(obj)  # after use: pools, locks and loops are not carried
    assert b"_thread" not in data and b"LeanTransport" not in data and b"socket" not in data
    copy = pickle.loads(data)
    assert use(copy) == expected
    assert use(fresh) == expected
    assert use(obj) == expected  # the original keeps working


def test_a_client_given_its_own_http_client_refuses_to_pickle() -> None:
    import httpx

    with httpx.Client() as http:
        client = Client(account_id="a", api_token="t", http_client=http)
        with pytest.raises(TypeError, match="http_client"):
            pickle.dumps(client)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
@pytest.mark.parametrize("name", list(CLASSES))
def test_fork_child_gets_its_own_pool_and_parent_keeps_working(name: str,
                                                               emulator_url: str) -> None:
    make, use = CLASSES[name]
    obj = make(emulator_url)
    expected = use(obj)
    core = obj if isinstance(obj, (Client, AsyncClient)) else obj.client
    parent_pool = core._http if isinstance(core, Client) else None
    pid = os.fork()
    if pid == 0:  # the child: same object, new process
        code = 1
        try:
            ok = use(obj) == expected
            if isinstance(core, Client):
                ok = ok and core._http is not parent_pool and core._pid == os.getpid()
            code = 0 if ok else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert use(obj) == expected  # the parent keeps working
    if parent_pool is not None:
        assert core._http is parent_pool  # ... on its own pool


def _embed_chunk(args: tuple[Any, list[str]]) -> tuple[int, list[list[float]]]:
    embeddings, texts = args
    return os.getpid(), embeddings.embed_documents(texts)


def test_spawn_pool_maps_langchain_embeddings(emulator_url: str) -> None:
    emb = CloudflareAIGatewayEmbeddings(model=EMBED, **creds(emulator_url))
    texts = [f"chunk {i} of the corpus, about {i % 11}" for i in range(600)]
    expected = emb.embed_documents(texts)  # used before it is shipped
    chunks = [texts[i:i + 150] for i in range(0, len(texts), 150)]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.map(_embed_chunk, [(emb, c) for c in chunks])
    assert [v for _, vs in results for v in vs] == expected
    assert os.getpid() not in {pid for pid, _ in results}


def _ingest(transformation: Any, n: int) -> list[Any]:
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.schema import TextNode

    nodes = [TextNode(text=f"node {i} about subject {i % 5}", id_=f"n{i}") for i in range(n)]
    pipeline = IngestionPipeline(transformations=[transformation], disable_cache=True)
    return list(pipeline.run(nodes=nodes, num_workers=2))


def test_llama_index_ingestion_pipeline_with_two_workers(emulator_url: str) -> None:
    from llama_index.core.embeddings import MockEmbedding

    mock = _ingest(MockEmbedding(embed_dim=8), 40)  # the framework's own pool works here
    assert len(mock) == 40 and all(len(n.embedding) == 8 for n in mock)
    emb = CloudflareAIGatewayEmbedding(model_name=EMBED, **creds(emulator_url))
    emb.get_query_embedding("used before it is pickled")
    out = _ingest(emb, 300)
    assert len(out) == 300
    by_id = {n.id_: n.embedding for n in out}
    direct = emb.get_text_embedding_batch([f"node {i} about subject {i % 5}"
                                           for i in range(300)])
    assert [by_id[f"n{i}"] for i in range(300)] == direct


def _error_classes() -> list[type[BaseException]]:
    out = []
    for value in vars(errors_module).values():
        if isinstance(value, type) and issubclass(
                value, (errors_module.CfAigError, errors_module.ConfigurationError)):
            out.append(value)
    return out


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_every_error_class_round_trips_through_pickle(cls: type[BaseException]) -> None:
    err = cls.__new__(cls, "the message")
    err.__dict__.update(message="the message", status=429, code=3040, log_id="01J-log",
                        retry_after=1.5, body={"errors": [{"code": 3040}]})
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is cls
    assert (copy.message, copy.status, copy.code, copy.log_id) == (  # type: ignore[attr-defined]
        "the message", 429, 3040, "01J-log")
    assert str(copy) == str(err)


def test_errors_raised_by_a_real_call_round_trip(emulator_url: str) -> None:
    with Client(**creds(emulator_url), max_retries=0) as client, \
            pytest.raises(errors_module.NotFoundError) as info:
        client.chat({"model": "nobody/none", "messages": [{"role": "user", "content": "x"}]})
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.status, copy.code, copy.message, copy.log_id) == (
        info.value.status, info.value.code, info.value.message, info.value.log_id)
    assert copy.log_id


def test_ingestion_with_a_splitter_needs_the_tokenizer_cache_in_the_environment(
        emulator_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """LlamaIndex's spawn pool re-loads the splitter's tiktoken encoding in each worker;
    llama-index only sets TIKTOKEN_CACHE_DIR while it loads it in the parent, so a worker
    on a machine without internet access tries to download it and dies, and the pool
    waits forever (whatever the embedding). With the bundled cache in the environment
    the whole pipeline runs in the workers."""
    from pathlib import Path

    import llama_index.core
    from llama_index.core import Document
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter

    cache = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    emb = CloudflareAIGatewayEmbedding(model_name=EMBED, **creds(emulator_url))
    docs = [Document(text=f"Document {i}. " + "Some words about gateways. " * 40)
            for i in range(12)]
    pipeline = IngestionPipeline(
        transformations=[SentenceSplitter(chunk_size=128, chunk_overlap=16), emb],
        disable_cache=True)
    nodes = pipeline.run(documents=docs, num_workers=2)
    assert len(nodes) > len(docs)
    assert all(n.embedding is not None and len(n.embedding) == 384 for n in nodes)


def _use_by_name(args: tuple[str, Any]) -> tuple[int, Any]:
    name, obj = args
    return os.getpid(), CLASSES[name][1](obj)


def test_every_class_used_in_a_spawned_worker(emulator_url: str) -> None:
    """Each public class, used here first, is pickled into a spawn pool and works there."""
    objs = {name: make(emulator_url) for name, (make, _) in CLASSES.items()}
    expected = {name: CLASSES[name][1](obj) for name, obj in objs.items()}
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.map(_use_by_name, list(objs.items()))
    assert {name: got for name, (_, got) in zip(objs, results, strict=True)} == expected
    assert os.getpid() not in {pid for pid, _ in results}
