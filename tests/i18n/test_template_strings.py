"""No user-facing text in a template escapes gettext: every word a user reads is in the catalogs, so no page shows
English to a French, Portuguese or Haitian Creole reader.

The check reads each template with Jinja's own lexer: the text between tags, the user-facing attributes (title, alt,
placeholder, aria-label, data-confirm...) and quoted strings printed by {{ ... }} must hold no word outside a gettext
call. Product names and codes that are the same in every language are allowed (ALLOWED).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import Environment

import casemgmt

TEMPLATES = Path(casemgmt.__file__).resolve().parent / "templates"
GETTEXT_CALLS = {"_", "gettext", "ngettext", "pgettext", "npgettext", "lazy_gettext"}
# Attributes that people read (or hear, through a screen reader).
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "aria-description", "aria-roledescription",
                   "data-confirm", "label"}
# The same in every language: the product, file formats, standards, units that are symbols.
ALLOWED = re.compile(r"^(casemgmt|CSV|XLSX|PDF|PNG|JPEG|JSON|HTCDS|ISO|UTC|TOTP|URL|IOM|[A-Z]{1,3}\d*)$")
WORD = re.compile(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'\u2019-]+")  # apostrophes, straight and typographic
MARK = "\x00"  # where a {{ ... }} expression was: its value is not literal text

_env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)  # only its lexer is used


def _words(text: str) -> list[str]:
    return [w for w in WORD.findall(text.replace(MARK, " ")) if not ALLOWED.match(w)]


def _reads_as_text(literal: str) -> bool:
    """A quoted string that reads as words: two words or more, one of them capitalised like a sentence's start
    ("Not assigned yet"). CSS classes ("form-control mb-2") and date patterns ("yyyy-MM-dd HH:mm") do not."""
    words = _words(literal)
    return len(words) >= 2 and any(re.fullmatch(r"[A-Z][a-zà-ÿ]+", w) for w in words)


def _lex(source: str) -> tuple[str, list[tuple[int, str]]]:
    """The template's HTML with each {{ ... }} replaced by MARK, and the quoted strings that {{ ... }} or {% ... %}
    print outside a gettext call (those with a space: single words are endpoints, classes and keys)."""
    html, strings = [], []
    calls: list[str | None] = []  # the function each open parenthesis belongs to
    previous_name = None
    in_variable = False
    for lineno, kind, value in _env.lex(source):
        if kind == "data":
            html.append(value)
        elif kind == "variable_begin":
            html.append(MARK)
            in_variable, calls = True, []
        elif kind == "variable_end":
            in_variable = False
        elif kind == "name":
            previous_name = value
            continue
        elif kind == "operator" and value == "(":
            calls.append(previous_name)
        elif kind == "operator" and value == ")" and calls:
            calls.pop()
        elif (kind == "string" and in_variable and _reads_as_text(value)
              and not any(call in GETTEXT_CALLS for call in calls)):
            strings.append((lineno, value))
        previous_name = None
    return "".join(html), strings


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value and _words(value):
                self.found.append(f"{tag}@{name}: {value.replace(MARK, '{{…}}')!r}")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        # A macro that returns an attribute (name='{{ ... }}') is markup, not text.
        if re.fullmatch(r"\s*[\w-]+=(['\"]).*\1\s*", data, re.S):
            return
        if not self._skip and _words(data):
            self.found.append(f"text: {' '.join(data.replace(MARK, '{{…}}').split())!r}")


def literal_text(path: Path) -> list[str]:
    html, strings = _lex(path.read_text(encoding="utf-8"))
    parser = _Text()
    parser.feed(html)
    return parser.found + [f"line {line}: printed string {text!r}" for line, text in strings]


def test_the_scan_finds_text_outside_gettext(tmp_path):
    """The check itself: each kind of escape is caught, and translated text is not."""
    sample = tmp_path / "sample.html"
    sample.write_text(
        "<p>{{ _('Fine') }} Cases waiting</p>\n<input placeholder=\"Search cases\" title=\"{{ _('Fine') }}\">\n"
        "{{ 'Not assigned yet' if x }} {{ _('Age: %(a)s', a=y) }} <span>{{ n }} KiB</span> casemgmt CSV\n",
        encoding="utf-8",
    )
    found = "\n".join(literal_text(sample))
    assert "Cases waiting" in found
    assert "Search cases" in found
    assert "Not assigned yet" in found
    assert "KiB" in found
    assert "Fine" not in found and "Age" not in found and "casemgmt" not in found


@pytest.mark.parametrize("path", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_has_no_text_outside_gettext(path):
    found = literal_text(path)
    assert not found, f"{path.relative_to(TEMPLATES)} shows text that is not translated:\n" + "\n".join(found)
