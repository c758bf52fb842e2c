"""The ledger's table: one row per job, keyed by its idempotency key."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, Index, Integer, MetaData, String, Table, Text

__all__ = ["jobs_table"]


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
