"""The README's Python examples run as written, against the emulator (env credentials)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cf_aig.emulator import Emulator

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str, cf_aig_env: Emulator,
                             capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out  # every example prints something
    assert any("/ai/" in r.path for r in cf_aig_env.requests)


def test_readme_has_the_two_quick_start_commands() -> None:
    text = README.read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^python \S+ \w+", quick.split("```bash", 1)[1].split("```", 1)[0], re.M)
    assert commands == ["python tasks.py demo", "python tasks.py test"]
    assert "tasks.py test" in (README.parent / ".ci" / "run").read_text(encoding="utf-8")
