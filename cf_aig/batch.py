"""Workers AI async Batch API: submit many inputs, poll, get results in input order.

Wire (reference §4.2.6, §11.1): ``POST /ai/run/{model}?queueRequest=true`` with
``{"requests": [input, ...]}`` answers ``{"status": "queued", "request_id", "model"}``;
the same URL with ``{"request_id": ...}`` answers ``status: queued|running`` until done,
then ``{"responses": [{"id", "result", "success", "external_reference"}], "usage"}``
(``id`` is the item's index in its submission; results may come in any order).

Everything here is a sans-I/O *plan* (a generator of send/read/sleep actions, see
:mod:`cf_aig._protocol`): :class:`BatchJob` and :class:`AsyncBatchJob` only differ in the
driver that runs it. A payload over the 10 MB limit is split into several submissions;
one job tracks them all. Polling backs off from ``poll_interval`` to ``max_interval``
and stops at the ``timeout`` deadline with :class:`~cf_aig.errors.BatchTimeoutError`
(the job stays valid: wait again, or rebuild it later from ``job.id``).

Both model ids seen in the wild are accepted: the model's own id
(``@cf/meta/llama-3.3-70b-instruct-fp8-fast``) and its ``-batch`` twin
(``@cf/meta/llama-3.3-70b-instruct-batch``, as in Cloudflare's template); the job polls
at the id the submission reply names.

>>> from cf_aig.emulator import Emulator
>>> from cf_aig.client import Client
>>> with Emulator() as emu, Client(account_id="a", api_token="t",
...                                base_url=emu.base_url) as client:
...     job = client.submit_batch("@cf/baai/bge-small-en-v1.5",
...                               [{"text": ["a cat"]}, {"text": ["a dog"]}],
...                               external_references=["cat", "dog"])
...     items = job.wait(timeout=60, poll_interval=0.01)
>>> [(i.ok, i.external_reference, len(i.result["data"][0])) for i in items]
[(True, 'cat', 384), (True, 'dog', 384)]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from pydantic_core import to_json

from ._ids import check_model_id, model_path
from ._protocol import Call, CallPolicy, Sleep
from .dialects._common import loads, unwrap_envelope
from .errors import (
    BatchTimeoutError,
    CfAigError,
    ConfigurationError,
    ResponseDecodeError,
    error_from_body,
)
from .profiles import get_profile, is_workers_ai

if TYPE_CHECKING:
    from ._protocol import Core
    from .client import AsyncClient, Client

MAX_PAYLOAD_BYTES = 10_000_000
"""Cloudflare's limit for one submission ("whole payload < 10 MB")."""
DEFAULT_PAYLOAD_BYTES = 9_500_000
"""What one submission is packed up to by default (headroom under the limit)."""
BATCH_TWINS: dict[str, str] = {
    "@cf/meta/llama-3.3-70b-instruct-batch": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
}
"""``-batch`` model ids and the model each one runs (both forms are accepted)."""

_PENDING = ("queued", "running")


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One input's outcome, at its input position.

    >>> BatchItem(0, True, {"response": "hi"}).result["response"]
    'hi'
    """

    index: int
    ok: bool
    result: Any = None
    error: CfAigError | None = None
    external_reference: str | None = None


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """A snapshot after one round of polls (given to ``on_progress``).

    >>> BatchProgress("running", done_items=50, total_items=100, polls=3).fraction
    0.5
    """

    state: str
    """``queued`` (nothing started), ``running`` or ``done``."""
    done_items: int
    total_items: int
    polls: int
    submissions: int = 1

    @property
    def fraction(self) -> float:
        return self.done_items / self.total_items if self.total_items else 1.0


@dataclass(slots=True)
class _Part:
    request_id: str
    model: str
    offset: int
    count: int
    state: str = "queued"
    responses: list[Any] | None = None
    usage: dict[str, Any] = field(default_factory=dict)


def batch_model_ids(model: str) -> tuple[str, ...]:
    """Every id a batch for ``model`` may be submitted or polled at.

    >>> batch_model_ids("@cf/meta/llama-3.3-70b-instruct-batch")
    ('@cf/meta/llama-3.3-70b-instruct-batch', '@cf/meta/llama-3.3-70b-instruct-fp8-fast')
    """
    twins = [model, BATCH_TWINS.get(model, "")]
    twins += [k for k, v in BATCH_TWINS.items() if v == model]
    return tuple(dict.fromkeys(t for t in twins if t))


def pack_requests(
    items: Sequence[Mapping[str, Any]], max_bytes: int = DEFAULT_PAYLOAD_BYTES
) -> list[tuple[int, int]]:
    """Split ``items`` into ``(offset, count)`` runs whose ``{"requests": [...]}`` bodies
    each stay within ``max_bytes``; an item that alone is too large is refused.

    >>> pack_requests([{"text": "x" * 40}] * 5, max_bytes=120)
    [(0, 2), (2, 2), (4, 1)]
    """
    overhead = len(b'{"requests":[]}')
    runs: list[tuple[int, int]] = []
    start, size = 0, overhead
    for i, item in enumerate(items):
        n = len(to_json(item))
        if overhead + n > max_bytes:
            raise ConfigurationError(
                f"batch input {i} is {n} bytes as JSON: one submission must stay under "
                f"{max_bytes} bytes (Cloudflare's limit is 10 MB); shorten that input or "
                "send it with client.run()"
            )
        sep = 1 if i > start else 0
        if size + sep + n > max_bytes:
            runs.append((start, i - start))
            start, size, sep = i, overhead, 0
        size += sep + n
    if len(items) > start:
        runs.append((start, len(items) - start))
    return runs


def _check(
    model: Any, inputs: Any, refs: Any, max_bytes: Any
) -> list[dict[str, Any]]:
    if not isinstance(model, str) or not is_workers_ai(check_model_id(model)):
        raise ConfigurationError(
            f"the Batch API runs Workers AI models (@cf/...) only, got {model!r}; for other "
            "models send the calls concurrently with AsyncClient"
        )
    if isinstance(inputs, (str, bytes, Mapping)) or not isinstance(inputs, Sequence):
        raise ConfigurationError("inputs must be a list of model inputs (dicts)")
    if not inputs:
        raise ConfigurationError("inputs must hold at least one model input")
    for i, inp in enumerate(inputs):
        if not isinstance(inp, Mapping):
            raise ConfigurationError(
                f"inputs[{i}] must be a dict (the model's own input), got {type(inp).__name__}"
            )
        if "external_reference" in inp:
            raise ConfigurationError(
                f"inputs[{i}] sets 'external_reference'; pass external_references= instead"
            )
    if refs is not None:
        if isinstance(refs, (str, bytes)) or not isinstance(refs, Sequence):
            raise ConfigurationError("external_references must be a list of strings")
        if len(refs) != len(inputs):
            raise ConfigurationError(
                f"external_references has {len(refs)} entries for {len(inputs)} inputs"
            )
        if not all(isinstance(r, str) for r in refs):
            raise ConfigurationError("external_references must be a list of strings")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or not (
        1024 <= max_bytes <= MAX_PAYLOAD_BYTES
    ):
        raise ConfigurationError(
            f"max_payload_bytes must be an integer from 1024 to {MAX_PAYLOAD_BYTES}, "
            f"got {max_bytes!r}"
        )
    items = []
    for i, inp in enumerate(inputs):
        item = dict(inp)
        if refs is not None:
            item["external_reference"] = refs[i]
        items.append(item)
    return items


def _result_of(response: httpx.Response, body: bytes | None) -> Any:
    assert body is not None
    obj = unwrap_envelope(loads(body, "batch reply"), response.status_code)
    if not isinstance(obj, dict):
        raise ResponseDecodeError(f"unexpected batch reply: {str(obj)[:200]}")
    return obj


class _BatchPlan:
    """A batch job's state and its plans; the subclasses only add drivers."""

    def __init__(
        self,
        client: Core,
        model: str,
        parts: list[_Part],
        references: list[str | None],
        headers: Mapping[str, str],
        policy: CallPolicy,
    ) -> None:
        self._client = client
        self.model = model
        self._parts = parts
        self._refs = references
        self._headers = dict(headers)
        self._policy = policy
        self.polls = 0
        """Poll requests sent so far."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, model={self.model!r}, items={self.total})"

    @property
    def id(self) -> str:
        """The request id (several, comma-joined, when the payload was split)."""
        return ",".join(p.request_id for p in self._parts)

    @property
    def request_ids(self) -> tuple[str, ...]:
        return tuple(p.request_id for p in self._parts)

    @property
    def total(self) -> int:
        return sum(p.count for p in self._parts)

    @property
    def counts(self) -> tuple[int, ...]:
        """Items per submission (with :attr:`id`, enough to rebuild the job elsewhere)."""
        return tuple(p.count for p in self._parts)

    @property
    def usage(self) -> dict[str, float]:
        """Usage summed over the finished submissions."""
        out: dict[str, float] = {}
        for part in self._parts:
            for key, value in part.usage.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    out[key] = out.get(key, 0) + value
        return out

    def progress(self) -> BatchProgress:
        done = sum(p.count for p in self._parts if p.state == "done")
        if all(p.state == "done" for p in self._parts):
            state = "done"
        elif all(p.state == "queued" for p in self._parts):
            state = "queued"
        else:
            state = "running"
        return BatchProgress(state, done, self.total, self.polls, len(self._parts))

    # ---- plans ---------------------------------------------------------------------

    def _poll_plan(self) -> Call[BatchProgress]:
        client = self._client
        for part in self._parts:
            if part.state == "done":
                continue
            request = client.build_request(
                "POST", model_path(part.model), body={"request_id": part.request_id},
                headers=self._headers, params={"queueRequest": "true"})
            result = yield from client.call(request, _result_of, policy=self._policy)
            self.polls += 1
            _apply_poll(part, result)
        return self.progress()

    def _wait_plan(
        self,
        timeout: float | None,
        poll_interval: float,
        max_interval: float,
        on_progress: Callable[[BatchProgress], None] | None,
        progress_bar: bool,
    ) -> Call[list[BatchItem]]:
        if timeout is not None and (isinstance(timeout, bool) or timeout <= 0):
            raise ConfigurationError(f"timeout must be seconds > 0 or None, got {timeout!r}")
        if poll_interval <= 0 or max_interval < poll_interval:
            raise ConfigurationError(
                "poll_interval must be > 0 and max_interval >= poll_interval, got "
                f"{poll_interval!r} and {max_interval!r}")
        deadline = None if timeout is None else time.monotonic() + timeout
        bar = _bar(self.total) if progress_bar else None
        delay = poll_interval
        try:
            while True:
                status = yield from self._poll_plan()
                if bar is not None:
                    bar.update(status.done_items - bar.n)
                    bar.set_postfix_str(status.state)
                if on_progress is not None:
                    on_progress(status)
                if status.state == "done":
                    return self.results()
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    raise BatchTimeoutError(
                        f"batch {self.id} not done within {timeout}s "
                        f"({status.done_items}/{status.total_items} items); call wait() "
                        "again to keep waiting", job_id=self.id)
                wait = delay if deadline is None else min(delay, deadline - now)
                yield Sleep(wait)
                delay = min(max_interval, delay * 1.5)
        finally:
            if bar is not None:
                bar.close()

    # ---- results -------------------------------------------------------------------

    def results(self) -> list[BatchItem]:
        """Items in input order (only once every submission is done)."""
        if any(p.state != "done" for p in self._parts):
            raise ConfigurationError(
                f"batch {self.id} is not done yet ({self.progress().state}); call wait()")
        out: list[BatchItem] = []
        for part in self._parts:
            out.extend(_items(part, self._refs))
        return out


def _apply_poll(part: _Part, result: dict[str, Any]) -> None:
    responses = result.get("responses")
    if isinstance(responses, list):
        part.state, part.responses = "done", responses
        usage = result.get("usage")
        part.usage = dict(usage) if isinstance(usage, Mapping) else {}
        return
    status = result.get("status")
    if status in _PENDING:
        part.state = str(status)
        return
    raise ResponseDecodeError(
        f"batch {part.request_id}: poll reply has neither 'responses' nor a queued/running "
        f"status: {str(result)[:200]}")


def _items(part: _Part, refs: list[str | None]) -> list[BatchItem]:
    by_id: dict[int, Any] = {}
    for resp in part.responses or []:
        rid = resp.get("id") if isinstance(resp, Mapping) else None
        if isinstance(rid, int) and not isinstance(rid, bool) and 0 <= rid < part.count:
            by_id[rid] = resp
    out = []
    for k in range(part.count):
        index = part.offset + k
        ref = refs[index]
        resp = by_id.get(k)
        if resp is None:
            err: CfAigError = ResponseDecodeError(
                f"batch {part.request_id} returned no result for input {index}")
            out.append(BatchItem(index, False, None, err, ref))
            continue
        echoed = resp.get("external_reference")
        if ref is None and isinstance(echoed, str):
            ref = echoed
        if resp.get("success") is False or (
                "success" not in resp and ("error" in resp or "errors" in resp)):
            error = error_from_body(None, resp)
            error.message = f"batch input {index}: {error.message}"
            out.append(BatchItem(index, False, resp.get("result"), error, ref))
            continue
        out.append(BatchItem(index, True, resp.get("result"), None, ref))
    return out


def _bar(total: int) -> Any:
    try:
        from tqdm.auto import tqdm  # type: ignore[import-untyped,unused-ignore]
    except ImportError:  # the callback still reports progress
        return None
    return tqdm(total=total, unit="item", desc="batch")


def submit_plan(
    client: Core,
    model: str,
    inputs: Sequence[Mapping[str, Any]],
    external_references: Sequence[str] | None,
    max_payload_bytes: int,
    call: Mapping[str, Any],
) -> Call[tuple[list[_Part], list[str | None], dict[str, str], CallPolicy]]:
    """Validate, split under the payload limit and submit each run (one plan)."""
    items = _check(model, inputs, external_references, max_payload_bytes)
    hdrs, policy = client.resolve(call)
    refs: list[str | None] = (
        list(external_references) if external_references is not None else [None] * len(items))
    parts = []
    for offset, count in pack_requests(items, max_payload_bytes):
        request = client.build_request(
            "POST", model_path(model), body={"requests": items[offset: offset + count]},
            headers=hdrs, params={"queueRequest": "true"})
        result = yield from client.call(request, _result_of, policy=policy)
        request_id = result.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            raise ResponseDecodeError(
                f"batch submission answered without a request_id: {str(result)[:200]}")
        named = result.get("model")
        poll_model = model
        if isinstance(named, str) and named in batch_model_ids(model):
            poll_model = named  # the id the service says the job lives under
        part = _Part(request_id, poll_model, offset, count)
        if isinstance(result.get("responses"), list):  # answered at once
            _apply_poll(part, result)
        parts.append(part)
    return parts, refs, dict(hdrs), policy


def resume_parts(model: str, job_id: str, counts: Sequence[int]) -> list[_Part]:
    """The parts of a job rebuilt from its ``id`` and each submission's item count."""
    ids = [i for i in job_id.split(",") if i]
    if not ids or len(ids) != len(counts):
        raise ConfigurationError(
            f"job id {job_id!r} names {len(ids)} submissions but {len(counts)} counts were "
            "given; pass one count per submission (job.counts)")
    parts, offset = [], 0
    for rid, n in zip(ids, counts, strict=True):
        parts.append(_Part(rid, model, offset, int(n)))
        offset += int(n)
    return parts


def embedding_inputs(
    model: str, texts: Sequence[str], batch_size: int | None = None
) -> list[dict[str, Any]]:
    """Texts as batch inputs of at most ``batch_size`` texts (the model's limit, 100).

    >>> embedding_inputs("@cf/baai/bge-small-en-v1.5", ["a", "b", "c"], 2)
    [{'text': ['a', 'b']}, {'text': ['c']}]
    """
    if not isinstance(model, str) or not is_workers_ai(model):
        raise ConfigurationError(
            f"batch_api=True needs a Workers AI embedding model (@cf/...), got {model!r}; "
            "the Batch API runs Workers AI models only")
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise ConfigurationError("texts must be a list of strings")
    size = batch_size or get_profile(model).embedding_batch_size
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 100:
        raise ConfigurationError(
            f"batch_size must be an integer from 1 to 100 with the Batch API, got {size!r}")
    return [{"text": list(texts[i: i + size])} for i in range(0, len(texts), size)]


def check_batch_embedding(
    model: str, api: str | None, dimensions: int | None, encoding_format: str | None
) -> None:
    """Refuse, before sending, embedding settings the Batch API cannot carry."""
    if not isinstance(model, str) or not is_workers_ai(model):
        raise ConfigurationError(
            f"batch_api=True needs a Workers AI embedding model (@cf/...), got {model!r}; "
            "the Batch API runs Workers AI models only (set batch_api=False)")
    if api == "openai":
        raise ConfigurationError(
            "batch_api=True sends to /ai/run/{model}?queueRequest=true; api='openai' "
            "(/ai/v1/embeddings) has no batch form: drop api or batch_api")
    for name, value in (("dimensions", dimensions), ("encoding_format", encoding_format)):
        if value is not None:
            raise ConfigurationError(
                f"{name} cannot be carried by the Workers AI Batch API (native input is "
                f"{{'text': [...]}}); drop {name} or set batch_api=False")


def embedding_vectors(items: Sequence[BatchItem], count: int) -> list[list[float]]:
    """The vectors of finished embedding items, in order; the first failure is raised
    (a vector is never silently missing)."""
    vectors: list[list[float]] = []
    for item in items:
        if not item.ok:
            assert item.error is not None
            raise item.error
        data = item.result.get("data") if isinstance(item.result, Mapping) else None
        if not isinstance(data, list):
            raise ResponseDecodeError(
                f"batch embedding result {item.index} has no 'data' list: "
                f"{str(item.result)[:200]}")
        vectors.extend(data)
    if len(vectors) != count:
        raise ResponseDecodeError(f"the batch returned {len(vectors)} vectors for {count} texts")
    return vectors


def embed_with_batch_api(
    client: Client, model: str, texts: Sequence[str], *, batch_size: int | None = None,
    timeout: float | None = None, poll_interval: float = 1.0,
    on_progress: Callable[[BatchProgress], None] | None = None,
) -> list[list[float]]:
    """Embed ``texts`` through the Batch API: submit, wait, vectors in order."""
    job = client.submit_batch(model, embedding_inputs(model, texts, batch_size))
    items = job.wait(timeout, poll_interval=poll_interval, on_progress=on_progress)
    return embedding_vectors(items, len(texts))


async def aembed_with_batch_api(
    client: AsyncClient, model: str, texts: Sequence[str], *, batch_size: int | None = None,
    timeout: float | None = None, poll_interval: float = 1.0,
    on_progress: Callable[[BatchProgress], None] | None = None,
) -> list[list[float]]:
    """Async :func:`embed_with_batch_api`."""
    job = await client.submit_batch(model, embedding_inputs(model, texts, batch_size))
    items = await job.wait(timeout, poll_interval=poll_interval, on_progress=on_progress)
    return embedding_vectors(items, len(texts))


class BatchJob(_BatchPlan):
    """A submitted batch; :meth:`wait` returns a :class:`BatchItem` per input, in order.

    Made by :meth:`Client.submit_batch <cf_aig.client.Client.submit_batch>`; see the
    module docstring for a runnable example.
    """

    _client: Client

    def poll(self) -> BatchProgress:
        """One poll of every unfinished submission."""
        return self._client._drive(self._poll_plan())

    def wait(
        self,
        timeout: float | None = None,
        *,
        poll_interval: float = 1.0,
        max_interval: float = 30.0,
        on_progress: Callable[[BatchProgress], None] | None = None,
        progress_bar: bool = False,
    ) -> list[BatchItem]:
        """Poll with backoff until done (or ``timeout`` seconds, then ``BatchTimeoutError``).

        ``on_progress`` gets a :class:`BatchProgress` after each round; ``progress_bar``
        shows a tqdm bar when tqdm is installed.
        """
        return self._client._drive(
            self._wait_plan(timeout, poll_interval, max_interval, on_progress, progress_bar))


class AsyncBatchJob(_BatchPlan):
    """The async twin of :class:`BatchJob` (same plans, awaited).

    >>> import asyncio
    >>> from cf_aig.emulator import Emulator
    >>> from cf_aig.client import AsyncClient
    >>> async def main(url: str) -> list[bool]:
    ...     async with AsyncClient(account_id="a", api_token="t", base_url=url) as client:
    ...         job = await client.submit_batch("@cf/baai/bge-small-en-v1.5",
    ...                                         [{"text": ["one"]}, {"text": ["two"]}])
    ...         return [i.ok for i in await job.wait(timeout=60, poll_interval=0.01)]
    >>> with Emulator() as emu:
    ...     asyncio.run(main(emu.base_url))
    [True, True]
    """

    _client: AsyncClient

    async def poll(self) -> BatchProgress:
        """One poll of every unfinished submission."""
        return await self._client._drive(self._poll_plan())

    async def wait(
        self,
        timeout: float | None = None,
        *,
        poll_interval: float = 1.0,
        max_interval: float = 30.0,
        on_progress: Callable[[BatchProgress], None] | None = None,
        progress_bar: bool = False,
    ) -> list[BatchItem]:
        """Async :meth:`BatchJob.wait`."""
        return await self._client._drive(
            self._wait_plan(timeout, poll_interval, max_interval, on_progress, progress_bar))


__all__ = [
    "BATCH_TWINS",
    "DEFAULT_PAYLOAD_BYTES",
    "MAX_PAYLOAD_BYTES",
    "AsyncBatchJob",
    "BatchItem",
    "BatchJob",
    "BatchProgress",
    "aembed_with_batch_api",
    "batch_model_ids",
    "check_batch_embedding",
    "embed_with_batch_api",
    "embedding_inputs",
    "embedding_vectors",
    "pack_requests",
    "resume_parts",
    "submit_plan",
]
