"""The pipeline's settings: the ledger's table, the broker, and the Celery dispatcher's timings.

    >>> s = PipelineSettings(_env_file=None, broker_url="redis://q:6379/0", time_limit_s=600,
    ...                      max_countdown_s=300)
    >>> s.visibility_timeout_s
    960

Read from the environment (``CLAUDE_ARCH_BROKER_URL``, ``CLAUDE_ARCH_PIPELINE_*``); everything
else (database, Redis limiter, API key) comes from :class:`claude_arch.settings.Settings`.

Why the visibility timeout is derived from the time limit: on Redis (and SQS) a message that is
not acknowledged within the visibility timeout is handed to another worker. Tasks acknowledge
late (after they ran), and a worker holds a re-queued job's message unacknowledged until its
countdown is over, so a timeout shorter than ``countdown + run time`` would redeliver tasks that
are still waiting or running, every timeout, forever. The task's hard time limit bounds the run
time and ``max_countdown_s`` bounds the countdown, so the timeout is their sum plus a margin.
"""

from __future__ import annotations

import math
import os
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from claude_arch.constants import ENV_PREFIX
from claude_arch.settings import SettingsBase

__all__ = ["DEFAULT_BROKER_URL", "PipelineSettings"]

DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"
VISIBILITY_MARGIN_S = 60


class PipelineSettings(SettingsBase):
    """Knobs of the pipeline's dispatchers, each with the environment variable that sets it."""

    model_config = SettingsConfigDict(
        env_prefix=f"{ENV_PREFIX}PIPELINE_",
        env_file=None,
        extra="ignore",
        populate_by_name=True,
        hide_input_in_errors=True,
    )

    table: str = Field(
        default="pipeline_jobs", description="CLAUDE_ARCH_PIPELINE_TABLE: the ledger's table."
    )
    broker_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("broker_url", f"{ENV_PREFIX}BROKER_URL"),
        description="CLAUDE_ARCH_BROKER_URL: redis://… or amqp://… for the celery dispatcher "
        "(default: CLAUDE_ARCH_REDIS_URL, else Redis on localhost).",
    )
    queue: str = Field(
        default="claude-arch-pipeline",
        description="CLAUDE_ARCH_PIPELINE_QUEUE: the broker queue job messages go to.",
    )
    time_limit_s: float = Field(
        default=900.0,
        gt=1,
        description="CLAUDE_ARCH_PIPELINE_TIME_LIMIT_S: hard limit of one task (waiting for the "
        "rate limiter, then the call); keep it above the client's timeout.",
    )
    lease_s: float = Field(
        default=60.0,
        gt=0,
        description="CLAUDE_ARCH_PIPELINE_LEASE_S: a job's lease, renewed every third of it "
        "while its call runs; a dead worker's jobs are free again after it.",
    )
    max_countdown_s: float = Field(
        default=300.0,
        gt=0,
        description="CLAUDE_ARCH_PIPELINE_MAX_COUNTDOWN_S: the longest a re-queued message "
        "waits; a longer retry-after is waited out in several hops.",
    )
    reconcile_every_s: float = Field(
        default=30.0, gt=0, description="CLAUDE_ARCH_PIPELINE_RECONCILE_EVERY_S: beat period."
    )
    routing_policy: str = Field(
        default="default",
        description="CLAUDE_ARCH_PIPELINE_ROUTING_POLICY: the policy jobs submitted with "
        "--model auto are routed by, each on its own ('default', 'seed-intents' or a YAML file).",
    )
    routing_classifier: Literal["rules", "llm", "embedding"] = Field(
        default="rules",
        description="CLAUDE_ARCH_PIPELINE_ROUTING_CLASSIFIER: what decides when no rule is sure "
        "enough: 'rules', 'llm' (the policy's classifier model) or 'embedding' (local MiniLM).",
    )
    stale_s: float | None = Field(
        default=None,
        description="CLAUDE_ARCH_PIPELINE_STALE_S: a waiting job untouched this long is "
        "published again by the reconciler (default: the visibility timeout).",
    )

    @property
    def broker(self) -> str:
        """The broker URL in use."""
        return self.broker_url or os.environ.get(f"{ENV_PREFIX}REDIS_URL") or DEFAULT_BROKER_URL

    @property
    def control_queue(self) -> str:
        """The queue of the reconciler's task (every worker consumes it beside :attr:`queue`)."""
        return f"{self.queue}-control"

    @property
    def visibility_timeout_s(self) -> int:
        """Seconds before Redis hands an unacknowledged message to another worker: longer than
        the longest countdown plus the hard time limit (see the module's docstring)."""
        return math.ceil(self.time_limit_s + self.max_countdown_s) + VISIBILITY_MARGIN_S

    @property
    def republish_after_s(self) -> float:
        """How long a waiting job goes untouched before the reconciler publishes it again."""
        return self.stale_s if self.stale_s is not None else float(self.visibility_timeout_s)
