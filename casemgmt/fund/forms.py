"""The fund's forms. Amounts are typed as text and read by core.money.parse_amount in the operation (never a
float, never rounded silently); every step's form carries a single-use token, so a double click takes one step."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from casemgmt.core import money
from casemgmt.core.forms import Form
from casemgmt.core.params import optional_id
from casemgmt.core.submissions import SubmissionTokenMixin
from casemgmt.fund.models import CATEGORIES, METHODS, PAYEE_KINDS
from casemgmt.returns.forms import not_in_future, plausible
from casemgmt.revisions.forms import MAX_REASON, CorrectionMixin


class _Money:
    amount = StringField(_l("Amount"), validators=[DataRequired(message=_l("Give the amount.")), Length(max=40)])
    currency = SelectField(_l("Currency"), validators=[DataRequired()])

    def _currencies(self, default: str | None):
        self.currency.choices = money.currency_choices()
        if default and not self.currency.data:
            self.currency.data = default


class RequestForm(SubmissionTokenMixin, _Money, Form):
    submission_kind = "fund_request"

    project_id = SelectField(_l("Project to charge"), coerce=optional_id,
                             validators=[InputRequired(message=_l("Choose the project to charge."))])
    category = SelectField(_l("Kind of assistance"), choices=CATEGORIES.choices(blank=True),
                           validators=[DataRequired(message=_l("Choose the kind of assistance."))])
    amount = _Money.amount
    currency = _Money.currency
    payee_kind = SelectField(_l("Paid to"), choices=PAYEE_KINDS.choices(),
                             validators=[DataRequired()])
    payee_name = StringField(_l("Payee's name (the vendor or clinic; not needed when the person is paid)"),
                             validators=[Optional(), Length(max=200)])
    justification = TextAreaField(_l("Justification"), validators=[
        DataRequired(message=_l("Explain why the person needs this assistance.")), Length(max=5000)])
    needed_by = DateField(_l("Needed by (optional)"), validators=[Optional(), plausible])

    def __init__(self, *args, projects=(), default_currency: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.project_id.choices = [(p.id, f"{p.code} — {p.title} ({p.currency})") for p in projects]
        self._currencies(default_currency)


class ApproveForm(SubmissionTokenMixin, Form):
    submission_kind = "fund_approval"
    replayed_message = _l("Your approval was already saved.")


class DeclineForm(SubmissionTokenMixin, Form):
    """The reason is required and encrypted; the finance officer never reads it."""

    submission_kind = "fund_decline"
    replayed_message = _l("This was already saved.")
    decline_reason = TextAreaField(_l("Why is it declined?"), validators=[
        DataRequired(message=_l("Say why the request is declined.")), Length(max=5000)])


class CancelForm(SubmissionTokenMixin, Form):
    submission_kind = "fund_cancel"
    replayed_message = _l("This was already saved.")
    cancel_reason = TextAreaField(_l("Why is it cancelled?"), validators=[
        DataRequired(message=_l("Say why the request is cancelled.")), Length(max=5000)])


def _receipt_field(required: bool):
    validators = [FileRequired(message=_l("Choose the receipt's file."))] if required else [Optional()]
    return FileField(_l("Receipt (PDF, PNG or JPEG)"), validators=validators)


class DisburseForm(SubmissionTokenMixin, Form):
    submission_kind = "fund_disbursement"
    replayed_message = _l("This payment was already recorded.")

    method = SelectField(_l("Paid by"), choices=METHODS.choices(blank=True),
                         validators=[DataRequired(message=_l("Choose how it was paid."))])
    paid_on = DateField(_l("Paid on"), validators=[InputRequired(), not_in_future])
    reference = StringField(_l("Payment reference (voucher number, transfer reference)"),
                            validators=[Optional(), Length(max=200)])
    receipt = _receipt_field(False)


class ReceiptForm(SubmissionTokenMixin, Form):
    submission_kind = "fund_receipt"
    replayed_message = _l("This receipt was already added.")

    receipt = _receipt_field(True)


class RefundForm(SubmissionTokenMixin, Form):
    submission_kind = "fund_refund"
    replayed_message = _l("This refund was already recorded.")

    amount = StringField(_l("Amount refunded (in the request's currency)"),
                         validators=[DataRequired(message=_l("Give the amount.")), Length(max=40)])
    refunded_on = DateField(_l("Refunded on"), validators=[InputRequired(), not_in_future])
    reason = TextAreaField(_l("Why was it refunded?"), validators=[DataRequired(message=_l("Give the reason.")),
                                                                   Length(max=5000)])


class _Reason:
    # A correction of the fund says why (the issue: "every step can be corrected with a reason").
    correction_reason = TextAreaField(_l("What was wrong (kept with the earlier version)"), validators=[
        DataRequired(message=_l("Say what was wrong.")), Length(max=MAX_REASON)])


class CorrectRequestForm(CorrectionMixin, _Money, Form):
    submission_kind = "fund_request_correction"

    amount = _Money.amount
    currency = _Money.currency
    payee_kind = RequestForm.payee_kind
    payee_name = RequestForm.payee_name
    justification = RequestForm.justification
    needed_by = RequestForm.needed_by
    correction_reason = _Reason.correction_reason

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._currencies(None)


class CorrectDisbursementForm(CorrectionMixin, Form):
    submission_kind = "fund_disbursement_correction"

    method = DisburseForm.method
    paid_on = DisburseForm.paid_on
    reference = DisburseForm.reference
    correction_reason = _Reason.correction_reason


def values_of(form: Form) -> dict:
    return {k: v for k, v in form.data.items()
            if k not in ("csrf_token", "version", "correction_reason", "receipt")}
