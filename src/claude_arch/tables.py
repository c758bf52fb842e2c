"""Listings for people and for pipes: every command that prints rows shows a rich table on a
terminal (narrow terminals get fewer columns, named) and tab-separated lines when piped, for
``cut``, ``awk`` and ``sort``.

    >>> tsv(("model", "input"), [("claude-haiku-5-5", "1,000"), (None, "a\\tb")])
    'model\\tinput\\nclaude-haiku-5-5\\t1,000\\n\\ta b\\n'
    >>> tsv(None, [("rpm", "1,200")], numbers=True)
    'rpm\\t1200\\n'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["picked_table", "tsv"]


def _cell(value: object, numbers: bool) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return text.replace(",", "") if numbers else text


def tsv(
    head: Sequence[str] | None, rows: Iterable[Sequence[object]], *, numbers: bool = False
) -> str:
    """``head`` (none when None) and one line per row, tab-separated, each line ended: a
    missing value is empty, a tab or line break inside a cell a space; ``numbers``: thousands
    separators dropped (``1,234`` → ``1234``)."""
    lines = [] if head is None else ["\t".join(head)]
    lines += ["\t".join(_cell(value, numbers) for value in row) for row in rows]
    return "".join(line + "\n" for line in lines)


def picked_table(
    head: Sequence[str],
    shown: Sequence[str],
    rows: Iterable[tuple[Sequence[str], str | None]],
    **options: Any,
) -> Table:
    """A rich table of the columns ``shown`` (names from ``head``, in their order there) of
    ``rows`` (each its cells in ``head``'s order and a style, or None); the first column left,
    the others right-aligned, none wrapped. ``options`` go to ``Table``."""
    from rich.table import Table

    keep = [head.index(name) for name in shown]
    table = Table(**options)
    for i, name in enumerate(shown):
        table.add_column(name, justify="left" if i == 0 else "right", no_wrap=True)
    for cells, style in rows:
        table.add_row(*(cells[i] for i in keep), style=style)
    return table
