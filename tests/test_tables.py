"""Tab-separated listings stay parseable whatever the cells hold: one line per row, one field
per column, the values back as they were (a tab or line break inside a cell becomes a space)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from claude_arch.tables import picked_table, tsv

cells = st.one_of(st.none(), st.integers(), st.text(max_size=20))


@given(st.integers(1, 6).flatmap(lambda n: st.lists(st.lists(cells, min_size=n, max_size=n))))
def test_every_row_is_one_line_with_one_field_per_column(rows: list[list[object]]) -> None:
    width = len(rows[0]) if rows else 1
    head = [f"c{i}" for i in range(width)]
    lines = tsv(head, rows).split("\n")
    assert lines.pop() == ""  # every line ended
    assert lines[0].split("\t") == head
    assert len(lines) == len(rows) + 1
    for line, row in zip(lines[1:], rows, strict=True):
        fields = line.split("\t")
        assert len(fields) == width
        for field, value in zip(fields, row, strict=True):
            expected = "" if value is None else str(value)
            for mark in "\t\r\n":
                expected = expected.replace(mark, " ")
            assert field == expected


def test_numbers_lose_their_thousands_separators_only_when_asked() -> None:
    assert tsv(None, [("1,234", 5)]) == "1,234\t5\n"
    assert tsv(None, [("1,234", 5)], numbers=True) == "1234\t5\n"


def test_a_picked_table_shows_the_named_columns_in_order() -> None:
    head = ("variant", "p50", "p99", "cost")
    table = picked_table(head, ("variant", "p99"), [(("service", "1", "2", "3"), "dim")])
    assert [c.header for c in table.columns] == ["variant", "p99"]
    assert [list(c.cells) for c in table.columns] == [["service"], ["2"]]
    assert [c.justify for c in table.columns] == ["left", "right"]
