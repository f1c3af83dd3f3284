"""Long labels on horizontal bar charts are shortened beside the bars (the table under the chart has them whole), and
the legend's series names are never cut to a letter (the Spanish dashboard showed "C…" and "D…")."""

from __future__ import annotations

from casemgmt.reports.charts import ChartRow, ChartSpec, render_svg

LONG = "No retornar: no responde al interés superior del niño, niña o adolescente"


def test_a_long_bar_label_is_shortened_and_the_legend_kept_whole():
    spec = ChartSpec("Determinaciones", ["Casos", "Determinaciones"],
                     [ChartRow(LONG, [1, 1]), ChartRow("Retorno con la familia", [3, 3])], kind="hbar")
    svg = render_svg(spec)
    assert LONG not in svg
    assert "No retornar: no responde al int…" in svg
    assert "Retorno con la familia" in svg
    assert ">Determinaciones<" in svg and ">Casos<" in svg
