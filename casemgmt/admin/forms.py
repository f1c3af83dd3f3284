from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from casemgmt import htcds
from casemgmt.access.roles import ROLE_LABELS


def role_choices():
    return [(role.value, label) for role, label in ROLE_LABELS.items()]


class ReauthMixin:
    # ASVS 3.7.1: role changes, resets and account creation need the administrator's passphrase again.
    admin_password = PasswordField(_l("Your own passphrase, to confirm"), validators=[DataRequired()],
                                   render_kw={"autocomplete": "current-password"})


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    org_type = SelectField(_l("Type"), validators=[DataRequired()])
    country = SelectField(_l("Country"), validators=[DataRequired()])
    contact = StringField(_l("How other organisations reach you"), validators=[Optional(), Length(max=300)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.org_type.choices = htcds.ORGANISATION_TYPES.choices(blank=True)
        self.country.choices = htcds.country_choices(blank=True)


class UserCreateForm(ReauthMixin, FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=3, max=64)])
    display_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])
    organisation_id = SelectField(_l("Organisation"), coerce=int, validators=[DataRequired()])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    password = PasswordField(_l("Initial passphrase"), validators=[DataRequired(), Length(max=128)],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the passphrase"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The two passphrases differ."))],
                            render_kw={"autocomplete": "new-password"})

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation_id.choices = list(organisations)
        self.role.choices = role_choices()


class RoleForm(ReauthMixin, FlaskForm):
    role = SelectField(_l("Role"), validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices()


class ResetPasswordForm(ReauthMixin, FlaskForm):
    password = PasswordField(_l("New passphrase"), validators=[DataRequired(), Length(max=128)],
                             render_kw={"autocomplete": "new-password"})


class ReauthForm(ReauthMixin, FlaskForm):
    pass
