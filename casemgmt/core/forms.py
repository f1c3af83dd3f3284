"""The base of every form: WTForms' own messages ("This field is required.", "Not a valid date value.") in the
page's language, Haitian Creole included.

WTForms ships catalogs for Spanish, French and Portuguese but none for Haitian Creole, so through Flask-WTF alone a
Kreyòl reader would see those messages in English. Our catalogs carry them (MESSAGES marks them for extraction), and
Form looks there first, then in WTForms' own catalog.
"""

from __future__ import annotations

import flask_babel
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln
from flask_wtf import FlaskForm
from flask_wtf.i18n import translations as wtforms_translations

# WTForms' and Flask-WTF's messages that our forms can show (wtforms/locale/wtforms.pot), kept here so that
# scripts/i18n.sh extracts them into every catalog.
MESSAGES = (
    _l("Field must be equal to %(other_name)s."),
    _ln("Field must be at least %(min)d character long.", "Field must be at least %(min)d characters long.", 1),
    _ln("Field cannot be longer than %(max)d character.", "Field cannot be longer than %(max)d characters.", 1),
    _ln("Field must be exactly %(max)d character long.", "Field must be exactly %(max)d characters long.", 1),
    _l("Field must be between %(min)d and %(max)d characters long."),
    _l("Number must be at least %(min)s."),
    _l("Number must be at most %(max)s."),
    _l("Number must be between %(min)s and %(max)s."),
    _l("Date must be at least %(min)s."),
    _l("Date must be at most %(max)s."),
    _l("Date must be between %(min)s and %(max)s."),
    _l("This field is required."),
    _l("Invalid input."),
    _l("Invalid email address."),
    _l("Invalid URL."),
    _l("Invalid value, must be one of: %(values)s."),
    _l("Invalid value, can't be any of: %(values)s."),
    _l("This field cannot be edited."),
    _l("This field is disabled and cannot have a value."),
    _l("Invalid CSRF Token."),
    _l("CSRF token missing."),
    _l("CSRF failed."),
    _l("CSRF token expired."),
    _l("Invalid Choice: could not coerce."),
    _l("Not a valid choice."),
    _l("Invalid choice(s): one or more data inputs could not be coerced."),
    _ln("'%(value)s' is not a valid choice for this field.", "'%(value)s' are not valid choices for this field.", 1),
    _l("Not a valid datetime value."),
    _l("Not a valid date value."),
    _l("Not a valid time value."),
    _l("Not a valid week value."),
    _l("Not a valid integer value."),
    _l("Not a valid decimal value."),
    _l("Not a valid float value."),
)


class _Messages:
    """Our catalog first (it has every language we offer), then WTForms' own (messages we did not list). The
    strings come back unformatted: WTForms fills in %(min)d, %(max)d... itself."""

    def gettext(self, string):
        ours = flask_babel.get_translations().ugettext(string)
        return ours if ours != string else wtforms_translations.gettext(string)

    def ngettext(self, singular, plural, n):
        ours = flask_babel.get_translations().ungettext(singular, plural, n)
        return ours if ours != (singular if n == 1 else plural) else wtforms_translations.ngettext(singular, plural, n)


_messages = _Messages()


class Form(FlaskForm):
    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return _messages
