"""Issue 16, item 5: the audit trail reads as sentences, one translatable message per kind of event, with named
placeholders (never pieces glued in the code's word order), and a fallback for kinds without one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask_babel.speaklater import LazyString

from casemgmt.audit import sentences

SOURCE = Path(__file__).resolve().parents[2] / "casemgmt"
PLACEHOLDERS = {"actor", "case", "target", "organisation", "role", "from_stage", "to_stage", "attempt", "action"}


def _messages():
    for kind, (label, sentence) in sentences.KINDS.items():
        yield kind, label, sentence
    for group in (sentences.WITHOUT_CASE, sentences.LOGIN_FAILURES, sentences.DENIALS):
        for key, sentence in group.items():
            yield key, None, sentence
    yield "fallback", None, sentences.FALLBACK
    yield "other case", None, sentences.OTHER_CASE
    yield "other case refused", None, sentences.OTHER_CASE_REFUSED


def _msgid(lazy: LazyString) -> str:
    return lazy._args[0]  # what pybabel extracts: the English message the catalogs translate


@pytest.mark.parametrize(("key", "label", "sentence"), list(_messages()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_message_is_one_translatable_sentence_with_named_placeholders(key, label, sentence):
    assert isinstance(sentence, LazyString), key  # lazy_gettext: read in the reader's language at render time
    text = _msgid(sentence)
    # Only named placeholders: a translation may reorder them. A bare %s or %d could not be moved.
    assert not re.search(r"%(?!\()", text), text
    assert set(re.findall(r"%\((\w+)\)s", text)) <= PLACEHOLDERS, text
    # Every sentence says who (or "Someone" for an unknown account).
    assert "%(actor)s" in text or text.startswith("Someone"), text
    if label is not None:
        assert isinstance(label, LazyString) and "%" not in _msgid(label), key


def test_every_kind_written_by_the_code_has_a_sentence():
    """A kind added to the code without a sentence would read as its code: this lists them."""
    written = set()
    for path in SOURCE.rglob("*.py"):
        text = path.read_text()
        written |= set(re.findall(r"record_event\(\s*[\"']([a-z_.0-9]+)[\"']", text))
        for pair in re.findall(r"events=\(\s*\"([a-z_.]+)\",\s*\"([a-z_.]+)\"", text):  # corrections' kinds
            written |= set(pair)
    assert len(written) > 100
    assert written - set(sentences.KINDS) == set()


def test_sentences_in_english(app):
    with app.test_request_context():
        say = sentences.sentence
        assert say("case.view", {}, actor="Carla Gestora", case="C-ABCD2345") == \
            "Carla Gestora viewed the case C-ABCD2345"
        assert say("return.approve", {"from": "submitted", "to": "approved"}, actor="Sofía Supervisora",
                   case="C-ABCD2345") == "Sofía Supervisora approved the return plan of the case C-ABCD2345"
        assert say("contact.log", {"fields": ["summary"]}, actor="Hugo Línea") == "Hugo Línea logged a contact"
        assert say("case.stage_change", {"from": "intake", "to": "shelter"}, actor="Carla Gestora",
                   case="C-ABCD2345") == "Carla Gestora moved the case C-ABCD2345 from Intake to Shelter"
        assert say("user.create", {"role": "caseworker"}, actor="Ana Administradora", target="Carla Gestora") == \
            "Ana Administradora created the account of Carla Gestora as Caseworker"
        assert say("user.set_role", {"from": "caseworker", "to": "supervisor"}, actor="Ana", target="Carla") == \
            "Ana changed the role of Carla to Supervisor"
        assert say("referral.create", {"to_organisation": 3}, actor="Carla", case="C-1",
                   organisation="IOM Haiti") == "Carla referred the case C-1 to IOM Haiti"
        assert say("case.erase", {}, actor="Sofía", case="C-1") == "Sofía erased the personal data of the case C-1"
        assert say("export.identified", {}, actor="Sofía") == "Sofía exported cases with names"


def test_logins_say_why_they_failed_and_never_more(app):
    with app.test_request_context():
        say = sentences.sentence
        assert say("login.success", {}, actor="Carla") == "Carla logged in"
        assert say("login.failure", {"reason": "password"}, actor="Carla") == \
            "Carla failed to log in: wrong passphrase"
        assert say("login.failure", {"reason": "one_time_code"}, actor="Carla") == \
            "Carla failed to log in: wrong one-time code"
        assert say("login.failure", {"reason": "unknown_account"}, actor="Someone") == \
            "Someone failed to log in with an unknown username"
        # A detail the sentence does not know is not shown: a stray value in the details never reaches the page.
        assert say("login.failure", {"reason": "hunter2-secret"}, actor="Carla") == "Carla failed to log in"


def test_denials_name_what_was_refused(app):
    with app.test_request_context():
        say = sentences.sentence
        assert say("access.denied", {"action": "case.view"}, actor="Camilo", case="C-1") == \
            "Camilo was refused access to the case C-1"
        assert say("access.denied", {"action": "case.view"}, actor="Camilo", case_hidden=True) == \
            "Camilo was refused access to a case of another organisation"
        assert say("case.view", {}, actor="Marie", case_hidden=True) == \
            "Marie: Case viewed (a case of another organisation)"
        assert say("access.denied", {"action": "report.view"}, actor="Camilo") == "Camilo was refused: report.view"


def test_a_general_task_reads_without_a_case(app):
    with app.test_request_context():
        assert sentences.sentence("task.create", {}, actor="Carla") == "Carla added a general task"
        assert sentences.sentence("task.create", {}, actor="Carla", case="C-1") == "Carla added a task to the case C-1"


def test_unknown_kinds_and_missing_words_fall_back_without_failing(app):
    with app.test_request_context():
        assert sentences.sentence("something.new", {}, actor="Carla") == "Carla: something.new"
        assert sentences.sentence("grant.create", {}, actor="Carla") == "Carla gave access to the case —"
        assert sentences.sentence("user.create", {}, actor="Ana") == "Ana created the account of — as —"
        # Details that are not an object of codes (an old or odd row) are no reason for a 500.
        assert sentences.sentence("case.stage_change", {"from": ["x"], "to": None}, actor="Carla", case="C-1")


def test_the_kinds_select_is_sorted_by_name(app):
    with app.test_request_context():
        choices = sentences.kind_choices()
        assert len(choices) == len(sentences.KINDS)
        names = [name for _code, name in choices]
        assert names == sorted(names, key=str.casefold)
        assert ("case.view", "Case viewed") in choices
