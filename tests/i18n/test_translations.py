"""Every catalog (Spanish, French, Portuguese, Haitian Creole) is complete, consistent and compiled, and the pages
really switch language.

When a test here fails after you added or changed a user-facing string: run scripts/i18n.sh, translate the empty
or "#, fuzzy" entries in casemgmt/translations/<lang>/LC_MESSAGES/messages.po, and run scripts/i18n.sh again.
"""

from __future__ import annotations

import gettext
import io
import re
import shlex
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from babel.support import Translations

import casemgmt
from tests import factories

PACKAGE = Path(casemgmt.__file__).resolve().parent
REPO = PACKAGE.parent
SCRIPT = REPO / "scripts" / "i18n.sh"
BABEL_CFG = PACKAGE / "babel.cfg"
TRANSLATIONS = PACKAGE / "translations"
# Every language the interface offers besides English, the source (casemgmt.settings.SUPPORTED_LANGUAGES).
LANGUAGES = ("es", "fr", "pt", "ht")
ES_PO = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"


def _po(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def _mo(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo"

# printf-style conversions as Python's % operator reads them: %(name)s, %d, %.2f ... and the literal %%.
PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])"
)


# --- helpers ---------------------------------------------------------------------------------------------------------


def _script_options() -> tuple[dict, list[str]]:
    """The extraction keywords and comment tags exactly as scripts/i18n.sh passes them to pybabel."""
    tokens = shlex.split(SCRIPT.read_text(encoding="utf-8"), comments=True)
    keywords = [t.split("=", 1)[1] for t in tokens if t.startswith("--keyword=")]
    comment_tags = [t.split("=", 1)[1] for t in tokens if t.startswith("--add-comments=")]
    assert keywords, "scripts/i18n.sh passes no --keyword= options"
    merged = DEFAULT_KEYWORDS.copy()
    merged.update(parse_keywords(keywords))
    return merged, comment_tags


def _extract() -> dict[tuple[object, str | None], list[str]]:
    """Messages in the source right now (not the committed .pot): {(msgid, context): ["file:line", ...]}."""
    keywords, comment_tags = _script_options()
    with BABEL_CFG.open(encoding="utf-8") as fileobj:
        method_map, options_map = parse_mapping_cfg(fileobj, filename=str(BABEL_CFG))
    found: dict[tuple[object, str | None], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(PACKAGE), method_map, options_map, keywords=keywords, comment_tags=comment_tags
    ):
        found.setdefault((message, context), []).append(f"casemgmt/{filename}:{lineno}")
    return found


def _read_po(lang: str = "es"):
    with _po(lang).open("rb") as fileobj:
        return read_po(fileobj, locale=lang)


def _forms(value) -> list[str]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _placeholders(text: str) -> Counter:
    found = Counter()
    for match in PLACEHOLDER.finditer(text):
        if match.group("conv") != "%":
            found[(match.group("name"), match.group("conv"))] += 1
    return found


def _label(message) -> str:
    return repr(message.id if not isinstance(message.id, tuple) else message.id[0])


# --- the catalog -----------------------------------------------------------------------------------------------------


def test_every_offered_language_has_a_catalog():
    from casemgmt.settings import SUPPORTED_LANGUAGES

    assert set(SUPPORTED_LANGUAGES) == {"en", *LANGUAGES}
    for lang in LANGUAGES:
        assert _po(lang).is_file(), f"no catalog for {lang}: run scripts/i18n.sh {lang}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_covers_every_message_in_the_source(lang):
    catalog = _read_po(lang)
    source = _extract()
    assert len(source) > 100, "extraction found almost nothing: is casemgmt/babel.cfg right?"
    problems = []
    for (msgid, context), where in sorted(source.items(), key=lambda item: item[1][0]):
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        entry = catalog.get(key, context=context)
        place = where[0]
        if entry is None:
            problems.append(f"{place}: {key!r} is not in {lang}/messages.po")
        elif entry.fuzzy:
            problems.append(f"{place}: {key!r} is marked fuzzy")
        elif isinstance(msgid, tuple) and not isinstance(entry.id, tuple):
            problems.append(f"{place}: {key!r} is a plural in the source but not in {lang}/messages.po")
        elif not all(form.strip() for form in _forms(entry.string)):
            problems.append(f"{place}: {key!r} has no translation")
    assert not problems, (
        f"{len(problems)} message(s) lack a {lang} translation; run scripts/i18n.sh, translate, run it again:\n"
        + "\n".join(problems[:50])
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_has_the_plural_forms_of_its_language(lang):
    """Plurals follow the language's own rule (CLDR through Babel): French and Portuguese have a third form for
    millions ("1 000 000 de cas"), Haitian Creole does not inflect."""
    catalog = _read_po(lang)
    # Spanish keeps gettext's usual two forms (its catalog predates CLDR's "many"; "1000000 casos" reads fine).
    expected = 2 if lang == "es" else get_plural(lang).num_plurals
    assert catalog.num_plurals == expected, f"{lang}: header says {catalog.plural_forms}"
    plurals = [m for m in catalog if m.id and isinstance(m.id, tuple)]
    assert plurals, "the catalog should hold the ngettext messages (e.g. '%(num)d case')"
    for message in plurals:
        assert len(message.string) == catalog.num_plurals, f"{_label(message)} needs {catalog.num_plurals} forms"
    translations = Translations.load(str(TRANSLATIONS), [lang])
    one, many = translations.ngettext("%(num)d case", "%(num)d cases", 1), translations.ngettext(
        "%(num)d case", "%(num)d cases", 5)
    assert one != "%(num)d case" and many != "%(num)d cases"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_placeholders_of_the_original(lang):
    catalog = _read_po(lang)
    problems = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        originals = [_placeholders(text) for text in _forms(message.id)]
        for form in _forms(message.string):
            if not form:
                continue
            # Every form must use the same placeholders as the singular or the plural English text.
            if _placeholders(form) not in originals:
                problems.append(f"{_label(message)}: {dict(_placeholders(form))} vs {[dict(o) for o in originals]}")
    # Babel's own checks (python-format compatibility, plural form count) as a second opinion.
    for message, errors in catalog.check():
        problems.extend(f"{_label(message)}: {error}" for error in errors)
    assert not problems, f"placeholders differ between English and {lang}:\n" + "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_has_no_obsolete_or_untranslated_leftovers(lang):
    catalog = _read_po(lang)
    untranslated = [_label(m) for m in catalog if m.id and not all(_forms(m.string))]
    fuzzy = [_label(m) for m in catalog if m.id and m.fuzzy]
    assert not untranslated, f"{len(untranslated)} untranslated entries in {lang}/messages.po: {untranslated[:30]}"
    assert not fuzzy, f"fuzzy entries in {lang}/messages.po: {fuzzy[:30]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalog_matches_the_po_file(lang):
    """The committed .mo is what the app loads; it must say exactly what the .po says."""
    assert _mo(lang).is_file(), f"casemgmt/translations/{lang}/LC_MESSAGES/messages.mo is missing: run scripts/i18n.sh"
    buffer = io.BytesIO()
    write_mo(buffer, _read_po(lang), use_fuzzy=False)
    buffer.seek(0)
    expected = gettext.GNUTranslations(buffer)._catalog
    with _mo(lang).open("rb") as fileobj:
        committed = Translations(fileobj)._catalog
    stale = sorted(
        (repr(key) for key in expected.keys() | committed.keys() if expected.get(key) != committed.get(key)), key=str
    )
    assert not stale, f"{lang}/messages.mo is out of date with messages.po; run scripts/i18n.sh:\n" + "\n".join(
        stale[:20])


def test_translation_directory_resolves_inside_the_package(app):
    from flask_babel import get_babel

    with app.app_context():
        directories = [Path(d).resolve() for d in get_babel().translation_directories]
    assert TRANSLATIONS.resolve() in directories


# --- through the web -------------------------------------------------------------------------------------------------


def _lang(html: str) -> str | None:
    match = re.search(r"<html[^>]*\blang=\"([^\"]*)\"", html)
    return match.group(1) if match else None


def test_login_page_follows_the_browser_language(web):
    english = web.get("/login").get_data(as_text=True)
    assert _lang(english) == "en"
    assert "Log in" in english and "Iniciar sesión" not in english
    spanish = web.get("/login", headers={"Accept-Language": "es-PE,es;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert _lang(spanish) == "es"
    assert "Iniciar sesión" in spanish
    assert "Frase de contraseña" in spanish
    assert "¿Olvidó su frase de contraseña?" in spanish
    assert "Log in" not in spanish


def test_language_switcher_on_the_login_page(web):
    switched = web.post("/language", {"language": "es", "next": "/login"}, token_page="/login")
    assert switched.status_code == 302
    assert switched.headers["Location"].endswith("/login")
    page = web.get("/login").get_data(as_text=True)
    assert _lang(page) == "es"
    assert "Iniciar sesión" in page
    assert '<option value="es" selected>' in page
    # A language the deployment does not offer is ignored.
    web.post("/language", {"language": "xx"}, token_page="/login")
    assert _lang(web.get("/login").get_data(as_text=True)) == "es"
    web.post("/language", {"language": "en"}, token_page="/login")
    page = web.get("/login").get_data(as_text=True)
    assert _lang(page) == "en"
    assert "Log in" in page


def test_form_errors_are_in_spanish(web):
    token = web.token("/login")
    response = web.client.post(
        "/login", data={"username": "", "password": "", "csrf_token": token},
        headers={"Accept-Language": "es"},
    )
    html = response.get_data(as_text=True)
    assert _lang(html) == "es"
    # WTForms' built-in messages come from its own Spanish catalog (through Flask-WTF and Flask-Babel).
    assert "Este campo es obligatorio." in html
    assert "This field is required." not in html
    wrong = web.client.post(
        "/login", data={"username": "nobody", "password": "not-the-passphrase", "csrf_token": token},
        headers={"Accept-Language": "es"},
    ).get_data(as_text=True)
    assert "El nombre de usuario, la frase de contraseña o el código no son correctos" in wrong


def test_caseworker_sees_the_case_list_in_spanish_and_can_switch_back(app, web):
    with app.app_context():
        w = factories.world()
        reference = factories.case(w.caseworker).reference
    assert web.login("caseworker").status_code == 302

    assert web.post("/language", {"language": "es", "next": "/cases/"}).status_code == 302
    page = web.get("/cases/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert _lang(html) == "es"
    assert reference in html
    for text in ("Casos", "Nuevo caso", "Etapa", "Estado", "Asignado a", "1 caso", "Ingreso", "Activo",
                 "Cerrar sesión", "Mi cuenta", "Idioma"):
        assert text in html, f"{text!r} missing from the Spanish case list"
    for text in ("New case", "Log out", "My account", "All stages"):
        assert text not in html, f"{text!r} is still in English on the Spanish case list"

    assert web.post("/language", {"language": "en", "next": "/cases/"}).status_code == 302
    html = web.get("/cases/").get_data(as_text=True)
    assert _lang(html) == "en"
    for text in ("Cases", "New case", "Stage", "1 case", "Intake", "Log out"):
        assert text in html, f"{text!r} missing from the English case list"
    assert "Nuevo caso" not in html


def test_a_logged_in_users_choice_is_remembered_across_sessions(app, web):
    with app.app_context():
        factories.world()
    web.login("caseworker")
    web.post("/language", {"language": "es"})
    web.logout()
    web.login("caseworker")
    html = web.get("/cases/").get_data(as_text=True)
    assert _lang(html) == "es"
    assert "Nuevo caso" in html


def test_language_chosen_on_the_login_page_survives_login(app, web):
    with app.app_context():
        factories.world()
    web.post("/language", {"language": "es"}, token_page="/login")
    web.login("caseworker")
    assert _lang(web.get("/cases/").get_data(as_text=True)) == "es"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_wtforms_own_messages_are_in_every_language(web, lang):
    """"This field is required." comes from WTForms, which has no Haitian Creole catalog: ours carries it
    (casemgmt/core/forms.py), so no language falls back to English."""
    expected = Translations.load(str(TRANSLATIONS), [lang]).gettext("This field is required.")
    assert expected != "This field is required."
    token = web.token("/login")
    html = web.client.post(
        "/login", data={"username": "", "password": "", "csrf_token": token}, headers={"Accept-Language": lang},
    ).get_data(as_text=True)
    assert _lang(html) == lang
    assert expected in html
    assert "This field is required." not in html
