"""Hotline contacts: quick entry, validation, the queue, handling, encryption, organisation boundaries."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.intake import operations, sealing
from casemgmt.intake.models import Contact
from tests.intake.conftest import contact, events

NOWHERE = "00000000-0000-4000-8000-000000000000"


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Contact))


def test_an_anonymous_contact_needs_only_channel_and_call_type(app, web, w):
    web.login("hotline")
    assert web.get("/intake/contacts/new").status_code == 200
    response = web.post("/intake/contacts/new", {"channel": "sms", "call_type": "tip"})
    assert response.status_code == 302, response.get_data(as_text=True)
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "SMS" in page and "Tip" in page and "Not given" in page
    with app.app_context():
        saved = db.session.scalars(select(Contact)).one()
        assert saved.organisation_id == w.ngo.id and saved.taken_by_id == w.hotline.id
        assert saved.caller_name is None and saved.case_id is None
        assert abs(saved.occurred_at - utcnow()) < timedelta(minutes=2)
        logged = events("contact.log")
        assert len(logged) == 1 and json.loads(logged[0].details)["call_type"] == "tip"


def test_a_full_contact_is_saved_with_its_codes_and_encrypted_text(app, web, w):
    web.login("hotline")
    response = web.post("/intake/contacts/new", {
        "channel": "phone", "call_type": "crisis", "occurred_on": "2024-05-01", "occurred_time": "22:15",
        "caller_type": "FamilyOrFriend", "language": "qu", "indicators": ["DocumentConfiscation", "Debt"],
        "minor_involved": "y", "actions": ["follow_up", "police_report"], "caller_name": "Teodora Quillahuaman",
        "caller_phone": "+51 944 111 222", "summary": "Niece held in the Zorritos brick kiln",
    })
    assert response.status_code == 302
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    for shown in ("Teodora Quillahuaman", "+51 944 111 222", "Zorritos brick kiln", "Identity documents taken away",
                  "Report to the police", "a minor is involved", "Quechua"):
        assert shown in page, shown
    with app.app_context():
        saved = db.session.scalars(select(Contact)).one()
        assert saved.indicators == "Debt,DocumentConfiscation"
        assert saved.actions == "follow_up,police_report"
        assert saved.police_report_basis == "minor"
        assert saved.occurred_at.isoformat() == "2024-05-01T22:15:00"
        details = json.loads(events("contact.log")[0].details)
        assert details["police_report_basis"] == "minor"
        assert "Teodora" not in events("contact.log")[0].details
        raw = b"".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
                       for v in db.session.execute(text("SELECT * FROM contacts")).one() if v is not None)
        for secret in (b"Teodora", b"Quillahuaman", b"944 111", b"Zorritos"):
            assert secret not in raw
        audit = b"".join(str(r).encode() for r in db.session.execute(text("SELECT * FROM audit_events")))
        assert b"Teodora" not in audit and b"Zorritos" not in audit


BAD_CONTACTS = [
    ({"call_type": "tip"}, "Choose the channel."),
    ({"channel": "phone"}, "Choose the call type."),
    ({"channel": "pigeon", "call_type": "tip"}, "Not a valid choice"),
    ({"channel": "phone", "call_type": "tip", "occurred_on": "2999-01-01"}, "This date is in the future."),
    ({"channel": "phone", "call_type": "tip", "occurred_on": "31/02/2024"}, "Not a valid date value."),
    ({"channel": "phone", "call_type": "tip", "occurred_time": "25:99"}, "Not a valid time value."),
    ({"channel": "phone", "call_type": "tip", "indicators": "Kidnapping"}, "is not a valid choice"),
    ({"channel": "phone", "call_type": "tip", "caller_phone": "<script>"}, "Digits, spaces and + ( ) - . only."),
    ({"channel": "phone", "call_type": "tip", "caller_type": "Anonymous", "caller_name": "Ana"},
     "The caller is marked anonymous"),
    ({"channel": "phone", "call_type": "tip", "actions": "police_report"},
     'id="actions-errors">Reporting to the police needs the caller'),
    ({"channel": "phone", "call_type": "tip", "summary": "x" * 5001}, "Field cannot be longer than 5000"),
]


def test_bad_contacts_are_refused_with_a_message_and_nothing_is_saved(app, web, w):
    web.login("hotline")
    for data, message in BAD_CONTACTS:
        response = web.post("/intake/contacts/new", data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), data
    assert _count(app) == 0


def test_a_contact_later_today_than_now_is_refused(app, web, w):
    web.login("hotline")
    later = utcnow() + timedelta(hours=2)
    if later.date() != utcnow().date():
        pytest.skip("too close to midnight UTC for this check")
    response = web.post("/intake/contacts/new", {"channel": "phone", "call_type": "tip",
                                                 "occurred_time": later.strftime("%H:%M")})
    assert response.status_code == 422
    assert "A contact cannot take place in the future." in response.get_data(as_text=True)
    assert _count(app) == 0


def test_police_report_needs_consent_unless_a_minor_or_imminent_danger(ctx, world):
    with pytest.raises(operations.IntakeError, match="needs the caller's consent"):
        operations.log_contact(world.hotline, {"channel": "phone", "call_type": "crisis",
                                               "actions": ["police_report"]})
    for flags, basis in [({"consent_to_share": True}, "consent"), ({"minor_involved": True}, "minor"),
                         ({"immediate_danger": True}, "imminent_danger")]:
        saved = contact(world.hotline, call_type="crisis", actions=["police_report"], **flags)
        assert saved.police_report_basis == basis
    assert [json.loads(e.details)["police_report_basis"] for e in events("contact.log")] == [
        "consent", "minor", "imminent_danger"]


def test_the_operation_refuses_what_the_form_would(ctx, world):
    bad = [
        {"channel": "fax", "call_type": "tip"},
        {"channel": "phone", "call_type": "gossip"},
        {"channel": "phone", "call_type": "tip", "caller_type": "Martian"},
        {"channel": "phone", "call_type": "tip", "language": "xx"},
        {"channel": "phone", "call_type": "tip", "indicators": ["Nope"]},
        {"channel": "phone", "call_type": "tip", "actions": ["arrest"]},
        {"channel": "phone", "call_type": "tip", "occurred_at": utcnow() + timedelta(hours=1)},
        {"channel": "phone", "call_type": "tip", "summary": "x" * 5001},
    ]
    for values in bad:
        with pytest.raises(operations.IntakeError):
            operations.log_contact(world.hotline, values)
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_crisis_contacts_stay_on_top_of_the_queue_until_handled(app, web, w):
    with app.app_context():
        now = utcnow()
        old_crisis = contact(w.hotline, call_type="crisis", occurred_at=now - timedelta(days=3)).id
        for i in range(30):
            contact(w.hotline, call_type="tip", occurred_at=now - timedelta(hours=i + 1))
        contact(w.caseworker2, call_type="crisis")  # another organisation's: never in this queue
    web.login("hotline")
    first = web.get("/intake/").get_data(as_text=True)
    assert "31 contacts" in first and "Page 1 of 2" in first
    rows = re.findall(r"<tr class=\"([^\"]*)\">\s*<td><a href=\"/intake/contacts/([0-9a-f-]+)\"", first)
    assert rows[0] == ("table-danger contact-waiting", old_crisis)
    assert all(cls == "" for cls, _ in rows[1:])
    # Handled, the crisis drops to its place by date: three days old, it is now on the last page.
    assert web.post(f"/intake/contacts/{old_crisis}/handled").status_code == 302
    first = web.get("/intake/").get_data(as_text=True)
    assert old_crisis not in first and "contact-waiting" not in first
    assert old_crisis in web.get("/intake/?page=2").get_data(as_text=True)
    with app.app_context():
        saved = db.session.get(Contact, old_crisis)
        assert saved.handled_by_id == w.hotline.id and saved.handled_at is not None
        assert len(events("contact.handled")) == 1
    again = web.post(f"/intake/contacts/{old_crisis}/handled", follow_redirects=True)
    assert "already marked this contact as handled" in again.get_data(as_text=True)
    with app.app_context():
        assert len(events("contact.handled")) == 1


def test_the_crisis_worklist_lists_unhandled_crises_of_the_users_organisation(ctx, world):
    from casemgmt.intake import worklist

    waiting = contact(world.hotline, call_type="crisis", immediate_danger=True,
                      occurred_at=utcnow() - timedelta(hours=30))
    handled = contact(world.hotline, call_type="crisis")
    operations.mark_handled(world.hotline, handled)
    db.session.commit()
    contact(world.hotline, call_type="tip")
    contact(world.caseworker2, call_type="crisis")
    for user in (world.hotline, world.caseworker, world.supervisor):
        items = worklist.items(user)
        assert [i.url for i in items] == [f"/intake/contacts/{waiting.id}"]
        assert items[0].section == "crisis" and items[0].urgent and items[0].overdue
        assert "immediate danger" in items[0].title
    assert worklist.items(world.admin) == []
    assert worklist.items(world.mission) == []
    assert len(worklist.items(world.caseworker2)) == 1


def test_another_organisations_contact_answers_404_everywhere(app, web, w):
    with app.app_context():
        theirs = contact(w.caseworker2, call_type="crisis", summary="Secreto de Camino Seguro").id
    web.login("hotline")
    for url in (f"/intake/contacts/{theirs}", f"/intake/contacts/{theirs}/open-case", f"/intake/contacts/{NOWHERE}",
                "/intake/contacts/" + "x" * 300):
        response = web.get(url)
        assert response.status_code == 404, url
        assert "Secreto" not in response.get_data(as_text=True)
    for url in (f"/intake/contacts/{theirs}/handled", f"/intake/contacts/{theirs}/attach",
                f"/intake/contacts/{theirs}/open-case"):
        assert web.post(url, {"reference": "C-AAAA2222", "given_name": "X"}).status_code == 404, url
    with app.app_context():
        assert db.session.get(Contact, theirs).handled_at is None
        assert events("access.denied")


def test_administrators_and_anonymous_users_have_no_intake(app, web, w, client):
    assert client.get("/intake/").status_code == 302
    web.login("admin")
    for url in ("/intake/", "/intake/contacts/new"):
        assert web.get(url).status_code == 403
    assert web.post("/intake/contacts/new", {"channel": "phone", "call_type": "tip"}).status_code == 403
    assert _count(app) == 0


def test_the_contact_page_is_audited_and_not_cached(app, web, w):
    with app.app_context():
        contact_id = contact(w.hotline).id
    web.login("caseworker")  # contacts belong to the organisation: its caseworkers read them too
    response = web.get(f"/intake/contacts/{contact_id}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    with app.app_context():
        assert [e.object_id for e in events("contact.view")] == [contact_id]


def test_a_contact_without_a_case_has_its_own_key_and_tampering_is_caught(ctx, world):
    from tests.crypto.conftest import flip_byte, forget_keys

    saved = contact(world.hotline, caller_name="Zenobia Apaza", summary="Kept in the Ticlio mine camp")
    assert saved.wrapped_key is not None and saved.key_version == 1
    forget_keys()
    db.session.expire_all()
    again = db.session.get(Contact, saved.id)
    assert sealing.unseal_contact(again, "caller_name") == "Zenobia Apaza"
    # Moved to another row, a value does not decrypt.
    other = contact(world.hotline, summary="something else")
    db.session.execute(text("UPDATE contacts SET summary = :b WHERE id = :id"),
                       {"b": bytes(again.summary.blob), "id": other.id})
    db.session.commit()
    db.session.expire_all()
    with pytest.raises(sealing.DecryptionError):
        sealing.unseal_contact(db.session.get(Contact, other.id), "summary")
    flip_byte("contacts", "caller_name", saved.id, 30)
    with pytest.raises(sealing.DecryptionError):
        sealing.unseal_contact(db.session.get(Contact, saved.id), "caller_name")


def test_contact_keys_are_rewrapped_when_the_kek_rotates(app, ctx, world):
    from casemgmt.crypto.keyring import EXTENSION_KEY, KeyRing
    from tests.crypto.conftest import forget_keys

    saved = contact(world.hotline, summary="Rotation check")
    ring = app.extensions[EXTENSION_KEY]
    newer = KeyRing({**ring._roots, 2: b"\x07" * 32})
    app.extensions[EXTENSION_KEY] = newer
    try:
        assert sealing.rewrap_own_keys() == 1
        db.session.commit()
        forget_keys()
        db.session.expire_all()
        rotated = db.session.get(Contact, saved.id)
        assert rotated.key_version == 2
        assert sealing.unseal_contact(rotated, "summary") == "Rotation check"
        assert sealing.rewrap_own_keys() == 0
    finally:
        app.extensions[EXTENSION_KEY] = ring
