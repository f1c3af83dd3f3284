"""Looking for a newly registered person in OTHER organisations' cases, and telling the holder, never the registrant.

Why a queue: if the registering request looked at other organisations' cases, its answer, its status or only its
time could say whether someone else holds the person (issue 13, item 4). So creating a case, or changing who it is
about, only adds a row to match_cross_checks (enqueue, in the request's transaction: constant work whatever other
organisations hold), and `casemgmt notifications sweep` (cron) works the queue off (run_pending), outside any
request. Nothing the registering side can see depends on the result: it gets no notice, and its audit trail says
only that a check ran.

For each holder organisation with a strong match, each of its supervisors gets a notice about their own case
("<organisation> registered a person who matches your case C-…; contact them if the person's consent allows"), with
the registering organisation's name and contact shown on the matching page (matching.views). The notice carries
nothing of the new person and not the registering case's reference: the holder has the relationship and the consent
record, and decides whether to reach out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import selectinload

from casemgmt.access.grants import CaseGrant
from casemgmt.access.roles import Role
from casemgmt.audit import record_event
from casemgmt.audit.events import SYSTEM
from casemgmt.cases.models import Case
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.matching import engine, score
from casemgmt.matching.models import CrossCheck

log = logging.getLogger(__name__)

# A case whose check failed this many times is left in the queue (the CLI counts it) rather than retried for ever.
MAX_ATTEMPTS = 5
BATCH = 50
KIND = "cross_match"

# The fields of a case whose change means the person may be someone else: enqueue again (cases.operations).
IDENTIFYING = frozenset({"given_name", "family_name", "aliases", "date_of_birth", "birth_year", "phone",
                         "document_number"})

# A notice to another organisation is consequential, so a match must be strong twice over: the weight at or above
# the duplicate check's threshold, AND the names agree together with one identifier (the date of birth, possibly
# with day and month exchanged; the phone; the document number). A document or a phone alone, or a name with a year
# only, is enough to warn a colleague at intake, not to tell another organisation that someone registered "their"
# person.
NAME_GIVEN = ("exact", "close")
NAME_FAMILY = ("exact", "subset", "close")
STRONG_IDENTIFIERS = {"dob": ("exact", "swapped"), "phone": ("exact",), "document": ("exact",)}


def strong(result: score.Score) -> bool:
    levels = result.levels
    names = levels.get("given") in NAME_GIVEN and levels.get("family") in NAME_FAMILY
    identifier = any(levels.get(f) in wanted for f, wanted in STRONG_IDENTIFIERS.items())
    return result.weight >= score.MATCH_THRESHOLD and names and identifier


def enqueue(case: Case) -> None:
    """Queue the case's person for a look in other organisations' cases (the caller commits). Queued again while
    waiting, it is checked once, with its newest values; queued_at moves, so a check already running on the old
    values does not take the row off the queue (run_pending)."""
    queued = db.session.get(CrossCheck, case.id)
    if queued is None:
        db.session.add(CrossCheck(case_id=case.id))
    else:
        queued.queued_at, queued.attempts = utcnow(), 0


def dequeue(case: Case) -> None:
    db.session.execute(delete(CrossCheck).where(CrossCheck.case_id == case.id))


@dataclass(frozen=True)
class Checked:
    case_id: str
    queued_at: datetime
    organisation_id: int
    # Holder organisation id -> the ids of its cases that strongly match.
    holders: dict[int, list[str]]


@dataclass
class Report:
    checked: int = 0
    removed: int = 0  # queued cases erased (or gone) before their check: nothing to look for
    failed: int = 0
    notices: int = 0
    holders: int = 0
    stuck: list[str] = field(default_factory=list)


def _elsewhere(case: Case, queued_at: datetime):
    """Cases of other organisations that held the person before this registration: not already shared with the
    registering organisation (a grant not revoked, live or suspended: it knows that case already), and not queued
    after it. Erased cases are left out by the candidates query itself.

    Why "not queued after it": the one who registers later tells the one who held the person before, never the
    other way round. Were both queued at once, the earlier registration's check would otherwise find the later one
    and tell ITS organisation, so registering a probe just after another organisation registered someone would
    answer "they hold this person" (equal times are ordered by case id). A check that failed and is retried after
    the later one was worked off can still tell both: failures are rare, logged and counted."""
    shared = select(CaseGrant.case_id).where(CaseGrant.organisation_id == case.organisation_id,
                                             CaseGrant.revoked_at.is_(None))
    later = select(CrossCheck.case_id).where(or_(
        CrossCheck.queued_at > queued_at, and_(CrossCheck.queued_at == queued_at, CrossCheck.case_id > case.id)))
    return and_(Case.organisation_id != case.organisation_id, Case.id.not_in(shared), Case.id.not_in(later))


def find_holders(case: Case, queued_at: datetime) -> dict[int, list[str]]:
    """The other organisations holding a strong match of the case's person, with their matching cases' ids. Server
    side only: the decrypted values never leave this function."""
    region = case.organisation.country if case.organisation else None
    [(_, _, person)] = engine.decrypt([case], region)
    holders: dict[int, list[str]] = {}
    for match in engine.best_matches(person, _elsewhere(case, queued_at), region):
        if strong(match.score):
            holders.setdefault(match.case.organisation_id, []).append(match.case.id)
    return holders


def _check(case_id: str, queued_at: datetime) -> Checked | None:
    case = db.session.scalar(select(Case).where(Case.id == case_id).options(selectinload(Case.person)))
    if case is None or case.erased_at is not None or case.person is None:
        return None  # nothing left to look for; the row goes
    return Checked(case.id, queued_at, case.organisation_id, find_holders(case, queued_at))


def already_told(kind: str, holder_case_id: str, source_id: str) -> bool:
    """Whether the holder's case was already the subject of a `kind` notice about this source (the registering
    case, or a tracing request: families.tracing_match)."""
    from casemgmt.notifications.models import Notification

    prefix = f"{kind}:{holder_case_id}:{source_id}:"
    return db.session.scalar(select(Notification.id).where(
        Notification.kind == kind, Notification.case_id == holder_case_id, Notification.dedupe_key.like(prefix + "%")
    ).limit(1)) is not None


def tell_holder(kind: str, action: str, source_id: str, source_organisation_id: int, holder_id: int,
                case_ids: list[str]) -> int:
    """The holder organisation's audit event `action` (counts only) and its supervisors' `kind` notices, one per
    (holder case, source) pair: a re-check of the same pair tells nobody again. The notice names the source's
    organisation by id (object_id, read by the notices list and the matching page) and nothing else of the source.
    Returns the notices written. Shared with tracing's look into other organisations (families.tracing_match)."""
    from casemgmt.notifications import derive, recipients
    from casemgmt.notifications.rules import Notice, path_for

    fresh = [case_id for case_id in case_ids if not already_told(kind, case_id, source_id)]
    event = record_event(action, actor=SYSTEM, subject_organisation_id=holder_id,
                         details={"cases_matched": len(case_ids), "newly_notified": len(fresh)})
    supervisors = recipients.staff(db.session, holder_id, [Role.SUPERVISOR])
    link = path_for("matching.index")
    notices, keys = [], []
    for case_id in fresh:
        for user in supervisors:
            notices.append(Notice(user.id, kind, link, case_id, "organisation", str(source_organisation_id)))
            keys.append(f"{kind}:{case_id}:{source_id}:{user.id}")
    db.session.flush()
    derive.save(db.session, notices, event.seq, dedupe_keys=keys)
    return len(notices)


def _write(done: list[Checked], gone: list[tuple[str, datetime]], failed: list[str], report: Report) -> None:
    # The registering side's events first, every one of the batch, then the holders'. Each registering event says
    # that a check ran and NOTHING of its result: its organisation's auditors read their own trail, so a count there
    # would be the very answer the queue keeps from the registering user. Writing all of them before any holder's
    # event also keeps the sequence numbers (which organisation readers see) from placing a holder's event right
    # after one particular registering event; the gap after a batch still shows how many events other
    # organisations wrote meanwhile, which is the audit page's to hide (see the report of issue 13).
    for checked in done:
        record_event("match.cross_check", actor=SYSTEM, subject_organisation_id=checked.organisation_id,
                     object_type="case", object_id=checked.case_id, case_id=checked.case_id)
    for checked in done:
        for holder_id, case_ids in sorted(checked.holders.items()):
            report.notices += tell_holder(KIND, "match.cross_organisation", checked.case_id,
                                          checked.organisation_id, holder_id, case_ids)
            report.holders += 1
    for case_id, queued_at in [(c.case_id, c.queued_at) for c in done] + gone:
        # Only the row as it was read: re-queued meanwhile (new identifying values), it waits for another check.
        db.session.execute(delete(CrossCheck).where(CrossCheck.case_id == case_id, CrossCheck.queued_at == queued_at))
    if failed:
        db.session.execute(update(CrossCheck).where(CrossCheck.case_id.in_(failed))
                           .values(attempts=CrossCheck.attempts + 1))


def run_pending(limit: int = BATCH) -> Report:
    """Check up to `limit` queued cases (fewest failures, oldest first) and commit. A case whose check fails is
    counted (attempts) and left for a later run; the others are written as usual."""
    report = Report()
    queued = db.session.execute(
        select(CrossCheck.case_id, CrossCheck.queued_at).where(CrossCheck.attempts < MAX_ATTEMPTS)
        .order_by(CrossCheck.attempts, CrossCheck.queued_at, CrossCheck.case_id).limit(limit)
    ).all()
    done: list[Checked] = []
    gone: list[tuple[str, datetime]] = []
    failed: list[str] = []
    for case_id, queued_at in queued:
        try:
            checked = _check(case_id, queued_at)
        except Exception:  # one case that cannot be checked must not hold up the rest; the log says which
            db.session.rollback()
            log.exception("cross-organisation check of case %s failed", case_id)
            failed.append(case_id)
            continue
        if checked is None:
            gone.append((case_id, queued_at))
        else:
            done.append(checked)
    _write(done, gone, failed, report)
    db.session.commit()
    report.checked, report.removed, report.failed = len(done), len(gone), len(failed)
    return report


def run_all(batch: int = BATCH) -> Report:
    """Work the whole queue off in committed batches (the CLI). Stops when a batch checks nothing new."""
    total = Report()
    while True:
        report = run_pending(batch)
        for name in ("checked", "removed", "failed", "notices", "holders"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        # A batch of failures only would be picked again at once: leave those for the next run.
        if report.checked + report.removed == 0 or report.checked + report.removed + report.failed < batch:
            break
    total.stuck = list(db.session.scalars(select(CrossCheck.case_id).where(CrossCheck.attempts >= MAX_ATTEMPTS)))
    return total


# Reading: the holder's side ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Told:
    """One cross-organisation notice as the matching page shows it."""

    text: str
    contact: str | None
    case: Case | None  # when the reader may open it
    created_at: datetime
    done: bool


# The notices the matching page lists: this module's, and another organisation's tracing request matching someone a
# case of the reader's organisation records (families.tracing_match), told the same way and acted on the same way.
TOLD_KINDS = (KIND, "tracing_match")


def told(user, limit: int = 50) -> list[Told]:
    """The reader's own cross-organisation notices, newest first, with the registering organisation named and its
    contact: what the holder needs to reach out, and nothing of the registered person."""
    from casemgmt.access import Action, allowed
    from casemgmt.accounts.models import Organisation
    from casemgmt.notifications import kinds
    from casemgmt.notifications.models import Notification

    notices = db.session.scalars(
        select(Notification).where(Notification.user_id == user.id, Notification.kind.in_(TOLD_KINDS))
        .options(selectinload(Notification.case))
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    ).all()
    wanted = {int(n.object_id) for n in notices if (n.object_id or "").isdigit()}
    organisations = {o.id: o for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(wanted)))}
    shown = []
    for notice in notices:
        organisation = organisations.get(int(notice.object_id)) if (notice.object_id or "").isdigit() else None
        case = notice.case if notice.case is not None and allowed(user, Action.CASE_VIEW, notice.case) else None
        name = organisation.name if organisation is not None else "?"
        shown.append(Told(kinds.named_text(notice.kind, case.reference if case else None, org=name),
                          organisation.contact if organisation is not None else None, case, notice.created_at,
                          notice.done_at is not None))
    return shown
