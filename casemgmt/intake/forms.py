from datetime import datetime, time

from flask_babel import gettext
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
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from casemgmt import htcds
from casemgmt.cases import age
from casemgmt.cases.forms import PHONE
from casemgmt.core import zones
from casemgmt.core.forms import Form
from casemgmt.core.submissions import SubmissionTokenMixin
from casemgmt.core.time import utcnow
from casemgmt.intake.vocabulary import ACTIONS, CALL_TYPES, CALLER_TYPES, CHANNELS, INDICATORS
from casemgmt.revisions.forms import CorrectionMixin

# The same rule the operation enforces, said where the operator ticks the box.
POLICE_RULE = _l(
    "Reporting to the police needs the caller's consent to share, unless a minor is involved or someone is in "
    "immediate danger."
)


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as checkboxes: quicker than a list box for an operator on a call."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _not_in_future(form, field):
    # Today where the organisation is: in Lima at 21:00 it is already tomorrow in UTC, and not yet in Manila.
    if field.data and field.data > zones.local_today():
        raise ValidationError(_l("This date is in the future."))
    if field.data and field.data.year < 1900:
        raise ValidationError(_l("This date is too far in the past."))


def _language_choices():
    return [("", _l("— choose —")), *htcds.language_choices()]


def _stripped(form: Form, skip: tuple[str, ...] = ()) -> dict:
    return {
        k: v.strip() if isinstance(v, str) else v
        for k, v in form.data.items() if k != "csrf_token" and k not in skip
    }


class ContactForm(SubmissionTokenMixin, Form):
    """The quick-entry form: only the channel and the call type are required."""

    submission_kind = "contact"

    channel = SelectField(_l("Channel"), validators=[DataRequired(message=_l("Choose the channel."))])
    call_type = SelectField(_l("Call type"), validators=[DataRequired(message=_l("Choose the call type."))])
    occurred_on = DateField(_l("Date (empty: today)"), validators=[Optional(), _not_in_future])
    # The label names the organisation's zone (set in __init__): the time is entered as the clock there showed it.
    occurred_time = TimeField(_l("Time (empty: now)"), validators=[Optional()])
    caller_type = SelectField(_l("Caller"), validators=[Optional()])
    language = SelectField(_l("Language of the contact"), validators=[Optional()])
    minor_involved = BooleanField(_l("A minor is involved"))
    immediate_danger = BooleanField(_l("Someone is in immediate danger"))
    indicators = MultiCheckboxField(_l("Indicators heard"), validators=[Optional()])
    actions = MultiCheckboxField(_l("Action taken"), validators=[Optional()])
    consent_to_share = BooleanField(_l("The caller consents to our sharing what they told us"))
    caller_name = StringField(_l("Caller's name (optional)"), validators=[Optional(), Length(max=120)])
    caller_phone = StringField(_l("Caller's phone (optional)"), validators=[Optional(), PHONE])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=5000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel.choices = CHANNELS.choices(blank=True)
        self.call_type.choices = CALL_TYPES.choices(blank=True)
        self.occurred_time.label.text = gettext("Time, %(zone)s (empty: now)", zone=zones.label())
        self.caller_type.choices = CALLER_TYPES.choices(blank=True)
        self.language.choices = _language_choices()
        self.indicators.choices = INDICATORS.choices()
        self.actions.choices = ACTIONS.choices()

    def validate_actions(self, field):
        if "police_report" in (field.data or []) and not (
            self.consent_to_share.data or self.minor_involved.data or self.immediate_danger.data
        ):
            raise ValidationError(POLICE_RULE)

    def validate_caller_name(self, field):
        if field.data and field.data.strip() and self.caller_type.data == "Anonymous":
            raise ValidationError(_l("The caller is marked anonymous: leave the name empty."))

    def occurred_at(self) -> datetime:
        """The moment, stored as UTC, of the day and time entered as the organisation's clocks showed them."""
        now = zones.local_now()
        day = self.occurred_on.data or now.date()
        if self.occurred_time.data is not None:
            return zones.to_utc(datetime.combine(day, self.occurred_time.data))
        if day == now.date():
            return utcnow()
        return zones.to_utc(datetime.combine(day, time(0, 0)))

    def values(self) -> dict:
        data = _stripped(self, skip=("occurred_on", "occurred_time"))
        data["occurred_at"] = self.occurred_at()
        return data


class OpenCaseForm(SubmissionTokenMixin, Form):
    """What is known about the person when a contact opens a case; checked for duplicates first."""

    submission_kind = "case_from_contact"

    given_name = StringField(_l("Given name(s)"), validators=[DataRequired(), Length(max=120)])
    family_name = StringField(_l("Family name(s)"), validators=[Optional(), Length(max=120)])
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional(), _not_in_future])
    birth_year = IntegerField(_l("Year of birth (when the date is not known)"), validators=[Optional()])
    estimated_age = IntegerField(_l("Estimated age in years (when neither is known)"), validators=[Optional()])
    document_type = SelectField(_l("Identity document type"), validators=[Optional()])
    document_number = StringField(_l("Identity document number"), validators=[Optional(), Length(max=64)])
    phone = StringField(_l("Phone"), validators=[Optional(), PHONE])
    gender = SelectField(_l("Gender"), validators=[Optional()])
    citizenship = SelectField(_l("Citizenship"), validators=[Optional()])
    languages = SelectMultipleField(_l("Languages spoken"), validators=[Optional()])
    unaccompanied_or_separated = BooleanField(_l("Unaccompanied or separated (a child without, or separated from, "
                                                 "parents or usual caregiver)"))
    create_anyway = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.document_type.choices = htcds.DOCUMENT_TYPES.choices(blank=True)
        self.gender.choices = htcds.GENDER.choices(blank=True)
        self.citizenship.choices = [("", _l("— choose —")), *htcds.country_choices()]
        self.languages.choices = htcds.language_choices()

    def validate(self, extra_validators=None) -> bool:
        # The age fields together, by the rules the case operations apply (cases.age.problems); an estimate made
        # here is today's.
        valid = super().validate(extra_validators)
        fields = {"date_of_birth": self.date_of_birth, "birth_year": self.birth_year,
                  "estimated_age": self.estimated_age}
        if any(f.errors for f in fields.values()):
            return False
        for name, message in age.problems({name: f.data for name, f in fields.items()}).items():
            fields[name].errors.append(message)
            valid = False
        return valid

    def values(self) -> dict:
        return _stripped(self, skip=("create_anyway",))


class AttachForm(Form):
    reference = StringField(_l("Case reference"), validators=[
        DataRequired(), Length(max=16),
        Regexp(r"^\s*[A-Za-z0-9-]+\s*$", message=_l("A case reference looks like C-ABCD2345.")),
    ])


class ScreeningForm(SubmissionTokenMixin, Form):
    submission_kind = "screening"

    screened_on = DateField(_l("Date of the interview"), validators=[InputRequired(), _not_in_future])
    consent = SelectField(_l("Consent to the interview"), validators=[DataRequired(
        message=_l("Link the consent the interview relied on, or record that the person declined."))])
    interpreter_used = BooleanField(_l("An interpreter was used"))
    # No Optional() on fields checked against each other: it would stop validation before those checks run.
    interpreter_name = StringField(_l("Interpreter's name"), validators=[Length(max=120)])
    language = SelectField(_l("Language of the interview"), validators=[Optional()])
    indicators = MultiCheckboxField(_l("Indicators observed"), validators=[Optional()])
    finding = SelectField(_l("Finding"))
    decided_by = SelectField(_l("Decided by"))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])

    def __init__(self, *args, consent_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.consent.choices = [
            ("", _l("— choose —")), *consent_choices, ("declined", _l("The person declined to give consent")),
        ]
        self.language.choices = _language_choices()
        self.indicators.choices = INDICATORS.choices()
        self.finding.choices = htcds.TRAFFICKING_STATUS.choices(blank=True)
        self.decided_by.choices = htcds.STATUS_DECIDED_BY.choices(blank=True)

    def validate_interpreter_name(self, field):
        if self.interpreter_used.data and not (field.data or "").strip():
            raise ValidationError(_l("Give the interpreter's name."))
        if not self.interpreter_used.data and (field.data or "").strip():
            raise ValidationError(_l("Tick \"An interpreter was used\", or leave the name empty."))

    def validate_finding(self, field):
        if not field.data and self.consent.data != "declined":
            raise ValidationError(_l("Record the finding of the screening."))

    def validate_decided_by(self, field):
        if field.data and not self.finding.data:
            raise ValidationError(_l("Choose the finding first."))
        if self.finding.data and not field.data:
            raise ValidationError(_l("Say who decided the finding."))

    def values(self) -> dict:
        return _stripped(self)


class CorrectContactForm(CorrectionMixin, ContactForm):
    submission_kind = "contact_correction"

    def correction_values(self) -> dict:
        """The contact's fields as the form names them (what a correction compares), and the moment they give."""
        data = _stripped(self, skip=("version", "correction_reason"))
        data["occurred_at"] = self.occurred_at()
        return data
