from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from casemgmt.core.forms import Form
from casemgmt.core.submissions import SubmissionTokenMixin
from casemgmt.revisions.forms import CorrectionMixin
from casemgmt.shelter.models import AGE_GROUPS, DISCHARGE_REASONS, FACILITY_TYPES
from casemgmt.shelter.operations import EARLIEST, MAX_CAPACITY, MAX_REFLECTION


def _not_in_future(form, field):
    if field.data and field.data > date.today():
        raise ValidationError(_l("This date is in the future."))
    if field.data and field.data < EARLIEST:
        raise ValidationError(_l("This date is too far in the past."))


def _coerce_optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class FacilityForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    facility_type = SelectField(_l("Type of facility"), validators=[DataRequired()])
    bed_capacity = IntegerField(
        _l("Bed capacity"),
        validators=[InputRequired(), NumberRange(min=1, max=MAX_CAPACITY, message=_l("At least one bed."))],
    )
    age_group = SelectField(_l("Takes"), validators=[DataRequired(message=_l(
        "Say whom the facility takes: adults only, children only, or both."))])
    active = BooleanField(_l("Taking admissions"), default=True)
    address = StringField(_l("Address of the facility"), validators=[Optional(), Length(max=300)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.facility_type.choices = FACILITY_TYPES.choices(blank=True)
        self.age_group.choices = AGE_GROUPS.choices(blank=True)

    def values(self) -> dict:
        return {
            "name": (self.name.data or "").strip(), "facility_type": self.facility_type.data,
            "bed_capacity": self.bed_capacity.data, "age_group": self.age_group.data,
            "active": self.active.data, "address": (self.address.data or "").strip() or None,
        }


class NewFacilityForm(SubmissionTokenMixin, FacilityForm):
    submission_kind = "facility"


class EditFacilityForm(SubmissionTokenMixin, FacilityForm):
    """The facility's edit form: the version it was filled from (core/versions.py), and a token, so that the same
    edit sent twice is not a conflict with itself."""

    submission_kind = "facility_edit"
    replayed_message = _l("This change was already saved; here is the facility.")
    version = HiddenField()


class AdmitForm(SubmissionTokenMixin, Form):
    submission_kind = "admission"

    facility_id = SelectField(_l("Facility"), coerce=_coerce_optional_int, validators=[InputRequired()])
    admitted_on = DateField(_l("Admitted on"), validators=[InputRequired(), _not_in_future])
    reflection_period_until = DateField(_l("Reflection period until"), validators=[Optional()])

    def validate_facility_id(self, field):
        if field.data is None:
            raise ValidationError(_l("Choose a facility."))

    def validate_reflection_period_until(self, field):
        start = self.admitted_on.data
        if field.data and start:
            if field.data <= start:
                raise ValidationError(_l("The reflection period must end after the admission date."))
            if field.data - start > MAX_REFLECTION:
                raise ValidationError(_l("A reflection period of more than a year is not plausible; check the date."))


class DischargeForm(Form):
    discharged_on = DateField(_l("Discharged on"), validators=[InputRequired(), _not_in_future])
    discharge_reason = SelectField(_l("Reason"), validators=[DataRequired()])
    discharge_note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.discharge_reason.choices = DISCHARGE_REASONS.choices(blank=True)

    def validate_discharge_note(self, field):
        if self.discharge_reason.data == "other" and not (field.data or "").strip():
            raise ValidationError(_l("Say in the note why the person left."))


class PastStayForm(SubmissionTokenMixin, Form):
    """A stay that has already ended, recorded after the fact (operations.record_past_placement). Shown on the same
    page as the admission and discharge forms, so its field names (and the HTML ids made from them) are its own."""

    submission_kind = "past_stay"

    # Labels of their own: the page also holds the admission and discharge forms, and two fields labelled alike
    # leave a screen reader (and a test that finds fields by label) guessing which is which.
    past_facility_id = SelectField(_l("Facility of the earlier stay"), coerce=_coerce_optional_int,
                                   validators=[InputRequired()])
    past_admitted_on = DateField(_l("Arrived at the facility on"), validators=[InputRequired(), _not_in_future])
    past_discharged_on = DateField(_l("Left the facility on"), validators=[InputRequired(), _not_in_future])
    past_reason = SelectField(_l("Reason for leaving"), validators=[DataRequired()])
    past_note = TextAreaField(_l("Note on the earlier stay"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.past_reason.choices = DISCHARGE_REASONS.choices(blank=True)

    def validate_past_facility_id(self, field):
        if field.data is None:
            raise ValidationError(_l("Choose a facility."))

    def validate_past_discharged_on(self, field):
        if field.data and self.past_admitted_on.data and field.data < self.past_admitted_on.data:
            raise ValidationError(_l("The discharge date cannot be before the admission date."))

    def validate_past_note(self, field):
        if self.past_reason.data == "other" and not (field.data or "").strip():
            raise ValidationError(_l("Say in the note why the person left."))


class CorrectPlacementForm(CorrectionMixin, Form):
    """A placement corrected after the fact (shelter.corrections): the admission, and the discharge once there is
    one. A stay still going is ended with DischargeForm, never here."""

    submission_kind = "placement_correction"

    facility_id = SelectField(_l("Facility"), coerce=_coerce_optional_int, validators=[InputRequired()])
    admitted_on = DateField(_l("Admitted on"), validators=[InputRequired(), _not_in_future])
    reflection_period_until = DateField(_l("Reflection period until"), validators=[Optional()])
    discharged_on = DateField(_l("Discharged on"), validators=[Optional(), _not_in_future])
    discharge_reason = SelectField(_l("Reason for the discharge"), validators=[Optional()])
    discharge_note = TextAreaField(_l("Note on the discharge"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, facilities=(), still_going: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.facility_id.choices = [(None, _l("— choose —")), *facilities]
        self.discharge_reason.choices = DISCHARGE_REASONS.choices(blank=True)
        if still_going:
            # Nothing to correct about an end that has not happened: the discharge form records it.
            del self.discharged_on, self.discharge_reason, self.discharge_note

    def validate_facility_id(self, field):
        if field.data is None:
            raise ValidationError(_l("Choose a facility."))

    def values(self) -> dict:
        names = ("facility_id", "admitted_on", "reflection_period_until", "discharged_on", "discharge_reason",
                 "discharge_note")
        return {name: self[name].data if name in self else None for name in names}
