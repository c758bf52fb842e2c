"""OpenTelemetry spans following the GenAI semantic conventions; free when OTel is not installed.

    with span_for("create", "claude-haiku-4-5", max_tokens=1024) as span:
        message = await send(...)
        span.record_message(message)

The span is a CLIENT span named ``"chat claude-haiku-4-5"`` with ``gen_ai.provider.name``,
``gen_ai.operation.name``, ``gen_ai.request.*``, ``gen_ai.response.*`` and ``gen_ai.usage.*``
attributes; an exception marks it failed with ``error.type``. Only ``opentelemetry-api`` is used:
without a configured SDK the spans are non-recording and the handle does nothing.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from claude_arch.core.types import Message, Usage, UsageRecord

__all__ = ["PROVIDER", "GenAISpan", "OTelTracer", "genai_operation", "span_for", "total_input"]

PROVIDER = "anthropic"


def genai_operation(operation: str) -> str:
    """``gen_ai.operation.name`` of one of our operations (a message is a ``chat``)."""
    return "chat" if operation in ("create", "stream", "batch") else operation


def total_input(usage: Usage) -> int:
    """Input tokens as the conventions count them: cache reads and writes included (Anthropic
    reports them apart)."""
    return usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens


class GenAISpan:
    """The handle ``span_for`` yields: put what the response said on the span."""

    __slots__ = ("_span",)

    def __init__(self, span: Any = None) -> None:
        self._span = span

    @property
    def recording(self) -> bool:
        return self._span is not None

    def set(self, key: str, value: Any) -> None:
        if self._span is not None and value is not None:
            self._span.set_attribute(key, value)

    def record_usage(self, usage: Usage) -> None:
        self.set("gen_ai.usage.input_tokens", total_input(usage))
        self.set("gen_ai.usage.output_tokens", usage.output_tokens)
        self.set("gen_ai.usage.cache_read.input_tokens", usage.cache_read_input_tokens)
        self.set("gen_ai.usage.cache_creation.input_tokens", usage.cache_creation_input_tokens)

    def record_message(self, message: Message) -> None:
        """Response id, model, finish reason and usage of a finished message."""
        if self._span is None:
            return
        self.set("gen_ai.response.id", message.id or None)
        self.set("gen_ai.response.model", message.model or None)
        if message.stop_reason:
            self.set("gen_ai.response.finish_reasons", [message.stop_reason])
        self.record_usage(message.usage)

    def record_usage_record(self, record: UsageRecord) -> None:
        """Usage, request id and outcome from a :class:`UsageRecord`."""
        if self._span is None:
            return
        self.record_usage(record.usage)
        self.set("anthropic.request_id", record.request_id)
        if record.attempts > 1:
            self.set("claude_arch.attempts", record.attempts)
        if record.error_type:
            self.set("error.type", record.error_type)


class OTelTracer:
    """Makes GenAI spans through an OpenTelemetry tracer provider (the global one by default)."""

    def __init__(self, tracer_provider: Any = None) -> None:
        self._provider = tracer_provider
        self._tracer: Any = None
        self._available: bool | None = None
        self._trace: Any = None  # the opentelemetry.trace module, once imported

    def _get_tracer(self) -> Any:
        if self._available is None:
            try:
                from opentelemetry import trace
            except ImportError:
                self._available = False
                return None
            self._available = True
            self._trace = trace
            self._tracer = trace.get_tracer("claude_arch", tracer_provider=self._provider)
        return self._tracer

    def emit(self, record: UsageRecord) -> None:
        """A finished span for a call that has just ended, timed from its record.

        The clients call this once per call, so streams, retries and fallbacks all end up as one
        span whose parent is the caller's current span. Spans of the HTTP requests underneath are
        not its children: they are over when it is made.
        """
        tracer = self._get_tracer()
        if tracer is None:
            return
        trace = self._trace
        if self._provider is None and isinstance(
            trace.get_tracer_provider(), trace.ProxyTracerProvider
        ):
            return  # no provider set (yet): the span would be a no-op, and costs a gateway ~2%
        from opentelemetry.trace import SpanKind, Status, StatusCode

        end = time.time_ns()
        name = genai_operation(record.operation)
        span = tracer.start_span(
            f"{name} {record.fallback_from or record.model}",
            kind=SpanKind.CLIENT,
            attributes=_request_attributes(
                name, record.fallback_from or record.model, record.max_tokens
            ),
            start_time=end - int(record.latency_s * 1e9),
        )
        if span.is_recording():
            handle = GenAISpan(span)
            handle.set("gen_ai.response.model", record.model)
            handle.set("gen_ai.response.id", record.response_id)
            if record.stop_reason:
                handle.set("gen_ai.response.finish_reasons", [record.stop_reason])
            handle.record_usage_record(record)
            if record.error_type:
                span.set_status(Status(StatusCode.ERROR, record.error_type))
        span.end(end_time=end)

    @contextlib.contextmanager
    def span_for(
        self, operation: str, model: str, *, max_tokens: int | None = None
    ) -> Iterator[GenAISpan]:
        """A CLIENT span named ``"{gen_ai.operation.name} {model}"``; errors mark it failed."""
        tracer = self._get_tracer()
        if tracer is None:
            yield GenAISpan()
            return
        from opentelemetry.trace import SpanKind, Status, StatusCode

        name = genai_operation(operation)
        with tracer.start_as_current_span(
            f"{name} {model}",
            kind=SpanKind.CLIENT,
            attributes=_request_attributes(name, model, max_tokens),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            handle = GenAISpan(span if span.is_recording() else None)
            try:
                yield handle
            except BaseException as exc:
                error_type = getattr(exc, "error_type", None) or type(exc).__qualname__
                handle.set("error.type", str(error_type))
                if handle.recording:
                    span.record_exception(exc)
                    span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
                raise


def _request_attributes(operation: str, model: str, max_tokens: int | None) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.provider.name": PROVIDER,
        "gen_ai.system": PROVIDER,  # the name before semantic conventions 1.37
        "gen_ai.operation.name": operation,
        "gen_ai.request.model": model,
    }
    if max_tokens is not None:
        attributes["gen_ai.request.max_tokens"] = max_tokens
    return attributes


_default_tracer = OTelTracer()


def span_for(
    operation: str, model: str, *, max_tokens: int | None = None
) -> contextlib.AbstractContextManager[GenAISpan]:
    """A GenAI span on the global tracer provider (a no-op without ``opentelemetry-api``)."""
    return _default_tracer.span_for(operation, model, max_tokens=max_tokens)
