"""The gateway host surface: ``{gateway_url}/{account}/{gateway}/compat/...`` (surface C).

Choices, where the reference (§1.1, §1.2, §1.4, §4.7, §11.1) leaves room:

* Paths come from the dialect (``Capabilities.gateway_path``): chat completions at
  ``/compat/chat/completions``, responses at ``/compat/responses``. Messages and
  ``/ai/run`` have no ``/compat`` form: asking for them on this surface is an error
  before sending.
* The Cloudflare token travels as ``cf-aig-authorization: Bearer <token>`` (needed when
  the gateway is authenticated, harmless when not). No ``authorization`` header is sent
  unless a provider key (BYOK in the request) is given: then ``authorization: Bearer
  <provider key>``, the form the ``/compat`` route takes for every provider. Without one,
  the gateway uses its stored keys or Unified Billing. The key is not sent with a dynamic
  route or the Auto Router: they pick the provider, so one provider's key cannot fit (and
  would reach whichever provider was picked); they use the gateway's stored keys.
* The gateway id is part of the path (``default`` when none is set); no
  ``cf-aig-gateway-id`` header is sent.
* Model names: ``@cf/...`` and ``@hf/...`` become ``workers-ai/@cf/...``; any other name
  is sent as given (``openai/gpt-5-mini``, ``google-ai-studio/...``, ``dynamic/<route>``,
  ``cloudflare/auto``). Dynamic routes and the Auto Router exist only here.
* Embeddings, ``run``, logs and the catalogue have no ``/compat`` form and stay on the
  REST API (``base_url``) with ``authorization: Bearer <token>``.

>>> from cf_aig.config import Settings
>>> host = GatewayHost.resolve(Settings.resolve(account_id="acc", api_token="tok"),
...                            "gateway", None, "sk-provider")
>>> host.base, "tok" in repr(host) or "sk-provider" in repr(host)
('https://gateway.ai.cloudflare.com/v1/acc/default', False)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ._ids import segment
from .config import Settings, check_token, resolve_surface
from .errors import ConfigurationError

if TYPE_CHECKING:
    from .dialects import Capabilities

AUTO_ROUTER = "cloudflare/auto"
DYNAMIC_PREFIX = "dynamic/"
_DROPPED = ("authorization", "cf-aig-gateway-id")


def compat_model(model: str) -> str:
    """The ``/compat`` spelling of a model name.

    >>> compat_model("@cf/moonshotai/kimi-k2.6"), compat_model("openai/gpt-5-mini")
    ('workers-ai/@cf/moonshotai/kimi-k2.6', 'openai/gpt-5-mini')
    """
    return f"workers-ai/{model}" if model.startswith(("@cf/", "@hf/")) else model


_REST_SLUGS = {"google-ai-studio/": "google/", "grok/": "xai/"}
"""``/compat`` provider slugs spelled differently on the REST API (reference §2, §11.1)."""


def rest_model(model: str) -> str:
    """The REST API spelling of a ``/compat`` model name (the inverse of :func:`compat_model`),
    so a model named either way has one profile, lifecycle and alias.

    >>> rest_model("workers-ai/@cf/meta/llama-3.1-8b-instruct"), rest_model("grok/grok-4")
    ('@cf/meta/llama-3.1-8b-instruct', 'xai/grok-4')
    """
    if model.startswith(("workers-ai/@cf/", "workers-ai/@hf/")):
        return model[len("workers-ai/"):]
    for slug, rest in _REST_SLUGS.items():
        if model.startswith(slug):
            return rest + model[len(slug):]
    return model


def is_gateway_only(model: str) -> bool:
    """Dynamic routes and the Auto Router: served only on the gateway host."""
    return model.startswith(DYNAMIC_PREFIX) or model == AUTO_ROUTER


def gateway_only_model(model: str) -> None:
    """Refuse, before sending, a gateway-host-only model on the REST API surface.

    >>> gateway_only_model("dynamic/support")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cf_aig.errors.ConfigurationError: model 'dynamic/support' (a dynamic route) is served...
    """
    if is_gateway_only(model):
        what = "the Auto Router" if model == AUTO_ROUTER else "a dynamic route"
        raise ConfigurationError(
            f"model {model!r} ({what}) is served only on the gateway host: pass "
            "surface='gateway' (and api='chat_completions' or 'responses')")


@dataclass(frozen=True)
class GatewayHost:
    """Where and how chat calls go on the chosen surface (see the module notes).

    >>> from cf_aig.config import Settings
    >>> GatewayHost.resolve(Settings.resolve(account_id="a", api_token="t"), None, None,
    ...                     None).surface
    'api'
    """

    surface: str
    base: str
    """``{gateway_url}/{account_id}/{gateway_id}``."""
    _auth: dict[str, str] = field(repr=False, compare=False)

    @classmethod
    def resolve(cls, settings: Settings, surface: str | None, gateway_url: str | None,
                provider_api_key: str | SecretStr | None, *,
                allow_insecure_http: bool = False) -> GatewayHost:
        """Check ``surface``, ``gateway_url`` and the provider key; build the host."""
        name, url = resolve_surface(surface, gateway_url, allow_insecure_http=allow_insecure_http)
        auth = {"cf-aig-authorization": f"Bearer {settings.api_token.get_secret_value()}"}
        if provider_api_key is not None and provider_api_key != "":
            try:
                key = check_token(provider_api_key)
            except ConfigurationError as exc:
                raise ConfigurationError(
                    str(exc).replace("api_token", "provider_api_key")) from None
            auth["authorization"] = f"Bearer {key.get_secret_value()}"
        gateway = segment("gateway_id", settings.gateway_id or "default")
        base = f"{url}/{segment('account_id', settings.account_id)}/{gateway}"
        return cls(name, base, auth)

    def route(self, api: str, caps: Capabilities, model: str, body: dict[str, Any],
              headers: Mapping[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
        """URL, body and headers of a chat call on the gateway host."""
        if caps.gateway_path is None:
            raise ConfigurationError(
                f"api={api!r} is not served on the gateway host (its /compat route takes "
                "chat completions and responses): use api='chat_completions' or "
                "'responses', or surface='api'")
        sent = {k: v for k, v in headers.items() if k not in _DROPPED}
        sent.update(self._auth)
        if is_gateway_only(model):  # the route picks the provider: one key cannot fit it
            sent.pop("authorization", None)
        if body.get("model") == model:
            body = {**body, "model": compat_model(model)}
        return self.base + caps.gateway_path, body, sent
