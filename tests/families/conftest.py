from tests.families.support import scene  # noqa: F401  (fixture)
