"""`python -m benchmarks.matching`: the quality and the speed of finding the same person (issue 13).

For each backend and size it builds (or reuses) a database of labelled people (casemgmt.matching.evaluation): the
people and their look-alikes written encrypted with their person_match_keys rows, in committed batches, with the
blind indexes sized for the size (EXPECTED_CASES = N, as benchmarks.databases sizes them). Then it runs the second
registrations and look-alikes as duplicate checks and a set of searches, with the old exact method (in memory) and
the new engine (through the database), and prints precision, recall, F1, p50/p95 and candidates decrypted per check.
docs/benchmarks.md, "Finding the same person (issue 13)", has the figures and this command.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import click
from flask_migrate import upgrade
from sqlalchemy import text

from benchmarks.databases import BACKENDS, BenchDatabase
from benchmarks.worker import ROOT

GENERATOR = "matching"
MARKER = "matching.json"
# Duplicate checks and searches timed per database: enough for a p95, bounded so that 100,000 stays minutes.
MAX_CHECKS, MAX_SEARCHES = 2000, 1000


def fingerprint() -> str:
    """What a built database depends on: the migrations, the generator and the keys' definitions."""
    sources = sorted((ROOT / "migrations" / "versions").glob("*.py"))
    sources += [ROOT / "casemgmt" / p for p in ("synth_people.py", "synth_rows.py", "matching/evaluation.py",
                                                "matching/keys.py", "matching/phonetic.py", "matching/normalise.py")]
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


def _built(target: BenchDatabase) -> dict | None:
    path = target.instance_path / MARKER
    if not path.exists() or target.marker is None:
        return None
    facts = json.loads(path.read_text())
    if facts.get("fingerprint") != fingerprint():
        return None
    if target.backend == "postgresql":
        from benchmarks.databases import _postgres_exists

        if not _postgres_exists(target.postgres_name):
            return None
    return facts


def build(target: BenchDatabase, dataset) -> dict:
    from casemgmt.extensions import db
    from casemgmt.matching import evaluation

    target.reset()
    app = target.app()
    started = time.perf_counter()
    with app.app_context():
        upgrade()
        orgs = evaluation.organisations()
        done = [0]

        def progress(n: int) -> None:
            done[0] += n
            if done[0] % 10_000 < n:
                click.echo(f"  {target.name}: {done[0]} written ({time.perf_counter() - started:.0f} s)", err=True)

        evaluation.store(dataset, orgs, progress=progress)
        if target.backend == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.session.remove()
        db.engine.dispose()
    facts = {"orgs": orgs, "records": len(dataset.records), "seconds": round(time.perf_counter() - started, 1),
             "fingerprint": fingerprint()}
    (target.instance_path / MARKER).write_text(json.dumps(facts, indent=2) + "\n")
    return facts


def measure(target: BenchDatabase, dataset, facts: dict) -> dict:
    from casemgmt.extensions import db
    from casemgmt.matching import evaluation

    app = target.app()
    with app.test_request_context():
        ids = evaluation.case_ids(dataset)
        orgs = {k: int(v) for k, v in facts["orgs"].items()}
        warm = evaluation.Dataset(dataset.seed, dataset.records, dataset.checks[:20], dataset.searches[:20])
        evaluation.evaluate_new(warm, ids, orgs)  # the first queries pay for connections and caches
        result = evaluation.evaluate_new(dataset, ids, orgs)
        db.session.remove()
        db.engine.dispose()
    return result


@click.command()
@click.option("--sizes", default="10000", show_default=True, help="People per database, comma-separated.")
@click.option("--backends", default="sqlite,postgresql", show_default=True)
@click.option("--seed", default=2026, show_default=True)
@click.option("--checks", "max_checks", default=MAX_CHECKS, show_default=True, help="People sampled for checks.")
@click.option("--searches", "max_searches", default=MAX_SEARCHES, show_default=True)
@click.option("--workdir", default=str(ROOT / "instance" / "benchmarks"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
@click.option("--rebuild", is_flag=True, help="Build the databases again even when a finished build exists.")
@click.option("--build-only", is_flag=True, help="Build the databases that need it and stop.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write every figure as JSON here.")
def main(sizes, backends, seed, max_checks, max_searches, workdir, rebuild, build_only, out):
    """Precision, recall and speed of the duplicate check and search, old method against new; see
    docs/benchmarks.md."""
    from casemgmt.matching import evaluation

    chosen = [b.strip() for b in backends.split(",") if b.strip()]
    if not chosen or set(chosen) - set(BACKENDS):
        raise click.BadParameter(f"choose from {', '.join(BACKENDS)}", param_hint="--backends")
    results = []
    for size in (int(s.replace("_", "")) for s in sizes.split(",") if s.strip()):
        started = time.perf_counter()
        dataset = evaluation.generate(size, seed, max_checks=max_checks, max_searches=max_searches)
        old = evaluation.evaluate_old(dataset)
        click.echo(f"{size}: generated in {time.perf_counter() - started:.1f} s; {len(dataset.checks)} checks, "
                   f"{len(dataset.searches)} searches", err=True)
        for backend in chosen:
            target = BenchDatabase(backend, size, seed, workdir.resolve(), GENERATOR)
            facts = None if rebuild else _built(target)
            if facts is None:
                facts = build(target, dataset)
                click.echo(f"built {target.name} in {facts['seconds']} s", err=True)
            if build_only:
                continue
            new = measure(target, dataset, facts)
            results.append({"backend": backend, "size": size, "build_seconds": facts["seconds"], "old": old,
                            "new": new})
            click.echo(json.dumps(results[-1]), err=True)
    click.echo(table(results))
    if out:
        out.write_text(json.dumps(results, indent=2) + "\n")


def table(results: list[dict]) -> str:
    lines = ["| backend | people | method | check P / R / F1 | search P / R / F1 | check p50 / p95 ms | "
             "search p50 / p95 ms | decrypted per check (mean / max) |",
             "|---|---:|---|---|---|---|---|---|"]
    for r in results:
        for method in ("old", "new"):
            m = r[method]
            c, s = m["check"], m["search"]
            timing = (f"{m['check_ms']['p50']} / {m['check_ms']['p95']} | {m['search_ms']['p50']} / "
                      f"{m['search_ms']['p95']} | {m['decrypted_per_check']['mean']} / "
                      f"{m['decrypted_per_check']['max']}") if method == "new" else "- | - | -"
            lines.append(f"| {r['backend']} | {r['size']:,} | {method} | {c['precision']:.3f} / {c['recall']:.3f} / "
                         f"{c['f1']:.3f} | {s['precision']:.3f} / {s['recall']:.3f} / {s['f1']:.3f} | {timing} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
