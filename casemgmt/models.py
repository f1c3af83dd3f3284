"""Every model, imported in one place so the metadata is complete for migrations and create_all()."""

from casemgmt.accounts.models import Organisation, User, UserSession
from casemgmt.audit.models import AuditEvent, AuditHead
from casemgmt.cases.models import Case, CaseCode, Person, StageChange
from casemgmt.crypto.models import DataKey

__all__ = [
    "AuditEvent", "AuditHead", "Case", "CaseCode", "DataKey", "Organisation", "Person", "StageChange", "User",
    "UserSession",
]
