"""Requests the real API refuses are refused here too, with the field named."""

from __future__ import annotations

import httpx
from api_shapes import body


def test_a_system_role_message_is_400_pointing_at_the_top_level_system(
    client: httpx.Client,
) -> None:
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "system", "content": "Be brief"},
    ]
    response = client.post("/v1/messages", json={**body(), "messages": messages})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("messages.1.role: ")
    assert "system" in error["message"]
    counted = client.post("/v1/messages/count_tokens", json={**body(), "messages": messages})
    assert counted.status_code == 400


def test_an_empty_message_is_400_unless_it_is_the_final_assistant_turn(
    client: httpx.Client,
) -> None:
    for empty in ("", []):
        messages = [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": empty},
            {"role": "user", "content": "Again"},
        ]
        response = client.post("/v1/messages", json={**body(), "messages": messages})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["message"].startswith("messages.1.content: ")
        only = [{"role": "user", "content": empty}]
        counted = client.post("/v1/messages/count_tokens", json={**body(), "messages": only})
        assert counted.status_code == 400, counted.text
    prefill = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": ""}]
    assert client.post("/v1/messages", json={**body(), "messages": prefill}).status_code == 200


def test_a_versioned_tool_type_with_a_trailing_newline_is_400(client: httpx.Client) -> None:
    tools = [{"type": "bash_20250124\n", "name": "bash"}]
    response = client.post("/v1/messages", json={**body(), "tools": tools})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith("tools.0.type: ")
