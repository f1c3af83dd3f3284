"""Static files under content-hashed names (casemgmt/assets.py): one address per version of a file, served from
memory, compressed once, and cached by browsers for a year without revalidation."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from pathlib import Path

import brotli
import pytest
from flask import url_for

from casemgmt import assets

IMMUTABLE = "public, max-age=31536000, immutable"
STATIC = Path(assets.__file__).parent / "static"


def _url(app, filename: str) -> str:
    with app.test_request_context():
        return assets.asset_url(filename)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[: assets.HASH_LENGTH]


def _bootstrap_folder(app) -> Path:
    return Path(app.blueprints["bootstrap"].static_folder)


def test_asset_urls_carry_the_hash_of_the_files_bytes(assets_app):
    assert _url(assets_app, "app.css") == f"/static/app.{_digest(STATIC / 'app.css')}.css"
    css = _bootstrap_folder(assets_app) / "css" / "bootstrap.min.css"
    assert _url(assets_app, "bootstrap/css/bootstrap.min.css") == \
        f"/static/bootstrap/css/bootstrap.min.{_digest(css)}.css"
    assert _url(assets_app, "favicon.svg") == f"/static/favicon.{_digest(STATIC / 'favicon.svg')}.svg"


def test_a_hashed_file_is_immutable_without_validators_or_cookies(assets_app, caseworker):
    url = _url(assets_app, "app.js")
    response = caseworker.get(url)
    assert response.status_code == 200
    assert response.data == (STATIC / "app.js").read_bytes()  # no Accept-Encoding: the file as it is
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert response.mimetype in ("text/javascript", "application/javascript")
    # Nothing to revalidate, and nothing of the user's session in a response that caches may keep for a year.
    for header in ("ETag", "Last-Modified", "Set-Cookie", "Pragma"):
        assert header not in response.headers, header
    assert response.headers["Vary"] == "Accept-Encoding"
    # The security headers still apply.
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    # A page refreshes the session cookie as before, and is never stored.
    page = caseworker.get("/")
    assert page.status_code == 200 and "Set-Cookie" in page.headers
    assert page.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(("accept", "encoding", "decode"), [
    ("gzip, deflate, br, zstd", "br", brotli.decompress),
    ("gzip, deflate", "gzip", gzip.decompress),
    ("br;q=0, gzip", "gzip", gzip.decompress),
])
def test_text_files_are_compressed_as_the_browser_accepts(assets_app, anonymous, accept, encoding, decode):
    original = (_bootstrap_folder(assets_app) / "css" / "bootstrap.min.css").read_bytes()
    response = anonymous.get(_url(assets_app, "bootstrap/css/bootstrap.min.css"), headers={"Accept-Encoding": accept})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == encoding
    assert int(response.headers["Content-Length"]) == len(response.data) < len(original) / 5
    assert decode(response.data) == original
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert response.headers["Vary"] == "Accept-Encoding"


def test_a_refused_encoding_is_not_used(assets_app, anonymous):
    response = anonymous.get(_url(assets_app, "app.css"), headers={"Accept-Encoding": "br;q=0, gzip;q=0"})
    assert "Content-Encoding" not in response.headers
    assert response.data == (STATIC / "app.css").read_bytes()


def test_each_file_is_compressed_once_and_kept(assets_app, anonymous):
    url = _url(assets_app, "bootstrap/js/bootstrap.min.js")
    first = anonymous.get(url, headers={"Accept-Encoding": "br"})
    kept = assets.load(str(_bootstrap_folder(assets_app) / "js" / "bootstrap.min.js"))
    packed = kept.encoded("br")
    second = anonymous.get(url, headers={"Accept-Encoding": "br"})
    assert first.data == second.data == packed
    assert assets.load(kept.path) is kept and kept.encoded("br") is packed  # the same bytes object, not recomputed


def test_head_answers_the_length_of_the_get(assets_app, anonymous):
    url = _url(assets_app, "forms.js")
    got = anonymous.get(url, headers={"Accept-Encoding": "gzip"})
    head = anonymous.head(url, headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == got.headers["Content-Length"]
    assert head.headers["Content-Encoding"] == "gzip"


def test_an_unknown_hash_is_a_404_never_another_version(assets_app, anonymous):
    real = _url(assets_app, "app.css")
    wrong = re.sub(r"\.[0-9a-f]{12}\.css$", ".000000000000.css", real)
    assert wrong != real
    response = anonymous.get(wrong)
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"  # an error is not kept either
    assert anonymous.get("/static/no-such-file.0123456789ab.css").status_code == 404
    assert anonymous.get("/static/bootstrap/css/bootstrap.min.0123456789ab.css").status_code == 404


def test_no_file_outside_the_static_folders(assets_app, anonymous):
    for path in ("/static/../app.py", "/static/..%2fapp.py", "/static/bootstrap/../../__init__.py",
                 f"/static/../settings.{'0' * 12}.py"):
        assert anonymous.get(path).status_code == 404, path


def test_unhashed_addresses_keep_working_but_are_revalidated(assets_app, anonymous):
    for url in ("/static/app.css", "/bootstrap/static/css/bootstrap.min.css",
                "/static/bootstrap/css/bootstrap.min.css"):
        response = anonymous.get(url)
        assert response.status_code == 200, url
        assert "immutable" not in response.headers.get("Cache-Control", ""), url
        assert response.headers.get("Cache-Control") != "no-store", url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    with assets_app.test_request_context():
        assert url_for("static", filename="app.css") == "/static/app.css"


def test_the_favicon_is_linked_and_answers_at_the_root(assets_app, anonymous):
    page = anonymous.get("/login").get_data(as_text=True)
    assert f'<link rel="icon" href="{_url(assets_app, "favicon.svg")}" type="image/svg+xml">' in page
    icon = anonymous.get(_url(assets_app, "favicon.svg"))
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    root = anonymous.get("/favicon.ico")
    assert root.status_code == 200
    assert root.data == (STATIC / "favicon.ico").read_bytes()
    assert root.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert root.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_link_only_hashed_static_files(assets_app, caseworker):
    html = caseworker.get("/").get_data(as_text=True)
    linked = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert len(linked) >= 7, linked
    for url in linked:
        assert re.search(r"\.[0-9a-f]{12}\.[a-z]+$", url), url
        assert caseworker.get(url).headers["Cache-Control"] == IMMUTABLE, url


@pytest.fixture
def own_static(assets_app, tmp_path):
    """The app's static folder moved to an empty folder for one test, to add and change files in it."""
    previous = assets_app.static_folder
    assets_app.static_folder = str(tmp_path)
    yield tmp_path
    assets_app.static_folder = previous


def test_files_added_or_changed_later_get_their_own_address(assets_app, anonymous, own_static):
    (own_static / "vendor" / "lib").mkdir(parents=True)
    added = own_static / "vendor" / "lib" / "lib.min.js"
    added.write_text("console.log('one');\n" * 100)
    first = _url(assets_app, "vendor/lib/lib.min.js")
    assert re.fullmatch(r"/static/vendor/lib/lib\.min\.[0-9a-f]{12}\.js", first)
    assert anonymous.get(first).data == added.read_bytes()

    added.write_text("console.log('two');\n" * 100)
    os.utime(added, ns=(1, 2_000_000_000_000_000_000))  # a different modification time, as a deploy gives
    second = _url(assets_app, "vendor/lib/lib.min.js")
    assert second != first
    assert anonymous.get(second).data == added.read_bytes()
    assert anonymous.get(first).status_code == 404

    # A file without an extension, and one that is already compressed (no Content-Encoding, no Vary).
    (own_static / "LICENSE").write_text("MIT\n")
    assert re.fullmatch(r"/static/LICENSE\.[0-9a-f]{12}", _url(assets_app, "LICENSE"))
    assert anonymous.get(_url(assets_app, "LICENSE")).data == b"MIT\n"
    (own_static / "photo.png").write_bytes(os.urandom(4096))
    png = anonymous.get(_url(assets_app, "photo.png"), headers={"Accept-Encoding": "gzip, br"})
    assert png.status_code == 200 and "Content-Encoding" not in png.headers and "Vary" not in png.headers
    assert png.headers["Cache-Control"] == IMMUTABLE


def test_a_missing_file_keeps_its_name_and_answers_404(assets_app, anonymous):
    assert _url(assets_app, "no-such.css") == "/static/no-such.css"
    assert anonymous.get("/static/no-such.css").status_code == 404
