from tests.migrations.logging_guard import keep_logging_config  # noqa: F401  (autouse fixture)
