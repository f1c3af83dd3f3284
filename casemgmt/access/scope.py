"""The scope of each access level, as one table: docs/access.md is rendered from it, the policies read its grant
columns, and tests/access/test_referral_scope.py walks it action by action on real objects.

A row is one action checked on one object (the subject); a column is an access level: the roles of the organisation
that owns the case, the four ways a user of an organisation holding a "referral" grant stands towards the case (an
accepted referral or return hand-off), the two ways a user of an organisation holding a "review" grant does (a
transfer waiting for its answer), and the installation administrator.
A cell says whether that user is allowed, with a short note where the answer needs one.

GRANT_SCOPES is what each grant level reaches: the actions some user of the receiving organisation may take on the
shared case (REFERRAL_SCOPE, REVIEW_SCOPE). policies.py allows access through a grant for those actions only, so
changing a cell here changes the code and the documentation together (and the test tells whether the policies agree).

Keys are the Action values (strings), so this module needs nothing from policies.py, which imports it.
Regenerate the documentation with `python -m casemgmt.access.scope > docs/access.md`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Level:
    key: str
    title: str
    grant: str | None = None  # the grant level (access/grants.py) the user's organisation holds to the case


LEVELS = (
    Level("hotline", "Hotline operator (opened the case)"),
    Level("caseworker", "Caseworker assigned to the case (or who created it)"),
    Level("caseworker_other", "Caseworker not on the case"),
    Level("mission", "Mission staff"),
    Level("supervisor", "Supervisor"),
    Level("administrator", "Administrator"),
    Level("ref_mission", "Receiving mission staff", grant="referral"),
    Level("ref_supervisor", "Receiving supervisor", grant="referral"),
    Level("ref_caseworker", "Receiving caseworker who accepted the referral", grant="referral"),
    Level("ref_other", "Another caseworker of the receiving organisation", grant="referral"),
    Level("rev_supervisor", "Supervisor of the organisation a transfer of the case waits for", grant="review"),
    Level("rev_mission", "Mission staff of the organisation a transfer of the case waits for", grant="review"),
    Level("install_admin", "Installation administrator (creates organisations and their administrators)"),
    Level("finance", "Finance officer (approves and pays the emergency fund; reads no identity)"),
)
LEVEL_KEYS = tuple(level.key for level in LEVELS)
GRANT_LEVELS = ("referral", "review")
LEVELS_OF_GRANT = {grant: tuple(level.key for level in LEVELS if level.grant == grant) for grant in GRANT_LEVELS}
REFERRAL_LEVELS = LEVELS_OF_GRANT["referral"]
REVIEW_LEVELS = LEVELS_OF_GRANT["review"]

# What a row's check is made on. "case" subjects belong to the shared case; "org" subjects are the owning
# (sending) organisation's own things, or nothing at all (a coarse check of the role). The case is referred to the
# "ref_" columns' organisation and its transfer waits for the "rev_" columns' organisation.
SUBJECTS = {
    "none": ("org", "nothing: may the role do this at all (in its own organisation)"),
    "org": ("org", "the owning organisation"),
    "facility": ("org", "a shelter facility of the owning organisation"),
    "contact": ("org", "a hotline contact of the owning organisation, linked to the case"),
    "pending_referral": ("org", "another case of the owning organisation, referred to the receiving one and not yet "
                                "answered"),
    "case": ("case", "the case"),
    "listed": ("case", "the case, in the user's case list"),
    "found": ("case", "the case, found by search"),
    "consent": ("case", "a consent record of the case"),
    "session": ("case", "a counseling session of the case, written by its caseworker"),
    "placement": ("case", "a shelter placement of the case, made by its caseworker"),
    "return_plan": ("case", "the case's return plan, submitted for approval by its caseworker"),
    "service": ("case", "a reintegration service of the case, recorded by the receiving mission staff"),
    "visit": ("case", "a monitoring visit of the case, recorded by its caseworker"),
    "sending_task": ("case", "a task of the owning organisation on the case"),
    "receiving_task": ("case", "a task of the receiving organisation on the case"),
    "referral": ("case", "the accepted referral that shares the case"),
    "transfer": ("case", "a transfer of the case requested by its caseworker, approved by the owning organisation "
                         "and waiting for the receiving organisation's answer"),
    "document": ("case", "a document of the case"),
    "closure": ("case", "a closure request for the case, made by its caseworker"),
    "project": ("org", "a project the owning organisation leads and the receiving organisation implements with it"),
    "family_member": ("case", "a family member recorded on the case by its caseworker"),
    "tracing_request": ("case", "a tracing request for a family member of the case, opened by its caseworker"),
    "determination": ("case", "a best-interests determination of the case waiting for its panel, which names the "
                              "user (whoever is not named may never sign)"),
    "fund_request": ("case", "an emergency fund request of the owning organisation on the case, made by its "
                             "caseworker and waiting for approval"),
}


@dataclass(frozen=True)
class Row:
    action: str
    subject: str
    allow: dict[str, bool]
    note: str = ""
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def about_case(self) -> bool:
        return SUBJECTS[self.subject][0] == "case"


def row(action: str, subject: str, cells: str, note: str = "", **notes: str) -> Row:
    """cells: one Y or N per level, in LEVELS order; spaces and "|" are only for the eye."""
    marks = [c for c in cells if c in "YN"]
    if len(marks) != len(LEVELS) or set(notes) - set(LEVEL_KEYS):
        raise ValueError(f"row {action}: {cells!r} {sorted(notes)}")
    return Row(action, subject, dict(zip(LEVEL_KEYS, (m == "Y" for m in marks), strict=True)), note, notes)


#          hotline cw cw-other mission supervisor admin | ref-mission ref-supervisor ref-cw ref-other-cw
#          | rev-supervisor rev-mission | install | finance
TABLE: tuple[Row, ...] = (
    row("case.list", "listed", "Y Y N Y Y N | Y Y Y N | N N | N | N", "the case list shows the case",
        caseworker_other="only cases assigned to them or created by them",
        ref_other="only the caseworker who accepted the referral"),
    row("case.create", "none", "Y Y Y Y Y N | Y Y Y Y | Y Y | N | N", "a new case of the user's own organisation"),
    row("case.view", "case", "Y Y N Y Y N | Y Y Y N | Y N | N | N", "open the case record",
        caseworker_other="answers 403: a case of their organisation, outside their cases",
        ref_other="answers 404, as for any case of another organisation"),
    row("case.view_identity", "case", "Y Y N Y Y N | Y Y Y N | Y N | N | N",
        "name, date of birth, documents, contact details"),
    row("case.edit", "case", "Y Y N Y Y N | N N N N | N N | N | N", "edit the core record; never through a referral",
        hotline="only while the case is in intake"),
    row("case.change_stage", "case", "N Y N Y Y N | N N N N | N N | N | N", "move the stage, request closure, reopen"),
    row("case.follow_event", "case", "N Y N Y Y N | Y Y Y N | N N | N | N",
        "a stage move caused by an event the user recorded (journey/automatic.py): an arrival confirmed by the "
        "receiving mission moves the case to reintegration; the move's guards still apply"),
    row("case.assign", "case", "N N N N Y N | N N N N | N N | N | N", "choose the caseworker"),
    row("case.search", "found", "Y Y N Y Y N | Y Y Y N | N N | N | N", "search finds the case",
        ref_other="only the caseworker who accepted the referral"),
    row("case.access_log", "case", "N N N N Y N | N Y N N | N N | N | N",
        "who looked at the record; both sides of a referral"),
    row("case.erase", "case", "N N N N Y N | N N N N | N N | N | N", "crypto-shredding; the owning organisation only"),
    row("audit.view", "none", "N N N N Y Y | N Y N N | Y N | N | N", "the audit trail of the user's own organisation"),
    row("users.list", "none", "N N N N N Y | N N N N | N N | Y | N",
        "an organisation's administrator: its own accounts; the installation administrator: every organisation's"),
    row("users.manage", "none", "N N N N N Y | N N N N | N N | Y | N",
        "an organisation's administrator: its case-reading accounts; the installation administrator: administrators"),
    row("users.bootstrap", "none", "N N N N N N | N N N N | N N | N | N", "the operator at the server's shell only"),
    row("accounts.approve", "none", "N N N N Y N | N Y N N | Y N | N | N",
        "a supervisor approves account changes of their own organisation, never their own request"),
    row("accounts.history", "org", "N N N N Y N | N N N N | N N | N | N", "account changes of the owning organisation"),
    row("orgs.manage", "none", "N N N N N N | N N N N | N N | Y | N", "the installation administrator only"),
    row("keys.manage", "none", "N N N N N N | N N N N | N N | Y | N", "the installation administrator only"),
    row("account.self", "none", "Y Y Y Y Y Y | Y Y Y Y | Y Y | Y | Y", "one's own passphrase, two-factor, language"),
    row("home", "none", "Y Y Y Y Y Y | Y Y Y Y | Y Y | Y | Y", "one's own work list"),
    row("contact.log", "contact", "Y Y Y Y Y N | N N N N | N N | N | N",
        "contacts belong to the organisation that took them"),
    row("contact.view", "contact", "Y Y Y Y Y N | N N N N | N N | N | N",
        "contacts belong to the organisation that took them"),
    row("contact.correct", "contact", "Y Y N N Y N | N N N N | N N | N | N",
        "whoever took the contact, the caseworker of its case, or a supervisor of the organisation that took it; the "
        "earlier version is kept"),
    row("contact.delete", "contact", "Y Y N N Y N | N N N N | N N | N | N",
        "as correcting it; a deleted contact leaves the queue, the case and the timeline, and keeps who, when and why"),
    row("screening.record", "case", "Y Y N Y Y N | N N N N | N N | N | N",
        "screening interviews are not in the referral scope",
        hotline="only while the case is in intake"),
    row("screening.view", "case", "Y Y N Y Y N | N N N N | N N | N | N",
        "screening interviews (timeline and the contacts and screening page); not in the referral scope"),
    row("consent.record", "case", "Y Y N Y Y N | Y Y Y N | N N | N | N", "consent is in the referral scope"),
    row("consent.view", "consent", "Y Y N Y Y N | Y Y Y N | Y N | N | N", "consent is in the referral scope"),
    row("facility.manage", "facility", "N N N N Y N | N N N N | N N | N | N",
        "facilities of the user's own organisation"),
    row("facility.view", "facility", "N Y Y N Y N | N N N N | N N | N | N",
        "who is in a shelter is sensitive: the facility's organisation only"),
    row("placement.manage", "case", "N Y N N Y N | N N N N | N N | N | N",
        "shelter placements; not in the referral scope"),
    row("placement.correct", "placement", "N Y N N Y N | N N N N | N N | N | N",
        "who made the placement, the assigned caseworker, or a supervisor; never through a referral"),
    row("placement.delete", "placement", "N Y N N Y N | N N N N | N N | N | N",
        "as correcting it; a deleted placement frees its bed"),
    row("counseling.record", "case", "N Y N N Y N | N N N N | N N | N | N", "never through a referral"),
    row("counseling.view", "case", "N Y N Y Y N | N N N N | N N | N | N",
        "that sessions took place; a referral does not learn that counseling took place at all"),
    row("counseling.read_notes", "session", "N Y N N Y N | N N N N | N N | N | N",
        "need to know: the author, the assigned caseworker, supervisors of the owning organisation"),
    row("counseling.correct", "session", "N Y N N Y N | N N N N | N N | N | N",
        "the author, the assigned caseworker, or a supervisor of the owning organisation; never through a referral"),
    row("counseling.delete", "session", "N Y N N Y N | N N N N | N N | N | N", "as correcting it"),
    row("return.view", "return_plan", "N Y N Y Y N | Y Y Y N | Y N | N | N", "the return is in the referral scope"),
    row("return.manage", "return_plan", "N Y N Y Y N | Y Y Y N | N N | N | N",
        "both organisations work on the return plan; naming another receiving organisation and sending the "
        "hand-off share the case, so they are the owning organisation's (referral.create)"),
    row("return.approve", "return_plan", "N N N N Y N | N N N N | N N | N | N",
        "a supervisor of the owning organisation, never the one who submitted the plan"),
    row("reintegration.manage", "case", "N Y N Y Y N | Y Y Y N | N N | N | N",
        "reintegration is in the referral scope"),
    row("reintegration.correct_service", "service", "N Y N N Y N | Y Y N N | N N | N | N",
        "who recorded it, the assigned caseworker, or a supervisor of either organisation working on the "
        "reintegration"),
    row("reintegration.delete_service", "service", "N Y N N Y N | Y Y N N | N N | N | N", "as correcting it"),
    row("reintegration.correct_visit", "visit", "N Y N N Y N | N Y N N | N N | N | N",
        "the visitor or who recorded it, the assigned caseworker, or a supervisor of either organisation working on "
        "the reintegration"),
    row("reintegration.delete_visit", "visit", "N Y N N Y N | N Y N N | N N | N | N",
        "as correcting it; the next visit due is taken from the remaining visits"),
    row("task.manage", "sending_task", "Y Y N Y Y N | N N N N | N N | N | N",
        "a task belongs to the organisation that created it",
        caseworker_other="also allowed when the task is assigned to them"),
    row("task.manage", "receiving_task", "N N N N N N | Y Y Y N | N N | N | N",
        "the receiving organisation keeps its own tasks on the shared case"),
    row("referral.create", "case", "N Y N Y Y N | N N N N | N N | N | N",
        "only the owning organisation shares the case: a referral, a return plan's hand-off, resuming an access "
        "suspended when the consent was withdrawn"),
    row("referral.respond", "pending_referral", "N N N N N N | Y Y Y Y | N N | N | N",
        "any caseworker, mission staff or supervisor of the receiving organisation answers a referral or a return "
        "hand-off; accepting grants access (a caseworker who accepts gains it too)"),
    row("referral.revoke", "referral", "N Y N Y Y N | N N N N | N N | N | N",
        "the owning organisation manages all sharing"),
    row("referral.list", "none", "N Y Y Y Y N | Y Y Y Y | Y Y | N | N",
        "the referrals page of the user's organisation"),
    row("transfer.request", "case", "N Y N Y Y N | N N N N | N N | N | N",
        "the owning organisation hands its case over"),
    row("transfer.approve", "transfer", "N N N N Y N | N N N N | N N | N | N",
        "a supervisor of the owning organisation, never the one who requested it; the receiving organisation "
        "answers next"),
    row("transfer.accept", "transfer", "N N N N N N | N N N N | Y N | N | N",
        "a supervisor of the receiving organisation accepts (the case changes owner) or declines the transfer"),
    row("document.upload", "case", "N Y N Y Y N | Y Y Y N | N N | N | N", "documents are in the referral scope"),
    row("document.download", "document", "N Y N Y Y N | Y Y Y N | Y N | N | N", "documents are in the referral scope"),
    row("closure.approve", "closure", "N N N N Y N | N N N N | N N | N | N",
        "a supervisor of the owning organisation, never the one who requested the closure"),
    row("closure.withdraw", "closure", "N Y N N Y N | N N N N | N N | N | N",
        "the one who requested the closure, or a supervisor of the owning organisation, while it waits"),
    row("timeline.view", "case", "Y Y N Y Y N | Y Y Y N | Y N | N | N",
        "each feature's entries follow its own row: through a referral no screenings, counseling, closure requests "
        "or sending-side tasks, and a shelter stay without the facility"),
    row("report.view", "org", "N N N N Y N | N N N N | N N | N | N", "reports cover the supervisor's own organisation"),
    row("export.caseload", "org", "N N N N Y N | N N N N | N N | N | N", "the supervisor's own organisation"),
    row("export.identified", "org", "N N N N N N | N N N N | N N | N | N",
        "only a supervisor of the organisation with the may_export_identified grant"),
    row("export.deidentified", "org", "N N N N Y N | N N N N | N N | N | N", "the supervisor's own organisation"),
    # Projects and the emergency assistance fund (issue 14). The finance officer sees amounts, categories and case
    # references, never the person: every case action above is denied to them.
    row("project.view", "project", "N N N N Y N | N Y N N | N N | N | Y",
        "the project page, its figures, the requests behind them and the financial export: supervisors and finance "
        "officers of an implementing organisation, each seeing its own organisation's cases"),
    row("project.manage", "project", "N N N N Y N | N N N N | N N | N | N",
        "create and edit the project, its budget and implementers: supervisors of the lead organisation"),
    row("finance.rates", "org", "N N N N Y N | N N N N | N N | N | Y", "the organisation's monthly exchange rates"),
    row("enrolment.manage", "case", "N Y N Y Y N | Y Y Y N | N N | N | N",
        "enrol the case in a project of the user's organisation and charge work on it to the project; the "
        "receiving organisation enrols a referred case in its own projects"),
    row("fund.request", "case", "N Y N Y Y N | Y Y Y N | N N | N | N",
        "ask the emergency fund for assistance for the case, charged to a project of the user's organisation"),
    row("fund.list", "none", "N Y Y Y Y N | Y Y Y Y | Y Y | N | Y", "the fund's list of the user's organisation"),
    row("fund.view", "fund_request", "N Y N Y Y N | N N N N | N N | N | Y",
        "a request belongs to the organisation that made it; the finance officer's page leaves out the "
        "justification and a person payee's name"),
    row("fund.approve", "fund_request", "N N N N Y N | N N N N | N N | N | Y",
        "a supervisor or finance officer of the requesting organisation, never the requester, and each approver "
        "once: above the project's limit two different people approve"),
    row("fund.disburse", "fund_request", "N N N N Y N | N N N N | N N | N | Y",
        "record the payment with its receipt, or a refund"),
    row("fund.cancel", "fund_request", "N Y N N Y N | N N N N | N N | N | N",
        "the requester or a supervisor, before it is paid"),
    row("fund.correct", "fund_request", "N Y N N Y N | N N N N | N N | N | Y",
        "correct a step with a reason: the requester, a supervisor or a finance officer"),
    # Children and families (issue 15).
    row("family.view", "family_member", "N Y N Y Y N | Y Y Y N | N N | N | N",
        "family members' names, contact and location, with the safe-contact and possibly-involved flags; the "
        "receiving organisation of a referral sees them because it traces and visits the family in the country of "
        "origin"),
    row("family.manage", "family_member", "N Y N Y Y N | N N N N | N N | N | N",
        "add, correct and remove family members: the case's organisation"),
    row("tracing.manage", "tracing_request", "N Y N Y Y N | Y Y Y N | N N | N | N",
        "open, work and close tracing requests and record the family assessment visit; the receiving organisation "
        "traces in the country of origin"),
    row("bestinterests.view", "case", "N Y N Y Y N | N N N N | N N | N | N",
        "the best-interests assessments and determinations, guardians and care arrangements: the case's "
        "organisation only (the child's views and health are not part of a referral)"),
    row("bestinterests.record", "case", "N Y N Y Y N | N N N N | N N | N | N",
        "record an assessment, convene a determination's panel, a guardian, a care arrangement"),
    row("bestinterests.sign", "determination", "N Y N Y Y N | N N N N | N N | N | N",
        "sign a determination: only a named panel member, once, for themselves; a panel is at least two people and "
        "never the case's caseworker alone"),
    row("residence.view", "case", "N Y N Y Y N | N N N N | N N | N | N",
        "immigration and protection status and family reunification"),
    row("residence.manage", "case", "N Y N Y Y N | N N N N | N N | N | N",
        "record status applications and decisions, plan and follow a family reunification"),
)

# What each grant level reaches: the actions on the shared case that some user of the receiving organisation is
# allowed.
GRANT_SCOPES: dict[str, frozenset[str]] = {
    grant: frozenset(r.action for r in TABLE if r.about_case and any(r.allow[level] for level in levels))
    for grant, levels in LEVELS_OF_GRANT.items()
}
REFERRAL_SCOPE = GRANT_SCOPES["referral"]
REVIEW_SCOPE = GRANT_SCOPES["review"]


def in_grant_scope(grant: str, action: str) -> bool:
    return action in GRANT_SCOPES.get(grant, frozenset())



def _cell(r: Row, level: str) -> str:
    word = "allow" if r.allow[level] else "deny"
    return f"{word} ({r.notes[level]})" if level in r.notes else word


def render_markdown() -> str:
    """docs/access.md: the table, and what each column and subject means."""
    lines = [
        "# Access levels: who may do what",
        "",
        "Generated from `casemgmt/access/scope.py` (`python -m casemgmt.access.scope > docs/access.md`); "
        "`tests/access/test_referral_scope.py` walks every row on real objects and fails when the policies, this "
        "page or the table disagree.",
        "",
        "Each row is an action checked on one object (the subject) of a case owned by one organisation. The first six "
        "columns are that organisation's roles; the next four are users of another organisation to which the case "
        "was referred (a referral or a return hand-off), and which accepted it; the next two are users of a third "
        "organisation a transfer of the case waits for; the last is the installation administrator, who creates "
        "organisations and their administrators and reads no case.",
        "",
        "Access to another organisation's case always comes from a grant (`casemgmt/access/grants.py`): a referral "
        "or return hand-off accepted gives a \"referral\" grant to the receiving organisation's supervisors and "
        "mission staff and to the caseworker who accepted it; a transfer approved by the owning organisation gives "
        "a \"review\" grant to the receiving organisation's supervisors until they accept or decline it. "
        "Withdrawing the consent a grant relied on suspends it at once. A referral reaches identity, consent, "
        "documents, the return and reintegration (and the receiving organisation's own tasks); never screenings, "
        "counseling, shelter placements (the timeline says a stay took place, not where), the owning "
        "organisation's tasks, or edits to the core record. A review reads what the decision needs and changes "
        "nothing.",
        "",
        "Nobody approves what they requested: a supervisor cannot approve a closure, a return plan or a transfer "
        "they asked for (`policies.not_own_request`); another supervisor of the organisation decides.",
        "",
        "Another organisation's case answers 404; a case of the user's own organisation outside their scope, 403.",
        "",
        "## Columns",
        "",
    ]
    lines += [f"- **{level.key}**: {level.title}" for level in LEVELS]
    lines += ["", "## Subjects", ""]
    lines += [f"- **{key}**: {text}" for key, (_, text) in SUBJECTS.items()]
    lines += ["", "## The table", ""]
    lines.append("| action | subject | " + " | ".join(LEVEL_KEYS) + " | note |")
    lines.append("|---" * (len(LEVEL_KEYS) + 3) + "|")
    for r in TABLE:
        cells = " | ".join(_cell(r, level) for level in LEVEL_KEYS)
        lines.append(f"| `{r.action}` | {r.subject} | {cells} | {r.note} |")
    lines += ["", "## What a referral reaches", ""]
    lines += [f"- `{action}`" for action in sorted(REFERRAL_SCOPE)]
    lines += ["", "## What a review reaches", ""]
    lines += [f"- `{action}`" for action in sorted(REVIEW_SCOPE)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
