"""The five roles. A user has exactly one."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    HOTLINE = "hotline_operator"
    CASEWORKER = "caseworker"
    MISSION = "mission_staff"
    SUPERVISOR = "supervisor"
    ADMIN = "administrator"

    @property
    def label(self):
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.HOTLINE: _l("Hotline operator"),
    Role.CASEWORKER: _l("Caseworker"),
    Role.MISSION: _l("Mission staff"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.ADMIN: _l("Administrator"),
}

# Roles whose accounts must use two-factor login when CASEMGMT_REQUIRE_2FA is on.
TWO_FACTOR_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR})
