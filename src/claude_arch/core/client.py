"""``ClaudeClient``: the async client. Model resolution → limiter → wire call → metering → retry
and fallback, on a pooled aiohttp transport.

    async with ClaudeClient() as claude:      # no ANTHROPIC_API_KEY: the embedded emulator
        msg = await claude.create(model="claude-haiku-4-5", max_tokens=256,
                                  messages=[{"role": "user", "content": "Hello"}])
        print(msg.text, msg.record.cost_usd)

        async with claude.stream(model="claude-haiku-4-5", max_tokens=256,
                                 messages=[{"role": "user", "content": "Tell me more"}]) as s:
            async for text in s.text_stream:
                print(text, end="")
            final = await s.final_message()

        n = await claude.count_tokens(model="claude-haiku-4-5", messages=[...])

Every call may take ``deadline=`` (seconds for the whole call, retries and waits included; a
Lambda passes its remaining time) and ``timeout=`` (seconds per attempt). Invalid parameters fail
locally, naming the field, before anything is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from claude_arch.constants import AUTO_MODEL
from claude_arch.core.attempts import log_retry
from claude_arch.core.batches import AsyncBatches
from claude_arch.core.calls import Call
from claude_arch.core.client_base import ClientBase
from claude_arch.core.client_core import ClientCore
from claude_arch.core.embedded import embedded_emulator_url
from claude_arch.core.ratelimit.protocol import settled_amounts
from claude_arch.core.streams.async_stream import MessageStream
from claude_arch.core.transports.base import AsyncResponse, AsyncTransport, WireRequest
from claude_arch.core.types import USE_DEFAULT, Message, Usage, UseDefault
from claude_arch.core.validation.schema import check_nesting
from claude_arch.core.wire import (
    COUNT_TOKENS_PATH,
    MESSAGES_PATH,
    MODELS_PATH,
    decode_json,
    error_from_response,
)
from claude_arch.errors import (
    APIError,
    APITimeoutError,
    InvalidRequestError,
)

if TYPE_CHECKING:
    from claude_arch.core.metering import Meter
    from claude_arch.core.pricing.catalog import Catalog, ModelInfo
    from claude_arch.core.ratelimit import RateLimiter, Reservation
    from claude_arch.core.routing import Decision, Router
    from claude_arch.core.wire import ApiStyle
    from claude_arch.settings import Settings

__all__ = ["ClaudeClient"]

T = TypeVar("T")


class ClaudeClient(ClientBase):
    """The async Messages API client. Reuse one per process: it pools connections."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        transport: AsyncTransport | None = None,
        limiter: RateLimiter | UseDefault | None = USE_DEFAULT,
        meters: Sequence[Meter] = (),
        fallbacks: Mapping[str, Sequence[str]] | None = None,
        max_retries: int | UseDefault = USE_DEFAULT,
        timeout: float | UseDefault | None = USE_DEFAULT,
        api_style: ApiStyle = "2.x",
        catalog: Catalog | None = None,
        cooldown_s: float = 30.0,
        tracer_provider: Any = None,
        router: Router | None = None,
        owns_router: bool = False,
    ) -> None:
        """``router`` routes ``model: "auto"``; ``owns_router``: it was built for this client
        alone (with ``router_for``), so :meth:`close` closes it too (its classifier's client, its
        breaker's Redis pool). A router given by a caller that keeps it is the caller's."""
        self._owns_router = owns_router and router is not None
        self.core = ClientCore(
            settings,
            api_key=api_key,
            base_url=base_url,
            limiter=limiter,
            meters=meters,
            fallbacks=fallbacks,
            max_retries=max_retries,
            timeout=timeout,
            api_style=api_style,
            catalog=catalog,
            cooldown_s=cooldown_s,
            tracer_provider=tracer_provider,
            router=router,
        )
        self._transport = transport
        self.batches = AsyncBatches(self)

    async def __aenter__(self) -> ClaudeClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def aclose(self) -> None:
        """:meth:`close` (the name ``httpx.AsyncClient`` and this package's streams use)."""
        await self.close()

    async def close(self) -> None:
        """Close the connection pool, the limiter when the client built it, and the router
        when it owns it (``owns_router``); each even when an earlier one fails to close."""
        try:
            if self._transport is not None:
                await self._transport.aclose()
        finally:
            try:
                if self.core.owns_limiter and self.core.limiter is not None:
                    await self.core.limiter.aclose()  # its Redis pool, when it has one
            finally:
                if self._owns_router and self.core.router is not None:
                    await self.core.router.aclose()

    # --- public calls ---------------------------------------------------------------------
    # ``timeout`` bounds each attempt and ``deadline`` the whole call: asyncio.timeout around the
    # call could not tell the two apart, hence ASYNC109 is silenced on purpose.
    async def create(
        self,
        *,
        deadline: float | None = None,
        timeout: float | UseDefault | None = USE_DEFAULT,  # noqa: ASYNC109
        **params: Any,
    ) -> Message:
        """Send one Messages request; the message carries its usage record in ``.record``."""
        if params.pop("stream", False):
            raise InvalidRequestError("stream: use client.stream(...) to stream", field="stream")
        route = await self.aroute(params)
        call = self.core.plan("create", params, deadline=deadline, timeout=timeout, route=route)
        return await self.run(call, self._create_once)

    def stream(
        self,
        *,
        deadline: float | None = None,
        timeout: float | UseDefault | None = USE_DEFAULT,
        **params: Any,
    ) -> MessageStream:
        """A streamed Messages request: ``async with`` it, or iterate it directly."""
        params.pop("stream", None)
        call = self.core.plan("stream", params, deadline=deadline, timeout=timeout)
        return MessageStream(self, call)

    async def aroute(self, params: Mapping[str, Any]) -> Decision | None:
        """The router's decision for a ``model: "auto"`` request whose router has a classifier
        beyond its rules (an LLM call, an embedding model): made with ``adecide``, without
        blocking the event loop; pass it to ``build_call(..., route=...)``. None when there is
        nothing to decide asynchronously (no router, a named model, rules only): building the
        call then routes it, quickly.

            route = await claude.aroute(body)
            stream = claude.stream_call(claude.build_call("stream", body, route=route))
        """
        router = self.core.router
        if router is None or router.classifier is None or params.get("model") != AUTO_MODEL:
            return None
        check_nesting(params)  # the router reads the body before validation does
        return await router.adecide(params)

    async def send_call(self, call: Call) -> Message:
        """Send a call made with ``build_call("create", …)``, as :meth:`create` does."""
        return await self.run(call, self._create_once)

    def stream_call(self, call: Call, *, keep_content: bool = True) -> MessageStream:
        """:meth:`stream` for a call made with ``build_call("stream", …)``;
        ``keep_content=False`` for a proxy that reads only :meth:`MessageStream.raw`."""
        return MessageStream(self, call, keep_content=keep_content)

    async def check_upstream(self) -> None:
        """One cheap authenticated request (``GET /v1/models?limit=1``, not retried): returns
        when the upstream answers and accepts the key, else raises its typed error."""
        await self.send_json(self.core.request("GET", MODELS_PATH + "?limit=1", None, None, 0))

    async def count_tokens(
        self,
        *,
        deadline: float | None = None,
        timeout: float | UseDefault | None = USE_DEFAULT,  # noqa: ASYNC109
        **params: Any,
    ) -> int:
        """Input tokens of a request, as the server counts them."""
        call = self.core.plan("count_tokens", params, deadline=deadline, timeout=timeout)

        async def once(call: Call, model: ModelInfo) -> int:
            request = self.core.request(
                "POST", COUNT_TOKENS_PATH, self.core.body_for(call, model), call, call.attempts - 1
            )
            data = await self.send_json(request, model.id)
            return int(data["input_tokens"])

        count = await self.run(call, once)
        self.core.record(call)
        return count

    # --- the machinery the streams and batches share --------------------------------------
    async def run(self, call: Call, once: Callable[[Call, ModelInfo], Awaitable[T]]) -> T:
        """``once`` under the retry policy, the fallback chain and the call's deadline."""
        await self.transport()  # the embedded emulator, if any, is up before URLs are built
        plan = self.core.attempts(call)
        try:
            while (model := plan.next()) is not None:
                try:
                    if call.deadline.expired:  # an attempt cut a moment later is still billed
                        raise APITimeoutError("the call's deadline passed before this attempt")
                    return await once(call, model)
                except APIError as exc:
                    delay = plan.failed(exc)
                    log_retry(call, exc, delay, plan)
                    pause = plan.pause_for(exc, delay)
                    if pause is not None and self.core.limiter is not None:
                        await self.core.limiter.apause(*pause)
                    if delay:
                        await asyncio.sleep(delay)
        except asyncio.CancelledError:
            # Every call has its one record, a call the caller gave up on included (as a stream
            # closed early): the attempts it made were sent, and may have been billed.
            self.core.record_cancelled(call)
            raise
        raise self.core.fail(call, plan.last_error())

    async def transport(self) -> AsyncTransport:
        if self.core.embedded:
            self.core.use_base_url(await asyncio.to_thread(embedded_emulator_url, self.core))
            self.core.embedded = False
        if self._transport is None:
            from claude_arch.core.transports.aiohttp_transport import AiohttpTransport

            self._transport = AiohttpTransport()
            if self.core.uses_platforms:
                from claude_arch.core.platforms.providers import upstream_transport

                core = self.core
                self._transport = upstream_transport(
                    core.full_settings(), core.model_chains, self._transport, catalog=core.catalog
                )
        return self._transport

    async def send(self, request: WireRequest, model: str | None) -> AsyncResponse:
        """Send; an error status is read and raised as its typed error."""
        response = await (await self.transport()).send(request)
        if response.status >= 300:
            body = await response.read()
            raise error_from_response(response.status, response.headers, body, model=model)
        return response

    async def send_json(self, request: WireRequest, model: str | None = None) -> Any:
        response = await self.send(request, model)
        return decode_json(await response.read())

    async def reserve(self, call: Call, model: ModelInfo) -> Reservation | None:
        limiter = self.core.limiter
        if limiter is None:
            return None
        return await limiter.aacquire(
            model.family,
            input_tokens=call.input_estimate,
            output_tokens=self.core.output_reservation(call, model),
            deadline=call.deadline.at,
        )

    async def settle(self, reservation: Reservation | None, usage: Usage | None = None) -> None:
        """Give the limiter back what the call did not use (``usage`` None: nothing was used)."""
        if reservation is not None and self.core.limiter is not None:
            await self.core.limiter.asettle(reservation, **settled_amounts(usage))

    def learn(
        self, model: ModelInfo, headers: Mapping[str, str], reservation: Reservation | None = None
    ) -> None:
        self.core.learn(model, headers, reservation)

    async def _create_once(self, call: Call, model: ModelInfo) -> Message:
        reservation = await self.reserve(call, model)
        request = self.core.request(
            "POST", MESSAGES_PATH, self.core.body_for(call, model), call, call.attempts - 1
        )
        try:
            response = await (await self.transport()).send(request)
            self.learn(model, response.headers, reservation)
            body = await response.read()
        except BaseException:
            await self.settle(reservation)
            raise
        if response.status >= 300:
            await self.settle(reservation)
            raise error_from_response(response.status, response.headers, body, model=model.id)
        try:
            message = self.core.message_from(body, response.headers, model)
        except BaseException:  # retried as a 502: this attempt's hold goes back
            await self.settle(reservation)
            raise
        await self.settle(reservation, message.usage)
        return self.core.finish(call, message, response.headers.get("request-id"))
