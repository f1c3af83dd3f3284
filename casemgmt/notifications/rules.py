"""Who needs to know, for each audited action: the one table (RULES, at the end) from an audit event's action to the
notices it makes and the notices it settles.

A rule reads the event (ids and codes only, as the audit trail holds them) and the records it names, as they are
at the commit that saves the event. It never notifies the actor, and asks the policies who may act
(recipients.who_may), so a notice leads to a page its reader may open and a button they will be offered. Each notice
carries the page to act on: a case page when the reader may open the case, else a page of their own (the referrals
inbox, the case list).

Settling: an action that does what earlier notices asked for (an answer, a decision, a completed task, a withdrawn
request) marks every open notice about that object done, for every recipient: a referral answered by one colleague
no longer waits for the others.

Access to another organisation's case is a grant (access/grants.py): its audit events ("grant.suspend",
"grant.revoke") name the grant rows, whose organisations and levels say who lost access.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from flask import current_app, has_request_context, url_for
from sqlalchemy.orm import Session

from casemgmt.access import Action, allowed
from casemgmt.access.roles import Role
from casemgmt.accounts.models import AccountRequest, User
from casemgmt.audit.models import AuditEvent
from casemgmt.bestinterests.models import BestInterestsDetermination
from casemgmt.cases.models import Case
from casemgmt.consent.models import ConsentRecord
from casemgmt.fund.models import FundRequest
from casemgmt.journey.models import ClosureRequest
from casemgmt.notifications import recipients as who
from casemgmt.referrals.models import Referral, Transfer
from casemgmt.returns.models import ReturnPlan
from casemgmt.tasks.models import Task

REFERRAL_WAITING = ("referral_received", "handoff_received")
TRANSFER_WAITING = ("transfer_requested", "transfer_incoming")
TASK_KINDS = ("task_assigned", "task_overdue")
FUND_WAITING = ("fund_requested",)


@dataclass(frozen=True)
class Notice:
    user_id: int
    kind: str
    link: str
    case_id: str | None = None
    object_type: str | None = None
    object_id: str | None = None


@dataclass(frozen=True)
class Settle:
    """Mark done the open notices of these kinds about one object (for everyone but `except_user_id`, or only
    `user_id`'s), or, with `case_id`, every open notice about that case."""

    kinds: tuple[str, ...]
    object_type: str | None
    object_id: str | None
    except_user_id: int | None = None
    case_id: str | None = None
    user_id: int | None = None


@dataclass
class Outcome:
    notices: list[Notice] = field(default_factory=list)
    settles: list[Settle] = field(default_factory=list)


@dataclass
class Fact:
    """An audit event at its commit, and the session to read what it names."""

    event: AuditEvent
    session: Session

    @cached_property
    def details(self) -> dict:
        try:
            found = json.loads(self.event.details or "{}")
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}

    @property
    def actor_id(self) -> int | None:
        return self.event.actor_id

    def load(self, model):
        """The record the event is about (its object id), or None."""
        object_id = self.event.object_id
        if object_id is None:
            return None
        key = int(object_id) if object_id.isdigit() and model is AccountRequest else object_id
        return self.session.get(model, key)

    @cached_property
    def case(self) -> Case | None:
        return self.session.get(Case, self.event.case_id) if self.event.case_id else None


def path_for(endpoint: str, **values) -> str:
    """A path on this site, inside a request or not (the CLI and the demo make notices too)."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost").build(endpoint, values)


def case_page(user: User, case: Case, endpoint: str, action: Action = Action.CASE_VIEW,
              otherwise: str = "cases.index") -> str:
    """The case's page when this reader may open it, else a page of their own."""
    if allowed(user, action, case):
        return path_for(endpoint, case_id=case.id)
    return path_for(otherwise)


def notify(fact: Fact, users: Iterable[User], kind: str, link: Callable[[User], str] | str) -> list[Notice]:
    """One notice per user about the event's object, never to the actor, each with its own link."""
    case_id, object_type, object_id = fact.event.case_id, fact.event.object_type, fact.event.object_id
    seen: set[int] = set()
    notices = []
    for user in users:
        if user.id == fact.actor_id or user.id in seen:
            continue
        seen.add(user.id)
        notices.append(Notice(user.id, kind, link(user) if callable(link) else link, case_id, object_type,
                              object_id))
    return notices


def settle(fact: Fact, kinds: tuple[str, ...], except_user_id: int | None = None) -> Settle:
    return Settle(kinds, fact.event.object_type or "", fact.event.object_id or "", except_user_id)


def settled(*kinds: str) -> Callable[[Fact], Outcome]:
    """A rule that only settles: what the notices asked for was done or withdrawn."""

    def rule(fact: Fact) -> Outcome:
        return Outcome(settles=[settle(fact, kinds)])

    return rule


# Referrals and return hand-offs ------------------------------------------------------------------------------------

def referral_sent(fact: Fact) -> Outcome:
    """The receiving organisation's staff who may answer it: accept or decline."""
    referral = fact.load(Referral)
    if referral is None or fact.details.get("via") == "transfer":
        return Outcome()  # the referral back to a transfer's sender is accepted already: nothing to answer
    handoff = "return_handoff" in (fact.details.get("kind"), getattr(referral, "kind", None))
    staff = who.who_may(who.staff(fact.session, referral.to_organisation_id), Action.REFERRAL_RESPOND, referral)
    return Outcome(notices=notify(fact, staff, "handoff_received" if handoff else "referral_received",
                                  path_for("referrals.inbox")))


def referral_answered(kind: str) -> Callable[[Fact], Outcome]:
    """Settles the receiving organisation's notices; tells whoever sent it."""

    def rule(fact: Fact) -> Outcome:
        referral = fact.load(Referral)
        if referral is None:
            return Outcome()
        sender = who.users(fact.session, [referral.created_by_id])
        return Outcome(
            notices=notify(fact, sender, kind, lambda u: case_page(u, referral.case, "referrals.case_index")),
            settles=[settle(fact, REFERRAL_WAITING)],
        )

    return rule


# Return plans ---------------------------------------------------------------------------------------------------------

def _return_approvers(fact: Fact, plan: ReturnPlan) -> list[User]:
    supervisors = who.staff(fact.session, plan.case.organisation_id, [Role.SUPERVISOR])
    return who.who_may(supervisors, Action.RETURN_APPROVE, plan)


def return_submitted(fact: Fact) -> Outcome:
    """Supervisors of the case's organisation who may approve it (never the one who submitted it)."""
    plan = fact.load(ReturnPlan)
    if plan is None:
        return Outcome()
    return Outcome(notices=notify(fact, _return_approvers(fact, plan), "return_submitted",
                                  path_for("returns.case_index", case_id=plan.case_id)))


def return_approval_withdrawn(fact: Fact) -> Outcome:
    """An approved plan changed goes back to the supervisors: they approved a plan that no longer exists."""
    if not fact.details.get("approval_withdrawn"):
        return Outcome()
    return return_submitted(fact)


def return_approved(fact: Fact) -> Outcome:
    """Settles the supervisors' notices; tells whoever submitted the plan."""
    plan = fact.load(ReturnPlan)
    if plan is None:
        return Outcome()
    submitter = who.users(fact.session, [plan.submitted_by_id])
    return Outcome(
        notices=notify(fact, submitter, "return_approved",
                       lambda u: case_page(u, plan.case, "returns.case_index", Action.RETURN_VIEW)),
        settles=[settle(fact, ("return_submitted",))],
    )


# Closure --------------------------------------------------------------------------------------------------------------

def closure_requested(fact: Fact) -> Outcome:
    """Supervisors of the case's organisation who may approve it (never the one who asked)."""
    request = fact.load(ClosureRequest)
    if request is None:
        return Outcome()
    supervisors = who.staff(fact.session, request.case.organisation_id, [Role.SUPERVISOR])
    return Outcome(notices=notify(fact, who.who_may(supervisors, Action.CLOSURE_APPROVE, request),
                                  "closure_requested", path_for("journey.closure", case_id=request.case_id)))


def closure_decided(kind: str) -> Callable[[Fact], Outcome]:
    """Settles the supervisors' notices; tells whoever asked."""

    def rule(fact: Fact) -> Outcome:
        request = fact.load(ClosureRequest)
        if request is None:
            return Outcome()
        requester = who.users(fact.session, [request.requested_by_id])
        return Outcome(
            notices=notify(fact, requester, kind,
                           lambda u: case_page(u, request.case, "journey.closure", Action.CASE_CHANGE_STAGE)),
            settles=[settle(fact, ("closure_requested",))],
        )

    return rule


# Transfers ------------------------------------------------------------------------------------------------------------

def transfer_requested(fact: Fact) -> Outcome:
    """Supervisors of the sending organisation who may approve it (never the one who asked)."""
    transfer = fact.load(Transfer)
    if transfer is None:
        return Outcome()
    supervisors = who.staff(fact.session, transfer.from_organisation_id, [Role.SUPERVISOR])
    return Outcome(notices=notify(fact, who.who_may(supervisors, Action.TRANSFER_APPROVE, transfer),
                                  "transfer_requested",
                                  path_for("referrals.case_index", case_id=transfer.case_id)))


def transfer_approved(fact: Fact) -> Outcome:
    """Settles the senders' notices; tells whoever asked, and the receiving organisation's staff who may accept or
    decline it."""
    transfer = fact.load(Transfer)
    if transfer is None:
        return Outcome()
    requester = who.users(fact.session, [transfer.requested_by_id])
    notices = notify(fact, requester, "transfer_approved",
                     lambda u: case_page(u, transfer.case, "referrals.case_index"))
    receiving = who.who_may(who.staff(fact.session, transfer.to_organisation_id), Action.TRANSFER_ACCEPT, transfer)
    notices += notify(fact, receiving, "transfer_incoming", path_for("referrals.inbox"))
    return Outcome(notices=notices, settles=[settle(fact, ("transfer_requested",))])


def transfer_decided(kind: str, settles: tuple[str, ...]) -> Callable[[Fact], Outcome]:
    """A refusal by the sending organisation, or the receiving organisation's answer: settles the notices that
    waited for it; tells whoever asked (and, for an answer, the supervisor who approved)."""

    def rule(fact: Fact) -> Outcome:
        transfer = fact.load(Transfer)
        if transfer is None:
            return Outcome()
        told = [transfer.requested_by_id]
        if kind in ("transfer_accepted", "transfer_declined"):
            told.append(transfer.decided_by_id)
        people = who.users(fact.session, told)
        notices = notify(fact, people, kind, lambda u: case_page(u, transfer.case, "referrals.case_index"))
        if kind == "transfer_accepted":
            # The case is the receiving organisation's now, and nobody's in it: its supervisors assign it.
            supervisors = who.staff(fact.session, transfer.to_organisation_id, [Role.SUPERVISOR])
            notices += notify(fact, supervisors, "transfer_received",
                              lambda u: case_page(u, transfer.case, "cases.view"))
        return Outcome(notices=notices, settles=[settle(fact, settles)])

    return rule


# The emergency assistance fund (issue 14) ---------------------------------------------------------------------------

def _fund_approvers(fact: Fact, request: FundRequest) -> list[User]:
    """Supervisors and finance officers of the requesting organisation whom the policy lets approve it: never the
    requester, never someone whose approval is already given."""
    money_staff = who.staff(fact.session, request.organisation_id, [Role.SUPERVISOR, Role.FINANCE])
    # Approvals this transaction deleted (a correction's new amount) may still sit in the loaded collection.
    fact.session.expire(request, ["approvals"])
    return who.who_may(money_staff, Action.FUND_APPROVE, request)


def _fund_page(user: User, request: FundRequest) -> str:
    if allowed(user, Action.FUND_VIEW, request):
        return path_for("fund.request_page", request_id=request.id)
    return path_for("home.index")


def _settle_own(fact: Fact, kinds: tuple[str, ...]) -> list[Settle]:
    """The actor's own open notices of these kinds about the event's object, and nobody else's (the first of two
    approvers has done their part; the other approvers' notices wait for the second)."""
    if fact.actor_id is None:
        return []
    return [Settle(kinds, fact.event.object_type or "", fact.event.object_id or "", user_id=fact.actor_id)]


def fund_requested(fact: Fact) -> Outcome:
    """Those who may approve it. A request refused for want of budget waits for nobody."""
    request = fact.load(FundRequest)
    if request is None or request.status != "requested":
        return Outcome()
    return Outcome(notices=notify(fact, _fund_approvers(fact, request), "fund_requested",
                                  path_for("fund.request_page", request_id=request.id)))


def fund_approval(fact: Fact) -> Outcome:
    """An approval settles the approver's own notice. The one that completes the approvals needed settles everyone's
    and tells the requester; before that (above the project's limit two people approve) the others' notices wait."""
    request = fact.load(FundRequest)
    if request is None:
        return Outcome()
    if not fact.details.get("completed"):
        return Outcome(settles=_settle_own(fact, FUND_WAITING))
    requester = who.users(fact.session, [request.requested_by_id])
    return Outcome(notices=notify(fact, requester, "fund_approved", lambda u: _fund_page(u, request)),
                   settles=[settle(fact, FUND_WAITING)])


def fund_declined(fact: Fact) -> Outcome:
    """Settles the approvers' notices; tells the requester."""
    request = fact.load(FundRequest)
    if request is None:
        return Outcome()
    requester = who.users(fact.session, [request.requested_by_id])
    return Outcome(notices=notify(fact, requester, "fund_declined", lambda u: _fund_page(u, request)),
                   settles=[settle(fact, FUND_WAITING)])


def fund_corrected(fact: Fact) -> Outcome:
    """A new amount drops the approvals given (fund/corrections.py): the request waits for everyone who may approve
    it again, approvers of the old amount included."""
    request = fact.load(FundRequest)
    changed = set(fact.details.get("fields") or [])
    if request is None or request.status != "requested" or not changed & {"amount", "currency"}:
        return Outcome()
    return Outcome(notices=notify(fact, _fund_approvers(fact, request), "fund_requested",
                                  path_for("fund.request_page", request_id=request.id)),
                   settles=[settle(fact, FUND_WAITING)])


# A child's best interests (issue 15) ----------------------------------------------------------------------------------

BID_WAITING = ("bid_sign",)


def bid_convened(fact: Fact) -> Outcome:
    """Each member of the panel whom the policy lets sign (a pending member of a convened panel); never the
    proposer, who convened it (their own signature waits on their home page)."""
    determination = fact.load(BestInterestsDetermination)
    if determination is None:
        return Outcome()
    members = who.who_may(who.users(fact.session, determination.member_ids), Action.BID_SIGN, determination)
    return Outcome(notices=notify(fact, members, "bid_sign",
                                  path_for("bestinterests.determination", determination_id=determination.id)))


# Accounts (four eyes) -------------------------------------------------------------------------------------------------

def account_requested(fact: Fact) -> Outcome:
    """Supervisors of the account's organisation who may approve it (not the requester, not the account's owner)."""
    request = fact.load(AccountRequest)
    if request is None:
        return Outcome()
    supervisors = who.staff(fact.session, request.organisation_id, [Role.SUPERVISOR])
    return Outcome(notices=notify(fact, who.who_may(supervisors, Action.ACCOUNTS_APPROVE, request),
                                  "account_request", path_for("admin.approvals_list")))


def account_decided(kind: str) -> Callable[[Fact], Outcome]:
    """Settles the supervisors' notices; tells the administrator who asked."""

    def rule(fact: Fact) -> Outcome:
        request = fact.load(AccountRequest)
        if request is None:
            return Outcome()
        requester = who.users(fact.session, [request.requested_by_id])
        return Outcome(
            notices=notify(fact, requester, kind,
                           lambda u: path_for("admin.user", user_id=request.user_id)
                           if allowed(u, Action.USERS_LIST, request.user) else path_for("home.index")),
            settles=[settle(fact, ("account_request",))],
        )

    return rule


# Tasks ----------------------------------------------------------------------------------------------------------------

def task_assigned(fact: Fact) -> Outcome:
    """The assignee of a new task, or the new assignee of a task handed over (whose former assignee's notices are
    settled: the task is no longer theirs)."""
    task = fact.load(Task)
    if task is None or task.done_at is not None:
        return Outcome()
    if fact.event.action == "task.update" and "assignee_id" not in (fact.details.get("fields") or []):
        return Outcome()
    assignee = who.users(fact.session, [task.assignee_id])
    outcome = Outcome(notices=notify(fact, assignee, "task_assigned", path_for("tasks.edit", task_id=task.id)))
    if fact.event.action == "task.update":
        outcome.settles.append(settle(fact, TASK_KINDS, except_user_id=task.assignee_id))
    return outcome


# Consent and shared access --------------------------------------------------------------------------------------------

def _sharing_staff(fact: Fact, case: Case) -> list[User]:
    """Of each other organisation with live access to the case: the staff its grant reaches, and the people a grant
    names (the caseworker who accepted a referral)."""
    found: list[User] = []
    for organisation_id, (roles, named) in who.sharing_organisations(fact.session, case.id).items():
        if organisation_id == case.organisation_id:
            continue
        found += who.staff(fact.session, organisation_id, roles)
        found += who.users(fact.session, named)
    return found


def consent_withdrawn(fact: Fact) -> Outcome:
    """The case's caseworker (its supervisors when nobody is assigned), and the organisations whose access to the
    case goes on (access resting on this consent is suspended in the same step, and grant.suspend tells them)."""
    record = fact.load(ConsentRecord)
    case = fact.case or (record.case if record is not None else None)
    if case is None:
        return Outcome()
    owners = who.users(fact.session, [case.assigned_to_id]) or who.staff(
        fact.session, case.organisation_id, [Role.SUPERVISOR])
    people = owners + _sharing_staff(fact, case)

    def link(user: User) -> str:
        own = user.organisation_id == case.organisation_id
        return case_page(user, case, "consent.case_index", Action.CONSENT_VIEW,
                         otherwise="cases.index" if own else "referrals.inbox")

    return Outcome(notices=notify(fact, people, "consent_withdrawn", link))


def access_changed(kind: str) -> Callable[[Fact], Outcome]:
    """Both organisations: the owner's supervisors, and of the organisation whose access changed, the staff its
    grant reached and the people it named. A transfer's review access ending is part of the transfer, whose own
    notices tell what happened."""

    def rule(fact: Fact) -> Outcome:
        case = fact.case
        if case is None or fact.details.get("reason_kind") == "transfer_pending":
            return Outcome()
        owners = who.staff(fact.session, case.organisation_id, [Role.SUPERVISOR])
        organisations, roles, named = who.grant_audience(fact.session, fact.details.get("grants") or [])
        others = [user for organisation_id in sorted(organisations) if organisation_id != case.organisation_id
                  for user in who.staff(fact.session, organisation_id, roles[organisation_id])]
        others += who.users(fact.session, named)
        return Outcome(notices=notify(
            fact, owners + others, kind,
            lambda u: case_page(u, case, "referrals.case_index", otherwise="referrals.inbox")))

    return rule


def case_erased(fact: Fact) -> Outcome:
    """Nothing about an erased case is left to do: every open notice about it is settled."""
    if not fact.event.case_id:
        return Outcome()
    return Outcome(settles=[Settle((), None, None, case_id=fact.event.case_id)])


# Duplicate checks and searches (issue 13) ---------------------------------------------------------------------------

def check_burst(fact: Fact) -> Outcome:
    """A colleague checked or searched at a pace nobody keeps by hand (ratelimits.BURSTS): their organisation's
    supervisors, on the page of checks and limits. (Reaching a hard limit is told where the refusal is audited,
    matching.limits.limit_reached: a refusal makes no notice here.)"""
    if fact.actor_id is None or fact.event.organisation_id is None:
        return Outcome()
    supervisors = who.staff(fact.session, fact.event.organisation_id, [Role.SUPERVISOR])
    notices = notify(fact, supervisors, "check_burst", path_for("matching.index"))
    # About the colleague, not about the event: the page lists them by user.
    return Outcome(notices=[Notice(n.user_id, n.kind, n.link, None, "user", str(fact.actor_id)) for n in notices])


_RETURN_EDITS = ("return.destination", "return.risk_assessment", "return.family_assessment", "return.travel_document",
                 "return.consular_contact", "return.itinerary")

# The table: audited action -> what it notifies and settles. Recipients are described on each rule above.
RULES: dict[str, Callable[[Fact], Outcome]] = {
    # A referral, or a return plan's hand-off: the receiving organisation's staff who may answer it.
    "referral.create": referral_sent,
    "referral.accept": referral_answered("referral_accepted"),
    "referral.decline": referral_answered("referral_declined"),
    "referral.revoke": settled(*REFERRAL_WAITING),
    # A return plan waits for a supervisor of the case's organisation; the decision goes to who submitted it.
    "return.submit": return_submitted,
    **dict.fromkeys(_RETURN_EDITS, return_approval_withdrawn),
    "return.approve": return_approved,
    "return.cancel": settled("return_submitted"),
    # A closure waits for a supervisor; the decision goes to who asked.
    "closure.request": closure_requested,
    "closure.approve": closure_decided("closure_approved"),
    "closure.reject": closure_decided("closure_rejected"),
    "closure.withdraw": settled("closure_requested"),
    # A transfer waits for a supervisor of the sending organisation, then for the receiving organisation.
    "transfer.request": transfer_requested,
    "transfer.approve": transfer_approved,
    "transfer.reject": transfer_decided("transfer_rejected", ("transfer_requested",)),
    "transfer.cancel": settled(*TRANSFER_WAITING),
    "transfer.accept": transfer_decided("transfer_accepted", ("transfer_incoming",)),
    "transfer.decline": transfer_decided("transfer_declined", ("transfer_incoming",)),
    # A fund request waits for a supervisor or finance officer of its organisation (two above the project's limit);
    # the decision goes to whoever asked; a cancelled one waits for nobody.
    "fund.request": fund_requested,
    "fund.approve": fund_approval,
    "fund.decline": fund_declined,
    "fund.cancel": settled(*FUND_WAITING),
    "fund.request_correct": fund_corrected,
    # A best-interests determination waits for each panel member's signature; a signature settles the signer's
    # notice, and the panel's outcome (or a withdrawal) everyone's.
    "bid.convene": bid_convened,
    "bid.sign": lambda fact: Outcome(settles=_settle_own(fact, BID_WAITING)),
    "bid.determined": settled(*BID_WAITING),
    "bid.not_agreed": settled(*BID_WAITING),
    "bid.withdraw": settled(*BID_WAITING),
    # An account change waits for a supervisor of its organisation; the decision goes to the administrator.
    "account_request.create": account_requested,
    "account_request.approve": account_decided("account_request_approved"),
    "account_request.refuse": account_decided("account_request_refused"),
    "account_request.withdraw": settled("account_request"),
    # A task goes to its assignee; done, it is settled. (Overdue tasks: sweep.py.)
    "task.create": task_assigned,
    "task.update": task_assigned,
    "task.complete": settled(*TASK_KINDS),
    # Consent withdrawn, shared access suspended or ended: the people working on the case, on both sides.
    "consent.withdraw": consent_withdrawn,
    "grant.suspend": access_changed("access_suspended"),
    "grant.revoke": access_changed("access_revoked"),
    "case.erase": case_erased,
    # A burst of duplicate checks or searches: the colleague's supervisors. (Other organisations' strong matches are
    # told to their holders by matching.crossorg, from the sweep: no event of the registering request says so.)
    "ratelimit.burst": check_burst,
}
