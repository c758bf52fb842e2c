"""``claude_arch.core.wire.paging``: the cursor paging both the emulator and the gateway use."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_arch.core.wire.paging import DEFAULT_LIMIT, MAX_LIMIT, page, page_body, parse_limit
from claude_arch.errors import InvalidRequestError, NotFoundError

ids_lists = st.lists(st.text(min_size=1, max_size=6), unique=True, max_size=40)


@given(ids=ids_lists, limit=st.integers(1, 12))
def test_following_last_id_visits_every_item_once_in_order(ids: list[str], limit: int) -> None:
    seen: list[str] = []
    chosen, more = page(ids, str, limit=limit)
    seen += chosen
    while more:
        body = page_body([{"id": i} for i in chosen], more)
        chosen, more = page(ids, str, limit=str(limit), after_id=body["last_id"])
        assert chosen  # a page that says more follows is never empty
        seen += chosen
    assert seen == ids


@given(ids=ids_lists.filter(bool), limit=st.integers(1, 12))
def test_following_first_id_backwards_visits_every_earlier_item_once(
    ids: list[str], limit: int
) -> None:
    pages: list[list[str]] = []
    chosen, more = page(ids, str, limit=limit, before_id=ids[-1])
    pages.append(chosen)
    while more:
        chosen, more = page(ids, str, limit=limit, before_id=chosen[0])
        pages.append(chosen)
    assert [i for p in reversed(pages) for i in p] == ids[:-1]
    assert all(len(p) == limit for p in pages[:-1])


def test_the_limit_defaults_to_20_and_ranges_from_1_to_1000() -> None:
    assert parse_limit(None) == DEFAULT_LIMIT == 20
    assert (parse_limit("1"), parse_limit(str(MAX_LIMIT)), parse_limit(7)) == (1, 1000, 7)
    for bad in ("0", "1001", "-1", "abc", "", "1.5", 0, 1001):
        with pytest.raises(InvalidRequestError) as info:
            parse_limit(bad)
        assert (info.value.status, info.value.field) == (400, "limit")
        assert info.value.message.startswith("limit: ")


def test_cursor_errors_name_their_field() -> None:
    with pytest.raises(InvalidRequestError) as both:
        page(["a", "b"], str, before_id="a", after_id="b")
    assert (both.value.status, both.value.field) == (400, "before_id")
    for field in ("before_id", "after_id"):
        with pytest.raises(NotFoundError) as missing:
            page(["a"], str, **{field: "zz"})
        assert missing.value.status == 404
        assert missing.value.message.startswith(f"{field}: ")


def test_an_empty_page_has_null_first_and_last_ids() -> None:
    assert page(["a"], str, after_id="a") == ([], False)
    assert page_body([], False) == {
        "data": [],
        "has_more": False,
        "first_id": None,
        "last_id": None,
    }
