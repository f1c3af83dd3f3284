"""The generated access matrix (issue 10, "Keep it closed"; ASVS 4.1.1, 4.1.3, 4.2.1).

Every route that takes an object id is requested by every viewer, GET and POST, on a real object of the owning
organisation, and the answer must be the one in TABLE. tests/security/matrix.py builds the objects through the
operations and says how each request is made (a refused viewer sends a complete form, a viewer of another
organisation also asks for an id that does not exist, a permitted one also for another organisation's object under
the case) and what the letters mean. A route without a row fails, and so does a row whose route no longer exists.

Columns, in this order (spaces and "|" are only for the eye):
    own:       admin hotline caseworker caseworker_b supervisor mission finance  (the organisation that owns the object)
    other:     admin hotline caseworker supervisor mission finance               (another NGO: must learn nothing)
    referral:  mission supervisor accepted caseworker finance                    (the mission the case is referred to)
    install:   the installation administrator

The finance officers (issue 14) approve and pay the emergency fund and read no identity: no case page is theirs (403
in their organisation, 404 elsewhere, as the role's coarse check or the case's scope decides).

`own_hotline` opened the main case (it is still in intake) and `own_caseworker` is assigned to it; `own_caseworker_b`
is a colleague not on it. `referral_accepted` accepted the referral; `referral_caseworker` is a colleague who did not.

Another organisation's object answers 404. A 403 for another organisation's viewer only ever comes from the role (the
route is closed to it whatever the id): the test asks each of those viewers for an id that does not exist too, and
the two answers must be the same, so no answer says whether the object exists.
"""

from __future__ import annotations

import time

import pytest
from flask import url_for

from tests.conftest import built_app
from tests.security import matrix

# Each row: endpoint -> (the object it is asked about, by its name in matrix.World.objects, {method: letters}).
# A letter per column: o allowed, f 403, n 404.
#                                         own          other    referral install
CASE_ROLES = "f o o f o o f | f n n n n f | o o o n f | f"  # the case's own pages, in the referral scope
CASE_NOT_REFERRED = "f o o f o o f | f n n n n f | f f f n f | f"
WORKERS_REFERRED = "f f o f o o f | f f n n n f | o o o n f | f"  # caseworkers, mission staff, supervisors
WORKERS_NOT_REFERRED = "f f o f o o f | f f n n n f | f f f n f | f"
PLACEMENT = "f f o f o f f | f f n n f f | f f f n f | f"  # caseworkers and supervisors, never through a referral
SUPERVISOR_DECIDES = "f f f f o f f | f f f n f f | f f f f f | f"  # a supervisor of the owning organisation
# The supervisor's own request: nobody approves what they requested.
NOBODY = "f f f f f f f | f f f n f f | f f f f f | f"
# Contacts belong to the organisation that took the call. One linked to a case the viewer reaches through a referral
# is refused (403: the case is no secret to them); one not linked to any case is another organisation's (404).
CONTACT = "f o o o o o f | f n n n n f | f f f n f | f"
WAITING_CONTACT = "f o o o o o f | f n n n n f | n n n n f | f"
# The organisation's administrator manages its case-reading accounts; the installation administrator sees them (200
# on the account page) but manages only administrators, and is of another organisation: 404, as for any other.
ACCOUNT_ADMIN = "o f f f f f f | n f f f f f | f f f f f | n"
# An administrator's account is the installation administrator's to manage, never a fellow administrator's.
ADMIN_ACCOUNT = "f f f f f f f | n f f f f f | f f f f f | o"
ADMIN_ACCOUNT_VIEW = "o f f f f f f | n f f f f f | f f f f f | o"
SUPERVISOR_APPROVES_ACCOUNT = "f f f f o f f | f f f n f f | f n f f f | f"  # an account change in the organisation

# A transfer approved by the owning organisation is answered by a supervisor of the receiving one, who holds a review
# grant meanwhile; its mission staff and caseworkers may not (their role), the owner's supervisor may not (403).
RECEIVER_ANSWERS = "f f f f f f f | f f f n f f | f o f f f | f"

# Corrections and deletions (issue 12, item 6): the record's author, the case's caseworker or a supervisor. The
# service and the visit were recorded by the mission's caseworker who accepted the referral (reintegration is in the
# referral scope): they and the mission's supervisor may correct them; the owner's mission staff may not.
CORRECTS_REINTEGRATION = "f f o f o f f | f f n n n f | f o o n f | f"
# A contact: whoever took it (the hotline operator), the caseworker of its case, a supervisor of its organisation.
CORRECTS_CONTACT = "f o o f o f f | f n n n n f | f f f n f | f"

# A task belongs to the organisation that made it: the owning organisation's task is not the receiving one's to touch,
# nor the receiving organisation's task the owner's (only its accepting caseworker, mission staff and supervisor).
RECEIVING_TASK = "f f f f f f f | f n n n n f | o o o n f | f"

# A notification is its reader's alone (notifications/operations.load): anyone else's answers 404, as one that does
# not exist. The notice is the caseworker's, told that the mission accepted the referral they sent.
NOTICE_READER = "n n o n n n n | n n n n n n | n n n n n | n"

# Projects and the emergency assistance fund (issue 14; access/scope.py rows project.*, enrolment.manage, fund.*). The
# project is led by the owning NGO and implemented with the mission: the supervisors and finance officers of both see
# it; only the lead's supervisors change it (the mission's supervisor, who sees it, is refused: 403).
PROJECT_VIEW = "f f f f o f o | f f f n f n | f o f f o | f"
PROJECT_MANAGE = "f f f f o f f | f f f n f f | f f f f f | f"
# Enrolment and fund requests on the case: its case workers, through the referral too (each organisation in its own
# projects). An enrolment is the organisation's that made it.
ENROLMENT = "f f o f o o f | f f n n n f | f f f n f | f"
# A fund request is the requesting organisation's: its supervisors and finance officers, and its case workers who
# may ask the fund for the case. The receiving organisation, which reaches the case, is refused (403).
FUND_VIEW = "f f o f o o o | f f n n n n | f f f n n | f"
FUND_HISTORY = "f f o f o o f | f f n n n n | f f f n n | f"  # the history shows the justification: no finance
# Approval, payment, receipt, refund: a supervisor or finance officer of the requesting organisation.
FUND_MONEY = "f f f f o f o | f f f n f n | f f f f n | f"
FUND_CANCEL = "f f o f o f f | f f n n n f | f f f n f | f"  # the requester or a supervisor
FUND_CORRECT_REQUEST = "f f o f o f f | f f n n n n | f f f n n | f"  # the requester or a supervisor: it names her
FUND_CORRECT_PAYMENT = "f f o f o f o | f f n n n n | f f f n n | f"  # the payment: the finance officer too

# Children and families (issue 15; docs/access.md rows family.*, tracing.manage, bestinterests.*, residence.*). The
# child's case and the adult's who stays are referred to the mission, accepted by referral_accepted. Family members,
# tracing and the family assessment visit are in the referral scope: the receiving organisation traces and visits the
# family in the country of origin. Adding, correcting and removing family members is the owning organisation's.
FAMILY = WORKERS_REFERRED
FAMILY_MANAGE = WORKERS_NOT_REFERRED
# Best interests (the child's views and health) and the stay (immigration status, reunification): never through a
# referral, never the hotline operator, the caseworker not on the case or the finance officer.
OWN_WORKERS = WORKERS_NOT_REFERRED
# Signing a determination: only a named panel member whose signature is pending (her caseworker and the supervisor);
# everyone else who may open the child's best interests is refused (403), another organisation's staff learn nothing.
PANEL_SIGNS = "f f o f o f f | f f n n n f | f f f n f | f"

TABLE: dict[str, tuple[str, dict[str, str]] | list[tuple[str, dict[str, str]]]] = {
    "admin.approve": ("account_request", {"POST": SUPERVISOR_APPROVES_ACCOUNT}),
    "admin.refuse": ("account_request", {"POST": SUPERVISOR_APPROVES_ACCOUNT}),
    "admin.disable": [("user", {"POST": ACCOUNT_ADMIN}), ("administrator", {"POST": ADMIN_ACCOUNT})],
    "admin.enable": [("user", {"POST": ACCOUNT_ADMIN}), ("administrator", {"POST": ADMIN_ACCOUNT})],
    "admin.export_grant": [("user", {"POST": ACCOUNT_ADMIN}), ("administrator", {"POST": ADMIN_ACCOUNT})],
    "admin.reset": [("user", {"POST": ACCOUNT_ADMIN}), ("administrator", {"POST": ADMIN_ACCOUNT})],
    "admin.set_role": [("user", {"POST": ACCOUNT_ADMIN}), ("administrator", {"POST": ADMIN_ACCOUNT})],
    "admin.user": [("user", {"GET": "o f f f f f f | n f f f f f | f f f f f | o"}),
                   ("administrator", {"GET": ADMIN_ACCOUNT_VIEW})],
    "cases.access_log": ("case", {"GET": "f f f f o f f | f f f n f f | f o f f f | f"}),
    "cases.change_stage": ("case", {"POST": "f f o f o o f | f f n n n f | f f f n f | f"}),
    "cases.edit": ("case", {"GET": CASE_NOT_REFERRED, "POST": CASE_NOT_REFERRED}),
    "cases.view": ("case", {"GET": CASE_ROLES}),
    "consent.case_index": ("case", {"GET": CASE_ROLES}),
    "consent.record": ("case", {"POST": CASE_ROLES}),
    "consent.withdraw": ("consent", {"POST": CASE_ROLES}),
    "counseling.case_index": ("case", {"GET": WORKERS_NOT_REFERRED}),
    "counseling.create": ("case", {"GET": PLACEMENT, "POST": PLACEMENT}),
    "counseling.view": ("counseling_session", {"GET": WORKERS_NOT_REFERRED}),
    "counseling.correct": ("counseling_session", {"GET": PLACEMENT, "POST": PLACEMENT}),
    "counseling.delete": ("counseling_session", {"POST": PLACEMENT}),
    "counseling.history": ("counseling_session", {"GET": PLACEMENT}),  # those who may read the notes
    "documents.case_index": ("case", {"GET": WORKERS_REFERRED}),
    "documents.download": ("document", {"GET": WORKERS_REFERRED}),
    "documents.upload": ("case", {"POST": WORKERS_REFERRED}),
    "intake.attach": ("waiting_contact", {"POST": WAITING_CONTACT}),
    "intake.case_contacts": ("case", {"GET": CASE_ROLES}),
    "intake.contact": ("contact", {"GET": CONTACT}),
    "intake.correct": ("contact", {"GET": CORRECTS_CONTACT, "POST": CORRECTS_CONTACT}),
    "intake.delete": ("contact", {"POST": CORRECTS_CONTACT}),
    "intake.history": ("contact", {"GET": CONTACT}),  # those who may read the contact
    "intake.mark_handled": ("contact", {"POST": CONTACT}),
    "intake.new_screening": ("case", {"GET": CASE_NOT_REFERRED, "POST": CASE_NOT_REFERRED}),
    "intake.open_case": ("waiting_contact", {"GET": WAITING_CONTACT, "POST": WAITING_CONTACT}),
    "journey.approve": ("own_closure", {"POST": NOBODY}),
    "journey.closure": ("case", {"GET": WORKERS_NOT_REFERRED, "POST": WORKERS_NOT_REFERRED}),
    "journey.reject": ("rejectable_closure", {"POST": SUPERVISOR_DECIDES}),
    "journey.timeline": ("case", {"GET": CASE_ROLES}),
    # The caseworker who requested it (the first to withdraw it) or a supervisor of the owning organisation.
    "journey.withdraw": ("rejectable_closure", {"POST": "f f o f o f f | f f n n n f | f f f n f | f"}),
    "notifications.open_notice": ("notification", {"POST": NOTICE_READER}),
    "notifications.read": ("notification", {"POST": NOTICE_READER}),
    "referrals.accept": ("pending_referral", {"POST": "f f f f f f f | f f n n n f | o o o o f | f"}),
    "referrals.approve_transfer": ("own_transfer", {"POST": NOBODY}),
    "referrals.cancel_transfer": ("cancellable_transfer", {"POST": WORKERS_NOT_REFERRED}),
    "referrals.case_index": ("case", {"GET": CASE_ROLES}),
    "referrals.create": ("case", {"POST": WORKERS_NOT_REFERRED}),
    "referrals.decline": ("pending_referral", {"POST": "f f f f f f f | f f n n n f | o o o o f | f"}),
    "referrals.reject_transfer": ("rejectable_transfer", {"POST": SUPERVISOR_DECIDES}),
    "referrals.accept_transfer": ("acceptable_transfer", {"POST": RECEIVER_ANSWERS}),
    "referrals.decline_transfer": ("declinable_transfer", {"POST": RECEIVER_ANSWERS}),
    # Resuming a suspended access shares the case again: the owning organisation's, like referring it.
    "referrals.resume": ("revocable_referral", {"POST": WORKERS_NOT_REFERRED}),
    "referrals.request_transfer": ("case", {"POST": WORKERS_NOT_REFERRED}),
    "referrals.revoke": ("revocable_referral", {"POST": WORKERS_NOT_REFERRED}),
    "reintegration.case_index": ("case", {"GET": WORKERS_REFERRED}),
    "reintegration.plan": ("case", {"POST": WORKERS_REFERRED}),
    "reintegration.service": ("case", {"POST": WORKERS_REFERRED}),
    "reintegration.visit": ("case", {"POST": WORKERS_REFERRED}),
    "reintegration.correct_services": ("service", {"GET": CORRECTS_REINTEGRATION, "POST": CORRECTS_REINTEGRATION}),
    "reintegration.delete_services": ("service", {"POST": CORRECTS_REINTEGRATION}),
    "reintegration.history_services": ("service", {"GET": WORKERS_REFERRED}),
    "reintegration.correct_visits": ("visit", {"GET": CORRECTS_REINTEGRATION, "POST": CORRECTS_REINTEGRATION}),
    "reintegration.delete_visits": ("visit", {"POST": CORRECTS_REINTEGRATION}),
    "reintegration.history_visits": ("visit", {"GET": WORKERS_REFERRED}),
    "returns.approve": ("return_plan", {"POST": SUPERVISOR_DECIDES}),
    "returns.arrival": ("return_plan", {"POST": WORKERS_REFERRED}),
    "returns.cancel": ("cancellable_plan", {"POST": WORKERS_REFERRED}),
    "returns.case_index": ("case", {"GET": WORKERS_REFERRED}),
    "returns.consular": ("return_plan", {"POST": WORKERS_REFERRED}),
    "returns.create": ("case", {"POST": WORKERS_REFERRED}),
    "returns.departure": ("return_plan", {"POST": WORKERS_REFERRED}),
    "returns.destination": ("return_plan", {"POST": WORKERS_REFERRED}),
    "returns.family": ("return_plan", {"POST": WORKERS_REFERRED}),
    # Sending the hand-off shares the case: the owning organisation's, though both work on the plan.
    "returns.handoff": ("return_plan", {"POST": WORKERS_NOT_REFERRED}),
    "returns.itinerary": ("return_plan", {"POST": WORKERS_REFERRED}),
    "returns.risk": ("return_plan", {"POST": WORKERS_REFERRED}),
    "returns.submit": ("return_plan", {"POST": WORKERS_REFERRED}),
    "returns.travel_document": ("return_plan", {"POST": WORKERS_REFERRED}),
    "shelter.admit": ("case", {"POST": PLACEMENT}),
    "shelter.case_index": ("case", {"GET": PLACEMENT}),
    "shelter.discharge": ("placement", {"POST": PLACEMENT}),
    "shelter.correct": ("placement", {"GET": PLACEMENT, "POST": PLACEMENT}),
    "shelter.delete": ("placement", {"POST": PLACEMENT}),
    "shelter.history": ("placement", {"GET": PLACEMENT}),
    "shelter.edit_facility": ("facility", {"GET": "f f f f o f f | f f f n f f | f n f f f | f",
                                           "POST": "f f f f o f f | f f f n f f | f n f f f | f"}),
    "shelter.facility": ("facility", {"GET": "f f o o o f f | f f n n f f | f n n n f | f"}),
    "shelter.record_past": ("case", {"POST": PLACEMENT}),
    "fund.approve": ("waiting_request", {"POST": FUND_MONEY}),
    "fund.cancel": ("waiting_request", {"POST": FUND_CANCEL}),
    "fund.case_index": ("case", {"GET": WORKERS_REFERRED, "POST": WORKERS_REFERRED}),
    "fund.correct_payment": ("paid_request", {"GET": FUND_CORRECT_PAYMENT, "POST": FUND_CORRECT_PAYMENT}),
    "fund.correct_request": ("waiting_request", {"GET": FUND_CORRECT_REQUEST, "POST": FUND_CORRECT_REQUEST}),
    "fund.decline": ("waiting_request", {"POST": FUND_MONEY}),
    "fund.disburse": ("approved_request", {"POST": FUND_MONEY}),
    "fund.history": ("waiting_request_history", {"GET": FUND_HISTORY}),
    "fund.receipt": ("paid_request", {"POST": FUND_MONEY}),
    "fund.refund": ("paid_request", {"POST": FUND_MONEY}),
    "fund.request_page": ("waiting_request", {"GET": FUND_VIEW}),
    "programmes.attribute": ("case", {"POST": WORKERS_REFERRED}),
    "programmes.case_index": ("case", {"GET": WORKERS_REFERRED}),
    "programmes.edit_project": ("project", {"GET": PROJECT_MANAGE, "POST": PROJECT_MANAGE}),
    "programmes.end_enrolment": ("enrolment", {"POST": ENROLMENT}),
    "programmes.enrol": ("case", {"POST": WORKERS_REFERRED}),
    "programmes.financial_export": ("project", {"GET": PROJECT_VIEW}),
    "programmes.project": ("project", {"GET": PROJECT_VIEW}),
    "families.case_index": ("child", {"GET": FAMILY}),
    "families.new_member": ("child", {"GET": FAMILY_MANAGE, "POST": FAMILY_MANAGE}),
    "families.edit_member": ("family_member", {"GET": FAMILY_MANAGE, "POST": FAMILY_MANAGE}),
    "families.remove_member": ("family_member", {"POST": FAMILY_MANAGE}),
    "families.open_request": ("family_member", {"GET": FAMILY, "POST": FAMILY}),
    "families.tracing_request": ("tracing_request", {"GET": FAMILY}),
    "families.new_action": ("tracing_request", {"GET": FAMILY, "POST": FAMILY}),
    "families.close": ("tracing_request", {"POST": FAMILY}),
    "families.new_visit": ("child", {"GET": FAMILY, "POST": FAMILY}),
    "families.new_request_visit": ("tracing_request", {"GET": FAMILY, "POST": FAMILY}),
    "bestinterests.case_index": ("child", {"GET": OWN_WORKERS}),
    "bestinterests.new_assessment": ("child", {"GET": OWN_WORKERS, "POST": OWN_WORKERS}),
    "bestinterests.edit_assessment": ("assessment", {"GET": OWN_WORKERS, "POST": OWN_WORKERS}),
    "bestinterests.new_determination": ("child", {"GET": OWN_WORKERS, "POST": OWN_WORKERS}),
    "bestinterests.determination": ("determination", {"GET": OWN_WORKERS}),
    "bestinterests.sign": ("determination", {"POST": PANEL_SIGNS}),
    # Whoever may record the child's best interests reaches it; the operation lets only the proposer withdraw.
    "bestinterests.withdraw": ("determination", {"POST": OWN_WORKERS}),
    "bestinterests.new_guardian": ("child", {"GET": OWN_WORKERS, "POST": OWN_WORKERS}),
    "bestinterests.end_guardian": ("guardian", {"POST": OWN_WORKERS}),
    "bestinterests.new_care": ("child", {"GET": OWN_WORKERS, "POST": OWN_WORKERS}),
    "bestinterests.end_care": ("care", {"POST": OWN_WORKERS}),
    "residence.case_index": ("stays", {"GET": OWN_WORKERS}),
    "residence.status_new": ("stays", {"GET": OWN_WORKERS, "POST": OWN_WORKERS}),
    "residence.status_edit": ("protection_status", {"GET": OWN_WORKERS, "POST": OWN_WORKERS}),
    "residence.reunification_new": ("stays", {"GET": OWN_WORKERS, "POST": OWN_WORKERS}),
    "residence.reunification": ("reunification", {"GET": OWN_WORKERS}),
    "residence.member_add": ("reunification", {"POST": OWN_WORKERS}),
    "residence.member_update": ("reunification_member", {"POST": OWN_WORKERS}),
    "residence.cancel": ("reunification", {"POST": OWN_WORKERS}),
    "residence.service_new": ("reunification", {"GET": OWN_WORKERS, "POST": OWN_WORKERS}),
    "tasks.case_index": ("case", {"GET": CASE_ROLES, "POST": CASE_ROLES}),
    "tasks.complete": [("task", {"POST": CASE_NOT_REFERRED}), ("receiving_task", {"POST": RECEIVING_TASK})],
    "tasks.edit": [("task", {"GET": CASE_NOT_REFERRED, "POST": CASE_NOT_REFERRED}),
                   ("receiving_task", {"GET": RECEIVING_TASK, "POST": RECEIVING_TASK})],
    "tasks.reopen": [("task", {"POST": CASE_NOT_REFERRED}), ("receiving_task", {"POST": RECEIVING_TASK})],
}
# Routes with an argument that is not an object id, and where they are tested instead.
NOT_OBJECT_ROUTES = {
    "auth.enrol": "a single-use enrolment token, public by design (tests/auth/test_enrolment.py)",
}


def _rows(endpoint: str) -> list[tuple[str, dict[str, str]]]:
    """A row names one object, or several when the answer depends on whose object it is."""
    row = TABLE[endpoint]
    return row if isinstance(row, list) else [row]


def _letters(cells: str) -> str:
    letters = "".join(c for c in cells if c in "ofn")
    assert len(letters) == len(matrix.VIEWERS), cells
    return letters


def test_every_route_that_takes_an_id_has_a_row_and_every_row_a_route(app):
    routes = {endpoint for endpoint, _method in matrix.object_routes(app)}
    assert sorted(routes - set(TABLE) - set(NOT_OBJECT_ROUTES)) == [], "routes without a row in TABLE"
    assert sorted(set(TABLE) - routes) == [], "rows in TABLE for routes that no longer exist"
    for (endpoint, method) in matrix.object_routes(app):
        if endpoint in TABLE:
            for _object, methods in _rows(endpoint):
                assert method in methods, f"{endpoint}: no expectation for {method}"
    for endpoint in TABLE:
        for _object, methods in _rows(endpoint):
            for method, cells in methods.items():
                assert (endpoint, method) in matrix.object_routes(app), f"{endpoint} does not answer {method}"
                _letters(cells)


@pytest.fixture(scope="module")
def matrix_app(backend, tmp_path_factory):
    """An application of its own, built once per backend for this module: the world is large, and the session's
    shared app is wiped after every test. Rate limits are off here: they are tested in test_rate_limits.py, and
    hundreds of requests from one address would hit them."""
    yield from built_app(backend, tmp_path_factory.mktemp(f"matrix-{backend}"), "matrix", RATELIMIT_ENABLED="false")


def test_every_route_answers_every_viewer_as_the_table_says(matrix_app):
    started = time.monotonic()
    with matrix_app.test_request_context():
        world = matrix.build_world()
    viewers = matrix.Viewers(matrix_app, world)
    built = time.monotonic() - started
    routes = [r for r in sorted(matrix.object_routes(matrix_app)) if r[0] not in NOT_OBJECT_ROUTES]
    wrong: list[str] = []
    asked = 0
    n_cells = 0
    for (endpoint, method), (object_name, methods) in ((r, row) for r in routes for row in _rows(r[0])):
        n_cells += len(matrix.VIEWERS)
        expected = dict(zip(matrix.VIEWERS, _letters(methods[method]), strict=True))
        arguments = dict(world.objects[object_name])
        swapped = matrix.crossed(arguments, world)
        with matrix_app.test_request_context():
            url = url_for(endpoint, **arguments)
            nowhere = url_for(endpoint, **matrix.missing(arguments))
            elsewhere = url_for(endpoint, **swapped) if swapped else None
        # Those refused first: a permitted POST may change its object (a referral accepted, a plan cancelled).
        for viewer in sorted(matrix.VIEWERS, key=lambda v: expected[v] == "o"):
            form = None if expected[viewer] == "o" else matrix.submission(endpoint, world, viewer)
            got = viewers.ask(viewer, method, url, form)
            asked += 1
            if got != expected[viewer]:
                wrong.append(f"{method} {endpoint} as {viewer}: expected {expected[viewer]}, got {got}")
            if elsewhere and expected[viewer] == "o":
                # A case the viewer may open, with another organisation's object under it: not found there.
                crosswired = viewers.ask(viewer, method, elsewhere, matrix.submission(endpoint, world, viewer))
                asked += 1
                if crosswired != "n":
                    wrong.append(f"{method} {endpoint} as {viewer}: {crosswired} with another organisation's "
                                 f"object under the case, expected n")
            if viewer in matrix.OTHER_VIEWERS:
                absent = viewers.ask(viewer, method, nowhere, form)
                asked += 1
                if absent != got:
                    wrong.append(f"{method} {endpoint} as {viewer}: {got} for the object, {absent} for no object")
    # The complete forms the refused viewers sent left nothing behind (permitted viewers sent empty ones).
    with matrix_app.app_context():
        assert matrix.planted() == [], "a refused request changed something"
        assert matrix.untouched(world) == [], "a refused request changed the fund or a project"
    elapsed = time.monotonic() - started
    print(f"\naccess matrix: {len({e for e, _m in routes})} routes, {len(routes)} route-methods x "
          f"{len(matrix.VIEWERS)} viewers = {n_cells} cells (some routes on two objects), {asked} requests, "
          f"{elapsed:.1f} s (world and logins {built:.1f} s)")
    assert wrong == [], "\n".join(wrong)

