"""Adapter policy: the rules both framework adapters apply, written once, framework-free.

Translation (framework message ↔ canonical dict) lives in each adapter; *decisions*
live here, so the LangChain and LlamaIndex classes cannot disagree:

- :func:`normalize_tool_choice` — every spelling of ``tool_choice`` → the canonical value;
- :func:`resolve_tool_choice` — the relax-or-refuse rule for forced tools (below);
- :func:`parallel_tool_calls` — whether ``parallel_tool_calls`` can be sent;
- :func:`build_tool_call` — one canonical tool call from an id, a name and arguments
  (defined in :mod:`cf_aig.accumulate`, where the dialects use it too);
- :func:`token_usage` — canonical usage → :class:`TokenUsage` (cache reads, cache writes,
  reasoning), which each adapter maps to its framework's usage type;
- :func:`place_max_tokens` — the output-token limit under the key the endpoint wants
  (:func:`drop_replaced_limit`: a per-call limit replaces the instance's, either spelling);
- :func:`structured_output_method` — JSON schema, tool calling or JSON mode, per model and
  endpoint;
- :func:`keeps_signed_thinking` — whether earlier signed thinking goes back on history;
- :func:`apply_request_policy` — the request rules above, applied in one call.

**Thinking plus a forced tool** (one policy, both adapters): Anthropic's wire
(:attr:`~cf_aig.dialects.Capabilities.forced_tool_with_thinking` false) refuses a forced
``tool_choice`` while thinking is on. The same relax-or-refuse rule applies: ``"required"``
or the only tool offered is relaxed to ``"auto"`` (logged at WARNING: the model may answer
in text), a named tool among several is refused. Structured output there uses the native
JSON schema instead, which thinking does not disturb.

**Relax-or-refuse for forced tools.** Some models cannot be forced to call a tool
(classic Workers AI models: their profile has ``tool_choice=False``, or the endpoint's
:attr:`~cf_aig.dialects.Capabilities.tool_choice_forms` lack the form). A forced choice
the model can still satisfy by choosing freely — ``"required"``, or a named tool that is
the only tool offered — is *relaxed* to ``"auto"`` (the tools are still sent; logged at
INFO on ``cf_aig.policy``). A named tool among several cannot be honoured that way and is
*refused* with :class:`~cf_aig.errors.ConfigurationError` before sending.

>>> normalize_tool_choice("any", ["get_weather"])
'required'
>>> resolve_tool_choice("get_weather", ["get_weather"], "@cf/meta/llama-3.1-8b-instruct", "run")
'auto'
>>> place_max_tokens({"max_tokens": 64}, "openai/gpt-5.5", "chat_completions")
{'max_completion_tokens': 64}
>>> structured_output_method("anthropic/claude-sonnet-4.5", "messages")
'json_schema'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .accumulate import build_tool_call
from .dialects import capabilities
from .errors import ConfigurationError
from .profiles import ModelProfile, get_profile
from .reasoning import apply_reasoning

logger = logging.getLogger(__name__)

StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]
"""How structured output is asked for: native ``response_format`` JSON schema, a forced
tool whose parameters are the schema, or JSON mode plus the schema in the prompt."""

ToolChoice = str | dict[str, Any]


# --------------------------------------------------------------------------- tool choice


def _function(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def normalize_tool_choice(
    choice: Any, tool_names: Sequence[str] = (), *, required: bool = False
) -> ToolChoice | None:
    """Any framework spelling of ``tool_choice`` → the canonical value (``None``: unset).

    ``"auto"``/``"none"``/``"required"`` pass; ``"any"`` and ``True`` force some tool
    (``True`` with one tool names it); another string names a tool (checked against
    ``tool_names`` when given); ``{"type": ...}`` dicts pass; ``{"name": n}`` names ``n``.
    ``required=True`` (LlamaIndex's ``tool_required``) stands for ``"required"`` when no
    choice is given.

    >>> normalize_tool_choice(True, ["a"])
    {'type': 'function', 'function': {'name': 'a'}}
    >>> normalize_tool_choice(None, required=True)
    'required'
    """
    if choice is None or choice is False:
        return "required" if required else None
    if choice is True:
        return _function(tool_names[0]) if len(tool_names) == 1 else "required"
    if isinstance(choice, Mapping):
        if "type" in choice:
            return dict(choice)
        if isinstance(choice.get("name"), str):
            return _function(choice["name"])
    elif isinstance(choice, str):
        if choice in ("auto", "none", "required"):
            return choice
        if choice == "any":
            return "required"
        if tool_names and choice not in tool_names:
            raise ConfigurationError(
                f"tool_choice {choice!r} is not one of the tools {list(tool_names)}; name one "
                "of them, or use 'auto', 'required' or 'none'"
            )
        return _function(choice)
    raise ConfigurationError(
        f"tool_choice must be 'auto', 'none', 'required'/'any', True, a tool name or a dict, "
        f"got {choice!r}"
    )


def _forced_name(choice: ToolChoice) -> str | None:
    if isinstance(choice, dict) and choice.get("type") == "function":
        fn = choice.get("function")
        name = fn.get("name") if isinstance(fn, Mapping) else choice.get("name")
        return name if isinstance(name, str) else None
    return None


def can_force_tools(model: str, api: str, *, thinking: bool = False) -> bool:
    """Whether ``model`` on ``api`` can be made to call a tool (``thinking``: with
    thinking/reasoning on, which Anthropic's wire does not combine with a forced tool)."""
    caps = capabilities(api, model)
    if thinking and not caps.forced_tool_with_thinking:
        return False
    return get_profile(model).tool_choice and "required" in caps.tool_choice_forms


def thinking_requested(request: Mapping[str, Any]) -> bool:
    """Whether a canonical request turns thinking/reasoning on.

    >>> thinking_requested({"reasoning_effort": "low"}), thinking_requested({})
    (True, False)
    """
    effort = request.get("reasoning_effort")
    thinking = request.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, Mapping) else None
    return (effort is not None and effort != "none") or kind in ("enabled", "adaptive")


def resolve_tool_choice(
    choice: Any, tool_names: Sequence[str], model: str, api: str, *, required: bool = False,
    thinking: bool = False,
) -> ToolChoice | None:
    """:func:`normalize_tool_choice`, then the relax-or-refuse rule (module docstring).

    >>> resolve_tool_choice("any", ["a", "b"], "openai/gpt-5.5", "chat_completions")
    'required'
    >>> resolve_tool_choice("any", ["a"], "anthropic/claude-sonnet-4.5", "messages",
    ...                     thinking=True)
    'auto'
    """
    canon = normalize_tool_choice(choice, tool_names, required=required)
    if canon is None or can_force_tools(model, api, thinking=thinking):
        return canon
    forced = canon == "required" or _forced_name(canon) is not None
    if not forced:
        return canon
    why = ("with thinking on (Anthropic refuses a forced tool choice together with "
           "thinking)" if thinking and can_force_tools(model, api) else "")
    name = _forced_name(canon)
    if name is not None and list(tool_names) != [name]:
        if why:
            raise ConfigurationError(
                f"{model} on api={api!r} cannot be forced to call {name!r} {why}, and other "
                "tools are offered too; offer only that tool, turn thinking off "
                "(reasoning_effort='none'), or use structured output (JSON schema)")
        raise ConfigurationError(
            f"{model} on api={api!r} cannot be forced to call {name!r} (it only chooses tools "
            f"itself) and other tools are offered too; offer only that tool, or use a model "
            "that can be forced (for example @cf/moonshotai/kimi-k2.6 or openai/gpt-5.5)"
        )
    if why:
        logger.warning("%s on api=%r cannot be forced to call a tool %s; sending "
                       "tool_choice=auto", model, api, why)
    else:
        logger.info("%s on api=%r cannot be forced to call a tool; sending tool_choice=auto",
                    model, api)
    return "auto"


def parallel_tool_calls(value: bool | None, model: str, api: str) -> bool | None:
    """``value`` if ``model`` on ``api`` can carry ``parallel_tool_calls``, else ``None``
    (such models call one tool at a time anyway)."""
    if value is None:
        return None
    if get_profile(model).parallel_tool_calls and capabilities(api, model).parallel_tool_calls:
        return value
    return None


# --------------------------------------------------------------------------- usage


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token counts of one answer, neutral between frameworks.

    ``input_tokens`` includes cache reads and writes (as the canonical ``prompt_tokens``
    does); ``None`` means the endpoint did not report that detail.

    >>> token_usage({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
    ...              "prompt_tokens_details": {"cached_tokens": 4}})
    TokenUsage(input_tokens=10, output_tokens=5, total_tokens=15, cache_read=4, \
cache_creation=None, reasoning=None)
    """

    input_tokens: int
    output_tokens: int
    total_tokens: int
    cache_read: int | None = None
    cache_creation: int | None = None
    reasoning: int | None = None


def _count(obj: Any, key: str) -> int | None:
    value = obj.get(key) if isinstance(obj, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def token_usage(usage: Mapping[str, Any] | None) -> TokenUsage | None:
    """Canonical ``usage`` → :class:`TokenUsage` (``None`` for no usage)."""
    if not usage:
        return None
    inp = _count(usage, "prompt_tokens") or 0
    out = _count(usage, "completion_tokens") or 0
    total = _count(usage, "total_tokens")
    pdet = usage.get("prompt_tokens_details")
    return TokenUsage(
        input_tokens=inp,
        output_tokens=out,
        total_tokens=total if total else inp + out,
        cache_read=_count(pdet, "cached_tokens"),
        cache_creation=_count(pdet, "cache_creation_tokens"),
        reasoning=_count(usage.get("completion_tokens_details"), "reasoning_tokens"),
    )


# --------------------------------------------------------------------------- request rules


_LIMIT_KEYS = ("max_tokens", "max_completion_tokens")


def place_max_tokens(request: dict[str, Any], model: str, api: str) -> dict[str, Any]:
    """In place (and returned): an output-token limit given under one of ``max_tokens`` /
    ``max_completion_tokens`` moves to the key ``model`` on ``api`` wants (OpenAI models:
    ``max_completion_tokens``; others: ``max_tokens``). Both given: left as they are."""
    present = [k for k in _LIMIT_KEYS if request.get(k) is not None]
    if len(present) == 1:
        want = capabilities(api, model).max_tokens_field
        if present[0] != want:
            request[want] = request.pop(present[0])
    return request


def drop_replaced_limit(request: dict[str, Any], call: Mapping[str, Any]) -> dict[str, Any]:
    """In place (and returned), before the per-call arguments ``call`` are merged over the
    instance's ``request``: an output-token limit the call gives (under either spelling)
    replaces the instance's under the other spelling too, so one limit goes out, the
    call's. Both adapters merge this way.

    >>> drop_replaced_limit({"max_tokens": 100}, {"max_completion_tokens": 50})
    {}
    """
    given = [k for k in _LIMIT_KEYS if call.get(k) is not None]
    if given:
        for key in _LIMIT_KEYS:
            if key not in given:
                request.pop(key, None)
    return request


def structured_output_method(model: str, api: str) -> StructuredMethod:
    """The default structured-output method for ``model`` on ``api``: native JSON schema
    where both model and endpoint carry it, else a forced tool, else JSON mode.

    >>> structured_output_method("openai/gpt-5.5", "chat_completions")
    'json_schema'
    """
    profile, caps = get_profile(model), capabilities(api, model)
    if profile.json_schema and caps.json_schema:
        return "json_schema"
    if profile.tool_calling:
        return "function_calling"
    if profile.json_mode and caps.json_mode:
        return "json_mode"
    raise ConfigurationError(
        f"{model} on api={api!r} has no way to return structured output (no JSON schema, "
        "tool calling or JSON mode); use a model that has one (for example openai/gpt-5.5)"
    )


def json_schema_format(
    name: str,
    schema: Mapping[str, Any],
    *,
    description: str | None = None,
    strict: bool | None = None,
) -> dict[str, Any]:
    """The canonical ``response_format`` asking for ``schema`` (both adapters build it here,
    so the wire is the same whichever framework asked; unset fields are not sent).

    >>> json_schema_format("City", {"type": "object"}, strict=True)["json_schema"]["strict"]
    True
    """
    spec: dict[str, Any] = {"name": name, "schema": dict(schema)}
    if description:
        spec["description"] = description
    if strict is not None:
        spec["strict"] = strict
    return {"type": "json_schema", "json_schema": spec}


def tool_names(tools: Any) -> list[str]:
    """Names of the function tools in a canonical ``tools`` list."""
    names = []
    for tool in tools or ():
        fn = tool.get("function") if isinstance(tool, Mapping) else None
        if isinstance(fn, Mapping) and isinstance(fn.get("name"), str):
            names.append(fn["name"])
    return names


_IMAGE_PARTS = frozenset({"image_url", "input_image", "image"})
_FILE_PARTS = frozenset({"file", "input_file", "document"})
_AUDIO_PARTS = frozenset({"input_audio", "audio"})


def media_refusal(profile: ModelProfile, kind: Literal["image", "file", "audio"]) -> str | None:
    """Why the model of ``profile`` cannot take an image (or a file: PDF document) input,
    or ``None`` when it can or its profile is unknown. The one rule both adapters apply
    (LlamaIndex also while converting blocks, with its own error class).

    >>> media_refusal(get_profile("@cf/moonshotai/kimi-k2.6"), "file")  # doctest: +ELLIPSIS
    '@cf/moonshotai/kimi-k2.6 does not read files (PDF documents) by its profile; ...'
    """
    if not profile.known:
        return None
    if kind == "image" and not profile.vision:
        return (f"{profile.model} does not see images by its profile; use a vision model "
                "(for example openai/gpt-5.5, @cf/meta/llama-4-scout-17b-16e-instruct) or "
                "remove the image")
    if kind == "audio" and not profile.audio_input:
        return (f"{profile.model} does not hear audio by its profile; use a model that does "
                "(for example openai/gpt-audio or google/gemini-2.5-flash, with "
                "api='chat_completions'), or remove the audio")
    if kind == "file" and not profile.pdf_input:
        return (f"{profile.model} does not read files (PDF documents) by its profile; use a "
                "model that does (for example openai/gpt-5.5 or anthropic/claude-sonnet-4.5),"
                " or remove the file")
    return None


def check_media(request: Mapping[str, Any]) -> None:
    """Images need a model that sees, files (PDF) one that reads them, audio one that hears:
    by the model's profile (unknown models pass), in every message, tool results included.
    Otherwise a :class:`ConfigurationError` before sending (the model would ignore them silently).

    >>> check_media({"model": "openai/gpt-4o-mini", "messages": [{"role": "user",
    ...     "content": [{"type": "file", "file": {"file_data": "data:..."}}]}]})
    Traceback (most recent call last):
    ...
    cf_aig.errors.ConfigurationError: messages[0]: openai/gpt-4o-mini does not read files \
(PDF documents) by its profile; use a model that does (for example openai/gpt-5.5 or \
anthropic/claude-sonnet-4.5), or remove the file
    """
    profile = get_profile(str(request.get("model") or ""))
    if not profile.known:
        return
    for i, message in enumerate(request.get("messages") or ()):
        content = message.get("content") if isinstance(message, Mapping) else None
        kinds = {p.get("type") for p in content if isinstance(p, Mapping)} \
            if isinstance(content, list) else set()
        why = media_refusal(profile, "image") if kinds & _IMAGE_PARTS else None
        why = why or (media_refusal(profile, "file") if kinds & _FILE_PARTS else None)
        why = why or (media_refusal(profile, "audio") if kinds & _AUDIO_PARTS else None)
        if why:
            raise ConfigurationError(f"messages[{i}]: {why}")


def apply_request_policy(request: dict[str, Any], api: str) -> dict[str, Any]:
    """In place (and returned): every request rule, for ``request["model"]`` on ``api``.

    The output-token limit goes under the right key (:func:`place_max_tokens`);
    ``tool_choice`` is normalized, then relaxed or refused (:func:`resolve_tool_choice`);
    ``parallel_tool_calls`` is dropped where it cannot be carried. Adapters call this
    once, after merging instance settings and per-call arguments.

    >>> apply_request_policy({"model": "@cf/meta/llama-3.1-8b-instruct", "tools": [
    ...     {"type": "function", "function": {"name": "f"}}], "tool_choice": "any",
    ...     "parallel_tool_calls": False}, "run")["tool_choice"]
    'auto'
    """
    model = str(request.get("model") or "")
    check_cache_marks(request, api)
    place_max_tokens(request, model, api)
    apply_reasoning(request, api)  # thinking / reasoning / effort → the endpoint's form
    check_media(request)  # images and files only to models that take them
    if "tool_choice" in request:
        choice = resolve_tool_choice(
            request["tool_choice"], tool_names(request.get("tools")), model, api,
            thinking=thinking_requested(request),
        )
        if choice is None:
            del request["tool_choice"]
        else:
            request["tool_choice"] = choice
    if "parallel_tool_calls" in request:
        value = parallel_tool_calls(request["parallel_tool_calls"], model, api)
        if value is None:
            del request["parallel_tool_calls"]
        else:
            request["parallel_tool_calls"] = value
    return request


def _marks(request: Mapping[str, Any]) -> list[str]:
    where = ["the request (top-level)"] if request.get("cache_control") else []
    for i, tool in enumerate(request.get("tools") or ()):
        if isinstance(tool, Mapping) and tool.get("cache_control"):
            where.append(f"tools[{i}]")
    for i, m in enumerate(request.get("messages") or ()):
        if not isinstance(m, Mapping):
            continue
        content = m.get("content")
        for j, part in enumerate(content if isinstance(content, list) else ()):
            if isinstance(part, Mapping) and part.get("cache_control"):
                where.append(f"messages[{i}] part {j}")
        for j, call in enumerate(m.get("tool_calls") or ()):
            if isinstance(call, Mapping) and call.get("cache_control"):
                where.append(f"messages[{i}] tool call {j}")
    return where


def check_cache_marks(request: Mapping[str, Any], api: str) -> None:
    """Refuse Anthropic prompt-cache marks (``cache_control``) where the endpoint cannot
    carry them (:attr:`~cf_aig.dialects.Capabilities.cache_marks`), naming where they are
    and which endpoint can: never sent as an unknown key, never dropped.

    >>> check_cache_marks({"model": "openai/gpt-5.5", "messages": [{"role": "user",
    ...     "content": [{"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}]}]},
    ...     "chat_completions")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cf_aig.errors.ConfigurationError: cache_control (prompt-cache mark) at messages[0] part 0 ...
    """
    model = str(request.get("model") or "")
    if capabilities(api, model).cache_marks:
        return
    where = _marks(request)
    if where:
        raise ConfigurationError(
            f"cache_control (prompt-cache mark) at {', '.join(where)} cannot be sent on "
            f"api={api!r}; marks are carried by api='messages' (and anthropic/* models on "
            "api='run'). Remove them here: OpenAI-style endpoints cache long prompts "
            "automatically and report cached tokens in usage"
        )


def keeps_signed_thinking(model: str, api: str) -> bool:
    """Whether earlier signed thinking (``thinking_blocks``) goes back on assistant turns:
    only where the wire is Anthropic's (``messages``, ``anthropic/*`` on ``run``), which
    needs it on tool-use turns; other endpoints reject the field."""
    return capabilities(api, model).thinking_round_trip == "signed_blocks"


__all__ = [
    "StructuredMethod",
    "TokenUsage",
    "ToolChoice",
    "apply_request_policy",
    "build_tool_call",
    "can_force_tools",
    "check_cache_marks",
    "drop_replaced_limit",
    "keeps_signed_thinking",
    "media_refusal",
    "normalize_tool_choice",
    "parallel_tool_calls",
    "place_max_tokens",
    "resolve_tool_choice",
    "structured_output_method",
    "thinking_requested",
    "token_usage",
    "tool_names",
]
