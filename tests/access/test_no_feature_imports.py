"""The access layer imports no feature (issue 12, item 4): features give, suspend and revoke grants through
casemgmt/access/grants.py, and the policies read grants only. Every file of casemgmt/access/ is parsed, and any import
of casemgmt other than the ground floor it stands on fails, wherever it sits (top level or inside a function)."""

from __future__ import annotations

import ast
from pathlib import Path

ACCESS = Path(__file__).resolve().parents[2] / "casemgmt" / "access"

# What the access layer may stand on: the database and core helpers, the audit trail (denials, grant events), the
# case record it protects, and its own modules.
ALLOWED = ("casemgmt.extensions", "casemgmt.core", "casemgmt.audit", "casemgmt.cases.models", "casemgmt.access")


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every casemgmt import; `from casemgmt import x` counts as casemgmt.x."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "casemgmt":
                found += [(node.lineno, f"casemgmt.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            # A relative import from inside casemgmt/access/ ("from . import x", "from ..cases import y").
            base = "casemgmt.access" if node.level == 1 else "casemgmt"
            found.append((node.lineno, f"{base}.{node.module}" if node.module else base))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            found.append((node.lineno, str(node.args[0].value)))
    return [(line, name) for line, name in found if name == "casemgmt" or name.startswith("casemgmt.")]


def _allowed(module: str) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in ALLOWED)


def feature_imports(source: str) -> list[str]:
    return [f"line {line}: {name}" for line, name in _imports(ast.parse(source)) if not _allowed(name)]


def test_no_file_of_the_access_layer_imports_a_feature():
    files = sorted(ACCESS.glob("*.py"))
    assert {p.name for p in files} >= {"policies.py", "grants.py", "scope.py", "guard.py", "roles.py"}
    found = {p.name: feature_imports(p.read_text(encoding="utf-8")) for p in files}
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_the_check_sees_every_way_of_importing_a_feature():
    """Guards the test above against passing vacuously."""
    for source in (
        "from casemgmt.referrals.models import Referral",
        "def f():\n    from casemgmt.referrals.models import Referral\n",
        "import casemgmt.returns.models",
        "from casemgmt import consent",
        "from casemgmt.cases import operations",
        "from ..shelter import models",
        "import importlib\nimportlib.import_module('casemgmt.referrals.models')",
    ):
        assert feature_imports(source), source
    for source in (
        "from casemgmt.extensions import db",
        "from casemgmt.cases.models import Case",
        "from casemgmt.audit.denials import record_denial",
        "from casemgmt.access import scope",
        "from . import roles",
        "from flask import g",
    ):
        assert feature_imports(source) == [], source
