"""experiments/harness.py: the command line, the outputs and the report frame the experiment
scripts share (no training), and that every script runs as ``python -m experiments.<name>``."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from experiments import harness
from experiments.harness import (
    apply_options,
    experiment_parser,
    parse_options,
    sweep_experiment_parser,
    write_markdown_report,
    write_tables,
)

ROOT = Path(__file__).resolve().parents[2]


def test_experiment_parser_has_the_shared_options_and_lists_the_examples() -> None:
    one = experiment_parser("Title.\n\nMore.", ["python -m x --quick"], Path("runs/x"), "help")
    assert one.description == "Title."
    assert one.epilog == "example: python -m x --quick"
    options = parse_options(one, [])
    assert (options.out, options.quick, options.workers) == (Path("runs/x"), False, None)
    two = experiment_parser("T.", ["a", "b"], Path("o"), "help", workers=2)
    assert two.epilog == "examples:\n  a\n  b"
    options = parse_options(two, ["--quick", "--out", "elsewhere"])
    assert (options.out, options.quick, options.workers) == (Path("elsewhere"), True, 2)


def test_parse_options_rejects_fewer_than_one_worker(capsys: pytest.CaptureFixture[str]) -> None:
    parser = experiment_parser("T.", ["a"], Path("o"), "help", workers=2)
    with pytest.raises(SystemExit):
        parse_options(parser, ["--workers", "0"])
    assert "--workers must be >= 1, got 0" in capsys.readouterr().err


@dataclass(frozen=True)
class Settings:
    out: Path = Path("runs/s")
    seeds: tuple[int, ...] = (0, 1, 2)
    workers: int = 2
    progress: bool = False
    size: int = 100


def test_apply_options_applies_quick_then_workers_seeds_and_progress() -> None:
    parser = sweep_experiment_parser("T.", ["a", "b"], Settings())
    quick = {"size": 1, "seeds": (0,)}
    args = apply_options(Settings(), parse_options(parser, ["--quick"]), quick, parser)
    assert args == Settings(seeds=(0,), workers=1, size=1)
    options = parse_options(parser, ["--quick", "--workers", "2", "--seeds", "4", "5"])
    args = apply_options(Settings(), options, quick, parser)
    assert args == Settings(seeds=(4, 5), workers=2, size=1)
    options = parse_options(parser, ["--progress", "--out", "x"])
    assert apply_options(Settings(), options, quick, parser) == Settings(Path("x"), progress=True)
    with pytest.raises(SystemExit):
        apply_options(Settings(), parse_options(parser, ["--seeds", "1", "1"]), quick, parser)


def test_outputs_are_csv_tables_and_a_markdown_report(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, None]})
    write_tables(tmp_path, {"one": frame, "two": frame.head(1)})
    assert (tmp_path / "one.csv").read_text() == "a,b\n1,0.5\n2,\n"
    assert (tmp_path / "two.csv").read_text() == "a,b\n1,0.5\n"
    path = write_markdown_report(tmp_path / "report.md", "Title", {"Setup": "x", "Runtime": "3 s"})
    assert path.read_text() == "# Title\n\n## Setup\n\nx\n\n## Runtime\n\n3 s\n"


@pytest.mark.parametrize(
    "script",
    [
        "goodhart_frequency",
        # Each of these starts a Python that imports torch: seconds apiece on a busy machine.
        *(
            pytest.param(name, marks=pytest.mark.slow)
            for name in (
                "goodhart_curves",
                "misspecification_surface",
                "phase_transition",
                "overoptimization",
                "coast_runners",
            )
        ),
    ],
)
def test_every_script_runs_as_a_module_from_the_repository_root(script: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", f"experiments.{script}", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"python -m experiments.{script}" in result.stdout


def test_stored_results_are_written_only_from_a_clean_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = harness.STORED_RESULTS / "some_experiment"
    assert harness.dirty_results_reason(stored, "abc123") is None
    assert "uncommitted changes" in str(harness.dirty_results_reason(stored, "abc123-dirty"))
    assert harness.dirty_results_reason(tmp_path / "anywhere", "abc123-dirty") is None
    # Through the command line: the usage error names the problem before anything runs.
    monkeypatch.setattr(harness.sweep, "git_revision", lambda directory=None: "abc123-dirty")
    parser = harness.experiment_parser("doc", [], Path("runs/x"), "workers")
    with pytest.raises(SystemExit) as exit_info:
        harness.parse_options(parser, ["--out", str(stored)])
    assert exit_info.value.code == 2
    assert "refusing to write" in capsys.readouterr().err
    assert harness.parse_options(parser, ["--out", str(tmp_path / "runs")]).out == tmp_path / "runs"


@pytest.mark.parametrize(
    ("script", "argv"),
    [
        ("phase_transition", ["--engine", "jax", "--n-seeds", "12"]),
        ("misspecification_surface", ["--engine", "jax", "--n-seeds", "12"]),
        ("goodhart_curves", ["--engine", "jax", "--n-seeds", "12"]),
    ],
)
def test_sweep_experiments_take_the_engine_and_a_seed_count(script: str, argv: list[str]) -> None:
    import importlib

    module = importlib.import_module(f"experiments.{script}")
    if script == "phase_transition":
        seen: dict[str, Any] = {}

        def stop(args: Any) -> None:
            seen["args"] = args
            raise SystemExit(0)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(module, "run_axes", stop)
            with pytest.raises(SystemExit):
                module.main(argv)
        config = module.sweep_config(seen["args"], "width")
        assert (config.engine, config.seeds) == ("jax", tuple(range(12)))
        return
    parsed = module.parse_args(argv)
    args = parsed[0]
    assert (args.engine, args.seeds) == ("jax", tuple(range(12)))
    configs = module.plan(args) if hasattr(module, "plan") else None
    if configs:
        assert {c.engine for c in configs.values()} == {"jax"}


def test_seeds_and_a_seed_count_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    from experiments import misspecification_surface

    with pytest.raises(SystemExit):
        misspecification_surface.parse_args(["--seeds", "0", "1", "--n-seeds", "3"])
    assert "give --seeds or --n-seeds, not both" in capsys.readouterr().err
