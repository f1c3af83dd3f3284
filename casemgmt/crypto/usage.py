"""What each root key version still protects, and whether it may leave the key ring.

One answer for `casemgmt keys status` and the installation administrator's key page, so the two cannot disagree.
A version protects three kinds of things:

- what is wrapped or sealed under it and names it: case data keys (data_keys.kek_version), the own keys of contacts
  not yet on a case (contacts.key_version) and two-factor secrets (users.totp_secret / totp_pending, whose key id is
  the version). `casemgmt keys rotate` moves all three to the current version.
- the matching indexes of search and the duplicate check: each live index generation names the version its HMAC
  keys come from (match_index_generations.key_version). `casemgmt indexes rebuild` builds a generation under the
  current version; once it is active, the older version no longer keys any index.
- what is derived from the oldest version in the ring (crypto.keyring, DERIVED_FROM_OLDEST below): the two-factor
  recovery code hashes, the audit chain, the audit checkpoint signatures and the erasure journal's signatures.
  Rotation never moves these, and nothing in the data names the version they came from: removing the oldest version
  silently derives them from the next one, and every recovery code, chain link, checkpoint and journal entry stops
  matching. So the oldest version is never removable.

Session cookies and enrolment links are stored as unkeyed SHA-256 digests of random tokens and depend on no version.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from flask_babel import gettext, ngettext
from sqlalchemy import func, or_, select

from casemgmt.accounts.models import RecoveryCode, User
from casemgmt.audit.events import HEAD_ID, chain_hash
from casemgmt.audit.models import AuditEvent, AuditHead
from casemgmt.crypto import aead
from casemgmt.crypto.keyring import keyring
from casemgmt.crypto.models import DataKey
from casemgmt.extensions import db
from casemgmt.intake.models import Contact
from casemgmt.matching.models import ACTIVE, BUILDING, IndexGeneration, PersonMatchKey

KEEP, REMOVABLE, MISSING = "keep", "removable", "missing"

# The KeyRing methods that derive from the oldest version (blind_index_key: the recovery codes' hashes and the form
# submission tokens; the matching indexes use match_index_key, which names its version).
# tests/crypto/test_key_usage.py fails when the ring gains
# one that is not listed here: add it, and to the "It is the oldest version" sentence and docs/operations.md.
DERIVED_FROM_OLDEST = ("blind_index_key", "audit_key", "audit_checkpoint_key", "erasure_journal_key")


@dataclass
class IndexUse:
    """A live matching-index generation keyed from a version, and how many people it holds keys of."""

    generation: int
    state: str
    bits: int
    people: int


@dataclass
class Derived:
    """What the oldest version derives, with how much of it exists now."""

    recovery_codes: int
    audit_events: int
    # True: the newest audit event's link recomputes under the ring's oldest version, so the derivations come from
    # it. False: they do not, i.e. the version they came from was taken out of the ring. None: nothing to check yet.
    matches_data: bool | None


@dataclass
class VersionUsage:
    version: int
    in_ring: bool
    current: bool
    data_keys: int = 0
    contact_keys: int = 0
    two_factor_secrets: int = 0
    match_indexes: list[IndexUse] = field(default_factory=list)
    derived: Derived | None = None  # set on the oldest version in the ring only

    @property
    def wrapped(self) -> int:
        return self.data_keys + self.contact_keys + self.two_factor_secrets

    @property
    def verdict(self) -> str:
        if not self.in_ring:
            return MISSING
        if self.current or self.derived is not None or self.wrapped or self.match_indexes:
            return KEEP
        return REMOVABLE

    @property
    def reasons(self) -> list[str]:
        """Why the version must stay (or be put back), one sentence each; empty when it is removable."""
        out = []
        if self.current:
            out.append(gettext("It is the current version: new keys are wrapped under it."))
        if self.data_keys:
            out.append(ngettext("%(num)d case data key is wrapped under it.",
                                "%(num)d case data keys are wrapped under it.", self.data_keys))
        if self.contact_keys:
            out.append(ngettext("%(num)d contact's own key is wrapped under it (a contact not yet on a case).",
                                "%(num)d contacts' own keys are wrapped under it (contacts not yet on a case).",
                                self.contact_keys))
        if self.two_factor_secrets:
            out.append(ngettext("%(num)d two-factor secret is sealed under it.",
                                "%(num)d two-factor secrets are sealed under it.", self.two_factor_secrets))
        for index in self.match_indexes:
            state = gettext("active") if index.state == ACTIVE else gettext("being built")
            if self.current:
                out.append(gettext(
                    "The matching indexes of search and the duplicate check are keyed from it (index generation "
                    "%(generation)d, %(state)s, %(people)d people indexed).",
                    generation=index.generation, state=state, people=index.people))
            else:
                out.append(gettext(
                    "The matching indexes of search and the duplicate check are keyed from it (index generation "
                    "%(generation)d, %(state)s, %(people)d people indexed): it is needed until `casemgmt indexes "
                    "rebuild` has rebuilt them under the current version.",
                    generation=index.generation, state=state, people=index.people))
        if self.derived is not None:
            d = self.derived
            out.append(gettext(
                "It is the oldest version: the two-factor recovery codes, the audit chain, the audit checkpoint "
                "signatures and the erasure journal derive from it, and neither rotation nor an index rebuild moves "
                "them (recovery codes: %(codes)d, audit events: %(events)d).",
                codes=d.recovery_codes, events=d.audit_events,
            ))
        return out


@dataclass
class KeyUsage:
    ring_versions: tuple[int, ...]
    current: int
    versions: list[VersionUsage] = field(default_factory=list)

    @property
    def oldest(self) -> VersionUsage:
        return next(v for v in self.versions if v.derived is not None)

    @property
    def problems(self) -> list[str]:
        """What is broken now (not merely waiting for rotation); `keys status` exits 1 when there is any."""
        out = [
            gettext("Version %(version)d is missing from the key ring, but what is listed under it needs it: put "
                    "it back.", version=v.version)
            for v in self.versions if v.verdict == MISSING
        ]
        if self.oldest.derived.matches_data is False:
            out.append(gettext(
                "The newest audit event does not match the keys derived from version %(version)d, the oldest in the "
                "ring. Either an older version, from which the recovery codes, audit chain and erasure journal were "
                "derived, has been removed from the ring (put it back), or the event was altered "
                "(run casemgmt audit verify).", version=self.oldest.version))
        return out

    @property
    def waiting_for_rotation(self) -> int:
        """Keys and secrets under an older version that `casemgmt keys rotate` would move to the current one."""
        return sum(v.wrapped for v in self.versions if not v.current)

    def as_dict(self) -> dict:
        return {
            "ring_versions": list(self.ring_versions),
            "current": self.current,
            "versions": [
                {**asdict(v), "verdict": v.verdict, "reasons": v.reasons} for v in self.versions
            ],
            "problems": self.problems,
        }


def _count_by(column, *where) -> dict[int, int]:
    rows = db.session.execute(select(column, func.count()).where(*where).group_by(column))
    return {version: count for version, count in rows if version is not None}


def _two_factor_secrets() -> dict[int, int]:
    # The version is inside each blob's header, not in a column; the users table is small.
    counts: dict[int, int] = {}
    rows = db.session.execute(
        select(User.totp_secret, User.totp_pending)
        .where(or_(User.totp_secret.is_not(None), User.totp_pending.is_not(None)))
    )
    for blobs in rows:
        for blob in blobs:
            if blob:
                version = aead.key_id_of(blob)
                counts[version] = counts.get(version, 0) + 1
    return counts


def _chain_matches_ring(head: AuditHead | None) -> bool | None:
    """Recompute the newest audit event's link: the only derived value that can be checked without a secret."""
    event = db.session.get(AuditEvent, head.last_seq) if head is not None else None
    if event is None:
        return None
    return chain_hash(event.prev_hash, event) == event.hash


def _derived() -> Derived:
    codes = db.session.scalar(select(func.count()).select_from(RecoveryCode)) or 0
    head = db.session.get(AuditHead, HEAD_ID)
    return Derived(codes, head.last_seq if head else 0, _chain_matches_ring(head))


def _match_indexes() -> dict[int, list[IndexUse]]:
    """Key version -> the live index generations keyed from it (a RETIRING one is no longer read or written)."""
    people = dict(db.session.execute(
        select(PersonMatchKey.generation, func.count(func.distinct(PersonMatchKey.case_id)))
        .join(IndexGeneration, IndexGeneration.id == PersonMatchKey.generation)
        .where(IndexGeneration.state.in_((ACTIVE, BUILDING)))
        .group_by(PersonMatchKey.generation)
    ).all())
    out: dict[int, list[IndexUse]] = {}
    for generation in db.session.scalars(
        select(IndexGeneration).where(IndexGeneration.state.in_((ACTIVE, BUILDING))).order_by(IndexGeneration.id)
    ):
        out.setdefault(generation.key_version, []).append(
            IndexUse(generation.id, generation.state, generation.bits, people.get(generation.id, 0)))
    return out


def key_versions_usage() -> KeyUsage:
    """Every version in the ring and every version the data names but the ring lacks, with what it protects."""
    ring = keyring()
    data_keys = _count_by(DataKey.kek_version)
    contact_keys = _count_by(Contact.key_version, Contact.wrapped_key.is_not(None))
    secrets = _two_factor_secrets()
    indexes = _match_indexes()
    oldest = ring.versions[0]  # KeyRing derives from min(versions)
    usage = KeyUsage(ring.versions, ring.current_version)
    for version in sorted(set(ring.versions) | set(data_keys) | set(contact_keys) | set(secrets) | set(indexes)):
        usage.versions.append(VersionUsage(
            version=version,
            in_ring=version in ring.versions,
            current=version == ring.current_version,
            data_keys=data_keys.get(version, 0),
            contact_keys=contact_keys.get(version, 0),
            two_factor_secrets=secrets.get(version, 0),
            match_indexes=indexes.get(version, []),
            derived=_derived() if version == oldest else None,
        ))
    return usage
