"""Issue 16, "Done means": a crawl as every demo role in every language finds no untranslated string.

The test client crawls the pages each demo role reaches (tests/crawl.py) in Spanish, French, Portuguese and Haitian
Creole, and looks in each page's visible text (text and the labels a screen reader reads: title, aria-label,
placeholder, alt) for English messages of the catalog (casemgmt/translations/messages.pot). An English message on a
page in another language is one of two faults:

- "not translated": the language's compiled catalog has no translation for it (an empty or fuzzy entry);
- "shown in English": the catalog translates it, yet the page shows the English: the string is built outside
  gettext, translated at import time, or formatted before translation.

A message whose translation is the English itself ("Total", "No" in some languages) is not looked for, and neither are
short ones (under three words and fourteen letters: "Case", "Stage" are also names and codes). A message's
placeholders split it into the literal pieces searched for. The demo's own data (names, notes in English) is not
the interface: a piece found only inside a demo value is ignored (see `DEMO_LITERALS`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from babel.support import Translations

import casemgmt
from tests.conftest import Web, make_test_app, new_client
from tests.crawl import ROLES, build_crawl_demo, client_visitor, crawl

PACKAGE = Path(casemgmt.__file__).resolve().parent
TRANSLATIONS = PACKAGE / "translations"
LANGUAGES = ("es", "fr", "pt", "ht")
MIN_WORDS = 3
MIN_LETTERS = 14
# printf-style conversions (%(name)s, %d, %%) and markup inside a message end a literal piece.
SPLITTERS = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]|<[^>]*>")
LABEL_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")


# --- what to look for ------------------------------------------------------------------------------------------------


def pieces(message: str) -> list[str]:
    """The literal pieces of `message` long enough to be told from names and codes."""
    found = []
    for piece in SPLITTERS.split(message):
        piece = " ".join(piece.split()).strip(" ,;")
        letters = sum(ch.isalpha() for ch in piece)
        if len(piece.split()) >= MIN_WORDS or letters >= MIN_LETTERS:
            found.append(piece)
    return found


@dataclass(frozen=True)
class Sought:
    piece: str
    message: str
    fault: str  # "not translated" or "shown in English"


@cache
def sought(language: str) -> tuple[Sought, ...]:
    """The English pieces that must not appear on a page in `language`, with the fault each would show."""
    with (TRANSLATIONS / "messages.pot").open("rb") as fileobj:
        template = read_po(fileobj)
    catalog = Translations.load(str(TRANSLATIONS), [language])._catalog  # the compiled .mo, as the app serves it
    found: dict[str, Sought] = {}
    for message in template:
        if not message.id:
            continue
        prefix = f"{message.context}\x04" if message.context else ""
        forms = list(message.id) if isinstance(message.id, tuple | list) else [message.id]
        for english in forms:
            if isinstance(message.id, tuple | list):
                translations = [v for k, v in catalog.items() if k[:1] == (prefix + forms[0],) and isinstance(k, tuple)]
            else:
                translations = [catalog[prefix + english]] if prefix + english in catalog else []
            if not translations:
                fault = "not translated"
            elif english in translations:
                continue  # the language says it as English does (or the plural form is the same)
            else:
                fault = "shown in English"
            for piece in pieces(english):
                # A piece shared by several messages is reported once, as its most telling fault.
                if piece not in found or fault == "shown in English":
                    found[piece] = Sought(piece, english, fault)
    return tuple(found.values())


@cache
def demo_literals() -> str:
    """Every string literal of the demo builders, joined: text the demo stores as data, not interface."""
    sources = [PACKAGE / "demo.py", *PACKAGE.glob("*/demo.py"), *PACKAGE.glob("synth*.py"), *PACKAGE.glob("synth/*.py")]
    literals = []
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.append(" ".join(node.value.split()))
    return "\n".join(literals)


# --- what a page shows -----------------------------------------------------------------------------------------------


class _VisibleText(HTMLParser):
    """The text a reader sees or hears: text nodes and label attributes, without scripts, styles and the language
    switcher (whose options are each language's own name)."""

    SKIPPED = frozenset({"script", "style", "template"})
    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                      "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._stack: list[bool] = []  # per open element: is its content skipped?

    @property
    def _skipping(self) -> bool:
        return bool(self._stack) and self._stack[-1]

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        skipping = self._skipping or tag in self.SKIPPED or (tag == "select" and attributes.get("id") == "language")
        if not skipping:
            self.chunks.extend(attributes[name] for name in LABEL_ATTRIBUTES if attributes.get(name))
            if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
                self.chunks.append(attributes["value"])
        if tag not in self.VOID:
            self._stack.append(skipping)

    def handle_endtag(self, tag):
        if tag not in self.VOID and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if not self._skipping:
            self.chunks.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    # Chunks are joined by a line break, so that a piece is found only within one text node or attribute.
    return "\n".join(" ".join(chunk.split()) for chunk in parser.chunks if chunk.strip())


def english_on(text: str, language: str) -> list[Sought]:
    """The sought pieces that `text` shows as whole words, except those that are only the demo's data."""
    hits = []
    for item in sought(language):
        if item.piece not in text:  # the cheap test first; most pages show few of the 2,700 messages
            continue
        if not re.search(rf"(?<!\w){re.escape(item.piece)}(?!\w)", text):
            continue
        if item.piece in demo_literals():
            continue
        hits.append(item)
    return hits


# --- the test --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crawl-i18n")
    app = make_test_app(tmp, f"sqlite:///{tmp / 'crawl.db'}", LANGUAGES="en,es,fr,pt,ht")
    build_crawl_demo(app)
    return app


def crawl_in(app, username: str, language: str) -> dict[str, object]:
    """Log in as `username`, crawl in `language` (the browser's preferred language, as a new user would come),
    and return each page's response."""
    client = new_client(app)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    web = Web(client)
    web.login(username)
    responses: dict[str, object] = {}
    crawl(app, client_visitor(client, responses))
    return responses


def untranslated(app, username: str, language: str) -> tuple[int, list[str]]:
    """The number of pages crawled and a line per untranslated piece found: "fault: 'piece' on /url"."""
    responses = crawl_in(app, username, language)
    problems = []
    for url, response in responses.items():
        assert response.status_code < 500, f"{username} in {language}: {url} answered {response.status_code}"
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        assert f'<html lang="{language}"' in html, f"{url} is not in {language}"
        for hit in english_on(visible_text(html), language):
            problems.append(f"{hit.fault}: {hit.piece!r} on {url}")
    return len(responses), problems


@pytest.mark.slow
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("username", ROLES)
def test_every_page_a_role_reaches_speaks_the_language(demo_app, username, language):
    pages, problems = untranslated(demo_app, username, language)
    assert pages >= 5, f"{username} reached only {pages} pages"
    assert problems == [], f"{len(problems)} English strings on {username}'s pages in {language}:\n" + "\n".join(
        sorted(set(problems))[:60]
    )


# --- the detector itself ---------------------------------------------------------------------------------------------


def test_pieces_skip_placeholders_markup_and_short_words():
    assert pieces("%(who)s viewed the case") == ["viewed the case"]
    assert pieces("Save") == []
    assert pieces("Reintegration") == []  # 13 letters: a word that is also a code
    assert pieces("Identification") == ["Identification"]
    assert pieces("<strong>Careful:</strong> this cannot be undone") == ["this cannot be undone"]


def test_visible_text_leaves_out_scripts_and_the_language_switcher_but_keeps_labels():
    html = ('<p>Open the case</p><script>var x = "Open the record";</script>'
            '<select id="language"><option>English</option></select>'
            '<a href="/" title="Back to the start">x</a><input type="submit" value="Save the changes">')
    text = visible_text(html)
    assert "Open the case" in text and "Back to the start" in text and "Save the changes" in text
    assert "Open the record" not in text and "English" not in text


def test_an_english_message_on_a_spanish_page_is_found():
    """The detector finds what it is for: a Spanish catalog message shown in English."""
    item = next(s for s in sought("es") if s.fault == "shown in English" and len(s.piece.split()) >= 3)
    text = visible_text(f"<main><h1>Casos</h1><p>{item.piece}</p></main>")
    assert item in english_on(text, "es")
    assert english_on(visible_text("<main><h1>Casos</h1><p>Todo en orden</p></main>"), "es") == []
