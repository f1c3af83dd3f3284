"""key_versions_usage(): what each key version still protects, and when (only) a version may leave the ring.

Issue 11, finding 7: config/README.md said "remove a version once `keys status` shows nothing under it", but the old
status did not count contacts' own keys, and the oldest version derives the recovery codes and the audit chain,
which nothing in the data names (and, before issue 13, the blind indexes: now each index generation names its
version, and `casemgmt indexes rebuild` moves them to the current one). One private database per backend walks a ring
from {1} through {1,2}, {1,2,3}, rotation and an index rebuild, with apps whose rings lack a version, the way an
operator could get it wrong.
"""

from __future__ import annotations

import inspect
import json

import pyotp

from casemgmt.accounts import operations as accounts
from casemgmt.crypto.keyring import KeyRing
from casemgmt.crypto.usage import DERIVED_FROM_OLDEST, KEEP, MISSING, REMOVABLE, IndexUse, key_versions_usage
from casemgmt.extensions import db
from casemgmt.intake import operations as intake
from tests import factories
from tests.cli.support import new_root_key, private_database, request, ring, run_cli, user
from tests.conftest import Web, new_client


def _usage(application) -> dict:
    with request(application):
        usage = key_versions_usage()
        return {v.version: v for v in usage.versions} | {"problems": usage.problems}


def _contact(application, username: str) -> None:
    """A contact that stays off any case, so it keeps a key of its own."""
    with request(application):
        intake.log_contact(user(username), {"channel": "phone", "call_type": "tip",
                                            "caller_phone": "+51 912 345 678", "summary": "A tip about a workshop"})
        db.session.commit()


def test_each_version_says_what_it_protects_and_only_an_unused_intermediate_one_is_removable(backend, tmp_path):
    v1, v2, v3 = new_root_key(), new_root_key(), new_root_key()
    with private_database(backend, tmp_path, "keyuse") as database:
        first = database.app(ring(v1=v1), "v1")
        database.create_schema(first)
        with request(first):
            org = factories.organisation("Keys NGO")
            worker = factories.user(org, "caseworker", "keyworker")
            factories.user(org, "hotline_operator", "keyhotline")
            boss = factories.user(org, "supervisor", "keyboss")
            factories.user(org, "installation_admin", "keyinstall")
            factories.case(worker)
            secret = accounts.begin_totp_enrolment(boss)
            accounts.confirm_totp_enrolment(boss, pyotp.TOTP(secret).now(), factories.PASSWORD)  # + recovery codes
            db.session.commit()
        _contact(first, "keyhotline")

        # Version 2 added: only a contact's own key (a contact not on a case) is ever wrapped under it.
        _contact(database.app(ring(v1=v1, v2=v2), "v12"), "keyhotline")
        third = database.app(ring(v1=v1, v2=v2, v3=v3), "v123")
        before = _usage(third)
        assert (before[2].data_keys, before[2].contact_keys, before[2].two_factor_secrets) == (0, 1, 0)
        assert before[2].verdict == KEEP
        assert any("contact's own key is wrapped under it" in r for r in before[2].reasons)
        assert (before[1].data_keys, before[1].contact_keys, before[1].two_factor_secrets) == (1, 1, 1)
        assert before[1].derived.recovery_codes == 10
        # The matching indexes name the version their generation was built under (8 bits: EXPECTED_CASES=1000).
        assert before[1].match_indexes == [IndexUse(generation=1, state="active", bits=8, people=1)]
        assert before[3].match_indexes == []
        assert before[3].verdict == KEEP and before[3].current and before[3].wrapped == 0
        assert before["problems"] == []

        status = run_cli(third, ["keys", "status"])
        assert status.exit_code == 0, status.output
        lines = status.output.splitlines()
        assert "version 2: keep" in lines
        assert "  - 1 contact's own key is wrapped under it (a contact not yet on a case)." in lines
        assert "4 keys or secrets under older versions: run `casemgmt keys rotate`" in lines

        # Version 2 taken out too early: the contact's key needs it. Status and page say so; status exits 1.
        early = database.app(ring(v1=v1, v3=v3), "v13")
        result = run_cli(early, ["keys", "status"])
        assert result.exit_code == 1
        assert "version 2: MISSING from the ring, still needed" in result.output
        assert "error: Version 2 is missing from the key ring" in result.output
        web = Web(new_client(early))
        assert web.login("keyinstall").status_code == 302
        page = web.get("/admin/keys")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "Missing from the ring: put it back." in html
        assert "contact&#39;s own key is wrapped under it" in html

        assert run_cli(third, ["keys", "rotate"]).exit_code == 0
        rotated = _usage(third)
        # Rotation does not move the indexes: version 1 still keys them, and says until when.
        assert [r.split(" (")[0] for r in rotated[1].reasons] == [
            "The matching indexes of search and the duplicate check are keyed from it", "It is the oldest version: "
            "the two-factor recovery codes, the audit chain, the audit checkpoint signatures and the erasure journal "
            "derive from it, and neither rotation nor an index rebuild moves them"]
        assert "needed until `casemgmt indexes rebuild` has rebuilt them" in rotated[1].reasons[0]
        rebuilt = run_cli(third, ["indexes", "rebuild"])
        assert rebuilt.exit_code == 0, rebuilt.output
        after = _usage(third)
        # Everything wrapped moved to version 3, and the indexes too; the oldest still derives, the intermediate
        # one protects nothing.
        assert after[3].match_indexes == [IndexUse(generation=2, state="active", bits=8, people=1)]
        assert after[1].wrapped == 0 and after[1].verdict == KEEP and after[1].match_indexes == []
        assert after[1].reasons == [after[1].reasons[0]] and "It is the oldest version" in after[1].reasons[0]
        assert after[1].derived.matches_data is True
        assert after[2].wrapped == 0 and after[2].verdict == REMOVABLE and after[2].reasons == []
        assert after[3].wrapped == 4 and after[3].verdict == KEEP
        report = json.loads(run_cli(third, ["keys", "status", "--json"]).output)
        assert [(v["version"], v["verdict"]) for v in report["versions"]] == [(1, KEEP), (2, REMOVABLE), (3, KEEP)]

        # Removing the removable one is harmless: status is clean and the audit chain verifies.
        trimmed = database.app(ring(v1=v1, v3=v3), "v13b")
        assert run_cli(trimmed, ["keys", "status"]).exit_code == 0
        assert run_cli(trimmed, ["audit", "verify"]).exit_code == 0

        # Removing the oldest, although nothing is wrapped under it any more: everything derived from it breaks,
        # and status notices (the data does not name it, so it cannot be listed as a missing version).
        wrong = database.app(ring(v2=v2, v3=v3), "v23")
        assert run_cli(wrong, ["audit", "verify"]).exit_code == 1
        result = run_cli(wrong, ["keys", "status"])
        assert result.exit_code == 1
        assert "does not match the keys derived from version 2, the oldest in the ring" in result.output
        assert [v.verdict for v in _usage(wrong).values() if not isinstance(v, list)] == [KEEP, KEEP]
        assert MISSING not in result.output


def test_every_key_derived_from_the_oldest_version_is_accounted_for():
    """A new derivation from the oldest version (as the erasure journal's key was) must be named by the report and
    the procedure, or the report would call the oldest version's reasons complete when they are not."""
    methods = {name: inspect.unwrap(member) for name, member in vars(KeyRing).items() if callable(member)}
    derived = {
        name for name, method in methods.items()
        if inspect.isfunction(method) and "self._index_root" in inspect.getsource(method) and name != "__init__"
    }
    assert derived == set(DERIVED_FROM_OLDEST)
