"""Compressed responses for slow links: pages (text/html) are compressed per response, static files once per file
(casemgmt/assets.py keeps their compressed bytes).

Brotli when the browser accepts it (every current browser does over HTTPS, and Chromium over http://localhost),
gzip otherwise. A page is 7-250 KB of HTML that compresses to a tenth; what shelters and field offices wait for.

BREACH (a secret guessed from the compressed length of a page that also reflects attacker-chosen text) needs the
attacker to make the victim's browser send authenticated requests from another site. The session cookie is
SameSite=Strict (app.py), so such a request carries no session and gets the login page, which holds no secret but a
CSRF token of an anonymous session.
"""

from __future__ import annotations

import base64
import functools
import gzip
import re
import urllib.parse

import brotli
from flask import Flask, Response, request
from markupsafe import Markup

# Smaller bodies gain nothing worth the CPU (a compressed body has ~20 bytes of framing, a TCP packet is 1.4 KB).
MIN_PAGE_BYTES = 1024
# Per response: brotli 5 compresses a 230 KB page in ~6 ms to about the size gzip 9 gets; 11 would take ~0.6 s.
PAGE_BROTLI_QUALITY = 5
PAGE_GZIP_LEVEL = 6
# Once per static file: the best the formats offer, whatever it costs.
FILE_BROTLI_QUALITY = 11
FILE_GZIP_LEVEL = 9

COMPRESSIBLE_TYPES = frozenset({
    "application/javascript", "text/javascript", "application/json", "application/manifest+json",
    "application/xml", "image/svg+xml", "image/x-icon", "image/vnd.microsoft.icon",
})


def is_compressible(mimetype: str) -> bool:
    """Text and text-like formats; images, fonts (woff2) and archives are compressed already."""
    return mimetype.startswith("text/") or mimetype in COMPRESSIBLE_TYPES


def compress(data: bytes, encoding: str, for_file: bool = False) -> bytes:
    if encoding == "br":
        return brotli.compress(data, quality=FILE_BROTLI_QUALITY if for_file else PAGE_BROTLI_QUALITY)
    if encoding == "gzip":
        # mtime=0: the same file compresses to the same bytes in every worker.
        return gzip.compress(data, compresslevel=FILE_GZIP_LEVEL if for_file else PAGE_GZIP_LEVEL, mtime=0)
    raise ValueError(encoding)


def accepted_encoding() -> str | None:
    """The best encoding this request accepts ("br", "gzip"), or None for the identity."""
    accepted = request.accept_encodings
    for encoding in ("br", "gzip"):
        # Accept.quality() counts "*", and "gzip;q=0" refuses.
        if accepted.quality(encoding) > 0:
            return encoding
    return None


def compress_page(response: Response) -> Response:
    """After each request: compress an HTML page when the browser accepts it. Leaves alone streamed responses (CSV
    and XLSX downloads), files, bodies already encoded, attachments, and answers without a body."""
    if (
        response.mimetype != "text/html"
        or response.status_code in (204, 206, 304) or response.status_code < 200
        or response.direct_passthrough or response.is_streamed
        or "Content-Encoding" in response.headers
        or response.headers.get("Content-Disposition", "").startswith("attachment")
    ):
        return response
    data = response.get_data()
    if len(data) < MIN_PAGE_BYTES:
        return response
    response.vary.add("Accept-Encoding")
    encoding = accepted_encoding()
    if encoding is None:
        return response
    response.set_data(compress(data, encoding))  # also sets Content-Length to the compressed size
    response.headers["Content-Encoding"] = encoding
    if response.get_etag()[0]:
        # The validator of the uncompressed body no longer describes these bytes (RFC 9110, 8.8.3).
        response.headers.pop("ETag")
    return response


BASE64_SVG = "data:image/svg+xml;base64,"
# What an <img> never runs or shows: pygal's embedded configuration script (4 KB a chart) and its comments.
_UNSEEN = re.compile(r"<script\b.*?</script>|<!--.*?-->", re.S)
# Left as they are in the address: none needs escaping in a data: URL, and none is special in an HTML attribute
# (quotes, "&", "<" and ">" are percent-encoded, so the result is safe markup). "=" is encoded too, so that the
# page's text holds no attribute of the SVG's (a style="..." would look like an inline style to the page checks).
_URL_SAFE = " :/;,()-._!*$+?@"


@functools.lru_cache(maxsize=64)
def compressible_data_url(url: str) -> str:
    """A base64 SVG image (the dashboard's charts, reports/charts.py) as percent-encoded text. Base64 hides the
    SVG's repetitions from gzip and brotli: the dashboard's HTML compressed from 26 KB to 16 KB with the same charts.
    Anything else is returned unchanged."""
    if not url.startswith(BASE64_SVG):
        return url
    svg = base64.b64decode(url.removeprefix(BASE64_SVG)).decode()
    encoded = urllib.parse.quote(_UNSEEN.sub("", svg), safe=_URL_SAFE)
    return Markup("data:image/svg+xml," + encoded)  # noqa: S704  (quote() leaves no quote, "&", "<" or ">")


def init_app(app: Flask) -> None:
    app.after_request(compress_page)
    app.jinja_env.filters["compressible"] = compressible_data_url
