"""Capture every log record of the process as the service's JSON lines, for the duration of a test.

    with json_logs("DEBUG") as logs:
        ...                                   # run the service, make calls
    lines = logs.lines()                      # each line decoded: {"msg": ..., "request_id": ...}
    assert secret not in logs.text()

One handler with the service's own :class:`JsonFormatter` on the root logger; every named logger
(uvicorn's, aiohttp's, ours) propagates to it. Levels and handlers are restored afterwards, so
the rest of the suite is unaffected.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from claude_arch.service.operations.logs import JsonFormatter

LOUD_LOGGERS = ("claude_arch", "uvicorn", "uvicorn.error", "uvicorn.access", "aiohttp", "asyncio")


class CapturedLogs:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        # split at "\n" only: a JSON string may hold U+2028 or U+0085, which splitlines() splits at
        return [json.loads(line) for line in self.text().split("\n") if line.strip()]


@contextmanager
def json_logs(level: str = "INFO") -> Iterator[CapturedLogs]:
    captured = CapturedLogs()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(level)
    root = logging.getLogger()
    saved = {name: (logging.getLogger(name).level, logging.getLogger(name).disabled)
             for name in LOUD_LOGGERS}  # fmt: skip
    saved_root = root.level
    root.addHandler(handler)
    root.setLevel(level)
    for name in LOUD_LOGGERS:
        logging.getLogger(name).setLevel(level)
        logging.getLogger(name).disabled = False
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_root)
        for name, (old_level, disabled) in saved.items():
            logging.getLogger(name).setLevel(old_level)
            logging.getLogger(name).disabled = disabled
