"""Timing samples, percentiles, and the SQL an engine runs while a request is being timed."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.engine import Engine


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile: with 50 samples, p95 is the 48th smallest, an observed value, never interpolated."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    return {
        "n": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1000, 2),
        "p95_ms": round(percentile(seconds, 95) * 1000, 2),
    }


@dataclass
class Statement:
    sql: str
    parameters: object
    executemany: bool

    @property
    def is_read(self) -> bool:
        return self.sql.lstrip().upper().startswith(("SELECT", "WITH")) and not self.executemany


@dataclass
class SqlProbe:
    """Records every statement sent to the database (the before_cursor_execute event) while it is open."""

    engine: Engine
    statements: list[Statement] = field(default_factory=list)

    def _seen(self, _conn, _cursor, statement, parameters, _context, executemany) -> None:
        self.statements.append(Statement(statement, parameters, executemany))

    def __enter__(self) -> SqlProbe:
        self.statements = []
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    @property
    def count(self) -> int:
        return len(self.statements)

    @property
    def reads(self) -> list[Statement]:
        return [s for s in self.statements if s.is_read]


def timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result
