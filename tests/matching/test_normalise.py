"""Normalisation of names, phones and document numbers (casemgmt.matching.normalise)."""

import pytest

from casemgmt.matching import normalise


def test_accents_case_and_punctuation_fold():
    assert normalise.fold("  MARÍA-José  O'Neil ") == "maria jose o neil"
    assert normalise.fold("Gonçalves Straße Œuvre") == "goncalves strasse oeuvre"
    assert normalise.fold("  María\t\n JOSÉ  ") == "maria jose"
    assert normalise.fold("Jose\u0301") == normalise.fold("José") == "jose"  # a combining accent
    assert normalise.fold("\uff2d\uff21\uff32\uff29\uff21") == "maria"  # full-width letters
    assert normalise.fold("Ana\u00a0María") == "ana maria"  # no-break space
    assert normalise.full_name(" Rosa ", "HUAMÁN") == "rosa huaman"
    assert normalise.full_name(None, "Huamán") == "huaman"


def test_particles_are_left_out_and_compound_and_hyphenated_surnames_split():
    assert normalise.name_parts("María José", "de la Cruz Quispe") == ["maria", "jose", "cruz", "quispe"]
    assert normalise.name_parts("Ana", "Pérez-Ruiz") == ["ana", "perez", "ruiz"]
    assert normalise.name_parts("Jean-Baptiste", "du Bois") == ["jean", "baptiste", "bois"]


def test_a_name_made_only_of_particles_keeps_them():
    assert normalise.name_parts("De", "La") == ["de", "la"]


def test_order_does_not_change_the_parts():
    assert set(normalise.name_parts("Quispe Mamani", "María")) == set(normalise.name_parts("María", "Quispe Mamani"))


@pytest.mark.parametrize("typed", ["987 654 321", "+51 987 654 321", "0051987654321", "(51) 987-654-321",
                                   "51 987654321", "+51-987-654-321"])
def test_every_form_of_a_peruvian_mobile_is_one_e164(typed):
    assert normalise.phone_e164(typed, "PE") == "+51987654321"


@pytest.mark.parametrize("typed", ["+509 3456 7890", "3456-7890", "00509 34 56 78 90", "(509) 3456-7890"])
def test_every_form_of_a_haitian_number_is_one_e164(typed):
    assert normalise.phone_e164(typed, "HT") == "+50934567890"


def test_a_foreign_number_typed_without_plus_is_read_as_international():
    assert normalise.phone_e164("(57) 312-345-6789", "PE") == "+573123456789"
    # In Colombia, where a long local reading is possible but not a valid number, the international one wins.
    assert normalise.phone_e164("509 3456 7890", "CO") == "+50934567890"
    assert normalise.phone_e164("(51) 987-654-321", "CO") == "+51987654321"


def test_a_local_number_no_plan_lists_still_equals_itself_in_every_form():
    # Possible but not valid (an unallocated range): local and international forms still meet.
    stored = normalise.phone_e164("+57 359 881 7850", "CO")
    assert stored == "+573598817850"
    assert normalise.phone_e164("359 881 7850", "CO") == stored
    assert normalise.phone_e164("(57) 359-881-785-0", "CO") == stored


def test_an_unparseable_phone_is_its_digits():
    assert normalise.phone_e164("12345", "PE") == "12345"
    assert normalise.phone_e164("", "PE") == ""


def test_documents_fold_separators_and_case():
    assert normalise.document("pe 123-4567") == "PE1234567"
    assert normalise.document("AB.123.456") == normalise.document("ab123456")


def test_day_and_month_swapped():
    assert normalise.swapped_day_month("2010-03-04") == "2010-04-03"
    assert normalise.swapped_day_month("2010-03-14") == ""
    assert normalise.swapped_day_month("2010-03-03") == ""
