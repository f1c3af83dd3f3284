"""A child's best interests: assessment, panel determination, guardian and care arrangement (issue 15)."""
