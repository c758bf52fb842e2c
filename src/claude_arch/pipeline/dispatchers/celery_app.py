"""The ``celery`` dispatcher: a Celery app whose messages carry job ids, on Redis or RabbitMQ.

    claude-arch pipeline worker --broker redis://redis:6379/0 --concurrency 64 [--beat]
    claude-arch pipeline enqueue --run nightly      # publish the run's waiting jobs
    celery -A claude_arch.pipeline.dispatchers.celery_app worker --pool threads  # by hand

``run_job(job_id)`` leases that one job in the ledger, runs the job function the local dispatcher
runs (:mod:`claude_arch.pipeline.job`), and writes the outcome under its lease. A 429 or 529
re-queues the message with a countdown of the server's ``retry-after`` plus jitter, so no worker
slot sleeps; other outcomes are final in the ledger (``succeeded`` or ``dead``).

How the app is configured, and why:

- ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is acknowledged after its task
  ran, and a prefork child that dies hands its message back instead of acknowledging it; a
  worker that dies whole leaves its messages unacknowledged, so the broker redelivers them
  (RabbitMQ when the connection drops, Redis after the visibility timeout).
- ``worker_prefetch_multiplier=1``: a worker reserves no more messages than it has slots, so a
  killed worker strands few and an idle one is not starved by a busy one.
- the Redis ``visibility_timeout`` is derived from the hard time limit and the longest countdown
  (:attr:`PipelineSettings.visibility_timeout_s`, reasons in :mod:`claude_arch.pipeline.config`).
- the thread pool enforces no time limit, so the runtime bounds each call itself.
- ``reconcile`` (every ``reconcile_every_s`` when a worker runs with ``--beat``, or
  ``pipeline reconcile``) returns expired leases to the queue and re-publishes lost messages.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from claude_arch.pipeline.config import PipelineSettings
from claude_arch.pipeline.dispatchers.broker import (
    RECONCILE_TASK,
    RUN_JOB_TASK,
    celery_publisher,
    reconcile,
)

try:
    from celery import Celery  # type: ignore[import-untyped]
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the celery dispatcher needs Celery: pip install 'claude-arch[pipeline]'"
    ) from exc

__all__ = ["app", "make_app", "reconcile_once"]

logger = logging.getLogger("claude_arch.pipeline")

# Celery's own hard limit (enforced by prefork only) comes this long after the runtime's, which
# records a timed-out call as a retry first
_HARD_LIMIT_GRACE_S = 10


def make_app(config: PipelineSettings | None = None) -> Any:
    """A Celery app for ``config`` (default: from the environment) with the pipeline's tasks."""
    from claude_arch.settings import Settings

    config = config or PipelineSettings()
    data_dir = Settings().data_dir
    app = Celery("claude_arch.pipeline", broker=config.broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=int(config.time_limit_s) + _HARD_LIMIT_GRACE_S,
        broker_transport_options={"visibility_timeout": config.visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        # a lost broker connection cannot acknowledge anyway: the messages come back, and the
        # ledger's leases keep the jobs from being answered twice
        worker_cancel_long_running_tasks_on_connection_loss=True,
        task_default_queue=config.queue,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        # the --beat worker's record of when the reconciler last ran: beside the other state
        beat_schedule_filename=str(data_dir / "celerybeat-schedule"),
        beat_schedule={
            "claude-arch-pipeline-reconcile": {
                "task": RECONCILE_TASK,
                "schedule": config.reconcile_every_s,
                # a queue of its own, so a reconciliation never waits behind the backlog
                "options": {"queue": config.control_queue, "expires": config.reconcile_every_s},
            }
        },
    )

    def run_job(task: Any, job_id: int) -> str:
        from claude_arch.pipeline.dispatchers.worker_runtime import WorkerRuntime

        try:
            step = WorkerRuntime.for_process(config).handle(int(job_id))
        except Exception as exc:
            # the database or the loop failed: try the message again once a lease taken
            # before the failure has expired
            logger.exception("job %s: could not run it", job_id)
            raise task.retry(
                exc=exc, countdown=min(config.lease_s, config.max_countdown_s)
            ) from exc
        if step.countdown is not None:
            raise task.retry(countdown=step.countdown)
        return step.kind

    def reconcile_task(task: Any) -> dict[str, int]:
        done = reconcile_once(app, config)
        if done["reclaimed"] or done["republished"]:
            logger.info("reconciled: %s", done)
        return done

    app.task(
        name=RUN_JOB_TASK,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        max_retries=None,  # the ledger counts attempts; the message may come back any number
        ignore_result=True,
        shared=False,  # each app has its own tasks (the CLI makes one per broker)
    )(run_job)
    app.task(name=RECONCILE_TASK, bind=True, ignore_result=True, shared=False)(reconcile_task)
    return app


def reconcile_once(app: Any, config: PipelineSettings) -> dict[str, int]:
    """Queue expired leases again and re-publish stale waiting jobs through ``app``."""
    from claude_arch.pipeline.ledger import Ledger
    from claude_arch.settings import Settings

    async def main() -> dict[str, int]:
        ledger = await Ledger.open(Settings().sqlalchemy_url, table_name=config.table)
        try:
            done = await reconcile(
                ledger,
                celery_publisher(app, config.queue),
                stale_s=config.republish_after_s,
                max_countdown_s=config.max_countdown_s,
            )
        finally:
            await ledger.aclose()
        return {"reclaimed": done.reclaimed, "republished": done.republished}

    return asyncio.run(main())


app = make_app()
"""The app ``celery -A claude_arch.pipeline.dispatchers.celery_app`` loads (settings from the
environment)."""
