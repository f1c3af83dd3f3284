"""The passphrase policy (ASVS 2.1.1, 2.1.2, 2.1.7), directly and through the change-passphrase page."""

from __future__ import annotations

import pytest

from casemgmt.auth import passwords
from tests import factories
from tests.auth.support import logged_in, user_row

TOO_EASY = "This passphrase is too easy to guess. Try a few unrelated words."
GOOD = "amber-quarry-whistle-nectar-27"


@pytest.mark.parametrize("password", ["", "a", "Xk9#mQ2!vR4", "short pass"])
def test_shorter_than_twelve_characters_is_refused(ctx, password):
    assert passwords.passphrase_problems(password) == ["Use at least 12 characters."]


def test_longer_than_128_characters_is_refused(ctx):
    long = ("quartz-falcon-meadow-ember-" * 5)[:129]
    assert passwords.passphrase_problems(long) == ["Use at most 128 characters."]


def test_length_bounds_are_inclusive(ctx):
    assert passwords.passphrase_problems("Tr7#kq9!Lm2$") == []  # 12 characters, random
    assert passwords.passphrase_problems(("quartz-falcon-meadow-ember-" * 5)[:128]) == []


@pytest.mark.parametrize("password", [
    "password1234", "qwertyuiopasdf", "iloveyou12345", "1234567890123", "aaaaaaaaaaaaaaaa", "Password1234!",
])
def test_common_and_guessable_passphrases_are_refused(ctx, password):
    assert passwords.passphrase_problems(password) == [TOO_EASY]


@pytest.mark.parametrize(("password", "hints"), [
    ("caseworker2024", ["caseworker"]),
    ("mariaquispe1999", ["mariaquispe", "Maria Quispe"]),
    ("supervisor-supervisor", ["supervisor", "Supervisor"]),
    ("Supervisor12345!", ["supervisor", "Supervisor"]),
    ("quispe-mamani-2024", ["mquispe", "María Quispe Mamani"]),
])
def test_passphrases_built_from_the_users_own_names_are_refused(ctx, password, hints):
    assert passwords.passphrase_problems(password, hints) == [TOO_EASY]


def test_a_strong_passphrase_that_contains_a_short_name_is_accepted(ctx):
    # "ana" appears inside "banana"; the rest of the passphrase is strong, so it is not refused for that.
    assert passwords.passphrase_problems("banana-split-journey-harbor", ["ana", "Ana"]) == []
    assert passwords.passphrase_problems("caseworker-violet-harbor-copper", ["caseworker"]) == []


@pytest.mark.parametrize("password", [GOOD, "correct horse battery staple", factories.PASSWORD, "Tr7#kq9!Lm2$vB"])
def test_good_passphrases_are_accepted(ctx, password):
    assert passwords.passphrase_problems(password, ["caseworker", "Caseworker"]) == []


def test_hash_and_verify_round_trip(ctx):
    stored = passwords.hash_password(GOOD)
    assert stored.startswith("$argon2id$")
    assert passwords.verify_password(stored, GOOD)
    assert not passwords.verify_password(stored, GOOD + "x")
    assert not passwords.verify_password("not a hash", GOOD)
    assert passwords.hash_password(GOOD) != stored  # salted


def _change(web, current, new, confirm=None):
    data = {"current": current, "new": new, "confirm": new if confirm is None else confirm}
    return web.post("/account/password", data, token_page="/account/password")


@pytest.mark.parametrize(("new", "message"), [
    ("Xk9#mQ2!vR4", "Use at least 12 characters."),
    ("password1234", TOO_EASY),
    ("qwertyuiopasdf", TOO_EASY),
    ("caseworker2024", TOO_EASY),
    ("x" * 129, "128 characters"),
])
def test_change_password_page_refuses_weak_passphrases_and_changes_nothing(app, web, world, new, message):
    web.login("caseworker")
    before = user_row("caseworker").password_hash
    response = _change(web, factories.PASSWORD, new)
    assert response.status_code in (200, 422)
    assert message in response.get_data(as_text=True)
    assert user_row("caseworker").password_hash == before
    assert logged_in(web.client)


def test_change_password_page_needs_the_current_passphrase(app, web, world):
    web.login("caseworker")
    before = user_row("caseworker").password_hash
    response = _change(web, "wrong-current-passphrase-11", GOOD)
    assert "Your current passphrase is not correct." in response.get_data(as_text=True)
    assert user_row("caseworker").password_hash == before


def test_change_password_page_refuses_different_confirmation_and_same_passphrase(app, web, world):
    web.login("caseworker")
    before = user_row("caseworker").password_hash
    differs = _change(web, factories.PASSWORD, GOOD, confirm=GOOD + "x")
    assert "The two passphrases differ." in differs.get_data(as_text=True)
    same = _change(web, factories.PASSWORD, factories.PASSWORD)
    assert "Choose a passphrase different from the current one." in same.get_data(as_text=True)
    assert user_row("caseworker").password_hash == before


def test_change_password_page_accepts_a_good_passphrase(app, web, world):
    web.login("caseworker")
    changed_before = user_row("caseworker").password_changed_at
    response = _change(web, factories.PASSWORD, GOOD)
    assert response.status_code == 302
    row = user_row("caseworker")
    assert row.password_changed_at > changed_before
    assert passwords.verify_password(row.password_hash, GOOD)
    assert row.password_hash.startswith("$argon2id$")
    web.logout()
    assert web.login("caseworker").status_code == 200  # the old passphrase no longer works
    assert web.login("caseworker", GOOD).status_code == 302
