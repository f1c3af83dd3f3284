"""The `casemgmt` console script: Flask's CLI bound to create_app (run, db upgrade, and our commands)."""

from flask.cli import FlaskGroup

from casemgmt.app import create_app


def _factory():
    return create_app()


main = FlaskGroup(create_app=_factory, help="casemgmt: case management for counter-trafficking assistance.")
