from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.core import submissions
from casemgmt.documents import operations, queries, storage
from casemgmt.documents.forms import UploadForm
from casemgmt.documents.models import DOCUMENT_KINDS
from casemgmt.extensions import db

bp = Blueprint("documents", __name__)


def _render(case, form=None, status=200):
    can_upload = allowed(current_user, Action.DOCUMENT_UPLOAD, case)
    return render_template(
        "documents/case_index.html", case=case, documents=queries.case_documents(current_user, case),
        form=(form or UploadForm()) if can_upload else None, kinds=DOCUMENT_KINDS,
        max_mib=storage.max_upload_bytes() / (1024 * 1024),
    ), status


@bp.get("/cases/<case_id>/documents")
@requires(Action.DOCUMENT_DOWNLOAD)
def case_index(case_id):
    return _render(operations.load_case(current_user, case_id, Action.DOCUMENT_DOWNLOAD))


@bp.post("/cases/<case_id>/documents")
@requires(Action.DOCUMENT_UPLOAD)
def upload(case_id):
    case = operations.load_case(current_user, case_id, Action.DOCUMENT_UPLOAD)
    form = UploadForm()
    if form.validate_on_submit():
        limit = storage.max_upload_bytes()
        # Read one byte past the limit: enough to know it is too large without holding more of it.
        data = form.file.data.stream.read(limit + 1)
        if len(data) > limit:
            abort(413)
        try:
            document = operations.upload_document(current_user, case, form.kind.data, form.file.data.filename, data)
        except operations.DocumentError as exc:
            db.session.rollback()
            form.file.errors.append(str(exc))
        else:
            try:
                submissions.consume(form, url_for("documents.case_index", case_id=case.id))
                db.session.commit()
            except Exception:
                # No row, no file: an upload whose record was not saved leaves nothing behind on disk.
                operations.discard_file(document)
                raise
            flash(_("Document uploaded."), "success")
            return redirect(url_for("documents.case_index", case_id=case.id))
    return _render(case, form, 422)


@bp.get("/cases/<case_id>/documents/<document_id>/download")
@requires(Action.DOCUMENT_DOWNLOAD)
def download(case_id, document_id):
    document, data, name = operations.open_document(current_user, case_id, document_id)
    db.session.commit()  # the download event
    return Response(data, mimetype=document.content_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    })
