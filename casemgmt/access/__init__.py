"""Who may do what, on which records. See policies.py; guard.py enforces deny-by-default on every route; grants.py
holds the access other organisations are given to a case."""

from casemgmt.access import grants
from casemgmt.access.policies import Action, allowed, authorize

__all__ = ["Action", "allowed", "authorize", "grants"]
