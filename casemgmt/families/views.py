"""The family page of a case, the tracing request page, and their forms. Each POST runs one operation and commits;
a refusal rolls back and shows the form again (422) with the field named."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt import htcds
from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.cases import age
from casemgmt.core import submissions, versions
from casemgmt.extensions import db
from casemgmt.families import forms, operations, queries, tracing_match
from casemgmt.families.models import (
    ASSESSMENT_RECOMMENDATIONS,
    ASSESSMENT_SAFETY,
    RELATIONSHIPS,
    TRACING_ACTION_KINDS,
    TRACING_ACTION_OUTCOMES,
    TRACING_REASONS,
    TRACING_STATUSES,
    WHEREABOUTS,
)

bp = Blueprint("families", __name__)

LABELS = {
    "relationships": RELATIONSHIPS, "whereabouts": WHEREABOUTS, "reasons": TRACING_REASONS,
    "statuses": TRACING_STATUSES, "kinds": TRACING_ACTION_KINDS, "outcomes": TRACING_ACTION_OUTCOMES,
    "safety": ASSESSMENT_SAFETY, "recommendations": ASSESSMENT_RECOMMENDATIONS,
}


def _refused(exc: operations.FamilyError, form, render):
    """Nothing is saved: undo what the operation began, name the field (or say why), show the form again."""
    db.session.rollback()
    field = form._fields.get(exc.field) if exc.field else None
    if field is not None:
        field.errors = [*list(field.errors or ()), str(exc)]
    else:
        flash(str(exc), "danger")
    return render(form, 422)


def _form_page(form, *, case, heading: str, action: str, back: str, submit: str, status: int = 200, **extra):
    return render_template("families/form.html", form=form, case=case, heading=heading, action=action, back=back,
                           submit=submit, **extra), status


def _family_url(case_id: str) -> str:
    return url_for("families.case_index", case_id=case_id)


# The family page -------------------------------------------------------------------------------------------------

@bp.get("/cases/<case_id>/family")
@requires(Action.FAMILY_VIEW)
def case_index(case_id):
    case = operations.open_family_page(current_user, case_id)
    db.session.commit()  # the view event
    members = queries.live_members(case.id)
    revealed = {m.id: queries.reveal(m) for m in members}
    requests = queries.requests_of(case.id)
    visits = queries.visits_of(case.id)
    can_trace = allowed(current_user, Action.TRACING_MANAGE, case) and case.stage != "closed"
    return render_template(
        "families/case_index.html", case=case, members=members, revealed=revealed,
        ages={m.id: queries.age_of(revealed[m.id]) for m in members},
        refusals={m.id: queries.location_refusal(m) for m in members},
        open_members=queries.open_request_members(case.id), requests=requests,
        request_names={r.id: queries.display_name(revealed.get(r.family_member_id, {})) for r in requests},
        visits=visits, visit_texts={v.id: queries.unsealed(v, queries.VISIT_SEALED) for v in visits},
        organisations=queries.organisation_names({v.organisation_id for v in visits}),
        can_manage=allowed(current_user, Action.FAMILY_MANAGE, case) and case.stage != "closed",
        can_trace=can_trace, traceable={m.id for m in members if operations.reasons_for(case, m)},
        is_child=age.is_child(case), htcds=htcds, **LABELS,
    )


@bp.route("/cases/<case_id>/family/new", methods=["GET", "POST"])
@requires(Action.FAMILY_MANAGE)
def new_member(case_id):
    case = operations.load_case(current_user, case_id, Action.FAMILY_MANAGE)

    def render(form, status=200):
        return _form_page(form, case=case, heading=_("Add a family member"), status=status,
                          action=url_for("families.new_member", case_id=case.id), back=_family_url(case.id),
                          submit=_("Add the family member"), member_form=True)

    form = forms.NewMemberForm()
    if not form.validate_on_submit():
        return render(form, 422 if form.is_submitted() else 200)
    try:
        operations.add_member(current_user, case, forms.values_of(form))
    except operations.FamilyError as exc:
        return _refused(exc, form, render)
    submissions.consume(form, _family_url(case.id))
    db.session.commit()
    flash(_("Family member added."), "success")
    return redirect(_family_url(case.id))


@bp.route("/cases/<case_id>/family/<member_id>/edit", methods=["GET", "POST"])
@requires(Action.FAMILY_MANAGE)
def edit_member(case_id, member_id):
    member = operations.load_member(current_user, case_id, member_id, Action.FAMILY_MANAGE)
    case = member.case
    action = url_for("families.edit_member", case_id=case.id, member_id=member.id)

    def render(form, status=200):
        remove = forms.RemoveMemberForm(formdata=None)
        remove.version.data = member.version
        return _form_page(form, case=case, heading=_("Correct a family member"), status=status, action=action,
                          back=_family_url(case.id), submit=_("Save"), member_form=True, remove_form=remove,
                          remove_action=url_for("families.remove_member", case_id=case.id, member_id=member.id))

    if not forms.EditMemberForm().is_submitted():
        form = forms.EditMemberForm(formdata=None, data=operations.member_snapshot(member))
        form.version.data = member.version
        return render(form)
    form = forms.EditMemberForm()
    if not form.validate_on_submit():
        return render(form, 422)
    values = {k: v for k, v in forms.values_of(form).items() if k != "version"}
    try:
        changed = operations.edit_member(current_user, member, values, versions.base_of(form.version.data))
    except versions.EditConflict as conflict:
        db.session.rollback()
        submissions.replay_if_used(form)  # the same edit sent twice is not a conflict with itself
        return versions.conflict_page(
            conflict, form, heading=_("Someone else saved this family member while you were editing it"),
            action=action, submit=_("Save"), discard=_family_url(case_id), case=conflict.record.case)
    except operations.FamilyError as exc:
        return _refused(exc, form, render)
    submissions.consume(form, _family_url(case.id))
    db.session.commit()
    flash(_("Family member saved.") if changed else _("Nothing had changed."), "success" if changed else "info")
    return redirect(_family_url(case.id))


@bp.post("/cases/<case_id>/family/<member_id>/remove")
@requires(Action.FAMILY_MANAGE)
def remove_member(case_id, member_id):
    member = operations.load_member(current_user, case_id, member_id, Action.FAMILY_MANAGE)
    case = member.case
    edit_url = url_for("families.edit_member", case_id=case.id, member_id=member.id)
    form = forms.RemoveMemberForm()

    def render(remove, status):
        edit = forms.EditMemberForm(formdata=None, data=operations.member_snapshot(member))
        edit.version.data = member.version
        return _form_page(edit, case=case, heading=_("Correct a family member"), status=status, action=edit_url,
                          back=_family_url(case.id), submit=_("Save"), member_form=True, remove_form=remove,
                          remove_action=url_for("families.remove_member", case_id=case.id, member_id=member.id))

    if not form.validate_on_submit():
        return render(form, 422)
    try:
        operations.remove_member(current_user, member, form.removal_reason.data, versions.base_of(form.version.data))
    except operations.FamilyError as exc:
        db.session.rollback()
        submissions.replay_if_used(form)  # a removal sent twice: the first one was saved
        member = operations.load_member(current_user, case_id, member_id, Action.FAMILY_MANAGE)
        return _refused(exc, form, render)
    submissions.consume(form, _family_url(case.id))
    db.session.commit()
    flash(_("Family member removed."), "success")
    return redirect(_family_url(case.id))


# Tracing -----------------------------------------------------------------------------------------------------------

def _request_url(request_id: str) -> str:
    return url_for("families.tracing_request", request_id=request_id)


@bp.route("/cases/<case_id>/family/<member_id>/tracing/new", methods=["GET", "POST"])
@requires(Action.TRACING_MANAGE)
def open_request(case_id, member_id):
    member = operations.load_member(current_user, case_id, member_id, Action.TRACING_MANAGE)
    case = member.case
    reasons = [(code, TRACING_REASONS.label(code)) for code in operations.reasons_for(case, member)]
    revealed = queries.reveal(member)

    def render(form, status=200):
        return _form_page(
            form, case=case, status=status, action=url_for("families.open_request", case_id=case.id,
                                                           member_id=member.id),
            heading=_("Open a tracing request for %(name)s (%(relationship)s)", name=queries.display_name(revealed),
                      relationship=RELATIONSHIPS.label(member.relationship_code)),
            back=_family_url(case.id), submit=_("Open the tracing request"))

    form = forms.TracingRequestForm(reasons=reasons)
    if not form.validate_on_submit():
        return render(form, 422 if form.is_submitted() else 200)
    try:
        found = operations.open_request(current_user, member, forms.values_of(form))
    except operations.FamilyError as exc:
        return _refused(exc, form, render)
    submissions.consume(form, _request_url(found.id))
    db.session.commit()
    flash(_("Tracing request opened."), "success")
    return redirect(_request_url(found.id))


def _own_matches(found) -> list:
    """The request's matches among other cases of the user's organisation (families.tracing_match)."""
    return list(tracing_match.own_matches(current_user, found))


def _tracing_page(found, close_form=None, status: int = 200, matches=None):
    case = found.case
    member = found.family_member
    actions = queries.actions_of(found.id)
    visits = queries.visits_of(case.id, found.id)
    contacted = {a.family_member_id for a in actions if a.family_member_id}
    members = {m.id: m for m in queries.live_members(case.id)}
    can_trace = allowed(current_user, Action.TRACING_MANAGE, found) and case.stage != "closed"
    return render_template(
        "families/tracing.html", case=case, request=found, member=member,
        revealed=queries.reveal(member) if member else {},
        texts=queries.unsealed(found, ("description", "outcome_note")),
        actions=actions, action_texts={a.id: queries.unsealed(a, queries.ACTION_SEALED) for a in actions},
        contacted_names={i: queries.display_name(queries.reveal(members[i])) for i in contacted if i in members},
        visits=visits, visit_texts={v.id: queries.unsealed(v, queries.VISIT_SEALED) for v in visits},
        names=queries.user_names({a.recorded_by_id for a in actions} | {found.opened_by_id, found.closed_by_id}),
        organisations=queries.organisation_names({v.organisation_id for v in visits}
                                                 | {a.organisation_id for a in actions}),
        matches=_own_matches(found) if matches is None else matches, can_trace=can_trace,
        close_form=close_form or forms.CloseRequestForm(formdata=None),
        refusal=queries.location_refusal(member) if member else None, **LABELS,
    ), status


@bp.get("/tracing/<request_id>")
@requires(Action.FAMILY_VIEW)
def tracing_request(request_id):
    found = operations.open_tracing_page(current_user, request_id)
    matches = _own_matches(found)  # before the commit: looking for matches is audited with the view
    db.session.commit()  # the view event
    return _tracing_page(found, matches=matches)


def _action_form(case, posted: bool):
    members = queries.live_members(case.id)
    choices = [(m.id, _("%(name)s (%(relationship)s)", name=queries.display_name(queries.reveal(m)),
                        relationship=RELATIONSHIPS.label(m.relationship_code))) for m in members]
    form = forms.TracingActionForm(members=choices) if posted else forms.TracingActionForm(members=choices,
                                                                                            formdata=None)
    # The checkbox is offered only when someone on the list may learn where the person is; the page says who may
    # not, and why, instead.
    tellable = [label for (member_id, label), m in zip(choices, members, strict=True) if queries.may_learn_location(m)]
    untold = [(label, queries.location_refusal(m)) for (member_id, label), m in zip(choices, members, strict=True)
              if not queries.may_learn_location(m)]
    return form, tellable, untold


@bp.route("/tracing/<request_id>/actions/new", methods=["GET", "POST"])
@requires(Action.TRACING_MANAGE)
def new_action(request_id):
    found = operations.load_request(current_user, request_id, Action.TRACING_MANAGE)
    case = found.case
    form, tellable, untold = _action_form(case, posted=True)
    if not found.is_open and not form.is_submitted():
        flash(str(operations.closed_refusal(found)), "warning")
        return redirect(_request_url(found.id))
    if not form.is_submitted():
        form, tellable, untold = _action_form(case, posted=False)
        form.family_member_id.data = found.family_member_id

    def render(form, status=200):
        return _form_page(form, case=case, heading=_("Record a tracing action"), status=status,
                          action=url_for("families.new_action", request_id=found.id), back=_request_url(found.id),
                          submit=_("Record the action"), tellable=tellable, untold=untold,
                          hidden=() if tellable else ("whereabouts_shared",))

    if not form.validate_on_submit():
        return render(form, 422 if form.is_submitted() else 200)
    try:
        operations.record_action(current_user, found, forms.values_of(form))
    except operations.FamilyError as exc:
        return _refused(exc, form, render)
    submissions.consume(form, _request_url(found.id))
    db.session.commit()
    flash(_("Tracing action recorded."), "success")
    return redirect(_request_url(found.id))


@bp.post("/tracing/<request_id>/close")
@requires(Action.TRACING_MANAGE)
def close(request_id):
    found = operations.load_request(current_user, request_id, Action.TRACING_MANAGE)
    form = forms.CloseRequestForm()
    if not form.validate_on_submit():
        return _tracing_page(found, form, 422)
    try:
        operations.close_request(current_user, found, form.status.data, form.outcome_note.data)
    except operations.FamilyError as exc:
        db.session.rollback()
        found = operations.load_request(current_user, request_id, Action.TRACING_MANAGE)
        field = form._fields.get(exc.field) if exc.field else None
        if field is not None:
            field.errors = [str(exc)]
        else:
            flash(str(exc), "danger")
        return _tracing_page(found, form, 422)
    db.session.commit()
    flash(_("Tracing request closed."), "success")
    return redirect(_request_url(request_id))


# The family assessment visit ----------------------------------------------------------------------------------------

def _visit(case, found):
    back = _request_url(found.id) if found else _family_url(case.id)
    action = (url_for("families.new_request_visit", request_id=found.id) if found
              else url_for("families.new_visit", case_id=case.id))

    def render(form, status=200):
        return _form_page(form, case=case, heading=_("Record a family assessment visit"), status=status,
                          action=action, back=back, submit=_("Record the visit"))

    form = forms.VisitForm()
    if not form.validate_on_submit():
        return render(form, 422 if form.is_submitted() else 200)
    try:
        operations.record_visit(current_user, case, found, forms.values_of(form))
    except operations.FamilyError as exc:
        return _refused(exc, form, render)
    submissions.consume(form, back)
    db.session.commit()
    flash(_("Family assessment visit recorded."), "success")
    return redirect(back)


@bp.route("/cases/<case_id>/family/visit/new", methods=["GET", "POST"])
@requires(Action.TRACING_MANAGE)
def new_visit(case_id):
    case = operations.load_case(current_user, case_id, Action.TRACING_MANAGE)
    return _visit(case, None)


@bp.route("/tracing/<request_id>/visit/new", methods=["GET", "POST"])
@requires(Action.TRACING_MANAGE)
def new_request_visit(request_id):
    found = operations.load_request(current_user, request_id, Action.TRACING_MANAGE)
    return _visit(found.case, found)
