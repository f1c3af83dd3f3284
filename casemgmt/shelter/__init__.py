"""shelter: part of the assisted person's journey (see core/journey.py)."""
