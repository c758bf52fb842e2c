"""Powertools' idempotency records in a SQL table (PostgreSQL, or SQLite on a shared file system).

    SqlPersistenceLayer("postgresql://app@db/claude")   # table claude_arch_idempotency

The same contract as Powertools' DynamoDB and Redis layers: saving an ``INPROGRESS`` record
succeeds only when no record holds the key, or the one that does has expired, or it is an
``INPROGRESS`` record whose invocation's time ran out. That check and the write are one
``INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING`` statement, so two deliveries racing for
one key cannot both win. Blocking (SQLAlchemy's sync engine: ``psycopg`` for PostgreSQL, the
standard library's ``sqlite3``), as a handler is; the engine and its pool live as long as the
execution environment.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import (
    STATUS_CONSTANTS,
    DataRecord,
)
from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text, create_engine, or_
from sqlalchemy.engine import Engine

__all__ = ["TABLE_NAME", "SqlPersistenceLayer", "sync_url"]

TABLE_NAME = "claude_arch_idempotency"

_metadata = MetaData()
_table = Table(
    TABLE_NAME,
    _metadata,
    Column("id", String(512), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("expiration", BigInteger, nullable=False),  # seconds since the epoch
    Column("in_progress_expiration", BigInteger, nullable=True),  # milliseconds
    Column("data", Text, nullable=True),
    Column("validation", String(128), nullable=True),
)


def sync_url(url: str) -> str:
    """``url`` with a blocking driver when it names none.

    >>> sync_url("postgresql://app@db/claude")
    'postgresql+psycopg://app@db/claude'
    >>> sync_url("sqlite:////mnt/efs/once.db")
    'sqlite:////mnt/efs/once.db'
    """
    scheme, _, rest = url.partition("://")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return url


class SqlPersistenceLayer(BasePersistenceLayer):
    """Idempotency records in the ``claude_arch_idempotency`` table of ``url``."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.engine = engine or create_engine(sync_url(url), pool_pre_ping=True)
        self.table = _table
        _metadata.create_all(self.engine, checkfirst=True)

    def close(self) -> None:
        """Close the engine's pooled connections."""
        self.engine.dispose()

    def _insert(self) -> Any:
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(self.table)
        if self.engine.dialect.name == "sqlite":
            from sqlalchemy.dialects import sqlite

            return sqlite.insert(self.table)
        raise NotImplementedError(self.engine.dialect.name)  # only the two are offered

    def _put_record(self, data_record: DataRecord) -> None:
        now_ms = int(time.time() * 1000)
        now_s = now_ms // 1000
        row = {
            "id": data_record.idempotency_key,
            "status": data_record.status,
            "expiration": data_record.expiry_timestamp or now_s,
            "in_progress_expiration": data_record.in_progress_expiry_timestamp,
            "data": None,
            "validation": data_record.payload_hash if self.payload_validation_enabled else None,
        }
        t = self.table
        insert = self._insert().values(**row)
        statement = insert.on_conflict_do_update(
            index_elements=[t.c.id],
            set_={name: insert.excluded[name] for name in row if name != "id"},
            where=or_(
                t.c.expiration < now_s,
                (t.c.status == STATUS_CONSTANTS["INPROGRESS"])
                & t.c.in_progress_expiration.is_not(None)
                & (t.c.in_progress_expiration < now_ms),
            ),
        ).returning(t.c.id)
        with self.engine.begin() as conn:
            # a row comes back when the insert or the update happened (rowcount is -1 with
            # some drivers for an upsert)
            taken = conn.execute(statement).first() is not None
        if not taken:
            # Powertools then reads the record through get_record, which checks the body's hash
            raise IdempotencyItemAlreadyExistsError(
                f"an unexpired record holds {data_record.idempotency_key}"
            )

    def _get_record(self, idempotency_key: str) -> DataRecord:
        t = self.table
        with self.engine.connect() as conn:
            row = conn.execute(t.select().where(t.c.id == idempotency_key)).mappings().first()
        if row is None:
            raise IdempotencyItemNotFoundError
        return DataRecord(
            idempotency_key=row["id"],
            status=row["status"],
            expiry_timestamp=row["expiration"],
            in_progress_expiry_timestamp=row["in_progress_expiration"],
            response_data=row["data"] or "",
            payload_hash=row["validation"] or "",
        )

    def _update_record(self, data_record: DataRecord) -> None:
        t = self.table
        with self.engine.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.id == data_record.idempotency_key)
                .values(
                    status=data_record.status,
                    expiration=data_record.expiry_timestamp,
                    data=data_record.response_data,
                )
            )

    def _delete_record(self, data_record: DataRecord) -> None:
        t = self.table
        with self.engine.begin() as conn:
            conn.execute(t.delete().where(t.c.id == data_record.idempotency_key))
