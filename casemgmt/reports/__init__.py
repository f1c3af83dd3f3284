"""Supervisor reports, dashboards and safe data sharing."""
