"""The Messages API protocol, kept apart from HTTP: headers, bodies, SSE, typed events, batches.

Nothing here does I/O; the clients pair it with a transport (``claude_arch.core.transports``).
"""

from __future__ import annotations

from claude_arch.core.wire.batches import BatchPage, BatchResult, JSONLines, MessageBatch
from claude_arch.core.wire.events import (
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    MessageAccumulator,
    MessageDelta,
    MessageStart,
    MessageStop,
    Ping,
    StreamEvent,
    UnknownEvent,
    decode_event,
    stream_error,
    typed_event,
)
from claude_arch.core.wire.protocol import (
    BATCHES_PATH,
    COUNT_TOKENS_PATH,
    MESSAGES_PATH,
    MODELS_PATH,
    ApiStyle,
    decode_json,
    encode_body,
    error_from_response,
    ratelimit_headers,
    request_headers,
    request_id,
    retry_after_from_headers,
    should_retry_from_headers,
)
from claude_arch.core.wire.sse import ServerSentEvent, SSEDecoder

__all__ = [
    "BATCHES_PATH",
    "COUNT_TOKENS_PATH",
    "MESSAGES_PATH",
    "MODELS_PATH",
    "ApiStyle",
    "BatchPage",
    "BatchResult",
    "ContentBlockDelta",
    "ContentBlockStart",
    "ContentBlockStop",
    "JSONLines",
    "MessageAccumulator",
    "MessageBatch",
    "MessageDelta",
    "MessageStart",
    "MessageStop",
    "Ping",
    "SSEDecoder",
    "ServerSentEvent",
    "StreamEvent",
    "UnknownEvent",
    "decode_event",
    "decode_json",
    "encode_body",
    "error_from_response",
    "ratelimit_headers",
    "request_headers",
    "request_id",
    "retry_after_from_headers",
    "should_retry_from_headers",
    "stream_error",
    "typed_event",
]
