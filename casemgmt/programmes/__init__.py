"""Projects and grants: donors, budgets by line, the cases enrolled and the work attributed to them (issue 14)."""
