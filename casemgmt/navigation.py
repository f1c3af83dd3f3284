"""Template globals: the menu the user's policies allow, the notification bell, the language options and the
formatting of dates and times."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from casemgmt.access import Action, allowed
from casemgmt.access.roles import Role
from casemgmt.i18n import LANGUAGE_NAMES, available


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    action: Action
    # Left out for users allowed this action: they reach the page from another item's page (the menu must fit).
    unless: Action | None = None


@dataclass(frozen=True)
class NavGroup:
    """A drop-down of the main menu. `key` names it in the page (ids, tests); a group of which the user may open a
    single item shows that item as a plain link."""

    key: str
    label: object
    items: tuple[NavItem, ...]


# Grouped so that the menu stays on one line at 1280 px for every role in every language (a supervisor opens twelve
# pages from it): the groups follow the work, not the code's blueprints.
MENU = (
    NavGroup("intake", _l("Intake"), (
        NavItem("intake.queue", _l("Intake"), Action.CONTACT_VIEW),
        NavItem("intake.new_contact", _l("New contact"), Action.CONTACT_LOG),
    )),
    NavGroup("cases", _l("Cases"), (
        NavItem("cases.index", _l("Cases"), Action.CASE_LIST),
        NavItem("cases.create", _l("New case"), Action.CASE_CREATE),
        NavItem("cases.search", _l("Search"), Action.CASE_SEARCH),
        NavItem("referrals.inbox", _l("Referrals"), Action.REFERRAL_LIST),
        NavItem("tasks.index", _l("Tasks"), Action.TASK_MANAGE),
    )),
    NavGroup("facilities", _l("Facilities"), (
        NavItem("shelter.facilities", _l("Facilities"), Action.FACILITY_VIEW),
    )),
    NavGroup("reports", _l("Reports"), (
        NavItem("reports.dashboard", _l("Reports"), Action.REPORT_VIEW),
        # Supervisors and finance officers reach the fund's list and the exchange rates from the projects page.
        NavItem("programmes.projects", _l("Projects"), Action.PROJECT_VIEW),
        NavItem("fund.index", _l("Assistance fund"), Action.FUND_LIST, unless=Action.PROJECT_VIEW),
        NavItem("audit.index", _l("Audit trail"), Action.AUDIT_VIEW),
    )),
    NavGroup("admin", _l("Administration"), (
        NavItem("admin.approvals_list", _l("Account approvals"), Action.ACCOUNTS_APPROVE),
        NavItem("admin.users", _l("Users"), Action.USERS_LIST),
        NavItem("admin.organisations", _l("Organisations"), Action.ORGS_MANAGE),
        NavItem("admin.keys", _l("Keys"), Action.KEYS_MANAGE),
    )),
)

# Every item of the menu, in its order (nav_items() filters it).
NAV = tuple(item for group in MENU for item in group.items)


@dataclass(frozen=True)
class MenuEntry:
    """One group as this user sees it: the items they may open, and whether the current page is one of its."""

    group: NavGroup
    items: list[NavItem]
    active: bool

    @property
    def single(self) -> NavItem | None:
        return self.items[0] if len(self.items) == 1 else None


# The case page's sub-navigation: one landing page per journey feature, at /cases/<case_id>/<slug>.
CASE_NAV = (
    NavItem("journey.timeline", _l("Timeline"), Action.TIMELINE_VIEW),
    NavItem("intake.case_contacts", _l("Contacts and screening"), Action.CASE_VIEW),
    NavItem("consent.case_index", _l("Consent"), Action.CONSENT_VIEW),
    NavItem("shelter.case_index", _l("Shelter"), Action.PLACEMENT_MANAGE),
    NavItem("counseling.case_index", _l("Counseling"), Action.COUNSELING_VIEW),
    NavItem("returns.case_index", _l("Return"), Action.RETURN_VIEW),
    NavItem("reintegration.case_index", _l("Reintegration"), Action.REINTEGRATION_MANAGE),
    NavItem("families.case_index", _l("Family"), Action.FAMILY_VIEW),
    NavItem("bestinterests.case_index", _l("Best interests"), Action.BEST_INTERESTS_VIEW),
    NavItem("residence.case_index", _l("Stay and status"), Action.RESIDENCE_VIEW),
    NavItem("programmes.case_index", _l("Projects"), Action.ENROLMENT_MANAGE),
    NavItem("fund.case_index", _l("Assistance fund"), Action.FUND_REQUEST),
    NavItem("referrals.case_index", _l("Referrals"), Action.CASE_VIEW),
    NavItem("tasks.case_index", _l("Tasks"), Action.TASK_MANAGE),
    NavItem("documents.case_index", _l("Documents"), Action.DOCUMENT_DOWNLOAD),
)


def case_nav_items(case) -> list[NavItem]:
    """The journey pages this user may open for this case (features not installed are left out)."""
    views = current_app.view_functions
    return [item for item in CASE_NAV if item.endpoint in views and allowed(current_user, item.action, case)]


def _shown(item: NavItem) -> bool:
    return (item.endpoint in current_app.view_functions and allowed(current_user, item.action)
            and not (item.unless and allowed(current_user, item.unless)))


def nav_items() -> list[NavItem]:
    """The menu's pages this user may open, in the menu's order."""
    if not current_user.is_authenticated:
        return []
    return [item for item in NAV if _shown(item)]


def _active_group(groups: list[tuple[NavGroup, list[NavItem]]]) -> str | None:
    """The key of the group the current page belongs to: the group of its menu item; for a page reached from one
    (a case's tabs, a user, a facility), Cases for every page of a case and otherwise the group of its feature."""
    endpoint, blueprint = request.endpoint, request.blueprint
    for group, items in groups:
        if any(item.endpoint == endpoint for item in items):
            return group.key
    if "case_id" in (request.view_args or {}):
        return "cases"
    for group, items in groups:
        if any(item.endpoint.split(".", 1)[0] == blueprint for item in items):
            return group.key
    return None


def main_menu() -> list[MenuEntry]:
    """The menu's groups this user may open something in, each with its allowed items (filtered as nav_items())."""
    if not current_user.is_authenticated:
        return []
    groups = [(group, [item for item in group.items if _shown(item)]) for group in MENU]
    groups = [(group, items) for group, items in groups if items]
    active = _active_group(groups)
    return [MenuEntry(group, items, active=group.key == active) for group, items in groups]


def language_options() -> list[tuple[str, str]]:
    return [(code, LANGUAGE_NAMES.get(code, code)) for code in available()]


def current_locale() -> str:
    return str(get_locale() or "en")


# Audit events also carry roles that are not user roles: the application's own work (sweeps, scheduled jobs).
EVENT_ROLES = {"system": _l("The system")}


def role_label(code: str | None) -> str:
    """A role's translated name, for user roles and the event-only roles of EVENT_ROLES."""
    try:
        return str(Role(code).label)
    except ValueError:
        return str(EVENT_ROLES[code]) if code in EVENT_ROLES else code or ""


def init_app(app: Flask) -> None:
    from casemgmt import htcds
    from casemgmt.i18n import format_date, format_datetime
    from casemgmt.notifications.queries import bell

    app.jinja_env.globals.update(
        nav_items=nav_items, main_menu=main_menu, case_nav_items=case_nav_items, language_options=language_options,
        current_locale=current_locale, role_label=role_label, country_name=htcds.country_name,
        org_type_label=htcds.ORGANISATION_TYPES.label,
        # Times in the organisation's zone, labelled with it (casemgmt/i18n.py); never Flask-Babel's own.
        format_date=format_date, format_datetime=format_datetime,
        notification_bell=bell,
    )
