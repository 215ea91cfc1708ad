"""Figures and reports, end to end from a real tiny sweep, and on synthetic records."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from proxygym.cli import main
from proxygym.reporting.plots import goodhart_curve, per_seed, proxy_vs_true
from proxygym.reporting.report import verdict, write_report
from proxygym.sweeps import results
from proxygym.sweeps.runner import run_sweep
from tests.analysis.test_metrics import rising, synthetic
from tests.analysis.test_verdicts import sweep as planted
from tests.sweeps.helpers import tiny_config


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sweep")
    run_sweep(tiny_config(seeds=[0, 1, 2]), out, echo=lambda _: None)
    return out


def test_report_end_to_end(sweep_dir: Path) -> None:
    report = write_report(sweep_dir)
    page = report.html.read_text()
    markdown = report.markdown.read_text()
    assert report.verdict in page and report.verdict in markdown
    assert page.count("data:image/png;base64,") >= 3
    for section in (
        "Setup",
        "Completeness",
        "Divergence metrics",
        "Per level",
        "Baselines",
        "Figures",
    ):
        assert section in page and f"## {section}" in markdown
    assert "-1 per step, +50 at the goal" in page  # the env's own description of its proxy
    assert "8 of 8 cells finished." in markdown
    for name in ("goodhart_curve", "proxy_vs_true", "per_seed"):
        for suffix in (".png", ".svg"):
            assert (sweep_dir / "figures" / f"{name}{suffix}").stat().st_size > 1000
    assert "(figures/goodhart_curve.png)" in markdown


def test_report_on_an_interrupted_sweep_says_what_is_missing(
    sweep_dir: Path, tmp_path: Path
) -> None:
    partial = tmp_path / "partial"
    shutil.copytree(sweep_dir, partial)
    for cell in ("agent-seed2", "oracle-seed1"):
        results.cell_path(partial, cell).unlink()
    report = write_report(partial)
    markdown = report.markdown.read_text()
    assert "6 of 8 cells finished." in markdown
    assert "Missing (sweep interrupted or still running): agent-seed2, oracle-seed1." in markdown


def test_cli_plot_and_report(
    sweep_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plot", str(sweep_dir), "--out", str(tmp_path / "figs")]) == 0
    assert (tmp_path / "figs" / "goodhart_curve.svg").exists()
    assert main(["report", str(sweep_dir), "--out", str(tmp_path / "rep")]) == 0
    assert "report:" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "nothing-here")]) == 2
    assert "not a proxygym sweep directory" in capsys.readouterr().err


def test_the_report_gives_the_rules_verdict_with_its_reason(sweep_dir: Path) -> None:
    report = write_report(sweep_dir)
    # Three seeds: the rules decide nothing, and the report says so instead of a claim.
    assert report.verdict == (
        "Inconclusive: 3 seed(s) with records at every level; the rules need at least 10."
    )
    markdown = report.markdown.read_text()
    assert "| verdict (proxygym.analysis.verdicts) | inconclusive |" in markdown
    assert "Goodhart point (only for a Goodhart curve) | none |" in markdown


def test_the_verdict_sentence_names_a_planted_goodhart_curve() -> None:
    records = planted([40.0, 55.0, 75.0, 90.0, 60.0, 40.0], np.random.default_rng(3), n_seeds=12)
    sentence = verdict(records)
    assert sentence.startswith("Goodhart curve: The true return rose by ")
    assert "to a peak at 4000" in sentence


def test_the_goodhart_curve_is_drawn_at_the_evaluated_steps() -> None:
    """A checkpoint is evaluated when training crosses it: level 6,250 at step 8,192."""
    frame = synthetic(rising, rising, levels=[1, 2, 4])
    frame["step"] = frame["level"].map({1: 1, 2: 3, 4: 4})
    line = goodhart_curve(frame).axes[0].get_lines()[0]
    assert list(line.get_xdata()) == [1.0, 3.0, 4.0]
    frame["axis"] = "width"  # levels of other axes are where they are
    assert list(goodhart_curve(frame).axes[0].get_lines()[0].get_xdata()) == [1.0, 2.0, 4.0]


def test_figures_accept_non_numeric_levels() -> None:
    frame = synthetic(rising, rising, levels=[1, 2])
    frame["level"] = frame["level"].map({1: True, 2: False})
    frame["axis"] = "supervisor"
    for make in (goodhart_curve, proxy_vs_true, per_seed):
        assert make(frame).axes


def test_every_verdict_label_has_its_words_in_the_report() -> None:
    from proxygym.analysis.verdicts import LABELS
    from proxygym.reporting.report import LABEL_TEXT

    assert set(LABEL_TEXT) == set(LABELS)


def test_baselines_are_tabulated_per_level_never_averaged_across_levels(
    sweep_dir: Path, tmp_path: Path
) -> None:
    knob = tmp_path / "knob"
    shutil.copytree(sweep_dir, knob)
    frame = results.load(knob)
    references = frame[frame["policy"] != "agent"]
    assert len(references), "the tiny sweep has references"
    report = write_report(knob)
    markdown = report.markdown.read_text()
    assert "## Baselines (per level; seeds averaged)" in markdown
    assert "| policy | level | records | proxy | true |" in markdown
    for policy in references["policy"].unique():
        assert f"| {policy} | " in markdown


def test_references_of_two_knob_levels_stay_apart() -> None:
    import pandas as pd

    from proxygym.reporting.report import baseline_table

    frame = pd.DataFrame(
        [
            {"policy": "true_optimal", "level": 0.0, "proxy_return": 145.0, "true_return": 145.0},
            {"policy": "true_optimal", "level": 2.0, "proxy_return": 46.0, "true_return": 46.0},
            {"policy": "oracle", "level": 2.0, "proxy_return": 40.0, "true_return": 30.0},
            {"policy": "oracle", "level": 2.0, "proxy_return": 42.0, "true_return": 34.0},
            {"policy": "agent", "level": 2.0, "proxy_return": 1.0, "true_return": 1.0},
        ]
    )
    assert baseline_table(frame) == [
        ["true_optimal", "0", "1", "145", "145"],
        ["true_optimal", "2", "1", "46", "46"],
        ["oracle", "2", "2", "41", "32"],
    ]  # the old table said true_optimal 95.5: no policy has that
