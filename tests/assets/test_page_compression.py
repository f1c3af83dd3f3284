"""Pages are compressed when the browser accepts it (casemgmt/compression.py); downloads, streams and small or
already encoded bodies are left alone; the dashboard's charts are inlined in a form that compresses."""

from __future__ import annotations

import base64
import gzip
import re
import urllib.parse

import brotli
from flask import Response

from casemgmt import compression


def test_pages_are_compressed_with_brotli_or_gzip(assets_app, caseworker):
    plain = caseworker.get("/")
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers  # the test client accepts none
    assert plain.headers["Vary"].startswith("Accept-Encoding")
    for accept, encoding, decode in (("gzip, deflate, br", "br", brotli.decompress), ("gzip", "gzip", gzip.decompress)):
        page = caseworker.get("/", headers={"Accept-Encoding": accept})
        assert page.headers["Content-Encoding"] == encoding
        assert int(page.headers["Content-Length"]) == len(page.data) < len(plain.data) / 2
        html = decode(page.data).decode()
        assert html.startswith("<!doctype html>") and "</html>" in html
        assert page.headers["Cache-Control"] == "no-store"
        assert "Set-Cookie" in page.headers  # the session cookie is refreshed as before
        assert "ETag" not in page.headers


def test_head_of_a_page_gives_the_compressed_length(assets_app, anonymous):
    got = anonymous.get("/login", headers={"Accept-Encoding": "br"})
    head = anonymous.head("/login", headers={"Accept-Encoding": "br"})
    assert head.data == b"" and head.headers["Content-Encoding"] == "br"
    # The page carries a fresh CSRF token each time, so the lengths may differ by a byte or two.
    assert abs(int(head.headers["Content-Length"]) - int(got.headers["Content-Length"])) < 16


def test_small_bodies_redirects_and_text_are_left_alone(assets_app, anonymous):
    redirect = anonymous.get("/cases/", headers={"Accept-Encoding": "br"})
    assert redirect.status_code == 302 and "Content-Encoding" not in redirect.headers
    health = anonymous.get("/healthz", headers={"Accept-Encoding": "br"})
    assert health.data == b"ok" and "Content-Encoding" not in health.headers


def _after(app, response: Response, accept: str = "gzip, br") -> Response:
    with app.test_request_context("/", headers={"Accept-Encoding": accept}):
        return compression.compress_page(response)


def test_streams_downloads_files_and_encoded_bodies_are_left_alone(assets_app):
    big = "<p>" + "x" * 5000 + "</p>"
    streamed = _after(assets_app, Response((part for part in [big, big]), mimetype="text/html"))
    assert "Content-Encoding" not in streamed.headers and streamed.is_streamed
    csv = _after(assets_app, Response(big, mimetype="text/csv"))
    assert "Content-Encoding" not in csv.headers
    attachment = _after(assets_app, Response(big, mimetype="text/html",
                                             headers={"Content-Disposition": "attachment; filename=x.html"}))
    assert "Content-Encoding" not in attachment.headers
    encoded = Response(gzip.compress(big.encode()), mimetype="text/html", headers={"Content-Encoding": "gzip"})
    before = encoded.get_data()
    assert _after(assets_app, encoded).get_data() == before
    passthrough = Response(big, mimetype="text/html", direct_passthrough=True)
    assert "Content-Encoding" not in _after(assets_app, passthrough).headers
    not_modified = _after(assets_app, Response(big, status=304, mimetype="text/html"))
    assert "Content-Encoding" not in not_modified.headers
    identity = _after(assets_app, Response(big, mimetype="text/html"), accept="identity")
    assert "Content-Encoding" not in identity.headers and identity.headers["Vary"] == "Accept-Encoding"
    page = _after(assets_app, Response(big, mimetype="text/html", headers={"ETag": '"abc"'}))
    assert page.headers["Content-Encoding"] == "br" and "ETag" not in page.headers
    assert brotli.decompress(page.get_data()).decode() == big


SVG = ('<?xml version="1.0" encoding="utf-8"?><svg xmlns="http://www.w3.org/2000/svg" id="c">'
       '<!--Generated with pygal--><defs><style>#c .a{font-family:\'Segoe UI\'} #c .b &gt; .c{fill:#0d6efd}</style>'
       '<script type="text/javascript">window.pygal = {"a": "<b>"};</script></defs>'
       '<text x="1">Côte d\'Ivoire &amp; 100% "quoted"</text></svg>')


def test_inline_svg_charts_become_percent_encoded_text_without_their_script():
    url = "data:image/svg+xml;base64," + base64.b64encode(SVG.encode()).decode()
    compact = compression.compressible_data_url(url)
    assert compact.startswith("data:image/svg+xml,%3C")
    # Safe in an HTML attribute as it is (it is returned as markup, not escaped again), and a valid data: URL.
    assert not set("\"'<>&#\n") & set(compact)
    assert not re.search(r"%(?![0-9A-F]{2})", compact)
    svg = urllib.parse.unquote(compact.removeprefix("data:image/svg+xml,"))
    assert svg == SVG.replace('<!--Generated with pygal-->', "").replace(
        '<script type="text/javascript">window.pygal = {"a": "<b>"};</script>', "")
    assert compression.compressible_data_url("data:image/png;base64,AAAA") == "data:image/png;base64,AAAA"
