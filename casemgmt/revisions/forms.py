"""What every correction and deletion form carries: the version it was filled from, a reason, a single-use token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from casemgmt.core.forms import Form
from casemgmt.core.submissions import SubmissionTokenMixin
from casemgmt.revisions.operations import MAX_REASON


class CorrectionMixin(SubmissionTokenMixin):
    """Put it before the feature's form class: `class CorrectSessionForm(CorrectionMixin, SessionForm)`."""

    # The token: the second sending of a saved correction is the same correction, not a conflict with itself.
    replayed_message = _l("This correction was already saved; here is the record.")
    version = HiddenField()
    correction_reason = TextAreaField(_l("What was wrong (optional, kept with the earlier version)"),
                                      validators=[Optional(), Length(max=MAX_REASON)])


class DeleteForm(SubmissionTokenMixin, Form):
    submission_kind = "deletion"
    replayed_message = _l("This record was already deleted.")

    version = HiddenField()
    deletion_reason = TextAreaField(_l("Why is this record deleted?"),
                                    validators=[DataRequired(message=_l("Say why the record is deleted.")),
                                                Length(max=MAX_REASON)])
