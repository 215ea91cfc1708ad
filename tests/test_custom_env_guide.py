"""docs/custom_env.md works as printed: its Python blocks are files, written out and run.

Every ```python block of the guide carries a ``title="<file>.py"``; the
fixture writes them all to one directory, and each test runs the files of one
step of the guide: the environment (under 60 lines), the checks, the pytest
suite, training, and (marked slow) a tiny sweep with two worker processes,
which is how the guide says a sweep finds a user's environment. A text block titled
"output of <file>.py" is what that file prints.
"""

from __future__ import annotations

import importlib.util
import re
import runpy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import pytest

from proxygym import testing
from proxygym.sweeps import results
from proxygym.threads import one_torch_thread

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "custom_env.md"
#: A fenced block at the start of a line: language, optional title, body.
BLOCK = re.compile(r'^```(\w+)(?: title="([^"]*)")?\n(.*?)^```$', re.MULTILINE | re.DOTALL)
#: The files the tests below run; every Python block of the guide must be one of them.
RUN = {
    "cleanroom.py",
    "scripted_cleanroom.py",
    "mountaincar_speed.py",
    "cartpole_free.py",
    "check_envs.py",
    "test_mine.py",
    "train_cleanroom.py",
    "sweep_cleanroom.py",
}
MODULES = ("cleanroom", "mountaincar_speed", "cartpole_free")
NAMESPACE = "mine/"


def guide_blocks() -> tuple[dict[str, str], dict[str, str]]:
    """The guide's Python files by name, and its titled text blocks by title."""
    files: dict[str, str] = {}
    texts: dict[str, str] = {}
    for language, title, body in BLOCK.findall(GUIDE.read_text()):
        if language == "python":
            assert title.endswith(".py"), f"a python block of {GUIDE} has no file title: {body!r}"
            assert title not in files, f"two python blocks of {GUIDE} are titled {title}"
            files[title] = body
        elif language in ("text", "toml") and title:
            texts[title] = body
    return files, texts


@pytest.fixture(scope="module")
def guide_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The guide's files in a directory on ``sys.path``; its modules and ids are removed after."""
    directory = tmp_path_factory.mktemp("guide")
    for name, body in guide_blocks()[0].items():
        (directory / name).write_text(body)
    sys.path.insert(0, str(directory))
    try:
        yield directory
    finally:
        sys.path.remove(str(directory))
        for module in (*MODULES, "test_mine"):
            sys.modules.pop(module, None)
        for env_id in [env_id for env_id in gym.registry if env_id.startswith(NAMESPACE)]:
            del gym.registry[env_id]


def run_file(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``path`` as ``__main__`` in this process; returns what it printed."""
    capsys.readouterr()
    runpy.run_path(str(path), run_name="__main__")
    return capsys.readouterr().out


def test_every_python_block_is_a_file_the_tests_run() -> None:
    files, _ = guide_blocks()
    assert set(files) == RUN


def test_the_environment_is_under_60_lines() -> None:
    lines = guide_blocks()[0]["cleanroom.py"].splitlines()
    assert len(lines) < 60, f"cleanroom.py has {len(lines)} lines"
    assert "class CleanRoomEnv(ProxyEnv)" in "\n".join(lines)


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="needs ruff (proxygym[dev])")
def test_the_guide_code_is_clean(guide_dir: Path) -> None:
    """ruff check and format with the project's settings, run where a user's files would be.

    Run from the guide's directory, ruff counts the guide's modules as
    first-party and proxygym as third-party, as it would for a user.
    """
    settings = ["--isolated", "--line-length", "100", "--target-version", "py310"]
    for command in (["check", "--select", "E,F,W,I,B,UP"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, *settings, "."],
            cwd=guide_dir,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_registering_makes_the_environment(guide_dir: Path) -> None:
    import cleanroom  # type: ignore[import-not-found]

    env = gym.make("mine/CleanRoom-v0", cover_strength=1.0)
    assert isinstance(env.unwrapped, cleanroom.CleanRoomEnv)
    assert env.spec is not None and env.spec.max_episode_steps == 50
    env.reset(seed=0)
    _, reward, _, _, info = env.step(3)  # cover the sensor
    assert reward == info["proxy_reward"] == 0.0
    assert info["true_reward"] < 0.0


def test_the_scripted_policies_print_what_the_guide_shows(
    guide_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    printed = run_file(guide_dir / "scripted_cleanroom.py", capsys)
    assert printed == guide_blocks()[1]["output of scripted_cleanroom.py"]


def test_the_checks_pass_both_routes_and_reject_cartpole(
    guide_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = run_file(guide_dir / "check_envs.py", capsys).splitlines()
    names = [check.__name__ for check in testing.CHECKS]
    clean_room = [f"mine/CleanRoom-v0 {name}: passed" for name in names]
    assert lines[: len(names)] == clean_room
    mountain_car = lines[len(names) : 2 * len(names)]
    skipped = {line.split()[1] for line in mountain_car if ": skipped: " in line}
    assert skipped == {"check_observation_from_state:", "check_reset_needed:"}
    rejected = guide_blocks()[1]["output of check_envs.py, last line"].splitlines()
    assert lines[2 * len(names) :] == rejected == ["rejected: info-contract"]


def test_the_pytest_block_runs_every_check_without_skipping(guide_dir: Path) -> None:
    namespace = runpy.run_path(str(guide_dir / "test_mine.py"))
    test = namespace["test_clean_room_follows_the_contract"]
    marks = {mark.args[0]: mark.args[1] for mark in test.pytestmark}
    assert marks["check"] == testing.CHECKS
    for cover_strength in marks["cover_strength"]:
        for check in marks["check"]:
            test(check, cover_strength)  # a skip or a ContractError would raise


def test_training_prints_the_returns(guide_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with one_torch_thread():  # as sweep workers train: tiny networks, a busy machine
        printed = run_file(guide_dir / "train_cleanroom.py", capsys).splitlines()
    assert len(printed) == 2
    assert re.fullmatch(r"proxy -?\d+\.\d\d", printed[0])
    assert re.fullmatch(r"true -?\d+\.\d\d", printed[1])


@pytest.mark.slow  # about 15 s of computing, but a minute of waiting on a busy 2-core machine
def test_the_sweep_finds_the_environment_in_two_workers(guide_dir: Path) -> None:
    """The guide's sweep script, as a user runs it: workers import it and so register the env."""
    result = subprocess.run(
        [sys.executable, "sweep_cleanroom.py"],
        cwd=guide_dir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "4 cells run, 0 failed" in result.stdout
    out = guide_dir / "runs" / "cleanroom"
    frame = results.load(out)
    assert set(frame["policy"]) == {"agent", "oracle", "random"}
    agent = frame[frame["policy"] == "agent"]
    assert sorted(agent["level"]) == [0, 128, 256]
    assert set(frame["env"]) == {"mine/CleanRoom-v0"}
    assert (out / "report.html").exists() and (out / "report.md").exists()
    assert result.stdout.strip().splitlines()[-1] in (out / "report.md").read_text()


@pytest.mark.slow  # two fresh processes import torch; a minute on a busy 2-core machine
def test_the_toml_sweep_finds_the_environment_through_modules(guide_dir: Path) -> None:
    """The guide's TOML and commands, through the console script, from the module's directory."""
    script = Path(sys.executable).parent / "proxygym"
    if not script.is_file():
        pytest.skip(f"no proxygym console script beside {sys.executable}")
    (guide_dir / "cleanroom_timesteps.toml").write_text(
        guide_blocks()[1]["cleanroom_timesteps.toml"]
    )
    commands = re.search(
        r"```bash\n(proxygym sweep cleanroom_timesteps.toml.*?)```", GUIDE.read_text(), re.DOTALL
    )
    assert commands is not None, "the guide lost its proxygym sweep commands"
    for line in commands.group(1).strip().splitlines():
        argv = line.split()
        assert argv[0] == "proxygym"
        result = subprocess.run(
            [str(script), *argv[1:]], cwd=guide_dir, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"{line}: {result.stderr[-3000:]}"
    out = guide_dir / "runs" / "cleanroom_cli"
    frame = results.load(out)
    assert set(frame["env"]) == {"mine/CleanRoom-v0"}
    assert set(frame["policy"]) == {"agent", "oracle", "random"}
    assert "mine/CleanRoom-v0" in (out / "report.md").read_text()
