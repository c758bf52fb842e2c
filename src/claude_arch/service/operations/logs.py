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

import asyncio
import contextvars
import logging
import os
import re
import sys
import time
from typing import Any

from claude_arch.core.wire import fastjson

__all__ = [
    "LOG_LEVEL_ENV",
    "REDACTED",
    "JsonFormatter",
    "JsonHandler",
    "configure_logging",
    "current_request_id",
    "log_fields",
    "redact",
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


_pid = [os.getpid()]
"""This process's id, for every access line (``os.getpid()`` is a system call each time)."""
os.register_at_fork(after_in_child=lambda: _pid.__setitem__(0, os.getpid()))

_second: list[tuple[int, str]] = [(-1, "")]
"""The last second a line was stamped with, and its text (one tuple: threads swap it whole)."""


def _timestamp(created: float) -> str:
    """``2026-11-26T05:57:11.123Z``; the seconds are formatted once a second, not once a line."""
    second = int(created)
    last = _second[0]
    if last[0] != second:
        last = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        _second[0] = last
    return f"{last[1]}.{int(created * 1000) % 1000:03d}Z"


def current_request_id() -> str | None:
    return _request_id.get()


class request_context:  # lower case: used like a context-manager function
    """Within the block, log lines carry ``request_id`` (a class: it runs on every request)."""

    __slots__ = ("_request_id", "_token")

    def __init__(self, request_id: str) -> None:
        self._request_id = request_id

    def __enter__(self) -> None:
        self._token = _request_id.set(self._request_id)

    def __exit__(self, *exc_info: object) -> None:
        _request_id.reset(self._token)


_SECRETS = re.compile(
    r"(?P<key>sk-(?:ca|ant)-)[A-Za-z0-9_\-]{4,}"
    r"|(?P<param>[?&;](?:key|api_key|apikey|x-api-key|token|access_token|auth)=)[^&#\s\"'<>]*",
    re.IGNORECASE,
)
REDACTED = "[redacted]"


def _hide(match: re.Match[str]) -> str:
    return (match.group("key") or match.group("param")) + REDACTED


def redact(text: str) -> str:
    """``text`` with credentials hidden: service and Anthropic key secrets (``sk-ca-…``,
    ``sk-ant-…``) and the values of URL query parameters that carry one (``?key=``, ``token=``,
    …), as a WebSocket's URL can.

    >>> redact('"WebSocket /v1/chat/ws?key=sk-ca-AbC123_xyz" [accepted]')
    '"WebSocket /v1/chat/ws?key=[redacted]" [accepted]'
    >>> redact("upstream refused sk-ant-api03-secret")
    'upstream refused sk-ant-[redacted]'
    """
    return _SECRETS.sub(_hide, text) if ("=" in text or "sk-" in text) else text


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line; ``extra=`` fields become keys. Whatever a library logs
    passes :func:`redact` (its message, string fields and traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            key: redact(value) if isinstance(value, str) else value
            for key, value in record.__dict__.items()
            if key not in _STANDARD and not key.startswith("_")
        }
        exc = redact(self.formatException(record.exc_info)) if record.exc_info else None
        return self.line(
            record.created,
            record.levelname,
            record.name,
            redact(record.getMessage()),
            pid=record.process,
            fields=fields,
            exc=exc,
        )

    @staticmethod
    def line(
        created: float,
        level: str,
        logger: str,
        msg: str,
        *,
        pid: int | None,
        fields: dict[str, Any],
        exc: str | None = None,
    ) -> str:
        out: dict[str, Any] = {
            "ts": _timestamp(created),
            "level": level.lower(),
            "logger": logger,
            "msg": msg,
            "pid": pid,  # which worker, under --workers
        }
        request_id = _request_id.get()
        if request_id is not None:
            out["request_id"] = request_id
        out.update(fields)
        if exc is not None:
            out["exc"] = exc
        return fastjson.dumps(out, default=str).decode()


class JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The stream handler :func:`configure_logging` installs; :func:`log_fields` writes to it
    directly.

    Lines logged in one turn of a running event loop are written together at its end, in one
    write (a busy replica wrote one access line per request, a system call each). They are
    held for that turn only: a process killed outright loses at most that turn's lines; an
    exit, :meth:`flush` and :meth:`close` write them. Lines logged with no loop running, or
    from another thread while nothing is held, are written at once."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._held: list[str] = []
        self._held_on: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.write_line(self.format(record))
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def write_line(self, line: str) -> None:
        """Write ``line`` (with the terminator) at the end of this loop turn; hold the lock."""
        if self._held:
            if self._held_on is not None and not self._held_on.is_closed():
                self._held.append(line + self.terminator)
                return
            self._write_held()  # its loop went away before writing them
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop in this thread: nothing would write it later
            self.stream.write(line + self.terminator)
            self.flush()
            return
        self._held.append(line + self.terminator)
        self._held_on = loop
        loop.call_soon(self._end_of_turn)

    def _end_of_turn(self) -> None:
        try:
            self.flush()
        except Exception:
            self.handleError(logging.makeLogRecord({"msg": "writing held log lines"}))

    def _write_held(self) -> None:
        held, self._held = self._held, []
        self._held_on = None
        if held:
            self.stream.write("".join(held))

    def flush(self) -> None:
        self.acquire()
        try:
            self._write_held()
            super().flush()
        finally:
            self.release()


def _sole_json_handler(logger: logging.Logger) -> JsonHandler | None:
    """The one handler a record of ``logger`` would reach when that is a plain
    :class:`JsonHandler` with nothing (no filter, no other handler) on the way; else None."""
    current: logging.Logger | None = logger
    found: JsonHandler | None = None
    while current is not None:
        if current.filters or current.disabled:
            return None
        for handler in current.handlers:
            if found is not None or type(handler) is not JsonHandler or handler.filters:
                return None
            found = handler
        if not current.propagate:
            break
        current = current.parent
    if found is None or found.level > logging.INFO:
        return None
    return found


def log_fields(logger: logging.Logger, msg: str, fields: dict[str, Any]) -> None:
    """``logger.info(msg, extra=fields)``: the same line, written straight to the JSON handler
    when it is the only one a record would reach (making a ``LogRecord`` and passing it
    through the logging machinery cost ~4% of a gateway's CPU, one access line per request)."""
    if not logger.isEnabledFor(logging.INFO):
        return
    handler = _sole_json_handler(logger)
    if handler is None:
        logger.info("%s", msg, extra=fields)
        return
    line = JsonFormatter.line(time.time(), "INFO", logger.name, msg, pid=_pid[0], fields=fields)
    handler.acquire()
    try:
        handler.write_line(line)
    except Exception:
        handler.handleError(logging.makeLogRecord({"msg": msg}))
    finally:
        handler.release()


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    """Route every logger (uvicorn's included) to one JSON handler on stderr."""
    handler = JsonHandler(stream or sys.stderr)
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
