"""The database's side of the data invariants (docs/invariants.md).

Operations keep their read-then-write checks, which give the friendly message in the usual case. Two requests at
the same instant both pass such a check, so the database decides who wins:

- insert_or_refuse(): a named unique index refuses the second row; the loser gets the operation's own refusal.
- transition(): one conditional UPDATE (... WHERE status = 'requested'), so a step cannot be applied twice.
- lock_row(): a row lock that queues the requests which count something before they write (beds in a facility).

A refused request rolls back its whole transaction: nothing half-written, and no audit event of a change that did
not happen (record_event writes into the same transaction).
"""

from __future__ import annotations

from sqlalchemy import inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from casemgmt.extensions import db


def _index(name: str):
    for table in db.metadata.tables.values():
        for index in table.indexes:
            if index.name == name:
                return index
        for constraint in table.constraints:
            if constraint.name == name:
                return constraint
    raise LookupError(f"no index or constraint named {name!r} in the models")


def violates(exc: IntegrityError, name: str) -> bool:
    """Whether `exc` is the named unique index (or constraint) refusing a row, and not some other integrity error.

    PostgreSQL names the index; SQLite names only its columns ("UNIQUE constraint failed: t.a, t.b")."""
    orig = exc.orig
    diag = getattr(orig, "diag", None)
    if diag is not None:
        return getattr(diag, "constraint_name", None) == name
    index = _index(name)
    columns = ", ".join(f"{index.table.name}.{column.name}" for column in index.columns)
    return str(orig) == f"UNIQUE constraint failed: {columns}"


def insert_or_refuse(obj, index: str, refusal: Exception) -> None:
    """Add `obj` and write it now, before the operation records its audit event. When the unique index `index`
    refuses it (another request has just made the same thing), roll the transaction back and raise `refusal`."""
    db.session.add(obj)
    flush_or_refuse(index, refusal)


def flush_or_refuse(index: str, refusal: Exception) -> None:
    """Flush pending changes; a refusal by the unique index `index` rolls the transaction back and raises
    `refusal`. Any other integrity error is a bug and propagates."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        if violates(exc, index):
            raise refusal from None
        raise


def transition(obj, *conditions, **values) -> bool:
    """UPDATE obj's row SET `values` WHERE it is still in the state the caller saw (`conditions`).

    One statement: of two requests that both read the old state, the second waits for the first (a row lock on
    PostgreSQL, the write lock on SQLite) and then matches no row. Returns whether this request applied the change;
    on success `obj` shows the new values.

    A model with a version counter (core/versions.py) gets a newer version from the same statement: a step (a
    discharge, an approval) is a change that an edit form opened before it must not write over unseen."""
    model = type(obj)
    mapper = inspect(model)
    (key,) = mapper.primary_key
    statement = update(model).where(key == getattr(obj, key.key), *conditions).values(**values)
    version = mapper.version_id_col
    if version is None:
        result = db.session.execute(statement.execution_options(synchronize_session=False))
        if result.rowcount != 1:
            return False
    else:
        version_key = mapper.get_property_by_column(version).key
        found = db.session.execute(
            statement.values({version: version + 1}).returning(version)
            .execution_options(synchronize_session=False)
        ).all()
        if len(found) != 1:
            return False
        set_committed_value(obj, version_key, found[0][0])
    for name, value in values.items():
        set_committed_value(obj, name, value)
    return True


def lock_row(model, row_id, touch) -> None:
    """Hold the row until commit, so requests that count before they write (a facility's free beds) queue here.

    PostgreSQL: SELECT ... FOR UPDATE. SQLite ignores FOR UPDATE, and its driver opens the transaction only at the
    first write, so reads before it see no lock at all: a no-op UPDATE of `touch` (a plain column of the row) takes
    the database's write lock first, and the reads that follow see every earlier writer's commit."""
    (key,) = inspect(model).primary_key
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            update(model).where(key == row_id).values({touch.key: touch})
            .execution_options(synchronize_session=False)
        )
    else:
        db.session.execute(select(key).where(key == row_id).with_for_update())
