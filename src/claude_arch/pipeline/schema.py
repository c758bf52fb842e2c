"""The ledger's tables: one row per job, keyed by its idempotency key, and one per Message
Batch that batch mode records before creating it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = ["batches_table", "caps_tables", "jobs_table"]


def jobs_table(name: str = "pipeline_jobs") -> Table:
    """The jobs table called ``name``, in a metadata of its own (tests use unique names)."""
    return Table(
        name,
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("key", String(128), nullable=False, unique=True),
        Column("run", String(200), nullable=False),
        Column("source", Text, nullable=False),  # the input: "docs/a.txt", "reqs.jsonl:12"
        Column("template", String(200), nullable=True),
        Column("model", String(100), nullable=False),
        Column("request", JSON, nullable=False),  # the Messages params, rendered at submit
        Column("status", String(16), nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("max_attempts", Integer, nullable=False),
        Column("not_before", Float, nullable=False, default=0.0),
        Column("lease_owner", String(200), nullable=True),
        Column("lease_token", String(240), nullable=True),
        Column("lease_expires", Float, nullable=True),
        Column("result", Text, nullable=True),
        Column("response", JSON, nullable=True),
        Column("usage", JSON, nullable=True),
        Column("input_tokens", Integer, nullable=False, default=0),
        Column("output_tokens", Integer, nullable=False, default=0),
        Column("cost_usd", Float, nullable=False, default=0.0),
        Column("last_error", Text, nullable=True),
        Column("created_at", Float, nullable=False),
        Column("updated_at", Float, nullable=False),
        Column("finished_at", Float, nullable=True),
        Index(f"ix_{name}_due", "status", "not_before"),
        Index(f"ix_{name}_run", "run", "status"),
        Index(f"ix_{name}_token", "lease_token"),
    )


def batches_table(jobs_table_name: str = "pipeline_jobs") -> Table:
    """The batch mode's table beside the jobs table ``jobs_table_name`` (``<name>_batches``)."""
    name = f"{jobs_table_name}_batches"
    return Table(
        name,
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),  # the batch's local id
        Column("token", String(32), nullable=False, unique=True),  # every custom_id's prefix
        Column("run", String(200), nullable=True),  # the run it took jobs of (None: any)
        Column("state", String(16), nullable=False),
        Column("api_id", String(200), nullable=True, unique=True),  # msgbatch_…, once known
        Column("job_ids", JSON, nullable=False),  # the request set, in custom_id order
        Column("requests", Integer, nullable=False),
        Column("body_bytes", Integer, nullable=False),
        Column("worst_case_usd", Float, nullable=False, default=0.0),
        Column("uncertain", Boolean, nullable=False, default=False),  # a create may have landed
        Column("create_attempts", Integer, nullable=False, default=0),
        Column("owner", String(200), nullable=True),
        Column("lease_expires", Float, nullable=True),
        Column("next_check_at", Float, nullable=False, default=0.0),
        Column("checks", Integer, nullable=False, default=0),
        Column("request_counts", JSON, nullable=True),  # as the API last reported them
        Column("succeeded", Integer, nullable=False, default=0),
        Column("retried", Integer, nullable=False, default=0),
        Column("dead", Integer, nullable=False, default=0),
        Column("cost_usd", Float, nullable=False, default=0.0),
        Column("last_error", Text, nullable=True),
        Column("created_at", Float, nullable=False),
        Column("updated_at", Float, nullable=False),
        Column("ended_at", Float, nullable=True),
        Index(f"ix_{name}_open", "state", "run"),
    )


def caps_tables(jobs_table_name: str = "pipeline_jobs") -> tuple[Table, Table]:
    """The spending caps beside the jobs table ``jobs_table_name``: ``<name>_caps`` (a cap per
    run) and ``<name>_cap_holds`` (what each call in flight may cost at most, by job and lease
    token)."""
    metadata = MetaData()
    caps = Table(
        f"{jobs_table_name}_caps",
        metadata,
        Column("run", String(200), primary_key=True),
        Column("max_cost_usd", Float, nullable=False),
        Column("updated_at", Float, nullable=False),
    )
    holds = Table(
        f"{jobs_table_name}_cap_holds",
        metadata,
        Column("job_id", Integer, primary_key=True),
        Column("lease_token", String(240), primary_key=True),
        Column("run", String(200), nullable=False),
        Column("usd", Float, nullable=False),
        Column("created_at", Float, nullable=False),
        Index(f"ix_{jobs_table_name}_cap_holds_run", "run"),
    )
    return caps, holds
