from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.core.time import utcnow
from casemgmt.crypto import EncryptedBytes, Sealed
from casemgmt.extensions import db

# Reference codes avoid characters that are easy to mix up when read over a phone line.
_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_uuid() -> str:
    return str(uuid.uuid4())


def new_reference() -> str:
    return "C-" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(8))


class Case(db.Model):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    reference: Mapped[str] = mapped_column(String(16), unique=True, default=new_reference)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    stage: Mapped[str] = mapped_column(String(16), default="intake")
    status: Mapped[str] = mapped_column(String(16), default="Active")
    trafficking_status: Mapped[str | None] = mapped_column(String(40))
    status_decided_by: Mapped[str | None] = mapped_column(String(40))
    recruitment_method: Mapped[str | None] = mapped_column(String(40))
    relationship_to_trafficker: Mapped[str | None] = mapped_column(String(16))
    # A recorded fact (the person is a child without, or separated from, the parents or usual caregiver) that adds
    # rules for a child. It does not say whether the person is a child: that comes from the age (cases.age).
    unaccompanied_or_separated: Mapped[bool] = mapped_column(default=False)
    pregnant: Mapped[bool] = mapped_column(default=False)
    elderly: Mapped[bool] = mapped_column(default=False)
    ill: Mapped[bool] = mapped_column(default=False)
    narrative: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    erased_at: Mapped[datetime | None]
    # When the case last entered the closed stage (null while open): reports count the cases open during a period
    # with two indexed comparisons instead of replaying the stage history.
    closed_at: Mapped[datetime | None]
    # The next_visit_due of the case's latest monitoring visit (reintegration.operations.refresh_next_visit keeps it):
    # the dashboard and the home page's worklist read it here instead of ranking every visit of every case.
    next_visit_due: Mapped[date | None]

    person: Mapped[Person] = relationship(back_populates="case", uselist=False, cascade="all, delete-orphan")
    codes: Mapped[list[CaseCode]] = relationship(
        cascade="all, delete-orphan", order_by="CaseCode.kind, CaseCode.code"
    )
    assigned_to = relationship("User", foreign_keys=[assigned_to_id])
    organisation = relationship("Organisation")

    # The version counter makes every UPDATE conditional on the version the editor started from: two saves of the
    # same case cannot both succeed, on any number of workers (SQLAlchemy raises StaleDataError for the second).
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_cases_org_stage_created", "organisation_id", "stage", "created_at"),
        Index("ix_cases_org_status", "organisation_id", "status"),
        Index("ix_cases_assigned_created", "assigned_to_id", "created_at"),
        Index("ix_cases_created_by", "created_by_id"),
        Index("ix_cases_org_created", "organisation_id", "created_at"),
        Index("ix_cases_org_closed", "organisation_id", "closed_at"),
        Index("ix_cases_next_visit_due", "next_visit_due"),
        # The case list's order and counts, read from the index alone (erased cases never show).
        Index("ix_cases_org_live_created", "organisation_id", "created_at", "id",
              sqlite_where=text("erased_at IS NULL"), postgresql_where=text("erased_at IS NULL")),
        # The reports' cohort (organisation, registered before the period's end, not closed before its start) and
        # what the dashboard groups it by, read from the index alone. erased_at is listed although it is always
        # null here: SQLite reads the table for a column of the index's WHERE unless the index holds it.
        Index("ix_cases_report", "organisation_id", "created_at", "closed_at", "stage", "assigned_to_id",
              "next_visit_due", "id", "erased_at",
              sqlite_where=text("erased_at IS NULL"), postgresql_where=text("erased_at IS NULL")),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.id

    def code_list(self, kind: str) -> list[str]:
        return [c.code for c in self.codes if c.kind == kind]


class CaseCode(db.Model):
    """Multi-valued HTCDS categories (exploitation types, means of control, countries, languages) as rows, so
    reports can count them with plain SQL and an index instead of parsing lists."""

    __tablename__ = "case_codes"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)

    # The cases with a code ("kind, code" first), and a report's codes of one kind read from the index alone.
    __table_args__ = (Index("ix_case_codes_kind_code_case", "kind", "code", "case_id"),)


CODE_KINDS = ("exploitation", "control", "recruitment_country", "exploitation_country")


class Person(db.Model):
    """The assisted person. Identifying fields are encrypted under the case's data key; the plaintext columns are
    the coarse categories reports need. The blind indexes that find a person without decrypting the table are rows of
    person_match_keys (casemgmt.matching)."""

    __tablename__ = "persons"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    given_name: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    family_name: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    aliases: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    date_of_birth: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    phone: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    address: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    document_type: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    document_number: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    gender: Mapped[str | None] = mapped_column(String(24))
    citizenship: Mapped[str | None] = mapped_column(String(2))
    languages: Mapped[str | None] = mapped_column(String(64))
    age_band: Mapped[str | None] = mapped_column(String(8))
    # What the age is known from (cases.age.BASES): "exact" (the date of birth), "estimated" (an estimated age on the
    # day it was estimated), "birth_year", or "child_unknown" (recorded as a child before ages were derived, age not
    # known yet). A code, not an age, so it stays plaintext; the values it points to identify and are encrypted.
    age_basis: Mapped[str | None] = mapped_column(String(16))
    estimated_age: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    age_estimated_on: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    birth_year: Mapped[Sealed | None] = mapped_column(EncryptedBytes)

    case: Mapped[Case] = relationship(back_populates="person")

    @property
    def encryption_case_id(self) -> str:
        return self.case_id


class StageChange(db.Model):
    __tablename__ = "stage_changes"

    # A UUID known before INSERT, because the encrypted reason binds the row id (see crypto.fields).
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the case entered from_stage: the changed_at of its previous change. The stay in from_stage is then this
    # one row (stay_started_at to changed_at), so the dashboard's median stays are a filtered aggregate, not a window
    # over every case's history.
    stay_started_at: Mapped[datetime | None]
    # The reason is free text about the person's situation, so it is encrypted like the narrative.
    reason: Mapped[Sealed | None] = mapped_column(EncryptedBytes)

    changed_by = relationship("User")

    # A case's history in order, and the stays of the reports' cases that ended in a period, from the index alone.
    __table_args__ = (Index("ix_stage_changes_case_stays", "case_id", "changed_at", "from_stage", "stay_started_at"),)

    @property
    def encryption_case_id(self) -> str:
        return self.case_id
