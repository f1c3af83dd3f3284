"""A liveness check for load balancers. It says "ok" and nothing about the system."""

from flask import Blueprint

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def check():
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
