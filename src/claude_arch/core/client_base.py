"""What both clients offer besides sending: the catalog, settings and router they use, and the
first half of build-then-send.

A caller that must look at a call before sending it (a gateway admits it against a budget by its
token estimate; a router's decision goes into a response header) builds it, reads it, then sends
it with the client's ``send_call`` or ``stream_call``:

    call = claude.build_call("create", {"model": "auto", "max_tokens": 512, "messages": msgs})
    if call.input_estimate > 50_000:
        raise TooBig(call.input_estimate)
    message = await claude.send_call(call)      # retries, fallbacks and metering as create()

Building validates everything (an :class:`~claude_arch.errors.InvalidRequestError` naming the
field) and sends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from claude_arch.core.types import USE_DEFAULT, UseDefault

if TYPE_CHECKING:
    from claude_arch.core.calls import Call
    from claude_arch.core.client_core import ClientCore
    from claude_arch.core.metering import Meter
    from claude_arch.core.pricing.catalog import Catalog, ModelInfo
    from claude_arch.core.routing import Decision, Router
    from claude_arch.settings import Settings

__all__ = ["ClientBase", "Operation"]

Operation = Literal["create", "stream", "count_tokens"]


class ClientBase:
    """The part of :class:`~claude_arch.core.client.ClaudeClient` and
    :class:`~claude_arch.core.sync_client.SyncClaudeClient` that does no I/O."""

    core: ClientCore
    """The sans-IO machinery; internal to ``claude_arch.core`` (a test checks nothing else
    reaches into it)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.core.base_url or 'embedded emulator'}>"

    @property
    def settings(self) -> Settings:
        """The settings the client was built from."""
        return self.core.full_settings()

    @property
    def catalog(self) -> Catalog:
        """The model catalog: ids, aliases, limits, prices."""
        return self.core.catalog

    @property
    def router(self) -> Router | None:
        """The router of ``model: "auto"`` (None: "auto" is the settings' default model)."""
        return self.core.router

    def resolve(self, model: str) -> ModelInfo:
        """The catalog entry of ``model`` (an id or alias; ``"auto"``: the default model)."""
        return self.core.resolve(model)

    def build_call(
        self,
        operation: Operation,
        params: Mapping[str, Any],
        *,
        deadline: float | None = None,
        timeout: float | UseDefault | None = USE_DEFAULT,
        route: Decision | None = None,
    ) -> Call:
        """A validated, routed call of ``operation`` with ``params`` (the Messages API body,
        ``extra_headers`` allowed), not yet sent; ``stream`` in ``params`` is validated, then
        dropped (the operation decides). ``deadline`` and ``timeout`` as for ``create``.
        ``route``: the router's decision for ``model: "auto"``, made already (see ``aroute``);
        without it "auto" is routed here, with the router's synchronous ``decide``."""
        call = self.core.plan(operation, params, deadline=deadline, timeout=timeout, route=route)
        call.params.pop("stream", None)  # validated; the client sets it per attempt
        return call

    def fallbacks_of(self, call: Call) -> tuple[str, ...]:
        """The models ``call`` may fall back to, in order (its tier's chain when routed, else the
        client's fallbacks for its model): what a budget must hold for, at the dearest."""
        return self.core.fallback_names(call)

    def add_meters(self, *meters: Meter) -> None:
        """Give every later call's usage record to ``meters`` too."""
        self.core.meters = (*self.core.meters, *meters)

    def rate_limits(self, model: str) -> dict[str, str]:
        """The ``anthropic-ratelimit-*`` headers of the latest answer for ``model``'s family."""
        return self.core.rate_limits(model)
