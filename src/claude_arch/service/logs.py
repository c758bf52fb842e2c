"""Structured logs: one JSON object per line, each with the request id of the request it is about.

Prompt and answer text never appear unless ``log_prompts`` is on; keys never appear at all (the
service logs a key's public id, not its secret, and the core client never logs headers).

    configure_logging()                      # the root logger writes JSON lines to stderr
    with request_context("req_01abc"):
        logging.getLogger("claude_arch.service").info("hello")
    # {"ts": "...", "level": "info", "logger": "claude_arch.service", "msg": "hello",
    #  "request_id": "req_01abc"}
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Any

__all__ = [
    "LOG_LEVEL_ENV",
    "JsonFormatter",
    "configure_logging",
    "current_request_id",
    "request_context",
]

LOG_LEVEL_ENV = "CLAUDE_ARCH_LOG_LEVEL"
"""How ``serve --workers`` passes ``--log-level`` to its worker processes."""

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "claude_arch_request_id", default=None
)
# LogRecord attributes that are not "extra" fields
# (uvicorn adds ``color_message``: the same text with terminal colour codes)
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


def current_request_id() -> str | None:
    return _request_id.get()


class request_context:  # lower case: used like the context-manager function it replaced
    """Within the block, log lines carry ``request_id`` (a class: it runs on every request)."""

    __slots__ = ("_request_id", "_token")

    def __init__(self, request_id: str) -> None:
        self._request_id = request_id

    def __enter__(self) -> None:
        self._token = _request_id.set(self._request_id)

    def __exit__(self, *exc_info: object) -> None:
        _request_id.reset(self._token)


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line; ``extra=`` fields become keys."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,  # which worker, under --workers
        }
        request_id = _request_id.get()
        if request_id is not None:
            out["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    """Route every logger (uvicorn's included) to one JSON handler on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # what the formatter never prints need not be gathered for every line (the logging HOWTO's
    # "Optimization": the caller's frame, the thread and the multiprocessing process name)
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # our access log line replaces uvicorn's (which has no request id)
    logging.getLogger("uvicorn.access").disabled = True
