"""What each kind of notice says, built when it is shown, in the reader's language.

Two full sentences per kind: one naming the case's reference, for a reader who may open the case, and one without,
for everyone else (a referral not yet accepted, a case transferred away). The category groups kinds for the bell's
e-mail digest, which only counts them.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

APPROVAL, REFERRAL, TASK, UPDATE = "approval", "referral", "task", "update"
CATEGORIES = (APPROVAL, REFERRAL, TASK, UPDATE)


@dataclass(frozen=True)
class Kind:
    category: str
    with_case: object  # a lazy string with %(ref)s
    without_case: object


KINDS: dict[str, Kind] = {
    # Referrals and return hand-offs, waiting for the receiving organisation's answer.
    "referral_received": Kind(
        REFERRAL, _l("Case %(ref)s was referred to your organisation: accept or decline it."),
        _l("A case was referred to your organisation: accept or decline it.")),
    "handoff_received": Kind(
        REFERRAL, _l("The return of case %(ref)s was handed off to your organisation: accept or decline it."),
        _l("A return was handed off to your organisation: accept or decline it.")),
    "referral_accepted": Kind(
        UPDATE, _l("Your referral of case %(ref)s was accepted."), _l("A referral you sent was accepted.")),
    "referral_declined": Kind(
        UPDATE, _l("Your referral of case %(ref)s was declined."), _l("A referral you sent was declined.")),
    # Approvals asked of a supervisor, and their outcome for whoever asked.
    "return_submitted": Kind(
        APPROVAL, _l("The return plan of case %(ref)s is waiting for your approval."),
        _l("A return plan is waiting for your approval.")),
    "return_approved": Kind(
        UPDATE, _l("The return plan of case %(ref)s that you submitted was approved."),
        _l("A return plan that you submitted was approved.")),
    "closure_requested": Kind(
        APPROVAL, _l("The closure of case %(ref)s is waiting for your approval."),
        _l("A case closure is waiting for your approval.")),
    "closure_approved": Kind(
        UPDATE, _l("The closure of case %(ref)s that you requested was approved."),
        _l("A case closure that you requested was approved.")),
    "closure_rejected": Kind(
        UPDATE, _l("The closure of case %(ref)s that you requested was refused."),
        _l("A case closure that you requested was refused.")),
    "transfer_requested": Kind(
        APPROVAL, _l("The transfer of case %(ref)s is waiting for your approval."),
        _l("A case transfer is waiting for your approval.")),
    "transfer_approved": Kind(
        UPDATE, _l("The transfer of case %(ref)s that you requested was approved."),
        _l("A case transfer that you requested was approved.")),
    "transfer_rejected": Kind(
        UPDATE, _l("The transfer of case %(ref)s that you requested was refused."),
        _l("A case transfer that you requested was refused.")),
    "transfer_incoming": Kind(
        APPROVAL, _l("Case %(ref)s is being transferred to your organisation: accept or decline it."),
        _l("A case is being transferred to your organisation: accept or decline it.")),
    "transfer_received": Kind(
        UPDATE, _l("Case %(ref)s was transferred to your organisation: assign a caseworker."),
        _l("A case was transferred to your organisation: assign a caseworker.")),
    "transfer_accepted": Kind(
        UPDATE, _l("The receiving organisation accepted the transfer of case %(ref)s."),
        _l("The receiving organisation accepted a case transfer that you requested.")),
    "transfer_declined": Kind(
        UPDATE, _l("The receiving organisation declined the transfer of case %(ref)s."),
        _l("The receiving organisation declined a case transfer that you requested.")),
    # The emergency assistance fund (issue 14): a request waits for a supervisor or finance officer of the requesting
    # organisation; the decision goes to whoever asked. A finance officer reads no identity: the notice names at most
    # the case's reference, never the person.
    "fund_requested": Kind(
        APPROVAL, _l("An assistance fund request for case %(ref)s is waiting for your approval."),
        _l("An assistance fund request is waiting for your approval.")),
    "fund_approved": Kind(
        UPDATE, _l("Your assistance fund request for case %(ref)s was approved: it can now be paid."),
        _l("An assistance fund request that you made was approved: it can now be paid.")),
    "fund_declined": Kind(
        UPDATE, _l("Your assistance fund request for case %(ref)s was declined."),
        _l("An assistance fund request that you made was declined.")),
    # A child's best-interests determination (issue 15): each panel member signs for themselves.
    "bid_sign": Kind(
        APPROVAL, _l("A best-interests determination for case %(ref)s is waiting for your signature."),
        _l("A best-interests determination is waiting for your signature.")),
    "account_request": Kind(
        APPROVAL, _l("An account change is waiting for your approval."),
        _l("An account change is waiting for your approval.")),
    "account_request_approved": Kind(
        UPDATE, _l("An account change that you requested was approved."),
        _l("An account change that you requested was approved.")),
    "account_request_refused": Kind(
        UPDATE, _l("An account change that you requested was refused."),
        _l("An account change that you requested was refused.")),
    # Tasks.
    "task_assigned": Kind(
        TASK, _l("A task on case %(ref)s was assigned to you."), _l("A task was assigned to you.")),
    "task_overdue": Kind(
        TASK, _l("Your task on case %(ref)s is overdue."), _l("One of your tasks is overdue.")),
    # Consent and shared access.
    "consent_withdrawn": Kind(
        UPDATE, _l("Consent was withdrawn on case %(ref)s: check what it allowed."),
        _l("Consent was withdrawn on a case your organisation works on.")),
    "access_suspended": Kind(
        UPDATE, _l("Access to the shared case %(ref)s is suspended."),
        _l("Access to a case shared with your organisation is suspended.")),
    "access_revoked": Kind(
        UPDATE, _l("Access to the shared case %(ref)s has ended."),
        _l("Access to a case shared with your organisation has ended.")),
    # Issue 13: what the duplicate check and search learnt that a supervisor should act on (matching.crossorg,
    # matching.limits). The page they lead to (matching.views) names the organisation or the colleague.
    "cross_match": Kind(
        UPDATE, _l("Another organisation registered a person who matches your case %(ref)s: see who, and contact "
                   "them if the person's consent allows."),
        _l("Another organisation registered a person who matches a case of your organisation: see who, and "
           "contact them if the person's consent allows.")),
    # Issue 15: another organisation's tracing request strongly matches someone a case of the reader's organisation
    # records (families.tracing_match); the matching page names the tracing organisation and gives its contact.
    "tracing_match": Kind(
        UPDATE, _l("Another organisation is tracing a family member who matches someone recorded on your case "
                   "%(ref)s: see who, and contact them if the person's consent allows."),
        _l("Another organisation is tracing a family member who matches someone recorded on a case of your "
           "organisation: see who, and contact them if the person's consent allows.")),
    "check_limit_reached": Kind(
        UPDATE, _l("A colleague reached the limit of duplicate checks or searches."),
        _l("A colleague reached the limit of duplicate checks or searches.")),
    "check_burst": Kind(
        UPDATE, _l("A colleague made an unusual number of duplicate checks or searches in a few minutes."),
        _l("A colleague made an unusual number of duplicate checks or searches in a few minutes.")),
}

# The same notices with the organisation or the colleague named, as the matching page shows them (the list of
# notices has the kind and the case only; matching.views reads the rest from the notice's object).
NAMED: dict[str, tuple[object, object]] = {
    "cross_match": (
        _l("%(org)s registered a person who matches your case %(ref)s; contact them if the person's consent "
           "allows."),
        _l("%(org)s registered a person who matches a case of your organisation; contact them if the person's "
           "consent allows.")),
    "tracing_match": (
        _l("%(org)s is tracing a family member who matches someone recorded on your case %(ref)s; contact them if "
           "the person's consent allows."),
        _l("%(org)s is tracing a family member who matches someone recorded on a case of your organisation; contact "
           "them if the person's consent allows.")),
    "check_limit_reached": (_l("%(user)s reached the limit of duplicate checks or searches."),) * 2,
    "check_burst": (_l("%(user)s made an unusual number of duplicate checks or searches in a few minutes."),) * 2,
}

# A kind the code no longer knows (a notice written by a newer or older version) still reads as something.
UNKNOWN = Kind(UPDATE, _l("Something changed on case %(ref)s."), _l("Something changed that concerns you."))


def kind(name: str) -> Kind:
    return KINDS.get(name, UNKNOWN)


def text(name: str, reference: str | None) -> str:
    """The notice's sentence; `reference` only when the reader may open the case."""
    found = kind(name)
    return str(found.with_case) % {"ref": reference} if reference else str(found.without_case)


# Kinds whose notice names an organisation, found by the id the notice keeps in object_id (matching.crossorg,
# families.tracing_match).
NAMED_ORGANISATION = frozenset({"cross_match", "tracing_match"})


def named_text(name: str, reference: str | None, **names) -> str:
    """A notice's sentence naming an organisation (org=) or a colleague (user=); `reference` as for text()."""
    with_case, without_case = NAMED[name]
    return str(with_case if reference else without_case) % {"ref": reference, **names}


def category_line(category: str, count: int) -> str:
    """One line of the e-mail digest: a count, no names."""
    if category == APPROVAL:
        return ngettext("%(num)d approval is waiting for you.", "%(num)d approvals are waiting for you.", count)
    if category == REFERRAL:
        return ngettext("%(num)d referral or hand-off is waiting for your organisation.",
                        "%(num)d referrals or hand-offs are waiting for your organisation.", count)
    if category == TASK:
        return ngettext("%(num)d task needs you.", "%(num)d tasks need you.", count)
    return ngettext("%(num)d other notice is waiting for you.", "%(num)d other notices are waiting for you.",
                    count)
