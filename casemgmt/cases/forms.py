from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from casemgmt import htcds
from casemgmt.core.submissions import SubmissionTokenMixin

PHONE = Regexp(r"^[0-9+()\-.\s]{5,32}$", message=_l("Digits, spaces and + ( ) - . only."))


def _not_in_future(form, field):
    if field.data and field.data > date.today():
        raise ValidationError(_l("This date is in the future."))
    if field.data and field.data.year < 1900:
        raise ValidationError(_l("This date is too far in the past."))


def _coerce_optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class CaseForm(FlaskForm):
    version = HiddenField()
    # The person (encrypted)
    given_name = StringField(_l("Given name(s)"), validators=[DataRequired(), Length(max=120)])
    family_name = StringField(_l("Family name(s)"), validators=[Optional(), Length(max=120)])
    aliases = StringField(_l("Other names or aliases"), validators=[Optional(), Length(max=300)])
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional(), _not_in_future])
    phone = StringField(_l("Phone"), validators=[Optional(), PHONE])
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=500)])
    document_type = SelectField(_l("Identity document type"), validators=[Optional()])
    document_number = StringField(_l("Identity document number"), validators=[Optional(), Length(max=64)])
    # Categories (plaintext, for reports)
    gender = SelectField(_l("Gender"), validators=[Optional()])
    citizenship = SelectField(_l("Citizenship"), validators=[Optional()])
    languages = SelectMultipleField(_l("Languages spoken"), validators=[Optional()])
    age_band = SelectField(_l("Age band (when the date of birth is unknown)"), validators=[Optional()])
    # Trafficking profile
    trafficking_status = SelectField(_l("Trafficking status"), validators=[Optional()])
    status_decided_by = SelectField(_l("Status decided by"), validators=[Optional()])
    exploitation = SelectMultipleField(_l("Types of exploitation"), validators=[Optional()])
    control = SelectMultipleField(_l("Means of control"), validators=[Optional()])
    recruitment_method = SelectField(_l("Method of recruitment"), validators=[Optional()])
    relationship_to_trafficker = SelectField(_l("Relationship to trafficker"), validators=[Optional()])
    recruitment_country = SelectMultipleField(_l("Countries of recruitment"), validators=[Optional()])
    exploitation_country = SelectMultipleField(_l("Countries of exploitation"), validators=[Optional()])
    unaccompanied_minor = BooleanField(_l("Unaccompanied minor"))
    pregnant = BooleanField(_l("Pregnant"))
    elderly = BooleanField(_l("Elderly"))
    ill = BooleanField(_l("Ill or disabled"))
    status = SelectField(_l("Case status"), validators=[DataRequired()])
    assigned_to_id = SelectField(_l("Assigned caseworker"), coerce=_coerce_optional_int, validators=[Optional()])
    narrative = TextAreaField(_l("Narrative"), validators=[Optional(), Length(max=20000)])

    def __init__(self, *args, assignees=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.document_type.choices = htcds.DOCUMENT_TYPES.choices(blank=True)
        self.gender.choices = htcds.GENDER.choices(blank=True)
        countries = htcds.country_choices()
        self.citizenship.choices = [("", _l("— choose —")), *countries]
        self.languages.choices = htcds.language_choices()
        self.age_band.choices = htcds.AGE_BANDS.choices(blank=True)
        self.trafficking_status.choices = htcds.TRAFFICKING_STATUS.choices(blank=True)
        self.status_decided_by.choices = htcds.STATUS_DECIDED_BY.choices(blank=True)
        self.exploitation.choices = htcds.EXPLOITATION_TYPES.choices()
        self.control.choices = htcds.CONTROL_METHODS.choices()
        self.recruitment_method.choices = htcds.RECRUITMENT_METHODS.choices(blank=True)
        self.relationship_to_trafficker.choices = htcds.RELATIONSHIP_TO_TRAFFICKER.choices(blank=True)
        self.recruitment_country.choices = countries
        self.exploitation_country.choices = countries
        self.status.choices = htcds.CASE_STATUS.choices()
        self.assigned_to_id.choices = [(None, _l("— nobody yet —")), *assignees]

    def validate_status_decided_by(self, field):
        if field.data and not self.trafficking_status.data:
            raise ValidationError(_l("Choose the trafficking status first."))

    def values(self) -> dict:
        data = {k: v for k, v in self.data.items() if k not in ("csrf_token", "version")}
        for key, value in data.items():
            if isinstance(value, str):
                data[key] = value.strip()
        return data


class NewCaseForm(SubmissionTokenMixin, CaseForm):
    submission_kind = "case"


class StageForm(FlaskForm):
    to_stage = SelectField(_l("Move to stage"), validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class SearchForm(FlaskForm):
    kind = SelectField(_l("Search by"), choices=[
        ("name", _l("Full name")),
        ("date_of_birth", _l("Date of birth (YYYY-MM-DD)")),
        ("document_number", _l("Identity document number")),
        ("phone", _l("Phone")),
    ])
    term = StringField(_l("Search for"), validators=[DataRequired(), Length(max=200)])

    def validate_term(self, field):
        if self.kind.data == "date_of_birth":
            try:
                date.fromisoformat(field.data.strip())
            except ValueError:
                raise ValidationError(_l("Write the date as YYYY-MM-DD.")) from None


class ConfirmForm(FlaskForm):
    """An empty form: only the CSRF token, for POST-only buttons."""


class ListFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter; nothing is changed

    stage = SelectField(_l("Stage"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])
    assignee = IntegerField(_l("Assignee"), validators=[Optional()])
