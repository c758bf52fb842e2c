"""Export the service's keys (``claude-arch keys create``) for the edge: hashes, never secrets.

    claude-arch edge keys-export > edge-keys.json
    npx wrangler kv bulk put edge-keys.json --binding EDGE_KV --remote
    claude-arch edge keys-export --format env | npx wrangler secret put CLAUDE_ARCH_EDGE_KEYS

Each key becomes ``key:<id>`` → ``{"id", "name", "rpm", "revoked", "secret_hash"}`` with the salted
hash the service stores, so a secret made for the service works at the edge (a key made before
salting becomes ``key:<its plain SHA-256>`` without ``secret_hash``). Revoked keys are exported too
(``revoked: true``), so exporting again after ``claude-arch keys revoke`` overwrites their entries.
Runs under CPython only (SQLAlchemy, the service's database).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from claude_arch.edge.keys import KV_KEY_PREFIX, SALTED_PREFIX

__all__ = ["edge_records", "export_keys"]

ExportFormat = Literal["kv", "env"]


async def edge_records(database_url: str) -> dict[str, dict[str, Any]]:
    """Entry name → the edge's record, for every key in the service's ``service_keys`` table:
    the key's id and its salted hash, or, for a key made before salting, its plain SHA-256."""
    from sqlalchemy import select

    from claude_arch.core.sql import make_engine
    from claude_arch.service.tenancy.keys import KeyStore, keys_table

    engine = make_engine(database_url)
    try:
        await KeyStore(engine).init()
        async with engine.connect() as conn:
            rows = (await conn.execute(select(keys_table).order_by(keys_table.c.created_at))).all()
    finally:
        await engine.dispose()
    records: dict[str, dict[str, Any]] = {}
    for row in rows:
        record = {
            "id": row.id,
            "name": row.name,
            "rpm": row.rpm,
            "revoked": row.revoked_at is not None,
        }
        if row.secret_hash.startswith(SALTED_PREFIX):
            records[row.id] = {**record, "secret_hash": row.secret_hash}
        else:
            records[row.secret_hash] = record
    return records


def export_keys(records: dict[str, dict[str, Any]], fmt: ExportFormat = "kv") -> str:
    """The records as JSON for ``wrangler kv bulk put`` (``kv``) or for the secret (``env``).

    >>> record = {"id": "key_1", "name": "web", "rpm": 60, "revoked": False}
    >>> json.loads(export_keys({"ab12": record}))[0]["key"]
    'key:ab12'
    >>> json.loads(export_keys({"ab12": record}, "env"))["ab12"]["rpm"]
    60
    """
    if fmt == "env":
        return json.dumps(records)
    return json.dumps(
        [
            {"key": KV_KEY_PREFIX + digest, "value": json.dumps(rec)}
            for digest, rec in records.items()
        ]
    )
