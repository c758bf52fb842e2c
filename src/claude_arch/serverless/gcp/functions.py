"""The Cloud Functions: an HTTP function (JSON or SSE), a Pub/Sub CloudEvent function and a Cloud
Tasks HTTP target, each one question to Claude per request, event or task.

    ask         POST {"prompt": "Hello"}                    -> 200 {"text", "usage", "cost_usd", …}
                POST {"prompt": "Hello", "stream": true}    -> text/event-stream: text…, done
    on_pubsub   a Pub/Sub message (CloudEvent ``google.cloud.pubsub.topic.v1.messagePublished``)
                whose data is the same body; the answer goes to ``on_answer`` (default: a log line)
    on_task     a Cloud Tasks HTTP target: the task's body, its ``X-CloudTasks-*`` headers read

The bodies, the errors (the Anthropic shape, a 400 naming the field before any call), the one
client per instance and each call's deadline (the function's timeout minus a margin:
:mod:`.clock`) are the Lambda handlers'. What differs is how each trigger retries:

- ``ask``: the caller decides; a 429/529 is answered with its status and ``retry-after``.
- ``on_pubsub``: returning acknowledges the message; raising makes Pub/Sub (Eventarc) deliver it
  again, with the subscription's backoff. A message that can never be answered (bad body, unknown
  model) is logged and acknowledged, not retried for ever; a 429/529 or a failure upstream raises.
- ``on_task``: any 2xx ends the task, anything else is retried by the queue. A 429/529 answers
  429/503 with ``Retry-After`` (which Cloud Tasks honours), a failure upstream its 5xx; a task
  that can never be answered is answered 200 with the error body and header
  ``x-claude-arch-task: dropped`` (logged as an error), since any other status retries it.

With ``CLAUDE_ARCH_FUNCTION_IDEMPOTENCY`` set, a Pub/Sub message (its ``id``) and a task (its
queue and name) are answered once however often they are delivered, and so is an ``ask`` with
an ``Idempotency-Key`` header (:mod:`claude_arch.serverless.idempotency`).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import functions_framework
import orjson

from claude_arch.errors import (
    ClaudeArchError,
    InvalidRequestError,
    OverloadedError,
    RateLimitError,
)
from claude_arch.serverless.ask import answer_body, as_bad_request, ask_params
from claude_arch.serverless.config import FunctionConfig
from claude_arch.serverless.cors import cors_headers
from claude_arch.serverless.gcp.clock import RequestClock
from claude_arch.serverless.gcp.logs import json_logs
from claude_arch.serverless.redelivery import redelivery_delay_s
from claude_arch.serverless.warm import WarmClient, WarmOnceOnly, call_deadline
from claude_arch.service.http.problems import crash, from_upstream, problem

if TYPE_CHECKING:
    import flask
    from cloudevents.http import CloudEvent

    from claude_arch.core.streams.sync_stream import SyncMessageStream

__all__ = [
    "AnswerSink",
    "HandedBack",
    "ask",
    "claude",
    "config",
    "log_answer",
    "on_pubsub",
    "on_task",
    "once_only",
    "queued_claude",
    "set_answer_sink",
]

AnswerSink = Callable[[str, dict[str, Any]], None]
"""Where an event's answer goes: ``(event id, answer body)``."""

_log = logging.getLogger("claude_arch.serverless")

config = FunctionConfig.from_env()
claude = WarmClient()
# on_pubsub and on_task do not retry inside the function: their source redelivers, and waiting
# out a retry-after is billed time (each function is deployed alone: one of the two is built)
queued_claude = WarmClient(max_retries=0)
once_only = WarmOnceOnly()
json_logs()


class HandedBack(Exception):
    """Raised from ``on_pubsub`` so that Pub/Sub delivers the message again."""


def log_answer(event_id: str, answer: dict[str, Any]) -> None:
    """The default sink: one log line with the event's id and the answer."""
    _log.info("answered", extra={"event_id": event_id, "answer": answer})


_sink: list[AnswerSink] = [log_answer]


def set_answer_sink(sink: AnswerSink) -> None:
    """Send ``on_pubsub``'s and ``on_task``'s answers to ``sink`` (e.g. a Firestore write)."""
    _sink[0] = sink


# --- ask: HTTP, JSON or SSE -----------------------------------------------------------------------
@functions_framework.http
def ask(request: flask.Request) -> flask.Response:
    """Answer one POST: JSON, or an SSE stream when the body says ``"stream": true``."""
    import flask

    request_id = _request_id(request)
    origin = request.headers.get("origin")
    clock = RequestClock()
    try:
        if request.method == "OPTIONS":
            return flask.Response(status=204, headers=_cors(origin, preflight=True))
        if request.method != "POST":
            raise InvalidRequestError(
                f"method: {request.method} is not served; POST a JSON body", field="method"
            )
        params = ask_params(request.get_data(cache=False), config)
        if params.pop("stream", False):
            return _stream(params, clock, request_id, origin)
        key = request.headers.get("idempotency-key")

        def work() -> dict[str, Any]:
            message = claude.get().create(
                **params, deadline=call_deadline(clock, config.deadline_margin_s)
            )
            return answer_body(message)

        once = once_only.get() if key else None
        headers = _cors(origin, preflight=False)
        if once is None or not key:
            answer = work()
        else:
            if len(key) > 255:
                raise InvalidRequestError(
                    "Idempotency-Key: must be 1 to 255 characters", field="idempotency_key"
                )
            done = once.run(key, work, body=request.get_data(as_text=True), context=clock)
            answer = done.answer
            headers["idempotent-replayed"] = "true" if done.replayed else "false"
    except ClaudeArchError as exc:
        return _json(*_problem(exc, request_id), origin)
    except Exception as exc:  # a bug: the log gets the trace, the caller the request id
        return _json(*_problem(crash(exc, "unhandled error in the function"), request_id), origin)
    return _json(200, answer, headers, origin)


def _stream(
    params: dict[str, Any], clock: RequestClock, request_id: str, origin: str | None
) -> flask.Response:
    """Open the stream here (so a refusal is still a JSON error with its status), then send
    ``text`` events as they come and ``done`` with the usage and cost."""
    import flask

    stream = claude.get().stream(**params, deadline=call_deadline(clock, config.deadline_margin_s))
    stream.__enter__()  # the request, its retries and fallbacks: errors are raised here
    headers = {"cache-control": "no-cache", "x-accel-buffering": "no", **_cors(origin, False)}
    return flask.Response(
        _events(stream, request_id), status=200, mimetype="text/event-stream", headers=headers
    )


def _events(stream: SyncMessageStream, request_id: str) -> Iterator[bytes]:
    try:
        for text in stream.text_stream:
            yield _sse("text", {"text": text})
        yield _sse("done", answer_body(stream.final_message()))
    except ClaudeArchError as exc:
        _, body, _ = _problem(exc, request_id)
        yield _sse("error", body)
    except Exception as exc:
        _, body, _ = _problem(crash(exc, "unhandled error in the stream"), request_id)
        yield _sse("error", body)
    finally:
        stream.close()  # a client gone mid-stream lands here too: the upstream call stops


def _sse(event: str, data: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


# --- on_pubsub: a CloudEvent from Pub/Sub (Eventarc) ----------------------------------------------
@functions_framework.cloud_event
def on_pubsub(cloud_event: CloudEvent) -> None:
    """Answer one Pub/Sub message; raise (so it is delivered again) only when a retry can help."""
    clock = RequestClock()
    event_id = str(cloud_event["id"])
    try:
        body = _pubsub_body(cloud_event.data)
        _answer_event(event_id, body, clock)
    except InvalidRequestError as exc:
        _log.error("message dropped", extra=_failure(event_id, as_bad_request(exc)))
    except (RateLimitError, OverloadedError) as exc:
        _log.warning("handed back", extra=_failure(event_id, exc))
        raise HandedBack(
            f"{exc.error_type}: delivered again after the subscription's backoff"
        ) from None
    except ClaudeArchError as exc:
        queued_claude.refused(exc)
        _log.warning("message failed", extra=_failure(event_id, exc))
        raise HandedBack(f"{exc.error_type}: delivered again") from None


def _pubsub_body(data: Any) -> bytes:
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, dict):
        raise InvalidRequestError("event.data: not a Pub/Sub message", field="event.data")
    raw = message.get("data", "")
    try:
        return base64.b64decode(raw, validate=True) if isinstance(raw, str) else b""
    except (binascii.Error, ValueError):
        raise InvalidRequestError(
            "event.data.message.data: not base64", field="event.data.message.data"
        ) from None


# --- on_task: a Cloud Tasks HTTP target -----------------------------------------------------------
@functions_framework.http
def on_task(request: flask.Request) -> flask.Response:
    """Answer one task; the status tells Cloud Tasks whether to run it again."""
    clock = RequestClock()
    name = request.headers.get("X-CloudTasks-TaskName")
    queue = request.headers.get("X-CloudTasks-QueueName", "")
    request_id = _request_id(request)
    if not name:
        error = InvalidRequestError(
            "X-CloudTasks-TaskName: missing; this target answers Cloud Tasks only",
            field="X-CloudTasks-TaskName",
        )
        return _json(*_problem(error, request_id), None)
    task_id = f"{queue}/{name}"
    info = {
        "task": task_id,
        "retry_count": request.headers.get("X-CloudTasks-TaskRetryCount"),
        "execution_count": request.headers.get("X-CloudTasks-TaskExecutionCount"),
    }
    try:
        answer = _answer_event(task_id, request.get_data(cache=False), clock)
    except InvalidRequestError as exc:
        bad = as_bad_request(exc)
        _log.error("task dropped", extra={**info, **_failure(task_id, bad)})
        _, body, headers = _problem(bad, request_id)
        return _json(200, body, {**headers, "x-claude-arch-task": "dropped"}, None)
    except (RateLimitError, OverloadedError) as exc:
        delay = redelivery_delay_s(exc)
        _log.warning("handed back", extra={**info, **_failure(task_id, exc), "delay_s": delay})
        status, body, headers = _problem(exc, request_id)
        headers["retry-after"] = str(delay)
        # Cloud Tasks backs off more, honouring Retry-After, on 429 and 503 (not 529)
        return _json(429 if status == 429 else 503, body, headers, None)
    except ClaudeArchError as exc:
        queued_claude.refused(exc)
        _log.warning("task failed", extra={**info, **_failure(task_id, exc)})
        status, body, headers = _problem(exc, request_id)
        return _json(status if status >= 500 else 503, body, headers, None)
    _log.info("task answered", extra=info)
    return _json(200, answer, {}, None)


# --- shared ---------------------------------------------------------------------------------------
def _answer_event(event_id: str, body: bytes, clock: RequestClock) -> dict[str, Any]:
    """Ask for ``body`` once per ``event_id`` (with idempotency on) and hand the answer to the
    sink; a replayed answer is returned without a second call or a second delivery."""
    params = ask_params(body, config)
    params.pop("stream", None)

    def work() -> dict[str, Any]:
        message = queued_claude.get().create(
            **params, deadline=call_deadline(clock, config.deadline_margin_s)
        )
        answer = answer_body(message)
        _sink[0](event_id, answer)
        return answer

    once = once_only.get()
    if once is None:
        return work()
    done = once.run(event_id, work, body=body.decode(), context=clock)
    if done.replayed:
        _log.info("answered before", extra={"event_id": event_id})
    return done.answer


def _failure(event_id: str, exc: ClaudeArchError) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "status": getattr(exc, "status", None),
        "error_type": getattr(exc, "error_type", None),
        "field": getattr(exc, "field", None),
        "error": str(exc),
        "retry_after": getattr(exc, "retry_after", None),
    }


def _request_id(request: flask.Request) -> str:
    trace = request.headers.get("X-Cloud-Trace-Context", "")
    return trace.split("/")[0] or request.headers.get("Function-Execution-Id") or "local"


def _problem(exc: ClaudeArchError, request_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    if isinstance(exc, InvalidRequestError):
        exc = as_bad_request(exc)
    return problem(exc, request_id, upstream=from_upstream(exc))


def _cors(origin: str | None, preflight: bool) -> dict[str, str]:
    return cors_headers(origin, config.cors_origins, preflight=preflight)


def _json(
    status: int, body: dict[str, Any], headers: dict[str, str], origin: str | None
) -> flask.Response:
    import flask

    out = {**headers, **_cors(origin, preflight=False)}
    return flask.Response(
        orjson.dumps(body), status=status, mimetype="application/json", headers=out
    )
