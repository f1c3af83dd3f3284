"""Organisations and the users who belong to them."""
