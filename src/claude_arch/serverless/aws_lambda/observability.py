"""Powertools Logger and Metrics for the Lambda handlers, and a meter that feeds the metrics.

Logs, the client's included, are one JSON object a line with the Lambda request id and
``cold_start``; every Claude call
adds CloudWatch metrics (EMF, flushed when the invocation ends) through :class:`PowertoolsMeter`.
Tracing comes from the client's OpenTelemetry spans (``claude-arch[otel]``) rather than the
Powertools Tracer, whose X-Ray SDK would load botocore on every cold start.

Set ``POWERTOOLS_SERVICE_NAME`` and ``POWERTOOLS_METRICS_NAMESPACE`` to name them;
``POWERTOOLS_LOG_LEVEL`` sets the level.
"""

from __future__ import annotations

import logging
import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from claude_arch.core.types import UsageRecord

__all__ = ["PowertoolsMeter", "logger", "metrics"]

_SERVICE = "claude-arch"

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", _SERVICE))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", _SERVICE))

if os.environ.get("AWS_LAMBDA_RUNTIME_API"):
    # Inside a Lambda runtime only (its runtime client sets the variable): the client's own log
    # lines (retries, deprecations) come out as the same JSON, request id included. Anywhere
    # else (a test run, a docs build importing the module) the process's logging is left alone:
    # this gives the "claude_arch" loggers a handler of their own and stops their propagation.
    logging.getLogger("claude_arch")
    copy_config_to_registered_loggers(source_logger=logger, include={"claude_arch"})


class PowertoolsMeter:
    """A client meter: each usage record becomes CloudWatch metrics of this invocation.

    claude = SyncClaudeClient(meters=[PowertoolsMeter(metrics)])
    """

    def __init__(self, sink: Metrics) -> None:
        self.sink = sink

    def record(self, record: UsageRecord) -> None:
        add = self.sink.add_metric
        add(name="ClaudeCalls", unit=MetricUnit.Count, value=1)
        add(name="InputTokens", unit=MetricUnit.Count, value=record.usage.input_tokens)
        add(name="OutputTokens", unit=MetricUnit.Count, value=record.usage.output_tokens)
        add(name="CostUSD", unit=MetricUnit.NoUnit, value=float(record.cost_usd))
        add(name="ClaudeLatency", unit=MetricUnit.Milliseconds, value=record.latency_s * 1000)
        if record.attempts > 1:
            add(name="Retries", unit=MetricUnit.Count, value=record.attempts - 1)
        if record.status in (429, 529):
            add(name="Throttled", unit=MetricUnit.Count, value=1)
        elif record.error_type is not None:
            add(name="ClaudeErrors", unit=MetricUnit.Count, value=1)
