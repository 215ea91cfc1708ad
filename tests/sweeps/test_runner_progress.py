"""--progress with a pool: workers report each cell's training steps to the driver's display."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from rich.console import Console

from proxygym.agents import make_agent
from proxygym.sweeps.config import plan_cells
from proxygym.sweeps.progress import CellsDisplay
from proxygym.sweeps.runner import run_sweep
from proxygym.sweeps.training import StepReporter, run_cell
from tests.sweeps.helpers import tiny_config

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
STEPS = re.compile(r"^(\S+)\s.*?(\d+)/(\d+) steps")


def quiet(message: str) -> None:
    """Swallow the sweep's progress lines."""


def step_lines(output: str) -> dict[str, list[tuple[int, int]]]:
    """(steps done, steps in all) of every rendered line of each cell, in order."""
    found: dict[str, list[tuple[int, int]]] = {}
    for line in ANSI.sub("", output).replace("\r", "\n").splitlines():
        match = STEPS.match(line.strip())
        if match:
            found.setdefault(match[1], []).append((int(match[2]), int(match[3])))
    return found


def _weights(result: Any) -> dict[str, torch.Tensor]:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(result.model)) as archive:
        state: dict[str, torch.Tensor] = torch.load(
            io.BytesIO(archive.read("policy.pth")), map_location="cpu"
        )
    return state


def test_a_reported_cell_trains_identically_and_reports_all_its_steps() -> None:
    config = tiny_config()
    cell = next(cell for cell in plan_cells(config) if cell.key == "agent-seed0")
    reports: list[tuple[int, int]] = []
    reported = run_cell(config, cell, report=lambda done, total: reports.append((done, total)))
    plain = run_cell(config, cell)
    assert reports[0] == (0, config.timesteps)
    assert reports[-1] == (config.timesteps, config.timesteps)
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)
    strip = [{k: v for k, v in r.items() if k != "wall_time"} for r in plain.records]
    assert [{k: v for k, v in r.items() if k != "wall_time"} for r in reported.records] == strip
    assert reported.episodes == plain.episodes
    plain_weights, reported_weights = _weights(plain), _weights(reported)
    assert plain_weights.keys() == reported_weights.keys()
    for name, tensor in plain_weights.items():
        assert torch.equal(tensor, reported_weights[name]), name


def test_step_reporter_counts_from_its_base_at_most_every_interval() -> None:
    model = make_agent(
        "ppo", "proxygym/AbsentSupervisor-v0", 0, n_envs=2, n_steps=64, batch_size=64, n_epochs=1
    )
    every: list[tuple[int, int]] = []
    model.learn(256, callback=StepReporter(lambda *r: every.append(r), 1000, 500, interval=0.0))
    assert [done for done, _ in every] == [500, *range(502, 757, 2), 756]
    assert {total for _, total in every} == {1000}
    seldom: list[tuple[int, int]] = []
    model.learn(256, callback=StepReporter(lambda *r: seldom.append(r), 256, interval=3600.0))
    assert seldom == [(0, 256), (256, 256)]  # training's start and end only


def test_display_shows_a_line_per_training_cell_until_it_finishes() -> None:
    file = io.StringIO()
    display = CellsDisplay(2, Console(file=file, force_terminal=True, width=120))
    display.steps("agent-seed0", 64, 256)
    display.steps("agent-seed1", 0, 256)
    display.progress.refresh()
    display.steps("agent-seed0", 192, 256)
    display.progress.refresh()
    display.finished("agent-seed0")
    display.steps("agent-seed0", 256, 256)  # a late report: its cell is done already
    display.close()
    lines = step_lines(file.getvalue())
    # Each frame drawn (refreshed here and by rich's own thread) shows the latest counts.
    assert sorted(set(lines["agent-seed0"])) == [(64, 256), (192, 256)]
    assert lines["agent-seed0"] == sorted(lines["agent-seed0"])
    assert lines["agent-seed1"][-1] == (0, 256)
    shown = {task.description: task for task in display.progress.tasks}
    assert set(shown) == {"cells", "agent-seed1"}  # the finished cell's line is gone
    assert shown["cells"].completed == 1
    drawn = ANSI.sub("", file.getvalue()).replace("\r", "\n").splitlines()
    assert any(re.match(r"cells .*1/2\s+cells", line) for line in drawn), drawn


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", "ray"])
def test_a_pooled_sweep_with_progress_shows_each_cells_steps(
    backend: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if backend == "ray":
        pytest.importorskip("ray")
    # rich draws live frames only on a terminal: make captured stdout count as one.
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    monkeypatch.setenv("COLUMNS", "160")
    config = tiny_config(timesteps=3072, baselines=[])
    summary = run_sweep(config, tmp_path, workers=2, backend=backend, progress=True, echo=quiet)
    assert not summary.failed
    lines = step_lines(capsys.readouterr().out)
    assert set(lines) <= {cell.key for cell in plan_cells(config)}
    assert {"agent-seed0", "agent-seed1"} <= set(lines)
    for key, steps in lines.items():
        assert {total for _, total in steps} == {3072}, key
        assert [done for done, _ in steps] == sorted(done for done, _ in steps), key
    assert any(len({done for done, _ in steps}) > 1 for steps in lines.values()), lines
