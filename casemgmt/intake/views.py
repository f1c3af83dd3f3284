from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt import htcds
from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.audit import record_event
from casemgmt.cases.operations import CaseError
from casemgmt.consent import queries as consent_queries
from casemgmt.core import submissions, versions
from casemgmt.core.pagination import paginate
from casemgmt.extensions import db
from casemgmt.i18n import format_datetime
from casemgmt.intake import corrections, operations, queries, vocabulary
from casemgmt.intake.forms import AttachForm, ContactForm, CorrectContactForm, OpenCaseForm, ScreeningForm
from casemgmt.revisions import operations as revisions
from casemgmt.revisions import pages

bp = Blueprint("intake", __name__)


@bp.get("/intake/")
@requires(Action.CONTACT_VIEW)
def queue():
    page = paginate(queries.queue_query(current_user), current_app.config["SETTINGS"].page_size)
    return render_template("intake/queue.html", page=page, v=vocabulary, htcds=htcds,
                           can_log=allowed(current_user, Action.CONTACT_LOG))


@bp.route("/intake/contacts/new", methods=["GET", "POST"])
@requires(Action.CONTACT_LOG)
def new_contact():
    form = ContactForm()
    if form.validate_on_submit():
        try:
            contact = operations.log_contact(current_user, form.values())
        except operations.IntakeError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            shown = url_for("intake.contact", contact_id=contact.id)
            submissions.consume(form, shown)
            db.session.commit()
            flash(_("Contact recorded."), "success")
            return redirect(shown)
    return render_template("intake/contact_form.html", form=form), 200 if request.method == "GET" else 422


def _contact_page(contact, attach_form: AttachForm, status: int = 200):
    texts = queries.contact_texts(contact)
    record_event("contact.view", object_type="contact", object_id=contact.id, case_id=contact.case_id,
                 actor=current_user)
    db.session.commit()  # the view event
    linked = contact.case
    return render_template(
        "intake/contact.html", contact=contact, texts=texts, v=vocabulary, htcds=htcds, attach_form=attach_form,
        can_act=allowed(current_user, Action.CONTACT_LOG, contact),
        can_correct=allowed(current_user, Action.CONTACT_CORRECT, contact) and texts is not None,
        has_history=bool(revisions.has_revisions(corrections.KIND, [contact.id])),
        can_open_case=linked is None and allowed(current_user, Action.CASE_CREATE),
        can_view_case=linked is not None and allowed(current_user, Action.CASE_VIEW, linked),
    ), status


@bp.get("/intake/contacts/<contact_id>")
@requires(Action.CONTACT_VIEW)
def contact(contact_id):
    return _contact_page(queries.contact_for(current_user, contact_id), AttachForm(formdata=None))


@bp.post("/intake/contacts/<contact_id>/handled")
@requires(Action.CONTACT_LOG)
def mark_handled(contact_id):
    found = queries.contact_for(current_user, contact_id)
    try:
        operations.mark_handled(current_user, found)
    except operations.IntakeError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        flash(_("Marked as handled."), "success")
    return redirect(url_for("intake.contact", contact_id=contact_id))


@bp.post("/intake/contacts/<contact_id>/attach")
@requires(Action.CONTACT_LOG)
def attach(contact_id):
    found = queries.contact_for(current_user, contact_id)
    form = AttachForm()
    if form.validate_on_submit():
        try:
            case = operations.attach_contact(current_user, found, form.reference.data)
        except operations.IntakeError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            db.session.commit()
            flash(_("Contact attached to case %(ref)s.", ref=case.reference), "success")
            return redirect(url_for("intake.case_contacts", case_id=case.id))
    return _contact_page(found, form, status=422)


def _prefill(contact) -> dict:
    """What the contact already tells about the person: their own name and phone when they called themselves."""
    data: dict = {"languages": [contact.language] if contact.language else []}
    texts = queries.contact_texts(contact) or {}
    if contact.caller_type == "PotentialVictim":
        data.update(given_name=texts.get("caller_name"), phone=texts.get("caller_phone"))
    return data


@bp.route("/intake/contacts/<contact_id>/open-case", methods=["GET", "POST"])
@requires(Action.CASE_CREATE)
def open_case(contact_id):
    found = queries.contact_for(current_user, contact_id)
    if request.method == "GET" and found.case_id is not None:
        flash(_("This contact is already linked to a case."), "info")
        return redirect(url_for("intake.contact", contact_id=found.id))
    form = OpenCaseForm(data=_prefill(found) if request.method == "GET" else None)
    report = None
    if form.validate_on_submit():
        try:
            case = operations.open_case_from_contact(
                current_user, found, form.values(), create_anyway=request.form.get("create_anyway") == "yes"
            )
        except operations.PossibleDuplicates as possible:
            report = possible.report
            db.session.commit()  # the duplicate check's audit event; nothing else was changed
        except (operations.IntakeError, CaseError) as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            shown = url_for("cases.view", case_id=case.id)
            submissions.consume(form, shown)
            db.session.commit()
            flash(_("Case %(ref)s opened from this contact.", ref=case.reference), "success")
            return redirect(shown)
    status = 200 if request.method == "GET" or report is not None else 422
    return render_template("intake/open_case.html", contact=found, form=form, report=report, v=vocabulary,
                           matched_labels=vocabulary.MATCHED_FIELDS), status


@bp.get("/cases/<case_id>/contacts")
@requires(Action.CASE_VIEW)
def case_contacts(case_id):
    case = queries.case_for(current_user, case_id, Action.CASE_VIEW)
    contacts = queries.contacts_of_case(current_user, case.id)
    # Screening interviews are the owning organisation's; a referral does not reach them (access/scope.py).
    show_screenings = allowed(current_user, Action.SCREENING_VIEW, case)
    screenings = queries.screenings_of(case.id) if show_screenings else []
    read_notes = queries.may_read_screening_notes(current_user, case)
    texts = queries.screening_texts(screenings) if read_notes else {}
    if read_notes and screenings:
        record_event("screening.view", object_type="case", object_id=case.id, case_id=case.id, actor=current_user)
        db.session.commit()
    return render_template(
        "intake/case_contacts.html", case=case, contacts=contacts, screenings=screenings, texts=texts,
        read_notes=read_notes, v=vocabulary, htcds=htcds, show_screenings=show_screenings,
        can_screen=allowed(current_user, Action.SCREENING_RECORD, case),
    )


@bp.route("/cases/<case_id>/screening/new", methods=["GET", "POST"])
@requires(Action.SCREENING_RECORD)
def new_screening(case_id):
    case = queries.case_for(current_user, case_id, Action.SCREENING_RECORD)
    consents = consent_queries.interview_consents(case.id)
    choices = [
        (r.id, _("Consent of %(date)s, obtained by %(name)s", date=format_date(r.obtained_on),
                 name=r.obtained_by.display_name if r.obtained_by else "—"))
        for r in consents
    ]
    form = ScreeningForm(consent_choices=choices)
    if request.method == "GET":
        form.screened_on.data = date.today()
        languages = (case.person.languages or "").split(",") if case.person is not None else []
        form.language.data = languages[0] if languages else ""
    if form.validate_on_submit():
        try:
            screening = operations.record_screening(current_user, case, form.values())
        except operations.IntakeError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            shown = url_for("intake.case_contacts", case_id=case.id)
            submissions.consume(form, shown)
            db.session.commit()
            if screening.finding:
                flash(_("Screening recorded. The case's trafficking status is now: %(status)s.",
                        status=htcds.TRAFFICKING_STATUS.label(screening.finding)), "success")
            else:
                flash(_("Screening recorded."), "success")
            return redirect(shown)
    return render_template(
        "intake/screening_form.html", case=case, form=form, has_consents=bool(consents),
        can_record_consent=allowed(current_user, Action.CONSENT_RECORD, case),
    ), 200 if request.method == "GET" else 422


# Corrections (issue 12, item 6) ----------------------------------------------------------------------------------


def _correction_page(contact, form, status: int = 200):
    return pages.correction_page(
        heading=_("Correct the contact of %(when)s", when=format_datetime(contact.occurred_at)), case=None,
        form=form, action=url_for("intake.correct", contact_id=contact.id),
        back=url_for("intake.contact", contact_id=contact.id),
        delete_form=pages.delete_form_for(contact) if allowed(current_user, Action.CONTACT_DELETE, contact) else None,
        delete_action=url_for("intake.delete", contact_id=contact.id),
        history_url=url_for("intake.history", contact_id=contact.id)
        if revisions.has_revisions(corrections.KIND, [contact.id]) else None,
        help={"summary": _("Encrypted.")}, status=status,
    )


@bp.route("/intake/contacts/<contact_id>/correct", methods=["GET", "POST"])
@requires(Action.CONTACT_CORRECT)
def correct(contact_id):
    posted = request.method == "POST"
    found = corrections.load(current_user, contact_id, Action.CONTACT_CORRECT, deleted=posted)
    if not posted:
        form = CorrectContactForm(formdata=None, data={**corrections.snapshot(found), "version": found.version})
        # The form shows what the caller said: a reading, audited as the contact's page is.
        record_event("contact.view", object_type="contact", object_id=found.id, case_id=found.case_id,
                     actor=current_user)
        db.session.commit()
        return _correction_page(found, form)
    form = CorrectContactForm()
    return pages.save_correction(
        found, form, refused=operations.IntakeError,
        save=lambda: corrections.correct_contact(current_user, found, form.correction_values(),
                                                 versions.base_of(form.version.data), form.correction_reason.data),
        shown=url_for("intake.contact", contact_id=contact_id),
        done=_("Contact corrected. The earlier version is kept in its history."),
        # the conflict page shows what the contact says now: a reading, audited as the contact's page is
        before_conflict=lambda clash: record_event("contact.view", object_type="contact", object_id=found.id,
                                                   case_id=found.case_id, actor=current_user),
        conflict=lambda clash: {
            "heading": _("Someone else changed this contact while you were correcting it"),
            "action": url_for("intake.correct", contact_id=contact_id), "discard": url_for("intake.queue")},
        invalid=lambda: _correction_page(found, form, status=422))


@bp.post("/intake/contacts/<contact_id>/delete")
@requires(Action.CONTACT_DELETE)
def delete(contact_id):
    found = corrections.load(current_user, contact_id, Action.CONTACT_DELETE, deleted=True)
    return pages.delete_posted(
        found, refused=operations.IntakeError,
        delete=lambda reason, base: corrections.delete_contact(current_user, found, reason, base),
        listed=url_for("intake.queue"), correct_url=url_for("intake.correct", contact_id=contact_id),
        done=_("Contact deleted. It no longer appears anywhere; its history keeps who deleted it and why."))


@bp.get("/intake/contacts/<contact_id>/history")
@requires(Action.CONTACT_VIEW)
def history(contact_id):
    found = corrections.load(current_user, contact_id, Action.CONTACT_VIEW, deleted=True)
    shown = revisions.history(current_user, corrections.KIND, found)
    db.session.commit()  # the reading's audit event
    back = None if found.is_deleted else url_for("intake.contact", contact_id=contact_id)
    return pages.history_page(corrections.KIND, found, shown, back=back)
