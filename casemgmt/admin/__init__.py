"""Administration pages: organisations, users and key status. Administrators never see case contents here."""
