"""Settings shared by the chat model and the embeddings: the core's :class:`GatewayFields`,
with LangChain's conventions on top (env-var defaults resolved at construction so
``lc_secrets``/serialisation see them, ``api_key`` alias, unknown arguments forbidden)."""

from __future__ import annotations

from typing import Any

from langchain_core.rate_limiters import BaseRateLimiter
from langchain_core.utils import from_env, secret_from_env
from pydantic import ConfigDict, Field, SecretStr, ValidationError

from cf_aig.config import ENV_ACCOUNT_ID, ENV_API_TOKEN, ENV_BASE_URL, ENV_GATEWAY_ID
from cf_aig.fields import OPTION_OF_FIELD, GatewayFields
from cf_aig.ratelimit import RateLimiter

from .errors import to_langchain_error, unwrap_configuration_error

# The core's per-process limiter speaks LangChain's protocol (acquire/aacquire with
# blocking=): registered, it is accepted by any LangChain model's ``rate_limiter`` field.
BaseRateLimiter.register(RateLimiter)

FIELD_OF_OPTION = {opt: fld for fld, opt in OPTION_OF_FIELD.items()}
"""Gateway option name → model field / per-call kwarg name (identical but for metadata)."""


class GatewaySettings(GatewayFields):
    """Credentials, endpoint, transport and every gateway option (``cf-aig-*`` header)."""

    model_config = ConfigDict(
        populate_by_name=True,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        protected_namespaces=(),
        arbitrary_types_allowed=True,
        hide_input_in_errors=True,  # a settings error must not print the token back
    )

    account_id: str | None = Field(default_factory=from_env(ENV_ACCOUNT_ID, default=None))
    """Cloudflare account id (env ``CLOUDFLARE_ACCOUNT_ID``)."""
    api_token: SecretStr | None = Field(
        alias="api_key", default_factory=secret_from_env(ENV_API_TOKEN, default=None)
    )
    """API token (alias ``api_key``; env ``CLOUDFLARE_API_TOKEN``)."""
    base_url: str | None = Field(default_factory=from_env(ENV_BASE_URL, default=None))
    """API base, default ``https://api.cloudflare.com/client/v4``."""
    gateway_id: str | None = Field(default_factory=from_env(ENV_GATEWAY_ID, default=None))
    """AI Gateway id (env ``CLOUDFLARE_AI_GATEWAY_ID``); the gateway's default if unset."""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise unwrap_configuration_error(exc) from None

    def _check_settings(self) -> None:
        """Fail at construction on missing credentials or invalid options."""
        try:
            self.check_settings()
        except Exception as exc:
            raise to_langchain_error(exc) from None
