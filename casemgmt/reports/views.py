"""Registers the report pages on one blueprint (imported by the application factory)."""

from casemgmt.reports import dashboard_views, donor_views, export_views  # noqa: F401  (routes register on import)
from casemgmt.reports.blueprint import bp

__all__ = ["bp"]
