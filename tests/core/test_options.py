"""Gateway options: validation before sending, header serialisation, merging."""

from __future__ import annotations

import pytest

from cf_aig import ConfigurationError, GatewayInfo, GatewayOptions


def test_every_option_serialises_to_its_header() -> None:
    opts = GatewayOptions(
        cache_ttl=60, skip_cache=False, cache_key="k1", metadata={"u": "a", "n": 1, "b": True},
        collect_log=True, collect_log_payload=False, request_timeout_ms=1500, max_attempts=3,
        retry_delay_ms=500, backoff="exponential", event_id="ev-1",
        custom_cost={"per_token_in": 1e-6, "per_token_out": 2e-6}, byok_alias="prod", zdr=True,
        no_wholesale=True, otel_trace_id="A" * 32, otel_parent_span_id="b" * 16,
        session_affinity="sess-1",
    )
    assert opts.headers() == {
        "cf-aig-cache-ttl": "60", "cf-aig-skip-cache": "false", "cf-aig-cache-key": "k1",
        "cf-aig-metadata": '{"u":"a","n":1,"b":true}', "cf-aig-collect-log": "true",
        "cf-aig-collect-log-payload": "false", "cf-aig-request-timeout": "1500",
        "cf-aig-max-attempts": "3", "cf-aig-retry-delay": "500", "cf-aig-backoff": "exponential",
        "cf-aig-event-id": "ev-1",
        "cf-aig-custom-cost": '{"per_token_in":1e-06,"per_token_out":2e-06}',
        "cf-aig-byok-alias": "prod", "cf-aig-zdr": "true", "cf-aig-no-wholesale": "true",
        "cf-aig-otel-trace-id": "a" * 32, "cf-aig-otel-parent-span-id": "b" * 16,
        "x-session-affinity": "sess-1",
    }


@pytest.mark.parametrize(("kwargs", "names"), [
    ({"cache_ttl": 59}, ["cache_ttl", "60", "2592000"]),
    ({"cache_ttl": 2592001}, ["cache_ttl"]),
    ({"cache_ttl": True}, ["cache_ttl"]),
    ({"max_attempts": 0}, ["max_attempts", "1 to 5"]),
    ({"max_attempts": 6}, ["max_attempts", "1 to 5"]),
    ({"retry_delay_ms": 60001}, ["retry_delay_ms"]),
    ({"request_timeout_ms": 0}, ["request_timeout_ms"]),
    ({"backoff": "random"}, ["backoff", "exponential"]),
    ({"metadata": {str(i): i for i in range(6)}}, ["metadata", "5"]),
    ({"metadata": {"a": {"nested": 1}}}, ["metadata", "nest"]),
    ({"metadata": {"a": None}}, ["metadata"]),
    ({"metadata": {"cf.user_id": "x"}}, ["reserved"]),
    ({"metadata": ["a"]}, ["metadata"]),
    ({"skip_cache": "yes"}, ["skip_cache"]),
    ({"event_id": ""}, ["event_id"]),
    ({"event_id": "a\nb"}, ["event_id"]),
    ({"custom_cost": {"per_token_in": -1}}, ["custom_cost"]),
    ({"custom_cost": {"total_cost": 1, "per_token_in": 1}}, ["custom_cost"]),
    ({"custom_cost": {"bogus": 1}}, ["custom_cost"]),
    ({"otel_trace_id": "xyz"}, ["otel_trace_id", "32"]),
    ({"otel_parent_span_id": "a" * 15}, ["otel_parent_span_id", "16"]),
])
def test_invalid_values_raise_value_error_naming_the_option(kwargs: dict, names: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        GatewayOptions(**kwargs)
    assert isinstance(info.value, ConfigurationError)
    for name in names:
        assert name in str(info.value)


def test_merge_per_request_wins_and_unknown_keys_rejected() -> None:
    base = GatewayOptions(cache_ttl=600, metadata={"app": "x"})
    merged = base.merge({"cache_ttl": 120, "event_id": "e"})
    assert merged.cache_ttl == 120 and merged.metadata == {"app": "x"} and merged.event_id == "e"
    assert base.merge(None) is base
    with pytest.raises(ConfigurationError, match="cache_tll"):
        base.merge({"cache_tll": 5})


def test_gateway_info_from_headers() -> None:
    info = GatewayInfo.from_headers({
        "cf-aig-log-id": "019a7b3e-5f2c-7c41-9d3e-2b8f6a1c4e07", "cf-aig-cache-status": "HIT",
        "cf-aig-step": "1", "cf-aig-model": "m", "cf-aig-provider": "openai",
        "cf-aig-dlp": '{"action":"FLAG","findings":[]}', "cf-aig-event-id": "e",
        "cf-aig-request-id": "r"})
    assert info.cached and info.step == 1 and info.dlp == {"action": "FLAG", "findings": []}
    assert info.as_dict()["log_id"].startswith("019a")
    assert GatewayInfo.from_headers({"cf-aig-dlp": "not json"}).dlp == {"raw": "not json"}
