from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField
from wtforms.validators import Length, Optional

from casemgmt.core.forms import Form


class EmailSettingsForm(Form):
    """On the account page: where notices are e-mailed, and whether they are (off until the person says so)."""

    email = EmailField(_l("E-mail address"), validators=[Optional(), Length(max=254)],
                       render_kw={"autocomplete": "email"})
    notify_by_email = BooleanField(_l("E-mail me when something is waiting for me"))
