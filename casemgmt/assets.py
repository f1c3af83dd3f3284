"""Static files' addresses for templates (asset_url). Placeholder: issue 16 turns these into content-hashed,
compressed, immutably cached files."""

from __future__ import annotations

from flask import Flask, url_for


def asset_url(filename: str) -> str:
    """The address of a static file; "bootstrap/..." names Bootstrap-Flask's bundled files."""
    if filename.startswith("bootstrap/"):
        return url_for("bootstrap.static", filename=filename.removeprefix("bootstrap/"))
    return url_for("static", filename=filename)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(asset_url=asset_url)
