"""Emulator faults (header and queue), scripted answers, stats, CLI and pytest plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from cf_aig.emulator import Emulator, Fault, Script
from cf_aig.errors import parse_error_body

AUTH = {"Authorization": "Bearer test-token"}
CHAT = "/ai/v1/chat/completions"
BODY: dict[str, Any] = {"model": "openai/gpt-4.1",
                        "messages": [{"role": "user", "content": "Count one two three four"}]}
STREAM = {**BODY, "stream": True}


@pytest.fixture
def client(cf_aig_emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cf_aig_emulator.account_url, headers=AUTH) as c:
        yield c


def fault(**kw: Any) -> dict[str, str]:
    return {"x-cf-aig-emulator-fault": json.dumps(kw)}


def wait_for(check: Callable[[], bool]) -> bool:
    """Poll a server-side condition for up to ~2 s (the server runs on another thread)."""
    for _ in range(200):
        if check():
            return True
        time.sleep(0.01)
    return check()


# ---- status faults ---------------------------------------------------------------------

@pytest.mark.parametrize(("status", "code", "envelope"), [
    (429, 3040, "v4"), (429, 3036, "v4"), (429, 4006, "v4"), (429, 2041, "gateway"),
    (408, 3007, "v4"), (500, 3043, "v4"), (502, 3043, "v4"), (503, 3040, "v4"),
    (504, 3007, "v4"), (503, 7013, "gateway"), (424, 2016, "gateway"), (424, 2017, "gateway"),
    (402, 2021, "gateway"), (401, 10000, "v4"), (429, 3040, "openai"),
    (429, 2003, "anthropic")])
def test_status_fault(client: httpx.Client, status: int, code: int, envelope: str) -> None:
    r = client.post(CHAT, headers=fault(kind="status", status=status, code=code,
                                        envelope=envelope), json=BODY)
    assert r.status_code == status
    body = r.json()
    got_code, message, _ = parse_error_body(body)
    assert message
    if envelope != "anthropic":
        assert got_code == code
    shape = {"v4": "errors", "gateway": "internalCode", "openai": "error",
             "anthropic": "type"}[envelope]
    assert shape in body
    assert "retry-after" not in r.headers
    assert r.headers["cf-aig-log-id"]


def test_status_fault_defaults_and_retry_after(client: httpx.Client) -> None:
    r = client.post(CHAT, headers=fault(kind="status", code=3040, retry_after=2), json=BODY)
    assert r.status_code == 429 and r.headers["retry-after"] == "2"
    assert r.json()["errors"][0]["message"].startswith("Capacity temporarily exceeded")
    r = client.post(CHAT, headers=fault(kind="status", code=2021), json=BODY)
    assert r.status_code == 402 and r.json()["name"] == "AiGatewayError"


def test_bad_fault_header(client: httpx.Client) -> None:
    assert client.post(CHAT, headers={"x-cf-aig-emulator-fault": "{"}, json=BODY).status_code \
        == 400
    assert client.post(CHAT, headers=fault(kind="explode"), json=BODY).status_code == 400


def test_fault_validation() -> None:
    with pytest.raises(ValueError):
        Fault(kind="status", envelope="xml")
    with pytest.raises(ValueError):
        Fault.from_dict({"kind": "hang", "secs": 1})


# ---- timing and connection faults ------------------------------------------------------

def test_hang_then_answer(client: httpx.Client) -> None:
    r = client.post(CHAT, headers=fault(kind="hang", seconds=0.05), json=BODY)
    assert r.status_code == 200 and r.json()["object"] == "chat.completion"


def test_hang_past_client_timeout_counts_disconnect(client: httpx.Client,
                                                    cf_aig_emulator: Emulator) -> None:
    with pytest.raises(httpx.ReadTimeout):
        client.post(CHAT, headers=fault(kind="hang", seconds=1.0), json=BODY, timeout=0.1)
    assert wait_for(lambda: cf_aig_emulator.stats.disconnects == 1)


def test_disconnect_mid_stream(client: httpx.Client) -> None:
    got: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError), client.stream(
            "POST", CHAT, headers=fault(kind="disconnect", after=2), json=STREAM) as r:
        for line in r.iter_lines():
            if line:
                got.append(line)
    assert len(got) == 2


def test_disconnect_before_response(client: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(CHAT, headers=fault(kind="disconnect"), json=BODY)


def test_stall_mid_stream_then_complete(client: httpx.Client) -> None:
    r = client.post(CHAT, headers=fault(kind="stall", after=2, seconds=0.05), json=STREAM)
    assert r.text.rstrip().endswith("data: [DONE]")


def test_stall_past_read_timeout(client: httpx.Client, cf_aig_emulator: Emulator) -> None:
    got: list[str] = []
    with pytest.raises(httpx.ReadTimeout), client.stream(
            "POST", CHAT, headers=fault(kind="stall", after=2, seconds=1.0), json=STREAM,
            timeout=httpx.Timeout(5.0, read=0.1)) as r:
        for line in r.iter_lines():
            if line:
                got.append(line)
    assert len(got) == 2
    assert wait_for(lambda: cf_aig_emulator.stats.disconnects == 1)


def test_client_cancel_mid_stream_counts_disconnect() -> None:
    with Emulator(stream_delay=0.05) as emu, httpx.Client(
            base_url=emu.account_url, headers=AUTH) as c:
        with c.stream("POST", CHAT, json=STREAM) as r:
            lines = r.iter_lines()
            assert next(lines).startswith("data: ")
        assert wait_for(lambda: emu.stats.disconnects == 1)


# ---- malformed bodies and streams ------------------------------------------------------

def test_malformed_json(client: httpx.Client) -> None:
    r = client.post(CHAT, headers=fault(kind="malformed_json"), json=BODY)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        r.json()


def test_malformed_sse(client: httpx.Client) -> None:
    r = client.post(CHAT, headers=fault(kind="malformed_sse", after=1), json=STREAM)
    lines = [x for x in r.text.splitlines() if x]
    assert lines[1] == "data: {not json at all"
    json.loads(lines[0][6:])


def test_success_false_on_200(client: httpx.Client) -> None:
    r = client.post(CHAT, headers=fault(kind="success_false", code=3040), json=BODY)
    assert r.status_code == 200
    assert r.json()["success"] is False and r.json()["errors"][0]["code"] == 3040


def test_error_chunk_mid_stream(client: httpx.Client) -> None:
    r = client.post(CHAT, headers=fault(kind="stream_error", after=2, code=3040,
                                        message="overloaded"), json=STREAM)
    lines = [x for x in r.text.splitlines() if x]
    assert len(lines) == 3 and "[DONE]" not in r.text
    assert json.loads(lines[-1][6:]) == {"error": {"message": "overloaded",
                                                   "type": "server_error", "code": 3040}}


def test_json_body_where_stream_was_asked(client: httpx.Client) -> None:
    r = client.post(CHAT, headers=fault(kind="json_for_stream"), json=STREAM)
    assert r.headers["content-type"] == "application/json"
    assert r.json()["object"] == "chat.completion"


# ---- the queue -------------------------------------------------------------------------

def test_queue_two_429_then_success(client: httpx.Client, cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.enqueue(Fault(kind="status", code=3040), {"kind": "status", "code": 3040})
    assert cf_aig_emulator.pending == 2
    statuses = [client.post(CHAT, json=BODY).status_code for _ in range(3)]
    assert statuses == [429, 429, 200]
    assert cf_aig_emulator.pending == 0


def test_queue_match_path(client: httpx.Client, cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.enqueue(Fault(kind="status", status=503), match="/ai/run/")
    assert client.post(CHAT, json=BODY).status_code == 200
    r = client.post("/ai/run/@cf/meta/llama-3.1-8b-instruct-fp8", json={"prompt": "x"})
    assert r.status_code == 503


def test_queue_not_used_by_logs_api(client: httpx.Client, cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.enqueue(Fault(kind="status", status=500))
    assert client.get("/ai-gateway/gateways/default/logs").status_code == 200
    assert client.post(CHAT, json=BODY).status_code == 500


def test_header_fault_wins_and_queue_entry_is_still_used(
        client: httpx.Client, cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.enqueue(Fault(kind="status", status=500))
    r = client.post(CHAT, headers=fault(kind="status", status=502), json=BODY)
    assert r.status_code == 502 and cf_aig_emulator.pending == 0


# ---- scripting -------------------------------------------------------------------------

def test_script_text_and_usage(client: httpx.Client, cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.enqueue(Script(text="exactly this", reasoning="hmm",
                                   usage={"prompt_tokens": 7}, finish_reason="length"))
    body = client.post(CHAT, json=BODY).json()
    choice = body["choices"][0]
    assert choice["message"]["content"] == "exactly this"
    assert choice["message"]["reasoning_content"] == "hmm"
    assert choice["finish_reason"] == "length" and body["usage"]["prompt_tokens"] == 7
    assert client.post(CHAT, json=BODY).json()["choices"][0]["message"]["content"] != \
        "exactly this"


def test_script_tool_calls_stream(client: httpx.Client, cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.enqueue({"tool_calls": [{"name": "a", "arguments": {"x": 1}},
                                            {"name": "b", "arguments": "{}", "id": "call_b"}]})
    r = client.post(CHAT, json=STREAM)
    chunks = [json.loads(x[6:]) for x in r.text.splitlines() if x.startswith("data: {")]
    frags = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    heads = [f for f in frags if "id" in f]
    assert [(h["index"], h["function"]["name"]) for h in heads] == [(0, "a"), (1, "b")]
    assert heads[1]["id"] == "call_b"
    args0 = "".join(f["function"]["arguments"] for f in frags if f["index"] == 0)
    assert json.loads(args0) == {"x": 1}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_script_on_workers_ai_classic(client: httpx.Client, cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.enqueue(Script(tool_calls=[{"name": "add", "arguments": {"a": 1, "b": 2}}]))
    r = client.post("/ai/run/@cf/meta/llama-3.1-8b-instruct-fp8", json={"prompt": "x"})
    assert r.json()["result"]["tool_calls"] == [{"name": "add", "arguments": {"a": 1, "b": 2}}]


def test_script_validation(cf_aig_emulator: Emulator) -> None:
    with pytest.raises(ValueError):
        cf_aig_emulator.enqueue({"txt": "typo"})


# ---- stats, requests, reset ------------------------------------------------------------

def test_keep_alive_reuses_one_connection(cf_aig_emulator: Emulator) -> None:
    with httpx.Client(base_url=cf_aig_emulator.account_url, headers=AUTH) as c:
        for _ in range(200):
            assert c.post(CHAT, json=BODY).status_code == 200
        c.post(CHAT, json=STREAM)
    stats = cf_aig_emulator.stats
    assert (stats.connections_opened, stats.requests, stats.disconnects) == (1, 201, 0)
    with httpx.Client(base_url=cf_aig_emulator.account_url, headers=AUTH) as c:
        c.post(CHAT, json=BODY)
    assert cf_aig_emulator.stats.connections_opened == 2


def test_recorded_requests_redact_token(client: httpx.Client,
                                        cf_aig_emulator: Emulator) -> None:
    client.post(CHAT, headers={"cf-aig-gateway-id": "default"}, json=BODY)
    (rec,) = cf_aig_emulator.requests
    assert rec.method == "POST" and rec.path.endswith(CHAT) and rec.json == BODY
    assert rec.headers["authorization"] == "<redacted>"
    assert rec.headers["cf-aig-gateway-id"] == "default"
    assert rec.bearer_is("test-token") and not rec.bearer_is("other")
    assert "test-token" not in repr(rec) and "test-token" not in str(cf_aig_emulator.requests)


def test_reset(client: httpx.Client, cf_aig_emulator: Emulator) -> None:
    client.post(CHAT, headers={"cf-aig-cache-ttl": "60"}, json=BODY)
    cf_aig_emulator.enqueue(Fault())
    cf_aig_emulator.reset()
    assert cf_aig_emulator.logs == [] and cf_aig_emulator.requests == []
    assert cf_aig_emulator.pending == 0 and cf_aig_emulator.stats.requests == 0
    r = client.post(CHAT, headers={"cf-aig-cache-ttl": "60"}, json=BODY)
    assert r.headers["cf-aig-cache-status"] == "MISS"


async def test_usable_from_async_tests(cf_aig_emulator: Emulator) -> None:
    async with httpx.AsyncClient(base_url=cf_aig_emulator.account_url, headers=AUTH) as c:
        r = await c.post(CHAT, json=BODY)
        async with c.stream("POST", CHAT, json=STREAM) as s:
            lines = [line async for line in s.aiter_lines() if line]
    assert r.status_code == 200 and lines[-1] == "data: [DONE]"


def test_port_in_use_raises(cf_aig_emulator: Emulator) -> None:
    with pytest.raises(OSError):
        Emulator(port=cf_aig_emulator.port).start()


# ---- CLI and plugin --------------------------------------------------------------------

def test_cli_prints_base_url_first() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cf_aig.emulator", "--port", "0", "--token", "tk",
         "--gateway", "g2"], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:") and base.endswith("/client/v4")
        r = httpx.post(f"{base}/accounts/a/ai/v1/chat/completions",
                       headers={"Authorization": "Bearer tk", "cf-aig-gateway-id": "g2"},
                       json=BODY)
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_env_fixture(cf_aig_env: Emulator) -> None:
    from cf_aig.config import Settings

    settings = Settings.resolve()
    assert settings.base_url == cf_aig_env.base_url
    assert settings.account_url == cf_aig_env.account_url


def test_plugin_import_is_light() -> None:
    code = "import sys, cf_aig, cf_aig.testing; print('cf_aig.emulator' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False"]
