"""Run every notebook top to bottom, and the main job, against the local emulator.

Credentials are removed from the environment, so ``notebooks/_setup.py`` always starts the
emulator on 127.0.0.1: no traffic leaves the machine. A notebook fails the test on the
first cell that raises. Committed notebooks must carry no outputs (they are regenerated
by running them, never committed stale).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT = 120

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


def _offline_env() -> dict[str, str]:
    """This process's environment without credentials or model overrides."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("CLOUDFLARE_", "CF_AIG_"))}


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Drop credentials and pin the ``python3`` kernel to this interpreter (venv)."""
    for key in list(os.environ):
        if key.startswith(("CLOUDFLARE_", "CF_AIG_")):
            monkeypatch.delenv(key)
    spec = tmp_path / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (cf-aig tests)",
        "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))  # searched before user/system kernels
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline (Agg) backend
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")


def test_notebooks_found() -> None:
    assert [p.name for p in NOTEBOOK_FILES] == [
        "01_rag_langchain.ipynb",
        "02_rag_llamaindex.ipynb",
        "03_agents.ipynb",
        "04_chained_prompts.ipynb",
        "05_scale_out.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=[p.stem for p in NOTEBOOK_FILES])
def test_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    stale = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not stale, f"{path.name}: clear the outputs of cells {stale} before committing"


@pytest.mark.usefixtures("offline")
@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=[p.stem for p in NOTEBOOK_FILES])
def test_notebook_runs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    text = "\n".join(
        out.get("text", "")
        for cell in nb.cells if cell.cell_type == "code"
        for out in cell.outputs if out.output_type == "stream" and out.get("name") == "stdout"
    )
    assert "target: local emulator at http://127.0.0.1:" in text
    assert re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text), \
        "no gateway log id printed"
    images = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
              if "image/png" in out.get("data", {})]
    assert images, "the notebook should end with a plot"


def test_demo_main_job() -> None:
    proc = subprocess.run(
        [sys.executable, str(NOTEBOOKS / "demo.py")],
        env=_offline_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "target: local emulator at http://127.0.0.1:" in out
    assert re.search(r"log id [0-9a-f]{8}-[0-9a-f]{4}-", out), "no gateway log id printed"
    assert "cache HIT" in out, "the repeated question should be a gateway cache HIT"
    assert "tool call" in out, "the agents should call a tool"
    for section in ("1. LangChain RAG", "2. LangChain agent", "3. LlamaIndex RAG",
                    "4. LlamaIndex FunctionAgent"):
        assert section in out
