"""Embedding request policy, shared by the core clients and both adapters.

One place decides what an embedding call may ask for and how the answer is read:

- ``dimensions`` is sent only where the model can shorten its vectors (OpenAI's
  ``text-embedding-3-*`` on ``/ai/v1/embeddings``); asking any other model for a size
  other than its own is a :class:`ConfigurationError` before sending. Every answer is
  checked: a vector of another length is a :class:`ResponseDecodeError` (asked 256, got
  1536 never passes silently).
- ``encoding_format`` ``"float"`` (default) or ``"base64"`` (smaller answers; decoded
  back to floats here) on ``/ai/v1/embeddings``; Workers AI native input has no such field.

>>> embedding_body("openai/text-embedding-3-small", ["hi"], "openai", dimensions=256)
{'model': 'openai/text-embedding-3-small', 'input': ['hi'], 'dimensions': 256}
>>> embedding_body("@cf/baai/bge-base-en-v1.5", ["hi"], "run", dimensions=256)
Traceback (most recent call last):
...
cf_aig.errors.ConfigurationError: dimensions=256: @cf/baai/bge-base-en-v1.5 always returns \
768-dimensional vectors and cannot be asked for another size; drop dimensions or use a model \
that can (openai/text-embedding-3-large, openai/text-embedding-3-small)
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from typing import Any, Literal

from ._ids import model_path
from .errors import ConfigurationError, ResponseDecodeError
from .profiles import FLEXIBLE_EMBEDDINGS, get_profile, is_workers_ai

ENCODING_FORMATS = ("float", "base64")
EmbeddingApi = Literal["run", "openai"]
"""Embedding endpoints: Workers AI native ``/ai/run/{model}`` or ``/ai/v1/embeddings``."""


def embedding_api(model: str, api: str | None = None) -> EmbeddingApi:
    """The embedding endpoint for ``model``: ``api`` when given (checked), else ``run``
    for ``@cf``/``@hf`` models and ``openai`` for the others.

    >>> embedding_api("@cf/baai/bge-m3"), embedding_api("openai/text-embedding-3-small")
    ('run', 'openai')
    """
    if api is None:
        return "run" if is_workers_ai(model) else "openai"
    if api == "run":
        return "run"
    if api == "openai":
        return "openai"
    raise ConfigurationError(f"embeddings api must be 'run' or 'openai', got {api!r}")


def check_embedding_args(model: str, api: str, dimensions: int | None,
                         encoding_format: str | None) -> None:
    """Raise :class:`ConfigurationError` for a size or format ``model`` on ``api`` cannot
    return (see the module docstring)."""
    if dimensions is not None:
        if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
            raise ConfigurationError(f"dimensions must be a positive integer, got {dimensions!r}")
        profile = get_profile(model)
        sizes = profile.embedding_sizes
        flexible = ", ".join(sorted(FLEXIBLE_EMBEDDINGS))
        if sizes is None:
            if profile.embedding_dimensions != dimensions:
                own = (f"always returns {profile.embedding_dimensions}-dimensional vectors"
                       if profile.embedding_dimensions else "has no known size")
                raise ConfigurationError(
                    f"dimensions={dimensions}: {model} {own} and cannot be asked for another "
                    f"size; drop dimensions or use a model that can ({flexible})")
        elif not sizes[0] <= dimensions <= sizes[1]:
            raise ConfigurationError(
                f"dimensions={dimensions}: {model} returns {sizes[0]} to {sizes[1]} dimensions")
        elif api != "openai":
            raise ConfigurationError(
                f"dimensions is carried by /ai/v1/embeddings (api='openai'), not by "
                f"api={api!r}, for {model}")
    if encoding_format is not None:
        if encoding_format not in ENCODING_FORMATS:
            raise ConfigurationError(
                f"encoding_format must be 'float' or 'base64', got {encoding_format!r}")
        if api != "openai" and encoding_format != "float":
            raise ConfigurationError(
                f"encoding_format={encoding_format!r} is carried by /ai/v1/embeddings "
                f"(api='openai'), not by Workers AI native input (api={api!r}); drop it")


def check_embedding_credentials(provider_api_key: object) -> None:
    """Refuse a provider key on an embeddings model: embeddings go to the REST API, which
    takes no provider key in the request (only the gateway host's ``/compat`` chat and
    responses do), so the key would be dropped and Unified Billing would pay instead.

    >>> check_embedding_credentials(None)
    """
    if provider_api_key is not None:
        raise ConfigurationError(
            "provider_api_key is sent only with chat completions and responses on "
            "surface='gateway'; embeddings use the REST API, which cannot carry it: drop it "
            "and store the key in the gateway (byok_alias picks a stored key)")


def embedding_body(model: str, texts: Sequence[str], api: str, *,
                   dimensions: int | None = None,
                   encoding_format: str | None = None) -> dict[str, Any]:
    """The request body for one batch (after :func:`check_embedding_args`)."""
    check_embedding_args(model, api, dimensions, encoding_format)
    if api == "run":
        return {"text": list(texts)}
    body: dict[str, Any] = {"model": model, "input": list(texts)}
    if dimensions is not None and get_profile(model).embedding_sizes is not None:
        body["dimensions"] = dimensions
    if encoding_format is not None:
        body["encoding_format"] = encoding_format
    return body


def embedding_path(model: str, api: str) -> str:
    """The path of an embedding call: ``/ai/run/{model}`` or ``/ai/v1/embeddings``."""
    return model_path(model) if api == "run" else "/ai/v1/embeddings"


def embedding_result(api: str, obj: Any) -> tuple[Any, dict[str, Any]]:
    """The vectors and usage of one answer (envelope already removed): Workers AI's
    ``{"data": [[...]]}``, or OpenAI's ``data`` items in ``index`` order."""
    if api == "run":
        return (obj.get("data") if isinstance(obj, dict) else None), {}
    items = sorted(obj.get("data") or [], key=lambda d: d.get("index", 0))
    return [decode_vector(d.get("embedding")) for d in items], obj.get("usage") or {}


def decode_vector(value: Any) -> list[float]:
    """One embedding as floats: a list as is, a base64 string of float32 (little-endian)
    decoded."""
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError as exc:
            raise ResponseDecodeError(f"embedding is not valid base64: {value[:40]!r}") from exc
        if len(raw) % 4:
            raise ResponseDecodeError("base64 embedding is not a whole number of float32s")
        fmt = f"<{len(raw) // 4}f"
        return list(struct.unpack(fmt, raw))
    raise ResponseDecodeError(f"unrecognised embedding value: {str(value)[:80]}")


def check_sizes(model: str, vectors: Sequence[Sequence[float]], dimensions: int | None) -> None:
    """Raise :class:`ResponseDecodeError` if a vector is not ``dimensions`` long."""
    if dimensions is None:
        return
    for vector in vectors:
        if len(vector) != dimensions:
            raise ResponseDecodeError(
                f"asked {model} for {dimensions}-dimensional vectors, got {len(vector)}")


def pop_embedding_call_args(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Per-call keyword arguments of an embedding call, for ``Client.embed``: gateway
    options (by name or ``gateway_options=``), ``extra_headers``, the transport limits
    (``total_timeout``, ``max_response_bytes``...), ``dimensions`` and ``encoding_format``.
    Anything else is a :class:`ConfigurationError` (a typo is never dropped silently).

    >>> pop_embedding_call_args({"dimensions": 256, "cache_ttl": 60})["dimensions"]
    256
    >>> pop_embedding_call_args({"dimension": 256})
    Traceback (most recent call last):
    ...
    cf_aig.errors.ConfigurationError: unknown embedding argument(s) ['dimension']; known: \
dimensions, encoding_format, extra_headers, gateway_options, the gateway option names and \
the transport limits
    """
    from .fields import pop_call_options

    rest = dict(kwargs)
    out: dict[str, Any] = {}
    for key in ("dimensions", "encoding_format"):
        if rest.get(key) is not None:
            out[key] = rest.pop(key)
        rest.pop(key, None)
    timeout = rest.pop("timeout", None)  # embed takes no timeout: report it, never drop it
    call = pop_call_options(rest)
    if timeout is not None:
        rest["timeout"] = timeout
    if rest:
        raise ConfigurationError(
            f"unknown embedding argument(s) {sorted(rest)}; known: dimensions, "
            "encoding_format, extra_headers, gateway_options, the gateway option names and "
            "the transport limits")
    out.update(call)  # options, headers and the transport limits
    return out
