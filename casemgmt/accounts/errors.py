"""The error account operations raise for a request that cannot be carried out."""

from __future__ import annotations


class AccountError(ValueError):
    """A request that cannot be carried out; the message is shown to the user (already translated)."""


def _(message: str, **kwargs) -> str:
    # Imported late so that the CLI and tests can import the operations without a Babel-initialised app.
    from flask_babel import gettext

    return gettext(message, **kwargs)
