"""The landing page after login: each user's work. Administrators manage accounts, so they go to the users page.

Every installed journey feature contributes what waits for the user (its worklist.items(user), see core/journey.py);
the page adds the user's own open cases. What another organisation hands to the user's (a referral, a return plan's
hand-off, a transfer approved by its owner) waits in the referrals section, without anyone having to send more. Each
feature answers with one or two bounded queries, so the page costs the same whatever the size of the caseload.
"""

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from casemgmt import htcds
from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.access.roles import Role
from casemgmt.audit import queries as audit_queries
from casemgmt.cases import queries as case_queries
from casemgmt.journey import queries as journey
from casemgmt.notifications import sweep

bp = Blueprint("home", __name__)

SECTION_TITLES = {
    "crisis": _l("Crisis contacts waiting"),
    "approvals": _l("Approvals waiting for me"),
    "referrals": _l("Referrals, hand-offs and transfers waiting for my organisation"),
    "tasks": _l("My tasks due and overdue"),
    "my_cases": _l("My cases"),
}

# The sections each role always sees (saying "nothing waiting" when empty); any other section appears when a
# feature has something in it for the user.
ROLE_SECTIONS = {
    Role.HOTLINE: ("crisis", "tasks", "my_cases"),
    Role.CASEWORKER: ("crisis", "referrals", "tasks", "my_cases"),
    Role.MISSION: ("referrals", "tasks", "my_cases"),
    Role.SUPERVISOR: ("crisis", "approvals", "referrals", "tasks", "my_cases"),
    Role.FINANCE: ("approvals",),
}


def _names(sections: list[dict], cases=()) -> dict[str, str]:
    """The person's name beside each item about a case whose identity the user may see. The lists are capped
    (each feature's LIMIT, MY_CASES_LIMIT), and only their cases are decrypted, with one batched access check."""
    ids = [item.case_id for section in sections for item in section["items"]] + [case.id for case in cases]
    return case_queries.names_for_ids(current_user, ids)


def _sections(work: dict) -> list[dict]:
    always = ROLE_SECTIONS.get(current_user.role, ())
    return [
        {"name": name, "title": SECTION_TITLES.get(name, name), "items": items}
        for name, items in work.items()
        if items or name in always
    ]


@bp.get("/")
@requires(Action.HOME)
def index():
    if not allowed(current_user, Action.CASE_LIST):
        if allowed(current_user, Action.USERS_LIST):
            return redirect(url_for("admin.users"))
        if allowed(current_user, Action.FUND_LIST):
            # A finance officer opens no case: their work is the fund's requests waiting for them.
            sections = _sections(journey.work_for(current_user))
            return render_template("home.html", sections=sections, names=_names(sections), my_cases=None)
        return render_template("home.html", sections=[], names={}, my_cases=None)
    # Overdue tasks fire no event: the first home page of the hour looks for them (casemgmt/notifications/sweep.py).
    sweep.sweep_lazily(current_user)
    sections = _sections(journey.work_for(current_user))
    cases, total = journey.my_cases(current_user)
    # A hotline operator's cases are the ones they opened, which is their whole case list.
    all_mine = url_for("cases.index") if current_user.role == Role.HOTLINE else url_for(
        "cases.index", assignee=current_user.id)
    return render_template(
        "home.html", sections=sections, names=_names(sections, cases), my_cases=cases,
        show_names=allowed(current_user, Action.CASE_VIEW_IDENTITY), my_cases_total=total, all_my_cases_url=all_mine,
        stages=htcds.STAGES,
        statuses=htcds.CASE_STATUS, can_list_tasks=allowed(current_user, Action.TASK_MANAGE),
        # Other organisations' refused attempts on this organisation's cases (finding 10): the supervisors' signal.
        denied_recently=audit_queries.denied_attempts_on_organisation(current_user)
        if allowed(current_user, Action.AUDIT_VIEW) else 0,
    )
