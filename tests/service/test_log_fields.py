"""``log_fields``: the access line written straight to the service's JSON handler is the line the
logging machinery would have written; anything else on the way (another handler, a filter, a
level) sends it through the machinery instead, so nothing configured is bypassed.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_arch.service.operations.logs import (
    JsonFormatter,
    JsonHandler,
    configure_logging,
    log_fields,
    request_context,
)

FIELDS = {"method": "POST", "status": 200, "key_id": "key_1", "cost_usd": "0.000123", "x": None}


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    """A logger under a root configured as ``claude-arch serve`` configures it, restored after."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    logger = logging.getLogger("claude_arch.test.fields")
    yield logger
    logger.handlers[:] = []
    logger.filters[:] = []
    logger.propagate = True
    root.handlers[:], root.level = saved
    root.setLevel(saved[1])


def configured(level: str = "INFO") -> io.StringIO:
    stream = io.StringIO()
    configure_logging(level, stream)
    return stream


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def without_ts(line: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in line.items() if k != "ts"}


def test_the_direct_line_is_the_line_logging_writes(logger: logging.Logger) -> None:
    stream = configured()
    with request_context("req_fields_1"):
        log_fields(logger, "POST /v1/messages 200", FIELDS)
        logger.info("%s", "POST /v1/messages 200", extra=FIELDS)
    direct, machinery = lines(stream)
    assert without_ts(direct) == without_ts(machinery)
    assert direct["request_id"] == "req_fields_1"
    assert direct["pid"] == os.getpid()
    assert direct["level"] == "info"
    assert direct["ts"].endswith("Z")


@given(
    st.dictionaries(
        st.text(st.characters(categories=["Ll"]), min_size=1, max_size=8).filter(
            lambda k: k not in {"ts", "level", "logger", "msg", "pid", "request_id", "exc"}
        ),
        st.none()
        | st.integers()
        | st.text(max_size=20)
        | st.floats(allow_nan=False, allow_infinity=False),
        max_size=6,
    )
)
def test_any_fields_come_out_as_the_formatter_writes_them(fields: dict[str, Any]) -> None:
    line = JsonFormatter.line(0.5, "INFO", "claude_arch.x", "m", pid=7, fields=fields)
    decoded = json.loads(line)
    assert {k: decoded[k] for k in fields} == fields
    assert decoded["ts"] == "1970-01-01T00:00:00.500Z"


def test_another_handler_gets_the_line_through_logging(logger: logging.Logger) -> None:
    stream = configured()
    other = io.StringIO()
    extra_handler = logging.StreamHandler(other)
    logging.getLogger().addHandler(extra_handler)  # caplog, a file, a shipper…
    log_fields(logger, "GET /healthz 200", FIELDS)
    assert lines(stream)[0]["msg"] == "GET /healthz 200"
    assert other.getvalue() == "GET /healthz 200\n"


def test_a_filter_on_the_way_is_honoured(logger: logging.Logger) -> None:
    stream = configured()
    logger.addFilter(lambda record: False)
    log_fields(logger, "GET /healthz 200", FIELDS)
    assert stream.getvalue() == ""


def test_a_level_above_info_writes_nothing(logger: logging.Logger) -> None:
    stream = configured("WARNING")
    log_fields(logger, "GET /healthz 200", FIELDS)
    assert stream.getvalue() == ""


def test_a_logger_of_its_own_is_used_through_logging(logger: logging.Logger) -> None:
    stream = configured()
    own = io.StringIO()
    handler = JsonHandler(own)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.propagate = False
    log_fields(logger, "GET /healthz 200", FIELDS)
    assert stream.getvalue() == ""
    assert json.loads(own.getvalue())["key_id"] == "key_1"


def test_a_float_json_cannot_carry_is_logged_as_null() -> None:
    """The line stays valid JSON for a log shipper (the standard library wrote ``Infinity``)."""
    line = JsonFormatter.line(0.0, "INFO", "x", "m", pid=1, fields={"a": float("inf"), "b": 1.5})
    assert json.loads(line, parse_constant=pytest.fail)["a"] is None


class CountedWrites(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_lines_of_one_loop_turn_go_out_in_one_write_in_order(logger: logging.Logger) -> None:
    stream = CountedWrites()
    configure_logging("INFO", stream)

    async def one_turn() -> str:
        log_fields(logger, "first", FIELDS)
        logger.info("second")  # through logging: the same queue, in order
        log_fields(logger, "third", FIELDS)
        seen = stream.getvalue()
        await asyncio.sleep(0)  # the turn ends
        await asyncio.sleep(0)
        return seen

    assert asyncio.run(one_turn()) == ""  # held while the turn ran
    assert [line["msg"] for line in lines(stream)] == ["first", "second", "third"]
    assert stream.writes == 1


def test_with_no_loop_a_line_is_written_at_once(logger: logging.Logger) -> None:
    stream = configured()
    log_fields(logger, "now", FIELDS)
    assert lines(stream)[0]["msg"] == "now"


def test_lines_held_by_a_loop_that_ended_are_written_before_the_next(
    logger: logging.Logger,
) -> None:
    stream = configured()
    loop = asyncio.new_event_loop()

    async def log_and_stop() -> None:
        log_fields(logger, "held", FIELDS)
        loop.stop()  # the turn's callback never runs

    task = loop.create_task(log_and_stop())
    loop.run_forever()
    assert task.done()
    loop.close()
    assert stream.getvalue() == ""
    log_fields(logger, "after", FIELDS)  # no loop: written at once, after the held line
    assert [line["msg"] for line in lines(stream)] == ["held", "after"]


def test_lines_held_by_a_loop_that_ended_go_before_the_next_loops(
    logger: logging.Logger,
) -> None:
    stream = configured()
    loop = asyncio.new_event_loop()

    async def log_and_stop() -> None:
        log_fields(logger, "held", FIELDS)
        loop.stop()

    task = loop.create_task(log_and_stop())
    loop.run_forever()
    loop.close()
    assert task.done()

    async def next_loop() -> None:
        log_fields(logger, "in the next loop", FIELDS)
        await asyncio.sleep(0)

    asyncio.run(next_loop())
    assert [line["msg"] for line in lines(stream)] == ["held", "in the next loop"]


def test_flush_writes_what_is_held(logger: logging.Logger) -> None:
    stream = configured()

    async def log_and_flush() -> str:
        log_fields(logger, "held", FIELDS)
        for handler in logging.getLogger().handlers:
            handler.flush()  # what logging.shutdown() does at exit
        return stream.getvalue()

    assert json.loads(asyncio.run(log_and_flush()))["msg"] == "held"
