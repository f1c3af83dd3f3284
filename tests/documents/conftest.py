from tests.referrals.conftest import w  # noqa: F401  (the same detached world fixture)
