"""Benchmark candidates: floors, framework-only baselines, our classes, and peers.

Each candidate is a class registered in :data:`CANDIDATES` with ``setup(server_url)``
(imports lazily; raises :class:`Skip` with a note when a package is missing) and any of:

- ``invoke()``: one sequential sync call;            ``stream()``: one sync stream -> chunks
- ``ainvoke()``: one async call;                     ``astream()``: one async stream -> chunks
- ``embed(texts)`` / ``aembed(texts)``: vectors for ``texts``
- ``close()`` / ``aclose()``

Every HTTP candidate sends the same request: one user message to ``openai/gpt-5.5`` (or
the peer's equivalent), with an ``authorization`` header, to the bench server.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

ACCOUNT = "acc"
TOKEN = "tok"
MODEL = "openai/gpt-5.5"
EMBED_MODEL = "@cf/baai/bge-base-en-v1.5"
EMBED_BATCH = 100  # the core profile's Workers AI batch size (checked in run.py)
EMBED_CONCURRENCY = 8  # cf_aig.AsyncClient default max_concurrency
CHUNKS = 200  # server default: content chunks per stream (plus finish + usage)
PAYLOAD = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
STREAM_PAYLOAD = {**PAYLOAD, "stream": True, "stream_options": {"include_usage": True}}
HEADERS = {"authorization": f"Bearer {TOKEN}"}


class Skip(Exception):
    """The candidate cannot run here; the message says why."""


def _need(module: str, pip: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise Skip(f"not installed (pip install {pip}): {exc}") from exc


class Candidate:
    name = "?"
    group = "?"  # floor | framework | ours | peer
    note = ""

    def setup(self, url: str) -> None:
        self.url = url
        self.base = f"{url}/client/v4"
        self.chat_url = f"{url}/client/v4/accounts/{ACCOUNT}/ai/v1/chat/completions"
        self.embed_url = f"{url}/client/v4/accounts/{ACCOUNT}/ai/run/{EMBED_MODEL}"

    def has(self, metric: str) -> bool:
        return callable(getattr(self, metric, None))

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


# ---------------------------------------------------------------- floors: raw HTTP


def _parse_sse_lines(lines: Any) -> int:
    n = 0
    for line in lines:
        if line.startswith("data: ") and line != "data: [DONE]":
            json.loads(line[6:])
            n += 1
    return n


class RawHttpx(Candidate):
    """Raw httpx: ``post(json=...).json()``; streams via ``iter_lines`` + ``json.loads``."""

    name = "raw httpx"
    group = "floor"

    def __init__(self, keepalive: str = "on") -> None:
        self.keepalive = keepalive
        if keepalive == "off":  # burst floor of the issue; sequential metrics use "on"
            self.name = "raw httpx (keep-alive off)"
            self.invoke = self.stream = self.embed = self.aembed = None  # type: ignore[assignment]

    def setup(self, url: str) -> None:
        super().setup(url)
        import httpx

        if self.keepalive == "off":
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        else:  # what cf_aig uses (DEFAULT_LIMITS)
            limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        self.client = httpx.Client(limits=limits, headers=HEADERS)
        self.aclient = httpx.AsyncClient(limits=limits, headers=HEADERS, timeout=120)

    def invoke(self) -> Any:
        return self.client.post(self.chat_url, json=PAYLOAD).json()

    def stream(self) -> int:
        with self.client.stream("POST", self.chat_url, json=STREAM_PAYLOAD) as r:
            return _parse_sse_lines(r.iter_lines())

    async def ainvoke(self) -> Any:
        return (await self.aclient.post(self.chat_url, json=PAYLOAD)).json()

    async def astream(self) -> int:
        n = 0
        async with self.aclient.stream("POST", self.chat_url, json=STREAM_PAYLOAD) as r:
            async for line in r.aiter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    json.loads(line[6:])
                    n += 1
        return n

    def embed(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), EMBED_BATCH):
            r = self.client.post(self.embed_url, json={"text": texts[i : i + EMBED_BATCH]})
            out.extend(r.json()["result"]["data"])
        return out

    async def aembed(self, texts: list[str]) -> list[list[float]]:
        import httpx

        gate = asyncio.Semaphore(EMBED_CONCURRENCY)
        # A fresh client: the shared one has 100 idle connections after the bursts, and
        # httpcore's per-event O(idle) scans would make this floor slower than it is.
        aclient = httpx.AsyncClient(headers=HEADERS, timeout=120)

        async def one(batch: list[str]) -> Any:
            async with gate:
                r = await aclient.post(self.embed_url, json={"text": batch})
                return r.json()["result"]["data"]

        async with aclient:
            parts = await asyncio.gather(
                *(one(texts[i : i + EMBED_BATCH]) for i in range(0, len(texts), EMBED_BATCH))
            )
        return [v for p in parts for v in p]

    def close(self) -> None:
        self.client.close()

    async def aclose(self) -> None:
        await self.aclient.aclose()


class RawAiohttp(Candidate):
    """Raw aiohttp (async only): one ``ClientSession`` (default pool: limit 100)."""

    name = "raw aiohttp"
    group = "floor"

    def setup(self, url: str) -> None:
        super().setup(url)
        _need("aiohttp", "aiohttp")
        self.session: Any = None

    def _session(self) -> Any:
        if self.session is None:
            import aiohttp

            self.session = aiohttp.ClientSession(headers=HEADERS)
        return self.session

    async def ainvoke(self) -> Any:
        async with self._session().post(self.chat_url, json=PAYLOAD) as r:
            return await r.json()

    async def astream(self) -> int:
        n = 0
        async with self._session().post(self.chat_url, json=STREAM_PAYLOAD) as r:
            async for raw in r.content:
                if raw.startswith(b"data: ") and not raw.startswith(b"data: [DONE]"):
                    json.loads(raw[6:])
                    n += 1
        return n

    async def aembed(self, texts: list[str]) -> list[list[float]]:
        gate = asyncio.Semaphore(EMBED_CONCURRENCY)

        async def one(batch: list[str]) -> Any:
            async with gate, self._session().post(self.embed_url, json={"text": batch}) as r:
                return (await r.json())["result"]["data"]

        parts = await asyncio.gather(
            *(one(texts[i : i + EMBED_BATCH]) for i in range(0, len(texts), EMBED_BATCH))
        )
        return [v for p in parts for v in p]

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()


# ---------------------------------------------------------------- frameworks alone (no HTTP)


class LangChainCore(Candidate):
    """A trivial ``BaseChatModel`` returning a fixed message / streaming fixed chunks."""

    name = "langchain-core alone"
    group = "framework"

    def setup(self, url: str) -> None:
        super().setup(url)
        from langchain_core.language_models import BaseChatModel
        from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
        from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

        class Fixed(BaseChatModel):
            @property
            def _llm_type(self) -> str:
                return "fixed"

            def _generate(self, messages, stop=None, run_manager=None, **kw):  # type: ignore[no-untyped-def]
                msg = AIMessage(
                    "Hello! How can I help you today?",
                    usage_metadata={"input_tokens": 9, "output_tokens": 9, "total_tokens": 18},
                )
                return ChatResult(generations=[ChatGeneration(message=msg)])

            async def _agenerate(self, messages, stop=None, run_manager=None, **kw):  # type: ignore[no-untyped-def]
                return self._generate(messages)

            def _stream(self, messages, stop=None, run_manager=None, **kw):  # type: ignore[no-untyped-def]
                for i in range(CHUNKS):
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=f"tok{i % 10} "))
                    if run_manager:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk

            async def _astream(self, messages, stop=None, run_manager=None, **kw):  # type: ignore[no-untyped-def]
                for i in range(CHUNKS):
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=f"tok{i % 10} "))
                    if run_manager:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk

        self.model = Fixed()
        self.messages = [HumanMessage("hi")]

    def invoke(self) -> Any:
        return self.model.invoke(self.messages)

    def stream(self) -> int:
        return sum(1 for _ in self.model.stream(self.messages))

    async def ainvoke(self) -> Any:
        return await self.model.ainvoke(self.messages)

    async def astream(self) -> int:
        n = 0
        async for _ in self.model.astream(self.messages):
            n += 1
        return n


class LlamaIndexCore(Candidate):
    """A ``CustomLLM`` whose chat methods (with ``@llm_chat_callback``) return fixed answers.

    Overriding chat/stream_chat directly is the cheapest path through llama-index-core
    (CustomLLM's default chat goes through complete() and a second callback layer), so
    this floor is strict.
    """

    name = "llama-index-core alone"
    group = "framework"

    def setup(self, url: str) -> None:
        super().setup(url)
        from llama_index.core.base.llms.types import (
            ChatMessage,
            ChatResponse,
            CompletionResponse,
            LLMMetadata,
        )
        from llama_index.core.llms import CustomLLM
        from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback

        def answer(text: str, delta: str | None = None) -> ChatResponse:
            return ChatResponse(message=ChatMessage(role="assistant", content=text), delta=delta)

        class Fixed(CustomLLM):
            @property
            def metadata(self) -> LLMMetadata:
                return LLMMetadata(is_chat_model=True)

            @llm_completion_callback()
            def complete(self, prompt, formatted=False, **kw):  # type: ignore[no-untyped-def]
                return CompletionResponse(text="Hello! How can I help you today?")

            @llm_completion_callback()
            def stream_complete(self, prompt, formatted=False, **kw):  # type: ignore[no-untyped-def]
                yield CompletionResponse(text="Hello!")

            @llm_chat_callback()
            def chat(self, messages, **kw):  # type: ignore[no-untyped-def]
                return answer("Hello! How can I help you today?")

            @llm_chat_callback()
            async def achat(self, messages, **kw):  # type: ignore[no-untyped-def]
                return answer("Hello! How can I help you today?")

            @llm_chat_callback()
            def stream_chat(self, messages, **kw):  # type: ignore[no-untyped-def]
                def gen():  # type: ignore[no-untyped-def]
                    text = ""
                    for i in range(CHUNKS):
                        d = f"tok{i % 10} "
                        text += d
                        yield answer(text, d)

                return gen()

            @llm_chat_callback()
            async def astream_chat(self, messages, **kw):  # type: ignore[no-untyped-def]
                async def gen():  # type: ignore[no-untyped-def]
                    text = ""
                    for i in range(CHUNKS):
                        d = f"tok{i % 10} "
                        text += d
                        yield answer(text, d)

                return gen()

        self.llm = Fixed()
        self.messages = [ChatMessage(role="user", content="hi")]

    def invoke(self) -> Any:
        return self.llm.chat(self.messages)

    def stream(self) -> int:
        return sum(1 for _ in self.llm.stream_chat(self.messages))

    async def ainvoke(self) -> Any:
        return await self.llm.achat(self.messages)

    async def astream(self) -> int:
        n = 0
        async for _ in await self.llm.astream_chat(self.messages):
            n += 1
        return n


class BackToBack(Candidate):
    """A framework-alone candidate and raw httpx called back to back (sequential metrics).

    The zero-cost-adapter reference: the framework's per-call work and an HTTP call in
    the same loop iteration. On a small VM this costs more than the sum of the two
    measured apart (each alone runs with hot CPU caches), so "raw httpx + framework
    alone + 40 µs" understates what any adapter can reach; this row measures it.
    """

    group = "framework"

    def __init__(self, framework: type[Candidate], label: str) -> None:
        self.framework = framework()
        self.http = RawHttpx()
        self.name = f"{label} + raw httpx, back to back"

    def setup(self, url: str) -> None:
        super().setup(url)
        self.framework.setup(url)
        self.http.setup(url)

    def invoke(self) -> Any:
        self.framework.invoke()
        return self.http.invoke()

    def stream(self) -> int:
        return self.framework.stream() + self.http.stream() - CHUNKS

    def close(self) -> None:
        self.http.close()


# ---------------------------------------------------------------- ours


class CoreClient(Candidate):
    """``cf_aig.Client`` / ``cf_aig.AsyncClient`` with canonical dicts."""

    name = "cf_aig core client"
    group = "ours"

    def __init__(self, http: str = "default") -> None:
        self.http = http
        if http != "default":  # the sync path does not change: async metrics only
            self.name = f"cf_aig core ({http})"
            self.invoke = self.stream = self.embed = None  # type: ignore[assignment]

    def setup(self, url: str) -> None:
        super().setup(url)
        import cf_aig

        kw = {"account_id": ACCOUNT, "api_token": TOKEN, "base_url": self.base}
        self.client = cf_aig.Client(**kw)
        self.aclient = cf_aig.AsyncClient(http_client=make_async_http(self.http), **kw)
        self.request = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}

    def invoke(self) -> Any:
        return self.client.chat(self.request)

    def stream(self) -> int:
        with self.client.chat_stream(self.request) as s:
            return sum(1 for _ in s)

    async def ainvoke(self) -> Any:
        return await self.aclient.chat(self.request)

    async def astream(self) -> int:
        n = 0
        async with await self.aclient.chat_stream(self.request) as s:
            async for _ in s:
                n += 1
        return n

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.client.embed(EMBED_MODEL, texts).vectors

    async def aembed(self, texts: list[str]) -> list[list[float]]:
        return (await self.aclient.embed(EMBED_MODEL, texts)).vectors

    def close(self) -> None:
        self.client.close()

    async def aclose(self) -> None:
        await self.aclient.aclose()


def lean_client(**kwargs: Any) -> Any:
    """An httpx.AsyncClient on the core's O(1) pool (cf_aig/_pool.py), 100/100 connections."""
    import httpx

    from cf_aig._pool import LeanAsyncTransport

    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=30)
    return httpx.AsyncClient(transport=LeanAsyncTransport(limits=limits), **kwargs)


def make_async_http(kind: str) -> Any:
    """An ``httpx.AsyncClient``-compatible client for the pool study (None = core default)."""
    if kind == "default":
        return None
    if kind == "lean pool":
        return lean_client(timeout=120)
    if kind == "httpx2":
        import httpx2

        return httpx2.AsyncClient(
            limits=httpx2.Limits(max_connections=100, max_keepalive_connections=100), timeout=120
        )
    if kind == "httpx-aiohttp":
        HttpxAiohttpClient = _need("httpx_aiohttp", "httpx-aiohttp").HttpxAiohttpClient
        return HttpxAiohttpClient(timeout=120)
    raise ValueError(kind)


class LangChainOurs(Candidate):
    """``langchain_cf_aig.ChatCloudflareAIGateway`` (+ ``CloudflareAIGatewayEmbeddings``)."""

    name = "ChatCloudflareAIGateway (ours)"
    group = "ours"

    def __init__(self, http: str = "default") -> None:
        self.http = http
        if http != "default":  # the sync path does not change: async metrics only
            self.name = f"ChatCloudflareAIGateway ({http})"
            self.invoke = self.stream = self.embed = None  # type: ignore[assignment]

    def setup(self, url: str) -> None:
        super().setup(url)
        mod = _need("langchain_cf_aig", "-e . (the adapter has not landed yet?)")
        from langchain_core.messages import HumanMessage

        kw: dict[str, Any] = {"account_id": ACCOUNT, "api_token": TOKEN, "base_url": self.base}
        if self.http != "default":
            kw["http_async_client"] = make_async_http(self.http)
        self.model = mod.ChatCloudflareAIGateway(model=MODEL, **kw)
        kw.pop("http_async_client", None)
        self.messages = [HumanMessage("hi")]
        self.embeddings = None
        if hasattr(mod, "CloudflareAIGatewayEmbeddings"):
            self.embeddings = mod.CloudflareAIGatewayEmbeddings(model=EMBED_MODEL, **kw)

    def invoke(self) -> Any:
        return self.model.invoke(self.messages)

    def stream(self) -> int:
        return sum(1 for _ in self.model.stream(self.messages))

    async def ainvoke(self) -> Any:
        return await self.model.ainvoke(self.messages)

    async def astream(self) -> int:
        n = 0
        async for _ in self.model.astream(self.messages):
            n += 1
        return n

    def embed(self, texts: list[str]) -> list[list[float]]:
        if self.embeddings is None:
            raise Skip("CloudflareAIGatewayEmbeddings not found")
        return self.embeddings.embed_documents(texts)

    async def aembed(self, texts: list[str]) -> list[list[float]]:
        if self.embeddings is None:
            raise Skip("CloudflareAIGatewayEmbeddings not found")
        return await self.embeddings.aembed_documents(texts)


class LlamaIndexOurs(Candidate):
    """``llama_index_cf_aig.CloudflareAIGateway`` (+ ``CloudflareAIGatewayEmbedding``)."""

    name = "CloudflareAIGateway (ours, LlamaIndex)"
    group = "ours"

    def __init__(self, http: str = "default") -> None:
        self.http = http
        if http != "default":  # the sync path does not change: async metrics only
            self.name = f"CloudflareAIGateway (LlamaIndex, {http})"
            self.invoke = self.stream = self.embed = None  # type: ignore[assignment]

    def setup(self, url: str) -> None:
        super().setup(url)
        mod = _need("llama_index_cf_aig", "-e . (the adapter has not landed yet?)")
        from llama_index.core.base.llms.types import ChatMessage

        kw: dict[str, Any] = {"account_id": ACCOUNT, "api_token": TOKEN, "base_url": self.base}
        if self.http != "default":
            kw["async_http_client"] = make_async_http(self.http)
        self.llm = mod.CloudflareAIGateway(model=MODEL, **kw)
        kw.pop("async_http_client", None)
        self.messages = [ChatMessage(role="user", content="hi")]
        self.embedding = None
        if hasattr(mod, "CloudflareAIGatewayEmbedding"):
            self.embedding = mod.CloudflareAIGatewayEmbedding(model_name=EMBED_MODEL, **kw)

    def invoke(self) -> Any:
        return self.llm.chat(self.messages)

    def stream(self) -> int:
        return sum(1 for _ in self.llm.stream_chat(self.messages))

    async def ainvoke(self) -> Any:
        return await self.llm.achat(self.messages)

    async def astream(self) -> int:
        n = 0
        async for _ in await self.llm.astream_chat(self.messages):
            n += 1
        return n

    def embed(self, texts: list[str]) -> list[list[float]]:
        if self.embedding is None:
            raise Skip("CloudflareAIGatewayEmbedding not found")
        return self.embedding.get_text_embedding_batch(texts)

    async def aembed(self, texts: list[str]) -> list[list[float]]:
        if self.embedding is None:
            raise Skip("CloudflareAIGatewayEmbedding not found")
        return await self.embedding.aget_text_embedding_batch(texts)


# ---------------------------------------------------------------- peers


class ChatOpenAIPeer(Candidate):
    """langchain-openai ``ChatOpenAI`` with ``base_url`` at the server's ``.../ai/v1``."""

    name = "ChatOpenAI (langchain-openai)"
    group = "peer"

    def setup(self, url: str) -> None:
        super().setup(url)
        mod = _need("langchain_openai", "langchain-openai")
        from langchain_core.messages import HumanMessage

        self.model = mod.ChatOpenAI(
            model="gpt-5.5",
            base_url=f"{self.base}/accounts/{ACCOUNT}/ai/v1",
            api_key=TOKEN,
            stream_usage=True,
        )
        self.messages = [HumanMessage("hi")]
        self.embeddings = None

    invoke = LangChainOurs.invoke
    stream = LangChainOurs.stream
    ainvoke = LangChainOurs.ainvoke
    astream = LangChainOurs.astream


class LangChainCloudflarePeer(Candidate):
    """langchain-cloudflare ``ChatCloudflareWorkersAI`` (REST, ``endpoint_format=
    'openai_compatible'``, ``base_url`` at the server) + ``CloudflareWorkersAIEmbeddings``."""

    name = "langchain-cloudflare"
    group = "peer"

    def setup(self, url: str) -> None:
        super().setup(url)
        mod = _need("langchain_cloudflare", "langchain-cloudflare==0.4.3")
        from langchain_core.messages import HumanMessage

        self.model = mod.ChatCloudflareWorkersAI(
            account_id=ACCOUNT,
            api_token=TOKEN,
            model=MODEL,
            base_url=self.base,
            endpoint_format="openai_compatible",
        )
        self.messages = [HumanMessage("hi")]
        self.embeddings = mod.CloudflareWorkersAIEmbeddings(
            account_id=ACCOUNT,
            api_token=TOKEN,
            model_name=EMBED_MODEL,
            api_base_url=f"{self.base}/accounts",
            batch_size=EMBED_BATCH,
        )

    invoke = LangChainOurs.invoke
    stream = LangChainOurs.stream
    ainvoke = LangChainOurs.ainvoke
    astream = LangChainOurs.astream

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.embeddings.embed_documents(texts)

    async def aembed(self, texts: list[str]) -> list[list[float]]:
        return await self.embeddings.aembed_documents(texts)


class OpenAILikePeer(Candidate):
    """llama-index ``OpenAILike`` with ``api_base`` at the server's ``.../ai/v1``."""

    name = "OpenAILike (llama-index)"
    group = "peer"

    def setup(self, url: str) -> None:
        super().setup(url)
        mod = _need("llama_index.llms.openai_like", "llama-index-llms-openai-like")
        from llama_index.core.base.llms.types import ChatMessage

        self.llm = mod.OpenAILike(
            model=MODEL,
            api_base=f"{self.base}/accounts/{ACCOUNT}/ai/v1",
            api_key=TOKEN,
            is_chat_model=True,
            is_function_calling_model=True,
            context_window=128000,
        )
        self.messages = [ChatMessage(role="user", content="hi")]

    invoke = LlamaIndexOurs.invoke
    stream = LlamaIndexOurs.stream
    ainvoke = LlamaIndexOurs.ainvoke
    astream = LlamaIndexOurs.astream


def all_candidates() -> list[Candidate]:
    return [
        RawHttpx(),
        RawHttpx("off"),
        RawAiohttp(),
        LangChainCore(),
        LlamaIndexCore(),
        BackToBack(LangChainCore, "langchain-core alone"),
        BackToBack(LlamaIndexCore, "llama-index-core alone"),
        CoreClient(),
        CoreClient("lean pool"),
        CoreClient("httpx-aiohttp"),
        LangChainOurs(),
        LangChainOurs("lean pool"),
        LangChainOurs("httpx-aiohttp"),
        LlamaIndexOurs(),
        LlamaIndexOurs("lean pool"),
        LlamaIndexOurs("httpx-aiohttp"),
        ChatOpenAIPeer(),
        LangChainCloudflarePeer(),
        OpenAILikePeer(),
    ]
