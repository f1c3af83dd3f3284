"""Administration pages: organisations, users and key status. Administrators never see case contents here, and no
form here takes another person's passphrase: people set their own through enrolment and reset links."""
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from casemgmt import htcds
from casemgmt.access.roles import ROLE_LABELS
from casemgmt.core import zones
from casemgmt.core.forms import Form
from casemgmt.core.submissions import SubmissionTokenMixin


def role_choices(roles) -> list[tuple[str, str]]:
    return [(role.value, label) for role, label in ROLE_LABELS.items() if role in roles]


class ReauthMixin:
    # ASVS 3.7.1: role changes, resets, account creation and approvals need the actor's passphrase again.
    admin_password = PasswordField(_l("Your own passphrase, to confirm"), validators=[DataRequired()],
                                   render_kw={"autocomplete": "current-password"})


class OrganisationForm(SubmissionTokenMixin, Form):
    submission_kind = "organisation"

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    org_type = SelectField(_l("Type"), validators=[DataRequired()])
    country = SelectField(_l("Country"), validators=[DataRequired()])
    contact = StringField(_l("How other organisations reach you"), validators=[Optional(), Length(max=300)])
    # Empty: the country's zone when it has only one; else UTC, and the page says to choose one.
    time_zone = SelectField(_l("Time zone"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.org_type.choices = htcds.ORGANISATION_TYPES.choices(blank=True)
        self.country.choices = htcds.country_choices(blank=True)
        self.time_zone.choices = [("", _l("The country's time zone (UTC if it has several)")),
                                  *time_zone_choices()]

    def chosen_time_zone(self) -> str:
        return self.time_zone.data or zones.zone_for_country(self.country.data) or zones.UTC_NAME

    def guessed_utc(self) -> bool:
        """No zone chosen, and the country has several: the organisation reads UTC until someone chooses."""
        return not self.time_zone.data and zones.zone_for_country(self.country.data) is None


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in zones.zone_names()]


class TimeZoneForm(Form):
    """Change an organisation's zone: stored times stay as they are, only how they read changes."""

    organisation_id = SelectField(_l("Organisation"), coerce=int, validators=[DataRequired()])
    time_zone = SelectField(_l("New time zone"), validators=[DataRequired()])

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation_id.choices = [(org.id, org.name) for org in organisations]
        self.time_zone.choices = time_zone_choices()


class UserCreateForm(SubmissionTokenMixin, ReauthMixin, Form):
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


class RoleForm(ReauthMixin, Form):
    role = SelectField(_l("Role"), validators=[DataRequired()])

    def __init__(self, *args, roles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices(roles)


class ReauthForm(ReauthMixin, Form):
    pass
