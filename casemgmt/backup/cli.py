"""`casemgmt backup` (keygen, verify, reapply-erasures) and `casemgmt restore`; see docs/operations.md."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app

from casemgmt.backup import create, keys, restore
from casemgmt.backup.archive import read_archive
from casemgmt.backup.snapshot import SnapshotError, normalise_url
from casemgmt.backup.stream import ArchiveError
from casemgmt.settings import SettingsError


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


@click.group("backup", invoke_without_command=True,
             help="Back up the database and the document store into one encrypted file (see docs/operations.md).")
@click.option("--output", type=click.Path(path_type=Path),
              help="A new file, or a folder for a dated file (default: the instance folder's backups/).")
@click.pass_context
def backup_cli(ctx, output):
    if ctx.invoked_subcommand is not None:
        return
    try:
        result = create.make_backup(output)
    except (SettingsError, SnapshotError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    manifest = result.manifest
    counts = manifest["counts"]
    click.echo(f"backup written: {result.path}")
    click.echo(f"  {_mb(result.size)} in {result.seconds:.1f} s; snapshot of "
               f"{manifest['created_at'][:19].replace('T', ' ')} UTC ({manifest['backend']}, schema "
               f"{manifest['schema_revision']}), audit event {manifest['audit_head']['seq']}")
    click.echo(f"  {counts['cases']} cases ({counts['erased_cases']} erased), {manifest['documents']['count']} "
               f"document files, {counts['users']} users, {counts['audit_events']} audit events")
    if result.journal_backfilled:
        click.echo(f"  erasure journal: {result.journal_backfilled} erasure(s) missing from it were added")
    for problem in result.journal_problems:
        click.echo(f"WARNING: erasure journal: {problem}", err=True)
    if result.missing:
        for case_id, document_id in result.missing[:20]:
            click.echo(f"ERROR: document {document_id} of case {case_id} is in the database but its file is "
                       "missing", err=True)
        click.echo(f"ERROR: {len(result.missing)} referenced document file(s) are missing: the backup was written "
                   "without them", err=True)
        sys.exit(1)


@backup_cli.command("keygen")
def backup_keygen():
    """Print a new backup key (32 random bytes, base64) for CASEMGMT_BACKUP_KEY or CASEMGMT_BACKUP_KEY_FILE."""
    click.echo(keys.new_key_text())


@backup_cli.command("verify")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def backup_verify(archive):
    """Check that ARCHIVE opens with the configured backup key, whole and unchanged, and matches its manifest."""
    try:
        manifest = read_archive(archive, keys.backup_key())
    except (ArchiveError, SettingsError) as exc:
        raise click.ClickException(f"{archive}: {exc}") from None
    click.echo(f"{archive}: intact; snapshot of {manifest['created_at'][:19].replace('T', ' ')} UTC, "
               f"{len(manifest['files'])} file(s), {manifest['documents']['count']} document(s), "
               f"audit event {manifest['audit_head']['seq']}")


@backup_cli.command("reapply-erasures")
@click.option("--accept-damaged-journal", is_flag=True, help="Re-apply the genuine lines of a damaged journal.")
def backup_reapply(accept_damaged_journal):
    """Erase again every journaled case that the database does not show erased (after a restore made by hand)."""
    try:
        report = restore.reapply(click.echo, accept_damaged_journal)
    except restore.RestoreRefused as exc:
        raise click.ClickException(str(exc)) from None
    if report.problems:
        sys.exit(1)


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--target-database", help="Restore into this (empty) database instead of the configured one, e.g. to "
                                        "test a backup. Needs --target-instance.")
@click.option("--target-instance", type=click.Path(file_okay=False, path_type=Path),
              help="The instance folder whose documents/ receives the document files (must hold none).")
@click.option("--accept-damaged-journal", is_flag=True,
              help="Go on although the erasure journal is damaged or cut off, re-applying its genuine lines.")
@click.option("--sample", default=20, show_default=True, help="Values decrypted per encrypted column to check.")
def restore_command(archive, target_database, target_instance, accept_damaged_journal, sample):
    """Verify ARCHIVE, restore it into an empty database and document store, re-apply the erasures made since,
    check the result and report how far back in time it went. Stop the application first."""
    settings = current_app.config["SETTINGS"]
    if (target_database is None) != (target_instance is None):
        raise click.ClickException("give both --target-database and --target-instance (the documents belong with "
                                   "their database), or neither to restore into the configured ones")
    in_place = target_database is None
    target = restore.Target(
        normalise_url(target_database) if target_database else settings.database_url,
        (target_instance or settings.instance_path).resolve(),
        in_place,
    )
    try:
        report = restore.restore(archive, target, click.echo, accept_damaged_journal, sample)
    except (restore.RestoreRefused, SettingsError) as exc:
        raise click.ClickException(f"restore refused, nothing was changed: {exc}") from None
    except restore.RestoreFailed as exc:
        raise click.ClickException(f"restore failed: {exc}") from None
    if report.problems:
        click.echo(f"RESTORE FINISHED WITH {len(report.problems)} PROBLEM(S): see above", err=True)
        sys.exit(1)
    click.echo("restore complete: the application may be started")
