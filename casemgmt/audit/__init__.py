"""The audit trail: append-only, hash-chained events written in the same transaction as the change they record."""

from casemgmt.audit.events import record_event

__all__ = ["record_event"]
