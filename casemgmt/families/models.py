"""Family members of an assisted person, family tracing and the family assessment visit (issue 15).

A family can be the place of safety or part of the trafficking. Each family member therefore carries three facts the
rest of the system acts on:
- safe_contact: staff may contact this person about the case;
- possibly_involved: this person may be involved in the trafficking. Such a member is never told where the person is
  (the database refuses may_be_told_location with it, and tracing and reunification refuse to disclose to them);
- may_be_told_location: the person agreed that this member may learn where they are.

Identifying fields (names, date of birth, contact, location) are encrypted under the case's key, like the person's.
The relationship and country are plaintext codes: reports count them, and alone they identify nobody.

Tracing (for an unaccompanied or separated child, or any person who asks): a request looks for a family member,
actions record who contacted whom, where and with what outcome, and the request ends found, not found or closed. The
receiving organisation in the country of origin (through its referral grant) traces and records the family
assessment visit there. A tracing request is matched against the family members other cases record with the
matching engine's blind indexes (family_member_keys), never by decrypting tables, with the same no-oracle rule as
registration (casemgmt.matching.crossorg).
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.cases.models import new_uuid
from casemgmt.core.time import utcnow
from casemgmt.crypto import EncryptedBytes, Sealed
from casemgmt.extensions import db
from casemgmt.htcds import ValueSet

RELATIONSHIPS = ValueSet("FamilyRelationship", {
    "mother": _l("Mother"),
    "father": _l("Father"),
    "stepparent": _l("Step-parent"),
    "sibling": _l("Brother or sister"),
    "spouse": _l("Spouse or partner"),
    "child": _l("Son or daughter"),
    "grandparent": _l("Grandparent"),
    "aunt_uncle": _l("Aunt or uncle"),
    "cousin": _l("Cousin"),
    "legal_guardian": _l("Legal guardian"),
    "other_relative": _l("Other relative"),
    "other": _l("Other (not a relative)"),
})

WHEREABOUTS = ValueSet("FamilyWhereabouts", {
    "known": _l("Known"),
    "unknown": _l("Unknown"),
    "deceased": _l("Deceased"),
})

TRACING_REASONS = ValueSet("TracingReason", {
    "unaccompanied": _l("Unaccompanied child"),
    "separated": _l("Separated child"),
    "person_asks": _l("The person asked for their family to be traced"),
})

TRACING_STATUSES = ValueSet("TracingStatus", {
    "open": lazy_pgettext("tracing request status", "Open"),
    "found": lazy_pgettext("tracing request status", "Found"),
    "not_found": lazy_pgettext("tracing request status", "Not found"),
    "closed": lazy_pgettext("tracing request status", "Closed"),
})
TRACING_OPEN = frozenset({"open"})

TRACING_ACTION_KINDS = ValueSet("TracingActionKind", {
    "phone_call": _l("Phone call"),
    "home_visit": _l("Home visit"),
    "community_inquiry": _l("Inquiry in the community"),
    "registry_search": _l("Civil registry or database search"),
    "partner_organisation": _l("Request to a partner organisation"),
    "authority": _l("Request to an authority"),
    "other": _l("Other"),
})

TRACING_ACTION_OUTCOMES = ValueSet("TracingActionOutcome", {
    "no_information": _l("No information"),
    "lead": _l("A lead to follow"),
    "located": _l("Family member located"),
    "confirmed_deceased": _l("Confirmed deceased"),
    "refused_contact": _l("Refused contact"),
})

ASSESSMENT_SAFETY = ValueSet("FamilyAssessmentSafety", {
    "safe": _l("No safety concerns"),
    "concerns": _l("Concerns that support can address"),
    "unsafe": _l("Not safe"),
})

ASSESSMENT_RECOMMENDATIONS = ValueSet("FamilyAssessmentRecommendation", {
    "reunify": _l("Reunify with the family"),
    "reunify_with_support": _l("Reunify with support and monitoring"),
    "do_not_reunify": _l("Do not reunify"),
    "further_assessment": _l("Further assessment needed"),
})


class FamilyMember(db.Model):
    __tablename__ = "family_members"

    # A UUID known before INSERT, because the encrypted columns bind the row id (see crypto.fields).
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    relationship_code: Mapped[str] = mapped_column("relationship", String(24))
    given_name: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    family_name: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    date_of_birth: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    phone: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    address: Mapped[Sealed | None] = mapped_column(EncryptedBytes)  # where they live or were last seen
    notes: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    whereabouts: Mapped[str] = mapped_column(String(16), default="known")
    lives_with_person: Mapped[bool] = mapped_column(default=False)
    safe_contact: Mapped[bool] = mapped_column(default=False)
    possibly_involved: Mapped[bool] = mapped_column(default=False)
    may_be_told_location: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deleted_at: Mapped[datetime | None]
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_family_members_case", "case_id", "deleted_at"),
        # Someone who may be involved in the trafficking is never told where the person is, whatever a form sends.
        CheckConstraint("NOT (possibly_involved AND may_be_told_location)", name="involved_untold"),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id

    @property
    def may_learn_location(self) -> bool:
        return self.may_be_told_location and not self.possibly_involved and self.whereabouts != "deceased"


class FamilyMemberKey(db.Model):
    """The blind indexes of a family member (the matching engine's keys: matching.keys.identity_of), so a tracing
    request is matched against other cases' family members without decrypting them. One row per key, per index
    generation, like person_match_keys."""

    __tablename__ = "family_member_keys"

    generation: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(4), primary_key=True)
    value: Mapped[int] = mapped_column(primary_key=True)
    family_member_id: Mapped[str] = mapped_column(ForeignKey("family_members.id", ondelete="CASCADE"),
                                                  primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))

    __table_args__ = (Index("ix_family_member_keys_member", "family_member_id", "generation"),)


class TracingRequest(db.Model):
    __tablename__ = "tracing_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    # The organisation that opened it: the case's, or the receiving organisation tracing in the country of origin.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    # The family member sought, a row of this case (their names and last known place are what is matched).
    family_member_id: Mapped[str | None] = mapped_column(ForeignKey("family_members.id"))
    reason: Mapped[str] = mapped_column(String(16))  # TRACING_REASONS
    # What is known about whom to look for, beyond the family member's record (encrypted: it identifies).
    description: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    status: Mapped[str] = mapped_column(String(12), default="open")
    opened_on: Mapped[date]
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_on: Mapped[date | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome_note: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")
    family_member = relationship("FamilyMember")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_tracing_requests_case", "case_id", "opened_on"),
        # Reports count requests by outcome per organisation and period.
        Index("ix_tracing_requests_org_status", "organisation_id", "status", "opened_on"),
        # One open request per sought family member: two "open tracing" clicks make one.
        Index("uq_tracing_requests_member_open", "family_member_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id

    @property
    def is_open(self) -> bool:
        return self.status in TRACING_OPEN


class TracingAction(db.Model):
    __tablename__ = "tracing_actions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    tracing_request_id: Mapped[str] = mapped_column(ForeignKey("tracing_requests.id", ondelete="CASCADE"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # who did it
    kind: Mapped[str] = mapped_column(String(24))  # TRACING_ACTION_KINDS
    done_on: Mapped[date]
    # Who contacted whom, and where: encrypted, they identify the family.
    contacted: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    place: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    notes: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    outcome: Mapped[str] = mapped_column(String(24))  # TRACING_ACTION_OUTCOMES
    # The family member contacted, when it was one of the case's; whether the person's whereabouts were shared with
    # them (refused for a member who may not be told: families.operations).
    family_member_id: Mapped[str | None] = mapped_column(ForeignKey("family_members.id"))
    whereabouts_shared: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    request = relationship("TracingRequest")
    case = relationship("Case")

    __table_args__ = (Index("ix_tracing_actions_request", "tracing_request_id", "done_on"),)

    @property
    def encryption_case_id(self) -> str:
        return self.case_id


class FamilyAssessmentVisit(db.Model):
    """The visit to the family in the country of origin, recorded by the organisation that made it (usually the
    receiving mission, through its referral grant). A child's best-interests determination reads it."""

    __tablename__ = "family_assessment_visits"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    tracing_request_id: Mapped[str | None] = mapped_column(ForeignKey("tracing_requests.id"))
    visited_on: Mapped[date]
    place: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    people_met: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    findings: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    family_willing: Mapped[bool] = mapped_column(default=False)
    safety: Mapped[str] = mapped_column(String(12))  # ASSESSMENT_SAFETY
    recommendation: Mapped[str] = mapped_column(String(24))  # ASSESSMENT_RECOMMENDATIONS
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_family_assessment_visits_case", "case_id", "visited_on"),)

    @property
    def encryption_case_id(self) -> str:
        return self.case_id


# The tracing cross-check queue lives with the matcher (families.match_models); imported here so the metadata is
# complete wherever the models are loaded (casemgmt.models imports each feature's models module).
from casemgmt.families.match_models import TracingCrossCheck  # noqa: E402,F401
