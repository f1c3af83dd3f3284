"""How much the shared donor report hides, before (suppression alone, as the report did) and after (small nominal
categories merged into "Other (merged)" first, then suppression), on the demo data and on a synthetic database.

    python -m benchmarks.suppression --cases 10000 [--workdir instance/benchmarks] [--seed 2026]

Both databases are built once (benchmarks.databases: a marker says a build finished) and reused. For every
organisation with a supervisor, the donor report of the last 365 days is computed exactly, then shared both ways;
the table prints, over the counts the report publishes (zeros excluded, since zeros are never hidden):

- cells hidden: counts shown as "fewer than k" or "suppressed";
- persons hidden: the persons in those cells, as a share of the persons in all cells (a person with two types of
  exploitation is in two cells);
- categories merged: lines published together as "Other (merged)" (their persons stay visible, counted together).
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from benchmarks.databases import BenchDatabase
from benchmarks.population import build as build_database
from casemgmt.core.time import utcnow
from casemgmt.reports import donor
from casemgmt.reports.filters import ReportFilters

ROOT = Path(__file__).resolve().parent.parent


def measure(report: donor.DonorReport, k: int, merge: bool) -> dict[str, int]:
    """Cells and persons of the exact report, and how many the shared one hides."""
    shared = donor.shared(report, k, merge=merge)
    out = {"cells": 0, "hidden_cells": 0, "persons": 0, "hidden_persons": 0, "merged": 0}

    def add(exact_count: int, shown: donor.Line | None) -> None:
        if not exact_count:
            return
        out["cells"] += 1
        out["persons"] += exact_count
        if shown is None or shown.hidden:
            out["hidden_cells"] += 1
            out["hidden_persons"] += exact_count

    # Gender, age and their cross table (the margins are the gender and age tables).
    for (_row, cells), (shown_row, shown_cells) in zip(report.gender_age.rows, shared.gender_age.rows, strict=True):
        add(_row.count, shown_row)
        for cell, shown in zip(cells, shown_cells, strict=True):
            add(cell.count, shown)
    for column, shown in zip(report.gender_age.columns, shared.gender_age.columns, strict=True):
        add(column.count, shown)
    # Citizenship: a country not named is "hidden" only if "Other countries" is.
    shown_citizenship = {line.label: line for line in shared.citizenship.lines}
    other = shown_citizenship[donor.other_countries_label()]
    for line in report.citizenship.lines:
        add(line.count, shown_citizenship.get(line.label, other))
    # The nominal tables: a merged line is visible when "Other (merged)" is.
    exact_tables = (report.exploitation, report.services)
    for exact, published in zip(exact_tables, (shared.exploitation, shared.services), strict=True):
        _nominal(exact.lines, published.lines, published.merged, add, out)
        for line, shown in zip(exact.summary, published.summary, strict=True):
            add(line.count, shown)
    _nominal([line.persons for line in report.spend.lines], [line.persons for line in shared.spend.lines],
             shared.spend.merged, add, out)
    return out


def _nominal(exact_lines, shown_lines, merged_labels, add, out) -> None:
    by_label = {line.label: line for line in shown_lines}
    other = by_label.get(donor.merged_line_label())
    for line in exact_lines:
        if line.label in merged_labels:
            out["merged"] += 1
            add(line.count, other)
        else:
            add(line.count, by_label[line.label])


def run(database: BenchDatabase, label: str, k: int) -> list[tuple[str, str, dict[str, int]]]:
    from casemgmt.access.roles import Role
    from casemgmt.accounts.models import User
    from casemgmt.extensions import db

    if database.marker() is None:
        print(f"building {database.name} (once; later runs reuse it)...", flush=True)
        build_database(database)
    app = database.app()
    rows = []
    with app.test_request_context():
        today = utcnow().date()
        filters = ReportFilters(start=today - timedelta(days=365), end=today)
        orgs = sorted(set(db.session.scalars(select(User.organisation_id).where(User.role == Role.SUPERVISOR))))
        for name, merge in (("before", False), ("after", True)):
            totals = dict.fromkeys(("cells", "hidden_cells", "persons", "hidden_persons", "merged"), 0)
            for org in orgs:
                for key, value in measure(donor.build(org, filters), k, merge).items():
                    totals[key] += value
            rows.append((label, name, totals))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--demo-cases", type=int, default=50)
    parser.add_argument("--k", type=int, default=11)
    # The main benchmark's folder: a database it built is reused here, and the other way round.
    parser.add_argument("--workdir", type=Path, default=ROOT / "instance" / "benchmarks")
    args = parser.parse_args(argv)
    rows = run(BenchDatabase("sqlite", args.demo_cases, args.seed, args.workdir, "demo"),
               f"demo ({args.demo_cases} cases)", args.k)
    rows += run(BenchDatabase("sqlite", args.cases, args.seed, args.workdir, "synth"),
                f"synthetic ({args.cases:,} cases)", args.k)
    print(f"\nShared donor report, k = {args.k}, last 365 days, every organisation with a supervisor")
    print(f"{'data':<28} {'algorithm':<9} {'cells hidden':>18} {'persons hidden':>22} {'merged':>7}")
    for label, name, t in rows:
        cells = f"{t['hidden_cells']}/{t['cells']} ({100 * t['hidden_cells'] / max(t['cells'], 1):.1f}%)"
        persons = f"{t['hidden_persons']}/{t['persons']} ({100 * t['hidden_persons'] / max(t['persons'], 1):.1f}%)"
        print(f"{label:<28} {name:<9} {cells:>18} {persons:>22} {t['merged']:>7}")


if __name__ == "__main__":
    main()
