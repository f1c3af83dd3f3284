from tests.families.support import scene  # noqa: F401  (fixture)
from tests.returns.support import w  # noqa: F401  (fixture)
