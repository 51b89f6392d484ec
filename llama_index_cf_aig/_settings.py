"""Settings shared by the LLM and the embedding: the core's :class:`GatewayFields`.

Every setting is a documented pydantic field; the API token is a secret excluded from
``model_dump``/``to_dict``/``to_json`` (and so from instrumentation events). Core clients
are built lazily, once per instance, as private attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from cf_aig.errors import ConfigurationError
from cf_aig.fields import OPTION_OF_FIELD, GatewayFields, pop_call_options

OPTION_FIELDS: tuple[str, ...] = tuple(sorted(OPTION_OF_FIELD))
"""Field / per-call kwarg names of the gateway options (``gateway_metadata`` for metadata)."""


class GatewaySettings(GatewayFields):
    """Account, token, gateway, transport and ``cf-aig-*`` option fields."""

    def _check_settings(self) -> None:
        """Fail fast on missing credentials or bad options (no client is built)."""
        self.check_settings()


def accepted_names(cls: type[BaseModel]) -> set[str]:
    """Every name a pydantic class takes as a constructor argument (fields and aliases)."""
    names = set(cls.model_fields)
    for info in cls.model_fields.values():
        if info.alias:
            names.add(info.alias)
        choices = getattr(info.validation_alias, "choices", None)
        names.update(c for c in choices or () if isinstance(c, str))
        if isinstance(info.validation_alias, str):
            names.add(info.validation_alias)
    return names


def refuse_unknown_arguments(cls: type[BaseModel], data: Mapping[str, Any]) -> None:
    """A constructor argument no field takes (a typo such as ``temprature=``, or a
    request-body field such as ``enable_search=``) is a :class:`ConfigurationError`, never
    silently dropped (pydantic would ignore it).

    >>> from llama_index_cf_aig import CloudflareAIGateway
    >>> refuse_unknown_arguments(CloudflareAIGateway, {"model": "m", "temprature": 0})
    Traceback (most recent call last):
    ...
    cf_aig.errors.ConfigurationError: unknown argument(s) ['temprature'] for \
CloudflareAIGateway; request-body fields go in additional_kwargs={...} (sent with every \
call) or as per-call keyword arguments
    """
    unknown = sorted(set(data) - accepted_names(cls))
    if unknown:
        raise ConfigurationError(
            f"unknown argument(s) {unknown} for {cls.__name__}; request-body fields go in "
            "additional_kwargs={...} (sent with every call) or as per-call keyword arguments")


__all__ = ["OPTION_FIELDS", "GatewaySettings", "accepted_names", "pop_call_options",
           "refuse_unknown_arguments"]
