"""A newcomer's first hour (issue 16): errors that say what to do, packaging, tasks.py."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

import cf_aig
from cf_aig.emulator import Emulator
from cf_aig.errors import AuthenticationError, ConnectionFailedError, MissingCredentialsError

if sys.version_info >= (3, 11):
    import tomllib
else:  # the test extra brings tomli on 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
HELLO: Any = {"model": "openai/gpt-5.5", "messages": [{"role": "user", "content": "Hi"}]}


# ------------------------------------------------------------------ errors say what to do


def test_401_names_the_env_var_and_the_permissions() -> None:
    with Emulator(token="the-right-token") as emu, cf_aig.Client(
            account_id="acc", api_token="a-wrong-token", base_url=emu.base_url,
            max_retries=0) as client, pytest.raises(AuthenticationError) as caught:
        client.chat(HELLO)
    text = str(caught.value)
    for needed in ("CLOUDFLARE_API_TOKEN", "Workers AI Read", "AI Gateway Run",
                   "AI Gateway Read", "Edit"):
        assert needed in text
    assert "a-wrong-token" not in text and "the-right-token" not in text


def test_connection_refused_names_the_url_but_not_the_token() -> None:
    with Emulator() as emu:
        base_url = emu.base_url  # a port that just stopped listening
    with cf_aig.Client(account_id="acc", api_token="tok-secret", base_url=base_url,
                       max_retries=0) as client, pytest.raises(ConnectionFailedError) as caught:
        client.chat(HELLO)
    text = str(caught.value)
    assert f"{base_url}/accounts/acc/ai/v1/chat/completions" in text
    assert "CLOUDFLARE_AI_GATEWAY_BASE_URL" in text and "tok-secret" not in text


def test_model_not_found_suggests_the_prefixed_id(cf_aig_env: Emulator) -> None:
    with cf_aig.Client(max_retries=0) as client, pytest.raises(cf_aig.NotFoundError) as caught:
        client.chat({**HELLO, "model": "gpt-4o"})
    assert "did you mean 'openai/gpt-4o'" in str(caught.value)


@pytest.mark.parametrize(("package", "name", "blocked", "extra"), [
    ("langchain_cf_aig", "ChatCloudflareAIGateway", ["langchain_core"], "langchain"),
    ("llama_index_cf_aig", "CloudflareAIGateway", ["llama_index", "llama_index.core"],
     "llama-index"),
])
def test_a_missing_framework_names_the_extra(package: str, name: str, blocked: list[str],
                                             extra: str) -> None:
    code = (f"import sys\nsys.modules.update(dict.fromkeys({blocked!r}))\n"
            f"from {package} import {name}\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1
    assert out.stderr.rstrip().splitlines()[-1].endswith(
        f'install the extra with pip install "cf-aig[{extra}]"'), out.stderr[-500:]


def test_missing_credentials_are_one_type_in_both_frameworks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from langchain_cf_aig import ChatCloudflareAIGateway, CloudflareAIGatewayEmbeddings
    from llama_index_cf_aig import CloudflareAIGateway, CloudflareAIGatewayEmbedding

    for name in ("CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    makers = [lambda: ChatCloudflareAIGateway(model="openai/gpt-5.5"),
              lambda: CloudflareAIGatewayEmbeddings(model="@cf/baai/bge-base-en-v1.5"),
              lambda: CloudflareAIGateway(model="openai/gpt-5.5"),
              lambda: CloudflareAIGatewayEmbedding(model_name="@cf/baai/bge-base-en-v1.5")]
    for make in makers:
        with pytest.raises(MissingCredentialsError, match="CLOUDFLARE_API_TOKEN"):
            make()
    with pytest.raises(ValidationError):  # what LangChain users catch keeps working
        ChatCloudflareAIGateway(model="openai/gpt-5.5")


# ------------------------------------------------------------------ packaging


def test_metadata_license_classifiers_urls_and_no_empty_extra() -> None:
    project = PYPROJECT["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert any(c.startswith("Programming Language :: Python :: 3.1") for c in
               project["classifiers"])
    assert {"Homepage", "Source", "Issues", "Changelog"} <= set(project["urls"])
    assert all(deps for deps in project["optional-dependencies"].values())
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{project['version']}]" in changelog


def test_demo_extra_leaves_out_test_lint_and_notebook_tools() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    demo = " ".join(extras["demo"])
    for heavy in ("jupyter", "ipykernel", "matplotlib", "mypy", "ruff", "pytest"):
        assert heavy not in demo
    assert "demo" in extras["all"][0]


def test_readme_links_are_absolute_and_install_works_from_source() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)]+)\)", readme)
    assert links and all(link.startswith(("https://", "#")) for link in links), links
    assert 'pip install ".[langchain]"' in readme and 'pip install "cf-aig[langchain] @ git+' in readme


def test_sdist_carries_tests_tasks_and_constraints(tmp_path: Path) -> None:
    build = ("import sys, setuptools.build_meta as b\n"
             "print(b.build_sdist(sys.argv[1]))\n")
    out = subprocess.run([sys.executable, "-c", build, str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Deprecat" not in out.stderr, out.stderr[-2000:]
    with tarfile.open(tmp_path / out.stdout.split()[-1]) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    for needed in ("tasks.py", "constraints.txt", "LICENSE", "CHANGELOG.md",
                   "tests/conftest.py", "tests/data/openai-schemas.json",
                   "tests/test_readme.py", "notebooks/demo.py"):
        assert needed in names, needed
    tracked = subprocess.run(["git", "ls-files", "tests"], cwd=ROOT, capture_output=True,
                             text=True).stdout.split()
    assert {t for t in tracked if t.endswith(".py")} <= names


def test_tasks_help_exits_0_and_unknown_task_2() -> None:
    ok = subprocess.run([sys.executable, str(ROOT / "tasks.py"), "--help"],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "python tasks.py demo" in ok.stdout
    bad = subprocess.run([sys.executable, str(ROOT / "tasks.py"), "nope"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown task 'nope'" in bad.stderr


def test_no_test_reads_outside_the_repository() -> None:
    for path in (ROOT / "tests").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""["']shared["']\s*/|/\s*["']shared["']|\.\./shared""", text), \
            f"{path.relative_to(ROOT)} reads the shared folder beside the repository"


def test_init_chat_model_cannot_name_this_provider_as_the_readme_says() -> None:
    from langchain.chat_models import init_chat_model

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'model_provider="cloudflare")` raises `Unsupported provider`' in readme
    with pytest.raises(ValueError, match="Unsupported provider"):
        init_chat_model("openai/gpt-5.5", model_provider="cloudflare")


def test_a_skip_for_a_missing_file_or_module_fails(tmp_path: Path) -> None:
    """The suite's conftest turns "not found" skips into failures; capability skips stay."""
    (tmp_path / "conftest.py").write_text(
        (ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "test_skips.py").write_text(
        "import pytest\n"
        "def test_file():\n    pytest.skip('schema not found at /elsewhere/spec.json')\n"
        "def test_module():\n    pytest.importorskip('no_such_module_for_cf_aig')\n"
        "def test_capability():\n    pytest.skip('this endpoint has no JSON mode')\n",
        encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-p", "no:randomly", "test_skips.py"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stdout[-2000:]
    assert "2 failed, 1 skipped" in out.stdout
    assert "skipped for something missing" in out.stdout


def test_the_three_packages_list_their_lazy_names_and_import_no_framework() -> None:
    code = ("import sys, cf_aig, langchain_cf_aig, llama_index_cf_aig\n"
            "assert not {'httpx', 'langchain_core', 'llama_index'} & set(sys.modules)\n"
            "for pkg in (cf_aig, langchain_cf_aig, llama_index_cf_aig):\n"
            "    assert set(pkg.__all__) <= set(dir(pkg)), pkg\n"
            "print(cf_aig.Client.__name__, llama_index_cf_aig.RateLimitError.__module__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.split() == ["Client", "cf_aig.errors"]
