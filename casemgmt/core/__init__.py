"""Small building blocks shared by every feature: time, pagination, request helpers."""
