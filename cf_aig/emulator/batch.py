"""Workers AI async Batch API (reference §4.2.6, §11.1): ``ai/run/{model}?queueRequest=true``.

A submission ``{"requests": [...]}`` runs every item at once (deterministic engine) and
stores the answers; polls ``{"request_id": ...}`` then walk the job through
``queued`` → ``running`` → done (``{"responses": [...], "usage": {...}}``), one step per
poll, so tests need no clock. Items failing validation fail alone (``success: false``);
the others succeed. Results come back shuffled (``id`` is the item's index), as a client
must expect. A submission over 10 MB answers 413 / 3006.

Per submission, the header ``x-cf-aig-emulator-batch`` (JSON) changes the walk::

    {"queued_polls": 1, "running_polls": 1, "fail": [3, 7], "order": "shuffled"|"input"}

``fail`` makes those items fail with an emulated capacity error. Batch-capable models are
the catalog's list plus the ``-batch`` twin ids (``@cf/meta/llama-3.3-70b-instruct-batch``);
a job may be polled at either id of a twin pair. Status faults and the other queued
faults apply to submissions and polls like to any model call.

>>> from cf_aig.emulator import Emulator
>>> import httpx
>>> with Emulator() as emu:
...     url = f"{emu.account_url}/ai/run/@cf/baai/bge-small-en-v1.5?queueRequest=true"
...     auth = {"Authorization": "Bearer t"}
...     rid = httpx.post(url, headers=auth, json={"requests": [{"text": ["hi"]}]}
...                      ).json()["result"]["request_id"]
...     states = [httpx.post(url, headers=auth, json={"request_id": rid}).json()["result"]
...               for _ in range(3)]
>>> [s.get("status", "done") for s in states], states[2]["responses"][0]["success"]
(['queued', 'running', 'done'], True)
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import wire
from .wire import HttpError

MAX_PAYLOAD = 10_000_000
BATCH_MODELS = frozenset({
    "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
    "@cf/baai/bge-small-en-v1.5",
    "@cf/baai/bge-base-en-v1.5",
    "@cf/baai/bge-large-en-v1.5",
    "@cf/baai/bge-m3",
    "@cf/meta/m2m100-1.2b",
})
TWINS = {"@cf/meta/llama-3.3-70b-instruct-batch": "@cf/meta/llama-3.3-70b-instruct-fp8-fast"}
OPTIONS_HEADER = "x-cf-aig-emulator-batch"

RunItem = Callable[[str, dict[str, Any]], Any]
"""Runs one item as ``/ai/run/{model}`` would: returns an Outcome or raises HttpError."""


@dataclass
class Job:
    """One stored submission."""

    request_id: str
    model: str
    responses: list[dict[str, Any]]
    usage: dict[str, int]
    queued_polls: int = 1
    running_polls: int = 1
    polls: int = 0
    ids: frozenset[str] = field(default_factory=frozenset)


def _v4(status: int, code: int, message: str) -> HttpError:
    return HttpError(status, wire.v4_error(code, message))


def _options(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        opts = json.loads(raw)
    except ValueError:
        raise _v4(400, 7003, f"{OPTIONS_HEADER} is not JSON") from None
    known = {"queued_polls", "running_polls", "fail", "order"}
    if not isinstance(opts, dict) or set(opts) - known:
        raise _v4(400, 7003, f"{OPTIONS_HEADER} must be an object with keys {sorted(known)}")
    return opts


def target_model(model: str) -> str:
    """The model a batch id runs (a ``-batch`` twin runs its base model)."""
    return TWINS.get(model, model)


def handle(jobs: dict[str, Job], lock: Any, model: str, body: Mapping[str, Any],
           headers: Mapping[str, str], raw_size: int, run_item: RunItem) -> tuple[Any, int]:
    """Answer one batch call; returns ``(reply body, tokens used)``."""
    if "request_id" in body:
        return _poll(jobs, lock, model, body["request_id"]), 0
    return _submit(jobs, lock, model, body, headers, raw_size, run_item)


def _submit(jobs: dict[str, Job], lock: Any, model: str, body: Mapping[str, Any],
            headers: Mapping[str, str], raw_size: int, run_item: RunItem) -> tuple[Any, int]:
    if raw_size >= MAX_PAYLOAD:
        raise _v4(413, 3006, f"Request too large: the batch payload is {raw_size} bytes; "
                             "it must be under 10 MB")
    target = target_model(model)
    if target not in BATCH_MODELS:
        raise _v4(400, 7003, f"Model execution failed (User Input Error): {model} does not "
                             "support async batch requests (queueRequest)")
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise _v4(400, 5006, "AiError: Bad input: required properties at '/' are 'requests' "
                             "(a non-empty list) or 'request_id'")
    opts = _options(headers.get(OPTIONS_HEADER))
    fail = set(opts.get("fail") or [])
    request_id = str(uuid.uuid4())
    responses, tokens_in, tokens_out = [], 0, 0
    for i, item in enumerate(requests):
        ref = item.get("external_reference") if isinstance(item, dict) else None
        entry: dict[str, Any] = {"id": i, "external_reference": ref}
        if i in fail:
            entry.update(result=None, success=False, errors=[
                {"code": 3040, "message": "Capacity temporarily exceeded (emulated item failure)"}])
        elif not isinstance(item, dict):
            entry.update(result=None, success=False, errors=[
                {"code": 5006, "message": "AiError: Bad input: each request must be an object"}])
        else:
            inp = {k: v for k, v in item.items() if k != "external_reference"}
            try:
                outcome = run_item(target, inp)
            except HttpError as err:
                errs = err.body.get("errors") or err.body.get("error") or []
                entry.update(result=None, success=False, errors=errs)
            else:
                out = outcome.body
                entry.update(result=out.get("result", out) if isinstance(out, dict) else out,
                             success=True)
                tokens_in += outcome.tokens_in
                tokens_out += outcome.tokens_out
        responses.append(entry)
    if opts.get("order", "shuffled") == "shuffled":
        random.Random(request_id).shuffle(responses)
    usage = {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
             "total_tokens": tokens_in + tokens_out}
    ids = frozenset({model, target, *(k for k, v in TWINS.items() if v == target)})
    job = Job(request_id, model, responses, usage, int(opts.get("queued_polls", 1)),
              int(opts.get("running_polls", 1)), ids=ids)
    with lock:
        jobs[request_id] = job
    return wire.v4_ok({"status": "queued", "request_id": request_id, "model": model}), tokens_in


def _poll(jobs: dict[str, Job], lock: Any, model: str, request_id: Any) -> Any:
    with lock:
        job = jobs.get(request_id) if isinstance(request_id, str) else None
        if job is None or model not in job.ids:
            raise _v4(404, 7003, f"No batch request {request_id!r} for model {model}")
        job.polls += 1
        if job.queued_polls > 0:
            job.queued_polls -= 1
            state = "queued"
        elif job.running_polls > 0:
            job.running_polls -= 1
            state = "running"
        else:
            return wire.v4_ok({"responses": job.responses, "usage": job.usage})
    return wire.v4_ok({"status": state, "request_id": job.request_id, "model": job.model})
