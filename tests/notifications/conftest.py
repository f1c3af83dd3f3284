from tests.notifications.support import w  # noqa: F401  (fixture)
