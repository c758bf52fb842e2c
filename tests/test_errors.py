from __future__ import annotations

import pytest

from claude_arch import errors
from claude_arch.errors import error_for_status


@pytest.mark.parametrize(
    ("status", "cls", "etype"),
    [
        (400, errors.BadRequestError, "invalid_request_error"),
        (401, errors.AuthenticationError, "authentication_error"),
        (402, errors.BillingError, "billing_error"),
        (403, errors.PermissionDeniedError, "permission_error"),
        (404, errors.NotFoundError, "not_found_error"),
        (409, errors.ConflictError, "conflict_error"),
        (413, errors.RequestTooLargeError, "request_too_large"),
        (429, errors.RateLimitError, "rate_limit_error"),
        (500, errors.InternalServerError, "api_error"),
        (503, errors.InternalServerError, "api_error"),
        (504, errors.GatewayTimeoutError, "timeout_error"),
        (529, errors.OverloadedError, "overloaded_error"),
    ],
)
def test_status_maps_to_exactly_one_class(
    status: int, cls: type[errors.APIStatusError], etype: str
) -> None:
    body = {"type": "error", "error": {"type": etype, "message": "m"}, "request_id": "req_1"}
    err = error_for_status(status, body)
    assert type(err) is cls
    assert err.status == status
    assert err.error_type == etype
    assert err.request_id == "req_1"
    assert err.to_body() == body


def test_spend_limit_429_is_its_own_class() -> None:
    body = {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "spend limit",
            "details": {"error_code": "enforced_spend_limit_reached"},
        },
    }
    err = error_for_status(429, body)
    assert isinstance(err, errors.SpendLimitError)
    assert isinstance(err, errors.RateLimitError)


def test_mid_stream_error_event_maps_by_type() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    err = error_for_status(200, body)
    assert isinstance(err, errors.OverloadedError)
    assert err.status == 200


def test_request_id_falls_back_to_the_header() -> None:
    err = error_for_status(500, None, {"request-id": "req_h"})
    assert err.request_id == "req_h"
    assert err.message == "HTTP 500"


def test_errors_carry_context_in_their_text() -> None:
    err = errors.OverloadedError("Overloaded", model="claude-haiku-4-5", attempts=3)
    assert str(err) == "Overloaded | model=claude-haiku-4-5 | attempts=3"


def test_every_exported_name_is_sorted_and_exists() -> None:
    assert errors.__all__ == sorted(errors.__all__)
    for name in errors.__all__:
        assert hasattr(errors, name)
