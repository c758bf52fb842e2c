"""One JSON object a line on stdout, as Cloud Logging reads a function's output: ``severity``,
``message`` and the record's extra fields (never the key: nothing here logs one).

:func:`json_logs` is called by the functions when they run on the platform (``K_SERVICE`` set)
or locally under ``claude-arch gcf serve``; anywhere else the process's logging is left alone.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import orjson

__all__ = ["JsonLines", "json_logs"]

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    """``{"severity": "WARNING", "message": "...", "logger": "...", ...extra}``."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD and not name.startswith("_"):
                doc[name] = value
        if record.exc_info:
            doc["stack_trace"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def json_logs() -> None:
    """Send the ``claude_arch`` loggers to stdout as JSON lines, once, on the platform only."""
    root = logging.getLogger("claude_arch")
    if not os.environ.get("K_SERVICE") or any(
        isinstance(h.formatter, JsonLines) for h in root.handlers
    ):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLines())
    root.addHandler(handler)
    root.setLevel(os.environ.get("CLAUDE_ARCH_LOG_LEVEL", "INFO").upper())
    root.propagate = False
