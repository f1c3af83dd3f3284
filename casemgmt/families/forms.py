"""Forms of the family page, the tracing request page and the family assessment visit.

The rules a form can judge alone (a date in the future, the two flags together) are checked here, so the page shows
them on the field; the operations check them again (and the database's check is the last line)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

from casemgmt import htcds
from casemgmt.core.forms import Form
from casemgmt.core.submissions import SubmissionTokenMixin
from casemgmt.families.models import (
    ASSESSMENT_RECOMMENDATIONS,
    ASSESSMENT_SAFETY,
    RELATIONSHIPS,
    TRACING_ACTION_KINDS,
    TRACING_ACTION_OUTCOMES,
    WHEREABOUTS,
)

PHONE = Regexp(r"^[0-9+()\-.\s]{5,32}$", message=_l("Digits, spaces and + ( ) - . only."))
MAX_TEXT = 5000
CLOSING_STATUSES = ("found", "not_found", "closed")


def not_in_future(form, field):
    if field.data and field.data > date.today():
        raise ValidationError(_l("This date is in the future."))
    if field.data and field.data.year < 1900:
        raise ValidationError(_l("This date is too far in the past."))


def involved_refusal() -> str:
    return str(_l("Someone who may be involved in the trafficking is never told where the person is: untick one "
                  "of the two."))


class MemberForm(Form):
    relationship_code = SelectField(_l("Relationship to the person"), choices=RELATIONSHIPS.choices(blank=True),
                                    validators=[DataRequired(_l("Choose the relationship."))])
    given_name = StringField(_l("Given name"), validators=[Optional(), Length(max=200)])
    family_name = StringField(_l("Family name"), validators=[Optional(), Length(max=200)])
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional(), not_in_future])
    phone = StringField(_l("Phone"), validators=[Optional(), PHONE])
    address = TextAreaField(_l("Address, or where they were last seen"), validators=[Optional(), Length(max=2000)])
    country = SelectField(_l("Country"), validators=[Optional()])
    whereabouts = SelectField(_l("Whereabouts"), choices=WHEREABOUTS.choices(), default="known",
                              validators=[DataRequired()])
    lives_with_person = BooleanField(_l("Lived with the person"))
    safe_contact = BooleanField(_l("Safe contact: staff may contact them about the case"))
    possibly_involved = BooleanField(_l("May be involved in the trafficking"))
    may_be_told_location = BooleanField(_l("The person agrees that they may be told where the person is"))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=MAX_TEXT)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = htcds.country_choices(blank=True)

    def validate(self, extra_validators=None) -> bool:
        # Not inline validators: a rule about two fields, and one about a field that may be left empty.
        valid = super().validate(extra_validators)
        if not (self.given_name.data or "").strip() and not (self.family_name.data or "").strip():
            self.given_name.errors.append(_l("Give a name (a given name or a family name)."))
            valid = False
        if self.possibly_involved.data and self.may_be_told_location.data:
            self.may_be_told_location.errors.append(involved_refusal())
            valid = False
        if self.possibly_involved.data and self.safe_contact.data:
            self.safe_contact.errors.append(_l("Someone who may be involved in the trafficking is not a safe "
                                               "contact: untick one of the two."))
            valid = False
        return valid


class NewMemberForm(SubmissionTokenMixin, MemberForm):
    submission_kind = "family_member"


class EditMemberForm(SubmissionTokenMixin, MemberForm):
    submission_kind = "family_member_edit"
    replayed_message = _l("This change was already saved; here is the record.")
    version = HiddenField()


class RemoveMemberForm(SubmissionTokenMixin, Form):
    submission_kind = "family_member_remove"
    replayed_message = _l("This family member was already removed.")
    version = HiddenField()
    removal_reason = TextAreaField(_l("Why is this family member removed?"),
                                   validators=[DataRequired(_l("Say why the family member is removed.")),
                                               Length(max=2000)])


class TracingRequestForm(SubmissionTokenMixin, Form):
    submission_kind = "tracing_request"
    reason = SelectField(_l("Why is the family traced?"), validators=[DataRequired(_l("Choose the reason."))])
    description = TextAreaField(_l("What is known about whom to look for"),
                                validators=[Optional(), Length(max=MAX_TEXT)])

    def __init__(self, *args, reasons=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.reason.choices = [("", _l("— choose —")), *reasons]


class TracingActionForm(SubmissionTokenMixin, Form):
    submission_kind = "tracing_action"
    kind = SelectField(_l("What was done"), choices=TRACING_ACTION_KINDS.choices(blank=True),
                       validators=[DataRequired(_l("Choose what was done."))])
    done_on = DateField(_l("Date"), validators=[InputRequired(), not_in_future])
    contacted = StringField(_l("Who contacted whom"), validators=[Optional(), Length(max=500)])
    place = StringField(_l("Where"), validators=[Optional(), Length(max=500)])
    outcome = SelectField(_l("Outcome"), choices=TRACING_ACTION_OUTCOMES.choices(blank=True),
                          validators=[DataRequired(_l("Choose the outcome."))])
    family_member_id = SelectField(_l("Family member contacted (if one of the case's)"), validators=[Optional()])
    whereabouts_shared = BooleanField(_l("The person's whereabouts were shared with them"))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=MAX_TEXT)])

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.family_member_id.choices = [("", _l("— none —")), *members]


class CloseRequestForm(Form):
    status = SelectField(_l("Result"), validators=[DataRequired(_l("Choose the result."))])
    outcome_note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=MAX_TEXT)])

    def __init__(self, *args, **kwargs):
        from casemgmt.families.models import TRACING_STATUSES

        super().__init__(*args, **kwargs)
        self.status.choices = [("", _l("— choose —"))] + [(code, TRACING_STATUSES.label(code))
                                                           for code in CLOSING_STATUSES]


class VisitForm(SubmissionTokenMixin, Form):
    submission_kind = "family_visit"
    visited_on = DateField(_l("Date of the visit"), validators=[InputRequired(), not_in_future])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=500)])
    people_met = TextAreaField(_l("People met"), validators=[Optional(), Length(max=2000)])
    findings = TextAreaField(_l("Findings"), validators=[DataRequired(_l("Describe what the visit found.")),
                                                          Length(max=MAX_TEXT)])
    family_willing = SelectField(_l("Is the family willing to receive the person?"),
                                 choices=[("", _l("— choose —")), ("yes", _l("Yes")), ("no", _l("No"))],
                                 validators=[DataRequired(_l("Say whether the family is willing."))])
    safety = SelectField(_l("Safety"), choices=ASSESSMENT_SAFETY.choices(blank=True),
                         validators=[DataRequired(_l("Choose the safety finding."))])
    recommendation = SelectField(_l("Recommendation"), choices=ASSESSMENT_RECOMMENDATIONS.choices(blank=True),
                                 validators=[DataRequired(_l("Choose the recommendation."))])


class ConfirmForm(Form):
    """Only the CSRF token."""


def values_of(form: Form) -> dict:
    return {k: v for k, v in form.data.items() if k != "csrf_token"}
