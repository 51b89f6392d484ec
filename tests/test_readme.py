"""The README's Python examples run as written, against the emulator (env credentials)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from cf_aig.emulator import Emulator

README = Path(__file__).resolve().parents[1] / "README.md"
ALL_BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
BLOCKS = [b for b in ALL_BLOCKS if "def test_" not in b]  # the rest are pytest recipes
RECIPES = [b for b in ALL_BLOCKS if "def test_" in b]


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


def test_readme_emulator_recipe_passes_under_pytest(tmp_path: Path) -> None:
    """The "Test your app against the emulator" tests pass in a project of their own (the
    plugin comes from the installed package; no conftest, no repository files)."""
    section = README.read_text(encoding="utf-8").split(
        "## Test your app against the emulator", 1)[1].split("\n## ", 1)[0]
    assert "--print-env" in section and "cf_aig_env" in section
    [recipe] = [b for b in RECIPES if b in section]
    (tmp_path / "test_recipe.py").write_text(recipe, encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "test_recipe.py"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert f"{recipe.count('def test_')} passed" in out.stdout
