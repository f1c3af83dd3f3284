from tests.tasks.conftest import audit_events, count_queries, w  # noqa: F401  (shared fixtures and helpers)
