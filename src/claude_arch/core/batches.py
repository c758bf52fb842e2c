"""Message Batches on both clients: create, retrieve, list, cancel, delete, results.

    batch = await client.batches.create(requests=[
        {"custom_id": "q1", "params": {"model": "claude-haiku-4-5", "max_tokens": 64,
                                       "messages": [{"role": "user", "content": "Hi"}]}},
    ])
    while not (batch := await client.batches.retrieve(batch.id)).ended:
        await asyncio.sleep(30)
    async for result in client.batches.results(batch.id):
        print(result.custom_id, result.type, result.message.text if result.message else None)

Every batch is checked locally first (:func:`check_batch`): its size, each ``custom_id``, and
each request's params like a single call's (the error names ``requests.3.params.…``).
:meth:`AsyncBatches.check` returns the checked batch with what it may cost at most, for a caller
(the gateway) that reserves a budget before sending it. Each succeeded result's message carries a
usage record priced at the batch discount, and the client's meters receive it;
:meth:`AsyncBatches.raw_results` is the results file as it comes, for a proxy.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from claude_arch.constants import MAX_BATCH_REQUESTS
from claude_arch.core.pricing.worst_case import worst_case_cost
from claude_arch.core.tokens import count_request
from claude_arch.core.validation.schema import validate_create_params
from claude_arch.core.wire import BATCHES_PATH, BatchPage, BatchResult, JSONLines, MessageBatch
from claude_arch.core.wire.protocol import encode_body, error_from_response
from claude_arch.errors import InvalidRequestError

if TYPE_CHECKING:
    from claude_arch.core.calls import Call
    from claude_arch.core.client import ClaudeClient
    from claude_arch.core.client_core import ClientCore
    from claude_arch.core.pricing.catalog import Catalog, ModelInfo
    from claude_arch.core.routing import Router
    from claude_arch.core.sync_client import SyncClaudeClient

__all__ = ["AsyncBatches", "CheckedBatch", "SyncBatches", "check_batch", "check_custom_id"]

_CUSTOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # fullmatch: "$" would let a final "\n" in
_REQUEST_FIELDS = frozenset({"custom_id", "params"})


@dataclass(frozen=True, slots=True)
class CheckedBatch:
    """A batch whose every request passed :func:`check_batch`, and what it may cost at most."""

    requests: list[dict[str, Any]]
    """``{"custom_id", "params"}`` per request, the params validated (``"auto"`` resolved)."""
    input_tokens: int
    """The requests' input tokens, estimated locally."""
    max_output_tokens: int
    """The requests' ``max_tokens`` together."""
    worst_case_usd: Decimal
    """What the batch may cost at most, at the batch price: each request priced on its own (as
    the API bills them) with its estimated input and all its ``max_tokens``, and every price
    factor it asks for (:func:`~claude_arch.core.pricing.worst_case.worst_case_cost`)."""

    def body(self) -> bytes:
        """The ``POST /v1/messages/batches`` body."""
        return encode_body({"requests": self.requests})


def check_batch(
    requests: object,
    *,
    catalog: Catalog,
    default_model: str,
    max_requests: int = MAX_BATCH_REQUESTS,
    router: Router | None = None,
) -> CheckedBatch:
    """Check a batch as the API would before accepting it: a non-empty list of at most
    ``max_requests`` requests, each an object of a ``custom_id`` (``^[A-Za-z0-9_-]{1,64}$``,
    unique in the batch) and ``params`` valid as a single call's (``model: "auto"`` is the
    ``router``'s choice for that request, or ``default_model`` without one). The first bad
    request fails the whole batch: an :class:`InvalidRequestError` (400) whose message and
    ``field`` start with its index, e.g. ``requests.3.params.max_tokens: …``; an unknown model's
    message names the closest IDs.

    >>> from claude_arch.core.pricing.catalog import default_catalog
    >>> ok = {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": [
    ...     {"role": "user", "content": "Hi"}]}
    >>> checked = check_batch([{"custom_id": "a", "params": ok}],
    ...                       catalog=default_catalog(), default_model="claude-haiku-4-5")
    >>> len(checked.requests), checked.max_output_tokens
    (1, 8)
    >>> check_batch([{"custom_id": "a", "params": {**ok, "max_tokens": 0}}],
    ...             catalog=default_catalog(), default_model="claude-haiku-4-5")
    Traceback (most recent call last):
    ...
    claude_arch.errors.InvalidRequestError: requests.0.params.max_tokens: ...
    """
    if isinstance(requests, Mapping | str | bytes) or not isinstance(requests, Iterable):
        raise InvalidRequestError("requests: expected a list of requests", field="requests")
    items = list(requests)
    if not items:
        raise InvalidRequestError("requests: a batch needs at least one request", field="requests")
    if len(items) > max_requests:
        raise InvalidRequestError(
            f"requests: a batch holds at most {max_requests} requests, got {len(items)}",
            field="requests",
        )
    checked: list[dict[str, Any]] = []
    seen: set[str] = set()
    input_tokens = max_output = 0
    worst = Decimal(0)
    for i, item in enumerate(items):
        custom_id, params = _check_item(i, item, seen)
        if params.get("model") == "auto":
            params["model"] = router.decide(params).model if router else default_model
        try:
            params = validate_create_params(params, catalog=catalog)
        except InvalidRequestError as exc:
            field = f"requests.{i}.params.{exc.field}" if exc.field else f"requests.{i}.params"
            raise InvalidRequestError(f"requests.{i}.params.{exc.message}", field=field) from exc
        info = catalog.resolve(str(params["model"]))
        tokens = count_request(params)
        output = min(int(params["max_tokens"]), info.max_output)
        input_tokens += tokens
        max_output += output
        worst += worst_case_cost(
            catalog, info.id, params, input_tokens=tokens, output_tokens=output, batch=True
        )
        checked.append({"custom_id": custom_id, "params": params})
    return CheckedBatch(checked, input_tokens, max_output, worst)


def check_custom_id(i: int, custom_id: object, seen: set[str]) -> str:
    """Request ``i``'s ``custom_id``, checked as the API does (``^[A-Za-z0-9_-]{1,64}$``, unique
    in the batch: ``seen`` holds the ones before it, and gains this one)."""
    if not isinstance(custom_id, str) or not _CUSTOM_ID.fullmatch(custom_id):
        raise InvalidRequestError(
            f"requests.{i}.custom_id: expected a string matching ^[A-Za-z0-9_-]{{1,64}}$",
            field=f"requests.{i}.custom_id",
        )
    if custom_id in seen:
        raise InvalidRequestError(
            f"requests.{i}.custom_id: {custom_id!r} is used twice; custom_id must be unique",
            field=f"requests.{i}.custom_id",
        )
    seen.add(custom_id)
    return custom_id


def _check_item(i: int, item: object, seen: set[str]) -> tuple[str, dict[str, Any]]:
    if not isinstance(item, Mapping):
        raise InvalidRequestError(
            f"requests.{i}: expected an object with a custom_id and params", field=f"requests.{i}"
        )
    extra = next((str(k) for k in item if k not in _REQUEST_FIELDS), None)
    if extra is not None:
        raise InvalidRequestError(
            f"requests.{i}.{extra}: Extra inputs are not permitted", field=f"requests.{i}.{extra}"
        )
    custom_id = check_custom_id(i, item.get("custom_id"), seen)
    params = item.get("params")
    if not isinstance(params, Mapping):
        raise InvalidRequestError(
            f"requests.{i}.params: expected an object", field=f"requests.{i}.params"
        )
    return custom_id, dict(params)


def _checked(core: ClientCore, requests: Iterable[Mapping[str, Any]] | CheckedBatch) -> bytes:
    if isinstance(requests, CheckedBatch):
        return requests.body()
    return _check(core, requests).body()


def _check(core: ClientCore, requests: object) -> CheckedBatch:
    """:func:`check_batch` with a client's catalog, default model and router."""
    return check_batch(
        requests,
        catalog=core.catalog,
        default_model=core.settings.default_model,
        router=core.router,
    )


def _list_path(limit: int, before_id: str | None, after_id: str | None) -> str:
    query = f"?limit={int(limit)}"
    if before_id:
        query += f"&before_id={before_id}"
    if after_id:
        query += f"&after_id={after_id}"
    return BATCHES_PATH + query


def _beta(path: str, beta: bool) -> str:
    """``path`` (or URL) of the beta endpoint when ``beta``."""
    if not beta:
        return path
    return f"{path}{'&' if '?' in path else '?'}beta=true"


def _result(core: ClientCore, data: Any) -> BatchResult:
    result = BatchResult.from_dict(data)
    if result.message is not None:
        result.message.record = core.batch_record(result.message)
    return result


def _headers(core: ClientCore, extra: Mapping[str, str] | None) -> dict[str, str] | None:
    """The client's headers plus ``extra`` (e.g. ``anthropic-beta``), or None for the default."""
    if not extra:
        return None
    return {**core.headers, **{str(k).lower(): str(v) for k, v in extra.items()}}


def _no_results(batch: MessageBatch) -> InvalidRequestError:
    return InvalidRequestError(
        f"batch {batch.id} has no results yet (status {batch.processing_status})",
        field="batch_id",
    )


class AsyncBatches:
    """``client.batches`` on :class:`~claude_arch.core.client.ClaudeClient`.

    Each method takes ``extra_headers`` (e.g. ``{"anthropic-beta": "…"}``), sent with the call,
    and ``beta=True`` for the beta endpoints (``?beta=true``, as the official SDKs'
    ``client.beta.messages.batches`` call them)."""

    def __init__(self, client: ClaudeClient) -> None:
        self._client = client

    async def _call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        extra_headers: Mapping[str, str] | None,
        beta: bool,
        deadline: float | None = None,
    ) -> Any:
        client = self._client
        call = client.core.plain_call(f"batch.{method.lower()}", deadline=deadline)
        call.headers = _headers(client.core, extra_headers)
        path = _beta(path, beta)

        async def once(call: Call, model: ModelInfo) -> Any:
            request = client.core.request(method, path, body, call, call.attempts - 1)
            return await client.send_json(request)

        return await client.run(call, once)

    def check(self, requests: object) -> CheckedBatch:
        """:func:`check_batch` with this client's catalog, default model and router (each
        ``model: "auto"`` request routed on its own): nothing is sent."""
        return _check(self._client.core, requests)

    async def create(
        self,
        *,
        requests: Iterable[Mapping[str, Any]] | CheckedBatch,
        deadline: float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        beta: bool = False,
    ) -> MessageBatch:
        """Create a batch; ``requests`` are checked first (:meth:`check`) unless already."""
        body = _checked(self._client.core, requests)
        data = await self._call(
            "POST", BATCHES_PATH, body, extra_headers=extra_headers, beta=beta, deadline=deadline
        )
        return MessageBatch.from_dict(data)

    async def retrieve(
        self,
        batch_id: str,
        *,
        deadline: float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        beta: bool = False,
    ) -> MessageBatch:
        path = f"{BATCHES_PATH}/{batch_id}"
        data = await self._call(
            "GET", path, extra_headers=extra_headers, beta=beta, deadline=deadline
        )
        return MessageBatch.from_dict(data)

    async def list(
        self,
        *,
        limit: int = 20,
        before_id: str | None = None,
        after_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        beta: bool = False,
    ) -> BatchPage:
        path = _list_path(limit, before_id, after_id)
        data = await self._call("GET", path, extra_headers=extra_headers, beta=beta)
        return BatchPage.from_dict(data)

    async def cancel(
        self,
        batch_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        beta: bool = False,
    ) -> MessageBatch:
        path = f"{BATCHES_PATH}/{batch_id}/cancel"
        data = await self._call("POST", path, extra_headers=extra_headers, beta=beta)
        return MessageBatch.from_dict(data)

    async def delete(
        self,
        batch_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        beta: bool = False,
    ) -> dict[str, Any]:
        path = f"{BATCHES_PATH}/{batch_id}"
        return dict(await self._call("DELETE", path, extra_headers=extra_headers, beta=beta))

    async def raw_results(
        self,
        batch_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        beta: bool = False,
    ) -> AsyncGenerator[bytes, None]:
        """The batch's results file (JSONL) as the server sends it, chunk by chunk: nothing is
        parsed, metered or kept. The batch is retrieved first for its ``results_url``; an error
        (an unknown batch, one not ended yet, an error status) is raised by the first
        ``__anext__``. Close the iterator (``aclose()``) when not reading it to its end."""
        batch = await self.retrieve(batch_id, extra_headers=extra_headers, beta=beta)
        if not batch.results_url:
            raise _no_results(batch)
        client = self._client
        transport = await client.transport()
        call = client.core.plain_call("batch.results", deadline=None)
        call.headers = _headers(client.core, extra_headers)
        request = client.core.request("GET", _beta(batch.results_url, beta), None, call, 0)
        response = await transport.send(request)
        try:
            if response.status >= 300:
                body = await response.read()
                raise error_from_response(response.status, response.headers, body)
            async for chunk in response.iter_chunks():
                yield chunk
        finally:
            await response.aclose()

    async def results(
        self,
        batch_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        beta: bool = False,
    ) -> AsyncIterator[BatchResult]:
        """Each request's result, read line by line from the batch's ``results_url``; each
        succeeded message's usage record (batch price) goes to the client's meters."""
        core = self._client.core
        lines = JSONLines()
        chunks = self.raw_results(batch_id, extra_headers=extra_headers, beta=beta)
        try:
            async for chunk in chunks:
                for data in lines.feed(chunk):
                    yield _result(core, data)
            for data in lines.flush():
                yield _result(core, data)
        finally:
            await chunks.aclose()


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

    def check(self, requests: object) -> CheckedBatch:
        """:func:`check_batch` with this client's catalog, default model and router (each
        ``model: "auto"`` request routed on its own): nothing is sent."""
        return _check(self._client.core, requests)

    def create(
        self,
        *,
        requests: Iterable[Mapping[str, Any]] | CheckedBatch,
        deadline: float | None = None,
    ) -> MessageBatch:
        """Create a batch; ``requests`` are checked first (:meth:`check`) unless already."""
        body = _checked(self._client.core, requests)
        data = self._call("POST", BATCHES_PATH, body, deadline=deadline)
        return MessageBatch.from_dict(data)

    def retrieve(self, batch_id: str, *, deadline: float | None = None) -> MessageBatch:
        path = f"{BATCHES_PATH}/{batch_id}"
        return MessageBatch.from_dict(self._call("GET", path, deadline=deadline))

    def list(
        self, *, limit: int = 20, before_id: str | None = None, after_id: str | None = None
    ) -> BatchPage:
        path = _list_path(limit, before_id, after_id)
        return BatchPage.from_dict(self._call("GET", path, deadline=None))

    def cancel(self, batch_id: str) -> MessageBatch:
        path = f"{BATCHES_PATH}/{batch_id}/cancel"
        return MessageBatch.from_dict(self._call("POST", path, deadline=None))

    def delete(self, batch_id: str) -> dict[str, Any]:
        path = f"{BATCHES_PATH}/{batch_id}"
        return dict(self._call("DELETE", path, deadline=None))

    def results(self, batch_id: str) -> Iterator[BatchResult]:
        """Each request's result, read line by line from the batch's ``results_url``."""
        batch = self.retrieve(batch_id)
        if not batch.results_url:
            raise _no_results(batch)
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
