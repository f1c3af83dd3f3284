"""The forms of a child's best interests. Each carries a single-use submission token (core/submissions.py): a form sent
twice records once."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from casemgmt.bestinterests.models import CARE_KINDS, DECISIONS, GUARDIAN_KINDS, MIN_PANEL, RECOMMENDATIONS
from casemgmt.core.forms import Form
from casemgmt.core.submissions import SubmissionTokenMixin
from casemgmt.intake.forms import MultiCheckboxField

TEXT = 10000


def not_in_future(form, field):
    if field.data and field.data > date.today():
        raise ValidationError(_l("This date is in the future."))
    if field.data and field.data.year < 1900:
        raise ValidationError(_l("This date is too far in the past."))


class AssessmentForm(SubmissionTokenMixin, Form):
    submission_kind = "bia"
    replayed_message = _l("This assessment was already saved.")

    version = HiddenField()  # the version an edit was filled from (core/versions.py); empty for a new one
    assessed_on = DateField(_l("Assessed on"), validators=[InputRequired(), not_in_future])
    child_views = TextAreaField(_l("The child's views and wishes"), validators=[Optional(), Length(max=TEXT)])
    safety = TextAreaField(_l("Safety"), validators=[Optional(), Length(max=TEXT)])
    family = TextAreaField(_l("Family"), validators=[Optional(), Length(max=TEXT)])
    health = TextAreaField(_l("Health"), validators=[Optional(), Length(max=TEXT)])
    education = TextAreaField(_l("Education"), validators=[Optional(), Length(max=TEXT)])
    recommendations = TextAreaField(_l("Recommendations"), validators=[Optional(), Length(max=TEXT)])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not any((getattr(self, name).data or "").strip() for name in (
                "child_views", "safety", "family", "health", "education", "recommendations")):
            self.child_views.errors.append(_l("Write at least one part of the assessment (the child's views "
                                              "first)."))
            valid = False
        return valid


def _coerce_int(value):
    return int(value)


class DeterminationForm(SubmissionTokenMixin, Form):
    submission_kind = "bid"

    assessment_id = SelectField(_l("The assessment it rests on"), validators=[DataRequired()])
    decision = SelectField(_l("The panel decides about"), choices=DECISIONS.choices(blank=True),
                           validators=[DataRequired()])
    recommendation = SelectField(_l("Recommendation"), choices=RECOMMENDATIONS.choices(blank=True),
                                 validators=[DataRequired()])
    reasons = TextAreaField(_l("Reasons"), validators=[DataRequired(), Length(max=TEXT)])
    conditions = TextAreaField(_l("Conditions (follow-up, monitoring)"), validators=[Optional(), Length(max=TEXT)])
    panel = MultiCheckboxField(_l("The panel"), coerce=_coerce_int)

    def __init__(self, *args, assessments=(), candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.assessment_id.choices = list(assessments)
        self.panel.choices = list(candidates)

    def validate_panel(self, field):
        if len(set(field.data or ())) < MIN_PANEL:
            raise ValidationError(_l("Name at least %(n)d different people to the panel.", n=MIN_PANEL))


class SignForm(SubmissionTokenMixin, Form):
    submission_kind = "bid_sign"
    replayed_message = _l("Your signature was already saved.")

    vote = RadioField(_l("Your signature"), choices=[("concur", _l("I concur with the recommendation")),
                                                     ("dissent", _l("I dissent"))],
                      validators=[InputRequired()])
    dissent_reason = TextAreaField(_l("Why you dissent"), validators=[Optional(), Length(max=TEXT)])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.vote.data == "dissent" and not (self.dissent_reason.data or "").strip():
            self.dissent_reason.errors.append(_l("Say why you dissent."))
            valid = False
        return valid


class WithdrawForm(SubmissionTokenMixin, Form):
    submission_kind = "bid_withdraw"
    replayed_message = _l("This determination was already withdrawn.")

    withdrawal_reason = TextAreaField(_l("Why is the determination withdrawn?"),
                                      validators=[DataRequired(), Length(max=2000)])


class _Dated(Form):
    started_on = DateField(_l("Started on"), validators=[InputRequired(), not_in_future])
    ended_on = DateField(_l("Ended on"), validators=[Optional(), not_in_future])

    def validate_ended_on(self, field):
        if field.data and self.started_on.data and field.data < self.started_on.data:
            raise ValidationError(_l("The end date cannot be before the start date."))


def _member_choices(members) -> list[tuple[str, str]]:
    return [("", _l("— none —")), *members]


class GuardianForm(SubmissionTokenMixin, _Dated):
    submission_kind = "guardian"

    kind = SelectField(_l("Kind"), choices=GUARDIAN_KINDS.choices(blank=True), validators=[DataRequired()])
    family_member_id = SelectField(_l("A family member of the case"), default="", validators=[Optional()])
    name = StringField(_l("Name (when not a family member)"), validators=[Optional(), Length(max=200)])
    contact = StringField(_l("Contact"), validators=[Optional(), Length(max=500)])
    appointed_by = StringField(_l("Appointed by (court or authority, and its reference)"),
                               validators=[Optional(), Length(max=500)])

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.family_member_id.choices = _member_choices(members)
        self.started_on.label.text = _l("Appointed on")

    def validate(self, extra_validators=None) -> bool:
        # Not an inline validator: Optional() would skip it when the name is left empty, the case it is for.
        valid = super().validate(extra_validators)
        if not (self.name.data or "").strip() and not self.family_member_id.data:
            self.name.errors.append(_l("Name the guardian, or choose them among the family members."))
            valid = False
        return valid


class CareForm(SubmissionTokenMixin, _Dated):
    submission_kind = "care"

    kind = SelectField(_l("Kind of care"), choices=CARE_KINDS.choices(blank=True), validators=[DataRequired()])
    long_term = BooleanField(_l("Long-term arrangement"))
    family_member_id = SelectField(_l("A family member of the case"), default="", validators=[Optional()])
    carer = TextAreaField(_l("Who cares for the child, and where (when not a family member)"),
                          validators=[Optional(), Length(max=2000)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=TEXT)])

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.family_member_id.choices = _member_choices(members)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)  # (Optional() would skip an inline check of an empty carer)
        if not (self.carer.data or "").strip() and not self.family_member_id.data:
            self.carer.errors.append(_l("Say who cares for the child, or choose them among the family members."))
            valid = False
        return valid


class EndForm(SubmissionTokenMixin, Form):
    submission_kind = "bi_end"
    replayed_message = _l("This was already saved.")

    ended_on = DateField(_l("Ended on"), validators=[InputRequired(), not_in_future])


def values_of(form: Form) -> dict:
    return {k: v for k, v in form.data.items() if k != "csrf_token"}
