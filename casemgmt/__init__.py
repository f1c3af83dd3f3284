"""casemgmt: case management for counter-trafficking assistance."""

from casemgmt.app import create_app

__all__ = ["create_app"]
