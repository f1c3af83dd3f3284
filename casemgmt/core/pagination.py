"""One pagination helper for every list page, so the page/offset arithmetic lives in one place."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select

from casemgmt.core import params
from casemgmt.extensions import db


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def requested_page() -> int:
    """The ?page= argument; the first page for anything that is not a plain number in 1..MAX_ID, so the offset
    stays an integer the database holds (page_window turns a page beyond the end into the last page)."""
    return params.int_arg("page", minimum=1) or 1


def page_window(total: int, per_page: int, page: int | None = None) -> tuple[int, int]:
    """(page, offset) for the requested page, the last page when it asks beyond the end."""
    page = page or requested_page()
    page = min(page, max(1, -(-total // per_page)))
    return page, (page - 1) * per_page


def paginate(query: Select, per_page: int, page: int | None = None, scalars: bool = True) -> Page:
    """Count with one query and fetch one page with another, whatever the table size."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page, offset = page_window(total, per_page, page)
    result = db.session.execute(query.limit(per_page).offset(offset))
    items = list(result.scalars() if scalars else result)
    return Page(items=items, page=page, per_page=per_page, total=total)
