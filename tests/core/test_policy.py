"""The adapter policy (cf_aig.policy) and the dialect registry it reads (cf_aig.dialects)."""

from __future__ import annotations

import logging
from typing import Any, get_args

import pytest

from cf_aig import ConfigurationError
from cf_aig.dialects import API_NAMES, REGISTRY, Capabilities, capabilities, get_dialect
from cf_aig.policy import (
    TokenUsage,
    apply_request_policy,
    build_tool_call,
    keeps_signed_thinking,
    normalize_tool_choice,
    parallel_tool_calls,
    place_max_tokens,
    resolve_tool_choice,
    structured_output_method,
    token_usage,
)
from cf_aig.types import Api

pytestmark = pytest.mark.disable_socket

CLASSIC = "@cf/meta/llama-3.1-8b-instruct"
KIMI = "@cf/moonshotai/kimi-k2.6"
GPT = "openai/gpt-5.5"
CLAUDE = "anthropic/claude-sonnet-4.5"
FN_ADD = {"type": "function", "function": {"name": "add"}}


# ----------------------------------------------------------------- registry


def test_registry_names_every_api_once() -> None:
    assert set(REGISTRY) == set(get_args(Api)) == set(API_NAMES)
    for api in API_NAMES:
        dialect = get_dialect(api)
        assert dialect.api == api
        assert get_dialect(api) is dialect  # loaded once


def test_unknown_api_is_a_configuration_error_naming_the_choices() -> None:
    with pytest.raises(ConfigurationError, match="'chat_completions', 'run'"):
        get_dialect("completions")


@pytest.mark.parametrize(
    ("api", "model", "path"),
    [
        ("chat_completions", CLASSIC, "/ai/v1/chat/completions"),
        ("run", CLASSIC, f"/ai/run/{CLASSIC}"),
        ("run", GPT, "/ai/run"),
        ("run", CLAUDE, "/ai/run"),
        ("messages", CLAUDE, "/ai/v1/messages"),
        ("responses", GPT, "/ai/v1/responses"),
    ],
)
def test_path_selection_is_the_dialects(api: str, model: str, path: str) -> None:
    assert capabilities(api, model).path == path == get_dialect(api).endpoint(model)


def test_unified_run_borrows_the_wire_it_carries() -> None:
    anthropic_run = capabilities("run", CLAUDE)
    assert anthropic_run.thinking_round_trip == "signed_blocks" and not anthropic_run.json_mode
    assert capabilities("run", GPT).max_tokens_field == "max_completion_tokens"
    classic = capabilities("run", CLASSIC)
    assert not classic.stop_sequences and not classic.stream_with_schema
    assert classic.tool_choice_forms == {"auto", "none"}
    assert isinstance(classic, Capabilities)


# ----------------------------------------------------------------- tool choice


@pytest.mark.parametrize(
    ("choice", "required", "expected"),
    [
        (None, False, None),
        (False, False, None),
        (None, True, "required"),
        ("auto", False, "auto"),
        ("none", False, "none"),
        ("any", False, "required"),
        ("required", False, "required"),
        (True, False, {"type": "function", "function": {"name": "add"}}),
        ("add", False, {"type": "function", "function": {"name": "add"}}),
        ({"name": "add"}, False, {"type": "function", "function": {"name": "add"}}),
        (FN_ADD, False, FN_ADD),
    ],
)
def test_tool_choice_spellings(choice: Any, required: bool, expected: Any) -> None:
    assert normalize_tool_choice(choice, ["add"], required=required) == expected


def test_tool_choice_true_with_many_tools_unknown_name_and_junk() -> None:
    assert normalize_tool_choice(True, ["a", "b"]) == "required"
    with pytest.raises(ConfigurationError, match="not one of the tools"):
        normalize_tool_choice("nope", ["a", "b"])
    with pytest.raises(ValueError, match="tool_choice"):
        normalize_tool_choice(42)


def test_forced_choice_relaxed_where_the_model_can_choose_freely(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="cf_aig.policy"):
        assert resolve_tool_choice("required", ["a", "b"], CLASSIC, "run") == "auto"
        assert resolve_tool_choice("a", ["a"], CLASSIC, "run") == "auto"
    assert "cannot be forced" in caplog.text
    # the same model through an endpoint that could force is still not forceable
    assert resolve_tool_choice("required", ["a"], CLASSIC, "chat_completions") == "auto"
    assert resolve_tool_choice("none", ["a"], CLASSIC, "run") == "none"


def test_forced_named_tool_among_several_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"cannot be forced to call 'a'.*offer only"):
        resolve_tool_choice("a", ["a", "b"], CLASSIC, "run")


@pytest.mark.parametrize("api", ["chat_completions", "messages", "responses"])
def test_forceable_models_keep_their_choice(api: str) -> None:
    model = CLAUDE if api == "messages" else GPT
    assert resolve_tool_choice("a", ["a", "b"], model, api) == {
        "type": "function", "function": {"name": "a"}}
    assert parallel_tool_calls(False, model, api) is False


def test_parallel_tool_calls_dropped_where_not_carried() -> None:
    assert parallel_tool_calls(False, CLASSIC, "run") is None
    assert parallel_tool_calls(None, GPT, "chat_completions") is None


def test_build_tool_call_forms() -> None:
    assert build_tool_call("c1", "f", '{"x": 1}')["function"]["arguments"] == '{"x": 1}'
    assert build_tool_call("c1", "f", None)["function"]["arguments"] == "{}"
    assert build_tool_call(None, "f", {"é": 1})["function"]["arguments"] == '{"é": 1}'
    assert build_tool_call(None, "f", {})["id"].startswith("call_")


# ----------------------------------------------------------------- usage


def test_token_usage_details() -> None:
    usage = token_usage({
        "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 4, "cache_creation_tokens": 3},
        "completion_tokens_details": {"reasoning_tokens": 2},
    })
    assert usage == TokenUsage(10, 5, 15, cache_read=4, cache_creation=3, reasoning=2)
    assert token_usage({"prompt_tokens": 2, "completion_tokens": 1}) == TokenUsage(2, 1, 3)
    assert token_usage(None) is None and token_usage({}) is None


# ----------------------------------------------------------------- request rules


@pytest.mark.parametrize(
    ("model", "api", "key"),
    [
        (GPT, "chat_completions", "max_completion_tokens"),
        (CLAUDE, "chat_completions", "max_tokens"),
        (KIMI, "chat_completions", "max_tokens"),
        (CLASSIC, "run", "max_tokens"),
        (GPT, "run", "max_completion_tokens"),
        (CLAUDE, "run", "max_tokens"),
        (CLAUDE, "messages", "max_tokens"),
        (GPT, "responses", "max_completion_tokens"),
    ],
)
@pytest.mark.parametrize("given", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_key(model: str, api: str, key: str, given: str) -> None:
    assert place_max_tokens({given: 64}, model, api) == {key: 64}


def test_max_tokens_both_given_are_left_alone() -> None:
    both = {"max_tokens": 1, "max_completion_tokens": 2}
    assert place_max_tokens(dict(both), GPT, "chat_completions") == both


@pytest.mark.parametrize(
    ("model", "api", "method"),
    [
        (GPT, "chat_completions", "json_schema"),
        (GPT, "responses", "json_schema"),
        (CLAUDE, "chat_completions", "json_schema"),
        (CLAUDE, "messages", "json_schema"),  # output_config.format
        (CLAUDE, "run", "json_schema"),
        (KIMI, "run", "json_schema"),
        ("@cf/qwen/qwq-32b", "run", "function_calling"),
        ("@cf/acme/unknown-model", "run", "json_mode"),
    ],
)
def test_structured_output_method(model: str, api: str, method: str) -> None:
    assert structured_output_method(model, api) == method


def test_structured_output_impossible_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="no way to return structured output"):
        structured_output_method("@cf/baai/bge-m3", "run")


@pytest.mark.parametrize(
    ("model", "api", "keep"),
    [
        (CLAUDE, "messages", True),
        (CLAUDE, "run", True),
        (CLAUDE, "chat_completions", False),
        (GPT, "responses", False),
        (KIMI, "run", False),
    ],
)
def test_signed_thinking_round_trip(model: str, api: str, keep: bool) -> None:
    assert keeps_signed_thinking(model, api) is keep


def test_apply_request_policy_in_one_call() -> None:
    request: dict[str, Any] = {
        "model": CLASSIC, "max_completion_tokens": 32, "tools": [FN_ADD],
        "tool_choice": "add", "parallel_tool_calls": False,
    }
    assert apply_request_policy(request, "run") == {
        "model": CLASSIC, "max_tokens": 32, "tools": [FN_ADD], "tool_choice": "auto"}
    unset = apply_request_policy({"model": GPT, "tool_choice": None}, "chat_completions")
    assert unset == {"model": GPT}


@pytest.mark.parametrize("api", ["messages", "run"])
def test_thinking_with_a_forced_tool_relaxes_or_refuses_on_the_anthropic_wire(
        api: str, caplog: pytest.LogCaptureFixture) -> None:
    one = [{"type": "function", "function": {"name": "f"}}]
    two = [*one, {"type": "function", "function": {"name": "g"}}]
    with caplog.at_level("WARNING", logger="cf_aig.policy"):
        request = apply_request_policy({"model": CLAUDE, "tools": one, "tool_choice": "f",
                                        "reasoning_effort": "low"}, api)
    assert request["tool_choice"] == "auto" and "thinking" in caplog.text
    with pytest.raises(ConfigurationError, match=r"'f'.*thinking"):
        apply_request_policy({"model": CLAUDE, "tools": two, "tool_choice": "f",
                              "thinking": {"type": "enabled", "budget_tokens": 2048}}, api)
    # thinking off, or an endpoint that combines both: the forced choice stays
    kept = apply_request_policy({"model": CLAUDE, "tools": two, "tool_choice": "f"}, api)
    assert kept["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    other = apply_request_policy({"model": CLAUDE, "tools": two, "tool_choice": "required",
                                  "reasoning_effort": "low"}, "chat_completions")
    assert other["tool_choice"] == "required"


def test_capabilities_cached_until_the_catalogue_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    from cf_aig import catalog

    first = capabilities("run", KIMI)
    assert capabilities("run", KIMI) is first
    monkeypatch.setitem(catalog._state, "generation", catalog.generation() + 1)
    again = capabilities("run", KIMI)
    assert again is not first and again == first  # recomputed from the new profiles
