"""``/ai/run``: Workers AI native (``/ai/run/{model}``) and the unified ``/ai/run``.

``@cf``/``@hf`` models go to ``/ai/run/{model}`` with the model's own input; other
models go to unified ``/ai/run`` as ``{"model", "input"}``, where ``anthropic/*`` input is
an Anthropic Messages body and the answer comes back natively (reference §4.1).
Responses come in the v4 envelope (unwrapped here) or bare (accepted too: the unified
envelope is undocumented, reference §10.1). Classic models answer
``{"response", "tool_calls", "usage"}``; chat-schema models a ``chat.completion`` (§4.2).

>>> body = WORKERS_AI.build({"model": "@cf/meta/llama-3.1-8b-instruct",
...     "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]}, stream=False)
>>> body
{'messages': [{'role': 'user', 'content': 'Hi'}]}
>>> WORKERS_AI.parse({"result": {"response": "Hello"}, "success": True})["choices"][0]["message"]
{'role': 'assistant', 'content': 'Hello'}
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace
from typing import Any

from .._ids import model_path
from ..errors import ConfigurationError, ResponseDecodeError
from ..profiles import get_profile, is_workers_ai
from ..types import Api, ChatCompletion, ChatRequest
from . import Capabilities, StreamState, ToolChoiceForm
from ._common import (
    SHAPE_ERRORS,
    one_choice_completion,
    shape_error,
    strip_history_extras,
    unwrap_envelope,
)
from .chat import (
    ChunkStream,
    chat_body,
    chat_capabilities,
    check_chat_extensions,
    normalize_completion,
    normalize_tool_call,
)

# Fields classic text-generation models accept (reference §4.2.2).
_CLASSIC_FIELDS = frozenset(
    {
        "messages",
        "tools",
        "stream",
        "max_tokens",
        "temperature",
        "top_p",
        "top_k",
        "seed",
        "repetition_penalty",
        "frequency_penalty",
        "presence_penalty",
        "response_format",
        "raw",
        "lora",
        "functions",
        "options",
    }
)
_RENAMED = {"max_completion_tokens": "max_tokens"}


def _text_only(content: Any, model: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for part in content:
        kind = part.get("type")
        if kind != "text":
            carrier = ("a vision model such as @cf/meta/llama-4-scout-17b-16e-instruct"
                       if kind == "image_url" else
                       "api='chat_completions' or api='responses' with a model that "
                       "accepts it (for example openai/gpt-5.5)")
            raise ConfigurationError(
                f"{model} (classic Workers AI model on api='run') takes text only; got a "
                f"{kind!r} content part. Use {carrier}.")
        parts.append(part.get("text", ""))
    return "".join(parts)


def _classic_body(request: ChatRequest, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for key, value in request.items():
        if key == "model" or key == "stream_options":
            continue
        key = _RENAMED.get(key, key)
        if key == "tool_choice":
            if value == "none":
                continue  # handled below by dropping the tools
            if value == "auto":
                continue
            raise ConfigurationError(
                f"{model} cannot be forced to call a tool (tool_choice={value!r}); classic "
                "Workers AI models only choose tools themselves. Use a chat-schema model "
                "(for example @cf/moonshotai/kimi-k2.6) or api='chat_completions'."
            )
        if key == "parallel_tool_calls":
            continue  # classic models decide alone; nothing to send
        if key == "tools" and isinstance(value, list) and any(
                isinstance(t, dict) and (t.get("function") or {}).get("strict") for t in value):
            raise ConfigurationError(
                f"strict tool schemas are not carried by {model} (classic Workers AI tools "
                "have no strict flag); drop strict, or use a chat-schema model such as "
                "@cf/moonshotai/kimi-k2.6 or api='chat_completions'")
        if key not in _CLASSIC_FIELDS:
            raise ConfigurationError(
                f"{key!r} is not supported by {model} on api='run' (classic Workers AI input "
                f"accepts {sorted(_CLASSIC_FIELDS)}); use api='chat_completions'"
            )
        body[key] = value
    if request.get("tool_choice") == "none":
        body.pop("tools", None)
    body["messages"] = [_classic_message(m, model)
                        for m in strip_history_extras(request.get("messages", []))]
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = fmt.get("json_schema") or {}
        if isinstance(schema, dict) and "schema" in schema:  # OpenAI wrapper → bare schema
            schema = schema["schema"]
        body["response_format"] = {"type": "json_schema", "json_schema": schema}
    return body


def _vision_parts(content: Any, model: str) -> str | list[dict[str, Any]]:
    """Content for a classic vision model: text and ``image_url`` parts whose url is a
    ``data:`` URI (the models' own input form; they refuse HTTP URLs)."""
    if content is None or isinstance(content, str):
        return content or ""
    out: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            out.append({"type": "text", "text": str(part.get("text") or "")})
        elif kind == "image_url":
            spec = part.get("image_url")
            url = spec.get("url") if isinstance(spec, dict) else spec
            if not isinstance(url, str) or not url.startswith("data:"):
                raise ConfigurationError(
                    f"{model} on api='run' takes images only as data: URIs (base64), not "
                    f"{str(url)[:60]!r}; pass the image bytes as base64, or use "
                    "api='chat_completions' with a model that fetches URLs")
            out.append({"type": "image_url", "image_url": {"url": url}})
        else:
            raise ConfigurationError(
                f"{model} (classic Workers AI vision model on api='run') takes text and "
                f"images only; got a {kind!r} content part. Use a model that accepts it on "
                "api='chat_completions' (for example openai/gpt-5.5 for files, audio)")
    if all(p["type"] == "text" for p in out):
        return "".join(p["text"] for p in out)
    return out


def _classic_message(message: Any, model: str) -> dict[str, Any]:
    out = dict(message)
    if get_profile(model).vision and message.get("role") == "user":
        out["content"] = _vision_parts(message.get("content"), model)
    else:
        out["content"] = _text_only(message.get("content"), model)
    return out


def _chat_body(request: ChatRequest) -> dict[str, Any]:
    body: dict[str, Any] = {k: v for k, v in request.items() if k != "model"}
    messages = []
    for m in strip_history_extras(body.get("messages", [])):
        if m.get("role") == "assistant" and m.get("content") is None:
            m = dict(m, content="")  # Workers AI rejects null content
        messages.append(m)
    body["messages"] = messages
    return body


def run_path(model: str, unified: bool | None = None) -> str:
    """``/ai/run/{model}`` for Workers AI models, unified ``/ai/run`` for others (or
    when ``unified`` says so)."""
    if unified is None:
        unified = not is_workers_ai(model)
    return "/ai/run" if unified else model_path(model)  # checked, segments encoded


def run_body(model: str, input: dict[str, Any], unified: bool | None = None) -> dict[str, Any]:
    """The body carrying ``input``: as it is on ``/ai/run/{model}``, wrapped as
    ``{"model", "input"}`` on unified ``/ai/run``."""
    return {"model": model, "input": input} if run_path(model, unified) == "/ai/run" else input


_CLASSIC_TOOL_CHOICES: frozenset[ToolChoiceForm] = frozenset({"auto", "none"})


def run_capabilities(model: str) -> Capabilities:
    """What ``/ai/run`` carries for ``model``: the Messages wire for ``anthropic/*``, a
    Chat Completions body for other third-party models, the model's own schema for
    ``@cf``/``@hf`` models (classic models: no ``stop``, no forced tools, images only as
    ``data:`` URIs on vision models)."""
    path = run_path(model)
    if model.startswith("anthropic/"):
        from .anthropic import messages_capabilities

        return replace(messages_capabilities(model), path=path)
    if not is_workers_ai(model):
        return chat_capabilities(model, path)
    profile = get_profile(model)
    if profile.workers_ai_schema == "chat":
        # ChatCompletionsInput: text, image_url, input_audio and file parts (reference §4.2)
        return Capabilities(path=path, stream_with_schema=False, audio=True)
    return Capabilities(
        path=path,
        stop_sequences=False,
        stream_with_schema=False,
        tool_choice_forms=_CLASSIC_TOOL_CHOICES,
        parallel_tool_calls=False,
        images=profile.vision,
        image_urls=False,
        files=False,
    )


class WorkersAIDialect:
    """Chat over ``/ai/run``; see the module docstring."""

    api: Api = "run"

    def endpoint(self, model: str) -> str:
        return run_path(model)

    def capabilities(self, model: str) -> Capabilities:
        return run_capabilities(model)

    def build(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        model = request.get("model", "")
        if model.startswith("anthropic/"):  # input is an Anthropic Messages body (§4.1)
            from .anthropic import build_messages_body

            body = build_messages_body(request, stream=stream)
            body.pop("model", None)
            return {"model": model, "input": body}
        check_chat_extensions(request, f"api='run' ({run_path(model)}) for {model}")
        if not is_workers_ai(model):  # the input is a Chat Completions body
            inner = chat_body(request, stream=stream)
            inner.pop("model", None)
            return {"model": model, "input": inner}
        profile = get_profile(model)
        body = (
            _chat_body(request)
            if profile.workers_ai_schema == "chat"
            else _classic_body(request, model)
        )
        if stream:
            body["stream"] = True
        else:
            body.pop("stream", None)
            body.pop("stream_options", None)
        return body

    def parse(self, body: Any) -> ChatCompletion:
        result = unwrap_envelope(body)
        if isinstance(result, dict) and isinstance(result.get("choices"), list):
            return normalize_completion(result)
        if isinstance(result, dict) and result.get("type") == "message":  # Anthropic native
            from .anthropic import parse_message

            return parse_message(result)
        if isinstance(result, dict) and ("response" in result or "tool_calls" in result):
            try:
                return classic_to_completion(result, model=str(result.get("model", "")))
            except SHAPE_ERRORS as exc:
                raise shape_error("/ai/run result", result, exc) from exc
        raise ResponseDecodeError(f"unrecognised /ai/run result: {str(body)[:200]}")

    def stream_state(self, model: str) -> StreamState:
        if model.startswith("anthropic/"):  # the native Anthropic event stream
            from .anthropic import MessagesStream

            return MessagesStream(model)
        return ChunkStream(model)


def classic_to_completion(result: dict[str, Any], model: str = "") -> ChatCompletion:
    """``{"response", "tool_calls", "usage"}`` → a canonical ``chat.completion``."""
    response = result.get("response")
    if response is None:
        content = ""
    elif isinstance(response, str):
        content = response
    else:  # JSON mode: the answer is an object
        content = json.dumps(response, ensure_ascii=False)
    message: dict[str, Any] = {"role": "assistant", "content": content}
    calls = result.get("tool_calls") or []
    if calls:
        message["tool_calls"] = [normalize_tool_call(c) for c in calls]
    for key in ("reasoning_content", "reasoning"):
        if isinstance(result.get(key), str):
            message["reasoning_content"] = result[key]
    return one_choice_completion(
        f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time()), model, message,
        "tool_calls" if calls else result.get("finish_reason", "stop"), result.get("usage"))


WORKERS_AI = WorkersAIDialect()
