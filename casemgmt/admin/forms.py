"""Administration pages: organisations, users and key status. Administrators never see case contents here, and no
form here takes another person's passphrase: people set their own through enrolment and reset links."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from casemgmt import htcds
from casemgmt.access.roles import ROLE_LABELS
from casemgmt.core.submissions import SubmissionTokenMixin


def role_choices(roles) -> list[tuple[str, str]]:
    return [(role.value, label) for role, label in ROLE_LABELS.items() if role in roles]


class ReauthMixin:
    # ASVS 3.7.1: role changes, resets, account creation and approvals need the actor's passphrase again.
    admin_password = PasswordField(_l("Your own passphrase, to confirm"), validators=[DataRequired()],
                                   render_kw={"autocomplete": "current-password"})


class OrganisationForm(SubmissionTokenMixin, FlaskForm):
    submission_kind = "organisation"

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    org_type = SelectField(_l("Type"), validators=[DataRequired()])
    country = SelectField(_l("Country"), validators=[DataRequired()])
    contact = StringField(_l("How other organisations reach you"), validators=[Optional(), Length(max=300)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.org_type.choices = htcds.ORGANISATION_TYPES.choices(blank=True)
        self.country.choices = htcds.country_choices(blank=True)


class UserCreateForm(SubmissionTokenMixin, ReauthMixin, FlaskForm):
    submission_kind = "user"

    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=3, max=64)])
    display_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])
    # Only the installation administrator chooses an organisation; an organisation's administrator creates
    # accounts in their own, and the field is removed from their form.
    organisation_id = SelectField(_l("Organisation"), coerce=int, validators=[DataRequired()])
    role = SelectField(_l("Role"), validators=[DataRequired()])

    def __init__(self, *args, organisations=None, roles=(), **kwargs):
        super().__init__(*args, **kwargs)
        if organisations is None:
            del self.organisation_id
        else:
            self.organisation_id.choices = list(organisations)
        self.role.choices = role_choices(roles)


class RoleForm(ReauthMixin, FlaskForm):
    role = SelectField(_l("Role"), validators=[DataRequired()])

    def __init__(self, *args, roles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices(roles)


class ReauthForm(ReauthMixin, FlaskForm):
    pass
