from flask_babel import lazy_gettext as _l
from wtforms import SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from casemgmt.core.forms import Form
from casemgmt.core.submissions import SubmissionTokenMixin
from casemgmt.journey.models import CLOSURE_CODES
from casemgmt.journey.operations import TEXT_MAX


class ClosureRequestForm(SubmissionTokenMixin, Form):
    submission_kind = "closure_request"

    code = SelectField(_l("Why close the case"),
                       validators=[InputRequired(message=_l("Choose why the case is to be closed."))])
    reason = TextAreaField(_l("Reason"), validators=[
        InputRequired(message=_l("Say why: closing a case needs a reason.")), Length(max=TEXT_MAX),
    ])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.code.choices = CLOSURE_CODES.choices(blank=True)


class ClosureDecisionForm(Form):
    note = TextAreaField(_l("Note for the caseworker"), validators=[Optional(), Length(max=TEXT_MAX)])


class ClosureWithdrawForm(Form):
    reason = TextAreaField(_l("Why withdraw it (optional)"), validators=[Optional(), Length(max=TEXT_MAX)])
