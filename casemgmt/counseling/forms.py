from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from casemgmt.core.forms import Form
from casemgmt.core.submissions import SubmissionTokenMixin
from casemgmt.counseling.models import MAX_DURATION, MIN_DURATION, SESSION_TYPES
from casemgmt.counseling.operations import EARLIEST, MAX_NOTES, MAX_PROVIDER
from casemgmt.revisions.forms import CorrectionMixin


def _not_in_future(form, field):
    if field.data and field.data > date.today():
        raise ValidationError(_l("This date is in the future."))
    if field.data and field.data < EARLIEST:
        raise ValidationError(_l("This date is too far in the past."))


class SessionForm(SubmissionTokenMixin, Form):
    submission_kind = "counseling_session"

    session_type = SelectField(_l("Type of session"), validators=[DataRequired()])
    provider = StringField(_l("Provider (professional or service)"),
                           validators=[DataRequired(), Length(max=MAX_PROVIDER)])
    held_on = DateField(_l("Held on"), validators=[InputRequired(), _not_in_future])
    duration_minutes = IntegerField(_l("Duration (minutes)"), validators=[
        InputRequired(),
        NumberRange(min=MIN_DURATION, max=MAX_DURATION, message=_l("Between 1 and 600 minutes.")),
    ])
    follow_up_on = DateField(_l("Follow-up on"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=MAX_NOTES)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.session_type.choices = SESSION_TYPES.choices(blank=True)

    def validate_follow_up_on(self, field):
        if field.data and self.held_on.data and field.data < self.held_on.data:
            raise ValidationError(_l("The follow-up cannot be before the session."))

    def values(self) -> dict:
        return {name: self[name].data for name in (
            "session_type", "provider", "held_on", "duration_minutes", "follow_up_on", "notes",
        )}


class CorrectSessionForm(CorrectionMixin, SessionForm):
    submission_kind = "counseling_correction"
