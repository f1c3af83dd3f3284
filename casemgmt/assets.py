"""Static files under content-hashed names, compressed once and cached by browsers for a year.

asset_url("app.css") gives /static/app.<hash>.css, where <hash> is the start of the SHA-256 of the file's bytes. A
hashed address always means the same bytes, so it is served with `Cache-Control: public, max-age=31536000,
immutable`: a browser keeps it and asks again for nothing, not even a revalidation (a 304 costs a round trip, and
there were six per page). A changed file has a new address; an address whose hash is not the file's current one
answers 404, never other bytes. Unhashed addresses (/static/app.css, Bootstrap-Flask's /bootstrap/static/...) work as
before, revalidated on each use.

Names starting with "bootstrap/" are Bootstrap-Flask's bundled Bootstrap 5 (never a CDN); the others are files under
casemgmt/static/, including ones added later: hashes are computed on first use and kept in memory with the bytes and
their gzip and brotli forms, checked against the file's modification time and size at each use.

/favicon.ico is casemgmt/static/favicon.ico (favicon.svg drawn at 16 and 32 pixels) for browsers that ask for it
without reading the page's <link rel="icon">.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, Response, abort, current_app, request, send_from_directory, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.security import safe_join

from casemgmt import compression
from casemgmt.headers import STATIC_ENDPOINTS

IMMUTABLE = "public, max-age=31536000, immutable"
BOOTSTRAP_PREFIX = "bootstrap/"
HASH_LENGTH = 12  # 48 bits of SHA-256: no two versions of one file will share it
# dir/stem.<hash>.ext, or stem.<hash> for a file without an extension.
HASHED_NAME = re.compile(rf"(?P<stem>(?:.*/)?[^/]+?)\.(?P<hash>[0-9a-f]{{{HASH_LENGTH}}})(?P<ext>\.[^/.]+)?")


@dataclass
class StaticFile:
    """One file's bytes as read at (mtime_ns, size), with its hash and its compressed forms."""

    path: str
    mtime_ns: int
    size: int
    data: bytes
    digest: str
    mimetype: str
    _encoded: dict[str, bytes | None] = field(default_factory=dict)

    @property
    def compressible(self) -> bool:
        return compression.is_compressible(self.mimetype)

    def encoded(self, encoding: str) -> bytes | None:
        """The file compressed with `encoding` (computed on first use), or None when that saves nothing."""
        if encoding not in self._encoded:
            packed = compression.compress(self.data, encoding, for_file=True)
            self._encoded[encoding] = packed if len(packed) < len(self.data) * 0.95 else None
        return self._encoded[encoding]


# Per process and shared by every app in it: an entry is the content of one path at one (mtime, size), so two apps
# serving the same file can share it. Dict reads and writes are atomic; two threads that both miss just read twice.
_FILES: dict[str, StaticFile] = {}


def load(path: str) -> StaticFile | None:
    """The file at `path` (cached until it changes), or None when there is no such file."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    if not os.path.isfile(path):
        return None
    cached = _FILES.get(path)
    if cached is not None and (cached.mtime_ns, cached.size) == (stat.st_mtime_ns, stat.st_size):
        return cached
    data = Path(path).read_bytes()
    mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    entry = StaticFile(path, stat.st_mtime_ns, stat.st_size, data, hashlib.sha256(data).hexdigest()[:HASH_LENGTH],
                       mimetype)
    _FILES[path] = entry
    return entry


@dataclass(frozen=True)
class Roots:
    """Where the names live: "bootstrap/..." in Bootstrap-Flask's folder, everything else in the app's."""

    app_folder: str
    bootstrap_folder: str

    def split(self, name: str) -> tuple[str, str]:
        if name.startswith(BOOTSTRAP_PREFIX):
            return self.bootstrap_folder, name.removeprefix(BOOTSTRAP_PREFIX)
        return self.app_folder, name

    def resolve(self, name: str) -> str | None:
        """The file's path, or None for a name outside the folders ("../", absolute paths)."""
        folder, relative = self.split(name)
        return safe_join(folder, relative)


def _roots() -> Roots:
    return Roots(str(current_app.static_folder), str(current_app.blueprints["bootstrap"].static_folder))


def hashed_name(filename: str) -> str:
    """"app.css" -> "app.<hash>.css"; a missing file keeps its name (and answers 404 as before)."""
    path = _roots().resolve(filename)
    file = load(path) if path else None
    if file is None:
        return filename
    directory, _, base = filename.rpartition("/")
    # Before the last extension only: bootstrap.min.css -> bootstrap.min.<hash>.css; LICENSE -> LICENSE.<hash>.
    stem, _, ext = base.rpartition(".")
    hashed = f"{stem}.{file.digest}.{ext}" if stem else f"{base}.{file.digest}"
    return f"{directory}/{hashed}" if directory else hashed


def asset_url(filename: str) -> str:
    """The address of a static file, for templates: content-hashed and cached by browsers for a year."""
    return url_for("static", filename=hashed_name(filename))


def serve(filename: str) -> Response:
    """The "static" endpoint: hashed names from memory, compressed and immutable; other names as Flask serves them."""
    hashed = HASHED_NAME.fullmatch(filename)
    if hashed:
        roots = _roots()
        path = roots.resolve(hashed["stem"] + (hashed["ext"] or ""))
        file = load(path) if path else None
        if file is not None:
            if file.digest != hashed["hash"]:
                abort(404)  # another version of the file, or a made-up one: never serve other bytes under it
            return _immutable(file)
    return _unhashed(filename)


def _immutable(file: StaticFile) -> Response:
    body, encoding = file.data, None
    if file.compressible:
        encoding = compression.accepted_encoding()
        packed = file.encoded(encoding) if encoding else None
        if packed is None:
            encoding = None
        else:
            body = packed
    response = Response(body, mimetype=file.mimetype)  # sets Content-Length to the length of `body`
    # No ETag or Last-Modified: the address is the version, and there is nothing to revalidate.
    response.headers["Cache-Control"] = IMMUTABLE
    if file.compressible:
        response.vary.add("Accept-Encoding")
    if encoding:
        response.headers["Content-Encoding"] = encoding
    return response


def _unhashed(filename: str) -> Response:
    roots = _roots()
    folder, relative = roots.split(filename)
    if folder == roots.app_folder:
        return current_app.send_static_file(filename)  # as before: revalidated with an ETag on every use
    return send_from_directory(folder, relative)


class NoCookieOnFiles(SecureCookieSessionInterface):
    """Flask refreshes a permanent session's cookie on every response, and marks it Vary: Cookie. A file that
    browsers and proxies may keep for a year carries neither: a shared cache could hand the user's session cookie to
    someone else, and its bytes do not depend on who asks. Pages refresh the cookie just as well; the idle timeout is
    counted on the server (auth/sessions.py)."""

    def save_session(self, app: Flask, session, response: Response) -> None:
        if request.endpoint in STATIC_ENDPOINTS:
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    # The rule /static/<path:filename> and its endpoint stay ("static" is on the guard's public allowlist); only the
    # view changes.
    app.view_functions["static"] = serve
    app.add_url_rule("/favicon.ico", endpoint="static", view_func=serve, defaults={"filename": "favicon.ico"})
    app.jinja_env.globals.update(asset_url=asset_url)
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = NoCookieOnFiles()
    compression.init_app(app)  # pages too; see casemgmt/compression.py
