"""docs/security.md, the OWASP ASVS 4.0.3 Level 2 map, stays true: every test it names exists, every row has a status,
and the counts at its top are the counts of its rows. Below them, the small tests the map needed for requirements
that nothing else proved (each names its requirement)."""

from __future__ import annotations

import collections
import re
import uuid
from pathlib import Path

from sqlalchemy import select

from casemgmt.auth import passwords
from casemgmt.cases.models import Case
from casemgmt.documents.filetypes import detect
from casemgmt.extensions import db
from tests import factories
from tests.auth.support import COOKIE, logged_in, new_web

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "security.md"
STATUSES = {"tested", "outside", "n/a", "gap"}
REQUIREMENT = re.compile(r"^\d+\.\d+\.\d+$")
TEST_REF = re.compile(r"(tests/[\w/]+\.py)::(\w+)")
COUNTS = re.compile(
    r"COUNTS: (\d+) requirements mapped: (\d+) tested, (\d+) outside, (\d+) not applicable, (\d+) gaps\."
)


def _rows() -> list[tuple[str, str, str, str, str]]:
    """(id, requirement, status, how, proof) of every table row whose first cell is a requirement id."""
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("| ") else []
        if cells and REQUIREMENT.match(cells[0]):
            assert len(cells) == 5, f"a row needs five cells: {line}"
            rows.append(tuple(cells))
    assert len(rows) > 200, "docs/security.md has lost its table rows (or their format changed)"
    return rows


def test_every_test_named_in_the_asvs_map_exists():
    missing = []
    for requirement, *_, proof in _rows():
        for path, name in TEST_REF.findall(proof):
            source = ROOT / path
            if not source.is_file() or not re.search(rf"^(async )?def {name}\(", source.read_text(), re.MULTILINE):
                missing.append(f"{requirement}: {path}::{name}")
    assert missing == []


def test_every_row_has_a_status_and_a_tested_row_names_a_test():
    bad = []
    for requirement, _, status, how, proof in _rows():
        if status not in STATUSES:
            bad.append(f"{requirement}: status {status!r}")
        elif status == "tested" and not TEST_REF.search(proof):
            bad.append(f"{requirement}: tested, but names no test")
        elif status != "tested" and proof.strip():
            bad.append(f"{requirement}: only a tested row names tests")
        elif status != "tested" and not how.strip():
            bad.append(f"{requirement}: {status} without a reason")
    assert bad == []


def test_each_requirement_has_one_row_in_order():
    ids = [tuple(int(p) for p in requirement.split(".")) for requirement, *_ in _rows()]
    assert len(ids) == len(set(ids))
    assert ids == sorted(ids)
    # Every chapter V1-V14 is mapped.
    assert {chapter for chapter, *_ in ids} == set(range(1, 15))


def test_the_counts_at_the_top_are_the_counts_of_the_rows():
    found = COUNTS.search(DOC.read_text(encoding="utf-8"))
    assert found, "docs/security.md lost its COUNTS line"
    mapped, tested, outside, not_applicable, gaps = (int(n) for n in found.groups())
    statuses = collections.Counter(status for _, _, status, _, _ in _rows())
    assert (mapped, tested, outside, not_applicable, gaps) == (
        sum(statuses.values()), statuses["tested"], statuses["outside"], statuses["n/a"], statuses["gap"]
    )


# -- requirements the map found without a test -------------------------------------------------------------------


def test_a_passphrase_is_not_truncated(ctx):
    """ASVS 2.1.3: all 128 characters count (bcrypt would stop at 72 bytes)."""
    long = "ñandú-quebrada-" * 8 + "final-word"
    long = long[:128]
    stored = passwords.hash_password(long)
    assert passwords.verify_password(stored, long)
    assert not passwords.verify_password(stored, long[:72])
    assert not passwords.verify_password(stored, long[:-1] + "X")


def test_unicode_and_emoji_passphrases_are_accepted_and_log_in(app, web):
    """ASVS 2.1.4: any printable Unicode, spaces and emoji included."""
    phrase = "Ñusta 李小龍 🌸 mariposa azul"
    with app.app_context():
        assert passwords.passphrase_problems(phrase, ["unicode"]) == []
        factories.user(factories.organisation("Org"), "caseworker", "unicode", password=phrase)
    web.login("unicode", phrase)
    assert logged_in(web.client)


def test_passphrase_fields_leave_room_for_password_managers(app, web, world):
    """ASVS 2.1.11: autocomplete hints for password managers, and no script that blocks pasting."""
    login = web.get("/login").get_data(as_text=True)
    assert 'autocomplete="current-password"' in login and 'autocomplete="username"' in login
    web.login("caseworker")
    change = web.get("/account/password").get_data(as_text=True)
    assert 'autocomplete="new-password"' in change
    assert "paste" not in (ROOT / "casemgmt" / "static" / "app.js").read_text().lower()
    assert "onpaste" not in login + change


def test_the_session_token_never_appears_in_a_url(app, web, world):
    """ASVS 3.1.1: the token lives in the cookie only, never in a redirect or a link."""
    response = web.login("caseworker")
    token = app.session_interface.get_signing_serializer(app).loads(web.client.get_cookie(COOKIE).value)["_user_id"]
    assert token not in response.headers["Location"]
    page = web.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert token not in page
    assert web.client.get_cookie(COOKIE).value not in page


def test_no_directory_listing_or_repository_files_are_served(app, client, world):
    """ASVS 4.3.2 and 12.5.1: only routed pages and the package's own static files."""
    for path in ("/static/", "/.git/config", "/.env", "/static/../casemgmt.db", "/instance/secret_key", "/app.py"):
        response = client.get(path)
        assert response.status_code == 404, path
    assert client.get("/static/app.css").status_code == 200


def test_only_pdf_png_and_jpeg_are_accepted_never_svg_or_xml():
    """ASVS 5.2.7 and 5.5.2: scriptable SVG and XML never get in, so no XML is ever parsed or served."""
    assert detect(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>') is None
    assert detect(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>') is None
    assert detect(b"<html><script>alert(1)</script></html>") is None
    assert {detect(b"%PDF-1.7").extension, detect(b"\x89PNG\r\n\x1a\n").extension,
            detect(b"\xff\xd8\xff\xe0").extension} == {"pdf", "png", "jpg"}


def test_new_row_ids_are_random_version_4_uuids(world):
    """ASVS 6.3.2: ids that are bound into ciphertexts come from uuid4 (os.urandom)."""
    first, second = factories.case(world.caseworker), factories.case(world.caseworker)
    for case_id in db.session.scalars(select(Case.id)):
        assert uuid.UUID(case_id).version == 4
    assert first.id != second.id


def test_every_response_names_its_content_type_and_charset(app, web, world):
    """ASVS 14.4.1: pages, errors and redirects all say what they are, text with its character set."""
    web.login("supervisor")
    for url in ("/", "/cases/", "/account", "/no-such-page", "/cases/00000000-0000-4000-8000-000000000000",
                "/static/app.css", "/healthz", "/login"):
        response = web.get(url)
        content_type = response.headers.get("Content-Type", "")
        assert content_type, url
        if content_type.startswith("text/"):
            assert "charset=utf-8" in content_type.lower(), (url, content_type)


def test_no_cors_headers_even_for_a_foreign_origin(app, web, world):
    """ASVS 14.5.3: same-origin only: a cross-origin request is never given access to a response."""
    web.login("supervisor")
    for url in ("/", "/cases/", "/login", "/healthz"):
        response = web.get(url, headers={"Origin": "null"})
        assert not any(name.lower().startswith("access-control-") for name, _ in response.headers), url
        response = web.get(url, headers={"Origin": "https://evil.example"})
        assert not any(name.lower().startswith("access-control-") for name, _ in response.headers), url


def test_device_features_are_refused_to_every_page(app, client):
    """ASVS 10.2.2: the pages ask for no camera, microphone or location, and forbid them to anything embedded."""
    policy = client.get("/login").headers["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in policy


def test_a_new_session_sees_the_account_after_login(app, world):
    """Control for the session tests above: a logged-in client is recognised (so 'not logged in' means refused)."""
    web = new_web(app)
    assert not logged_in(web.client)
    web.login("caseworker")
    assert logged_in(web.client)
