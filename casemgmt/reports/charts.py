"""Charts: pygal draws SVG on the server; the page shows it as an <img> with a data: URL.

Why this shape: an inline <svg> would carry pygal's <style> element, which the Content-Security-Policy (no inline
styles) blocks; an image is inert (no script runs inside an <img>), needs no second request that recomputes the
figures, and `img-src data:` is already allowed for the QR code. Every chart travels with the numbers it draws
(`ChartSpec.rows`), which the page prints as a table for screen readers and for copying.
"""

from __future__ import annotations

import base64
import functools
import math
from dataclasses import dataclass, field

import pygal
from pygal.style import Style

# Bootstrap 5's palette, so charts look like the rest of the pages; colour-blind safe order for the first four.
PALETTE = ("#0d6efd", "#fd7e14", "#198754", "#6f42c1", "#dc3545", "#20c997", "#6c757d", "#ffc107")

_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#212529",
    foreground_strong="#212529",
    foreground_subtle="#6c757d",
    colors=PALETTE,
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=12,
    title_font_size=15,
    value_font_size=11,
)


@dataclass
class ChartRow:
    label: str
    values: list[float | int | None]
    # Where the row's cases are listed (a figure link), if anywhere.
    href: str | None = None
    # What the data table prints instead of the values (a hidden number's reason); such a row is not drawn.
    display: list[str] | None = None


@dataclass
class ChartSpec:
    """A chart and its data table: one label per row, one value per series."""

    title: str
    series: list[str]
    rows: list[ChartRow]
    kind: str = "bar"  # bar | hbar | line | stacked
    value_suffix: str = ""
    caption: str | None = None
    id: str = ""
    extra: dict = field(default_factory=dict)
    # Said under the chart when some rows are hidden (the shared donor report): what is not drawn, and why.
    hidden_note: str | None = None

    @property
    def empty(self) -> bool:
        return not self.rows or all(v in (None, 0) for row in self.rows for v in row.values)

    @property
    def drawn_rows(self) -> list[ChartRow]:
        """The rows the picture draws: a hidden number is not a zero, so its row is left out, not drawn empty."""
        return [row for row in self.rows if row.display is None]


_KINDS = {
    "bar": pygal.Bar,
    "hbar": pygal.HorizontalBar,
    "line": pygal.Line,
    "stacked": pygal.StackedBar,
}


def _short(label: str, limit: int = 32) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def render_svg(spec: ChartSpec, width: int = 640, height: int = 320) -> str:
    chart = _KINDS[spec.kind](
        width=width,
        height=height,
        style=_STYLE,
        # No JavaScript: the image is static, and the data table under it gives the exact numbers.
        js=[],
        show_legend=len(spec.series) > 1,
        legend_at_bottom=True,
        print_values=len(spec.rows) <= 12,
        print_zeroes=False,
        show_y_guides=True,
        # Long or many labels would overlap under vertical bars.
        x_label_rotation=30 if spec.kind != "hbar" and (
            len(spec.rows) > 8 or max((len(r.label) for r in spec.rows), default=0) > 12) else 0,
        truncate_label=28,
        # pygal's own choice fits the legend to the space left by long bar labels: "C…" and "D…" for "Cases" and
        # "Determinations" in Spanish. The legend's few words are always shown whole.
        truncate_legend=40,
        margin=16,
        no_data_text="",
        formatter=lambda v: "" if v is None else f"{v:g}{spec.value_suffix}",
        # A fixed scale where the values have one (scores 1-5), so two filters' charts compare at a glance.
        **({"range": spec.extra["range"]} if "range" in spec.extra else {}),
    )
    counts = [v for row in spec.rows for v in row.values if v is not None]
    if counts and "range" not in spec.extra and all(isinstance(v, int) for v in counts):
        # Whole numbers of people: no axis steps of 0.2 of a person.
        step = max(1, math.ceil(max(counts) / 8))
        chart.y_labels = list(range(0, max(counts) + step, step))
    # pygal draws horizontal bars bottom-up; reverse them so the chart reads in the table's order.
    rows = list(reversed(spec.rows)) if spec.kind == "hbar" else spec.rows
    # A horizontal bar's label sits beside it, where pygal does not shorten it: a 70-character recommendation squeezed
    # the bars into a sliver. The full label is in the table under the chart.
    chart.x_labels = [_short(row.label) if spec.kind == "hbar" else row.label for row in rows]
    for index, name in enumerate(spec.series):
        chart.add(name, [row.values[index] for row in rows])
    return chart.render(is_unicode=True)


def data_url(spec: ChartSpec) -> str:
    return _drawn(_Drawing.of(spec))


@dataclass(frozen=True)
class _Drawing:
    """What a picture depends on (not the title or caption, which the page prints), hashable: charts are drawn once
    per distinct picture. pygal takes 3-26 ms a chart (about 50 ms for the dashboard's seven at 100,000 cases), and
    a supervisor reloading the dashboard, or colleagues opening the same one, get the same pictures again."""

    kind: str
    series: tuple[str, ...]
    rows: tuple[tuple[str, tuple], ...]
    value_suffix: str
    extra: tuple

    @classmethod
    def of(cls, spec: ChartSpec) -> _Drawing:
        return cls(spec.kind, tuple(str(s) for s in spec.series),
                   tuple((str(row.label), tuple(row.values)) for row in spec.drawn_rows), spec.value_suffix,
                   tuple(sorted(spec.extra.items())))

    def spec(self) -> ChartSpec:
        return ChartSpec("", list(self.series), [ChartRow(label, list(values)) for label, values in self.rows],
                         kind=self.kind, value_suffix=self.value_suffix, extra=dict(self.extra))


# Bounded: a picture is 15-160 KB of base64, so at most a few MB per worker.
@functools.lru_cache(maxsize=48)
def _drawn(drawing: _Drawing) -> str:
    svg = render_svg(drawing.spec())
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
