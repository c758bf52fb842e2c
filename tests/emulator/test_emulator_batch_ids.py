"""custom_id must match ^[A-Za-z0-9_-]{1,64}$ exactly: a trailing newline is not a match."""

from __future__ import annotations

import httpx
from api_shapes import body


def test_custom_id_with_a_trailing_newline_is_400(client: httpx.Client) -> None:
    batch = {"requests": [{"custom_id": "job-1\n", "params": body()}]}
    response = client.post("/v1/messages/batches", json=batch)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith("requests.0.custom_id: ")
