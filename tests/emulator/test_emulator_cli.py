"""``python -m cf_aig.emulator``: help with defaults, env lines for your own code, a clear
message (exit 2, no traceback) when the port is taken."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from cf_aig import Client
from cf_aig.emulator.__main__ import build_parser

CLI = [sys.executable, "-m", "cf_aig.emulator"]


def test_help_describes_every_option_with_its_default() -> None:
    out = subprocess.run([*CLI, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for action in build_parser()._actions:
        if action.dest == "help":
            continue
        assert action.help, f"--{action.dest} has no description"
        assert action.const is True or "default" in action.help, action.dest
    assert "--print-env" in out.stdout and "any account id" in out.stdout


def test_port_in_use_is_a_message_and_exit_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run([*CLI, "--port", str(port)], capture_output=True, text=True,
                             timeout=60)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert f"127.0.0.1:{port} is already in use" in out.stderr and "--port" in out.stderr


@pytest.fixture
def served() -> Iterator[list[str]]:
    """The CLI on a free port with --print-env; yields the lines it printed first."""
    proc = subprocess.Popen([*CLI, "--port", "0", "--print-env", "--account-id", "acc-1"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield [proc.stdout.readline().strip() for _ in range(3)]
    finally:
        proc.terminate()
        proc.wait(30)


def test_print_env_lines_point_a_client_at_it(served: list[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    names = [line.removeprefix("export ").split("=", 1)[0] for line in served]
    assert names == ["CLOUDFLARE_AI_GATEWAY_BASE_URL", "CLOUDFLARE_ACCOUNT_ID",
                     "CLOUDFLARE_API_TOKEN"]
    for name in list(os.environ):
        if name.startswith("CLOUDFLARE_"):
            monkeypatch.delenv(name)
    for line in served:  # what a user pastes into the shell
        name, value = line.removeprefix("export ").split("=", 1)
        monkeypatch.setenv(name, value)
    assert os.environ["CLOUDFLARE_ACCOUNT_ID"] == "acc-1"
    with Client() as client:
        result = client.chat({"model": "openai/gpt-5.5",
                              "messages": [{"role": "user", "content": "Hello"}]})
    assert result.text and result.info.log_id


def test_plain_start_prints_the_url_and_says_how_to_use_it() -> None:
    proc = subprocess.Popen([*CLI, "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        url = proc.stdout.readline().strip()
        hint = proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(30)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/client/v4", url)
    assert "CLOUDFLARE_ACCOUNT_ID" in hint and "--print-env" in hint
