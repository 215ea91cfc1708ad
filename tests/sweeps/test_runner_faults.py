"""Sweeps under faults: stop signals, dying drivers, bad output directories, renamed configs."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
from pathlib import Path
from types import FrameType
from typing import Any

import pandas as pd
import pytest

from proxygym.sweeps import results
from proxygym.sweeps.config import Cell, SweepConfig
from proxygym.sweeps.results import CellResult
from proxygym.sweeps.runner import SweepError, run_sweep, run_sweeps
from tests.sweeps.helpers import (
    assert_session_ends,
    kill_session,
    session,
    start_long_sweep,
    tiny_config,
)

#: A sweep whose agent cell trains for hours while its two baselines take a second.


def quiet(message: str) -> None:
    """Swallow the sweep's progress lines."""


def fake_cells(monkeypatch: pytest.MonkeyPatch, calls: list[str] | None = None) -> None:
    """Cells that finish at once with one record and a model, instead of training."""

    def run_cell(
        config: SweepConfig, cell: Cell, progress: bool = False, tensorboard_log: str | None = None
    ) -> CellResult:
        if calls is not None:
            calls.append(cell.key)
        record = {field: None for field in results.RECORD_FIELDS}
        record.update(cell=cell.key, policy="agent", proxy_return=1.0, true_return=0.5)
        return CellResult(cell.key, records=[record], model=f"model of {cell.key}".encode())

    monkeypatch.setattr("proxygym.sweeps.training.run_cell", run_cell)


def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    def run_cell(*args: Any, **kwargs: Any) -> CellResult:
        raise AssertionError("a cell trained although the output directory was refused")

    monkeypatch.setattr("proxygym.sweeps.training.run_cell", run_cell)


# -- stop signals -----------------------------------------------------------------


class DiedOfSignal(Exception):
    """What the test's own handler raises: without the sweep's, the process would have died."""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_stop_signal_interrupts_like_ctrl_c_and_keeps_finished_cells(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int
) -> None:
    calls: list[str] = []
    fake_cells(monkeypatch, calls)
    finish = __import__("proxygym.sweeps.training", fromlist=["run_cell"]).run_cell

    def run_cell(config: SweepConfig, cell: Cell, *args: Any, **kwargs: Any) -> CellResult:
        if calls:  # the second cell is stopped while it runs
            os.kill(os.getpid(), signum)
        return finish(config, cell, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr("proxygym.sweeps.training.run_cell", run_cell)

    def died(number: int, frame: FrameType | None) -> None:
        raise DiedOfSignal(number)

    previous = signal.signal(signum, died)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_sweep(tiny_config(), tmp_path, echo=quiet)
        assert signal.getsignal(signum) is died  # the sweep put the previous handler back
    finally:
        signal.signal(signum, previous)
    assert results.completed_cells(tmp_path) == {"agent-seed0"}


@pytest.mark.parametrize("many", [False, True], ids=["run_sweep", "run_sweeps"])
def test_a_stop_between_a_cells_record_and_the_table_leaves_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, many: bool
) -> None:
    """The window a SIGTERM once hit in CI: the cell's file written, results.csv not yet."""
    fake_cells(monkeypatch)
    write = results.write_results_csv
    writes: list[int] = []

    def stopped_once(out: Path) -> None:
        writes.append(1)
        if len(writes) == 2:  # the rewrite after the first finished cell
            raise KeyboardInterrupt
        write(out)

    monkeypatch.setattr(results, "write_results_csv", stopped_once)
    with pytest.raises(KeyboardInterrupt):
        if many:
            run_sweeps([(tiny_config(), tmp_path)], echo=quiet)
        else:
            run_sweep(tiny_config(), tmp_path, echo=quiet)
    stored = results.completed_cells(tmp_path)
    assert len(stored) == 1
    assert set(pd.read_csv(results.results_csv_path(tmp_path)).cell) == stored


def _two_workers(driver: int) -> bool:
    """Whether the pool's two workers run: children of the driver's child (the fork server)."""
    members = session(driver)
    children = {pid for pid, p in members.items() if p.parent == driver}
    return sum(p.parent in children for p in members.values()) >= 2


def _start_long_sweep(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """A two-worker sweep busy training its agent cell once both baselines are done."""
    return start_long_sweep(tmp_path, ["--workers", "2"], _two_workers, seconds=120)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_die_with_a_killed_driver(tmp_path: Path) -> None:
    process, _ = _start_long_sweep(tmp_path)
    try:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert_session_ends(process.pid, seconds=10)
    finally:
        kill_session(process.pid)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sigterm_stops_a_pooled_sweep_like_ctrl_c(tmp_path: Path) -> None:
    process, out = _start_long_sweep(tmp_path)
    try:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        assert_session_ends(process.pid, seconds=10)
        stderr = (tmp_path / "stderr").read_text()
        assert process.returncode == 130, stderr
        assert "interrupted; finished cells are saved" in stderr
    finally:
        kill_session(process.pid)
    assert results.completed_cells(out) == {"random", "exact"}
    assert set(pd.read_csv(results.results_csv_path(out)).cell) == {"random", "exact"}


# -- the output directory -----------------------------------------------------------


def test_output_that_is_a_file_is_refused_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_training(monkeypatch)
    target = tmp_path / "results"
    target.write_text("not a directory")
    with pytest.raises(SweepError, match="is a file") as refused:
        run_sweep(tiny_config(), target, echo=quiet)
    assert str(target) in str(refused.value) and "\n" not in str(refused.value)
    assert target.read_text() == "not a directory"


def test_unwritable_output_is_refused_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_training(monkeypatch)
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o555)
    real_access = os.access

    def access(path: Any, mode: int, **kwargs: Any) -> bool:
        # root may write anywhere: answer as the directory's mode does for everyone else
        if Path(path) == target and mode & os.W_OK:
            return False
        return real_access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)
    try:
        with pytest.raises(SweepError, match="not writable") as refused:
            run_sweep(tiny_config(), target / "sweep", echo=quiet)
    finally:
        target.chmod(0o755)
    assert str(target) in str(refused.value)
    assert not (target / "sweep").exists()


def test_full_disk_is_refused_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_training(monkeypatch)
    real = __import__("shutil").disk_usage

    def nearly_full(path: Any) -> Any:
        usage = real(path)
        return type(usage)(usage.total, usage.total - 1000, 1000)

    monkeypatch.setattr("proxygym.sweeps.runner.shutil.disk_usage", nearly_full)
    with pytest.raises(SweepError, match="not enough free space") as refused:
        run_sweep(tiny_config(), tmp_path / "sweep", echo=quiet)
    assert str(tmp_path / "sweep") in str(refused.value)


def test_a_cell_that_cannot_be_stored_keeps_its_model_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_cells(monkeypatch)

    def disk_full(directory: Any, cell: str, model: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(results, "write_model", disk_full)
    with pytest.raises(SweepError, match="could not store cell agent-seed0") as refused:
        run_sweep(tiny_config(), tmp_path / "sweep", echo=quiet)
    message = str(refused.value)
    assert "No space left on device" in message
    kept = Path(message.split("kept in ")[1].split()[0])
    assert kept.read_bytes() == b"model of agent-seed0"
    assert kept.with_suffix(".json").exists()  # its records beside it
    assert not results.completed_cells(tmp_path / "sweep")


# -- config identity ----------------------------------------------------------------


def test_a_different_config_is_refused_naming_the_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_cells(monkeypatch)
    run_sweep(tiny_config(), tmp_path, echo=quiet)
    changed = tiny_config(
        seeds=[0, 1, 2], hyperparameters={**tiny_config().hyperparameters, "n_epochs": 3}
    )
    with pytest.raises(SweepError, match="different config") as refused:
        run_sweep(changed, tmp_path, echo=quiet)
    message = str(refused.value)
    assert "seeds" in message and "hyperparameters.n_epochs" in message
    assert "timesteps" not in message and "env_kwargs" not in message


def test_a_renamed_config_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    fake_cells(monkeypatch, calls)
    run_sweep(tiny_config(), tmp_path, echo=quiet)
    results.cell_path(tmp_path, "oracle-seed1").unlink()
    calls.clear()
    summary = run_sweep(tiny_config(name="renamed"), tmp_path, echo=quiet)
    assert calls == ["oracle-seed1"] and summary.ran == ["oracle-seed1"]
    assert results.read_manifest(tmp_path).config.name == "tiny"  # as first stored


# -- results.csv and TensorBoard ----------------------------------------------------


def test_results_csv_holds_every_record_as_cells_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    fake_cells(monkeypatch, calls)
    finish = __import__("proxygym.sweeps.training", fromlist=["run_cell"]).run_cell
    seen: list[set[str]] = []

    def run_cell(config: SweepConfig, cell: Cell, *args: Any, **kwargs: Any) -> CellResult:
        table = results.results_csv_path(tmp_path)
        seen.append(set(pd.read_csv(table).cell) if table.exists() else set())
        return finish(config, cell, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr("proxygym.sweeps.training.run_cell", run_cell)
    run_sweep(tiny_config(), tmp_path, echo=quiet)
    assert seen[:3] == [set(), {"agent-seed0"}, {"agent-seed0", "agent-seed1"}]
    table = results.results_csv_path(tmp_path)
    assert table.parent == (tmp_path / "cells").parent
    assert table.read_text() == results.load(tmp_path).to_csv(index=False)
    assert not list(tmp_path.glob(".results.csv.*"))


def test_a_rerun_cell_replaces_its_tensorboard_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_cells(monkeypatch)
    run_sweep(tiny_config(), tmp_path, echo=quiet)
    board = results.tensorboard_dir(tmp_path)
    for run in ("agent-seed0_1", "agent-seed0_2", "agent-seed1_1"):
        (board / run).mkdir(parents=True)
        (board / run / "events.out.tfevents.partial").write_text("x")
    results.cell_path(tmp_path, "agent-seed0").unlink()  # killed while training
    run_sweep(tiny_config(), tmp_path, echo=quiet)
    assert sorted(p.name for p in board.iterdir()) == ["agent-seed1_1"]  # a finished cell's


def test_a_resumed_cell_logs_one_tensorboard_run(tmp_path: Path) -> None:
    config = tiny_config(seeds=[0], baselines=False)
    run_sweep(config, tmp_path, echo=quiet)
    results.cell_path(tmp_path, "agent-seed0").unlink()
    run_sweep(config, tmp_path, echo=quiet)
    runs = sorted(p.name for p in results.tensorboard_dir(tmp_path).iterdir())
    assert runs == ["agent-seed0_1"]
