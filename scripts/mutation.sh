#!/usr/bin/env bash
# Mutation testing of the security core with mutmut 3: does the suite notice a tired developer's one-line slip?
#
# Usage (from anywhere; paths are resolved against the repository root):
#     pip install 'mutmut==3.8.1'          # not in the test extra: only this script needs it
#     scripts/mutation.sh                   # every module below
#     scripts/mutation.sh casemgmt/access/guard.py casemgmt/crypto/aead.py   # only these
#     MUTATION_TIME_LIMIT=3600 scripts/mutation.sh     # stop after an hour; the mutants done so far keep their result
#     MUTATION_SOURCE=head scripts/mutation.sh          # mutate the last commit instead of the working tree
#     MUTANTS="casemgmt.crypto.keyring.x__hkdf* casemgmt.audit.verify.*" scripts/mutation.sh casemgmt/crypto/keyring.py \
#         casemgmt/audit/verify.py                      # only these mutants (mutmut's names, shell patterns)
#     MUTATION_TESTS="tests/crypto tests/audit" scripts/mutation.sh   # another test selection (default: see below)
#
# What it does:
#   1. Copies casemgmt/, tests/, migrations/ and pyproject.toml (of the working tree, or of HEAD) into $MUTATION_WORKDIR (default: a folder under /tmp), so the
#      run never touches the working tree and mutmut's mutants/ folder lives outside the repository (mutants/ is in
#      .gitignore all the same, for anyone who runs mutmut at the root).
#   2. Appends a [tool.mutmut] section to the copy's pyproject.toml: the modules to mutate and a fast test selection
#      on SQLite only (the security tests of access, crypto, audit, auth, security and reports).
#   3. Runs `mutmut run --max-children 1` at the lowest priority (nice 19), bounded by MUTATION_TIME_LIMIT seconds.
#   4. Prints killed / survived / timeout / not checked per module (from mutmut's own results) and lists the survivors;
#      `cd $MUTATION_WORKDIR && mutmut show <name>` shows a survivor's diff.
#
# mutmut 3 mutates function bodies only: module-level constants (e.g. guard.PUBLIC_ENDPOINTS) and decorated
# functions are not mutated; tests/security/test_mutation_guards.py pins those by hand.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${MUTATION_WORKDIR:-${TMPDIR:-/tmp}/casemgmt-mutation}"
LIMIT="${MUTATION_TIME_LIMIT:-0}"

MODULES=("$@")
if [ ${#MODULES[@]} -eq 0 ]; then
  MODULES=(
    casemgmt/access/policies.py
    casemgmt/access/guard.py
    casemgmt/crypto/aead.py
    casemgmt/crypto/fields.py
    casemgmt/crypto/keyring.py
    casemgmt/audit/events.py
    casemgmt/audit/verify.py
    casemgmt/auth/login.py
    casemgmt/auth/sessions.py
    casemgmt/reports/disclosure.py
  )
fi

rm -rf "$WORK"
mkdir -p "$WORK"
if [ "${MUTATION_SOURCE:-worktree}" = "head" ]; then
  # The last commit, not the working tree: a stable snapshot while others edit the tree.
  git -C "$ROOT" archive HEAD casemgmt tests migrations pyproject.toml | tar -x -C "$WORK"
else
  cp -r "$ROOT/casemgmt" "$ROOT/tests" "$ROOT/migrations" "$ROOT/pyproject.toml" "$WORK/"
fi
find "$WORK" -name __pycache__ -prune -exec rm -rf {} +

{
  echo
  echo "[tool.mutmut]"
  echo 'source_paths = ["casemgmt"]'
  echo 'also_copy = ["migrations"]'
  printf 'only_mutate = ['
  printf '"%s", ' "${MODULES[@]}"
  echo ']'
  # The one test that starts the installed `casemgmt` command in a subprocess would run the unmutated working tree.
  echo 'pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "no:xdist", "--deselect", "tests/crypto/test_rotation.py::test_killed_rotate_command_leaves_a_readable_mix_and_a_rerun_finishes"]'
  printf 'pytest_add_cli_args_test_selection = ['
  printf '"%s", ' ${MUTATION_TESTS:-tests/access tests/crypto tests/audit tests/auth tests/security tests/reports}
  echo ']'
  echo 'use_git_change_detection = false'
} >>"$WORK/pyproject.toml"

cd "$WORK"
# The project's virtual environment, when there is one, has mutmut and the test dependencies.
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f "$ROOT/.venv/bin/activate" ]; then
  # shellcheck disable=SC1091
  . "$ROOT/.venv/bin/activate"
fi
export CASEMGMT_TEST_BACKENDS=sqlite
# shellcheck disable=SC2086 # MUTANTS is a list of patterns, split on purpose
if [ "$LIMIT" -gt 0 ]; then
  nice -n 19 timeout --signal=INT "$LIMIT" mutmut run --max-children 1 ${MUTANTS:-} || true
else
  nice -n 19 mutmut run --max-children 1 ${MUTANTS:-} || true
fi

# mutmut results prints "<module>.<mutant>: <status>" per mutant; count them per module.
mutmut results --all true >"$WORK/results.txt" 2>/dev/null || true
python - "$WORK/results.txt" <<'EOF'
import collections
import sys

counts = collections.defaultdict(collections.Counter)
survivors = []
for line in open(sys.argv[1], encoding="utf-8"):
    if ":" not in line:
        continue
    name, status = (part.strip() for part in line.rsplit(":", 1))
    module = name.split(".x_")[0] if ".x_" in name else name.rsplit(".", 1)[0]
    counts[module][status] += 1
    if status == "survived":
        survivors.append(name)
statuses = ["killed", "survived", "timeout", "suspicious", "no tests", "not checked", "skipped", "segfault"]
print(f"{'module':<34}" + "".join(f"{s:>12}" for s in statuses) + f"{'score':>8}")
total = collections.Counter()
for module in sorted(counts):
    c = counts[module]
    total.update(c)
    done = c["killed"] + c["survived"] + c["timeout"] + c["no tests"]
    score = f"{100 * (c['killed'] + c['timeout']) / done:.0f}%" if done else "-"
    print(f"{module:<34}" + "".join(f"{c[s]:>12}" for s in statuses) + f"{score:>8}")
done = total["killed"] + total["survived"] + total["timeout"] + total["no tests"]
score = f"{100 * (total['killed'] + total['timeout']) / done:.0f}%" if done else "-"
print(f"{'total':<34}" + "".join(f"{total[s]:>12}" for s in statuses) + f"{score:>8}")
print("\nsurvivors:")
for name in survivors:
    print("  " + name)
EOF
