"""Security headers on every response (shared/SECURITY.md, ASVS 14.4)."""

from __future__ import annotations

from flask import Flask, request

# No inline scripts or styles anywhere: templates load /static files only. The QR code for two-factor enrolment is a
# data: image, hence img-src data:.
CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
])


# The endpoints of files: /static and /favicon.ico (casemgmt/assets.py), Bootstrap-Flask's /bootstrap/static.
STATIC_ENDPOINTS = frozenset({"static", "bootstrap.static"})


def add_security_headers(response):
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "no-referrer")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    h.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
    if request.is_secure:
        h.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    # Every page may carry case data or account details; only static files may be cached, with the policy their
    # view chose (casemgmt/assets.py: a year for content-hashed names, revalidation for the others). An error from
    # a static endpoint (a 404 for an unknown hash) is not cached either.
    if not (request.endpoint in STATIC_ENDPOINTS and response.status_code in (200, 304)):
        h["Cache-Control"] = "no-store"
        h["Pragma"] = "no-cache"
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
