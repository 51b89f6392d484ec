"""The one table of gateway options drives headers, validation and the adapters' fields."""

from __future__ import annotations

import dataclasses

import pytest

from cf_aig import ConfigurationError, GatewayOptions
from cf_aig.fields import OPTION_OF_FIELD, GatewayFields, pop_call_options
from cf_aig.options import OPTION_SPECS, SECRET_HEADERS, OptionSpec


def test_every_dataclass_field_is_a_declared_option() -> None:
    names = {f.name for f in dataclasses.fields(GatewayOptions) if f.init}
    assert names == set(OPTION_SPECS)


@pytest.mark.parametrize("spec", OPTION_SPECS.values(), ids=list(OPTION_SPECS))
def test_option_has_header_doc_and_adapter_field(spec: OptionSpec) -> None:
    assert spec.header.startswith(("cf-aig-", "x-")) and spec.header == spec.header.lower()
    assert spec.header not in SECRET_HEADERS
    assert spec.doc.endswith(".") and "\n" not in spec.doc
    field = GatewayFields.model_fields[spec.field]
    assert field.default is None and field.description == spec.doc
    assert OPTION_OF_FIELD[spec.field] == spec.name


def test_headers_are_distinct() -> None:
    headers = [s.header for s in OPTION_SPECS.values()]
    assert len(headers) == len(set(headers))


def test_validation_comes_from_the_table_everywhere() -> None:
    class Model(GatewayFields):
        model: str = "m"

    with pytest.raises(ConfigurationError, match="max_attempts"):
        Model(account_id="a", api_token="t", max_attempts=7).check_settings()
    with pytest.raises(ConfigurationError, match="max_attempts"):
        pop_call_options({"max_attempts": 0})
    m = Model(account_id="a", api_token="t", gateway_metadata={"k": 1}, backoff="linear")
    assert m.gateway_options().headers() == {"cf-aig-metadata": '{"k":1}',
                                             "cf-aig-backoff": "linear"}


@pytest.mark.parametrize("spec", [s for s in OPTION_SPECS.values()
                                  if s.name in {"cache_key", "event_id", "byok_alias",
                                                "session_id", "turn_id", "allowed_models",
                                                "allowed_providers", "session_affinity"}],
                         ids=lambda s: s.name)
@pytest.mark.parametrize("bad", ["caf\u00e9", "a\x00b", "a\tb\x7f"], ids=["non-ascii", "nul", "del"])
def test_text_options_refuse_what_a_header_cannot_carry(spec: OptionSpec, bad: str) -> None:
    """A header value must be visible ASCII: anything else is a ConfigurationError naming the
    option before sending (a non-ASCII value was a bare UnicodeEncodeError from httpx)."""
    value: object = [bad] if "allowed" in spec.name else bad
    with pytest.raises(ConfigurationError, match=spec.name):
        GatewayOptions(**{spec.name: value}).headers()
