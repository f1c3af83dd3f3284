"""The age on a day and childhood, from each basis (casemgmt/cases/age.py), at the 18th-birthday boundary."""

from __future__ import annotations

from datetime import date

import pytest

from casemgmt.cases.age import AgeFacts, age_from, basis_for, child_from, problems

DOB = date(2008, 6, 15)  # 18 on 15 June 2026


@pytest.mark.parametrize(("day", "years", "child"), [
    (date(2026, 6, 14), 17, True),   # the day before the 18th birthday
    (date(2026, 6, 15), 18, False),  # the birthday
    (date(2026, 6, 16), 18, False),
    (date(2024, 1, 1), 15, True),
])
def test_a_date_of_birth_gives_the_exact_age(day, years, child):
    facts = AgeFacts(basis="exact", date_of_birth=DOB)
    age = age_from(facts, day)
    assert (age.years, age.approximate, age.basis) == (years, False, "exact")
    assert child_from(facts, day) is child


def test_an_estimate_ages_with_time_from_the_day_it_was_made(app, ctx):
    facts = AgeFacts(basis="estimated", estimated_age=16, estimated_on=date(2024, 3, 10))
    assert age_from(facts, date(2024, 3, 10)).years == 16
    assert age_from(facts, date(2025, 3, 10)).years == 17
    # "About 16" two years ago is about 18 on the anniversary of the estimate, not before.
    assert child_from(facts, date(2026, 3, 9)) is True
    assert child_from(facts, date(2026, 3, 10)) is False
    assert age_from(facts, date(2026, 3, 10)).label() == "about 18"
    assert age_from(facts, date(2025, 3, 9)).label() == "about 16"


def test_an_estimate_made_on_29_february_ages_on_28_february(app, ctx):
    facts = AgeFacts(basis="estimated", estimated_age=17, estimated_on=date(2024, 2, 29))
    assert child_from(facts, date(2025, 2, 27)) is True
    assert child_from(facts, date(2025, 2, 28)) is False


def test_a_year_of_birth_counts_as_a_child_while_the_person_may_still_be_under_18(app, ctx):
    facts = AgeFacts(basis="birth_year", birth_year=2008)
    # Born in 2008: 17 or 18 during 2026, surely 18 only on 31 December (a 31 December birthday).
    on_30_december = age_from(facts, date(2026, 12, 30))
    assert (on_30_december.years, on_30_december.oldest) == (17, 18)
    assert child_from(facts, date(2026, 1, 1)) is True
    assert child_from(facts, date(2026, 12, 30)) is True
    assert child_from(facts, date(2026, 12, 31)) is False
    assert age_from(facts, date(2026, 12, 31)).label() == "born 2008"


@pytest.mark.parametrize(("facts", "child", "label"), [
    (AgeFacts(basis="child_unknown"), True, "not known (recorded as a child)"),
    (AgeFacts(age_band="9-17"), True, "9-17 (age band)"),
    (AgeFacts(age_band="0-8"), True, "0-8 (age band)"),
    (AgeFacts(age_band="21-23"), False, "21-23 (age band)"),
    (AgeFacts(age_band="unknown"), False, "not known"),
    (AgeFacts(), False, "not known"),
])
def test_without_an_age_a_record_of_a_child_stays_a_child(app, ctx, facts, child, label):
    assert child_from(facts, date(2040, 1, 1)) is child
    assert age_from(facts, date(2040, 1, 1)).label() == label


def test_the_exact_label_is_the_number(app, ctx):
    assert age_from(AgeFacts(basis="exact", date_of_birth=DOB), date(2024, 7, 1)).label() == "16"


def test_the_basis_follows_what_is_given_and_a_child_without_an_age_stays_one():
    assert basis_for({"date_of_birth": DOB, "birth_year": 2008}) == "exact"
    assert basis_for({"birth_year": 2008, "estimated_age": 17}) == "birth_year"
    assert basis_for({"estimated_age": 0}) == "estimated"
    assert basis_for({}) is None
    assert basis_for({}, previous="child_unknown") == "child_unknown"
    assert basis_for({"estimated_age": 15}, previous="child_unknown") == "estimated"


TODAY = date(2026, 6, 1)


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"date_of_birth": date(2026, 6, 2)}, "date_of_birth", "cannot be in the future"),
    ({"date_of_birth": date(1900, 1, 1)}, "date_of_birth", "more than 120 years ago"),
    ({"estimated_age": -1}, "estimated_age", "between 0 and 120"),
    ({"estimated_age": 121}, "estimated_age", "between 0 and 120"),
    ({"estimated_age": "about sixteen"}, "estimated_age", "whole number"),
    ({"estimated_age": 16, "age_estimated_on": date(2026, 6, 2)}, "age_estimated_on", "cannot be in the future"),
    ({"age_estimated_on": date(2026, 5, 1)}, "age_estimated_on", "Give the estimated age"),
    ({"birth_year": 1905}, "birth_year", "between 1906 and 2026"),
    ({"birth_year": 2027}, "birth_year", "between 1906 and 2026"),
    ({"date_of_birth": DOB, "birth_year": 2009}, "birth_year", "does not match the date of birth"),
    ({"date_of_birth": DOB, "estimated_age": 16}, "estimated_age", "which gives 17 on that day"),
    ({"birth_year": 2008, "estimated_age": 16, "age_estimated_on": date(2026, 5, 1)}, "estimated_age",
     "which gives 17 or 18 on that day"),
])
def test_contradicting_or_implausible_ages_are_refused_with_a_reason(app, ctx, values, field, message):
    found = problems(values, TODAY)
    assert field in found and message in found[field], found


@pytest.mark.parametrize("values", [
    {"date_of_birth": DOB}, {"date_of_birth": DOB, "birth_year": 2008},
    {"date_of_birth": DOB, "estimated_age": 17}, {"birth_year": 2008, "estimated_age": 17},
    {"estimated_age": 0}, {"estimated_age": 120}, {"birth_year": 1906}, {},
])
def test_agreeing_ages_are_accepted(app, ctx, values):
    assert problems(values, TODAY) == {}
