"""The `casemgmt` console script: Flask's CLI bound to create_app (run, db upgrade, and our commands)."""

import sys

import click
from flask.cli import FlaskGroup

from casemgmt.app import create_app
from casemgmt.settings import SettingsError


def _factory():
    try:
        return create_app()
    except SettingsError as exc:
        # A configuration problem is the operator's to fix: say what it is, without a traceback.
        click.echo(f"casemgmt cannot start: {exc}", err=True)
        sys.exit(2)


main = FlaskGroup(create_app=_factory, help="casemgmt: case management for counter-trafficking assistance.")
