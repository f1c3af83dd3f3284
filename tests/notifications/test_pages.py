"""The bell on every page, the notifications page, reading and opening notices, and the e-mail setting."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import event, func, select

from casemgmt.accounts.models import User
from casemgmt.audit.models import AuditEvent
from casemgmt.extensions import db
from casemgmt.journey import operations as journey
from casemgmt.notifications.models import Notification, NotificationMail
from casemgmt.tasks import operations as tasks
from tests import factories
from tests.conftest import new_client, signed_in
from tests.notifications.support import notices, referred

BELL = re.compile(r'<a class="[^"]*notification-bell[^"]*" href="/notifications" aria-label="([^"]+)"[^>]*>(.*?)</a>')


def _bell(html: str) -> tuple[str, str]:
    match = BELL.search(html)
    assert match, "no bell in the navigation"
    # The word "Notifications" shown beside the bell in the phone's menu is not the count.
    inner = re.sub(r'<span class="d-md-none[^"]*"[^>]*>.*?</span>', "", match.group(2))
    return match.group(1), re.sub(r"<[^>]+>", "", inner).strip()


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _give_tasks(app, n: int, to: str = "caseworkerb") -> list[str]:
    with app.app_context():
        cw = _user("caseworker")
        case = factories.case(cw, assigned_to_id=_user(to).id)
        ids = [tasks.create_task(cw, case, {"title": f"Task {i}", "due_on": date.today() + timedelta(days=2),
                                            "assignee_id": _user(to).id}).id for i in range(n)]
        db.session.commit()
        return ids


def _ids(app, username: str) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(Notification.id).where(Notification.user_id == _user(username).id)
                                       .order_by(Notification.id)))


def test_the_bell_counts_open_notices_in_words_on_every_page(app, w):
    colleague = signed_in(app, "caseworkerb")
    label, shown = _bell(colleague.get("/").get_data(as_text=True))
    assert (label, shown) == ("Notifications: nothing unread", "")
    _give_tasks(app, 2)
    for page in ("/", "/tasks/", "/account", "/cases/"):
        label, shown = _bell(colleague.get(page).get_data(as_text=True))
        assert (label, shown) == ("Notifications: 2 unread notices", "2"), page
    other = signed_in(app, "caseworker2")  # another organisation's caseworker is told nothing
    assert _bell(other.get("/").get_data(as_text=True))[0] == "Notifications: nothing unread"


def test_the_bell_costs_one_count_per_page(app, w):
    colleague = signed_in(app, "caseworkerb")
    _give_tasks(app, 3)
    counted = []

    def spy(_conn, _cursor, statement, *_args):
        if "FROM notifications" in statement:
            counted.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", spy)
    try:
        colleague.get("/tasks/")
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert len(counted) == 1 and "count(" in counted[0].lower()


def test_the_page_lists_notices_and_opening_one_marks_it_read_and_leads_to_the_task(app, w):
    task_ids = _give_tasks(app, 2)
    colleague = signed_in(app, "caseworkerb")
    page = colleague.get("/notifications").get_data(as_text=True)
    assert page.count("was assigned to you.") == 2 and page.count(">New<") == 2
    with app.app_context():
        reference = db.session.get(Notification, _ids(app, "caseworkerb")[0]).case.reference
    assert f"A task on case {reference} was assigned to you." in page  # she may open the case

    first, second = _ids(app, "caseworkerb")
    opened = colleague.post(f"/notifications/{first}/open", token_page="/notifications")
    assert opened.status_code == 302 and opened.headers["Location"] == f"/tasks/{task_ids[0]}/edit"
    page = colleague.get("/notifications").get_data(as_text=True)
    assert page.count(">New<") == 1 and "Read" in page
    assert _bell(page)[1] == "1"

    colleague.post(f"/notifications/{second}/read", token_page="/notifications")
    assert _bell(colleague.get("/").get_data(as_text=True))[1] == ""


def test_mark_all_as_read(app, w):
    _give_tasks(app, 3)
    colleague = signed_in(app, "caseworkerb")
    response = colleague.post("/notifications/read-all", token_page="/notifications", follow_redirects=True)
    assert "All your notifications are marked as read." in response.get_data(as_text=True)
    with app.app_context():
        assert all(n.read for n in notices(_user("caseworkerb")))
    assert "Mark all as read" not in colleague.get("/notifications").get_data(as_text=True)


def test_a_notice_whose_request_was_decided_shows_as_done_and_stops_counting(app, w):
    second = factories_user(app, "supervisor", "supervisorb")
    with app.app_context():
        case = factories.case(_user("caseworker"))
        request = journey.request_closure(_user("caseworker"), case, "completed", "All done.")
        db.session.commit()
        request_id = request.id
    assert _bell(second.get("/").get_data(as_text=True))[1] == "1"
    with app.app_context():
        journey.approve_closure(_user("supervisor"), journey.load_closure(_user("supervisor"), request_id))
        db.session.commit()
    page = second.get("/notifications").get_data(as_text=True)
    assert "Already dealt with" in page and _bell(page)[1] == ""


def factories_user(app, role: str, username: str):
    with app.app_context():
        factories.user(_user("caseworker").organisation, role, username)
    return signed_in(app, username)


def test_another_users_notice_answers_404_and_changes_nothing(app, w):
    _give_tasks(app, 1)
    (theirs,) = _ids(app, "caseworkerb")
    intruder = signed_in(app, "caseworker")
    for action in ("open", "read"):
        assert intruder.post(f"/notifications/{theirs}/{action}", token_page="/notifications").status_code == 404
    assert intruder.post("/notifications/999999/read", token_page="/notifications").status_code == 404
    with app.app_context():
        assert not notices(_user("caseworkerb"))[0].read


def test_reading_needs_the_csrf_token(app, w):
    _give_tasks(app, 1)
    (mine,) = _ids(app, "caseworkerb")
    colleague = signed_in(app, "caseworkerb")
    assert colleague.client.post(f"/notifications/{mine}/read").status_code == 400
    assert colleague.client.post("/notifications/read-all").status_code == 400
    with app.app_context():
        assert not notices(_user("caseworkerb"))[0].read


def test_the_page_needs_a_login(app, w):
    response = new_client(app).get("/notifications")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_notice_names_the_case_only_to_a_reader_who_may_open_it(app, w):
    """A referral not yet accepted: the receiving organisation may not open the case, so no reference."""
    with app.app_context():
        case = factories.case(_user("caseworker"))
        referred(_user("caseworker"), case, _user("mission").organisation)
        reference = case.reference
    mission = signed_in(app, "mission")
    page = mission.get("/notifications").get_data(as_text=True)
    assert "A case was referred to your organisation: accept or decline it." in page
    assert reference not in page


def test_the_email_setting_is_off_by_default_and_saved_from_the_account_page(app, w):
    colleague = signed_in(app, "caseworkerb")
    page = colleague.get("/account").get_data(as_text=True)
    assert "Notices by e-mail" in page and 'name="notify_by_email"' in page
    assert "checked" not in page.split('name="notify_by_email"')[1].split(">")[0]
    assert "This installation does not send e-mail yet" in page  # no SMTP host in the tests' settings

    refused = colleague.post("/account/notifications", {"email": "", "notify_by_email": "y"},
                             follow_redirects=True)
    assert "Give the e-mail address the notices should go to." in refused.get_data(as_text=True)
    refused = colleague.post("/account/notifications", {"email": "not an address", "notify_by_email": "y"},
                             follow_redirects=True)
    assert "does not look like an e-mail address" in refused.get_data(as_text=True).replace("&#39;", "'")
    saved = colleague.post("/account/notifications", {"email": "carla@casa.example", "notify_by_email": "y"},
                           follow_redirects=True)
    assert "Your notification settings are saved." in saved.get_data(as_text=True)
    with app.app_context():
        user = _user("caseworkerb")
        assert (user.email, user.notify_by_email) == ("carla@casa.example", True)
        event_details = db.session.scalars(select(AuditEvent.details).where(
            AuditEvent.action == "account.notification_settings")).all()
        assert event_details and all("carla" not in d for d in event_details)  # field names, never the address
    _give_tasks(app, 1)  # a notice for her: without an SMTP host nothing is queued to be mailed
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(NotificationMail)) == 0
