from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField
from wtforms.validators import DataRequired

from casemgmt.core.forms import Form
from casemgmt.core.submissions import SubmissionTokenMixin
from casemgmt.documents.models import DOCUMENT_KINDS


class UploadForm(SubmissionTokenMixin, Form):
    submission_kind = "document"

    kind = SelectField(_l("Kind of document"), validators=[DataRequired(message=_l(
        "Choose what kind of document this is."))])
    file = FileField(_l("File (PDF, PNG or JPEG)"), validators=[FileRequired(message=_l("Choose a file to upload."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = DOCUMENT_KINDS.choices(blank=True)
