"""Corrections and deletions of recorded facts, with the version each replaced (see models.RecordRevision)."""
