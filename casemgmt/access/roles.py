"""The roles. A user has exactly one.

Separation of duties: the roles that read cases never administer accounts, and the roles that administer accounts
never read cases. An organisation's administrator manages the case-reading accounts of their own organisation; the
installation administrator creates organisations and their administrators and looks after the keys."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    HOTLINE = "hotline_operator"
    CASEWORKER = "caseworker"
    MISSION = "mission_staff"
    SUPERVISOR = "supervisor"
    ADMIN = "administrator"
    INSTALL_ADMIN = "installation_admin"
    # Approves and disburses emergency fund requests and keeps exchange rates: sees amounts, categories and case
    # references, never a person's identity or notes (issue 14).
    FINANCE = "finance_officer"

    @property
    def label(self):
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.HOTLINE: _l("Hotline operator"),
    Role.CASEWORKER: _l("Caseworker"),
    Role.MISSION: _l("Mission staff"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.ADMIN: _l("Administrator"),
    Role.INSTALL_ADMIN: _l("Installation administrator"),
    Role.FINANCE: _l("Finance officer"),
}

# Roles whose accounts must use two-factor login when CASEMGMT_REQUIRE_2FA is on.
TWO_FACTOR_ROLES = frozenset({Role.ADMIN, Role.INSTALL_ADMIN, Role.SUPERVISOR, Role.FINANCE})

# Roles that open cases: a new account in one of them, or a role change into one, takes effect only when a
# supervisor of the organisation approves it (four eyes), and its enrolment link goes to that supervisor. The finance
# officer reads no identity but approves money and sees case references, so the same four eyes apply.
CASE_READING_ROLES = frozenset({Role.HOTLINE, Role.CASEWORKER, Role.MISSION, Role.SUPERVISOR, Role.FINANCE})
ADMIN_ROLES = frozenset({Role.ADMIN, Role.INSTALL_ADMIN})
