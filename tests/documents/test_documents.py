"""Documents through their pages: content-type by content, encryption at rest, limits, safe downloads, erasure."""

from __future__ import annotations

import io
import json
from pathlib import Path

from sqlalchemy import func, select, text

from casemgmt.audit.events import SYSTEM
from casemgmt.cases import operations as cases
from casemgmt.cases.models import Case
from casemgmt.documents import storage
from casemgmt.documents.demo import tiny_png
from casemgmt.documents.models import Document
from casemgmt.extensions import db
from casemgmt.referrals.models import Referral
from tests.auth.support import new_web
from tests.referrals.conftest import events, new_case

PNG = tiny_png()
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64 + b"This program cannot be run"


def _upload(web, case_id, data: bytes, name="pasaporte María.png", kind="identity_document", mimetype="image/png"):
    return web.post(f"/cases/{case_id}/documents", {"kind": kind, "file": (io.BytesIO(data), name, mimetype)},
                    token_page=f"/cases/{case_id}/documents")


def _documents(app) -> list[Document]:
    with app.app_context():
        return list(db.session.scalars(select(Document).order_by(Document.uploaded_at)))


def _file(app, doc: Document) -> Path:
    return Path(app.instance_path) / "documents" / doc.case_id / f"{doc.id}.bin"


def test_a_png_and_a_pdf_are_stored_encrypted_and_come_back_identical(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    assert _upload(web, case_id, PNG).status_code == 302
    assert _upload(web, case_id, PDF, name="consentimiento.pdf", kind="consent_form",
                   mimetype="application/octet-stream").status_code == 302
    png_doc, pdf_doc = _documents(app)
    assert (png_doc.content_type, png_doc.size, png_doc.kind) == ("image/png", len(PNG), "identity_document")
    assert (pdf_doc.content_type, pdf_doc.kind) == ("application/pdf", "consent_form")
    for doc, plain in ((png_doc, PNG), (pdf_doc, PDF)):
        on_disk = _file(app, doc).read_bytes()
        assert not on_disk.startswith(plain[:4]) and plain[:16] not in on_disk
        assert oct(_file(app, doc).stat().st_mode & 0o777) == "0o600"
    page = web.get(f"/cases/{case_id}/documents").get_data(as_text=True)
    assert "pasaporte María.png" in page and "consentimiento.pdf" in page
    response = web.get(f"/cases/{case_id}/documents/{png_doc.id}/download")
    assert response.status_code == 200
    assert response.data == PNG
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"] == 'attachment; filename="pasaporte_Maria.png"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    pdf = web.get(f"/cases/{case_id}/documents/{pdf_doc.id}/download")
    assert pdf.data == PDF and pdf.headers["Content-Type"] == "application/pdf"
    with app.app_context():
        uploads = [json.loads(e.details) for e in events("document.upload")]
        assert uploads[0] == {"content_type": "image/png", "kind": "identity_document", "size": len(PNG)}
        [download] = events("document.download")[:1]
        assert json.loads(download.details) == {"kind": "identity_document", "size": len(PNG)}
        assert download.case_id == case_id
        assert all("pasaporte" not in e.details for e in events())
        raw = db.session.execute(text("SELECT filename FROM documents")).scalars().all()
        assert all(b"pasaporte" not in bytes(r) and b"consent" not in bytes(r) for r in raw)


NOT_DOCUMENTS = (
    (EXE, "passport.pdf", "application/pdf"),
    (b"Just some notes about the case.\n", "notes.txt", "text/plain"),
    (b"<html><script>alert(1)</script></html>", "scan.png", "image/png"),
    (b"GIF89a\x01\x00\x01\x00", "photo.jpg", "image/jpeg"),
)


def test_files_are_judged_by_content_not_by_name(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    for data, name, mimetype in NOT_DOCUMENTS:
        response = _upload(web, case_id, data, name=name, mimetype=mimetype)
        assert response.status_code == 422, name
        assert "This file is not a PDF, PNG or JPEG document" in response.get_data(as_text=True)
    assert _documents(app) == []
    folder = Path(app.instance_path) / "documents" / case_id
    assert not folder.exists() or not any(folder.iterdir())


def test_bad_uploads_are_refused_with_a_message(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    for data, kind, message in (
        (b"", "identity_document", "The file is empty."),
        (PNG, "", "Choose what kind of document this is."),
        (PNG, "selfie", "Not a valid choice."),
    ):
        response = _upload(web, case_id, data, kind=kind)
        assert response.status_code == 422, message
        assert message in response.get_data(as_text=True)
    assert _documents(app) == []


def test_a_missing_file_is_refused(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    response = web.post(f"/cases/{case_id}/documents", {"kind": "other"}, token_page=f"/cases/{case_id}/documents")
    assert response.status_code == 422
    assert "Choose a file to upload." in response.get_data(as_text=True)


def test_a_file_over_the_limit_gets_the_friendly_413(app, web, w, monkeypatch):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    monkeypatch.setattr(storage, "max_upload_bytes", lambda: 1024)
    big = PNG + b"\x00" * 2048
    response = _upload(web, case_id, big)
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "What you sent is larger than allowed." in html and "Reference:" in html
    assert _documents(app) == []
    # Exactly at the limit is fine.
    assert _upload(web, case_id, PNG + b"\x00" * (1024 - len(PNG))).status_code == 302


def test_a_body_over_the_application_limit_is_refused_too(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    huge = PNG + b"\x00" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    assert _upload(web, case_id, huge).status_code == 413
    assert _documents(app) == []


def test_another_organisation_gets_404_everywhere(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    _upload(web, case_id, PNG)
    [doc] = _documents(app)
    other = new_web(app)
    other.login("supervisor2")
    assert other.get(f"/cases/{case_id}/documents").status_code == 404
    assert other.get(f"/cases/{case_id}/documents/{doc.id}/download").status_code == 404
    assert other.post(f"/cases/{case_id}/documents", {"kind": "other", "file": (io.BytesIO(PNG), "x.png")},
                      token_page="/cases/").status_code == 404
    # A document id under another case's URL is not found either.
    own = new_case(app, w.caseworker2)
    assert other.get(f"/cases/{own}/documents/{doc.id}/download").status_code == 404
    hotline = new_web(app)
    hotline.login("hotline")
    assert hotline.get(f"/cases/{case_id}/documents").status_code == 403
    assert len(_documents(app)) == 1


PATH_TRICKS = ("..%2F..%2Fkeyring", "..", "%2e%2e", "../../secret_key", "..%5C..%5Ckeyring", "x" * 300,
               "00000000-0000-4000-8000-000000000000", "%00", "keyring")


def test_path_tricks_in_the_document_id_are_404(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    _upload(web, case_id, PNG)
    [doc] = _documents(app)
    for document_id in (*PATH_TRICKS, f"{doc.id}/../{doc.id}", f"..%2F{case_id}%2F{doc.id}"):
        response = web.get(f"/cases/{case_id}/documents/{document_id}/download")
        assert response.status_code == 404, document_id
        assert b"PNG" not in response.data
    for case_part in ("..", "..%2Fdocuments", case_id.upper()):
        assert web.get(f"/cases/{case_part}/documents/{doc.id}/download").status_code == 404, case_part


def test_the_mission_downloads_and_uploads_through_an_accepted_referral(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    _upload(web, case_id, PNG)
    [doc] = _documents(app)
    mission = new_web(app)
    mission.login("mission")
    assert mission.get(f"/cases/{case_id}/documents/{doc.id}/download").status_code == 404
    web.post(f"/cases/{case_id}/referrals", {"to_organisation_id": str(w.mission_org.id),
                                             "reason": "MigrationOrChangeOfLocation", "consent_basis": "consent"},
             token_page=f"/cases/{case_id}/referrals")
    with app.app_context():
        referral_id = db.session.scalar(select(Referral.id))
    mission.post(f"/referrals/{referral_id}/accept", token_page="/referrals/")
    assert mission.get(f"/cases/{case_id}/documents/{doc.id}/download").data == PNG
    assert _upload(mission, case_id, PDF, name="laissez-passer.pdf", kind="travel_document").status_code == 302
    assert len(_documents(app)) == 2


def test_an_erased_case_loses_its_files_and_its_downloads(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    _upload(web, case_id, PNG)
    _upload(web, case_id, PDF, name="c.pdf", kind="consent_form")
    docs = _documents(app)
    assert all(_file(app, d).exists() for d in docs)
    with app.test_request_context():
        cases.erase_case(SYSTEM, db.session.get(Case, case_id))
        assert storage.erase_case_files(case_id) == 2
        db.session.commit()
        assert storage.erase_case_files(case_id) == 0
    assert not any(_file(app, d).exists() for d in docs)
    assert not (Path(app.instance_path) / "documents" / case_id).exists()
    for doc in docs:
        assert web.get(f"/cases/{case_id}/documents/{doc.id}/download").status_code == 404
    assert web.get(f"/cases/{case_id}/documents").status_code == 404
    with app.app_context():
        # The rows stay for statistics (kind, size); their names went with the keys.
        assert db.session.scalar(select(func.count()).select_from(Document)) == 2


def test_a_file_moved_to_another_document_does_not_decrypt(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    _upload(web, case_id, PNG)
    _upload(web, case_id, PDF, name="c.pdf", kind="consent_form")
    png_doc, pdf_doc = _documents(app)
    _file(app, pdf_doc).write_bytes(_file(app, png_doc).read_bytes())
    response = web.get(f"/cases/{case_id}/documents/{pdf_doc.id}/download")
    assert response.status_code == 500
    assert b"PNG" not in response.data and b"%PDF" not in response.data


def test_documents_timeline(app, web, w):
    from casemgmt.documents import timeline

    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    _upload(web, case_id, PNG)
    with app.test_request_context():
        case = db.session.get(Case, case_id)
        [entry] = timeline.entries(db.session.get(type(w.caseworker), w.caseworker.id), case)
        assert entry.kind == "document" and entry.detail == "Identity document scan"
        assert "pasaporte" not in entry.title + entry.detail
        assert timeline.entries(db.session.get(type(w.mission), w.mission.id), case) == []
