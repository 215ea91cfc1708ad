"""The command line: --version, list, eval, and every error as one line."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

import proxygym
from proxygym import cli
from proxygym.cli import main
from tests.sweeps.helpers import TINY, write_toml

MODEL_ENV = "proxygym/BoatRace-v0"


def one_error_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("proxygym: error: "), text
    assert "Traceback" not in text
    return lines[0]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"proxygym {proxygym.__version__}"


def test_list_shows_every_environment(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for record in proxygym.list_envs():
        assert f"\n{record.id}\n" in f"\n{out}"
        assert record.proxy in out and record.true_objective in out
        assert f"Goodhart variant: {record.goodhart_variant}" in out
    assert "knobs:            supervisor" in out  # AbsentSupervisor's knob
    assert "knobs:            (none)" in out


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from proxygym.agents import make_agent

    model = make_agent("ppo", MODEL_ENV, seed=0, n_envs=1, n_steps=32, batch_size=32)
    path = tmp_path_factory.mktemp("model") / "agent.zip"
    model.save(path)
    return path


def test_eval_prints_both_returns_with_intervals(
    saved_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from proxygym.agents.evaluation import evaluate_policy, policy_logits
    from proxygym.agents.policies import load_agent
    from proxygym.cli import mean_interval

    argv = ["eval", str(saved_model), MODEL_ENV, "--episodes", "4", "--seed", "3"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    expected = evaluate_policy(
        policy_logits(load_agent(saved_model).policy), MODEL_ENV, {}, 4, 3, temperature=1.0
    )
    assert "(PPO)" in out and "4 episodes, seeds 3..6, temperature 1" in out
    for label, mean, std in (
        ("proxy return", expected.proxy_return, expected.proxy_return_std),
        ("true return ", expected.true_return, expected.true_return_std),
    ):
        low, high = mean_interval(mean, std, 4)
        assert f"{label}: {mean:.4g}, 95% interval [{low:.4g}, {high:.4g}]" in out
    # Greedy, with environment kwargs; one episode has no interval.
    argv = ["eval", str(saved_model), MODEL_ENV, "--episodes", "1", "--temperature", "0"]
    assert main([*argv, "--kwargs", "max_steps=10"]) == 0
    out = capsys.readouterr().out
    assert "1 episode, seed 0, temperature 0" in out and "no interval" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "{model}", "proxygym/AbsentSupervisor-v0"], "trained on observations of shape"),
        (["eval", "{model}", "proxygym/Nope-v0"], "Nope"),
        (["eval", "{model}", MODEL_ENV, "--episodes", "0"], "--episodes must be >= 1"),
        (["eval", "{model}", MODEL_ENV, "--kwargs", "speed=3"], "speed"),
        (["eval", "{missing}", MODEL_ENV], "no saved model at"),
    ],
)
def test_eval_errors_are_one_line(
    saved_model: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    argv = [a.format(model=saved_model, missing=tmp_path / "missing.zip") for a in argv]
    assert main(argv) == 2
    assert message in one_error_line(capsys.readouterr().err)


def test_t_quantiles() -> None:
    from proxygym.cli import mean_interval, t95

    assert t95(1) == 12.706 and t95(30) == 2.042
    assert t95(31) == pytest.approx(2.040, abs=1e-3)
    assert t95(120) == pytest.approx(1.980, abs=1e-3)
    assert t95(10**6) == pytest.approx(1.960, abs=1e-3)
    # Population spread 1 over 2 samples: sample spread sqrt(2), half-width t(1) sqrt(2)/sqrt(2).
    assert mean_interval(0.0, 1.0, 2) == pytest.approx((-12.706, 12.706))
    assert mean_interval(5.0, 3.0, 1) == (5.0, 5.0)


def test_ray_address_needs_the_ray_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("run_sweep must not be called")

    monkeypatch.setattr(cli, "run_sweep", fail)
    path = write_toml(tmp_path / "tiny.toml", TINY)
    assert main(["sweep", str(path), "--ray-address", "auto"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "--ray-address 'auto' needs --backend ray" in line
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (PermissionError(13, "Permission denied", "/runs/x"), "PermissionError: [Errno 13]"),
        (OSError("disk full"), "OSError: disk full"),
        (ImportError("No module named 'ray'"), "ImportError: No module named 'ray'"),
        (
            RuntimeError("Failed to connect to Ray at auto.\nIs a cluster running?"),
            "RuntimeError: Failed to connect to Ray at auto. Is a cluster running?",
        ),
        (ConnectionError("Could not find any running Ray instance."), "ConnectionError: Could"),
        (KeyError("x"), "KeyError: 'x'"),
    ],
)
def test_unexpected_errors_are_one_line_unless_debug(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: Exception,
    shown: str,
) -> None:
    def boom(args: argparse.Namespace) -> int:
        raise error

    monkeypatch.setattr(cli, "_report", boom)
    assert main(["report", "runs/x"]) != 0
    line = one_error_line(capsys.readouterr().err)
    assert shown in line and "--debug" in line
    # --debug, before or after the command: the traceback as well.
    for argv in (["--debug", "report", "runs/x"], ["report", "runs/x", "--debug"]):
        assert main(argv) != 0
        err = capsys.readouterr().err
        assert "Traceback" in err and err.strip().splitlines()[-1].startswith("proxygym: error:")


def test_known_errors_show_the_traceback_only_with_debug(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "missing.toml"
    assert main(["sweep", str(path)]) == 2
    assert "no such sweep config file" in one_error_line(capsys.readouterr().err)
    assert main(["--debug", "sweep", str(path)]) == 2
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["nope"], "invalid choice: 'nope'"),
        (["eval", "model.zip"], "the following arguments are required: ENV_ID"),
        (["sweep", "x.toml", "--workers", "two"], "invalid int value: 'two'"),
    ],
)
def test_usage_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in one_error_line(capsys.readouterr().err)


def test_ray_address_auto_without_a_cluster_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    path = write_toml(tmp_path / "tiny.toml", {**TINY, "baselines": False, "seeds": [0]})
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    run = subprocess.run(
        [sys.executable, "-m", "proxygym.cli", "sweep", str(path), "--out", str(tmp_path / "o")]
        + ["--backend", "ray", "--ray-address", "auto"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if run.returncode == 0:
        pytest.skip("a Ray cluster is running here")
    assert "Ray" in one_error_line(run.stderr)


def test_render_refuses_an_unknown_extension_before_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from proxygym.teaching import animation

    def must_not_record(*args: object, **kwargs: object) -> None:
        raise AssertionError("recorded before checking --out")

    monkeypatch.setattr(animation, "record_episodes", must_not_record)
    out = tmp_path / "boat.txt"
    code = main(["render", MODEL_ENV, "--policy", "random", "--out", str(out)])
    assert code == 2
    line = one_error_line(capsys.readouterr().err)
    assert "--out" in line and ".gif" in line and ".png" in line
    assert not out.exists()


def test_render_writes_the_format_the_extension_names(tmp_path: Path) -> None:
    gif, png = tmp_path / "boat.gif", tmp_path / "boat.png"
    arguments = ["render", MODEL_ENV, "--policy", "random", "--kwargs", "max_steps=4"]
    assert main([*arguments, "--out", str(gif)]) == 0
    assert main([*arguments, "--out", str(png)]) == 0
    assert gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_play_max_steps_shortens_the_episode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("dddddddddd\n"))
    assert main(["play", MODEL_ENV, "--max-steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "1 of 1 episodes played to the end" in out
    assert "step 3/3" in out
