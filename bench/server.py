"""A fast fake AI Gateway for benchmarks: raw asyncio HTTP/1.1, precomputed replies.

It must never be the bottleneck, so it does as little as possible per request: one
``asyncio.Protocol`` per connection, a byte-level request parser (request line,
``Content-Length``, keep-alive), and response bytes built once per shape and cached.
``bench/run.py`` starts it in its own process (it does not share the client's GIL) and
shows raw httpx and raw aiohttp against it, so the floor is visible.

Routes (any account id):

- ``POST /client/v4/accounts/{id}/ai/v1/chat/completions``: a JSON ``chat.completion``,
  or, when the body has ``"stream": true``, an SSE stream (chunked transfer encoding, one
  HTTP chunk per event) of N content chunks, a finish chunk, a usage chunk and
  ``[DONE]``. N = header ``x-bench-chunks`` or query ``?chunks=N``, else ``--chunks``.
- ``POST /client/v4/accounts/{id}/ai/run/@cf/...``: Workers AI embeddings
  ``{"result": {"shape": [n, dim], "data": [...]}, "success": true}`` sized to the
  request's ``text`` list (a chat body with ``messages`` gets a ``{"response"}`` result).
- ``POST /client/v4/accounts/{id}/ai/v1/embeddings``: OpenAI-shaped embeddings.
- ``GET /__stats``: ``{"connections": opened, "open": now_open, "requests": n}``;
  ``POST /__reset`` zeroes the counters.

Run alone: ``python bench/server.py --port 8799`` (prints ``PORT <n>`` when ready).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import sys

DIM = 768  # @cf/baai/bge-base-en-v1.5
COMPLETION = {
    "id": "chatcmpl-bench000000000000000000",
    "object": "chat.completion",
    "created": 1760000000,
    "model": "openai/gpt-5.5",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello! How can I help you today?"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 9, "completion_tokens": 9, "total_tokens": 18},
}
GATEWAY_HEADERS = (
    b"cf-aig-log-id: 01JBENCH000000000000000000\r\n"
    b"cf-aig-cache-status: MISS\r\n"
    b"cf-aig-model: gpt-5.5\r\n"
    b"cf-aig-provider: openai\r\n"
)


def _json(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _response(body: bytes, ctype: bytes = b"application/json", status: bytes = b"200 OK") -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: " + ctype + b"\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n" + GATEWAY_HEADERS + b"\r\n" + body
    )


def _chunked(part: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(part), part)


def _sse(n: int) -> bytes:
    base = {
        "id": COMPLETION["id"],
        "object": "chat.completion.chunk",
        "created": COMPLETION["created"],
        "model": COMPLETION["model"],
    }
    events = []
    first = dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
    events.append(first)
    for i in range(n - 1):
        events.append(
            dict(base, choices=[{"index": 0, "delta": {"content": f"tok{i % 10} "}, "finish_reason": None}])
        )
    events.append(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    events.append(dict(base, choices=[], usage={"prompt_tokens": 9, "completion_tokens": n, "total_tokens": 9 + n}))
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n" + GATEWAY_HEADERS + b"\r\n"
    )
    body = b"".join(_chunked(b"data: " + _json(e) + b"\n\n") for e in events)
    return head + body + _chunked(b"data: [DONE]\n\n") + b"0\r\n\r\n"


_VECTOR = ",".join(f"{((i * 7919) % 1000) / 1000 - 0.5:.4f}" for i in range(DIM)).encode()


def _run_embeddings(n: int) -> bytes:
    data = b",".join(b"[" + _VECTOR + b"]" for _ in range(n))
    body = (
        b'{"result":{"shape":[%d,%d],"data":[%s],"pooling":"cls"},"success":true,"errors":[],"messages":[]}'
        % (n, DIM, data)
    )
    return _response(body)


def _openai_embeddings(n: int) -> bytes:
    items = b",".join(
        b'{"object":"embedding","index":%d,"embedding":[%s]}' % (i, _VECTOR) for i in range(n)
    )
    body = (
        b'{"object":"list","data":[%s],"model":"text-embedding-3-small",'
        b'"usage":{"prompt_tokens":%d,"total_tokens":%d}}' % (items, n * 3, n * 3)
    )
    return _response(body)


CHAT_JSON = _response(_json(COMPLETION))
RUN_CHAT = _response(
    _json({"result": {"response": "Hello! How can I help you today?", "usage": COMPLETION["usage"]}, "success": True, "errors": [], "messages": []})
)
NOT_FOUND = _response(b'{"success":false,"errors":[{"code":7000,"message":"No route for that URI"}]}', status=b"404 Not Found")


class Stats:
    connections = 0
    open = 0
    requests = 0


class Server:
    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.cache: dict[tuple[str, int], bytes] = {}

    def cached(self, kind: str, n: int) -> bytes:
        key = (kind, n)
        out = self.cache.get(key)
        if out is None:
            out = {"sse": _sse, "run": _run_embeddings, "oai": _openai_embeddings}[kind](n)
            if len(self.cache) < 256:
                self.cache[key] = out
        return out

    def respond(self, method: bytes, target: bytes, headers: dict[bytes, bytes], body: bytes) -> bytes:
        path, _, query = target.partition(b"?")
        if path.endswith(b"/chat/completions"):
            if b'"stream":true' in body or b'"stream": true' in body:
                n = self.chunks
                if b"x-bench-chunks" in headers:
                    n = int(headers[b"x-bench-chunks"])
                elif query.startswith(b"chunks="):
                    n = int(query[7:])
                return self.cached("sse", n)
            return CHAT_JSON
        if path.endswith(b"/embeddings"):
            return self.cached("oai", _count(json.loads(body).get("input")))
        if b"/ai/run/" in path:
            obj = json.loads(body) if body else {}
            if "messages" in obj or "prompt" in obj:
                return RUN_CHAT
            return self.cached("run", _count(obj.get("text")))
        if path == b"/__stats":
            return _response(_json({"connections": Stats.connections, "open": Stats.open, "requests": Stats.requests}))
        if path == b"/__reset":
            Stats.connections = Stats.open = Stats.requests = 0
            return _response(b"{}")
        return NOT_FOUND


def _count(value: object) -> int:
    if isinstance(value, list):
        return len(value)
    return 1


class HTTPProtocol(asyncio.Protocol):
    __slots__ = ("buf", "server", "transport")

    def __init__(self, server: Server) -> None:
        self.server = server
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        Stats.connections += 1
        Stats.open += 1

    def connection_lost(self, exc: Exception | None) -> None:
        Stats.open -= 1
        self.transport = None

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        transport = self.transport
        while transport is not None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end].split(b"\r\n")
            method, target, _ = head[0].split(b" ", 2)
            headers = {}
            for line in head[1:]:
                k, _, v = line.partition(b":")
                headers[k.strip().lower()] = v.strip()
            length = int(headers.get(b"content-length", b"0"))
            start = end + 4
            if len(buf) < start + length:
                break
            body = buf[start : start + length]
            buf = buf[start + length :]
            Stats.requests += 1
            transport.write(self.server.respond(method, target, headers, body))
            if headers.get(b"connection", b"").lower() == b"close":
                transport.close()
                transport = None
        self.buf = buf


async def serve(host: str, port: int, chunks: int) -> None:
    server = Server(chunks)
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(lambda: HTTPProtocol(server), host, port, backlog=4096, reuse_address=True)
    sock_port = srv.sockets[0].getsockname()[1]
    print(f"PORT {sock_port}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Also stop when the parent goes away (stdin closes), so the server never outlives a run.
    if not sys.stdin.isatty():
        loop.add_reader(sys.stdin.fileno(), lambda: (os.read(sys.stdin.fileno(), 1) or stop.set()))
    await stop.wait()
    srv.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=200)
    args = parser.parse_args()
    gc.freeze()
    asyncio.run(serve(args.host, args.port, args.chunks))


if __name__ == "__main__":
    main()
