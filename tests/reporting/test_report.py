"""Figures and reports, end to end from a real tiny sweep, and on synthetic records."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from proxygym.analysis.metrics import aggregate, goodhart_metrics
from proxygym.cli import main
from proxygym.reporting.plots import goodhart_curve, per_seed, proxy_vs_true
from proxygym.reporting.report import verdict, write_report
from proxygym.sweeps import results
from proxygym.sweeps.runner import run_sweep
from tests.analysis.test_metrics import peaked, rising, synthetic
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


def test_verdict_names_the_peak_and_the_drop() -> None:
    frame = synthetic(rising, peaked)
    sentence = verdict(goodhart_metrics(frame), aggregate(frame), oracle_true=None)
    assert sentence.startswith("Goodhart's law: the true return peaked at 10 at 8 training steps")
    assert "fell to 2 at 64 training steps" in sentence and "the proxy went from" in sentence


def test_verdict_without_a_drop_compares_with_the_oracle() -> None:
    frame = synthetic(rising, rising)
    sentence = verdict(goodhart_metrics(frame), aggregate(frame), oracle_true=10.0)
    assert sentence.startswith("Proxy gaming: the proxy went from 0 to 6")
    assert "only went from 0 to 6, 4 below the 10 of an oracle" in sentence
    close = verdict(goodhart_metrics(frame), aggregate(frame), oracle_true=6.2)
    assert close.startswith("No sign of gaming: the true return went from 0 to 6")


def test_figures_accept_non_numeric_levels() -> None:
    frame = synthetic(rising, rising, levels=[1, 2])
    frame["level"] = frame["level"].map({1: True, 2: False})
    frame["axis"] = "supervisor"
    for make in (goodhart_curve, proxy_vs_true, per_seed):
        assert make(frame).axes


def test_verdict_calls_gaming_at_every_level_gaming_even_when_the_axis_changes_nothing() -> None:
    def flat_proxy(level: float) -> float:
        return 59.0

    def flat_true(level: float) -> float:
        return -9.1

    frame = synthetic(flat_proxy, flat_true)
    sentence = verdict(goodhart_metrics(frame), aggregate(frame), oracle_true=-3.0)
    assert sentence.startswith("Proxy gaming at every level: the true return stayed between -9.1")
    assert "at least 6.1 below the -3 of an oracle" in sentence
    assert verdict(goodhart_metrics(frame), aggregate(frame), oracle_true=-9.0).startswith(
        "No sign of gaming"
    )
