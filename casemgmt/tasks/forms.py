from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from casemgmt.core.forms import Form
from casemgmt.core.submissions import SubmissionTokenMixin
from casemgmt.tasks.models import PRIORITIES
from casemgmt.tasks.operations import DESCRIPTION_MAX, TITLE_MAX, due_date_problem


def _due_date_in_range(form, field):
    problem = due_date_problem(field.data)
    if problem:
        raise ValidationError(problem)


def _coerce_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class TaskForm(Form):
    title = StringField(
        _l("Task"),
        validators=[InputRequired(message=_l("Give the task a short title.")), Length(max=TITLE_MAX)],
    )
    description = TextAreaField(_l("Details"), validators=[Optional(), Length(max=DESCRIPTION_MAX)])
    due_on = DateField(_l("Due on"), validators=[InputRequired(message=_l("A task needs a due date.")),
                                                  _due_date_in_range])
    priority = SelectField(_l("Priority"), default="normal")
    assignee_id = SelectField(_l("Assigned to"), coerce=_coerce_int,
                              validators=[InputRequired(message=_l("Choose who is to do it."))])

    def __init__(self, *args, assignees=(), with_description: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.priority.choices = PRIORITIES.choices()
        self.assignee_id.choices = list(assignees)
        if not with_description:
            # A general task has no case, hence no key to encrypt details with: a title only.
            del self.description

    def values(self) -> dict:
        return {name: (value.strip() if isinstance(value, str) else value)
                for name, value in self.data.items() if name not in ("csrf_token", "version")}


class NewTaskForm(SubmissionTokenMixin, TaskForm):
    submission_kind = "task"


class EditTaskForm(SubmissionTokenMixin, TaskForm):
    """The edit form: the version it was filled from (core/versions.py), and a token, so that the same edit sent
    twice is not a conflict with itself."""

    submission_kind = "task_edit"
    replayed_message = _l("This change was already saved.")
    version = HiddenField()


class TaskActionForm(Form):
    """Done / reopen buttons: the CSRF token and where to go back to."""

    next = HiddenField()
