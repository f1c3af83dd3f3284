"""User-supplied numbers and query strings, parsed one way everywhere.

`str.isdigit()` and `int()` accept more than ASCII digits ("²".isdigit() is true but int("²") fails; int("٣") is 3),
and `int()` accepts any length, while SQLite and PostgreSQL integers stop at 2^63 - 1 (a 30-digit id raised
OverflowError inside the driver). So a number from the outside is ASCII digits only, and bounded: ids lie in
1..MAX_ID, which every backend (and JSON) holds exactly.
"""

from __future__ import annotations

import re

from flask import Flask, request
from werkzeug.exceptions import BadRequest

# 2^53: the largest integer JSON and JavaScript carry exactly, far beyond any table, within both backends' BIGINT.
MAX_ID = 2**53

_DIGITS = re.compile(r"[0-9]{1,16}")


def parse_int(text: object, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """The integer `text` spells in ASCII digits, when it lies in minimum..maximum; None for anything else."""
    if not isinstance(text, str) or _DIGITS.fullmatch(text) is None:
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def parse_id(text: object) -> int | None:
    """A database id (1..MAX_ID), or None."""
    return parse_int(text, minimum=1)


def optional_id(value: object) -> int | None:
    """A select's id, typed (an int set by the code) or posted (a string): WTForms' coerce for id choices whose blank
    means none."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 1 <= value <= MAX_ID else None
    return parse_id(value)


def int_arg(name: str, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """An integer query argument of the current request, or None when it is absent or not a valid number."""
    return parse_int(request.args.get(name), minimum, maximum)


def query_is_utf8() -> bool:
    try:
        request.query_string.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def full_path_or_path() -> str:
    """request.full_path, which raises on a query string that is not UTF-8; then the bare path (for `next` links)."""
    return request.full_path if query_is_utf8() else request.path


def _reject_undecodable_query() -> None:
    # Werkzeug decodes request.args with replacement characters, but request.full_path decodes strictly, and every
    # page's language switcher reads it: a raw byte such as 0xFF made every page (the error page too) fail. And
    # PostgreSQL refuses a NUL character in any text it is given (an error, so a 500). No link of ours makes either.
    if not query_is_utf8() or any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        raise BadRequest()


def init_app(app: Flask) -> None:
    """Register before the access guard, so a malformed query string is refused before anything reads it."""
    app.before_request(_reject_undecodable_query)
    # The language switcher's `next` is on every page, the 400 page for that very query string too.
    app.jinja_env.globals["current_path"] = full_path_or_path
