"""The README's Python examples type-check as a user's own scripts: ``mypy --strict``, with
and without pydantic's mypy plugin, run outside the checkout against the installed packages
(so an install that hides the packages from type checkers fails here too)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
CALLS = '''\
from pydantic import SecretStr

from langchain_cf_aig import ChatCloudflareAIGateway, CloudflareAIGatewayEmbeddings

llm = ChatCloudflareAIGateway(model="openai/gpt-5.5", account_id="acc", api_token="tok",
                              max_tokens=64, stop=["\\n"], temperature=0, cache_ttl=60)
by_key = ChatCloudflareAIGateway(model="openai/gpt-5.5", account_id="acc", api_key="tok")
by_alias = ChatCloudflareAIGateway(model_name="openai/gpt-5.5", api_key=SecretStr("tok"),
                                   max_completion_tokens=8, stop_sequences="END")
emb = CloudflareAIGatewayEmbeddings(model="@cf/baai/bge-base-en-v1.5", api_key="tok")
limit: int | None = llm.max_tokens
stops: list[str] | str | None = llm.stop
'''
"""The keyword arguments issue 16 saw rejected by type checkers, as a user writes them."""
MUST_FAIL = '''\
from cf_aig import Client, GatewayInfo

with Client() as client:
    client.patch_log(GatewayInfo().log_id, feedback=1)  # str | None where str is needed
'''
CONFIGS = {
    "plain": "[mypy]\nstrict = True\n",
    "pydantic-plugin": "[mypy]\nstrict = True\nplugins = pydantic.mypy\n",
}


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_readme_examples_pass_mypy_strict(config: str, tmp_path: Path) -> None:
    assert len(BLOCKS) >= 4
    files = []
    for i, block in enumerate(BLOCKS):
        files.append(tmp_path / f"readme_block{i}.py")
        files[-1].write_text(block, encoding="utf-8")
    files.append(tmp_path / "readme_blockcalls.py")  # checked like the README's blocks
    files[-1].write_text(CALLS, encoding="utf-8")
    (tmp_path / "must_fail.py").write_text(MUST_FAIL, encoding="utf-8")
    (tmp_path / "mypy.ini").write_text(CONFIGS[config], encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--cache-dir",
         str(tmp_path / ".mypy_cache"), "--no-error-summary",
         *(f.name for f in files), "must_fail.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    lines = out.stdout.splitlines()
    readme_errors = [line for line in lines if line.startswith("readme_block")]
    assert not readme_errors, "\n".join(readme_errors)
    # The checker really sees our packages: a wrong call in a user script is caught.
    assert any(line.startswith("must_fail.py:4: error") and "patch_log" in line
               for line in lines), out.stdout + out.stderr
    assert "import-not-found" not in out.stdout and "import-untyped" not in out.stdout
