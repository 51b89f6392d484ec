"""Catalogue refresh from /ai/models/search and /ai/models/schema, the on-disk cache, the
profiles that use it, and ``python -m cf_aig models``, against the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cf_aig import AsyncClient, Client, catalog, get_profile
from cf_aig.__main__ import main
from cf_aig.emulator import Emulator


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private cache directory; the catalogue in memory is forgotten before and after."""
    monkeypatch.setenv(catalog.ENV_CACHE_DIR, str(tmp_path))
    catalog.forget()
    yield tmp_path
    catalog.forget()


def client_kw(emu: Emulator) -> dict[str, str]:
    return {"account_id": emu.account_id, "api_token": "tok", "base_url": emu.base_url}


def test_refresh_reads_search_and_schemas_and_caches_with_its_date(
        cf_aig_emulator: Emulator, cache_dir: Path) -> None:
    assert catalog.cached() is None  # nothing cached: the bundled table is the default
    with Client(**client_kw(cf_aig_emulator)) as client:
        found = catalog.refresh(client)
    kimi = found.get("@cf/moonshotai/kimi-k2.6")
    assert kimi is not None and kimi.task == "Text Generation"
    assert (kimi.context_window, kimi.tools, kimi.vision, kimi.reasoning, kimi.workers_paid) == (
        262_144, True, True, True, True)
    assert kimi.json_schema is True  # from /ai/models/schema
    assert found.get("@cf/meta/llama-3.3-70b-instruct-fp8-fast").batch
    assert found.get("@cf/baai/bge-m3").task == "Text Embeddings"
    paths = {r.path.rsplit("/", 1)[-1] for r in cf_aig_emulator.requests}
    assert paths == {"search", "schema"}
    on_disk = json.loads((cache_dir / "catalog.json").read_text())
    assert on_disk["fetched_at"] == found.fetched_at and on_disk["fetched_at"].endswith("Z")
    assert len(on_disk["models"]) == len(found.entries)
    catalog.forget()  # a new process would read the file
    assert catalog.cached().get("@cf/moonshotai/kimi-k2.6") == kimi


async def test_async_refresh_and_profiles_follow_the_cache(
        cf_aig_emulator: Emulator, cache_dir: Path) -> None:
    model = "@cf/meta/llama-3.1-8b-instruct-awq"  # bundled: classic defaults
    assert get_profile(model).context_window == 8_192 and get_profile(model).task is None
    async with AsyncClient(**client_kw(cf_aig_emulator)) as client:
        found = await catalog.arefresh(client, search="llama-3.1-8b-instruct-awq")
    assert [e.id for e in found.entries] == [model]
    refreshed = get_profile(model)
    assert refreshed.task == "Text Generation" and refreshed.known
    assert refreshed.json_schema is False  # its schema has no response_format
    unknown = "@cf/acme/not-in-any-table"
    assert not get_profile(unknown).known  # the catalogue does not invent models


def test_search_paginates(cf_aig_emulator: Emulator, cache_dir: Path,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "PER_PAGE", 10)
    with Client(**client_kw(cf_aig_emulator)) as client:
        found = catalog.refresh(client, schemas=False, save=False)
    pages = [r.query for r in cf_aig_emulator.requests if r.path.endswith("/search")]
    assert len(pages) == len(found.entries) // 10 + 1 and len(found.entries) > 50
    assert len({e.id for e in found.entries}) == len(found.entries)
    assert not (cache_dir / "catalog.json").exists()  # save=False


def test_parses_the_plausible_shapes() -> None:
    entry = catalog.entry_from_search({"name": "@cf/a/b", "task": "Text Generation",
                                       "properties": {"max_input_tokens": "4,096",
                                                      "function_calling": "false"}})
    assert (entry.task, entry.context_window, entry.tools) == ("Text Generation", 4096, False)
    assert catalog.schema_takes_response_format(
        {"schema": {"input": {"anyOf": [{"properties": {"response_format": {}}}]}}}) is True
    assert catalog.schema_takes_response_format({"output": {}}) is None


def test_cli_models_against_the_emulator(cf_aig_emulator: Emulator, cache_dir: Path,
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", cf_aig_emulator.account_id)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "tok")
    monkeypatch.setenv("CLOUDFLARE_AI_GATEWAY_BASE_URL", cf_aig_emulator.base_url)
    assert main(["models", "--search", "kimi"]) == 0
    offline = capsys.readouterr().out
    assert "bundled table" in offline and "@cf/moonshotai/kimi-k2.6" in offline
    assert main(["models", "--refresh", "--search", "kimi"]) == 0
    out = capsys.readouterr()
    assert "cached" in out.err and "fetched 20" in out.out
    header, *rows = out.out.splitlines()[1:]
    assert header.split() == ["id", "task", "context", "tools", "vision", "batch", "reasoning"]
    assert rows[-1].split() == ["@cf/moonshotai/kimi-k2.6", "Text", "Generation", "262,144",
                                "yes", "yes", "-", "yes"]
    assert main(["models", "--json", "--search", "bge-m3"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [m["id"] for m in data["models"]] == ["@cf/baai/bge-m3"] and data["models"][0]["batch"]


def test_cli_refresh_without_credentials_says_so(cache_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["models", "--refresh"]) == 2
    assert "cannot refresh" in capsys.readouterr().err


def test_both_adapters_profiles_use_the_refreshed_catalogue(cf_aig_emulator: Emulator,
                                                            cache_dir: Path) -> None:
    from langchain_cf_aig import ChatCloudflareAIGateway
    from llama_index_cf_aig import CloudflareAIGateway

    model = "@cf/meta/llama-3.2-3b-instruct"  # bundled: 128,000; the emulated catalogue: 8,192
    settings = {"model": model, **client_kw(cf_aig_emulator)}

    def windows() -> tuple[Any, int]:
        lc = ChatCloudflareAIGateway(**settings).profile
        return (lc or {}).get("max_input_tokens"), CloudflareAIGateway(
            **settings).metadata.context_window

    assert windows() == (128_000, 128_000)
    with Client(**client_kw(cf_aig_emulator)) as client:
        catalog.refresh(client, search="llama-3.2-3b")
    assert windows() == (8_192, 8_192)


def test_output_family_from_the_schema_reaches_the_profile(cache_dir: Path) -> None:
    assert catalog.schema_output_family(
        {"output": {"oneOf": [{"properties": {"response": {}}}]}}) == "classic"
    assert catalog.schema_output_family({"output": {"type": "object"}}) is None
    new_model = "@cf/acme/chat-family-model"
    assert get_profile(new_model).workers_ai_schema == "classic"  # unknown: classic guess
    catalog.store(catalog.Catalog([catalog.CatalogEntry(
        new_model, task="Text Generation", context_window=65_536, tools=True,
        json_schema=True, output_family="chat")], "2026-11-01T00:00:00Z"))
    profile = get_profile(new_model)
    assert (profile.workers_ai_schema, profile.context_window, profile.tool_calling,
            profile.json_schema, profile.known) == ("chat", 65_536, True, True, True)


def test_refresh_reads_the_output_family(cf_aig_emulator: Emulator, cache_dir: Path) -> None:
    with Client(**client_kw(cf_aig_emulator)) as client:
        found = catalog.refresh(client, search="gpt-oss-20b", save=False)
        classic = catalog.refresh(client, search="phi-2", save=False)
    assert found.get("@cf/openai/gpt-oss-20b").output_family == "chat"
    assert classic.get("@cf/microsoft/phi-2").output_family == "classic"
