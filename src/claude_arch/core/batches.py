"""Message Batches on both clients: create, retrieve, list, cancel, delete, results.

    batch = await client.batches.create(requests=[
        {"custom_id": "q1", "params": {"model": "claude-haiku-4-5", "max_tokens": 64,
                                       "messages": [{"role": "user", "content": "Hi"}]}},
    ])
    while not (batch := await client.batches.retrieve(batch.id)).ended:
        await asyncio.sleep(30)
    async for result in client.batches.results(batch.id):
        print(result.custom_id, result.type, result.message.text if result.message else None)

Each request's params are validated locally first (the error names ``requests.3.params.…``).
Each succeeded result's message carries a usage record priced at the batch discount, and the
client's meters receive it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from claude_arch.core.schema import validate_create_params
from claude_arch.core.wire import BATCHES_PATH, BatchPage, BatchResult, JSONLines, MessageBatch
from claude_arch.core.wire.protocol import encode_body, error_from_response
from claude_arch.errors import InvalidRequestError

if TYPE_CHECKING:
    from claude_arch.core.catalog import ModelInfo
    from claude_arch.core.client import ClaudeClient
    from claude_arch.core.client_core import Call, ClientCore
    from claude_arch.core.sync_client import SyncClaudeClient

__all__ = ["AsyncBatches", "SyncBatches"]


def _batch_body(core: ClientCore, requests: Iterable[Mapping[str, Any]]) -> bytes:
    checked = []
    for i, item in enumerate(requests):
        params = item.get("params")
        if not isinstance(params, Mapping) or not item.get("custom_id"):
            raise InvalidRequestError(
                f"requests.{i}: each request needs a custom_id and params", field=f"requests.{i}"
            )
        params = dict(params)
        if params.get("model") == "auto":
            params["model"] = core.settings.default_model
        try:
            params = validate_create_params(params, catalog=core.catalog)
        except InvalidRequestError as exc:
            field = f"requests.{i}.params.{exc.field}" if exc.field else f"requests.{i}.params"
            raise InvalidRequestError(f"requests.{i}.params.{exc.message}", field=field) from exc
        checked.append({"custom_id": str(item["custom_id"]), "params": params})
    if not checked:
        raise InvalidRequestError("requests: a batch needs at least one request", field="requests")
    return encode_body({"requests": checked})


def _list_path(limit: int, before_id: str | None, after_id: str | None) -> str:
    query = f"?limit={int(limit)}"
    if before_id:
        query += f"&before_id={before_id}"
    if after_id:
        query += f"&after_id={after_id}"
    return BATCHES_PATH + query


def _result(core: ClientCore, data: Any) -> BatchResult:
    result = BatchResult.from_dict(data)
    if result.message is not None:
        result.message.record = core.batch_record(result.message)
    return result


class AsyncBatches:
    """``client.batches`` on :class:`~claude_arch.core.client.ClaudeClient`."""

    def __init__(self, client: ClaudeClient) -> None:
        self._client = client

    async def _call(self, method: str, path: str, body: bytes | None = None, **kw: Any) -> Any:
        client = self._client
        call = client.core.plain_call(f"batch.{method.lower()}", **kw)

        async def once(call: Call, model: ModelInfo) -> Any:
            request = client.core.request(method, path, body, call, call.attempts - 1)
            return await client.send_json(request)

        return await client.run(call, once)

    async def create(
        self, *, requests: Iterable[Mapping[str, Any]], deadline: float | None = None
    ) -> MessageBatch:
        body = _batch_body(self._client.core, requests)
        data = await self._call("POST", BATCHES_PATH, body, deadline=deadline, timeout=None)
        return MessageBatch.from_dict(data)

    async def retrieve(self, batch_id: str, *, deadline: float | None = None) -> MessageBatch:
        path = f"{BATCHES_PATH}/{batch_id}"
        return MessageBatch.from_dict(
            await self._call("GET", path, deadline=deadline, timeout=None)
        )

    async def list(
        self, *, limit: int = 20, before_id: str | None = None, after_id: str | None = None
    ) -> BatchPage:
        path = _list_path(limit, before_id, after_id)
        return BatchPage.from_dict(await self._call("GET", path, deadline=None, timeout=None))

    async def cancel(self, batch_id: str) -> MessageBatch:
        path = f"{BATCHES_PATH}/{batch_id}/cancel"
        return MessageBatch.from_dict(await self._call("POST", path, deadline=None, timeout=None))

    async def delete(self, batch_id: str) -> dict[str, Any]:
        path = f"{BATCHES_PATH}/{batch_id}"
        return dict(await self._call("DELETE", path, deadline=None, timeout=None))

    async def results(self, batch_id: str) -> AsyncIterator[BatchResult]:
        """Each request's result, read line by line from the batch's ``results_url``."""
        batch = await self.retrieve(batch_id)
        if not batch.results_url:
            raise InvalidRequestError(
                f"batch {batch_id} has no results yet (status {batch.processing_status})",
                field="batch_id",
            )
        client = self._client
        transport = await client.transport()
        request = client.core.request("GET", batch.results_url, None, None, 0)
        response = await transport.send(request)
        if response.status >= 300:
            body = await response.read()
            raise error_from_response(response.status, response.headers, body)
        lines = JSONLines()
        try:
            async for chunk in response.iter_chunks():
                for data in lines.feed(chunk):
                    yield _result(client.core, data)
            for data in lines.flush():
                yield _result(client.core, data)
        finally:
            await response.aclose()


class SyncBatches:
    """``client.batches`` on :class:`~claude_arch.core.sync_client.SyncClaudeClient`."""

    def __init__(self, client: SyncClaudeClient) -> None:
        self._client = client

    def _call(self, method: str, path: str, body: bytes | None = None, **kw: Any) -> Any:
        client = self._client
        call = client.core.plain_call(f"batch.{method.lower()}", **kw)

        def once(call: Call, model: ModelInfo) -> Any:
            request = client.core.request(method, path, body, call, call.attempts - 1)
            return client.send_json(request)

        return client.run(call, once)

    def create(
        self, *, requests: Iterable[Mapping[str, Any]], deadline: float | None = None
    ) -> MessageBatch:
        body = _batch_body(self._client.core, requests)
        data = self._call("POST", BATCHES_PATH, body, deadline=deadline, timeout=None)
        return MessageBatch.from_dict(data)

    def retrieve(self, batch_id: str, *, deadline: float | None = None) -> MessageBatch:
        path = f"{BATCHES_PATH}/{batch_id}"
        return MessageBatch.from_dict(self._call("GET", path, deadline=deadline, timeout=None))

    def list(
        self, *, limit: int = 20, before_id: str | None = None, after_id: str | None = None
    ) -> BatchPage:
        path = _list_path(limit, before_id, after_id)
        return BatchPage.from_dict(self._call("GET", path, deadline=None, timeout=None))

    def cancel(self, batch_id: str) -> MessageBatch:
        path = f"{BATCHES_PATH}/{batch_id}/cancel"
        return MessageBatch.from_dict(self._call("POST", path, deadline=None, timeout=None))

    def delete(self, batch_id: str) -> dict[str, Any]:
        path = f"{BATCHES_PATH}/{batch_id}"
        return dict(self._call("DELETE", path, deadline=None, timeout=None))

    def results(self, batch_id: str) -> Iterator[BatchResult]:
        """Each request's result, read line by line from the batch's ``results_url``."""
        batch = self.retrieve(batch_id)
        if not batch.results_url:
            raise InvalidRequestError(
                f"batch {batch_id} has no results yet (status {batch.processing_status})",
                field="batch_id",
            )
        client = self._client
        request = client.core.request("GET", batch.results_url, None, None, 0)
        response = client.transport().send(request)
        if response.status >= 300:
            raise error_from_response(response.status, response.headers, response.read())
        lines = JSONLines()
        try:
            for chunk in response.iter_chunks():
                for data in lines.feed(chunk):
                    yield _result(client.core, data)
            for data in lines.flush():
                yield _result(client.core, data)
        finally:
            response.close()
