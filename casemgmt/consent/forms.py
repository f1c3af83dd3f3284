from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from casemgmt import htcds
from casemgmt.cases.age import GUARDIAN_RELATIONSHIPS
from casemgmt.core.forms import Form
from casemgmt.core.submissions import SubmissionTokenMixin


def not_in_future(form, field):
    if field.data and field.data > date.today():
        raise ValidationError(_l("This date is in the future."))
    if field.data and field.data.year < 1900:
        raise ValidationError(_l("This date is too far in the past."))


class ConsentForm(SubmissionTokenMixin, Form):
    submission_kind = "consent"

    obtained_on = DateField(_l("Date consent was obtained"), validators=[InputRequired(), not_in_future])
    language = SelectField(_l("The person's language"), validators=[DataRequired()])
    interpreter_used = BooleanField(_l("An interpreter was used"))
    # No Optional(): it would stop validation before validate_interpreter_name() runs.
    interpreter_name = StringField(_l("Interpreter's name"), validators=[Length(max=120)])
    # For a child on the day of consent (consent.operations._check): the child's assent and a guardian's consent.
    is_child_assent = BooleanField(_l("The child assents (agrees) to what is recorded here"))
    guardian_name = StringField(_l("Who gave consent for the child (name)"), validators=[Length(max=120)])
    # No Optional(): it would stop validation before validate_guardian_relationship() runs.
    guardian_relationship = SelectField(_l("Their relationship to the child"), default="")
    # HTCDS's seven points of informed consent.
    point_interview = BooleanField(_l("Consents (or, for a child, assents) to the interview"))
    point_purpose = BooleanField(_l("The purpose of the interview was explained"))
    point_data_uses = BooleanField(_l("The actual and potential uses of the data were explained"))
    point_research = BooleanField(_l("Agrees to non-identifying use of the data for research"))
    point_access_right = BooleanField(_l("Was told of the right to request their own data"))
    point_retention = BooleanField(_l("Was told how long the data is kept"))
    point_withdrawal = BooleanField(_l("Was told how to withdraw consent"))
    consents_to_share = BooleanField(_l("Consents to sharing the case with other organisations (referrals)"))
    consents_to_return = BooleanField(_l("Consents to assisted voluntary return"))
    consents_to_police_report = BooleanField(_l("Consents to a report to the police"))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = [("", _l("— choose —")), *htcds.language_choices()]
        self.guardian_relationship.choices = GUARDIAN_RELATIONSHIPS.choices(blank=True)

    def validate_interpreter_name(self, field):
        if self.interpreter_used.data and not (field.data or "").strip():
            raise ValidationError(_l("Give the interpreter's name."))
        if not self.interpreter_used.data and (field.data or "").strip():
            raise ValidationError(_l("Tick \"An interpreter was used\", or leave the name empty."))

    def validate_guardian_name(self, field):
        if self.guardian_relationship.data and not (field.data or "").strip():
            raise ValidationError(_l("Name who gave consent for the child."))
        if self.is_child_assent.data and not (field.data or "").strip():
            raise ValidationError(_l("A child's assent goes with the consent of a parent, legal guardian or "
                                     "representative: name them."))

    def validate_guardian_relationship(self, field):
        if (self.guardian_name.data or "").strip() and not field.data:
            raise ValidationError(_l("Say how they are related to the child."))

    def validate_point_interview(self, field):
        if not field.data:
            raise ValidationError(_l("A consent record needs at least the consent (or assent) to the interview."))

    def values(self) -> dict:
        return {k: v.strip() if isinstance(v, str) else v for k, v in self.data.items() if k != "csrf_token"}


class WithdrawForm(Form):
    reason = TextAreaField(_l("Reason for withdrawal"), validators=[DataRequired(), Length(max=2000)])
