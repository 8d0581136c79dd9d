"""Keyset ("seek") paging for the ops list: every page costs the same, however deep it is.

A page is fetched as "the next N rows after this row" in the list's sort order, which the indexes
serve as one range scan (`production/sorting.py`). Links carry an opaque cursor (the sort keys of a
boundary row) plus the page number for display; nothing is re-counted or skipped with OFFSET.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    BooleanField,
    DateField,
    DateTimeField,
    Expression,
    IntegerField,
    QuerySet,
    UUIDField,
    Value,
)

from production.sorting import SORTS, OrderSort, SortKey

# What a cursor may hold: real cursors are ~100 characters; keys are small ints (the database's
# integer range bounds them anyway), dates, aware datetimes and UUIDs.
MAX_CURSOR_LENGTH = 1000
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

_FIELDS = {
    "int": IntegerField,
    "date": DateField,
    "datetime": DateTimeField,
    "uuid": UUIDField,
}


class RowCompare(Expression):
    """`(a, b, c) < (x, y, z)`: one row-value comparison that a B-tree on (a, b, c) can seek."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, lhs: list, operator: str, rhs: list) -> None:
        if operator not in ("<", ">"):
            raise ValueError(operator)
        super().__init__()
        self.lhs, self.operator, self.rhs = list(lhs), operator, list(rhs)

    def get_source_expressions(self) -> list:
        return [*self.lhs, *self.rhs]

    def set_source_expressions(self, exprs: list) -> None:
        self.lhs, self.rhs = list(exprs[: len(self.lhs)]), list(exprs[len(self.lhs) :])

    def as_sql(self, compiler, connection) -> tuple[str, list]:
        sides, params = [], []
        for side in (self.lhs, self.rhs):
            parts = []
            for expression in side:
                sql, expression_params = compiler.compile(expression)
                parts.append(sql)
                params.extend(expression_params)
            sides.append(f"({', '.join(parts)})")
        return f"{sides[0]} {self.operator} {sides[1]}", params


def encode_cursor(sort_key: str, values: list[Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, dt.date | dt.datetime):
            return value.isoformat()
        if isinstance(value, uuid.UUID):
            return value.hex
        return value

    raw = json.dumps({"s": sort_key, "v": [plain(v) for v in values]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(sort_key: str, cursor: str) -> list[Any] | None:
    """The key values in `cursor`, or None when it is malformed or belongs to another sort."""
    sort = SORTS[sort_key]
    if len(cursor) > MAX_CURSOR_LENGTH:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if data.get("s") != sort_key or len(data["v"]) != len(sort.keys):
            return None
        return [_parse(key, value) for key, value in zip(sort.keys, data["v"], strict=True)]
    except (
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        OverflowError,
        RecursionError,
        binascii.Error,
    ):
        return None


def _parse(key: SortKey, value: Any) -> Any:
    """One key value of a cursor, or ValueError/TypeError/OverflowError when the database could
    not take it (a cursor is user input: it arrives in the URL)."""
    if key.kind == "int":
        if not isinstance(value, int) or isinstance(value, bool) or not INT_MIN <= value <= INT_MAX:
            raise ValueError(value)
        return value
    if key.kind == "date":
        return dt.date.fromisoformat(value)
    if key.kind == "datetime":
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError(value)
        parsed.astimezone(dt.UTC)  # year 1 or 9999 near the edge: OverflowError, not a DB error
        return parsed
    return uuid.UUID(hex=value)


@dataclass
class KeysetPage:
    rows: list
    number: int
    size: int
    sort_key: str
    has_previous: bool
    has_next: bool
    num_pages: int | None = None
    first_cursor: str | None = field(default=None, repr=False)
    last_cursor: str | None = field(default=None, repr=False)

    @property
    def is_last(self) -> bool:
        return not self.has_next


def paginate(
    queryset: QuerySet,
    *,
    sort_key: str,
    params: Mapping[str, str],
    size: int,
    total: int | None,
) -> KeysetPage:
    """The page `params` asks for: `after`/`before` a cursor, `last=1`, or the first page.

    `queryset` must already be ordered by `sort_key` (`production.filters.order_by_sort`).
    `total` (when known) numbers the last page and sizes it so pages line up with the first.
    """
    sort = SORTS[sort_key]
    num_pages = max(1, math.ceil(total / size)) if total is not None else None
    number = _page_number(params.get("page"))

    if params.get("last"):
        tail = (total % size or size) if total else size
        rows = list(queryset.reverse()[:tail])[::-1]
        number = num_pages or number
        page = KeysetPage(rows, number, size, sort_key, bool(total and total > tail), False)
    elif (values := _cursor(sort_key, params.get("before"))) is not None:
        earlier = "<" if not sort.descending else ">"
        rows = list(queryset.filter(_seek(sort, earlier, values)).reverse()[: size + 1])
        has_previous = len(rows) > size
        rows = rows[:size][::-1]
        if not has_previous:
            number = 1
        page = KeysetPage(rows, max(1, number), size, sort_key, has_previous, True)
    elif (values := _cursor(sort_key, params.get("after"))) is not None:
        later = ">" if not sort.descending else "<"
        rows = list(queryset.filter(_seek(sort, later, values))[: size + 1])
        page = KeysetPage(rows[:size], max(2, number), size, sort_key, True, len(rows) > size)
    else:
        rows = list(queryset[: size + 1])
        page = KeysetPage(rows[:size], 1, size, sort_key, False, len(rows) > size)

    page.num_pages = num_pages
    if page.rows:
        page.first_cursor = encode_cursor(sort_key, _values(sort, page.rows[0]))
        page.last_cursor = encode_cursor(sort_key, _values(sort, page.rows[-1]))
    else:
        page.has_next = False
    return page


def _page_number(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def _cursor(sort_key: str, raw: str | None) -> list[Any] | None:
    return decode_cursor(sort_key, raw) if raw else None


def _seek(sort: OrderSort, operator: str, values: list[Any]) -> RowCompare:
    lhs = [key.expression for key in sort.keys]
    rhs = [
        Value(value, output_field=_FIELDS[key.kind]())
        for key, value in zip(sort.keys, values, strict=True)
    ]
    return RowCompare(lhs, operator, rhs)


def _values(sort: OrderSort, row: Any) -> list[Any]:
    return [getattr(row, key.name) for key in sort.keys]
