"""Settings shared by the LLM and the embedding: the core's :class:`GatewayFields`.

Every setting is a documented pydantic field; the API token is a secret excluded from
``model_dump``/``to_dict``/``to_json`` (and so from instrumentation events). Core clients
are built lazily, once per instance, as private attributes.
"""

from __future__ import annotations

from cf_aig.fields import OPTION_OF_FIELD, GatewayFields, pop_call_options

OPTION_FIELDS: tuple[str, ...] = tuple(sorted(OPTION_OF_FIELD))
"""Field / per-call kwarg names of the gateway options (``gateway_metadata`` for metadata)."""


class GatewaySettings(GatewayFields):
    """Account, token, gateway, transport and ``cf-aig-*`` option fields."""

    def _check_settings(self) -> None:
        """Fail fast on missing credentials or bad options (no client is built)."""
        self.check_settings()


__all__ = ["OPTION_FIELDS", "GatewaySettings", "pop_call_options"]
