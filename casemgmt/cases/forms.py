from datetime import date

from flask_babel import lazy_gettext as _l
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
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from casemgmt import htcds
from casemgmt.cases import age
from casemgmt.core.forms import Form
from casemgmt.core.submissions import SubmissionTokenMixin
from casemgmt.matching.search import parse_search

PHONE = Regexp(r"^[0-9+()\-.\s]{5,32}$", message=_l("Digits, spaces and + ( ) - . only."))


def _coerce_optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class CaseForm(Form):
    version = HiddenField()
    # The person (encrypted)
    given_name = StringField(_l("Given name(s)"), validators=[DataRequired(), Length(max=120)])
    family_name = StringField(_l("Family name(s)"), validators=[Optional(), Length(max=120)])
    aliases = StringField(_l("Other names or aliases"), validators=[Optional(), Length(max=300)])
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional()])
    # When the date of birth is not known (cases.age): the year, or an estimate on a given day.
    birth_year = IntegerField(_l("Year of birth (when the date is not known)"), validators=[Optional()])
    estimated_age = IntegerField(_l("Estimated age in years (when neither is known)"), validators=[Optional()])
    age_estimated_on = DateField(_l("Day of the estimate"), validators=[Optional()])
    phone = StringField(_l("Phone"), validators=[Optional(), PHONE])
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=500)])
    document_type = SelectField(_l("Identity document type"), validators=[Optional()])
    document_number = StringField(_l("Identity document number"), validators=[Optional(), Length(max=64)])
    # Categories (plaintext, for reports)
    gender = SelectField(_l("Gender"), validators=[Optional()])
    citizenship = SelectField(_l("Citizenship"), validators=[Optional()])
    languages = SelectMultipleField(_l("Languages spoken"), validators=[Optional()])
    age_band = SelectField(_l("Age band (when no age is known)"), validators=[Optional()])
    # Trafficking profile
    trafficking_status = SelectField(_l("Trafficking status"), validators=[Optional()])
    status_decided_by = SelectField(_l("Status decided by"), validators=[Optional()])
    exploitation = SelectMultipleField(_l("Types of exploitation"), validators=[Optional()])
    control = SelectMultipleField(_l("Means of control"), validators=[Optional()])
    recruitment_method = SelectField(_l("Method of recruitment"), validators=[Optional()])
    relationship_to_trafficker = SelectField(_l("Relationship to trafficker"), validators=[Optional()])
    recruitment_country = SelectMultipleField(_l("Countries of recruitment"), validators=[Optional()])
    exploitation_country = SelectMultipleField(_l("Countries of exploitation"), validators=[Optional()])
    unaccompanied_or_separated = BooleanField(_l("Unaccompanied or separated (a child without, or separated from, "
                                                 "parents or usual caregiver)"))
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

    def validate(self, extra_validators=None) -> bool:
        # The age fields are checked together (cases.age.problems, the rules the operations apply): a date of birth
        # in the future, an age outside 0-120, a year or an estimate that contradicts the date of birth.
        valid = super().validate(extra_validators)
        fields = {name: getattr(self, name) for name in age.AGE_FIELDS}
        if any(f.errors for f in fields.values()):
            return False
        for name, message in age.problems({name: f.data for name, f in fields.items()}).items():
            fields[name].errors.append(message)
            valid = False
        return valid

    def values(self) -> dict:
        data = {k: v for k, v in self.data.items() if k not in ("csrf_token", "version")}
        for key, value in data.items():
            if isinstance(value, str):
                data[key] = value.strip()
        return data


class NewCaseForm(SubmissionTokenMixin, CaseForm):
    submission_kind = "case"


class StageForm(Form):
    to_stage = SelectField(_l("Move to stage"), validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class SearchForm(Form):
    """One box for a name, a phone or a document number (matching.search reads which), and a date or year of birth
    to narrow a name down. Posted only: terms never go in a URL, the page number neither."""

    term = StringField(_l("Name, phone or document number"), validators=[
        DataRequired(_l("Type a name, a phone number or a document number.")), Length(max=200)])
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional()])
    birth_year = IntegerField(_l("Year of birth"), validators=[Optional()])
    page = IntegerField(validators=[Optional(), NumberRange(1, 10_000)], default=1)

    def validate_term(self, field):
        if parse_search(field.data, None).empty:
            raise ValidationError(_l("Nothing here can be searched for: type a name or part of one (letters), a "
                                     "phone number or a document number."))

    def validate_birth_year(self, field):
        if field.data is None:
            return
        if not 1900 <= field.data <= date.today().year:
            raise ValidationError(_l("Type a year between 1900 and this year."))
        born = self.date_of_birth.data
        if born is not None and born.year != field.data:
            raise ValidationError(_l("The year of birth is not the year of the date of birth."))


class ConfirmForm(Form):
    """An empty form: only the CSRF token, for POST-only buttons."""


class ListFilterForm(Form):
    class Meta:
        csrf = False  # a GET filter; nothing is changed

    stage = SelectField(_l("Stage"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])
    assignee = IntegerField(_l("Assignee"), validators=[Optional()])
