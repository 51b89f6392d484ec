"""The main job: a real run through Cloudflare AI Gateway with LangChain and LlamaIndex.

    python notebooks/demo.py

With ``CLOUDFLARE_ACCOUNT_ID`` and ``CLOUDFLARE_API_TOKEN`` set it talks to Cloudflare
(models from ``CF_AIG_CHAT_MODEL`` / ``CF_AIG_EMBED_MODEL``, Workers AI by default);
otherwise it starts the local emulator on 127.0.0.1 and says so. It runs:

1. LangChain RAG: embed the bundled corpus (``notebooks/data``), stream an answer with its
   sources, then ask again to show the gateway cache (MISS, then HIT);
2. a LangChain agent (``create_agent``) that calls tools and streams its answer;
3. LlamaIndex RAG: a vector index and a streamed query-engine answer;
4. a LlamaIndex ``FunctionAgent`` that calls tools and streams its answer;

printing the gateway log id and cache status of each model call, and a timing table.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _setup import (
    CallLog,
    Waiting,
    choose_target,
    corpus_chunks,
    load_corpus,
    progress,
    record_llamaindex_calls,
    usage_tokens,
)

SYSTEM = ("You are a concise assistant for Cloudflare AI Gateway users. Use the tools when "
          "they help and say which tool gave what.")


def heading(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)


def search_docs(query: str) -> str:
    """Search the AI Gateway documentation; returns the best matching section."""
    words = {w.strip(".,?!").lower() for w in query.split() if len(w) > 2}

    def overlap(chunk: Any) -> int:
        text = f"{chunk.section} {chunk.text}".lower()
        return sum(text.count(w) for w in words)

    best = max(corpus_chunks(), key=overlap)
    return f"[{best.source} / {best.section}] {best.text}"


def multiply(a: float, b: float) -> float:
    """Multiply two numbers."""
    return a * b


# --------------------------------------------------------------------------- LangChain


def langchain_rag(target: Any, calls: CallLog) -> None:
    from langchain_core.documents import Document
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough
    from langchain_core.vectorstores import InMemoryVectorStore

    from langchain_cf_aig import (
        ChatCloudflareAIGateway,
        CloudflareAIGatewayEmbeddings,
        gateway_info,
    )

    heading("1. LangChain RAG over notebooks/data (retrieval chain, streamed)")
    docs = [Document(c.text, metadata={"source": c.source, "section": c.section})
            for c in corpus_chunks()]
    store = InMemoryVectorStore(CloudflareAIGatewayEmbeddings(model=target.embed_model))
    start = time.perf_counter()
    with progress(f"embedding {len(docs)} chunks with {target.embed_model}"):
        store.add_documents(docs)
    calls.add("LC embed corpus", time.perf_counter() - start)

    llm = ChatCloudflareAIGateway(model=target.chat_model, cache_ttl=600)
    prompt = ChatPromptTemplate.from_messages([
        ("system", "Answer using only the context, in two sentences. Cite [file].\n\n{context}"),
        ("human", "{question}"),
    ])

    def fill(inputs: dict[str, Any]) -> dict[str, Any]:
        context = "\n\n".join(f"[{d.metadata['source']}] {d.page_content}"
                              for d in inputs["docs"])
        return {"context": context, "question": inputs["question"]}

    chain = RunnableParallel(
        docs=store.as_retriever(search_kwargs={"k": 3}), question=RunnablePassthrough()
    ).assign(answer=RunnableLambda(fill) | prompt | llm)

    question = "How do I turn on caching, and how do I know an answer came from the cache?"
    print(f"Q: {question}")
    start = time.perf_counter()
    waiting = Waiting(f"retrieving and asking {target.chat_model}")
    answer: Any = None
    sources: list[Any] = []
    for part in chain.stream(question):
        sources = part.get("docs", sources)
        if "answer" in part:
            if part["answer"].text:
                if waiting.active:
                    waiting.done()
                    print("A: ", end="")
                print(part["answer"].text, end="", flush=True)
            answer = part["answer"] if answer is None else answer + part["answer"]
    waiting.done()
    info = gateway_info(answer)
    calls.add("LC RAG stream", time.perf_counter() - start, usage_tokens(answer),
              info.cache_status, info.log_id)
    print("\nsources: " + "; ".join(f"{d.metadata['source']} / {d.metadata['section']}"
                                    for d in sources))
    print(f"log id {info.log_id}  cache {info.cache_status}")
    if target.is_emulator:
        print("(emulator embeddings are hash-based: the sources are real chunks, but their "
              "ranking is not semantic)")

    print("\nThe same question twice, not streamed (the gateway caches complete answers):")
    for attempt in ("first call", "again"):
        start = time.perf_counter()
        with progress(f"  invoke ({attempt})"):
            result = chain.invoke(question)
        info = gateway_info(result["answer"])
        calls.add(f"LC RAG invoke ({attempt})", time.perf_counter() - start,
                  usage_tokens(result["answer"]), info.cache_status, info.log_id)
        print(f"  -> cache {info.cache_status}, log id {info.log_id}")


def langchain_agent(target: Any, calls: CallLog) -> None:
    from langchain.agents import create_agent
    from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage

    from langchain_cf_aig import ChatCloudflareAIGateway, gateway_info

    heading("2. LangChain agent (create_agent) with tool calls, streamed")
    agent = create_agent(ChatCloudflareAIGateway(model=target.chat_model),
                         tools=[search_docs, multiply], system_prompt=SYSTEM)
    question = ("Use search_docs to look up Retries, and use multiply to get the worst-case "
                "delay of 5 attempts at 250 ms each.")
    print(f"user: {question}")
    step_start = time.perf_counter()
    turn = pending = 0
    waiting = Waiting("  model turn 1")
    for mode, event in agent.stream({"messages": [("user", question)]},
                                    stream_mode=["updates", "messages"]):
        if mode == "messages":
            chunk = event[0]
            if isinstance(chunk, AIMessageChunk) and chunk.text:
                waiting.done()
                print(chunk.text, end="", flush=True)
            continue
        waiting.done()
        for node_update in event.values():
            for message in (node_update or {}).get("messages", []):
                elapsed, step_start = time.perf_counter() - step_start, time.perf_counter()
                if isinstance(message, AIMessage):
                    turn += 1
                    info = gateway_info(message)
                    calls.add(f"LC agent model #{turn}", elapsed, usage_tokens(message),
                              info.cache_status, info.log_id)
                    if not message.tool_calls:
                        print()
                    print(f"  [model turn {turn}: log id {info.log_id}, "
                          f"cache {info.cache_status}]")
                    for call in message.tool_calls:
                        print(f"  -> tool call {call['name']}({call['args']})", flush=True)
                    pending = len(message.tool_calls)
                elif isinstance(message, ToolMessage):
                    calls.add(f"LC agent tool {message.name}", elapsed)
                    print(f"  <- {message.name}: {message.text[:90]}", flush=True)
                    pending -= 1
                    if pending == 0:  # all tool results are in: the model's next turn
                        waiting = Waiting(f"  model turn {turn + 1}")
    waiting.done()


# --------------------------------------------------------------------------- LlamaIndex


def llamaindex_rag(target: Any, calls: CallLog) -> Any:
    from llama_index.core import Document, Settings, VectorStoreIndex
    from llama_index.core.node_parser import MarkdownNodeParser

    from llama_index_cf_aig import CloudflareAIGateway, CloudflareAIGatewayEmbedding

    heading("3. LlamaIndex RAG (VectorStoreIndex + query engine, streamed)")
    Settings.llm = CloudflareAIGateway(model=target.chat_model)
    Settings.embed_model = CloudflareAIGatewayEmbedding(model_name=target.embed_model)
    recorder = record_llamaindex_calls(calls)

    documents = [Document(text=t, metadata={"source": n}) for n, t in load_corpus().items()]
    nodes = MarkdownNodeParser().get_nodes_from_documents(documents)
    start = time.perf_counter()
    with progress(f"indexing {len(nodes)} nodes with {target.embed_model}"):
        index = VectorStoreIndex(nodes)
    calls.add("LI embed corpus", time.perf_counter() - start)

    question = "What can I do with the log id of a request?"
    recorder.label = "LI RAG stream"
    print(f"Q: {question}")
    with progress(f"retrieving and asking {target.chat_model}"):
        response = index.as_query_engine(similarity_top_k=3, streaming=True).query(question)
        tokens = response.response_gen
        first = next(tokens, "")  # the wait is for the first token; the rest streams
    print(f"A: {first}", end="", flush=True)
    for token in tokens:
        print(token, end="", flush=True)
    row = calls.calls[-1]
    print("\nsources: " + "; ".join(f"{n.node.metadata['source']} ({n.score:.2f})"
                                    for n in response.source_nodes))
    print(f"log id {row.log_id}  cache {row.cache}")
    return recorder


async def llamaindex_agent(target: Any, calls: CallLog, recorder: Any) -> None:
    from llama_index.core.agent.workflow import (
        AgentInput,
        AgentOutput,
        AgentStream,
        FunctionAgent,
        ToolCall,
        ToolCallResult,
    )

    from llama_index_cf_aig import CloudflareAIGateway

    heading("4. LlamaIndex FunctionAgent with tool calls, streamed")
    agent = FunctionAgent(tools=[search_docs, multiply], system_prompt=SYSTEM,
                          llm=CloudflareAIGateway(model=target.chat_model))
    question = "Use search_docs to find how Metadata is attached to a log, briefly."
    recorder.label = "LI agent model"
    print(f"user: {question}")
    handler = agent.run(question)
    waiting: Waiting | None = None
    turn = 0
    async for event in handler.stream_events():
        if isinstance(event, AgentInput):  # a model turn starts
            turn += 1
            waiting = Waiting(f"  model turn {turn}")
        elif isinstance(event, AgentStream):
            if event.delta and waiting is not None:
                waiting.done()
            print(event.delta, end="", flush=True)
        elif isinstance(event, AgentOutput) and waiting is not None:
            waiting.done()
            row = calls.calls[-1]
            print(f"{chr(10) if not event.tool_calls else ''}  [model turn {turn}: "
                  f"log id {row.log_id}, cache {row.cache}]")
        elif isinstance(event, ToolCallResult):
            print(f"  <- {event.tool_name}: {str(event.tool_output.content)[:90]}", flush=True)
        elif isinstance(event, ToolCall):
            print(f"  -> tool call {event.tool_name}({event.tool_kwargs})", flush=True)
    await handler


# --------------------------------------------------------------------------- main


def main() -> int:
    began = time.perf_counter()
    with progress("loading LangChain, LlamaIndex and the gateway client"):
        import langchain.agents  # noqa: F401
        import llama_index.core  # noqa: F401

        import langchain_cf_aig  # noqa: F401
        import llama_index_cf_aig  # noqa: F401
    target = choose_target()
    calls = CallLog()

    langchain_rag(target, calls)
    langchain_agent(target, calls)
    recorder = llamaindex_rag(target, calls)
    asyncio.run(llamaindex_agent(target, calls, recorder))

    heading("Every call: latency, tokens, gateway cache status and log id")
    print(calls.table())
    hits = sum(c.cache == "HIT" for c in calls.calls)
    model_calls = sum(c.log_id is not None for c in calls.calls)
    print(f"\n{model_calls} model calls ({hits} served from the gateway cache) on "
          f"{'the local emulator' if target.is_emulator else 'Cloudflare'}, "
          f"{time.perf_counter() - began:.1f} s in all.")
    if target.is_emulator:
        print("Set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN to run the same job on "
              "Cloudflare. Notebooks: notebooks/*.ipynb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
