"""Project tasks that work on a fresh machine with only Python 3.10+ and pip.

    python tasks.py demo      # main job: RAG, agents, streaming in both frameworks
    python tasks.py test      # the test suite (pytest arguments follow, e.g. -q -x)
    python tasks.py lint      # ruff + mypy
    python tasks.py bench     # benchmarks (add --quick)
    python tasks.py env       # only create or refresh the environment

The first call creates ``.venv`` (or ``$CF_AIG_VENV``) and installs the project in editable
mode, pinned by ``constraints.txt``, with what the task needs: ``demo`` installs the
``demo`` extra (both frameworks), ``test`` and ``lint`` the ``all`` extra (test tools, type
checkers, notebook runner), ``bench`` adds the peers it measures. It prints each package as
it is collected and the elapsed time. Later calls reuse the environment (reinstalling when
``pyproject.toml`` or ``constraints.txt`` changes).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("CF_AIG_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
TASKS = ("demo", "test", "lint", "bench", "env")
EXTRAS = {"demo": "demo", "test": "all", "lint": "all", "bench": "all,bench", "env": "all"}
"""The extras each task installs; ``all`` includes ``demo``."""


def _stamp() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _marker(extras: str) -> Path:
    return VENV / f".cf-aig-installed-{extras.replace(',', '-')}"


def _installed(extras: str) -> bool:
    """True when these extras (or a superset: ``all`` covers ``demo``) are installed."""
    candidates = [extras] + (["all", "all,bench"] if extras == "demo" else [])
    candidates += ["all,bench"] if extras == "all" else []
    stamp = _stamp()
    return any(_marker(c).exists() and _marker(c).read_text() == stamp for c in candidates)


def _pip(args: list[str], started: float, what: str) -> None:
    """Run pip, echoing one line per package it collects with the elapsed time."""
    cmd = [str(PY), "-m", "pip", *args, "--progress-bar", "off", "--disable-pip-version-check"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=ROOT)
    assert proc.stdout is not None
    seen: list[str] = []
    count, last = 0, ""
    for line in proc.stdout:
        seen.append(line)
        text = line.strip()
        if text.startswith("Collecting "):
            count += 1
            name = text.removeprefix("Collecting ").split(" ", 1)[0]
            print(f"  [{time.monotonic() - started:5.0f}s] {what}: {count:3d} {name}", flush=True)
        elif text.startswith(("Installing collected packages", "Building editable")):
            step = text.split(":")[0]
            if step != last:  # pip says "started" and "finished"
                print(f"  [{time.monotonic() - started:5.0f}s] {step} ...", flush=True)
            last = step
    if proc.wait() != 0:
        sys.stdout.write("".join(seen[-60:]))
        raise SystemExit(f"pip failed ({' '.join(args[:2])} ...); its last lines are above")


def ensure_env(extras: str = "all") -> None:
    """Create the venv if needed and install ``cf-aig[extras]`` unless already current."""
    if _installed(extras):
        return
    started = time.monotonic()
    if not PY.exists():
        print(f"creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(f"installing cf-aig[{extras}] into {VENV} (pinned by constraints.txt; the first "
          "time takes a few minutes) ...", flush=True)
    _pip(["install", "--upgrade", "pip"], started, "pip")
    _pip(["install", "-c", str(ROOT / "constraints.txt"), "-e", f"{ROOT}[{extras}]"],
         started, f"cf-aig[{extras}]")
    _marker(extras).write_text(_stamp())
    print(f"installed cf-aig[{extras}] in {time.monotonic() - started:.0f}s", flush=True)


def run(*args: str) -> int:
    return subprocess.run([str(PY), *args], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    if argv[0] not in TASKS:
        print(f"unknown task {argv[0]!r}; one of: {', '.join(TASKS)}\n{__doc__}",
              file=sys.stderr)
        return 2
    task, rest = argv[0], argv[1:]
    ensure_env(EXTRAS[task])
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
        return run("bench/run.py", *rest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
