"""Reading the audit pages (/audit/ and a case's "who has seen this record") as a test: each event's sentence and
its raw details, found by their labels, whatever the layout around them."""

from __future__ import annotations

from html.parser import HTMLParser


class _Events(HTMLParser):
    def __init__(self):
        super().__init__()
        self.events: list[dict[str, str]] = []
        self._text: list[str] | None = None
        self._field: str | None = None  # "sentence", "when", "who", "dt", "dd"
        self._term = ""

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "li" and "audit-event" in classes:
            self.events.append({})
        elif self.events and tag == "p" and {"audit-sentence", "audit-when", "audit-who"} & set(classes):
            self._field = next(c for c in classes if c.startswith("audit-")).removeprefix("audit-")
            self._text = []
        elif self.events and tag in ("dt", "dd"):
            self._field, self._text = tag, []
        elif tag == "span" and "badge" in classes and self._field == "sentence":
            self._field = "sentence-badge"  # the outcome badge is not part of the sentence

    def handle_endtag(self, tag):
        if self._text is None:
            return
        if tag == "span" and self._field == "sentence-badge":
            self._field = "sentence"
            return
        if tag not in ("p", "dt", "dd"):
            return
        text = " ".join("".join(self._text).split())
        if self._field == "dt":
            self._term = text
        elif self._field == "dd":
            self.events[-1][self._term] = text
        else:
            self.events[-1][self._field] = text
        self._field, self._text = None, None

    def handle_data(self, data):
        if self._text is not None and self._field != "sentence-badge":
            self._text.append(data)


def events_listed(html: str) -> list[dict[str, str]]:
    """Every event shown, newest first: {"sentence": ..., "when": ..., "who": ..., and each raw detail by its label
    ("Kind", "Account", "Organisation", "Object", "Case id", "Outcome", "Details", "Hash", ...)}."""
    parser = _Events()
    parser.feed(html)
    return parser.events


def accounts(html: str) -> list[str]:
    return [e["Account"] for e in events_listed(html)]


def kinds(html: str) -> list[str]:
    return [e["Kind"] for e in events_listed(html)]
