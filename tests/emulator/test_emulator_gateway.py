"""Emulator gateway features: cf-aig-* header validation, caching, logs and feedback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from cf_aig.emulator import Emulator

AUTH = {"Authorization": "Bearer test-token"}
CHAT = "/ai/v1/chat/completions"
BODY = {"model": "openai/gpt-4.1", "messages": [{"role": "user", "content": "Hi cache"}]}


@pytest.fixture
def client(cf_aig_emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cf_aig_emulator.account_url, headers=AUTH) as c:
        yield c


# ---- header validation -----------------------------------------------------------------

@pytest.mark.parametrize(("header", "value"), [
    ("cf-aig-cache-ttl", "59"), ("cf-aig-cache-ttl", "2592001"), ("cf-aig-cache-ttl", "soon"),
    ("cf-aig-max-attempts", "0"), ("cf-aig-max-attempts", "6"),
    ("cf-aig-retry-delay", "60001"), ("cf-aig-backoff", "random"),
    ("cf-aig-skip-cache", "yes"), ("cf-aig-collect-log", "1"),
    ("cf-aig-otel-trace-id", "abc"), ("cf-aig-otel-parent-span-id", "z" * 16),
    ("cf-aig-metadata", "not json"), ("cf-aig-metadata", '{"a":{"nested":1}}'),
    ("cf-aig-metadata", json.dumps({f"k{i}": i for i in range(6)})),
    ("cf-aig-metadata", '{"cf.user_id":"x"}'), ("cf-aig-metadata", '{"a":null}'),
    ("cf-aig-custom-cost", '{"per_token_in":-1}'), ("cf-aig-request-timeout", "0"),
])
def test_invalid_header_is_400_naming_it(client: httpx.Client, header: str, value: str) -> None:
    r = client.post(CHAT, headers={header: value}, json=BODY)
    assert r.status_code == 400
    assert header in r.json()["message"]


def test_valid_headers_accepted(client: httpx.Client) -> None:
    headers = {"cf-aig-cache-ttl": "60", "cf-aig-max-attempts": "5",
               "cf-aig-retry-delay": "60000", "cf-aig-backoff": "exponential",
               "cf-aig-otel-trace-id": "a" * 32, "cf-aig-otel-parent-span-id": "B" * 16,
               "cf-aig-metadata": '{"user":"u1","n":2,"ok":true}', "cf-aig-zdr": "true",
               "cf-aig-request-timeout": "1000", "cf-aig-byok-alias": "prod"}
    assert client.post(CHAT, headers=headers, json=BODY).status_code == 200


# ---- caching ---------------------------------------------------------------------------

def test_cache_miss_then_hit(client: httpx.Client, cf_aig_emulator: Emulator) -> None:
    h = {"cf-aig-cache-ttl": "300"}
    a = client.post(CHAT, headers=h, json=BODY)
    b = client.post(CHAT, headers=h, json=BODY)
    assert a.headers["cf-aig-cache-status"] == "MISS"
    assert b.headers["cf-aig-cache-status"] == "HIT"
    assert a.content == b.content
    assert a.headers["cf-aig-log-id"] != b.headers["cf-aig-log-id"]
    assert [e["cached"] for e in cf_aig_emulator.logs] == [False, True]
    assert cf_aig_emulator.logs[1]["cost"] == 0


def test_no_cache_without_ttl(client: httpx.Client) -> None:
    client.post(CHAT, json=BODY)
    assert client.post(CHAT, json=BODY).headers["cf-aig-cache-status"] == "MISS"


def test_skip_cache(client: httpx.Client) -> None:
    h = {"cf-aig-cache-ttl": "300"}
    client.post(CHAT, headers=h, json=BODY)
    r = client.post(CHAT, headers={**h, "cf-aig-skip-cache": "true"}, json=BODY)
    assert r.headers["cf-aig-cache-status"] == "MISS"


def test_different_body_misses(client: httpx.Client) -> None:
    h = {"cf-aig-cache-ttl": "300"}
    client.post(CHAT, headers=h, json=BODY)
    r = client.post(CHAT, headers=h, json={**BODY, "temperature": 0.5})
    assert r.headers["cf-aig-cache-status"] == "MISS"


def test_custom_cache_key(client: httpx.Client) -> None:
    h = {"cf-aig-cache-ttl": "300", "cf-aig-cache-key": "k1"}
    first = client.post(CHAT, headers=h, json=BODY)
    other = {"model": "openai/gpt-4.1", "messages": [{"role": "user", "content": "other"}]}
    r = client.post(CHAT, headers=h, json=other)
    assert r.headers["cf-aig-cache-status"] == "HIT" and r.content == first.content


def test_stream_not_cached(client: httpx.Client) -> None:
    h = {"cf-aig-cache-ttl": "300"}
    client.post(CHAT, headers=h, json={**BODY, "stream": True})
    r = client.post(CHAT, headers=h, json={**BODY, "stream": True})
    assert r.headers["cf-aig-cache-status"] == "MISS"


def test_cache_expires(client: httpx.Client, cf_aig_emulator: Emulator) -> None:
    h = {"cf-aig-cache-ttl": "60"}
    client.post(CHAT, headers=h, json=BODY)
    now = cf_aig_emulator.state.clock()
    cf_aig_emulator.state.clock = lambda: now + 61
    try:
        assert client.post(CHAT, headers=h, json=BODY).headers["cf-aig-cache-status"] == "MISS"
    finally:
        cf_aig_emulator.state.clock = time.monotonic


# ---- logs ------------------------------------------------------------------------------

def test_log_entry_fields(client: httpx.Client) -> None:
    r = client.post(CHAT, headers={"cf-aig-metadata": '{"user":"alice","n":1}',
                                   "cf-aig-event-id": "ev-9"}, json=BODY)
    log_id = r.headers["cf-aig-log-id"]
    got = client.get(f"/ai-gateway/gateways/default/logs/{log_id}").json()
    assert got["success"] is True
    e = got["result"]
    assert e["id"] == log_id and e["created_at"].endswith("Z")
    assert (e["provider"], e["model"], e["path"]) == ("openai", "openai/gpt-4.1",
                                                       "ai/v1/chat/completions")
    assert e["success"] is True and e["cached"] is False and e["status_code"] == 200
    assert e["tokens_in"] == 2 and e["tokens_out"] > 0 and e["cost"] > 0
    assert e["metadata"] == {"user": "alice", "n": 1}
    assert e["event_id"] == "ev-9" and e["step"] == 0
    assert e["feedback"] is None and e["score"] is None
    assert isinstance(e["duration"], int)


def test_custom_cost_in_log(client: httpx.Client, cf_aig_emulator: Emulator) -> None:
    client.post(CHAT, headers={"cf-aig-custom-cost": '{"total_cost":0.25}'}, json=BODY)
    assert cf_aig_emulator.logs[0]["cost"] == 0.25
    assert cf_aig_emulator.logs[0]["custom_cost"] is True


def test_collect_log_false(client: httpx.Client, cf_aig_emulator: Emulator) -> None:
    r = client.post(CHAT, headers={"cf-aig-collect-log": "false"}, json=BODY)
    assert r.status_code == 200 and cf_aig_emulator.logs == []
    r = client.get(f"/ai-gateway/gateways/default/logs/{r.headers['cf-aig-log-id']}")
    assert r.status_code == 404


def test_failed_request_is_logged(client: httpx.Client, cf_aig_emulator: Emulator) -> None:
    client.post(CHAT, json={"model": "openai/nope", "messages": BODY["messages"]})
    (entry,) = cf_aig_emulator.logs
    assert entry["success"] is False and entry["status_code"] == 404


def test_list_logs_paging_and_filters(client: httpx.Client) -> None:
    for i in range(3):
        client.post(CHAT, headers={"cf-aig-metadata": json.dumps({"user": f"u{i}"})}, json=BODY)
    client.post("/ai/run/@cf/meta/llama-3.1-8b-instruct-fp8", json={"prompt": "hi"})
    r = client.get("/ai-gateway/gateways/default/logs", params={"per_page": 2, "page": 1})
    body = r.json()
    assert body["success"] is True and len(body["result"]) == 2
    assert body["result_info"]["total_count"] == 4 and body["result_info"]["page"] == 1
    assert body["result"][0]["provider"] == "workers-ai"  # newest first by default
    asc = client.get("/ai-gateway/gateways/default/logs",
                     params={"order_by_direction": "asc"}).json()["result"]
    assert asc[0]["provider"] == "openai"
    page3 = client.get("/ai-gateway/gateways/default/logs", params={"per_page": 2, "page": 3})
    assert page3.json()["result"] == []
    by_provider = client.get("/ai-gateway/gateways/default/logs",
                             params={"provider": "workers-ai"}).json()
    assert by_provider["result_info"]["total_count"] == 1
    by_search = client.get("/ai-gateway/gateways/default/logs", params={"search": "u1"}).json()
    assert [e["metadata"]["user"] for e in by_search["result"]] == ["u1"]
    ok = client.get("/ai-gateway/gateways/default/logs", params={"success": "false"}).json()
    assert ok["result"] == []
    bad = client.get("/ai-gateway/gateways/default/logs", params={"per_page": 51})
    assert bad.status_code == 400


def test_logs_unknown_gateway_and_id(client: httpx.Client) -> None:
    assert client.get("/ai-gateway/gateways/nope/logs").status_code == 404
    r = client.get("/ai-gateway/gateways/default/logs/01900000-0000-7000-8000-000000000000")
    assert r.status_code == 404 and r.json()["success"] is False
    r = client.patch("/ai-gateway/gateways/default/logs/unknown", json={"feedback": 1})
    assert r.status_code == 404


def test_patch_feedback(client: httpx.Client) -> None:
    log_id = client.post(CHAT, headers={"cf-aig-metadata": '{"a":"1"}'},
                         json=BODY).headers["cf-aig-log-id"]
    url = f"/ai-gateway/gateways/default/logs/{log_id}"
    r = client.patch(url, json={"feedback": -1, "score": 87.5, "metadata": {"b": True}})
    assert r.status_code == 200 and r.json()["success"] is True
    e = client.get(url).json()["result"]
    assert (e["feedback"], e["score"], e["metadata"]) == (-1, 87.5, {"a": "1", "b": True})
    assert client.get("/ai-gateway/gateways/default/logs",
                      params={"feedback": "-1"}).json()["result_info"]["total_count"] == 1


@pytest.mark.parametrize("patch", [
    {"feedback": 2}, {"feedback": True}, {"score": "high"}, {"metadata": {"x": {"y": 1}}},
    {"metadata": {"cf.x": 1}}, {"other": 1}, [1]])
def test_patch_validation(client: httpx.Client, patch: object) -> None:
    log_id = client.post(CHAT, json=BODY).headers["cf-aig-log-id"]
    r = client.patch(f"/ai-gateway/gateways/default/logs/{log_id}", json=patch)
    assert r.status_code == 400 and r.json()["success"] is False


def test_session_affinity_cached_tokens(client: httpx.Client) -> None:
    h = {"x-session-affinity": "ses-1"}
    first = client.post(CHAT, headers=h, json=BODY).json()["usage"]
    again = client.post(CHAT, headers=h, json=BODY).json()["usage"]
    assert first["prompt_tokens_details"]["cached_tokens"] == 0
    assert again["prompt_tokens_details"]["cached_tokens"] == again["prompt_tokens"]
