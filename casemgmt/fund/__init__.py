"""The emergency assistance fund: requests, approvals by delegation, disbursements and refunds (issue 14)."""
