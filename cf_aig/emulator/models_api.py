"""The model catalogue endpoints, emulated: ``GET ai/models/search`` and ``ai/models/schema``.

Shapes follow reference §2 and §6: search answers a v4 envelope whose ``result`` is a list
of ``{id, source, name, description, task{id,name,description}, tags, properties[{property_id,
value}]}`` (property values are strings, as in Cloudflare's catalogue) plus
``result_info{page, per_page, count, total_count}``; schema answers ``{input, output}`` JSON
Schemas. Only ``@cf``/``@hf`` models are listed (the real search lists only those). Facts come
from the emulator's own tables (``catalog.py`` plus the few below), not from the client's.

>>> import httpx
>>> from cf_aig.emulator import Emulator
>>> with Emulator() as emu:
...     r = httpx.get(f"{emu.account_url}/ai/models/search", params={"search": "kimi-k2.6"},
...                   headers={"Authorization": "Bearer t"}).json()
>>> [m["name"] for m in r["result"]], r["result_info"]["total_count"]
(['@cf/moonshotai/kimi-k2.6'], 1)
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs

from . import wire
from .catalog import REASONING_MODELS, WORKERS_AI_MODELS
from .gateway_host import WORKERS_PAID
from .server import Reply, Request
from .wire import HttpError

TASKS = {"chat": "Text Generation", "classic": "Text Generation", "scout": "Text Generation",
         "embedding": "Text Embeddings", "other": "Other"}
CONTEXT: dict[str, int] = {
    "@cf/moonshotai/kimi-k2.6": 262_144, "@cf/moonshotai/kimi-k2.5": 262_144,
    "@cf/meta/llama-3.3-70b-instruct-fp8-fast": 24_000, "@cf/openai/gpt-oss-120b": 131_072,
    "@cf/openai/gpt-oss-20b": 131_072, "@cf/zai-org/glm-4.7-flash": 131_072,
    "@cf/meta/llama-4-scout-17b-16e-instruct": 131_000, "@cf/qwen/qwen3-30b-a3b-fp8": 32_768,
    "@cf/meta/llama-3.1-8b-instruct-fp8": 32_000, "@cf/google/gemma-4-26b-a4b-it": 131_072,
}
VISION = frozenset({"@cf/moonshotai/kimi-k2.6", "@cf/moonshotai/kimi-k2.5",
                    "@cf/meta/llama-4-scout-17b-16e-instruct", "@cf/google/gemma-4-26b-a4b-it",
                    "@cf/meta/llama-3.2-11b-vision-instruct"})
BATCH = frozenset({"@cf/meta/llama-3.3-70b-instruct-fp8-fast", "@cf/baai/bge-small-en-v1.5",
                   "@cf/baai/bge-base-en-v1.5", "@cf/baai/bge-large-en-v1.5", "@cf/baai/bge-m3",
                   "@cf/meta/m2m100-1.2b"})
TOOLS_CLASSIC = frozenset({"@hf/nousresearch/hermes-2-pro-mistral-7b",
                           "@cf/meta/llama-3.3-70b-instruct-fp8-fast"})
JSON_MODE_CLASSIC = frozenset({"@cf/meta/llama-3.3-70b-instruct-fp8-fast",
                               "@cf/meta/llama-3.1-8b-instruct-fp8",
                               "@hf/nousresearch/hermes-2-pro-mistral-7b"})


def _entry(name: str) -> dict[str, Any]:
    kind = WORKERS_AI_MODELS[name]
    task = TASKS[kind]
    props: list[dict[str, Any]] = []

    def prop(key: str, value: Any) -> None:
        props.append({"property_id": key, "value": str(value).lower()
                      if isinstance(value, bool) else str(value)})

    if kind in ("chat", "classic", "scout"):
        prop("context_window", CONTEXT.get(name, 131_072 if kind == "chat" else 8_192))
        if kind in ("chat", "scout") or name in TOOLS_CLASSIC:
            prop("function_calling", True)
    if name in VISION:
        prop("vision", True)
    if name in REASONING_MODELS:
        prop("reasoning", True)
    if name in BATCH:
        prop("async_queue", True)
    if name in WORKERS_PAID:
        prop("require_workers_paid", True)
    author = name.split("/")[1]
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, name)), "source": 1, "name": name,
            "description": f"{name.rsplit('/', 1)[-1]} by {author} (emulated catalogue)",
            "task": {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, task)), "name": task,
                     "description": task},
            "tags": [], "properties": props}


def _schema(name: str) -> dict[str, Any]:
    kind = WORKERS_AI_MODELS[name]
    if kind in ("embedding", "other"):
        return {"input": {"type": "object", "properties": {"text": {}}},
                "output": {"type": "object"}}
    props: dict[str, Any] = {"messages": {"type": "array"}, "stream": {"type": "boolean"},
                             "max_tokens": {"type": "integer"}}
    if kind in ("chat", "scout") or name in TOOLS_CLASSIC:
        props["tools"] = {"type": "array"}
    if kind == "chat" or name in JSON_MODE_CLASSIC:
        props["response_format"] = {"type": "object"}
    prompt = {"type": "object", "properties": {"prompt": {"type": "string"}},
              "required": ["prompt"]}
    answer = "choices" if kind == "chat" else "response"
    return {"input": {"type": "object", "oneOf": [
                prompt, {"type": "object", "properties": props, "required": ["messages"]}]},
            "output": {"type": "object", "properties": {answer: {}, "usage": {}}}}


def handle(req: Request, rest: str) -> Reply:
    """Serve ``ai/models/search`` or ``ai/models/schema``."""
    try:
        if req.method != "GET":
            raise HttpError(405, wire.v4_error(7001, f"{req.method} not supported for "
                                                     "requested URI."))
        query = {k: v[-1] for k, v in parse_qs(req.query).items()}
        if rest == "ai/models/schema":
            model = query.get("model", "")
            if model not in WORKERS_AI_MODELS:
                raise HttpError(404, wire.v4_error(5007, f"No such model {model or '(none)'}"))
            return _ok(wire.v4_ok(_schema(model)))
        if rest != "ai/models/search":
            raise HttpError(404, wire.v4_error(7000, "No route for that URI"))
        return _ok(_search(query))
    except HttpError as err:
        return _ok(err.body, err.status)


def _search(query: dict[str, str]) -> dict[str, Any]:
    try:
        page = max(1, int(query.get("page", "1")))
        per_page = min(1000, max(1, int(query.get("per_page", "20"))))
    except ValueError:
        raise HttpError(400, wire.v4_error(7003, "page and per_page must be integers")) from None
    text = query.get("search", "").lower()
    task = query.get("task", "").lower()
    author = query.get("author", "").lower()
    rows = [_entry(name) for name in sorted(WORKERS_AI_MODELS)]
    rows = [r for r in rows
            if (not text or text in r["name"].lower() or text in r["description"].lower())
            and (not task or r["task"]["name"].lower() == task)
            and (not author or r["name"].split("/")[1].lower() == author)]
    chosen = rows[(page - 1) * per_page: page * per_page]
    body = wire.v4_ok(chosen)
    body["result_info"] = {"page": page, "per_page": per_page, "count": len(chosen),
                           "total_count": len(rows)}
    return body


def _ok(obj: Any, status: int = 200) -> Reply:
    return Reply(status, [("content-type", "application/json")], wire.dumps(obj))
