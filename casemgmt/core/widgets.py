"""A <select> for long lists that do not change between requests (the world's countries in the user's language).

WTForms renders every <option> through its generic machinery on every page: the report filters' two country lists
(250 options each) took 15-20 ms of each report page. The result is the same for the same field, choices, selection
and attributes, so it is kept (per language, since the labels are part of the key) and WTForms renders it only the
first time."""

from __future__ import annotations

import threading
from collections import OrderedDict

from markupsafe import Markup
from wtforms.widgets import Select

# Bounded: a rendered country list is about 12 KB.
MAX_KEPT = 64


class LongSelect(Select):
    """A Select whose rendering is kept per distinct (field, choices, selection, attributes)."""

    def __init__(self):
        super().__init__(multiple=False)
        self._kept: OrderedDict[tuple, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, field, **kwargs):
        key = (
            field.id, field.name, tuple((str(value), str(label)) for value, label in field.choices),
            repr(field.data), tuple(sorted((name, str(value)) for name, value in kwargs.items())),
            tuple(name for name in self.validation_attrs if getattr(field.flags, name, False)),
        )
        with self._lock:
            html = self._kept.get(key)
            if html is not None:
                self._kept.move_to_end(key)
                return html
        html = super().__call__(field, **kwargs)
        with self._lock:
            self._kept[key] = html
            while len(self._kept) > MAX_KEPT:
                self._kept.popitem(last=False)
        return html
