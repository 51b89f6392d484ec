"""The anchors' reasoning vocabulary, translated once for every endpoint.

Users bring these names from ChatAnthropic, ChatOpenAI and LlamaIndex's LLMs; both
adapters accept them as fields and per-call arguments, put them in the canonical request
under the same names, and :func:`apply_reasoning` (called by
:func:`cf_aig.policy.apply_request_policy`) turns them into what the endpoint carries:

============  =========================================  =====================================
name          Anthropic wire (``messages``, ``anthropic/*``  other endpoints
              on ``run``)
============  =========================================  =====================================
thinking      native ``thinking``                        ``reasoning_effort`` from the budget
              (``{"type": "enabled", "budget_tokens"}``) (≤2048 low, ≤8192 medium, else high);
                                                         ``disabled`` → no reasoning field
reasoning     ``reasoning_effort`` from ``effort``       ``responses``: native ``reasoning``;
              (``summary``: typed error)                 others: ``reasoning_effort``
                                                         (``summary``: typed error)
effort        ``output_config.effort``                   ``reasoning_effort`` (``max``: error)
============  =========================================  =====================================

Asking a model that does not reason (its profile) for any of them is a
:class:`~cf_aig.errors.ConfigurationError` before sending, naming models that do.

>>> apply_reasoning({"model": "openai/gpt-5.5", "thinking": {"type": "enabled",
...     "budget_tokens": 4000}}, "chat_completions")
{'model': 'openai/gpt-5.5', 'reasoning_effort': 'medium'}
>>> apply_reasoning({"model": "anthropic/claude-sonnet-4.5", "effort": "high"}, "messages")
{'model': 'anthropic/claude-sonnet-4.5', 'output_config': {'effort': 'high'}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .dialects import capabilities
from .errors import ConfigurationError
from .profiles import get_profile

VOCABULARY = ("thinking", "reasoning", "effort")
"""Request keys this module translates (every one is removed or made native)."""
EFFORTS = ("minimal", "low", "medium", "high")
ANTHROPIC_EFFORTS = ("low", "medium", "high", "max")


def _effort_of_budget(budget: Any) -> str:
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ConfigurationError(
            f"thinking.budget_tokens must be a positive integer, got {budget!r}")
    return "low" if budget <= 2048 else "medium" if budget <= 8192 else "high"


def _anthropic_wire(model: str, api: str) -> bool:
    return capabilities(api, model).thinking_round_trip == "signed_blocks"


def apply_reasoning(request: dict[str, Any], api: str) -> dict[str, Any]:
    """In place (and returned): ``thinking``/``reasoning``/``effort`` → the endpoint's
    native form (module docstring)."""
    given = {k: request.pop(k) for k in VOCABULARY if request.get(k) is not None}
    for k in VOCABULARY:
        request.pop(k, None)
    if not given:
        return request
    model = str(request.get("model") or "")
    if not get_profile(model).reasoning:
        raise ConfigurationError(
            f"{', '.join(sorted(given))} asks {model} to reason, and its profile says it does "
            "not; use a reasoning model (for example openai/gpt-5.5, "
            "anthropic/claude-sonnet-4.5, deepseek/deepseek-reasoner)")
    native = _anthropic_wire(model, api)
    effort_set = request.get("reasoning_effort")

    def set_effort(value: str, name: str) -> None:
        nonlocal effort_set
        if effort_set is not None and effort_set != value:
            raise ConfigurationError(
                f"{name} and reasoning_effort={effort_set!r} disagree; set one of them")
        request["reasoning_effort"] = effort_set = value

    thinking = given.get("thinking")
    if thinking is not None:
        if not isinstance(thinking, Mapping) or thinking.get("type") not in (
                "enabled", "disabled", "adaptive"):
            raise ConfigurationError(
                "thinking must be {'type': 'enabled', 'budget_tokens': N}, "
                f"{{'type': 'adaptive'}} or {{'type': 'disabled'}}, got {thinking!r}")
        if native:
            request["thinking"] = dict(thinking)
        elif thinking["type"] == "enabled":
            set_effort(_effort_of_budget(thinking.get("budget_tokens")), "thinking")
        elif thinking["type"] == "adaptive":
            set_effort("medium", "thinking")
    reasoning = given.get("reasoning")
    if reasoning is not None:
        if not isinstance(reasoning, Mapping):
            raise ConfigurationError(
                f"reasoning must be a dict like {{'effort': 'medium'}}, got {reasoning!r}")
        if capabilities(api, model).reasoning_object:
            request["reasoning"] = dict(reasoning)
        else:
            unknown = set(reasoning) - {"effort"}
            if unknown:
                raise ConfigurationError(
                    f"reasoning {sorted(unknown)} is carried by api='responses' only "
                    f"(OpenAI's Responses reasoning object), not by api={api!r}")
            if reasoning.get("effort") is not None:
                set_effort(str(reasoning["effort"]), "reasoning.effort")
    effort = given.get("effort")
    if effort is not None:
        if native:
            if effort not in ANTHROPIC_EFFORTS:
                raise ConfigurationError(
                    f"effort must be one of {', '.join(ANTHROPIC_EFFORTS)}, got {effort!r}")
            request["output_config"] = {**dict(request.get("output_config") or {}),
                                        "effort": effort}
        elif effort in EFFORTS:
            set_effort(effort, "effort")
        else:
            raise ConfigurationError(
                f"effort={effort!r} is carried by Anthropic's wire only (api='messages'); "
                f"{model} on api={api!r} takes one of {', '.join(EFFORTS)}")
    return request
