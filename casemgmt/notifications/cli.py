"""`casemgmt notifications sweep` and `casemgmt notifications send`, for cron: both can run as often as wanted."""

from __future__ import annotations

import click
from flask import current_app

from casemgmt.notifications import (
    derive,  # noqa: F401  (its session listeners make the notices)
    mail,
    sweep,
)


@click.group("notifications", help="Overdue-task and cross-organisation notices, and e-mailed digests.")
def notifications_cli():
    pass


@notifications_cli.command("sweep")
def sweep_command():
    """Add a notice for each task that fell overdue in the last week (once per task, assignee and due date), and
    look for newly registered people in other organisations' cases (their holders are told)."""
    added = sweep.sweep_all()
    click.echo(f"{sum(added.values())} overdue-task notices added ({len(added)} organisations swept)")
    tracing = sweep.sweep_tracing_checks()  # before the cross-checks: see its docstring
    click.echo(f"{tracing.checked} tracing requests looked for in other organisations, {tracing.notices} notices to "
               f"the holders of a match, {tracing.failed} checks failed (left queued; see the log)")
    if tracing.stuck:
        click.echo(f"{len(tracing.stuck)} tracing requests failed their check too often and wait for an operator: "
                   + ", ".join(tracing.stuck), err=True)
    checks = sweep.sweep_cross_checks()
    click.echo(f"{checks.checked} new or changed cases looked for in other organisations, {checks.notices} notices "
               f"to the holders of a match, {checks.failed} checks failed (left queued; see the log)")
    if checks.stuck:
        # Case ids only (no names): the log of the failures says why.
        click.echo(f"{len(checks.stuck)} cases failed their check too often and wait for an operator: "
                   + ", ".join(checks.stuck), err=True)


@notifications_cli.command("send")
@click.option("--now", "everything", is_flag=True,
              help="Send every waiting digest now, without waiting for its retry delay or digest interval (say, "
                   "once the mail server is back).")
@click.option("--limit", default=500, show_default=True, help="At most this many digests in this run.")
def send_command(everything, limit):
    """Send the e-mail digests that are due. Nothing is sent when no SMTP host is set."""
    if not current_app.config["SETTINGS"].mail.enabled:
        click.echo("e-mail is off: CASEMGMT_SMTP_HOST is not set")
        return
    report = mail.send_due(everything=everything, limit=limit)
    click.echo(f"{report.sent} sent, {report.skipped} with nothing left to tell, {report.failed} failed "
               "(left waiting; see the log)")
    if report.failed:
        raise SystemExit(1)
