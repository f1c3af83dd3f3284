"""Family members, family tracing and the family assessment visit (issue 15)."""
