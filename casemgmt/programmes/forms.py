"""Forms of programmes. They check shapes (a date, a choice); the rules live in programmes/operations.py, whose
refusals the views attach to the field they name."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from casemgmt.core import money
from casemgmt.core.forms import Form as PageForm
from casemgmt.core.params import optional_id
from casemgmt.core.submissions import SubmissionTokenMixin
from casemgmt.core.widgets import LongSelect
from casemgmt.fund.models import CATEGORIES
from casemgmt.htcds import country_choices
from casemgmt.programmes.models import DONOR_KINDS

# Empty rows the project form offers for new budget lines.
BLANK_LINES = 3


class LongMultiSelect(LongSelect):
    """The kept rendering of core.widgets.LongSelect, for a multiple choice (the project's countries)."""

    def __init__(self):
        super().__init__()
        self.multiple = True


class LineForm(Form):
    # A sub-form: the project form's CSRF token covers it.
    id = HiddenField()
    name = StringField(_l("Line"), validators=[Optional(), Length(max=200)])
    category = SelectField(_l("Assistance category"), validators=[Optional()])
    amount = StringField(_l("Amount"), validators=[Optional(), Length(max=20)])
    remove = BooleanField(_l("Remove"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [("", _l("— none: spent outside the fund —")), *CATEGORIES.choices()]


class ProjectForm(SubmissionTokenMixin, PageForm):
    submission_kind = "project"
    replayed_message = _l("This form was already submitted; here is the project as it was saved.")

    donor_id = SelectField(_l("Donor"), coerce=optional_id, validate_choice=False)
    donor_name = StringField(_l("Or a new donor: name"), validators=[Optional(), Length(max=200)])
    donor_kind = SelectField(_l("New donor: kind"), choices=DONOR_KINDS.choices(blank=True),
                             validators=[Optional()])
    donor_country = SelectField(_l("New donor: country"), widget=LongSelect(), validators=[Optional()])
    code = StringField(_l("Code"), validators=[InputRequired(), Length(max=40)])
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=200)])
    starts_on = DateField(_l("Starts on"), validators=[InputRequired()])
    ends_on = DateField(_l("Ends on"), validators=[InputRequired()])
    currency = SelectField(_l("Currency"), widget=LongSelect(), validators=[InputRequired()])
    single_approval_limit = StringField(
        _l("Single-approval limit"), validators=[InputRequired(), Length(max=20)],
        description=_l("Fund requests up to this amount (in the project's currency) need one approver; above it, "
                       "two different people approve."))
    eligibility = TextAreaField(_l("Eligibility"), validators=[Optional(), Length(max=5000)])
    organisation_ids = SelectMultipleField(_l("Implementing organisations"), coerce=int,
                                           validate_choice=False)
    countries = SelectMultipleField(_l("Countries"), widget=LongMultiSelect(), validate_choice=False)
    lines = FieldList(FormField(LineForm), min_entries=1)
    version = HiddenField()

    def __init__(self, *args, donors=(), organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.donor_id.choices = [(None, _l("— a new donor (below) —")), *((d.id, d.name) for d in donors)]
        self.donor_country.choices = country_choices(blank=True)
        self.currency.choices = [("", _l("— choose —")), *money.currency_choices()]
        self.organisation_ids.choices = list(organisations)
        self.countries.choices = country_choices()


def project_values(form: ProjectForm) -> dict:
    data = {name: form[name].data for name in (
        "donor_id", "donor_name", "donor_kind", "donor_country", "code", "title", "starts_on", "ends_on", "currency",
        "single_approval_limit", "eligibility", "organisation_ids", "countries")}
    data["lines"] = [{"id": optional_id(entry.form.id.data), "name": entry.form.name.data,
                      "category": entry.form.category.data or None, "amount": entry.form.amount.data,
                      "remove": entry.form.remove.data} for entry in form.lines]
    return data


class RateForm(SubmissionTokenMixin, PageForm):
    submission_kind = "exchange_rate"

    month = StringField(_l("Month (YYYY-MM)"), validators=[InputRequired(), Length(max=10)])
    currency = SelectField(_l("Currency"), widget=LongSelect(), validators=[InputRequired()])
    quote_currency = SelectField(_l("Quoted in"), widget=LongSelect(), validators=[InputRequired()])
    rate = StringField(_l("Rate (units of the quote currency for one unit)"),
                       validators=[InputRequired(), Length(max=30)])
    source = StringField(_l("Source"), validators=[Optional(), Length(max=120)],
                         description=_l("Where the rate comes from: the central bank, or the bank that changed "
                                        "the money."))
    correction = BooleanField(_l("This corrects the recorded rate"))
    reason = StringField(_l("Why it is corrected"), validators=[Optional(), Length(max=70)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _l("— choose —")), *money.currency_choices()]
        self.currency.choices = choices
        self.quote_currency.choices = choices


class EnrolForm(SubmissionTokenMixin, PageForm):
    submission_kind = "enrolment"

    project_id = SelectField(_l("Project"), coerce=optional_id, validate_choice=False,
                             validators=[InputRequired()])
    enrolled_on = DateField(_l("Enrolled on"), validators=[InputRequired()])

    def __init__(self, *args, projects=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.project_id.choices = [(None, _l("— choose —")), *((p.id, f"{p.code} · {p.title}") for p in projects)]


class EndEnrolmentForm(PageForm):
    ended_on = DateField(_l("Ended on"), validators=[InputRequired()])


class AttributionForm(PageForm):
    kind = HiddenField()
    record_id = HiddenField()
    project_id = SelectField(_l("Charged to"), coerce=optional_id, validate_choice=False)
