"""The SQS function: each record one question, failures reported one by one.

    Handler: claude_arch.serverless.aws_lambda.sqs_handler.handler
    (event source mapping with FunctionResponseTypes: [ReportBatchItemFailures])

Each record's body is a body of :mod:`claude_arch.serverless.ask`. The answer goes to
``on_answer`` (the default logs it; :func:`make_handler` takes your own, e.g. a DynamoDB write).
Only failed records return to the queue, listed in ``batchItemFailures``:

- a record that cannot be asked (not JSON, no prompt, an unknown model) fails alone; after the
  queue's ``maxReceiveCount`` it lands in the dead-letter queue;
- a 429 or 529 is not retried here, sleeping while billed: the record goes back to the queue,
  and so do the records after it in this batch, untried, each made visible again after the
  API's ``retry-after`` (plus jitter; :mod:`.sqs_visibility`) instead of the queue's timeout;
- a record reached when too little time is left goes back untried;
- with ``CLAUDE_ARCH_FUNCTION_IDEMPOTENCY`` set, a record delivered again after it was answered
  (its batch failed elsewhere, a visibility ran out) makes no second call and no second answer
  (:mod:`claude_arch.serverless.idempotency`, keyed by the record's ``messageId``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.decorators import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from claude_arch.core.types import Message
from claude_arch.errors import (
    APIStatusError,
    ClaudeArchError,
    InvalidRequestError,
    OverloadedError,
    RateLimitError,
)
from claude_arch.serverless.ask import answer_body, as_bad_request, ask_params
from claude_arch.serverless.aws_lambda.observability import PowertoolsMeter, logger, metrics
from claude_arch.serverless.aws_lambda.sqs_visibility import QueueVisibility
from claude_arch.serverless.config import FunctionConfig
from claude_arch.serverless.redelivery import redelivery_delay_s
from claude_arch.serverless.warm import (
    WarmClient,
    WarmOnceOnly,
    call_deadline,
    preload_if_ahead,
)

__all__ = [
    "AnswerSink",
    "HandedBack",
    "claude",
    "config",
    "handler",
    "log_answer",
    "make_handler",
    "once_only",
    "visibility",
]

AnswerSink = Callable[[SQSRecord, Message], None]

config = FunctionConfig.from_env()
# no retries inside the function: the queue redelivers, and waiting out a retry-after is billed
claude = WarmClient(meters=[PowertoolsMeter(metrics)], max_retries=0)
visibility = QueueVisibility()
once_only = WarmOnceOnly()
preload_if_ahead()  # SnapStart / provisioned concurrency: the imports go into the init


class HandedBack(Exception):
    """A record returned to the queue untried (throttled earlier in the batch)."""


def log_answer(record: SQSRecord, message: Message) -> None:
    """The default sink: one log line with the record's id and the answer."""
    logger.info("answered", extra={"message_id": record.message_id, "answer": answer_body(message)})


def make_handler(on_answer: AnswerSink = log_answer) -> Callable[[dict[str, Any], Any], Any]:
    """An SQS handler that hands each answer to ``on_answer``."""

    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        records = event.get("Records") if isinstance(event, dict) else None
        if not isinstance(records, list):
            raise InvalidRequestError("event: not an SQS event (no Records list)", field="event")
        throttled: list[APIStatusError] = []
        delays: list[tuple[str, str, str, int]] = []

        def hand_back(record: SQSRecord, seconds: int) -> None:
            arn, receipt = record.get("eventSourceARN"), record.get("receiptHandle")
            if arn and receipt:  # (a hand-made event may lack them: the queue's timeout then)
                delays.append((arn, record.message_id, receipt, seconds))

        def ask(record: SQSRecord) -> None:
            if throttled:
                hand_back(record, redelivery_delay_s(throttled[0]))
                raise HandedBack(f"handed back untried: {throttled[0].error_type} earlier")
            try:
                params = ask_params(record.body.encode(), config)
                params.pop("stream", None)  # a queued job's answer goes to the sink whole

                def work() -> dict[str, Any]:
                    message = claude.get().create(
                        **params, deadline=call_deadline(context, config.deadline_margin_s)
                    )
                    on_answer(record, message)
                    return answer_body(message)

                once = once_only.get()
                if once is None:
                    work()
                elif once.run(record.message_id, work, body=record.body, context=context).replayed:
                    logger.info("answered before", extra={"message_id": record.message_id})
            except (RateLimitError, OverloadedError) as exc:
                throttled.append(exc)
                hand_back(record, redelivery_delay_s(exc))
                _log_failure(record, exc)
                raise
            except InvalidRequestError as exc:
                _log_failure(record, as_bad_request(exc))
                raise
            except ClaudeArchError as exc:
                claude.refused(exc)
                _log_failure(record, exc)
                raise

        processor = BatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)
        result = process_partial_response(event, ask, processor, context)
        if delays:
            changed = visibility.delay(delays)
            logger.info(
                "handed back",
                extra={
                    "delays_s": {message_id: seconds for _, message_id, _, seconds in delays},
                    "visibility_changed": changed,
                },
            )
        return dict(result)

    return handler


def _log_failure(record: SQSRecord, exc: ClaudeArchError) -> None:
    logger.warning(
        "record failed",
        extra={
            "message_id": record.message_id,
            "status": exc.status,
            "error_type": exc.error_type,
            "field": getattr(exc, "field", None),
            "error": str(exc),
            "retry_after": getattr(exc, "retry_after", None),
        },
    )


handler = make_handler()
