"""Sweeps: records, resume, faults, parallel and Ray backends give identical results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from proxygym.sweeps import results
from proxygym.sweeps.config import plan_cells
from proxygym.sweeps.runner import SweepError, run_sweep, run_sweeps
from tests.sweeps.helpers import TINY, comparable, tiny_config, write_toml


def quiet(message: str) -> None:
    """Swallow the sweep's progress lines."""


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reference")
    summary = run_sweep(tiny_config(), out, echo=quiet)
    assert not summary.failed
    return out


def test_sweep_writes_every_record_field(reference_run: Path) -> None:
    frame = results.load(reference_run)
    assert list(frame.columns[: len(results.RECORD_FIELDS)]) == list(results.RECORD_FIELDS)
    agents = frame[frame.policy == "agent"]
    assert sorted(agents.level.unique()) == [0, 128, 256]
    assert sorted(agents.seed.unique()) == [0, 1]
    assert set(frame.policy) == {"agent", "oracle", "random", "proxy_optimal", "true_optimal"}
    assert (agents.episodes == 2).all()
    assert agents.kl_from_init.notna().all() and (agents.kl_from_init >= 0).all()
    untrained = agents[agents.level == 0]
    assert untrained.kl_from_init.abs().max() < 1e-9  # same policy, temperature 1
    assert (agents.step >= agents.level).all()
    exact = frame[frame.policy == "true_optimal"].iloc[0]
    assert exact.true_return == 41.0
    normalised = frame.set_index("policy").true_score
    assert normalised["true_optimal"] == 1.0 and normalised["random"] == 0.0


def test_manifest_holds_config_versions_and_revision(reference_run: Path) -> None:
    manifest = results.read_json(reference_run / "manifest.json")
    assert manifest["config"] == tiny_config().to_dict()
    assert manifest["cells"] == [cell.key for cell in plan_cells(tiny_config())]
    assert {"proxygym", "gymnasium", "stable-baselines3", "torch", "numpy"} <= set(
        manifest["versions"]
    )
    assert "git_revision" in manifest
    assert (reference_run / "models" / "agent-seed0.zip").stat().st_size > 0
    episodes = pd.read_csv(reference_run / "episodes" / "agent-seed0.csv")
    assert list(episodes.columns) == ["timestep", "proxy_return", "true_return", "length"]
    assert len(episodes) > 0


def test_tensorboard_has_both_returns(reference_run: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = sorted((reference_run / "tensorboard").iterdir())
    assert [run.name for run in runs][:2] == ["agent-seed0_1", "agent-seed1_1"]
    events = EventAccumulator(str(runs[0]))
    events.Reload()
    assert {"proxy/ep_return", "true/ep_return"} <= set(events.Tags()["scalars"])
    episodes = pd.read_csv(reference_run / "episodes" / "agent-seed0.csv")
    for tag, column in (("proxy/ep_return", "proxy_return"), ("true/ep_return", "true_return")):
        logged = [event.value for event in events.Scalars(tag)]
        assert logged  # means over the episodes of each logging interval
        assert all(
            episodes[column].min() - 1e-4 <= v <= episodes[column].max() + 1e-4 for v in logged
        )


def test_rerun_skips_finished_cells(reference_run: Path) -> None:
    before = comparable(reference_run)
    summary = run_sweep(tiny_config(), reference_run, echo=quiet)
    assert summary.ran == [] and len(summary.skipped) == len(plan_cells(tiny_config()))
    pd.testing.assert_frame_equal(comparable(reference_run), before)


def test_different_config_is_refused(reference_run: Path) -> None:
    with pytest.raises(SweepError, match="different config"):
        run_sweep(tiny_config(seeds=[0, 1, 2]), reference_run, echo=quiet)


def test_same_seeds_same_records_with_two_workers(reference_run: Path, tmp_path: Path) -> None:
    run_sweep(tiny_config(), tmp_path, workers=2, echo=quiet)
    pd.testing.assert_frame_equal(comparable(tmp_path), comparable(reference_run))


def test_sweeps_sharing_one_pool_give_each_sweeps_own_records(
    reference_run: Path, tmp_path: Path
) -> None:
    half = tmp_path / "half"
    other = tiny_config(seeds=[1])
    run_sweep(other, half, echo=quiet)
    results.cell_path(half, "oracle-seed1").unlink()  # one cell left to run: it queues too
    with pytest.raises(SweepError, match="same directory"):
        run_sweeps([(tiny_config(), tmp_path / "a"), (other, tmp_path / "a")], workers=2)
    lines: list[str] = []
    summaries = run_sweeps(
        [(tiny_config(), tmp_path / "full"), (other, half)], workers=2, echo=lines.append
    )
    pd.testing.assert_frame_equal(comparable(tmp_path / "full"), comparable(reference_run))
    pd.testing.assert_frame_equal(
        comparable(half), comparable(reference_run).query("seed != 0").reset_index(drop=True)
    )
    assert [len(summary.ran) for summary in summaries] == [6, 1]
    assert summaries[1].ran == ["oracle-seed1"] and len(summaries[1].skipped) == 3
    assert any("resuming" in line and str(half) in line for line in lines)


def test_each_sweep_of_a_shared_pool_records_its_own_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(self: object) -> None:
        raise RuntimeError("random baseline exploded")

    monkeypatch.setattr("proxygym.sweeps.training.CellRunner.run_random", explode)
    first, second = tiny_config(seeds=[0]), tiny_config(seeds=[1], baselines=["random"])
    lines: list[str] = []
    summaries = run_sweeps(
        [(first, tmp_path / "one"), (second, tmp_path / "two")], echo=lines.append
    )
    assert [summary.failed for summary in summaries] == [["random"], ["random"]]
    assert [summary.ran for summary in summaries] == [
        ["agent-seed0", "oracle-seed0", "exact"],
        ["agent-seed1"],
    ]
    for name in ("one", "two"):
        assert "exploded" in results.failed_cells(tmp_path / name)["random"]
        assert f"{tmp_path / name}: cell random failed" in "\n".join(lines)


def test_failed_cell_is_recorded_and_retried(
    reference_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(self: object) -> None:
        raise RuntimeError("random baseline exploded")

    monkeypatch.setattr("proxygym.sweeps.training.CellRunner.run_random", explode)
    summary = run_sweep(tiny_config(), tmp_path, echo=quiet)
    assert summary.failed == ["random"]
    assert len(summary.ran) == len(plan_cells(tiny_config())) - 1
    assert "random baseline exploded" in results.failed_cells(tmp_path)["random"]
    assert results.status(tmp_path)["failed"] == ["random"]
    monkeypatch.undo()
    summary = run_sweep(tiny_config(), tmp_path, echo=quiet)
    assert summary.ran == ["random"] and not summary.failed
    assert results.failed_cells(tmp_path) == {}
    pd.testing.assert_frame_equal(comparable(tmp_path), comparable(reference_run))


def test_killed_sweep_resumes_to_the_uninterrupted_result(
    reference_run: Path, tmp_path: Path
) -> None:
    config_file = write_toml(tmp_path / "tiny.toml", TINY)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "proxygym.cli", "sweep", str(config_file), "--out", str(out)]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while len(results.completed_cells(out)) < 2:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, "sweep made no progress"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = results.completed_cells(out)
    assert 2 <= len(finished) < len(plan_cells(tiny_config()))
    for path in (out / "cells").glob("*.json"):
        json.loads(path.read_text())  # every file on disk is whole
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "already done" in rerun.stdout
    pd.testing.assert_frame_equal(comparable(out), comparable(reference_run))
    assert not list(out.rglob(".*.tmp"))


def test_ray_backend_gives_the_same_records(reference_run: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    run_sweep(tiny_config(), tmp_path, workers=2, backend="ray", echo=quiet)
    pd.testing.assert_frame_equal(comparable(tmp_path), comparable(reference_run))


def test_atomic_write_never_leaves_a_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "cells" / "a.json"
    results.write_json_atomic(target, {"records": [1]})

    def crash(src: str, dst: str) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        results.write_json_atomic(target, {"records": [2]})
    assert results.read_json(target) == {"records": [1]}
    assert list(target.parent.iterdir()) == [target]


def test_non_sweep_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(SweepError, match="not empty"):
        run_sweep(tiny_config(), tmp_path, echo=quiet)
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_git_revision_is_dirty_for_changes_but_not_for_stored_results(tmp_path: Path) -> None:
    from proxygym.sweeps.runner import git_revision

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", "code.py")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    head = git_revision(tmp_path)
    assert head is not None and not head.endswith("-dirty") and len(head) == 40
    (tmp_path / "docs" / "results" / "run").mkdir(parents=True)
    (tmp_path / "docs" / "results" / "run" / "manifest.json").write_text("{}")
    assert git_revision(tmp_path / "docs" / "results" / "run") == head  # results being written
    (tmp_path / "new_module.py").write_text("y = 2\n")
    assert git_revision(tmp_path) == head + "-dirty"  # untracked code
    (tmp_path / "new_module.py").unlink()
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_revision(tmp_path) == head + "-dirty"  # changed code
    assert git_revision(tmp_path.parent / "nowhere") is None


def test_the_random_cell_also_plays_the_environment_s_scripted_reference(tmp_path: Path) -> None:
    """Pandemic states a scripted reference (the reactive lockdown); BoatRace states none."""
    from proxygym.agents.evaluation import evaluate_policy, scripted_logits
    from proxygym.envs.simulators.pandemic import reactive_lockdown
    from proxygym.sweeps.training import eval_seed

    config = tiny_config(env="proxygym/Pandemic-v0", env_kwargs={}, seeds=[0], baselines=["random"])
    run_sweep(config, tmp_path / "pandemic", workers=1)
    frame = results.load(tmp_path / "pandemic")
    scripted = frame[frame.policy == "scripted"]
    assert len(scripted) == 1 and scripted.step.iloc[0] == 0
    played = evaluate_policy(
        scripted_logits(reactive_lockdown, 5), config.env, {}, 2, seed=eval_seed(None)
    )
    assert scripted.true_return.iloc[0] == played.true_return
    assert scripted.proxy_return.iloc[0] == played.proxy_return
    random = frame[frame.policy == "random"].true_return.iloc[0]
    assert scripted.true_return.iloc[0] > random  # about -350 against -460

    run_sweep(tiny_config(seeds=[0], baselines=["random"]), tmp_path / "other", workers=1)
    assert "scripted" not in set(results.load(tmp_path / "other").policy)
