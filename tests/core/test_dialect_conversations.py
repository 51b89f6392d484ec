"""Every dialect against the shared canonical conversations (tests/conversations.py).

For each endpoint in the registry and each model with a distinct wire form there, every
conversation either reaches the wire with all its marker words (nothing silently lost)
or is refused with a typed error before sending; which of the two must agree with what
the dialect *declares* (its Capabilities), so declarations and behaviour cannot drift.
Then the emulator answers each body that was built.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conversations import (
    CONVERSATIONS,
    ENDPOINT_MODELS,
    FEATURES,
    PNG,
    feature_request,
    markers,
    request,
)

from cf_aig import Client, ConfigurationError
from cf_aig.dialects import API_NAMES, Capabilities, capabilities, get_dialect
from cf_aig.emulator import Emulator

CASES = [
    (api, model, name)
    for api in API_NAMES
    for model in ENDPOINT_MODELS[api]
    for name in CONVERSATIONS
]


def test_every_registered_endpoint_has_models() -> None:
    assert set(ENDPOINT_MODELS) == set(API_NAMES)


def _declared(caps: Capabilities, name: str) -> bool:
    """Whether the dialect's declaration says conversation ``name`` can be carried."""
    return {"image": caps.images, "pdf": caps.files}.get(name, True)


@pytest.mark.parametrize(("api", "model", "name"), CASES)
def test_conversation_reaches_the_wire_or_is_refused_as_declared(
    api: str, model: str, name: str
) -> None:
    dialect, caps = get_dialect(api), capabilities(api, model)
    try:
        body = dialect.build(request(name, model), stream=False)  # type: ignore[arg-type]
    except ConfigurationError as exc:
        assert not _declared(caps, name), f"refused although declared: {exc}"
        return
    assert _declared(caps, name), "built although the dialect declares it cannot"
    wire = json.dumps(body, ensure_ascii=False)
    lost = {m for m in markers(CONVERSATIONS[name]) if m not in wire}
    assert not lost, f"silently lost on {api} for {model}: {sorted(lost)}"
    if name == "reasoning_history":  # signed thinking goes back only where it is declared
        signed = caps.thinking_round_trip == "signed_blocks"
        assert ("SIGMARK" in wire) is signed
        assert ("private reasoning" in wire) is signed


@pytest.mark.parametrize(("api", "model", "name"), CASES)
def test_emulator_answers_every_built_conversation(
    cf_aig_emulator: Emulator, api: str, model: str, name: str
) -> None:
    req: Any = request(name, model)
    try:
        get_dialect(api).build(req, stream=False)
    except ConfigurationError:
        pytest.skip("refused before sending (checked above)")
    with Client(account_id="acc", api_token="tok", base_url=cf_aig_emulator.base_url) as client:
        result = client.chat(req, api=api)  # type: ignore[arg-type]
    assert result.completion["choices"][0]["message"]["role"] == "assistant"
    sent = [r for r in cf_aig_emulator.requests if r.method == "POST"][-1]
    assert sent.path.endswith(caps_of(api, model).path)


def caps_of(api: str, model: str) -> Capabilities:
    return capabilities(api, model)


@pytest.mark.parametrize(
    ("api", "model", "feature"),
    [(a, m, f) for a in API_NAMES for m in ENDPOINT_MODELS[a] for f in FEATURES],
)
def test_request_feature_carried_or_refused_as_declared(api: str, model: str,
                                                        feature: str) -> None:
    declared = getattr(capabilities(api, model), FEATURES[feature][0])
    try:
        body = get_dialect(api).build(feature_request(feature, model),  # type: ignore[arg-type]
                                      stream=False)
    except ConfigurationError:
        assert not declared, f"{feature} refused on {api} for {model} although declared"
        return
    assert declared, f"{feature} sent on {api} for {model} although declared unsupported"
    wire = json.dumps(body)
    assert "ENDMARK" in wire or feature != "stop"
    assert "UklGRg==" in wire or feature != "audio"
    assert PNG in wire or feature != "tool_result_image"


@pytest.mark.parametrize("include_usage", [True, False])
def test_chat_body_stream_options_alike_on_chat_completions_and_unified_run(
        include_usage: bool) -> None:
    # /ai/run's input for a non-Workers-AI model is a Chat Completions body: built by the
    # same rule (the run path used to force include_usage=True over the caller's choice).
    req = {"model": "openai/gpt-5.5", "messages": [{"role": "user", "content": "Hi"}],
           "stream_options": {"include_usage": include_usage}}
    chat = get_dialect("chat_completions").build(req, stream=True)  # type: ignore[arg-type]
    run = get_dialect("run").build(req, stream=True)  # type: ignore[arg-type]
    assert run["input"] == {k: v for k, v in chat.items() if k != "model"}
    assert run["input"]["stream_options"] == {"include_usage": include_usage}
    plain = get_dialect("run").build(req, stream=False)  # type: ignore[arg-type]
    assert "stream_options" not in plain["input"] and "stream" not in plain["input"]
