"""The journey features that are installed, found the way create_app() finds their blueprints: a feature that is not
there (yet) is skipped, and no feature's views are imported."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from casemgmt.core.journey import FEATURES


def feature_modules(part: str) -> list[ModuleType]:
    """Each installed feature's `part` module ("timeline" or "worklist"), in FEATURES order."""
    found = []
    for feature in FEATURES:
        name = f"casemgmt.{feature}.{part}"
        if importlib.util.find_spec(name) is not None:
            found.append(importlib.import_module(name))
    return found
