"""`casemgmt indexes`: the matching indexes' generations (matching.generations) and their rebuild (matching.rebuild)."""

from __future__ import annotations

import click

from casemgmt.extensions import db
from casemgmt.matching import rebuild as rebuilding


@click.group("indexes", help="The blind indexes of search and the duplicate check: status and rebuild.")
def indexes_cli():
    pass


@indexes_cli.command("rebuild")
@click.option("--batch-size", default=rebuilding.BATCH_SIZE, show_default=True, type=click.IntRange(min=1),
              help="Cases per transaction: an interruption loses at most one batch.")
@click.option("--pause-after-batch", "pause", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="Seconds to wait after each committed batch, to leave the database to the application on a busy "
                   "server (the tests use it to interrupt a rebuild mid-way).")
def indexes_rebuild(batch_size, pause):
    """Recompute the indexes under the current key version and for CASEMGMT_EXPECTED_CASES, while the application
    runs: after `casemgmt keys rotate`, after changing CASEMGMT_EXPECTED_CASES, or to finish an interrupted rebuild.
    Safe to interrupt at any point; run it again to resume."""
    run_rebuild(batch_size, pause)


def run_rebuild(batch_size: int = rebuilding.BATCH_SIZE, pause: float = 0.0) -> None:
    """The rebuild with a progress bar (also run by `casemgmt db upgrade`)."""
    plan = rebuilding.start()
    indexed = failed = 0
    if plan is None:
        click.echo("the indexes are up to date: nothing to rebuild")
    else:
        g = plan.generation
        verb = "resuming" if plan.done else "building"
        with click.progressbar(length=plan.total, label=f"{verb} index generation {g.id} (key version "
                                                        f"{g.key_version}, {g.bits} bits)",
                               show_pos=True) as bar:
            bar.update(min(plan.done, plan.total))
            indexed, failed = rebuilding.build(g.id, batch_size, on_batch=bar.update, pause=pause)
        replaced = rebuilding.finish(g.id)
        click.echo(f"index generation {g.id} is active: {indexed} cases indexed by this run"
                   + (f", generation(s) {', '.join(map(str, replaced))} retired" if replaced else ""))
        if failed:
            click.echo(f"warning: {failed} cases could not be decrypted and have no index entries; "
                       "run `casemgmt audit verify` and check their data keys", err=True)
    deleted = rebuilding.retire()
    if deleted:
        click.echo(f"{deleted} index rows of retired generations deleted")


@indexes_cli.command("status")
def indexes_status():
    """The index generations, and whether a rebuild is needed."""
    from casemgmt.matching import generations

    version, bits = generations.wanted()
    total = rebuilding.indexable_cases()
    rows = rebuilding.all_generations()
    if not rows:
        click.echo("no index generation yet")
    for g in rows:
        progress = f", {g.done} of {total} cases done" if g.state == "building" else ""
        click.echo(f"generation {g.id}: {g.state}, key version {g.key_version}, {g.bits} bits{progress}")
    click.echo(f"wanted now: key version {version}, {bits} bits")
    reasons = rebuilding.reasons_to_rebuild()
    for reason in reasons:
        click.echo(f"  - {reason}")
    click.echo("run `casemgmt indexes rebuild`" if reasons else "up to date")
    db.session.rollback()
