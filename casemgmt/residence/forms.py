"""The forms of the "Stay and status" pages. They parse and bound what is typed; the rules (which dates go with which
state, who may join) are the operations', whose refusals the view puts on the field they name."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from casemgmt import htcds
from casemgmt.core.forms import Form
from casemgmt.core.submissions import SubmissionTokenMixin
from casemgmt.residence.models import DERIVATIVE_KINDS, DOCUMENT_STATUSES, SERVICE_KINDS, STATUS_KINDS, STATUS_STATES
from casemgmt.residence.operations import AGENCY_MAX, NOTES_MAX, REASON_MAX, REFERENCE_MAX


def _length(limit: int):
    return Length(max=limit, message=_l("At most %(max)d characters, please.", max=limit))


class StatusForm(Form):
    country = SelectField(_l("Country that grants it"), validators=[DataRequired()])
    kind = SelectField(_l("Kind of status"), choices=STATUS_KINDS.choices(blank=True), validators=[DataRequired()])
    state = SelectField(_l("Where it stands"), choices=STATUS_STATES.choices(blank=True), validators=[DataRequired()])
    applied_on = DateField(_l("Applied on"), validators=[Optional()])
    decided_on = DateField(_l("Decided on"), validators=[Optional()])
    valid_until = DateField(_l("Valid until"), validators=[Optional()])
    certifying_agency = StringField(
        _l("Certifying agency"),
        validators=[Optional(), Length(max=AGENCY_MAX, message=_l(
            "Name the certifying agency in at most %(max)d characters: an agency, not a person.", max=AGENCY_MAX))])
    work_authorisation = BooleanField(_l("Work authorisation"))
    reference = StringField(_l("Receipt or case number"), validators=[Optional(), _length(REFERENCE_MAX)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), _length(NOTES_MAX)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = htcds.country_choices(blank=True)


class NewStatusForm(SubmissionTokenMixin, StatusForm):
    submission_kind = "protection_status"


class EditStatusForm(StatusForm):
    version = HiddenField()


class ReunificationForm(SubmissionTokenMixin, Form):
    submission_kind = "reunification"
    notes = TextAreaField(_l("Notes"), validators=[Optional(), _length(NOTES_MAX)])


class AddMemberForm(Form):
    # Not checked against the choices here: a member not offered (one who may not learn where the person is) is
    # refused by the operation with the sentence that says why.
    family_member_id = SelectField(_l("Family member"), validators=[InputRequired()], validate_choice=False)
    derivative_kind = SelectField(_l("Family document"), choices=DERIVATIVE_KINDS.choices(blank=True),
                                  validators=[Optional()])

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.family_member_id.choices = [("", _l("— choose —")), *members]


class MemberForm(Form):
    version = HiddenField()
    derivative_kind = SelectField(_l("Family document"), choices=DERIVATIVE_KINDS.choices(blank=True),
                                  validators=[Optional()])
    document_status = SelectField(_l("Documents"), choices=DOCUMENT_STATUSES.choices(), validators=[DataRequired()])
    document_applied_on = DateField(_l("Documents applied for on"), validators=[Optional()])
    document_issued_on = DateField(_l("Documents issued on"), validators=[Optional()])
    travel_on = DateField(_l("Travel date"), validators=[Optional()])
    # Checked by the operation (a request of this case, for family reunification travel), with its own sentence.
    fund_request_id = SelectField(_l("Fund request paying the travel"), validators=[Optional()],
                                  validate_choice=False)
    arrived_on = DateField(_l("Arrived on"), validators=[Optional()])

    def __init__(self, *args, requests=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fund_request_id.choices = [("", _l("— none —")), *requests]


class ServiceForm(SubmissionTokenMixin, Form):
    submission_kind = "reunification_service"
    kind = SelectField(_l("Service"), choices=SERVICE_KINDS.choices(blank=True), validators=[DataRequired()])
    provided_on = DateField(_l("Provided on"), validators=[InputRequired()])
    family_member_id = SelectField(_l("For"), validators=[Optional()], validate_choice=False)
    notes = TextAreaField(_l("Notes"), validators=[Optional(), _length(NOTES_MAX)])

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.family_member_id.choices = [("", _l("The whole family")), *members]


class CancelForm(Form):
    cancellation_reason = TextAreaField(_l("Why is the reunification cancelled?"),
                                        validators=[DataRequired(), _length(REASON_MAX)])


def values_of(form: Form) -> dict:
    return {k: v for k, v in form.data.items() if k not in ("csrf_token", "submission_token", "version")}
