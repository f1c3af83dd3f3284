"""Forms of the exports page. The report filters travel in the query string of each form's action (see
filters.parse), so a form carries only what belongs to its own export."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import Form, IntegerField, PasswordField, SelectField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from casemgmt.auth.passwords import MAX_LENGTH
from casemgmt.core.forms import Form as PageForm

FORMATS = (("csv", "CSV"), ("xlsx", _l("Excel (XLSX)")))

# A k above this would suppress every organisation's whole caseload; a larger number is a typing mistake.
MAX_K = 1000


class CaseloadExportForm(PageForm):
    format = SelectField(_l("Format"), choices=FORMATS, default="csv")


class IdentifiedExportForm(CaseloadExportForm):
    # Names leave the system in bulk: the person at the keyboard proves again who they are (ASVS 3.7.1).
    password = PasswordField(_l("Your passphrase, to confirm"), validators=[DataRequired(), Length(max=MAX_LENGTH)],
                             render_kw={"autocomplete": "current-password"})


def _k_field():
    return IntegerField(_l("k: each released record is indistinguishable from at least k - 1 others"),
                        validators=[InputRequired()])


class _MinimumK:
    """Refuses a k below the organisation's configured minimum; the minimum is read per request, not at import."""

    def __init__(self, *args, minimum_k: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.minimum_k = minimum_k
        if self.k.data is None and not self.k.raw_data:
            self.k.data = minimum_k
        self.k.validators = [*self.k.validators, NumberRange(
            min=minimum_k, max=MAX_K,
            message=_l("k must be between %(min)s and %(max)s.", min=minimum_k, max=MAX_K),
        )]
        self.k.render_kw = {"min": minimum_k, "max": MAX_K}


class DeidentifiedPreviewForm(_MinimumK, Form):
    """The preview is a GET (it changes nothing), so it has no CSRF token to leak into the address bar."""

    k = _k_field()


class DeidentifiedExportForm(_MinimumK, CaseloadExportForm):
    k = _k_field()
