"""The job function: one Messages call for one leased job, and what the ledger should record.

Every dispatcher runs this same function. The client is built with ``max_retries=0`` (see
:func:`pipeline_client`): the ledger, not the client, owns retries, so each upstream attempt is
one lease, counted in ``attempts``, and a 429 or 529 frees the worker slot while the job waits
out the server's ``retry-after``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from claude_arch.core.retry import RetryPolicy
from claude_arch.errors import APIStatusError, ClaudeArchError
from claude_arch.pipeline.jobs import Completion, Job

if TYPE_CHECKING:
    from claude_arch.core.client import ClaudeClient
    from claude_arch.pipeline.config import PipelineSettings
    from claude_arch.pipeline.ledger import Ledger
    from claude_arch.settings import Settings

__all__ = ["Outcome", "execute", "pipeline_client", "record"]

_POLICY = RetryPolicy(initial_delay=1.0, max_delay=60.0)


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt: ``done`` (with ``completion``), ``retry`` after ``after_s``
    seconds, or ``dead``; ``error`` says why it did not succeed."""

    kind: Literal["done", "retry", "dead"]
    completion: Completion | None = None
    after_s: float = 0.0
    error: str | None = None


def pipeline_client(
    settings: Settings | None = None, config: PipelineSettings | None = None
) -> ClaudeClient:
    """The client a dispatcher shares between its jobs: the settings' limiter (Redis when
    ``CLAUDE_ARCH_REDIS_URL`` is set), no retries of its own, and the router of ``model:
    "auto"`` jobs (``config``'s policy and classifier; each job is routed on its own)."""
    from claude_arch.core.client import ClaudeClient
    from claude_arch.core.routing.building import router_for
    from claude_arch.pipeline.config import PipelineSettings
    from claude_arch.settings import Settings

    settings = settings or Settings()
    config = config or PipelineSettings()
    router = router_for(config.routing_policy, config.routing_classifier, settings)
    # the router is made for this client alone: closing the client closes it too (the llm
    # classifier's own client, the breakers' Redis pool)
    return ClaudeClient(settings, max_retries=0, router=router, owns_router=True)


async def execute(client: ClaudeClient, job: Job, *, policy: RetryPolicy = _POLICY) -> Outcome:
    """Send the job's request once (the client waits for the rate limiter first)."""
    try:
        message = await client.create(**job.request)
    except ClaudeArchError as exc:
        error = describe(exc)
        if job.attempts < job.max_attempts and policy.is_retryable(exc):
            return Outcome("retry", after_s=policy.delay_for(exc, job.attempts - 1), error=error)
        return Outcome("dead", error=error)
    record = message.record
    done = Completion(
        text=message.text,
        response=message.to_dict(),
        usage=message.usage.to_dict(),
        cost_usd=float(record.cost_usd) if record is not None else 0.0,
    )
    return Outcome("done", completion=done)


async def record(ledger: Ledger, job: Job, outcome: Outcome) -> bool:
    """Write the outcome to the ledger; False when the lease was lost (nothing written)."""
    if outcome.kind == "done" and outcome.completion is not None:
        return await ledger.complete(job, outcome.completion)
    if outcome.kind == "retry":
        return await ledger.retry(job, after_s=outcome.after_s, error=outcome.error or "")
    return await ledger.fail(job, error=outcome.error or "failed")


def describe(exc: ClaudeArchError) -> str:
    """One line for the ledger: status, error type, message, request id."""
    detail = {
        "status": exc.status,
        "type": exc.error_type,
        "message": str(exc),
        "request_id": getattr(exc, "request_id", None),
    }
    if isinstance(exc, APIStatusError) and exc.retry_after is not None:
        detail["retry_after"] = exc.retry_after
    return json.dumps(detail, default=str)
