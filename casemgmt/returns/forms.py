"""One small form per step of the return; field names are unique across the page, so the forms can share it."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from casemgmt import htcds
from casemgmt.cases.age import GUARDIAN_RELATIONSHIPS, TRAVELLING_GUARDIANS
from casemgmt.core.forms import Form
from casemgmt.core.submissions import SubmissionTokenMixin
from casemgmt.returns.models import FAMILY_OUTCOMES, RISK_LEVELS, TRAVEL_DOCUMENT_STATUSES


def not_in_future(form, field):
    if field.data and field.data > date.today():
        raise ValidationError(_l("This date is in the future."))
    if field.data and field.data.year < 1900:
        raise ValidationError(_l("This date is too far in the past."))


def plausible(form, field):
    if field.data and not (1900 <= field.data.year <= date.today().year + 5):
        raise ValidationError(_l("This date is not plausible."))


def _coerce_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class PlanStepForm(Form):
    """A step form that changes the plan: it carries the plan's version it was filled from (core/versions.py)."""

    version = HiddenField()


class DestinationForm(PlanStepForm):
    receiving_organisation_id = SelectField(
        _l("Receiving organisation (in the country of origin)"), coerce=_coerce_int, validators=[InputRequired()]
    )
    destination_country = SelectField(_l("Destination country"), validators=[DataRequired()])
    destination_locality = StringField(_l("Town or district of destination"), validators=[Optional(), Length(max=200)])

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.receiving_organisation_id.choices = [(None, _l("— choose —")), *organisations]
        self.destination_country.choices = htcds.country_choices(blank=True)

    def validate_receiving_organisation_id(self, field):
        if field.data is None:
            raise ValidationError(_l("Choose the receiving organisation."))


class StartPlanForm(SubmissionTokenMixin, DestinationForm):
    """The destination form that starts a plan (the same fields, once a plan exists, change it)."""

    submission_kind = "return_plan"


class RiskForm(PlanStepForm):
    risk_level = SelectField(_l("Level of risk"), choices=RISK_LEVELS.choices(blank=True), validators=[DataRequired()])
    risk_summary = TextAreaField(_l("Summary of the risk assessment"),
                                 validators=[DataRequired(), Length(max=10000)])
    risk_assessed_on = DateField(_l("Assessed on"), validators=[InputRequired(), not_in_future])


class FamilyForm(PlanStepForm):
    family_outcome = SelectField(_l("Outcome"), choices=FAMILY_OUTCOMES.choices(blank=True),
                                 validators=[DataRequired()])
    family_summary = TextAreaField(_l("Summary of the family assessment"), validators=[Optional(), Length(max=10000)])
    family_assessed_on = DateField(_l("Assessed on"), validators=[InputRequired(), not_in_future])


class TravelDocumentForm(PlanStepForm):
    travel_document_status = SelectField(_l("Travel document"), choices=TRAVEL_DOCUMENT_STATUSES.choices(),
                                         validators=[DataRequired()])
    travel_document_requested_on = DateField(_l("Requested on"), validators=[Optional(), not_in_future])
    travel_document_issued_on = DateField(_l("Issued on"), validators=[Optional(), not_in_future])


class ConsularForm(PlanStepForm):
    consular_contact_made = BooleanField(_l("Consular contact made"))
    consular_contact_on = DateField(_l("Date of contact"), validators=[Optional(), not_in_future])
    consular_note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=5000)])

    def validate(self, extra_validators=None) -> bool:
        # Not an inline validator: Optional() would skip it when the date is left empty, the case it is for.
        valid = super().validate(extra_validators)
        field = self.consular_contact_on
        if self.consular_contact_made.data and not field.data and not field.errors:
            field.errors.append(_l("Give the date of the consular contact."))
            valid = False
        return valid


class ItineraryForm(PlanStepForm):
    planned_departure_on = DateField(_l("Planned departure date"), validators=[Optional(), plausible])
    route_details = TextAreaField(_l("Route and flight details"), validators=[Optional(), Length(max=5000)])
    escort_required = BooleanField(_l("Escort required"))
    escort_name = StringField(_l("Escort's name"), validators=[Optional(), Length(max=200)])
    # A child travels with an escort or with a parent or legal guardian (returns.queries.needs_escort).
    guardian_name = StringField(_l("Parent or legal guardian travelling along (name)"),
                                validators=[Optional(), Length(max=200)])
    guardian_relationship = SelectField(_l("Travelling along as"), default="", validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.guardian_relationship.choices = [("", _l("— choose —"))] + [
            (code, GUARDIAN_RELATIONSHIPS.label(code)) for code in TRAVELLING_GUARDIANS]

    def validate(self, extra_validators=None) -> bool:
        # Not an inline validator: Optional() would skip it when the name is left empty, the case it is for.
        valid = super().validate(extra_validators)
        if self.escort_required.data and not (self.escort_name.data or "").strip():
            self.escort_name.errors.append(_l("Name the escort."))
            valid = False
        named, related = bool((self.guardian_name.data or "").strip()), bool(self.guardian_relationship.data)
        if named and not related:
            self.guardian_relationship.errors.append(_l("Say whether they are a parent or a legal guardian."))
            valid = False
        if related and not named:
            self.guardian_name.errors.append(_l("Name the parent or legal guardian."))
            valid = False
        return valid


class DepartureForm(Form):
    departed_on = DateField(_l("Departed on"), validators=[InputRequired(), not_in_future])


class ArrivalForm(Form):
    arrived_on = DateField(_l("Arrived on"), validators=[InputRequired(), not_in_future])


class CancelForm(Form):
    cancellation_reason = TextAreaField(_l("Why is the return cancelled?"),
                                        validators=[DataRequired(), Length(max=2000)])


class ConfirmForm(Form):
    """Only the CSRF token, for the submit and approve buttons."""


def values_of(form: Form) -> dict:
    return {k: v for k, v in form.data.items() if k != "csrf_token"}
