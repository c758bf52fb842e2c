"""The sans-IO half of both clients: configuration, request building, decoding and accounting.

``ClaudeClient`` (async) and ``SyncClaudeClient`` each own one :class:`ClientCore` and differ only
in how they wait and send; everything that is policy (which model, which headers, what a call
cost, what the meters see) is decided here, once.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from claude_arch.constants import (
    ANTHROPIC_API_URL,
    AUTO_MODEL,
    EMULATOR_API_KEY,
    HEADER_RETRY_COUNT,
)
from claude_arch.core.attempts import AttemptPlan
from claude_arch.core.calls import Call
from claude_arch.core.client_settings import ClientSettings, client_settings
from claude_arch.core.pricing.catalog import Catalog, ModelInfo, Placement, default_catalog
from claude_arch.core.ratelimit.headers import bucket_headers
from claude_arch.core.ratelimit.local import LocalRateLimiter
from claude_arch.core.retry import Cooldowns, Deadline, RetryPolicy
from claude_arch.core.tokens import count_request
from claude_arch.core.transports.base import WireRequest
from claude_arch.core.types import USE_DEFAULT, Message, Usage, UsageRecord, UseDefault
from claude_arch.core.validation.schema import check_nesting, validate_create_params
from claude_arch.core.wire import (
    ApiStyle,
    decode_json,
    encode_body,
    ratelimit_headers,
    request_headers,
)
from claude_arch.errors import (
    APIStatusError,
    CallCancelledError,
    ClaudeArchError,
    InvalidRequestError,
)

if TYPE_CHECKING:
    from claude_arch.core.metering import Meter
    from claude_arch.core.metering.spans import OTelTracer
    from claude_arch.core.ratelimit import RateLimiter, Reservation
    from claude_arch.core.routing import Decision, Router
    from claude_arch.settings import Settings

__all__ = ["AUTO_MODEL", "ClientCore"]

# Like the official SDK: an answer this long may outlast HTTP idle timeouts unless streamed
# (an hour for 128k tokens, so 10 minutes is about 21.3k tokens).
MAX_NONSTREAMING_TOKENS = 128_000 * 600 // 3600
_log = logging.getLogger("claude_arch")


class ClientCore:
    """Everything both clients share; see :class:`~claude_arch.core.client.ClaudeClient`."""

    def __init__(
        self,
        settings: Settings | None,
        *,
        api_key: str | None,
        base_url: str | None,
        limiter: RateLimiter | UseDefault | None,
        meters: Sequence[Meter],
        fallbacks: Mapping[str, Sequence[str]] | None,
        max_retries: int | UseDefault,
        timeout: float | UseDefault | None,
        api_style: ApiStyle,
        catalog: Catalog | None,
        cooldown_s: float,
        tracer_provider: Any = None,
        router: Router | None = None,
    ) -> None:
        # none given: the environment's, read without pydantic-settings when it can
        self.settings: Settings | ClientSettings = settings or client_settings()
        knobs = self.settings
        # priced where its calls run: the upstream and each platform's endpoint kind
        self.catalog = (catalog or default_catalog()).placed(Placement.of_settings(knobs))
        key = api_key or (knobs.api_key.get_secret_value() if knobs.api_key else None)
        self.base_url = (base_url or knobs.base_url or "").rstrip("/")
        self.embedded = not self.base_url and key is None and knobs.upstream == "anthropic"
        if not self.base_url and not self.embedded:
            self.base_url = ANTHROPIC_API_URL
        # The embedded emulator wants a key like any server; it is not a secret.
        self.headers = request_headers(key or EMULATOR_API_KEY, style=api_style)
        self.headers[HEADER_RETRY_COUNT] = "0"  # as the official SDKs send it
        # A limiter built here is the client's to close; one passed in may be shared.
        self.owns_limiter = limiter is USE_DEFAULT
        if limiter is USE_DEFAULT:
            from claude_arch.core.ratelimit import limiter_from_settings

            self.limiter: RateLimiter | None = limiter_from_settings(knobs, self.catalog)
        else:
            self.limiter = limiter
        self.meters = tuple(meters)
        resolve = self.catalog.resolve  # fallback chains are checked when the client is built
        self.fallbacks = {
            resolve(k).id: tuple(resolve(n).id for n in v) for k, v in (fallbacks or {}).items()
        }
        self.retry = RetryPolicy(
            max_retries=knobs.max_retries if max_retries is USE_DEFAULT else max_retries
        )
        self.timeout = knobs.timeout_s if timeout is USE_DEFAULT else timeout
        self.connect_timeout = knobs.connect_timeout_s
        self.cooldowns = Cooldowns(cooldown_s)
        self.tracer = _otel_tracer(tracer_provider)
        self.router = router
        """Routes ``model: "auto"`` per request (None: "auto" is ``settings.default_model``)."""
        self._warned_retiring: set[str] = set()  # deprecated models already announced
        self._last_headers: dict[str, Mapping[str, str]] = {}
        # per family: the headers object last learned, and its rate-limit headers
        self._rate_limits: dict[str, tuple[Mapping[str, str], dict[str, str]]] = {}

    def __repr__(self) -> str:
        return f"<ClientCore {self.base_url or 'embedded emulator'}>"

    def full_settings(self) -> Settings:
        """The client's settings as :class:`~claude_arch.settings.Settings` (the fields a
        client reads from the environment are read without it: it is made on first need)."""
        if isinstance(self.settings, ClientSettings):
            self.settings = self.settings.to_settings()
        return self.settings

    @property
    def uses_platforms(self) -> bool:
        """Whether a cloud platform serves some call: the upstream setting, or a fallback chain
        or a routing tier naming a model on one (``bedrock:…``)."""
        if self.settings.upstream != "anthropic":
            return True
        return any(
            ":" in name for first, rest in self.model_chains.items() for name in (first, *rest)
        )

    @property
    def model_chains(self) -> dict[str, tuple[str, ...]]:
        """Every chain a call may walk, as model names: the fallbacks (model → its chain) and,
        with a router, each tier of its policy (first model → the rest). What a client builds its
        transports for: a ``bedrock:…`` model named only in a routing policy gets Bedrock's."""
        chains = dict(self.fallbacks)
        if self.router is not None:
            for tier in self.router.policy.tiers.values():
                first, *rest = tier.models
                chains[first] = (*chains.get(first, ()), *rest)
        return chains

    def fallback_names(self, call: Call) -> tuple[str, ...]:
        """The models ``call`` may fall back to, in order: its tier's chain when it was routed,
        else the client's fallbacks for its model; none when it asked for no fallback."""
        if not call.fallback:
            return ()
        if call.route_chain:
            return call.route_chain[1:]
        return self.fallbacks.get(call.requested.id, ())

    def attempts(self, call: Call) -> AttemptPlan:
        return AttemptPlan(self, call)

    def use_base_url(self, url: str) -> None:
        self.base_url = url.rstrip("/")

    # --- planning -------------------------------------------------------------------------
    def resolve(self, name: str) -> ModelInfo:
        return self.catalog.resolve(self.settings.default_model if name == AUTO_MODEL else name)

    def plan(
        self,
        operation: str,
        params: Mapping[str, Any],
        *,
        deadline: float | None,
        timeout: float | UseDefault | None,
        route: Decision | None = None,
    ) -> Call:
        """Validate ``params`` locally (naming the bad field) before anything is sent.

        ``model: "auto"`` is routed here (the router's synchronous ``decide``) unless ``route``
        brings a decision made already (an async classifier's, made with ``adecide``).

        ``extra_headers`` (e.g. ``{"anthropic-beta": "…"}``) is taken out of the params and sent
        with each attempt, as the official SDKs allow."""
        body = dict(params)
        extra = body.pop("extra_headers", None)
        model = body.get("model")
        if model == AUTO_MODEL and self.router is not None:
            if route is None:
                check_nesting(body)  # the router reads the body before validation does
                route = self.router.decide(body)
            body["model"] = model = route.model
        else:
            route = None
            if model == AUTO_MODEL:
                body["model"] = model = self.settings.default_model
        body = validate_create_params(
            body, catalog=self.catalog, count_tokens=operation == "count_tokens"
        )
        info = self.catalog.resolve(str(model))
        if info.retires is not None and info.id not in self._warned_retiring:
            self._warned_retiring.add(info.id)
            _log.warning(
                "%s was retired on %s: the Claude API answers 404 not_found_error for it; "
                "see `claude-arch models`"
                if info.retired()
                else "%s is deprecated: the API stops serving it on %s; see `claude-arch models`",
                info.id,
                info.retires,
            )
        call = Call(
            operation,
            body,
            info,
            Deadline.within(deadline),
            self.timeout if timeout is USE_DEFAULT else timeout,
        )
        if route is not None and self.router is not None:
            call.route = route
            call.route_chain = tuple(self.router.chain(route, body))
        if extra:
            call.headers = {**self.headers, **{str(k).lower(): str(v) for k, v in extra.items()}}
        if operation != "count_tokens":
            call.input_estimate = count_request(body)
            call.max_tokens = int(body["max_tokens"])
        if (
            operation == "create"
            and timeout is USE_DEFAULT
            and call.max_tokens > MAX_NONSTREAMING_TOKENS
        ):
            raise InvalidRequestError(
                f"max_tokens: {call.max_tokens} output tokens may take over 10 minutes without "
                "streaming; use client.stream(...) (or pass timeout= to insist)",
                field="max_tokens",
            )
        return call

    def plain_call(
        self,
        operation: str,
        *,
        deadline: float | None = None,
        timeout: float | UseDefault | None = USE_DEFAULT,
    ) -> Call:
        """A call that names no model (batch management): retried, never falls back."""
        call = Call(
            operation,
            {},
            self.resolve(AUTO_MODEL),
            Deadline.within(deadline),
            self.timeout if timeout is USE_DEFAULT else timeout,
        )
        call.fallback = False
        return call

    def batch_record(self, message: Message) -> UsageRecord | None:
        """The usage record of one batch result (billed at the batch price), given to the meters."""
        info = self.catalog.get(message.model)
        if info is None:
            return None
        call = Call("batch", {}, info, Deadline(None), None, attempts=1)
        return self.record(call, usage=message.usage, batch=True)

    def chain(self, call: Call) -> Iterator[ModelInfo]:
        """The requested model, then its fallbacks, skipping models cooling down after a failure
        (the requested one is still tried when every candidate is cooling)."""
        names = (call.requested.id, *self.fallback_names(call))
        tried = False
        for name in names:
            info = call.requested if name == call.requested.id else self.catalog.resolve(name)
            if not self.cooldowns.cooling(info.id):
                tried = True
                yield info
        if not tried:
            yield call.requested

    def has_headroom(self, call: Call, model: ModelInfo) -> bool:
        """Whether this client's in-process limiter would admit ``call`` on ``model`` now: its
        family unlimited, or every bucket holding what the call needs, and no 429 pause. A shared
        limiter (a round trip to ask) or none at all: not known, so False."""
        if not isinstance(self.limiter, LocalRateLimiter):
            return False
        state = self.limiter.snapshot(model.family)
        if state is None:
            return True
        return (
            state.paused_for <= 0
            and state.requests.remaining >= 1
            and state.input_tokens.remaining >= call.input_estimate
            and state.output_tokens.remaining >= min(call.max_tokens, model.max_output)
        )

    def output_reservation(self, call: Call, model: ModelInfo) -> int:
        """Output tokens to hold in the OTPM bucket: ``max_tokens``, but never more than the
        bucket holds (a large ``max_tokens`` would otherwise wait forever); settling charges
        what the model really wrote."""
        wanted = min(call.max_tokens, model.max_output)
        limits = self.limiter.limits_for(model.family) if self.limiter is not None else None
        return min(wanted, limits.otpm) if limits is not None else wanted

    def body_for(self, call: Call, model: ModelInfo, *, stream: bool = False) -> bytes:
        params = call.params
        if model is not call.requested:
            params = {**params, "model": model.id}
            if "max_tokens" in params:
                params["max_tokens"] = min(int(params["max_tokens"]), model.max_output)
        if stream:
            params = {**params, "stream": True}
        return encode_body(params)

    def request(
        self, method: str, path: str, body: bytes | None, call: Call | None, retry_count: int
    ) -> WireRequest:
        headers = call.headers if call is not None and call.headers else self.headers
        if retry_count:  # the first attempt's "0" is in the precomputed headers
            headers = {**headers, HEADER_RETRY_COUNT: str(retry_count)}
        url = path if path.startswith("http") else self.base_url + path
        if call is None:
            return WireRequest(method, url, headers, body, self.timeout, self.connect_timeout)
        return WireRequest(
            method,
            url,
            headers,
            body,
            call.deadline.clip(call.timeout),
            min(self.connect_timeout, call.deadline.clip(self.connect_timeout) or 1e9),
        )

    def message_from(self, body: bytes, headers: Mapping[str, str], model: ModelInfo) -> Message:
        """The message of a 2xx answer; a body that is not one is a (retryable) 502."""
        data = decode_json(body)
        if not isinstance(data, dict) or data.get("type", "message") != "message":
            raise APIStatusError(
                "the server answered 2xx without a message body",
                status=502,
                error_type="api_error",
                model=model.id,
                request_id=headers.get("request-id"),
            )
        message = Message.from_dict(data)
        message.wire = body
        return message

    # --- what responses say ---------------------------------------------------------------
    def learn(
        self, model: ModelInfo, headers: Mapping[str, str], reservation: Reservation | None = None
    ) -> None:
        """Every response's headers: kept (by reference) per family, and taught to the limiter
        with the reservation the answered attempt was admitted with (so that what ``-remaining``
        says is aged from that admission)."""
        self._last_headers[model.family] = headers
        if self.limiter is not None and self.settings.learn_limits:
            self.limiter.learn(model.family, headers, reservation=reservation)

    def rate_limits(self, name: str) -> dict[str, str]:
        """The organisation's ``anthropic-ratelimit-*`` headers for ``name``'s family (a model
        or a family): those of the latest answer from upstream; without any (none yet, or an
        upstream that sends none), the state of this client's in-process limiter; else ``{}``.
        Read often (a gateway, per answer): no I/O, and one filtering per upstream answer."""
        info = self.catalog.get(self.settings.default_model if name == AUTO_MODEL else name)
        family = info.family if info else name
        headers = self._last_headers.get(family)
        if headers is not None:
            cached = self._rate_limits.get(family)
            if cached is None or cached[0] is not headers:
                cached = self._rate_limits[family] = (headers, ratelimit_headers(headers))
            if cached[1]:
                return dict(cached[1])
        return self._limiter_headers(family)

    def _limiter_headers(self, family: str) -> dict[str, str]:
        if not isinstance(self.limiter, LocalRateLimiter):  # a shared store: a round trip
            return {}
        state = self.limiter.snapshot(family)
        return {} if state is None else bucket_headers(state, time.time())

    # --- accounting -----------------------------------------------------------------------
    def record(
        self,
        call: Call,
        *,
        usage: Usage | None = None,
        message: Message | None = None,
        request_id: str | None = None,
        error: ClaudeArchError | None = None,
        ttft_s: float | None = None,
        batch: bool | None = None,
    ) -> UsageRecord:
        """The call's usage record, handed to every meter and made a GenAI span (neither can
        break a call). ``message``, when the call produced one, supplies usage and response."""
        model = call.current
        usage = usage or (message.usage if message is not None else Usage())
        rec = UsageRecord(
            model=model.id,
            operation=call.operation,
            usage=usage,
            cost_usd=self.catalog.cost(model.id, usage, batch=batch),
            latency_s=0.0 if batch else time.perf_counter() - call.started,
            ttft_s=ttft_s,
            attempts=call.attempts,
            request_id=request_id or (error.request_id if error else None),
            error_type=error.error_type if error else None,
            status=error.status if error else 200,
            fallback_from=call.requested.id if model is not call.requested else None,
            max_tokens=call.max_tokens or None,
            response_id=message.id if message is not None else None,
            stop_reason=message.stop_reason if message is not None else None,
            route=call.route.with_model(model.id).to_dict() if call.route else None,
        )
        if call.route is not None and self.router is not None and error is None and not batch:
            self.router.record_success(model.id)
        if self.tracer is not None and not batch:
            try:
                self.tracer.emit(rec)
            except Exception:
                _log.exception("could not emit the OpenTelemetry span of a call")
        for meter in self.meters:
            try:
                meter.record(rec)
            except Exception:
                _log.exception("meter %r failed to record a usage record", meter)
        return rec

    def finish(self, call: Call, message: Message, request_id: str | None) -> Message:
        message.record = self.record(call, message=message, request_id=request_id)
        return message

    def record_cancelled(self, call: Call, usage: Usage | None = None) -> None:
        """Account for a call the caller stopped (a stream closed early, a cancelled task):
        status 499, with whatever it had used."""
        stopped = CallCancelledError("call stopped by the caller", model=call.current.id)
        self.record(call, usage=usage, error=stopped)

    def fail(self, call: Call, exc: ClaudeArchError, usage: Usage | None = None) -> ClaudeArchError:
        """Stamp the error with the call's context and account for it (``usage``: what a stream
        that failed after content had used); returns it to raise."""
        exc.attempts = call.attempts
        exc.model = exc.model or call.current.id
        self.record(call, usage=usage, error=exc)
        return exc


def _otel_tracer(provider: Any) -> OTelTracer | None:
    """GenAI spans when ``opentelemetry-api`` is installed (without an SDK they cost little);
    ``provider`` None means OpenTelemetry's global tracer provider."""
    if importlib.util.find_spec("opentelemetry") is None:
        return None
    from claude_arch.core.metering.spans import OTelTracer

    return OTelTracer(provider)
