"""The app's URL converters: what a URL segment may hold before any view, or any query, sees it (else 404).

Werkzeug's `int` converter accepts any number of digits (Unicode digits too) and hands the view an int the
database cannot hold: a 30-digit user or facility id overflowed SQLite's integer and answered 500. Here an id is
ASCII digits in 1..MAX_ID. Its string converter (the default, used by every UUID id of the app) passes a NUL
character (`/cases/%00`) to the query, which PostgreSQL refuses with an error (500); here a segment with a control
character matches nothing. Replacing the converters for the whole map covers every rule, present and future.
"""

from __future__ import annotations

import re

from flask import Flask
from werkzeug.routing import BaseConverter, UnicodeConverter, ValidationError

from casemgmt.core.params import parse_id


class IdConverter(BaseConverter):
    regex = r"[0-9]+"
    weight = 50  # as werkzeug's IntegerConverter, so /users/new still wins over /users/<int:id> as before

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value) -> str:
        return str(int(value))


# C0 controls (NUL among them) and DEL: no id, slug or name in a URL of ours holds one.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class SegmentConverter(UnicodeConverter):
    def to_python(self, value: str) -> str:
        if _CONTROL.search(value):
            raise ValidationError()
        return value


def init_app(app: Flask) -> None:
    """Call before any blueprint is registered: a rule picks its converter class when it is added to the map."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["default"] = SegmentConverter
    app.url_map.converters["string"] = SegmentConverter
