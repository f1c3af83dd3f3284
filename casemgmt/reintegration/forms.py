from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from casemgmt.core.forms import Form
from casemgmt.core.submissions import SubmissionTokenMixin
from casemgmt.reintegration.models import SCORE_MAX, SCORE_MIN, SUPPORT_TYPES, SUSTAINABILITY_SCALE
from casemgmt.reintegration.queries import CURRENCIES
from casemgmt.returns.forms import not_in_future, plausible
from casemgmt.revisions.forms import CorrectionMixin


def _coerce_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class PlanForm(SubmissionTokenMixin, Form):
    # One form makes the plan and later changes it; a token on both keeps two racing first plans from being made.
    submission_kind = "reintegration_plan"

    created_on = DateField(_l("Plan made on"), validators=[InputRequired(), not_in_future])
    support_types = SelectMultipleField(_l("Types of support"), choices=SUPPORT_TYPES.choices(),
                                        validators=[DataRequired(message=_l("Choose at least one type of support."))])
    objectives = TextAreaField(_l("Objectives"), validators=[DataRequired(), Length(max=10000)])
    planned_end_on = DateField(_l("Planned end"), validators=[Optional(), plausible])
    actual_end_on = DateField(_l("Actual end"), validators=[Optional(), not_in_future])
    responsible_organisation_id = SelectField(_l("Responsible organisation"), coerce=_coerce_int,
                                              validators=[InputRequired()])
    # The plan the form was filled from, empty for a first plan: a first plan saved after a colleague's has been
    # made is refused rather than written over theirs unseen.
    plan_id = HiddenField()
    # The plan's version it was filled from (core/versions.py): a later save is shown the conflict page.
    version = HiddenField()

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.responsible_organisation_id.choices = [(None, _l("— choose —")), *organisations]

    def validate_responsible_organisation_id(self, field):
        if field.data is None:
            raise ValidationError(_l("Choose the organisation responsible for the plan."))

    def _not_before_plan(self, field):
        if field.data and self.created_on.data and field.data < self.created_on.data:
            raise ValidationError(_l("This date is before the plan was made."))

    validate_planned_end_on = _not_before_plan
    validate_actual_end_on = _not_before_plan


def _money(form, field):
    value = field.data
    if value is None:
        return
    if not value.is_finite():
        raise ValidationError(_l("Not a valid decimal value."))
    if value < 0:
        raise ValidationError(_l("The amount cannot be negative."))
    if value > Decimal("9999999999.99"):
        raise ValidationError(_l("The amount is too large."))
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError(_l("At most two decimal places."))


class ServiceForm(SubmissionTokenMixin, Form):
    submission_kind = "reintegration_service"

    service_type = SelectField(_l("Type of service"), choices=SUPPORT_TYPES.choices(blank=True),
                               validators=[DataRequired()])
    provider = StringField(_l("Provider"), validators=[DataRequired(), Length(max=200)])
    amount = DecimalField(_l("Amount spent"), places=2, validators=[InputRequired(), _money])
    currency = StringField(_l("Currency (ISO 4217 code)"), default="USD",
                           validators=[DataRequired(), Length(min=3, max=3)])
    delivered_on = DateField(_l("Delivered on"), validators=[InputRequired(), not_in_future])
    implemented = BooleanField(_l("Implemented"), default=True)
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=5000)])

    def validate_currency(self, field):
        if (field.data or "").strip().upper() not in CURRENCIES:
            raise ValidationError(_l("Not an ISO 4217 currency code (for example USD or HTG)."))


_SCALE_MESSAGE = _l("Choose a score from 1 (not sustainable) to 5 (fully sustainable).")


def _score_field(label):
    # validate_choice=False so that an out-of-range value gets the scale's message rather than "Not a valid choice".
    return SelectField(label, coerce=_coerce_int, validate_choice=False,
                       choices=[(None, _l("— choose —")), *((int(k), v) for k, v in SUSTAINABILITY_SCALE.choices())],
                       validators=[InputRequired(message=_SCALE_MESSAGE)])


class VisitForm(SubmissionTokenMixin, Form):
    submission_kind = "monitoring_visit"

    visited_on = DateField(_l("Visited on"), validators=[InputRequired(), not_in_future])
    visited_by_id = SelectField(_l("Visited by"), coerce=_coerce_int, validators=[DataRequired()])
    economic_score = _score_field(_l("Economic sustainability"))
    social_score = _score_field(_l("Social sustainability"))
    psychosocial_score = _score_field(_l("Psychosocial sustainability"))
    observations = TextAreaField(_l("Observations"), validators=[Optional(), Length(max=10000)])
    next_visit_due = DateField(_l("Next visit due"), validators=[Optional(), plausible])

    def __init__(self, *args, visitors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.visited_by_id.choices = list(visitors)

    def _in_range(self, field):
        if field.data is None or not SCORE_MIN <= field.data <= SCORE_MAX:
            raise ValidationError(_SCALE_MESSAGE)

    validate_economic_score = _in_range
    validate_social_score = _in_range
    validate_psychosocial_score = _in_range

    def validate_next_visit_due(self, field):
        if field.data and self.visited_on.data and field.data <= self.visited_on.data:
            raise ValidationError(_l("The next visit must be due after this one."))


class CorrectServiceForm(CorrectionMixin, ServiceForm):
    submission_kind = "service_correction"


class CorrectVisitForm(CorrectionMixin, VisitForm):
    submission_kind = "visit_correction"


def values_of(form: Form) -> dict:
    return {k: v for k, v in form.data.items() if k not in ("csrf_token", "version", "correction_reason")}
