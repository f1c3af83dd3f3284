"""All timestamps are naive UTC in the database: SQLite keeps no time zone, and one convention avoids mixing."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
