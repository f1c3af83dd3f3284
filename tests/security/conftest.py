# Every request runs in its own app context, even while the test holds one (see IsolatedClient).
from tests.auth.support import isolated_client  # noqa: F401
