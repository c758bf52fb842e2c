"""Scripted errors: an HTTP error status only, and a 429 or 529 says when to retry."""

from __future__ import annotations

import httpx
import pytest
from api_shapes import body


@pytest.mark.parametrize("status", [99, 200, 302, 1000])
def test_a_scripted_error_status_outside_400_599_is_refused(
    client: httpx.Client, status: int
) -> None:
    rules = {"rules": [{"reply": {"error": {"status": status}}}]}
    assert client.put("/_emulator/rules", json=rules).status_code == 400
    one = {"reply": {"error": {"status": status}}}
    assert client.post("/_emulator/rules", json=one).status_code == 400
    assert client.post("/v1/messages", json=body()).status_code == 200


def test_a_scripted_503_is_answered(client: httpx.Client) -> None:
    rules = {"rules": [{"reply": {"error": {"status": 503, "type": "api_error"}}}]}
    assert client.put("/_emulator/rules", json=rules).status_code == 200
    response = client.post("/v1/messages", json=body())
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "api_error"
    assert "retry-after" not in response.headers


@pytest.mark.parametrize(
    ("status", "etype", "seconds", "header"),
    [(429, "rate_limit_error", 2.5, "3"), (529, "overloaded_error", None, "1")],
)
def test_a_scripted_429_or_529_carries_retry_after(
    client: httpx.Client, status: int, etype: str, seconds: float | None, header: str
) -> None:
    error: dict[str, object] = {"status": status, "type": etype}
    if seconds is not None:
        error["retry_after_s"] = seconds
    assert client.put("/_emulator/rules", json={"rules": [{"reply": {"error": error}}]}).is_success
    response = client.post("/v1/messages", json=body())
    assert response.status_code == status
    assert response.headers["retry-after"] == header
