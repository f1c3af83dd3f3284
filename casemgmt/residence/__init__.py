"""Victims who stay in the destination country: protection status and family reunification (issue 15)."""
