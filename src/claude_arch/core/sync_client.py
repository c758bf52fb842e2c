"""``SyncClaudeClient``: the same calls as :class:`~claude_arch.core.client.ClaudeClient`, blocking,
over the light httpx transport. No event loop anywhere: for AWS Lambda, Celery workers, scripts.

    claude = SyncClaudeClient()
    msg = claude.create(model="claude-haiku-4-5", max_tokens=256,
                        messages=[{"role": "user", "content": "Hello"}],
                        deadline=context.get_remaining_time_in_millis() / 1000 - 1)
    with claude.stream(model="claude-haiku-4-5", max_tokens=256, messages=msgs) as stream:
        for text in stream.text_stream:
            print(text, end="")

Policy (validation, retries, fallbacks, limits, metering) is the async client's, shared through
:class:`~claude_arch.core.client_core.ClientCore`.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from claude_arch.core.attempts import log_retry
from claude_arch.core.calls import Call
from claude_arch.core.client_base import ClientBase
from claude_arch.core.client_core import ClientCore
from claude_arch.core.embedded import embedded_emulator_url
from claude_arch.core.ratelimit.protocol import settled_amounts
from claude_arch.core.transports.base import SyncResponse, SyncTransport, WireRequest
from claude_arch.core.types import USE_DEFAULT, Message, Usage, UseDefault
from claude_arch.core.wire import COUNT_TOKENS_PATH, MESSAGES_PATH, decode_json, error_from_response
from claude_arch.errors import (
    APIError,
    APITimeoutError,
    InvalidRequestError,
)

if TYPE_CHECKING:
    from claude_arch.core.batches import SyncBatches
    from claude_arch.core.metering import Meter
    from claude_arch.core.pricing.catalog import Catalog, ModelInfo
    from claude_arch.core.ratelimit import RateLimiter, Reservation
    from claude_arch.core.routing import Router
    from claude_arch.core.streams.sync_stream import SyncMessageStream
    from claude_arch.core.wire import ApiStyle
    from claude_arch.settings import Settings

__all__ = ["SyncClaudeClient"]

T = TypeVar("T")


class SyncClaudeClient(ClientBase):
    """The blocking Messages API client; thread-safe to share (the transport pools connections)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        transport: SyncTransport | None = None,
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
    ) -> None:
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
        if transport is None and self.core.uses_platforms:
            transport = _platform_bridge(self.core)
        self._transport = transport
        self._lock = threading.Lock()

    # A function's cold start loads what its first call needs: batches and streams on first use.
    @functools.cached_property
    def batches(self) -> SyncBatches:
        """The Message Batches API: ``client.batches.create(requests)`` and the rest."""
        from claude_arch.core.batches import SyncBatches

        return SyncBatches(self)

    def __enter__(self) -> SyncClaudeClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        if self.core.owns_limiter and self.core.limiter is not None:
            self.core.limiter.close()  # its Redis pool, when it has one

    # --- public calls ---------------------------------------------------------------------
    def create(
        self,
        *,
        deadline: float | None = None,
        timeout: float | UseDefault | None = USE_DEFAULT,
        **params: Any,
    ) -> Message:
        """Send one Messages request; the message carries its usage record in ``.record``."""
        if params.pop("stream", False):
            raise InvalidRequestError("stream: use client.stream(...) to stream", field="stream")
        call = self.core.plan("create", params, deadline=deadline, timeout=timeout)
        return self.run(call, self._create_once)

    def stream(
        self,
        *,
        deadline: float | None = None,
        timeout: float | UseDefault | None = USE_DEFAULT,
        **params: Any,
    ) -> SyncMessageStream:
        """A streamed Messages request: use it in a ``with`` block, or iterate it directly."""
        params.pop("stream", None)
        call = self.core.plan("stream", params, deadline=deadline, timeout=timeout)
        return self.stream_call(call)

    def send_call(self, call: Call) -> Message:
        """Send a call made with ``build_call("create", …)``, as :meth:`create` does."""
        return self.run(call, self._create_once)

    def stream_call(self, call: Call) -> SyncMessageStream:
        """:meth:`stream` for a call made with ``build_call("stream", …)``."""
        from claude_arch.core.streams.sync_stream import SyncMessageStream

        return SyncMessageStream(self, call)

    def count_tokens(
        self,
        *,
        deadline: float | None = None,
        timeout: float | UseDefault | None = USE_DEFAULT,
        **params: Any,
    ) -> int:
        """Input tokens of a request, as the server counts them."""
        call = self.core.plan("count_tokens", params, deadline=deadline, timeout=timeout)

        def once(call: Call, model: ModelInfo) -> int:
            request = self.core.request(
                "POST", COUNT_TOKENS_PATH, self.core.body_for(call, model), call, call.attempts - 1
            )
            return int(self.send_json(request, model.id)["input_tokens"])

        count = self.run(call, once)
        self.core.record(call)
        return count

    # --- the machinery the streams and batches share --------------------------------------
    def run(self, call: Call, once: Callable[[Call, ModelInfo], T]) -> T:
        """``once`` under the retry policy, the fallback chain and the call's deadline."""
        self.transport()  # the embedded emulator, if any, is up before URLs are built
        plan = self.core.attempts(call)
        while (model := plan.next()) is not None:
            try:
                if call.deadline.expired:  # an attempt cut a moment later is still billed
                    raise APITimeoutError("the call's deadline passed before this attempt")
                return once(call, model)
            except APIError as exc:
                delay = plan.failed(exc)
                log_retry(call, exc, delay, plan)
                pause = plan.pause_for(exc, delay)
                if pause is not None and self.core.limiter is not None:
                    self.core.limiter.pause(*pause)
                if delay:
                    time.sleep(delay)
        raise self.core.fail(call, plan.last_error())

    def transport(self) -> SyncTransport:
        transport = self._transport
        if transport is not None and not self.core.embedded:
            return transport
        with self._lock:  # threads share one client: one pool, one embedded emulator
            if self.core.embedded:
                self.core.use_base_url(embedded_emulator_url(self.core))
                self.core.embedded = False
            if self._transport is None:
                from claude_arch.core.transports.httpx_transport import HttpxTransport

                self._transport = HttpxTransport()
            return self._transport

    def send(self, request: WireRequest, model: str | None) -> SyncResponse:
        """Send; an error status is read and raised as its typed error."""
        response = self.transport().send(request)
        if response.status >= 300:
            body = response.read()
            raise error_from_response(response.status, response.headers, body, model=model)
        return response

    def send_json(self, request: WireRequest, model: str | None = None) -> Any:
        return decode_json(self.send(request, model).read())

    def reserve(self, call: Call, model: ModelInfo) -> Reservation | None:
        limiter = self.core.limiter
        if limiter is None:
            return None
        return limiter.acquire(
            model.family,
            input_tokens=call.input_estimate,
            output_tokens=self.core.output_reservation(call, model),
            deadline=call.deadline.at,
        )

    def settle(self, reservation: Reservation | None, usage: Usage | None = None) -> None:
        """Give the limiter back what the call did not use (``usage`` None: nothing was used)."""
        if reservation is not None and self.core.limiter is not None:
            self.core.limiter.settle(reservation, **settled_amounts(usage))

    def learn(
        self, model: ModelInfo, headers: Mapping[str, str], reservation: Reservation | None = None
    ) -> None:
        self.core.learn(model, headers, reservation)

    def _create_once(self, call: Call, model: ModelInfo) -> Message:
        reservation = self.reserve(call, model)
        request = self.core.request(
            "POST", MESSAGES_PATH, self.core.body_for(call, model), call, call.attempts - 1
        )
        try:
            response = self.transport().send(request)
            self.learn(model, response.headers, reservation)
            body = response.read()
        except BaseException:
            self.settle(reservation)
            raise
        if response.status >= 300:
            self.settle(reservation)
            raise error_from_response(response.status, response.headers, body, model=model.id)
        try:
            message = self.core.message_from(body, response.headers, model)
        except BaseException:  # retried as a 502: this attempt's hold goes back
            self.settle(reservation)
            raise
        self.settle(reservation, message.usage)
        return self.core.finish(call, message, response.headers.get("request-id"))


def _platform_bridge(core: ClientCore) -> SyncTransport:
    """The platforms the settings name (Bedrock, Vertex, several providers), whose transports
    are async, reached from this blocking client through a :class:`SyncBridge`."""
    from claude_arch.core.platforms.providers import upstream_transport
    from claude_arch.core.transports.aiohttp_transport import AiohttpTransport
    from claude_arch.core.transports.sync_bridge import SyncBridge

    return SyncBridge(
        lambda: upstream_transport(
            core.full_settings(), core.model_chains, AiohttpTransport(), catalog=core.catalog
        )
    )
