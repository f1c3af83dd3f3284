from tests.bestinterests.support import w  # noqa: F401  (fixture)
