"""The case record: the person (encrypted), the trafficking profile (HTCDS codes), stage and history."""
