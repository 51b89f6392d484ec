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
