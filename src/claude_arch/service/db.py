"""The service's tables (keys, sessions, batches) share this metadata; the engine set-up is
:mod:`claude_arch.core.sql`, shared with the pipeline."""

from __future__ import annotations

from sqlalchemy import MetaData

__all__ = ["metadata"]

metadata = MetaData()
"""Every table of the service lives here; :func:`claude_arch.core.sql.create_tables` makes what
is missing."""
