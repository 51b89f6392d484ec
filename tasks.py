"""Project tasks that work on a fresh machine with only Python 3.10+ and pip.

    python tasks.py demo      # main job: RAG, agents, streaming in both frameworks
    python tasks.py test      # the test suite
    python tasks.py lint      # ruff + mypy
    python tasks.py bench     # benchmarks (add --quick)

The first call creates ``.venv`` and installs the project with every extra, pinned by
``constraints.txt``; later calls reuse it (reinstalling when either file changes).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("CF_AIG_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def _stamp() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_env(extras: str = "all") -> None:
    marker = VENV / f".cf-aig-installed-{extras.replace(',', '-')}"
    if marker.exists() and marker.read_text() == _stamp():
        return
    if not PY.exists():
        print(f"creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(f"installing cf-aig[{extras}] (pinned by constraints.txt) ...", flush=True)
    subprocess.run([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(PY), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt"),
                    "-e", f"{ROOT}[{extras}]"], check=True)
    marker.write_text(_stamp())


def run(*args: str) -> int:
    return subprocess.run([str(PY), *args], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "lint", "bench", "env"):
        print(__doc__)
        return 2
    task, rest = argv[0], argv[1:]
    if task != "bench":
        ensure_env()
    if task == "demo":
        return run("notebooks/demo.py", *rest)
    if task == "test":
        return run("-m", "pytest", *rest)
    if task == "lint":
        checks = [
            ("-m", "ruff", "check", "."),
            ("-m", "mypy", "cf_aig", "langchain_cf_aig", "llama_index_cf_aig"),
        ]
        return max(run(*c) for c in checks)
    if task == "bench":
        ensure_env("all,bench")
        return run("bench/run.py", *rest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
