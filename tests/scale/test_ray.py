"""Ray Data: ``map_batches`` with our callable classes on a real 2-CPU Ray session
(worker processes, not local mode), against the emulator in its own process.

One Ray session for the whole module; a few thousand texts at most."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cf_aig.client import Client
from cf_aig.ray import ChatBatches, EmbedBatches

from .conftest import ACCOUNT, TOKEN
from .test_multiprocess import CLASSES

ray = pytest.importorskip("ray")  # a missing module fails the suite (tests/conftest.py)

MODEL = "@cf/baai/bge-small-en-v1.5"


@pytest.fixture(scope="module")
def ray_session(emulator_url: str) -> Iterator[Any]:
    """``ray.init(num_cpus=2)``; workers inherit CLOUDFLARE_* from this process."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
        mp.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
        mp.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
        mp.setenv("CLOUDFLARE_AI_GATEWAY_BASE_URL", emulator_url)
        ray.init(num_cpus=2, include_dashboard=False, configure_logging=False,
                 runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(sys.path)}})
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
        ray.data.DataContext.get_current().enable_progress_bars = False
        try:
            yield ray
        finally:
            ray.shutdown()


class EmbedWithPid(EmbedBatches):
    """Records which actor process embedded each row."""

    def __call__(self, batch: Any) -> Any:
        out = super().__call__(batch)
        out["pid"] = [os.getpid()] * len(out["embedding"])
        return out


def test_embed_text_column_with_two_actors(ray_session: Any, emulator_url: str) -> None:
    texts = [f"document {i} about topic {i % 17}" for i in range(2000)]
    ds = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(texts)],
                             override_num_blocks=20)
    out = ds.map_batches(EmbedWithPid, concurrency=2, batch_size=100, num_cpus=0.5,
                         fn_constructor_kwargs={"model": MODEL, "max_concurrency": 4})
    rows = out.take_all()
    assert len(rows) == 2000
    assert sorted(r["id"] for r in rows) == list(range(2000))
    assert len({r["pid"] for r in rows}) == 2, "both actors did work"
    assert os.getpid() not in {r["pid"] for r in rows}, "worker processes, not local mode"
    with Client(account_id=ACCOUNT, api_token=TOKEN, base_url=emulator_url) as client:
        sample = [rows[k] for k in (0, 777, 1999)]
        expected = client.embed(MODEL, [texts[r["id"]] for r in sample]).vectors
    for row, vec in zip(sample, expected, strict=True):
        assert list(row["embedding"]) == pytest.approx(vec, abs=1e-6)


def test_chat_over_prompt_column(ray_session: Any) -> None:
    ds = ray.data.from_items([{"prompt": f"Question {i}?"} for i in range(200)],
                             override_num_blocks=4)
    out = ds.map_batches(ChatBatches, concurrency=2, batch_size=25, num_cpus=0.5,
                         fn_constructor_kwargs={"model": "openai/gpt-5.5", "system": "Be brief",
                                                "max_concurrency": 8,
                                                "params": {"max_tokens": 64}})
    rows = out.take_all()
    assert len(rows) == 200
    assert all(r["error"] is None and r["response"] for r in rows)


def test_row_failures_are_recorded_not_fatal(ray_session: Any) -> None:
    ds = ray.data.from_items([{"prompt": "Hi"}] * 4, override_num_blocks=1)
    out = ds.map_batches(ChatBatches, concurrency=1, batch_size=4, num_cpus=0.5,
                         fn_constructor_kwargs={"model": "nobody/no-such-model",
                                                "max_retries": 0})
    rows = out.take_all()
    assert len(rows) == 4
    assert all(r["response"] is None and "NotFoundError" in r["error"] for r in rows)


@pytest.mark.parametrize("name", list(CLASSES))
def test_each_class_ships_to_a_ray_worker_after_use(ray_session: Any, emulator_url: str,
                                                    name: str) -> None:
    """Each public class, used here, then pickled into a Ray task in a worker process.
    (It carries its own token, a different one: see the module docstring of cf_aig.ray.)"""
    make, use = CLASSES[name]
    obj = make(emulator_url)
    expected = use(obj)

    @ray.remote(num_cpus=0.5)
    def remote_use(o: Any) -> tuple[int, Any]:
        return os.getpid(), use(o)

    pid, got = ray.get(remote_use.remote(obj))
    assert pid != os.getpid()
    assert got == expected


def test_token_is_not_in_ray_logs(ray_session: Any) -> None:
    """Credentials came from the environment: nothing Ray wrote holds the token."""
    node = ray._private.worker.global_worker.node
    session = Path(node.get_session_dir_path())
    assert session.is_dir()
    seen = []
    for path in session.rglob("*"):
        if path.is_file() and path.stat().st_size < 50_000_000 and "sockets" not in path.parts:
            try:
                if TOKEN.encode() in path.read_bytes():
                    seen.append(str(path))
            except OSError:
                continue
    assert seen == []
