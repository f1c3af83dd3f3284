"""CLI commands. Each calls the same operations (and so the same policies) as the pages, as the system actor."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import select

from casemgmt.accounts import approvals
from casemgmt.accounts import operations as accounts
from casemgmt.accounts.models import AccountRequest, Organisation, User
from casemgmt.audit import anchor as anchoring
from casemgmt.audit import record_event
from casemgmt.audit.checkpoints import CHECKPOINT
from casemgmt.audit.events import SYSTEM
from casemgmt.audit.verify import verify_anchor, verify_chain
from casemgmt.auth import totp
from casemgmt.cases import operations as cases
from casemgmt.cases.models import Case
from casemgmt.core import zones
from casemgmt.crypto import rotation
from casemgmt.extensions import db
from casemgmt.settings import append_root_key, key_ring_path, new_root_key, parse_key_ring


def _fail(message: str) -> None:
    raise click.ClickException(message)


def _user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        _fail(f"no user named {username!r}")
    return user


@click.group("orgs", help="Manage organisations.")
def orgs_cli():
    pass


@orgs_cli.command("create")
@click.argument("name")
@click.option("--type", "org_type", default="NGO", show_default=True, help="HTCDS organisation type.")
@click.option("--country", required=True, help="ISO 3166 alpha-2 country code, e.g. PE.")
@click.option("--time-zone", default=None,
              help="IANA time zone, e.g. America/Lima; default: the country's when it has only one, else UTC.")
def orgs_create(name, org_type, country, time_zone):
    guessed = time_zone is None
    time_zone = time_zone or zones.zone_for_country(country) or zones.UTC_NAME
    try:
        org = accounts.create_organisation(SYSTEM, name, org_type, country, time_zone=time_zone)
    except accounts.AccountError as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"organisation {org.id}: {org.name}")
    if guessed and org.time_zone == zones.UTC_NAME:
        click.echo(f"its times are shown in UTC: {org.country} has several time zones; choose one with "
                   "--time-zone or on the Organisations page", err=True)


@orgs_cli.command("list")
def orgs_list():
    for org in db.session.scalars(select(Organisation).order_by(Organisation.id)):
        click.echo(f"{org.id}\t{org.name}\t{org.org_type}\t{org.country}")


ROLES = ["hotline_operator", "caseworker", "mission_staff", "supervisor", "administrator", "installation_admin"]


@click.group("users", help="Manage user accounts (as the operator at the server's shell, who needs no approval).")
def users_cli():
    pass


def _print_link(user: User, token: str) -> None:
    hours = current_app.config["SETTINGS"].enrolment_link_hours
    click.echo(f"link for {user.username}, valid once for {hours} hours (append it to the application's address):")
    click.echo(f"  /enrol/{token}")


@users_cli.command("create")
@click.argument("username")
@click.option("--org", "org_name", required=True, help="Organisation name or id.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", "display_name", default=None, help="Full name shown in the application.")
@click.option("--link", "with_link", is_flag=True,
              help="Create the account without a passphrase and print an enrolment link for its owner instead.")
@click.option("--password", default=None, hide_input=True,
              help="Asked for interactively when neither it nor --link is given; avoid passing it on a shared machine.")
def users_create(username, org_name, role, display_name, with_link, password):
    """Create an account: the first accounts of a fresh install (an installation administrator, an organisation's
    first administrator and first supervisor). Later accounts are best made from the pages, where a supervisor
    approves the ones that read cases."""
    org = db.session.scalar(
        select(Organisation).where(
            (Organisation.name == org_name) | (Organisation.id == (int(org_name) if org_name.isdigit() else -1))
        )
    )
    if org is None:
        _fail(f"no organisation {org_name!r}; create it with `casemgmt orgs create`")
    if not with_link and password is None:
        password = click.prompt("Passphrase for the new user", hide_input=True, confirmation_prompt=True)
    try:
        if with_link:
            outcome = accounts.add_account(SYSTEM, username, display_name or username, org.id, role)
            user, token = outcome.user, outcome.token
        else:
            user, token = accounts.create_user(SYSTEM, username, display_name or username, org.id, role, password), None
    except accounts.AccountError as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"user {user.username} created ({role}, {org.name})")
    if token:
        _print_link(user, token)


@users_cli.command("enrol-link")
@click.argument("username")
def users_enrol_link(username):
    """Reset USERNAME's passphrase, two-factor login and sessions, and print a single-use link with which they set
    new ones (also for a new account whose link expired)."""
    user = _user(username)
    try:
        token = accounts.reset_now(SYSTEM, user)
    except accounts.AccountError as exc:
        _fail(str(exc))
    db.session.commit()
    _print_link(user, token)


@users_cli.command("requests")
def users_requests():
    """List the account requests that wait for a supervisor's approval."""
    for request in db.session.scalars(
        select(AccountRequest).where(AccountRequest.status == "requested").order_by(AccountRequest.id)
    ):
        who = request.requested_by.username if request.requested_by else "operator"
        click.echo(f"{request.id}\t{request.kind}\t{request.user.username}\t{request.role or ''}\t"
                   f"{request.user.organisation.name}\trequested by {who}")


def _request(request_id: int) -> AccountRequest:
    found = db.session.get(AccountRequest, request_id)
    if found is None:
        _fail(f"no account request {request_id}")
    return found


@users_cli.command("approve")
@click.argument("request_id", type=int)
def users_approve(request_id):
    """Approve an account request as the operator (an organisation without a supervisor yet); prints the link."""
    found = _request(request_id)
    try:
        token = approvals.approve(SYSTEM, found)
    except accounts.AccountError as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"request {request_id} approved")
    if token:
        _print_link(found.user, token)


@users_cli.command("refuse")
@click.argument("request_id", type=int)
def users_refuse(request_id):
    found = _request(request_id)
    try:
        approvals.refuse(SYSTEM, found)
    except accounts.AccountError as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"request {request_id} refused")


@users_cli.command("disable")
@click.argument("username")
def users_disable(username):
    accounts.set_active(SYSTEM, _user(username), False)
    db.session.commit()
    click.echo(f"user {username} disabled; their sessions have ended")


@users_cli.command("enable")
@click.argument("username")
def users_enable(username):
    accounts.set_active(SYSTEM, _user(username), True)
    db.session.commit()
    click.echo(f"user {username} enabled")


@users_cli.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
def users_set_role(username, role):
    try:
        accounts.set_role(SYSTEM, _user(username), role)
    except accounts.AccountError as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"user {username} is now {role}")


@users_cli.command("export-grant")
@click.argument("username")
@click.option("--revoke", is_flag=True, help="Take the grant away instead of giving it.")
def users_export_grant(username, revoke):
    """Allow (or stop) a supervisor's identified exports."""
    try:
        accounts.set_export_grant(SYSTEM, _user(username), not revoke)
    except accounts.AccountError as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"user {username} {'may no longer' if revoke else 'may'} export identified data")


@users_cli.command("list")
def users_list():
    for user in db.session.scalars(select(User).order_by(User.username)):
        state = "active" if user.active else "disabled"
        click.echo(f"{user.username}\t{user.role}\t{user.organisation.name}\t{state}")


@click.group("keys", help="Encryption keys: generate, add a version, rotate.")
def keys_cli():
    pass


@keys_cli.command("generate")
@click.option("--version", default=1, show_default=True)
def keys_generate(version):
    """Print a new root key entry for CASEMGMT_ROOT_KEYS (production); nothing is stored."""
    click.echo(f"{version}:{base64.b64encode(new_root_key()).decode()}")


@keys_cli.command("add")
def keys_add():
    """Add a new KEK version to the instance key ring file (embedded installs). Then run `keys rotate`."""
    settings = current_app.config["SETTINGS"]
    path = key_ring_path(settings.instance_path)
    # A ring from CASEMGMT_ROOT_KEYS(_FILE) wins over the instance file, so a version added to a left-over file would
    # never be used: only add to the file the running ring was read from.
    on_file = parse_key_ring(path.read_text(), str(path)) if path.exists() else {}
    if not on_file or any(on_file.get(v) != key for v, key in settings.root_keys.items()):
        _fail("the key ring is not in the instance folder; add a version to CASEMGMT_ROOT_KEYS instead")
    version = append_root_key(settings.instance_path)
    click.echo(f"key version {version} added to {key_ring_path(settings.instance_path)}; run `casemgmt keys rotate`")


@keys_cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the same report as JSON.")
def keys_status(as_json):
    """What each key version still protects, and which versions may be removed from the ring (docs/operations.md,
    "Key rotation and retiring key versions"). Exits 1 when the ring lacks a version the data needs."""
    import json

    from casemgmt.crypto.usage import MISSING, REMOVABLE, key_versions_usage

    usage = key_versions_usage()
    if as_json:
        click.echo(json.dumps(usage.as_dict(), indent=2))
    else:
        click.echo(f"key versions in the ring: {', '.join(map(str, usage.ring_versions))} (current {usage.current})")
        for version in usage.versions:
            if version.verdict == REMOVABLE:
                click.echo(f"version {version.version}: removable (nothing is wrapped or sealed under it and nothing "
                           "derives from it)")
                continue
            label = "MISSING from the ring, still needed" if version.verdict == MISSING else "keep"
            click.echo(f"version {version.version}: {label}")
            for reason in version.reasons:
                click.echo(f"  - {reason}")
        if usage.waiting_for_rotation:
            click.echo(f"{usage.waiting_for_rotation} keys or secrets under older versions: run `casemgmt keys rotate`")
    for problem in usage.problems:
        click.echo(f"error: {problem}", err=True)
    if usage.problems:
        sys.exit(1)


@keys_cli.command("rotate")
@click.option("--batch-size", default=500, show_default=True)
def keys_rotate(batch_size):
    """Re-wrap every data key under the current KEK. Safe to interrupt; run again to resume."""
    from casemgmt.crypto.keyring import keyring

    version = keyring().current_version
    # Two-factor secrets and the own keys of contacts not yet on a case are few: re-seal them in one transaction
    # before the data keys.
    from casemgmt.intake.sealing import rewrap_own_keys

    resealed = totp.reseal_secrets()
    # In committed batches, like the data keys: one batch per call, so a 5,000-case installation (about 2,000
    # contacts without a case) is not left half-rotated after one run.
    rewrapped_contacts = 0
    while batch := rewrap_own_keys(batch_size):
        rewrapped_contacts += batch
        db.session.commit()
    if rewrapped_contacts:
        record_event("keys.rewrap_contacts", actor=SYSTEM, details={"rewrapped": rewrapped_contacts,
                                                                    "to_version": version})
    if resealed:
        record_event("keys.reseal_2fa", actor=SYSTEM, details={"resealed": resealed, "to_version": version})
    db.session.commit()
    total = rotation.pending_count()
    if total == 0:
        click.echo(f"every data key is already under key version {version} ({resealed} two-factor secrets re-sealed)")
        return
    record_event("keys.rotate.start", actor=SYSTEM, details={"pending": total, "to_version": version})
    db.session.commit()
    with click.progressbar(length=total, label=f"re-wrapping data keys under version {version}") as bar:
        try:
            done = rotation.rotate(batch_size=batch_size, on_batch=bar.update)
        except KeyError as exc:  # a data key under a version that was taken out of the ring too early
            db.session.rollback()
            _fail(f"{exc.args[0]}: put it back (see `casemgmt keys status`) and run the rotation again")
    record_event("keys.rotate.finish", actor=SYSTEM, details={"rewrapped": done, "to_version": version})
    db.session.commit()
    # Not "retire old versions now": the search indexes are keyed from the version they were built under until
    # `casemgmt indexes rebuild`, and the oldest one keys the audit chain; `keys status` shows what uses each version.
    click.echo(
        f"re-wrapped {done} data keys and re-sealed {resealed} two-factor secrets; run `casemgmt indexes rebuild`, "
        "then check `casemgmt keys status` before retiring an old key version"
    )


@click.group("cases", help="Case maintenance.")
def cases_cli():
    pass


@cases_cli.command("erase")
@click.argument("reference")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def cases_erase(reference, yes):
    """Crypto-shred a case: its data key and blind indexes are deleted; statistics remain."""
    case = db.session.scalar(select(Case).where((Case.reference == reference) | (Case.id == reference)))
    if case is None:
        _fail(f"no case {reference!r}")
    if not yes:
        click.confirm(f"Erase case {case.reference}? Its personal data becomes unreadable for good", abort=True)
    try:
        cases.erase_case(SYSTEM, case)
    except cases.CaseError as exc:
        _fail(str(exc))
    db.session.commit()
    # Files go only after the erasure is committed: a failed commit must not leave a live case without its files.
    # Crypto-shredding has already made them unreadable; deleting them frees the space.
    from casemgmt.documents.storage import erase_case_files

    files = erase_case_files(case.id)
    click.echo(f"case {case.reference} erased ({files} document files deleted)")


@click.group("audit", help="The audit trail.")
def audit_cli():
    pass


@audit_cli.command("verify")
@click.option("--checkpoints", "extra", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Another file of checkpoints, e.g. `journalctl -t casemgmt-audit` output. May be repeated.")
def audit_verify(extra):
    """Check the hash chain, then the database against the checkpoints anchored outside it; exits 1 and names each
    edited, inserted or deleted event, and events missing since the latest checkpoint."""
    configured = anchoring.anchor().file
    sources = [*([configured] if configured else []), *extra]
    checked, problems = verify_chain()
    report = verify_anchor(sources)
    problems += report.problems
    for problem in problems:
        click.echo(f"{problem.kind.upper()}: {problem.message}", err=True)
    if report.restart is not None:
        click.echo(f"note: checkpoints before the restart of {report.restart.at:%Y-%m-%d %H:%M:%S} UTC were set "
                   "aside", err=True)
    if problems:
        click.echo(f"audit chain BROKEN: {len(problems)} problem(s) in {checked} events", err=True)
        sys.exit(1)
    if report.latest is None:
        click.echo("warning: no checkpoint found, so a cut-off end of the chain could not be noticed "
                   "(see CASEMGMT_AUDIT_CHECKPOINT_FILE and `casemgmt audit checkpoint`)", err=True)
        click.echo(f"audit chain intact: {checked} events verified")
        return
    click.echo(f"audit chain intact: {checked} events verified, anchored by {report.checkpoints} checkpoint(s) up to "
               f"event {report.latest.seq} ({report.latest.at:%Y-%m-%d %H:%M:%S} UTC)")


@audit_cli.command("checkpoint")
@click.option("--restart", is_flag=True,
              help="The database was deliberately replaced (a restored backup, a rebuilt demo): set the earlier "
                   "checkpoints aside. Recorded in the audit trail.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation of --restart.")
def audit_checkpoint(restart, yes):
    """Write a signed checkpoint of the chain's head to the configured sinks (run it from a timer, too, so the
    events of a quiet period are anchored without waiting for the next request)."""
    if not anchoring.anchor().enabled:
        _fail("no checkpoint sink is configured: set CASEMGMT_AUDIT_CHECKPOINT_FILE or _SYSLOG")
    if restart:
        if not yes:
            click.confirm("Set every earlier checkpoint aside? Only do this after replacing the database on purpose",
                          abort=True)
        checkpoint, written = anchoring.restart_on_new_database(SYSTEM)
    elif anchoring.already_anchored():
        click.echo("the head of the chain is already anchored")
        return
    else:
        checkpoint, written = anchoring.anchor_head(CHECKPOINT)
    if checkpoint is None:
        click.echo("the audit trail is empty: nothing to anchor")
        return
    if not written:
        _fail("no sink took the checkpoint (see the errors above)")
    sinks = ", ".join(anchoring.anchor().sinks())
    click.echo(f"{checkpoint.kind} of event {checkpoint.seq} written to {sinks}")


def register(app: Flask) -> None:
    from casemgmt.backup.cli import backup_cli, restore_command
    from casemgmt.demo import demo_command
    from casemgmt.matching.cli import indexes_cli
    from casemgmt.notifications.cli import notifications_cli
    from casemgmt.synth import synth_command

    for group in (orgs_cli, users_cli, keys_cli, cases_cli, audit_cli, demo_command, synth_command,
                  notifications_cli, indexes_cli):
        app.cli.add_command(group)
    for command in (backup_cli, restore_command):  # casemgmt/backup: backup, keygen, verify, restore
        app.cli.add_command(command)
    # Flask-Migrate's `db` group, whose downgrade refuses to delete data without --allow-data-loss.
    from casemgmt.migrating import db_group

    app.cli.add_command(db_group())
