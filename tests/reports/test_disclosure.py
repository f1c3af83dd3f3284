"""Disclosure control: k-anonymity of the record-level export (Datafly) and small-cell suppression of published
tables, checked on worked examples and, with hypothesis, on random histograms and tables against an attacker who
knows the published totals."""

from __future__ import annotations

import random
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casemgmt.reports.disclosure import (
    generalise_histogram,
    k_anonymise,
    suppress_small_cells,
    suppress_small_cells_two_way,
)
from casemgmt.reports.hierarchies import COLUMNS, max_level

# No example database: the tests write nothing into the work tree, and every run draws afresh.
FAST = settings(max_examples=40, deadline=None, database=None)

VALUES = (
    ("2019", "2022", "2023", "2024", "2025"),
    ("Feminine", "Masculine", "TransgenderFeminine", "unknown"),
    ("0-8", "9-17", "18-20", "24-26", "30-38", "48+", "unknown"),
    ("HT", "PE", "EC", "VE", "CO", "NG", "unknown"),
    ("DO", "PE", "US", "CL", "multiple", "unknown"),
    ("", "ForcedLabour", "SexualExploitation", "ForcedLabour;SexualExploitation", "ChildLabour;ForcedBegging"),
    ("", "DebtBondage", "PhysicalThreats;WithholdsDocuments", "FalsePromises;TakesEarnings", "SexualAbuse"),
)

histograms = st.dictionaries(st.tuples(*(st.sampled_from(values) for values in VALUES)), st.integers(0, 12),
                             max_size=30)
level_vectors = st.tuples(*(st.integers(0, max_level(column)) for column in COLUMNS)).map(
    lambda levels: dict(zip(COLUMNS, levels, strict=True)))


# --- k-anonymity: worked examples ------------------------------------------------------------------------------------

A = ("2023", "Feminine", "18-20", "HT", "DO", "SexualExploitation", "DebtBondage")
B = ("2024", "Feminine", "21-23", "HT", "DO", "SexualExploitation", "FalsePromises")
C = ("2023", "Masculine", "30-38", "PE", "PE", "ForcedLabour", "DebtBondage;WithholdsDocuments")
D = ("2022", "Masculine", "39-47", "EC", "PE", "ForcedLabour", "TakesEarnings")
SMALL = {A: 2, B: 2, C: 3, D: 1}


def test_datafly_generalises_until_every_class_has_k_persons():
    """Worked by hand: age and means of control (4 distinct values each; age first in column order), then year,
    citizenship, gender, age again, citizenship, country twice, exploitation twice; then B and A join D."""
    result = k_anonymise(SMALL, k=3, max_suppression=0)
    assert result.levels == {
        "yearOfRegistration": 1, "gender": 1, "ageBroad": 2, "citizenship": 2, "CountryOfExploitation": 2,
        "typeOfExploitConcatenated": 2, "meansOfControlConcatenated": 1,
    }
    assert result.histogram == {
        ("2020-2024", "*", "adult", "M49:019", "M49:019", "*", "economic"): 5,
        ("2020-2024", "*", "adult", "M49:019", "M49:019", "*", "deprivation;economic"): 3,
    }
    assert (result.released, result.suppressed, result.total) == (8, 0, 8)


def test_datafly_stops_once_the_outliers_fit_the_suppression_budget_and_drops_them():
    result = k_anonymise(SMALL, k=3, max_suppression=0.2)  # 1.6 of 8 persons may go
    assert result.levels == dict.fromkeys(COLUMNS, 0) | {
        "yearOfRegistration": 1, "ageBroad": 1, "meansOfControlConcatenated": 1}
    assert result.histogram == {
        ("2020-2024", "Feminine", "18-29", "HT", "DO", "SexualExploitation", "economic"): 4,
        ("2020-2024", "Masculine", "30-47", "PE", "PE", "ForcedLabour", "deprivation;economic"): 3,
    }
    assert (result.released, result.suppressed) == (7, 1)


def test_k_of_one_releases_everything_unchanged():
    result = k_anonymise(SMALL | {D: 1}, k=1)
    assert result.histogram == SMALL
    assert result.levels == dict.fromkeys(COLUMNS, 0)
    assert result.suppressed == 0


def test_fewer_persons_than_k_are_all_suppressed():
    result = k_anonymise(SMALL, k=9)
    assert result.histogram == {}
    assert (result.released, result.suppressed) == (0, 8)
    assert result.levels == {column: max_level(column) for column in COLUMNS}


def test_an_empty_histogram_releases_nothing():
    result = k_anonymise({}, k=11)
    assert (result.histogram, result.released, result.suppressed) == ({}, 0, 0)


def test_the_columns_can_be_a_subset():
    histogram = {("2023", "HT"): 2, ("2024", "HT"): 3, ("2021", "PE"): 4}
    columns = ("yearOfRegistration", "citizenship")
    assert k_anonymise(histogram, k=4, columns=columns, max_suppression=0).histogram == {
        ("2020-2024", "HT"): 5, ("2020-2024", "PE"): 4}
    # Haiti (Caribbean) and Peru (South America) only meet in the Americas.
    result = k_anonymise(histogram, k=5, columns=columns, max_suppression=0)
    assert result.histogram == {("2020-2024", "M49:019"): 9}
    assert result.levels == {"yearOfRegistration": 1, "citizenship": 2}


@pytest.mark.parametrize(("histogram", "k", "max_suppression", "message"), [
    ({A: 1}, 0, 0.05, "k must be"),
    ({A: 1}, 2.5, 0.05, "k must be"),
    ({A: 1}, 3, 1.5, "max_suppression"),
    ({A[:3]: 1}, 3, 0.05, "one value for each"),
    ({A: -1}, 3, 0.05, "non-negative"),
    ({A: 1.5}, 3, 0.05, "non-negative"),
])
def test_bad_arguments_are_refused(histogram, k, max_suppression, message):
    with pytest.raises(ValueError, match=message):
        k_anonymise(histogram, k=k, max_suppression=max_suppression)


# --- k-anonymity: properties -----------------------------------------------------------------------------------------


@FAST
@given(histograms, st.integers(1, 15), st.sampled_from([0, 0.05, 0.2, 1]))
def test_every_released_class_has_k_persons_and_nobody_is_lost_or_invented(histogram, k, max_suppression):
    result = k_anonymise(histogram, k=k, max_suppression=max_suppression)
    total = sum(histogram.values())
    assert all(persons >= k for persons in result.histogram.values())
    assert result.released + result.suppressed == total
    assert sum(result.histogram.values()) == result.released
    # The release is the original histogram at the chosen levels, less the small classes.
    generalised = generalise_histogram(histogram, result.levels)
    assert result.histogram == {key: persons for key, persons in generalised.items() if persons >= k}
    # Persons are dropped beyond the budget only when nothing is left to generalise.
    at_top = all(result.levels[column] == max_level(column) for column in COLUMNS)
    assert result.suppressed <= max_suppression * total or at_top


@FAST
@given(histograms, level_vectors, st.sampled_from(COLUMNS))
def test_generalisation_never_increases_the_number_of_classes(histogram, levels, column):
    generalised = generalise_histogram(histogram, levels)
    assert len(generalised) <= len(histogram)
    assert sum(generalised.values()) == sum(histogram.values())
    if levels[column] < max_level(column):
        assert len(generalise_histogram(histogram, levels | {column: levels[column] + 1})) <= len(generalised)


@FAST
@given(histograms, st.integers(1, 15), st.randoms(use_true_random=False))
def test_the_release_does_not_depend_on_the_order_of_the_histogram(histogram, k, rng: random.Random):
    shuffled = list(histogram.items())
    rng.shuffle(shuffled)
    assert k_anonymise(dict(shuffled), k=k) == k_anonymise(histogram, k=k)


@FAST
@given(histograms)
def test_k_of_one_never_generalises(histogram):
    result = k_anonymise(histogram, k=1)
    assert result.histogram == {key: persons for key, persons in histogram.items() if persons}
    assert result.suppressed == 0


# --- small cells, one-way: worked examples ---------------------------------------------------------------------------


def test_a_small_cell_and_the_next_smallest_are_hidden():
    result = suppress_small_cells({"Feminine": 10, "Masculine": 2, "NonConforming": 0, "unknown": 7}, threshold=5)
    assert result.cells == {"Feminine": 10, "Masculine": None, "NonConforming": 0, "unknown": None}
    assert (result.total, result.suppressed_count) == (19, 2)


def test_hidden_cells_that_could_only_all_be_one_get_company():
    result = suppress_small_cells({"HT": 1, "PE": 1, "EC": 0, "VE": 7, "CO": 12}, threshold=5)
    assert result.cells == {"HT": None, "PE": None, "EC": 0, "VE": None, "CO": 12}
    assert (result.total, result.suppressed_count) == (21, 3)


def test_two_small_cells_of_different_sizes_protect_each_other():
    result = suppress_small_cells({"HT": 1, "PE": 2, "EC": 9}, threshold=5)
    assert result.cells == {"HT": None, "PE": None, "EC": 9}
    assert result.total == 12


def test_a_small_total_is_hidden_with_its_cells():
    result = suppress_small_cells({"Feminine": 3, "Masculine": 1, "unknown": 0}, threshold=5)
    assert result.cells == {"Feminine": None, "Masculine": None, "unknown": 0}
    assert (result.total, result.suppressed_count) == (None, 2)


def test_without_another_non_zero_cell_the_total_is_hidden():
    # A person can have several exploitation types, or none: the total is given, not summed.
    result = suppress_small_cells({"ForcedLabour": 2, "SexualExploitation": 0}, threshold=5, total=30)
    assert result.cells == {"ForcedLabour": None, "SexualExploitation": 0}
    assert result.total is None


def test_zeros_and_large_counts_stay_and_a_threshold_of_one_hides_nothing():
    table = {"a": 0, "b": 1, "c": 40}
    assert suppress_small_cells({"a": 0, "c": 40}, threshold=11).cells == {"a": 0, "c": 40}
    assert suppress_small_cells(table, threshold=1).cells == table
    assert suppress_small_cells({}, threshold=5).cells == {}
    assert suppress_small_cells({}, threshold=5).total == 0


@pytest.mark.parametrize(("table", "threshold", "total"), [
    ({"a": 1}, 0, None), ({"a": -1}, 5, None), ({"a": 1}, 5, -3), ({"a": 1}, 2.0, None),
])
def test_bad_tables_are_refused(table, threshold, total):
    with pytest.raises(ValueError):
        suppress_small_cells(table, threshold=threshold, total=total)


# --- small cells, one-way: properties --------------------------------------------------------------------------------

# Small counts are where disclosure happens: draw them often.
counts = st.one_of(st.integers(0, 2), st.integers(0, 15))
tables = st.dictionaries(st.text("abcdefgh", min_size=1, max_size=2), counts, max_size=8)


@FAST
@given(tables, st.integers(1, 11))
def test_no_hidden_cell_can_be_worked_out_from_the_total(table, threshold):
    result = suppress_small_cells(table, threshold=threshold)
    total = sum(table.values())
    for key, persons in table.items():
        shown = result.cells[key]
        assert shown is None or shown == persons
        if 0 < persons < threshold:
            assert shown is None
        if persons == 0:
            assert shown == 0
    assert result.suppressed_count == sum(1 for shown in result.cells.values() if shown is None)
    assert result.total in (None, total)
    if 0 < total < threshold:
        assert result.total is None
    hidden = [key for key, shown in result.cells.items() if shown is None]
    if result.total is not None and hidden:
        # What a reader knows: hidden cells hold at least 1 each (zeros are shown) and add up to the rest.
        rest = result.total - sum(shown for shown in result.cells.values() if shown is not None)
        largest_possible = rest - (len(hidden) - 1)
        assert largest_possible > 1, (table, result)


# --- small cells, two-way --------------------------------------------------------------------------------------------


def test_a_small_cell_in_a_two_by_two_table_needs_the_whole_rectangle_hidden():
    result = suppress_small_cells_two_way({"HT": {"Feminine": 10, "Masculine": 2},
                                           "PE": {"Feminine": 8, "Masculine": 9}}, threshold=5)
    assert result.cells == {"HT": {"Feminine": None, "Masculine": None}, "PE": {"Feminine": None, "Masculine": None}}
    assert result.row_totals == {"HT": 12, "PE": 17}
    assert result.column_totals == {"Feminine": 18, "Masculine": 11}
    assert (result.total, result.suppressed_count) == (29, 4)


def test_a_two_way_table_with_room_hides_a_rectangle_only():
    table = {"HT": {"F": 30, "M": 2, "X": 20}, "PE": {"F": 25, "M": 40, "X": 0}, "EC": {"F": 12, "M": 15, "X": 9}}
    result = suppress_small_cells_two_way(table, threshold=5)
    hidden = {(row, column) for row, cells in result.cells.items() for column, shown in cells.items() if shown is None}
    assert ("HT", "M") in hidden
    assert len(hidden) == 4
    assert len({row for row, _ in hidden}) == 2 and len({column for _, column in hidden}) == 2
    assert result.row_totals == {"HT": 52, "PE": 65, "EC": 36}
    assert result.total == 153


def test_small_totals_are_hidden_in_a_two_way_table():
    result = suppress_small_cells_two_way({"HT": {"F": 1, "M": 0}, "PE": {"F": 8, "M": 9}}, threshold=5,
                                          columns=("F", "M", "X"))
    assert result.cells["HT"] == {"F": None, "M": 0, "X": 0}
    assert result.row_totals["HT"] is None
    assert result.column_totals["X"] == 0


def test_unknown_columns_are_refused():
    with pytest.raises(ValueError, match="outside the columns"):
        suppress_small_cells_two_way({"HT": {"F": 1, "Z": 3}}, threshold=5, columns=("F",))


def _movable(grid: dict[tuple[int, int], int], hidden: set[tuple[int, int]], height: int, width: int) -> set:
    """Brute force, apart from the code under test: the hidden cells that some other table, agreeing with every
    published number and with each hidden value at least 1, gives a different value. Changing a hidden value by one
    suffices (min-cost flow theory), so try every change of -1, 0 or +1, one grid row at a time."""
    cells = sorted(hidden)
    by_row = [[p for p in cells if p[0] == i] for i in range(height)]

    def row_ok(delta, i):
        return sum(delta.get((i, j), 0) for j in range(width - 1)) == delta.get((i, width - 1), 0)

    def columns_ok(delta):
        return all(sum(delta.get((i, j), 0) for i in range(height - 1)) == delta.get((height - 1, j), 0)
                   for j in range(width))

    movable: set = set()

    def search(i, delta):
        if i == height:
            if columns_ok(delta):
                movable.update(p for p, change in delta.items() if change)
            return
        for changes in product((-1, 0, 1), repeat=len(by_row[i])):
            step = dict(zip(by_row[i], changes, strict=True))
            if any(grid[p] + change < 1 for p, change in step.items()):
                continue
            if row_ok(step, i):
                search(i + 1, delta | step)

    search(0, {})
    return movable


small_two_way = st.integers(1, 3).flatmap(lambda rows: st.integers(1, 6 // rows).flatmap(
    lambda columns: st.lists(st.lists(counts, min_size=columns, max_size=columns), min_size=rows,
                             max_size=rows)))


@settings(max_examples=40, deadline=None, database=None)
@given(small_two_way, st.integers(2, 11))
def test_no_hidden_value_of_a_two_way_table_can_be_worked_out(counts, threshold):
    _assert_protected(counts, threshold)


@pytest.mark.parametrize(("counts", "threshold"), [
    # (r1, c1) = 1 looks protected by a cycle that would take it down to 0: only a cell's own floor rules that out.
    ([[1, 1], [12, 1], [0, 12]], 8),
    ([[0, 0, 0], [0, 3, 0]], 5),
    ([[1, 0, 0], [0, 1, 0], [0, 0, 1]], 2),
    ([[4, 4, 4, 4, 4, 9]], 5),
])
def test_tricky_two_way_tables_are_protected(counts, threshold):
    _assert_protected(counts, threshold)


def _assert_protected(counts: list[list[int]], threshold: int) -> None:
    rows, columns = [f"r{i}" for i in range(len(counts))], [f"c{j}" for j in range(len(counts[0]))]
    table = {row: dict(zip(columns, line, strict=True)) for row, line in zip(rows, counts, strict=True)}
    result = suppress_small_cells_two_way(table, threshold=threshold)

    height, width = len(rows) + 1, len(columns) + 1
    shown = {(i, j): result.cells[row][column] for i, row in enumerate(rows) for j, column in enumerate(columns)}
    shown |= {(i, width - 1): result.row_totals[row] for i, row in enumerate(rows)}
    shown |= {(height - 1, j): result.column_totals[column] for j, column in enumerate(columns)}
    shown[(height - 1, width - 1)] = result.total
    truth = {(i, j): counts[i][j] for i in range(len(rows)) for j in range(len(columns))}
    truth |= {(i, width - 1): sum(counts[i]) for i in range(len(rows))}
    truth |= {(height - 1, j): sum(line[j] for line in counts) for j in range(len(columns))}
    truth[(height - 1, width - 1)] = sum(map(sum, counts))

    for position, value in truth.items():
        assert shown[position] in (None, value)
        if 0 < value < threshold:
            assert shown[position] is None
        if value == 0:
            assert shown[position] == 0
    hidden = {position for position, value in shown.items() if value is None}
    assert _movable(truth, hidden, height, width) == hidden
