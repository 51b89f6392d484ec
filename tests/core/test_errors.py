"""Every error envelope maps to the right class with code, status and message."""

from __future__ import annotations

import pytest

from cf_aig import errors as E
from cf_aig.errors import error_from_body


@pytest.mark.parametrize(("status", "body", "cls", "code", "retryable"), [
    (401, {"result": None, "success": False, "errors": [{"code": 10000, "message": "Authentication error"}], "messages": []}, E.AuthenticationError, 10000, False),
    (402, {"success": False, "result": [], "messages": [], "error": [{"code": 2021, "message": "Insufficient balance"}], "name": "AiGatewayError", "httpCode": 402, "internalCode": 2021, "message": "Insufficient balance"}, E.InsufficientCreditsError, 2021, False),
    (429, {"success": False, "errors": [{"code": 3040, "message": "Capacity temporarily exceeded"}]}, E.RateLimitError, 3040, True),
    (429, {"success": False, "errors": [{"code": 3036, "message": "daily free allocation"}]}, E.QuotaExceededError, 3036, False),
    (429, {"success": False, "errors": [{"code": 4006, "message": "neurons"}]}, E.QuotaExceededError, 4006, False),
    (429, {"name": "AiGatewayError", "internalCode": 2041, "error": [{"code": 2041, "message": "Spend limit exceeded"}]}, E.SpendLimitExceededError, 2041, False),
    (429, {"name": "AiGatewayError", "internalCode": 2003, "error": [{"code": 2003, "message": "Rate limited"}]}, E.RateLimitError, 2003, True),
    (429, b"", E.RateLimitError, None, True),
    (424, {"name": "AiGatewayError", "internalCode": 2016, "error": [{"code": 2016, "message": "Prompt blocked"}]}, E.GuardrailBlockedError, 2016, False),
    (424, {"name": "AiGatewayError", "internalCode": 2017, "error": [{"code": 2017, "message": "Response blocked"}]}, E.GuardrailBlockedError, 2017, False),
    (503, {"name": "AiGatewayError", "internalCode": 7013, "error": [{"code": 7013, "message": "scanner down"}]}, E.GuardrailUnavailableError, 7013, False),
    (503, {"errors": [{"code": 1, "message": "x"}]}, E.ServerError, 1, True),
    (500, b"<html>oops</html>", E.ServerError, None, True),
    (502, b"", E.ServerError, None, True),
    (504, b"", E.ServerError, None, True),
    (501, b"", E.APIStatusError, None, False),
    (408, {"errors": [{"code": 3007, "message": "Timeout"}]}, E.APITimeoutError, 3007, True),
    (409, b"", E.ConflictError, None, True),
    (404, {"name": "AiGatewayError", "internalCode": 7003, "error": [{"code": 7003, "message": "Model not found: x/y"}]}, E.NotFoundError, 7003, False),
    (400, {"success": False, "errors": [{"code": 5007, "message": "No such model"}]}, E.NotFoundError, 5007, False),
    (400, {"name": "AiGatewayError", "internalCode": 2001, "error": [{"code": 2001, "message": "gateway does not exist"}]}, E.NotFoundError, 2001, False),
    (413, {"errors": [{"code": 5021, "message": "exceeds context window"}]}, E.ContextWindowExceededError, 5021, False),
    (400, {"error": {"message": "This model's maximum context length is 8192 tokens", "type": "invalid_request_error", "param": None, "code": "context_length_exceeded"}}, E.ContextWindowExceededError, "context_length_exceeded", False),
    (400, {"error": {"message": "bad", "type": "invalid_request_error", "param": None, "code": None}}, E.BadRequestError, None, False),
    (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": "req_1"}, E.ServerError, None, True),
    (401, {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}, E.AuthenticationError, None, False),
    (403, {"errors": [{"code": 5035, "message": "paid plan"}]}, E.PlanRequiredError, 5035, False),
    (400, {"name": "AiGatewayError", "internalCode": 2029, "error": [{"code": 2029, "message": "DLP"}]}, E.DLPBlockedError, 2029, False),
])
def test_envelopes(status: int, body: object, cls: type, code: object, retryable: bool) -> None:
    err = error_from_body(status, body, log_id="log-1")
    assert type(err) is cls
    assert err.code == code and err.status == status and err.log_id == "log-1"
    assert err.retryable is retryable
    assert err.message
    assert "log_id=log-1" in str(err)


def test_every_error_is_a_cfaig_error() -> None:
    for name in dir(E):
        obj = getattr(E, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and obj.__module__ == E.__name__:
            assert issubclass(obj, (E.CfAigError, E.ConfigurationError))


def test_responses_error_event_code_and_anthropic_timeout() -> None:
    err = error_from_body(None, {"type": "error", "code": "rate_limit_exceeded", "message": "slow down"})
    assert type(err) is E.RateLimitError and err.code == "rate_limit_exceeded"
    err = error_from_body(None, {"type": "error", "error": {"type": "timeout_error", "message": "t"}})
    assert type(err) is E.APITimeoutError and err.retryable


def test_error_sent_as_an_sse_event_is_read() -> None:
    body = b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    err = error_from_body(529, body)
    assert type(err) is E.ServerError and err.message == "Overloaded"
    err = error_from_body(429, b'data: {"success":false,"errors":[{"code":3036,"message":"quota"}]}\n\n')
    assert type(err) is E.QuotaExceededError and err.code == 3036
