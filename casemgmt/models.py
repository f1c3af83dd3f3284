"""Every model, imported in one place so the metadata is complete for migrations and create_all()."""

import importlib
import importlib.util

from casemgmt.access.grants import CaseGrant
from casemgmt.accounts.models import Organisation, User, UserSession
from casemgmt.audit.models import AuditEvent, AuditHead
from casemgmt.cases.models import Case, CaseCode, Person, StageChange
from casemgmt.core.journey import FEATURES
from casemgmt.core.submissions import SubmissionToken
from casemgmt.crypto.models import DataKey
from casemgmt.matching.models import CrossCheck, IndexGeneration, PersonMatchKey
from casemgmt.referrals.models import Referral
from casemgmt.revisions.models import RecordRevision


def _feature_models() -> None:
    # Each journey feature keeps its models in its own package; importing them here completes the metadata.
    for feature in FEATURES:
        name = f"casemgmt.{feature}.models"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


_feature_models()

__all__ = [
    "AuditEvent", "AuditHead", "Case", "CaseCode", "CaseGrant", "CrossCheck", "DataKey", "IndexGeneration",
    "Organisation", "Person", "PersonMatchKey", "RecordRevision", "Referral", "StageChange", "SubmissionToken", "User",
    "UserSession",
]
