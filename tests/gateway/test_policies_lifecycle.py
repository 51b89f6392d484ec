"""Policies (the fourth error body), Unified Billing on Responses, and the model lifecycle,
on both surfaces, sync and async, over loopback."""

from __future__ import annotations

from typing import Any

import pytest

from cf_aig import (
    AsyncClient,
    Client,
    NotFoundError,
    PermissionDeniedError,
    PlanRequiredError,
    PolicyDeniedError,
    QuotaExceededError,
    ResponsesBillingError,
    RetiredModelError,
    SpendLimitExceededError,
    get_profile,
)
from cf_aig.emulator import Emulator
from cf_aig.errors import error_from_body
from cf_aig.profiles import check_lifecycle

HI = [{"role": "user", "content": "Hello policies"}]
SURFACES = ["api", "gateway"]


def client_kw(emu: Emulator, surface: str, **kw: Any) -> dict[str, Any]:
    return {"account_id": emu.account_id, "api_token": "tok", "base_url": emu.base_url,
            "gateway_url": emu.gateway_url, "surface": surface, "max_retries": 3, **kw}


def attempts(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if "/compat/" in r.path or "/ai/" in r.path)


# ---- the fourth body, pure --------------------------------------------------------------

def test_policy_bodies_parse_to_typed_errors() -> None:
    denied = error_from_body(403, b'{"success":false,"error":{"message":"Access denied by policy"}}')
    assert type(denied) is PolicyDeniedError and not denied.retryable
    assert isinstance(denied, PermissionDeniedError) and denied.message == "Access denied by policy"
    spend = error_from_body(429, {"success": False, "error": {
        "message": "Spending limit exceeded", "bucket": "team:a", "spent": 12.5, "limit": 10}})
    assert type(spend) is SpendLimitExceededError and isinstance(spend, QuotaExceededError)
    assert (spend.bucket, spend.spent, spend.limit, spend.retryable) == ("team:a", 12.5, 10, False)
    top_level = error_from_body(429, {"success": False, "bucket": "b", "spent": 1, "limit": 1,
                                      "error": {"message": "Spending limit exceeded"}})
    assert (top_level.bucket, top_level.spent, top_level.limit) == ("b", 1, 1)
    plain_403 = error_from_body(403, {"success": False, "error": {"message": "Forbidden"}})
    assert type(plain_403) is PermissionDeniedError
    plan = error_from_body(403, {"success": False, "errors": [{"code": 5035, "message": "x"}]})
    assert type(plan) is PlanRequiredError and "Workers Paid" in str(plan)


# ---- over the wire, both surfaces --------------------------------------------------------

@pytest.mark.parametrize("surface", SURFACES)
def test_policy_denial_is_typed_and_not_retried(cf_aig_emulator: Emulator, surface: str) -> None:
    cf_aig_emulator.gateway.denied_models.add("openai/gpt-5-mini")
    with Client(**client_kw(cf_aig_emulator, surface)) as client, pytest.raises(
            PolicyDeniedError) as info:
        client.chat({"model": "openai/gpt-5-mini", "messages": HI})
    assert info.value.status == 403 and attempts(cf_aig_emulator) == 1


@pytest.mark.parametrize("surface", SURFACES)
async def test_spend_limit_carries_its_fields_and_is_not_retried(
        cf_aig_emulator: Emulator, surface: str) -> None:
    cf_aig_emulator.gateway.spend["user:alice"] = (20.25, 20.0)
    async with AsyncClient(**client_kw(cf_aig_emulator, surface,
                                       options={"metadata": {"user": "alice"}})) as client:
        with pytest.raises(SpendLimitExceededError) as info:
            await client.chat({"model": "openai/gpt-5-mini", "messages": HI})
        stream = await client.chat_stream({"model": "openai/gpt-5-mini", "messages": HI},
                                          options={"metadata": {"user": "bob"}})
        async with stream:
            assert [c async for c in stream]  # another bucket: served
    err = info.value
    assert (err.status, err.bucket, err.spent, err.limit) == (429, "user:alice", 20.25, 20.0)
    assert attempts(cf_aig_emulator) == 2  # one refused, one served


def test_responses_402_under_unified_billing_says_what_to_try(cf_aig_emulator: Emulator) -> None:
    cf_aig_emulator.gateway.responses_402 = True
    req = {"model": "openai/gpt-5.5", "messages": HI}
    with Client(**client_kw(cf_aig_emulator, "api")) as client:
        with pytest.raises(ResponsesBillingError) as info:
            client.chat(req, api="responses")
        assert client.chat(req, api="chat_completions").text  # what the message suggests
    assert "api='chat_completions'" in str(info.value) and info.value.status == 402
    with Client(**client_kw(cf_aig_emulator, "gateway", provider_api_key="sk-x")) as byok:
        assert byok.chat(req, api="responses").text  # BYOK in the request: no 402


# ---- lifecycle ----------------------------------------------------------------------------

@pytest.mark.parametrize("surface", SURFACES)
def test_retired_model_refused_before_sending_unless_allowed(
        cf_aig_emulator: Emulator, surface: str) -> None:
    req = {"model": "@cf/meta/llama-3.1-8b-instruct", "messages": HI}
    with Client(**client_kw(cf_aig_emulator, surface)) as client, pytest.raises(
            RetiredModelError) as info:
        client.chat(req)
    err = info.value
    assert (err.model, err.retired_on, err.replacement) == (
        "@cf/meta/llama-3.1-8b-instruct", "2026-05-30", "@cf/meta/llama-3.1-8b-instruct-fp8")
    assert "2026-05-30" in str(err) and "allow_retired=True" in str(err)
    assert attempts(cf_aig_emulator) == 0
    cf_aig_emulator.gateway.retire = True  # the emulator agrees it is gone
    with Client(**client_kw(cf_aig_emulator, surface, allow_retired=True)) as client, \
            pytest.raises(NotFoundError) as sent:
        client.chat(req)
    assert sent.value.code == 5007 and attempts(cf_aig_emulator) == 1


def test_retired_model_refused_on_run_too(cf_aig_emulator: Emulator) -> None:
    with Client(**client_kw(cf_aig_emulator, "api")) as client, pytest.raises(RetiredModelError):
        client.run("@hf/nousresearch/hermes-2-pro-mistral-7b", {"prompt": "hi"})
    assert attempts(cf_aig_emulator) == 0
    with pytest.raises(RetiredModelError, match=r"llama-3\.3-70b"):
        check_lifecycle("@hf/nousresearch/hermes-2-pro-mistral-7b")
    check_lifecycle("@hf/nousresearch/hermes-2-pro-mistral-7b", allow_retired=True)


@pytest.mark.parametrize("api", ["chat_completions", "run"])
async def test_workers_paid_model_on_a_free_plan(cf_aig_emulator: Emulator, api: str) -> None:
    cf_aig_emulator.gateway.plan = "free"
    async with AsyncClient(**client_kw(cf_aig_emulator, "api")) as client:
        with pytest.raises(PlanRequiredError) as info:
            await client.chat({"model": "@cf/moonshotai/kimi-k2.6", "messages": HI}, api=api)
        assert (await client.chat({"model": "@cf/zai-org/glm-4.7-flash", "messages": HI},
                                  api=api)).text
    assert info.value.code == 5035 and "Workers Paid" in str(info.value)
    assert attempts(cf_aig_emulator) == 2  # not retried


def test_alias_resolved_in_profiles() -> None:
    alias, target = get_profile("@cf/moonshotai/kimi-k2.5"), get_profile("@cf/moonshotai/kimi-k2.6")
    assert alias.alias_of == "@cf/moonshotai/kimi-k2.6" and alias.model.endswith("k2.5")
    assert alias.context_window == target.context_window and alias.workers_paid
    assert get_profile("@cf/meta/llama-3.1-8b-instruct").retired_on == "2026-05-30"
    assert get_profile("openai/gpt-5.5").retired_on is None


@pytest.mark.parametrize(("compat", "rest"), [
    ("workers-ai/@cf/meta/llama-3.1-8b-instruct", "@cf/meta/llama-3.1-8b-instruct"),
    ("workers-ai/@cf/moonshotai/kimi-k2.6", "@cf/moonshotai/kimi-k2.6"),
    ("workers-ai/@cf/moonshotai/kimi-k2.5", "@cf/moonshotai/kimi-k2.5"),
    ("google-ai-studio/gemini-2.5-flash", "google/gemini-2.5-flash"),
    ("grok/grok-4", "xai/grok-4"),
])
def test_compat_spelling_has_the_rest_spelling_profile(compat: str, rest: str) -> None:
    """The gateway host's model names (``workers-ai/@cf/...``, ``google-ai-studio/...``) get the
    facts, lifecycle and aliases of the same model under its REST API name."""
    got, want = get_profile(compat), get_profile(rest)
    assert want.known and got.known, compat
    assert got.model == compat
    assert (got.context_window, got.retired_on, got.replacement, got.workers_paid,
            got.alias_of, got.tool_calling) == (
        want.context_window, want.retired_on, want.replacement, want.workers_paid,
        want.alias_of, want.tool_calling)


def test_retired_model_in_compat_spelling_refused_before_sending(
        cf_aig_emulator: Emulator) -> None:
    req = {"model": "workers-ai/@cf/meta/llama-3.1-8b-instruct", "messages": HI}
    with Client(**client_kw(cf_aig_emulator, "gateway")) as client, pytest.raises(
            RetiredModelError, match=r"2026-05-30.*llama-3\.1-8b-instruct-fp8"):
        client.chat(req)
    assert attempts(cf_aig_emulator) == 0


@pytest.mark.parametrize("body", [
    {"success": False, "errors": [{"message": "Spending limit exceeded", "bucket": "team:a",
                                   "spent": 12.5, "limit": 10}]},   # the v4 list shape
    {"success": False, "error": {"message": "Spending limit exceeded", "bucket": "team:a",
                                 "spent": "12.5", "limit": "10"}},  # numbers as strings
])
def test_spend_limit_fields_from_the_v4_list_and_numeric_strings(body: dict[str, Any]) -> None:
    err = error_from_body(429, body)
    assert type(err) is SpendLimitExceededError and not err.retryable
    assert (err.bucket, err.spent, err.limit) == ("team:a", 12.5, 10)


def test_spend_limit_fields_of_the_wrong_type_are_absent_not_kept() -> None:
    err = error_from_body(429, {"success": False, "error": {
        "message": "Spending limit exceeded", "bucket": {"x": 1}, "spent": True,
        "limit": float("nan")}})
    assert type(err) is SpendLimitExceededError
    assert (err.bucket, err.spent, err.limit) == (None, None, None)
