"""Disclosure control for numbers that leave the organisation.

Two tools, both working on counts the database has already aggregated (never on people one by one):

- k_anonymise(): the record-level export. Its input is a histogram, {tuple of quasi-identifier values: persons}; the
  result keeps only equivalence classes of at least k persons, after generalising columns along hierarchies.py with
  Sweeney's Datafly heuristic ("Achieving k-anonymity privacy protection using generalization and suppression", 2002).
  CTDC publishes its global dataset at k = 11.
- suppress_small_cells() and suppress_small_cells_two_way(): published tables. A count of 1..threshold-1 names a
  person ("the only Haitian boy in the shelter"), so it is hidden, and further cells are hidden until no hidden cell
  can be worked out again from the totals.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from casemgmt.reports.hierarchies import COLUMNS, generalise, max_level

Histogram = dict[tuple[str, ...], int]


# --- k-anonymity -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KAnonymised:
    columns: tuple[str, ...]
    k: int
    levels: dict[str, int]  # generalisation level chosen per column (hierarchies.generalise)
    histogram: Histogram  # generalised classes of at least k persons
    suppressed: int  # persons left out because their class stayed smaller than k
    released: int  # persons in histogram

    @property
    def total(self) -> int:
        return self.released + self.suppressed


def generalise_histogram(histogram: Mapping[tuple[str, ...], int], levels: Mapping[str, int],
                         columns: Sequence[str] = COLUMNS) -> Histogram:
    """Recode every class at the given levels and add up the classes that become one."""
    recode = [
        {value: generalise(column, value, levels[column]) for value in {key[index] for key in histogram}}
        for index, column in enumerate(columns)
    ]
    merged: Histogram = {}
    for key, persons in histogram.items():
        general = tuple(codes[value] for codes, value in zip(recode, key, strict=True))
        merged[general] = merged.get(general, 0) + persons
    return merged


def k_anonymise(histogram: Mapping[tuple[str, ...], int], k: int, max_suppression: float = 0.05,
                columns: Sequence[str] = COLUMNS) -> KAnonymised:
    """Datafly: generalise the column with the most distinct values until at most max_suppression of the persons sit
    in classes smaller than k, then leave those persons out.

    Ties go to the column that comes first in columns, so the same histogram always gives the same release. When
    every column is fully generalised and the one remaining class is still smaller than k, nobody is released.
    """
    columns = tuple(columns)
    _check_histogram(histogram, columns)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, not {k!r}")
    if not 0 <= max_suppression <= 1:
        raise ValueError(f"max_suppression is a fraction between 0 and 1, not {max_suppression!r}")

    histogram = {key: persons for key, persons in histogram.items() if persons}
    total = sum(histogram.values())
    levels = dict.fromkeys(columns, 0)
    while True:
        current = generalise_histogram(histogram, levels, columns)
        outliers = sum(persons for persons in current.values() if persons < k)
        if outliers <= max_suppression * total:
            break
        column = _most_distinct(current, levels, columns)
        if column is None:
            break
        levels[column] += 1

    released = {key: persons for key, persons in current.items() if persons >= k}
    kept = sum(released.values())
    return KAnonymised(columns=columns, k=k, levels=levels, histogram=released, suppressed=total - kept,
                       released=kept)


def _most_distinct(current: Histogram, levels: dict[str, int], columns: tuple[str, ...]) -> str | None:
    best, best_count = None, -1
    for index, column in enumerate(columns):
        if levels[column] >= max_level(column):
            continue
        distinct = len({key[index] for key in current})
        if distinct > best_count:
            best, best_count = column, distinct
    return best


def _check_histogram(histogram: Mapping[tuple[str, ...], int], columns: tuple[str, ...]) -> None:
    for key, persons in histogram.items():
        if not isinstance(key, tuple) or len(key) != len(columns):
            raise ValueError(f"histogram key {key!r} does not have one value for each of {columns}")
        if isinstance(persons, bool) or not isinstance(persons, int) or persons < 0:
            raise ValueError(f"histogram count for {key!r} must be a non-negative integer, not {persons!r}")


# --- small cells in a one-way table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuppressedTable:
    cells: dict[str, int | None]  # None: hidden
    total: int | None  # None: hidden
    suppressed_count: int  # cells hidden, small ones and those hidden to protect them; the total is not counted
    # Why each hidden value is hidden: a count of 1..threshold-1 (primary) or to protect one (secondary). A reader
    # must be told which, or a secondarily hidden 24 reads as "fewer than 11".
    primary: frozenset[str] = frozenset()
    total_primary: bool = False

    @property
    def secondary(self) -> frozenset[str]:
        return frozenset(key for key, value in self.cells.items() if value is None) - self.primary


def suppress_small_cells(table: Mapping[str, int], threshold: int, total: int | None = None) -> SuppressedTable:
    """Hide counts of 1..threshold-1 in a breakdown, and whatever else keeps them from being worked out.

    total defaults to the sum of the cells; pass it when a person can be in several cells or in none (exploitation
    types), and it is treated the same way. Zeros stay visible: they name nobody, and hiding them would tell readers
    less than they may know. So a reader knows each hidden cell holds at least 1, and the published total gives away a
    hidden cell when it is the only one, or when the hidden cells can only all be 1. Until neither is the case, the
    smallest visible non-zero cell is hidden too (the first of equals); when none is left, the total is hidden.
    """
    _check_threshold(threshold)
    for key, persons in table.items():
        _check_count(key, persons)
    if total is None:
        total = sum(table.values())
    _check_count("total", total)

    hidden = {key for key, persons in table.items() if _small(persons, threshold)}
    primary = frozenset(hidden)
    total_hidden = total_primary = _small(total, threshold)
    while not total_hidden and hidden and (len(hidden) == 1 or sum(table[key] for key in hidden) == len(hidden)):
        visible = [key for key, persons in table.items() if persons and key not in hidden]
        if not visible:
            total_hidden = True
            break
        hidden.add(min(visible, key=table.__getitem__))

    cells = {key: None if key in hidden else persons for key, persons in table.items()}
    return SuppressedTable(cells=cells, total=None if total_hidden else total, suppressed_count=len(hidden),
                           primary=primary, total_primary=total_primary)


# --- merging small categories --------------------------------------------------------------------------------------


def union_count(combos: Mapping[frozenset[str], int], keys: Iterable[str]) -> int:
    """Persons on at least one of `keys`, from persons per combination of categories (a person in several
    categories is one combination, counted once)."""
    wanted = frozenset(keys)
    return sum(persons for combination, persons in combos.items() if combination & wanted)


def merge_small_categories(combos: Mapping[frozenset[str], int], keys: Sequence[str],
                           threshold: int) -> tuple[str, ...]:
    """The categories to publish together as one "other" line instead of suppressing them, in the order of keys;
    () when merging would not help.

    As statistical agencies collapse categories before suppressing: every category of 1..threshold-1 persons goes
    into the merged line; while that line counts fewer than threshold persons or holds a single category (which
    would name it), the smallest other non-empty category joins it. A merge that still ends below threshold is not
    made: it would be hidden anyway, and the categories are better suppressed one by one; nor one that takes every
    non-empty category, which would only repeat "at least one". combos gives the persons
    per combination of categories, so a person in several merged categories counts once."""
    _check_threshold(threshold)
    size = {key: union_count(combos, (key,)) for key in keys}
    merged = [key for key in keys if _small(size[key], threshold)]
    if not merged:
        return ()
    while len(merged) < 2 or union_count(combos, merged) < threshold:
        rest = [key for key in keys if key not in merged and size[key]]
        if not rest:
            return ()
        merged.append(min(rest, key=lambda key: (size[key], keys.index(key))))
    if all(key in merged for key in keys if size[key]):
        # Every category in "other": that line is "at least one", and says nothing suppression would not.
        return ()
    return tuple(key for key in keys if key in merged)


# --- small cells in a two-way table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuppressedTwoWay:
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: dict[str, dict[str, int | None]]  # row -> column -> count, every cell present; None: hidden
    row_totals: dict[str, int | None]
    column_totals: dict[str, int | None]
    total: int | None
    suppressed_count: int  # inner cells hidden; hidden totals show as None and are not counted
    # The hidden values that are counts of 1..threshold-1 (the others protect them), as (row, column) with None for
    # a total: (row, None) a row total, (None, column) a column total, (None, None) the grand total.
    primary: frozenset[tuple[str | None, str | None]] = frozenset()

    def is_primary(self, row: str | None, column: str | None) -> bool:
        return (row, column) in self.primary


def suppress_small_cells_two_way(table: Mapping[str, Mapping[str, int]], threshold: int,
                                 columns: Sequence[str] | None = None) -> SuppressedTwoWay:
    """Hide small counts in a rows x columns table published with its row, column and grand totals.

    Every count (inner cell or total) of 1..threshold-1 is hidden. Then, while some hidden value can be worked out
    exactly from the published ones (each hidden value being at least 1, as zeros stay visible), the smallest visible
    non-zero value in its row or column is hidden as well, or anywhere in the table if that row and column have none.

    "Worked out exactly" is decided exactly, not by a rule of thumb: with the totals the table is a flow network
    (rows and columns are nodes, hidden values are edges), and a hidden value can take another value exactly when a
    cycle through it in the residual network can carry one more person, the way min-cost flow algorithms look for an
    improving cycle. A cell in a row with a single hidden value is the simplest case: nothing can balance it.

    Missing cells count as 0; columns gives their order (default: as first seen in the rows).
    """
    _check_threshold(threshold)
    rows = tuple(table)
    if columns is None:
        columns = tuple(dict.fromkeys(column for row in table.values() for column in row))
    columns = tuple(columns)
    for row, counts in table.items():
        unknown = set(counts) - set(columns)
        if unknown:
            raise ValueError(f"row {row!r} has cells outside the columns: {sorted(unknown)}")
        for column, persons in counts.items():
            _check_count((row, column), persons)

    grid = _Grid.of(table, rows, columns)
    hidden = {position for position, persons in grid.values.items() if _small(persons, threshold)}
    small = set(hidden)
    while (exposed := grid.first_exposed(hidden)) is not None:
        protector = grid.protector(exposed, hidden)
        if protector is None:  # cannot happen: with every non-zero value hidden nothing is exposed
            break
        hidden.add(protector)

    def shown(position: tuple[int, int]) -> int | None:
        return None if position in hidden else grid.values[position]

    last_row, last_column = len(rows), len(columns)
    return SuppressedTwoWay(
        rows=rows,
        columns=columns,
        cells={row: {column: shown((i, j)) for j, column in enumerate(columns)} for i, row in enumerate(rows)},
        row_totals={row: shown((i, last_column)) for i, row in enumerate(rows)},
        column_totals={column: shown((last_row, j)) for j, column in enumerate(columns)},
        total=shown((last_row, last_column)),
        suppressed_count=sum(1 for i, j in hidden if i < last_row and j < last_column),
        primary=frozenset((rows[i] if i < last_row else None, columns[j] if j < last_column else None)
                          for i, j in small),
    )


@dataclass(frozen=True)
class _Grid:
    """The table with its totals as row len(rows) and column len(columns).

    Counting the totals negatively, every row and every column of this grid adds up to zero: a circulation on the
    bipartite graph of grid rows and grid columns. An inner cell or the grand total is an edge whose flow is the count
    (at least 1 while hidden); a row or column total is an edge whose flow is minus the total (at most -1).
    """

    values: dict[tuple[int, int], int]
    height: int
    width: int

    @classmethod
    def of(cls, table: Mapping[str, Mapping[str, int]], rows: tuple[str, ...], columns: tuple[str, ...]) -> _Grid:
        height, width = len(rows) + 1, len(columns) + 1
        values = {(i, j): table[row].get(column, 0) for i, row in enumerate(rows) for j, column in enumerate(columns)}
        for i in range(len(rows)):
            values[(i, width - 1)] = sum(values[(i, j)] for j in range(len(columns)))
        for j in range(width):
            values[(height - 1, j)] = sum(values[(i, j)] for i in range(len(rows)))
        return cls(values=values, height=height, width=width)

    def is_total(self, position: tuple[int, int]) -> bool:
        i, j = position
        return (i == self.height - 1) != (j == self.width - 1)

    def first_exposed(self, hidden: set[tuple[int, int]]) -> tuple[int, int] | None:
        for position in sorted(hidden):
            if not self._movable(position, hidden):
                return position
        return None

    def _movable(self, position: tuple[int, int], hidden: set[tuple[int, int]]) -> bool:
        return self._can_move(position, hidden, up=True) or self._can_move(position, hidden, up=False)

    def _can_move(self, position: tuple[int, int], hidden: set[tuple[int, int]], up: bool) -> bool:
        """Whether the hidden value at position can be one more (up) or one less than it is, all else published."""
        if not up and self.values[position] < 2:
            return False
        # An edge row -> column raises the flow, column -> row lowers it. A total's count is minus its flow.
        raise_flow = up != self.is_total(position)
        i, j = position
        start, goal = (("c", j), ("r", i)) if raise_flow else (("r", i), ("c", j))
        arcs: dict[tuple[str, int], list[tuple[str, int]]] = {}
        for other in hidden - {position}:
            a, b = other
            count = self.values[other]
            if not self.is_total(other) or count >= 2:  # raising the flow: a count goes up, a total down
                arcs.setdefault(("r", a), []).append(("c", b))
            if self.is_total(other) or count >= 2:  # lowering the flow: a count goes down, a total up
                arcs.setdefault(("c", b), []).append(("r", a))
        return _reachable(arcs, start, goal)

    def protector(self, exposed: tuple[int, int], hidden: set[tuple[int, int]]) -> tuple[int, int] | None:
        """The smallest visible value whose hiding frees the exposed one; failing that, the smallest in its row or
        column (it takes more than one), failing that the smallest anywhere."""
        candidates = sorted((p for p, persons in self.values.items() if persons and p not in hidden),
                            key=lambda p: (self.values[p], p))
        for candidate in candidates:
            if self._movable(exposed, hidden | {candidate}):
                return candidate
        i, j = exposed
        nearby = [p for p in candidates if p[0] == i or p[1] == j]
        return (nearby or candidates or [None])[0]


def _reachable(arcs: dict[tuple[str, int], list[tuple[str, int]]], start: tuple[str, int],
               goal: tuple[str, int]) -> bool:
    seen, queue = {start}, deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            return True
        for following in arcs.get(node, ()):
            if following not in seen:
                seen.add(following)
                queue.append(following)
    return False


# --- shared checks ---------------------------------------------------------------------------------------------------


def _small(persons: int, threshold: int) -> bool:
    return 0 < persons < threshold


def _check_threshold(threshold: int) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise ValueError(f"threshold must be a positive integer, not {threshold!r}")


def _check_count(key: object, persons: int) -> None:
    if isinstance(persons, bool) or not isinstance(persons, int) or persons < 0:
        raise ValueError(f"count for {key!r} must be a non-negative integer, not {persons!r}")
