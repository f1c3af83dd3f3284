"""Who may do what, on which records. See policies.py; guard.py enforces deny-by-default on every route."""

from casemgmt.access.policies import Action, allowed, authorize

__all__ = ["Action", "allowed", "authorize"]
