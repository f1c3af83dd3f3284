"""Login, sessions, two-factor login and passphrases."""
