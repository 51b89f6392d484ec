"""Endpoint knowledge stays in its dialect: nothing else compares endpoint names.

Adapters, the client and the policy ask ``get_dialect(api).capabilities(model)``; a new
``api == "messages"`` elsewhere would be a second, drifting copy of what the dialect
declares (ARCHITECTURE.md, "How to add an endpoint"). The emulator keeps its own tables
on purpose; ``cf_aig/embeddings.py`` is the embedding endpoints' own module.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

from cf_aig.types import Api

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cf_aig", "langchain_cf_aig", "llama_index_cf_aig")
EXEMPT = ("cf_aig/dialects/", "cf_aig/emulator/", "cf_aig/embeddings.py")

_NAMES = "|".join(re.escape(n) for n in get_args(Api))
_COMPARISON = re.compile(
    rf"""\bapi\b\)?\s*(==|!=)\s*["']({_NAMES})["']"""  # api == "messages", self.api != ...
    rf"""|["']({_NAMES})["']\s*(==|!=)\s*[\w.]*\bapi\b"""  # "messages" == api
    rf"""|\bapi\b\)?\s+(not\s+)?in\s*[(\[{{][^)\]}}]*["']({_NAMES})["']"""  # api in (...)
)


def _sources() -> list[Path]:
    files = [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]
    return [p for p in files
            if not any(p.relative_to(ROOT).as_posix().startswith(e) for e in EXEMPT)]


def test_sources_found() -> None:
    assert len(_sources()) > 20


@pytest.mark.parametrize("path", _sources(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_endpoint_name_comparisons_outside_dialects(path: Path) -> None:
    hits = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _COMPARISON.search(line.split("#", 1)[0]) and not line.lstrip().startswith(
            (">>>", "..."))
    ]
    assert not hits, "ask the dialect's Capabilities instead:\n" + "\n".join(hits)
