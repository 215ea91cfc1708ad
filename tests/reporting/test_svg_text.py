"""SVG figures keep their text as text (``svg.fonttype`` none), so labels stay searchable."""

from __future__ import annotations

from pathlib import Path

from proxygym.reporting.plots import goodhart_curve, save_figure
from tests.analysis.test_metrics import peaked, rising, synthetic


def test_saved_svg_holds_the_axis_label_as_a_text_element(tmp_path: Path) -> None:
    fig = goodhart_curve(synthetic(rising, peaked))
    label = fig.axes[0].get_ylabel()
    assert label
    png, svg = save_figure(fig, tmp_path / "curve")
    text = svg.read_text(encoding="utf-8")
    assert "<text" in text
    assert label in text  # not glyph outlines: the label is written out
    assert png.stat().st_size > 0
