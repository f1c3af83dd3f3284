from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from casemgmt.auth.passwords import MAX_LENGTH
from casemgmt.core.forms import Form


class LoginForm(Form):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField(_l("Passphrase"), validators=[DataRequired(), Length(max=MAX_LENGTH)],
                             render_kw={"autocomplete": "current-password"})
    # Six digits from the authenticator app, or a recovery code (ABCDE-FGHIJ) when the phone is lost.
    code = StringField(_l("One-time code or recovery code (if you use two-factor login)"),
                       validators=[Optional(), Regexp(r"^\s*(\d{3}\s?\d{3}|[A-Za-z0-7]{5}[-\s]?[A-Za-z0-7]{5})\s*$",
                                                      message=_l("Six digits, or a recovery code."))],
                       render_kw={"autocomplete": "one-time-code"})
    next = HiddenField()


class ChangePasswordForm(Form):
    current = PasswordField(_l("Current passphrase"), validators=[DataRequired()],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("New passphrase"), validators=[DataRequired(), Length(max=MAX_LENGTH)],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the new passphrase"),
                            validators=[DataRequired(), EqualTo("new", message=_l("The two passphrases differ."))],
                            render_kw={"autocomplete": "new-password"})


class TotpConfirmForm(Form):
    password = PasswordField(_l("Current passphrase"), validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})
    code = StringField(_l("Code shown by your authenticator app"),
                       validators=[DataRequired(), Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("Six digits."))],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class TotpDisableForm(Form):
    password = PasswordField(_l("Current passphrase"), validators=[DataRequired()])


class EnrolForm(Form):
    """Set one's own passphrase through an enrolment or reset link."""

    new = PasswordField(_l("Choose your passphrase"), validators=[DataRequired(), Length(max=MAX_LENGTH)],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the passphrase"),
                            validators=[DataRequired(), EqualTo("new", message=_l("The two passphrases differ."))],
                            render_kw={"autocomplete": "new-password"})


class RecoveryCodesForm(Form):
    password = PasswordField(_l("Current passphrase"), validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})
