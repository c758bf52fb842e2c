"""``/openapi.json`` documents the Anthropic routes' request bodies with core's request models, and
every reference in it resolves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from claude_arch.service.testing import ServiceServer


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


async def test_the_post_routes_document_their_bodies(dev_service: ServiceServer) -> None:
    async with httpx.AsyncClient(base_url=dev_service.url) as http:
        spec = (await http.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    for path, model in (
        ("/v1/messages", "CreateParams"),
        ("/v1/messages/count_tokens", "CountTokensParams"),
    ):
        body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"] == {"$ref": f"#/components/schemas/{model}"}
        assert {"model", "messages"} <= set(schemas[model]["properties"])
    assert "max_tokens" in schemas["CreateParams"]["required"]
    missing = {r for r in refs(spec) if r.removeprefix("#/components/schemas/") not in schemas}
    assert missing == set()
