from tests.returns.support import w  # noqa: F401  (fixture)
