"""The pages every correctable record shares: correcting it (and deleting it), and reading its earlier versions."""

from __future__ import annotations

from flask import render_template

from casemgmt.revisions.forms import DeleteForm


def delete_form_for(record) -> DeleteForm:
    form = DeleteForm(formdata=None)
    form.version.data = record.version
    return form


def correction_page(*, heading: str, case, form, action: str, back: str, delete_form=None,
                    delete_action: str | None = None, history_url: str | None = None, help: dict | None = None,
                    status: int = 200):
    """The correction form, and beside it the deletion form (only when the policy allows the user to delete)."""
    return render_template(
        "revisions/correct.html", heading=heading, case=case, form=form, action=action, back=back,
        delete_form=delete_form, delete_action=delete_action, history_url=history_url, help=help or {},
    ), status


def history_page(kind, record, versions, *, back: str | None, case=None):
    """A record's earlier versions; the caller has committed history()'s audit event first."""
    return render_template("revisions/history.html", kind=kind, record=record, versions=versions, back=back,
                           case=case, deleted=getattr(record, "deleted_at", None))
