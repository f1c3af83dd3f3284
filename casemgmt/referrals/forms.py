from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from casemgmt.core.forms import Form
from casemgmt.core.submissions import SubmissionTokenMixin
from casemgmt.referrals.models import CONSENT_BASES, OVERRIDE_BASES, REFERRAL_REASONS


def _coerce_org(value):
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class WithheldSelectField(SelectField):
    """A choice list that leaves out the values the operation would refuse (`withheld`), yet lets a posted one through
    to the operation, so the refusal is the operation's own message rather than "Not a valid choice"."""

    withheld: frozenset = frozenset()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.type = "SelectField"  # the templates style a field by its type: this one is drawn as any select

    def pre_validate(self, form):
        if self.data is not None and self.data in self.withheld:
            return
        super().pre_validate(form)


class _SharingForm(Form):
    """What a referral and a transfer have in common: where the case goes, and on what basis it is shared."""

    to_organisation_id = WithheldSelectField(_l("Receiving organisation"), coerce=_coerce_org, validators=[DataRequired(
        message=_l("Choose an organisation from the list."))])
    consent_basis = WithheldSelectField(_l("Basis for sharing"), validators=[DataRequired()])
    override_reason = TextAreaField(
        _l("Why the case must be shared without consent"), validators=[Optional(), Length(max=2000)]
    )

    def __init__(self, *args, organisations=(), withheld_organisations=(), refused_bases=(), **kwargs):
        """`organisations`: (id, label) offered; `withheld_organisations` and `refused_bases`: what the operation
        refuses for this case (operations.referred_organisation_ids() and operations.refused_bases())."""
        super().__init__(*args, **kwargs)
        self.to_organisation_id.choices = [("", _l("— choose —")), *organisations]
        self.to_organisation_id.withheld = frozenset(withheld_organisations)
        self.consent_basis.choices = [(code, label) for code, label in CONSENT_BASES.choices()
                                      if code not in refused_bases]
        self.consent_basis.withheld = frozenset(refused_bases)

    def validate_override_reason(self, field):
        if self.consent_basis.data in OVERRIDE_BASES and not (field.data or "").strip():
            raise ValidationError(_l("Say why the case must be shared without the person's consent."))


class ReferralForm(SubmissionTokenMixin, _SharingForm):
    submission_kind = "referral"

    reason = SelectField(_l("Reason for the referral"), validators=[DataRequired()])
    note = TextAreaField(_l("Note for the receiving organisation"), validators=[Optional(), Length(max=4000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reason.choices = REFERRAL_REASONS.choices(blank=True)


class TransferForm(SubmissionTokenMixin, _SharingForm):
    submission_kind = "transfer"

    transfer_reason = TextAreaField(_l("Why the case should be transferred"), validators=[
        DataRequired(message=_l("Say why the case should be transferred.")), Length(max=4000)])
    keep_access = BooleanField(_l("Keep access for our organisation after the transfer (as a referral)"))


class DeclineForm(Form):
    decline_reason = TextAreaField(_l("Reason for declining (optional)"), validators=[Optional(), Length(max=2000)])


class DecisionForm(Form):
    decision_note = TextAreaField(_l("Note on the decision (optional)"), validators=[Optional(), Length(max=2000)])
