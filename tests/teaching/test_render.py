"""Recording episodes as annotated GIFs (proxygym.teaching.animation) and ``proxygym render``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from PIL import Image

from proxygym.agents import make_agent
from proxygym.agents.policies import detect_algo
from proxygym.cli import main
from proxygym.teaching.animation import (
    MIN_FRAME_WIDTH,
    contact_sheet,
    episode_limit,
    record_episode,
    record_episodes,
    save_gif,
)
from tests.conftest import gif_frames

BOAT = "proxygym/BoatRace-v0"
LAGOON = "proxygym/LagoonRace-v0"


def test_exact_policies_replay_the_known_returns() -> None:
    # BoatRace: the proxy cannot tell shuttling (true 0) from laps (true 100); both score 50,
    # so the proxy-optimal policy splits its ties between them (as solve() and play define
    # it): the seed-0 episode mixes the two, true 46 (49 in expectation).
    gaming = record_episode(BOAT, "proxy-optimal")
    racing = record_episode(BOAT, "true-optimal")
    assert (gaming.steps, gaming.proxy_return, gaming.true_return) == (100, 50.0, 46.0)
    assert (racing.steps, racing.proxy_return, racing.true_return) == (100, 50.0, 100.0)
    # LagoonRace: 73 target hits and no lap against 4 laps (README's table).
    lagoon = record_episode(LAGOON, "proxy-optimal")
    assert (lagoon.proxy_return, lagoon.true_return) == (73.0, 0.0)
    assert len(gaming.frames) == len(racing.frames) == len(lagoon.frames) == 101


def test_frames_are_scaled_boards_with_a_text_strip_and_all_differ() -> None:
    episode = record_episode(BOAT, "true-optimal", env_kwargs={"max_steps": 8})
    assert len(episode.frames) == episode.steps + 1 == 9
    # 5x5 board of 16-pixel cells scaled x3 to reach MIN_FRAME_WIDTH, plus 3 text lines.
    height, width, channels = episode.frames[0].shape
    assert (width, channels) == (MIN_FRAME_WIDTH, 3) and height == 240 + 2 * 4 + 3 * 12
    for before, after in zip(episode.frames, episode.frames[1:], strict=False):
        assert not np.array_equal(before, after)
    # The strip (below the board) changes every step: the step counter is in it.
    strips = [frame[240:] for frame in episode.frames]
    assert all(not np.array_equal(a, b) for a, b in zip(strips, strips[1:], strict=False))
    # Orange text is the true-return line: the hidden objective is shown to the viewer.
    assert (strips[0] == (213, 94, 0)).all(axis=2).any()


def test_gif_has_exactly_steps_plus_one_frames_per_episode(tmp_path: Path) -> None:
    recorded = record_episodes(BOAT, "random", episodes=2, seed=3, env_kwargs={"max_steps": 7})
    assert [episode.seed for episode in recorded] == [3, 4]
    frames = [frame for episode in recorded for frame in episode.frames]
    path = save_gif(frames, tmp_path / "boat.gif", fps=5)
    stored = gif_frames(path)
    assert len(stored) == sum(episode.steps + 1 for episode in recorded) == 16
    np.testing.assert_array_equal(stored[0], frames[0])  # few colours: the palette is exact
    with Image.open(path) as image:
        assert image.info["duration"] == 200 and image.info["loop"] == 0
    assert [p.name for p in tmp_path.iterdir()] == ["boat.gif"]  # no temporary left behind


def test_random_policy_is_seeded() -> None:
    first = record_episode(LAGOON, "random", seed=5, env_kwargs={"max_steps": 30})
    again = record_episode(LAGOON, "random", seed=5, env_kwargs={"max_steps": 30})
    other = record_episode(LAGOON, "random", seed=6, env_kwargs={"max_steps": 30})
    assert first.actions == again.actions and first.actions != other.actions


def test_callable_policy_and_episode_labels() -> None:
    always_right = record_episode(BOAT, lambda observation: 3, env_kwargs={"max_steps": 3})
    assert always_right.actions == [3, 3, 3]
    # right, right (to the corner), then a wall: proxy 2 - 1 - 1, true 1 + 1 - 1.
    assert (always_right.proxy_return, always_right.true_return) == (0.0, 1.0)


def test_exact_policy_without_a_tabular_model_names_the_alternatives() -> None:
    with pytest.raises(ValueError, match="TomatoWatering-v0 has no exact solution.*random"):
        record_episode("proxygym/TomatoWatering-v0", "proxy-optimal")


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="unknown environment id 'proxygym/Nope-v0'"):
        record_episode("proxygym/Nope-v0", "random")
    with pytest.raises(ValueError, match="does not accept the kwargs .*'speed'"):
        record_episode(BOAT, "random", env_kwargs={"speed": 2})
    with pytest.raises(FileNotFoundError, match="'nowhere.zip' is neither one of"):
        record_episode(BOAT, "nowhere.zip")
    with pytest.raises(ValueError, match="fps must be a positive number"):
        save_gif([np.zeros((4, 4, 3), np.uint8)], Path("never.gif"), fps=0)


@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn"])
def test_saved_models_are_detected_and_played_greedily(tmp_path: Path, algo: str) -> None:
    model = make_agent(algo, BOAT, seed=0, n_envs=1)
    path = tmp_path / f"{algo}.zip"
    model.save(path)
    assert detect_algo(path) == algo
    episode = record_episode(BOAT, path, env_kwargs={"max_steps": 5})
    assert len(episode.frames) == 6
    # The recorded actions are the model's own greedy choices along the episode.
    env = gym.make(BOAT, max_steps=5)
    observation, _ = env.reset(seed=0)
    expected = []
    for _ in range(5):
        action, _ = model.predict(observation, deterministic=True)
        expected.append(int(action))
        observation, *_ = env.step(int(action))
    assert episode.actions == expected


def test_detect_algo_rejects_a_file_that_is_no_model(tmp_path: Path) -> None:
    path = tmp_path / "notes.zip"
    path.write_text("not a zip")
    with pytest.raises(ValueError, match="is not a saved stable-baselines3 model"):
        detect_algo(path)


def test_contact_sheet_tiles_evenly_spaced_frames() -> None:
    frames = [np.full((10, 20, 3), i, np.uint8) for i in range(9)]
    sheet = contact_sheet(frames, count=5, columns=3, gap=2)
    assert sheet.shape == (2 * 10 + 2, 3 * 20 + 2 * 2, 3)
    # Frames 0, 2, 4, 6, 8 in row-major order; the unused last tile stays white.
    assert [int(sheet[0, 0, 0]), int(sheet[0, 22, 0]), int(sheet[0, 44, 0])] == [0, 2, 4]
    assert [int(sheet[12, 0, 0]), int(sheet[12, 22, 0]), int(sheet[12, 44, 0])] == [6, 8, 255]


def test_cli_render_writes_the_gif_and_sheet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, sheet = tmp_path / "lagoon.gif", tmp_path / "lagoon.png"
    argv = ["render", LAGOON, "--policy", "proxy-optimal", "--out", str(out), "--sheet"]
    assert main([*argv, str(sheet), "--kwargs", "max_steps=12", "target_value=2"]) == 0
    printed = capsys.readouterr().out
    assert len(gif_frames(out)) == 13
    assert f"{out}: 13 frames at 8 fps" in printed
    # Four steps into the lagoon, then 7 hits in 8 steps at 2 points a target; no lap.
    assert "episode 1 (seed 0): 12 steps, proxy return 14, true return 0" in printed
    assert Image.open(sheet).size[0] > 0


def test_cli_render_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    gif = str(tmp_path / "x.gif")
    assert main(["render", "proxygym/Pandemic-v0", "--policy", "true-optimal", "--out", gif]) == 2
    assert "Pandemic-v0 has no exact solution" in capsys.readouterr().err
    assert main(["render", BOAT, "--policy", "random", "--out", gif, "--kwargs", "oops"]) == 2
    assert "bad --kwargs item 'oops'" in capsys.readouterr().err


# -- continuous (Box) actions -----------------------------------------------------------------

PENDULUM = "proxygym/PendulumNoTorqueCost-v0"
FAKE_MUJOCO = "proxygym-test/FakeMujoco-v0"


class _FakeMujoco(gym.Env[np.ndarray, np.ndarray]):
    """Stands for a Gymnasium MuJoCo environment whose OpenGL context cannot be made."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 25}

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.mujoco_renderer = object()  # what marks Gymnasium's MujocoEnv
        self.action_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple:
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def render(self) -> np.ndarray:
        raise RuntimeError("gladLoadGL error")


if FAKE_MUJOCO not in gym.registry:
    gym.register(FAKE_MUJOCO, entry_point=_FakeMujoco)


def pendulum_episode(torques: list[np.ndarray], seed: int) -> tuple[float, float]:
    """Proxy and true returns of ``torques`` on PendulumNoTorqueCost, stepped directly."""
    env = gym.make(PENDULUM, max_steps=len(torques))
    env.reset(seed=seed)
    proxy = true = 0.0
    for torque in torques:
        _, reward, _, _, info = env.step(torque)
        proxy += float(reward)
        true += float(info["true_reward"])
    return proxy, true


def test_random_pendulum_episodes_sample_the_box_seeded() -> None:
    episode = record_episode(PENDULUM, "random", seed=3, env_kwargs={"max_steps": 6})
    space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
    space.seed(3)
    torques = [space.sample() for _ in range(6)]
    assert episode.actions == [torque.tolist() for torque in torques]
    assert (episode.proxy_return, episode.true_return) == pendulum_episode(torques, seed=3)
    assert len(episode.frames) == 7 and episode.legend == ()
    other = record_episode(PENDULUM, "random", seed=4, env_kwargs={"max_steps": 6})
    assert other.actions != episode.actions


def test_pendulum_frames_are_the_env_frames_over_a_text_strip() -> None:
    episode = record_episode(
        PENDULUM, lambda observation: np.array([2.0], np.float32), env_kwargs={"max_steps": 4}
    )
    env = gym.make(PENDULUM, render_mode="rgb_array", max_steps=4)
    env.reset(seed=0)
    expected = [env.render()]
    for _ in range(4):
        env.step(np.array([2.0], np.float32))
        expected.append(env.render())
    for frame, drawn in zip(episode.frames, expected, strict=True):
        assert frame.shape == (240 + 2 * 4 + 3 * 12, MIN_FRAME_WIDTH, 3)  # 240 pixels: unscaled
        np.testing.assert_array_equal(frame[:240], drawn)
    assert not np.array_equal(expected[0], expected[1])  # the torque arc appears after a step


def test_a_saved_model_plays_the_pendulum_with_its_predict(tmp_path: Path) -> None:
    model = make_agent("ppo", PENDULUM, seed=0, n_envs=1)
    path = tmp_path / "pendulum.zip"
    model.save(path)
    episode = record_episode(PENDULUM, path, seed=1, env_kwargs={"max_steps": 5})
    env = gym.make(PENDULUM, max_steps=5)
    observation, _ = env.reset(seed=1)
    expected = []
    for _ in range(5):
        action, _ = model.predict(observation, deterministic=True)
        expected.append(action.tolist())
        observation, *_ = env.step(action)
    assert episode.actions == expected
    assert all(len(action) == 1 and -2 <= action[0] <= 2 for action in episode.actions)


def test_cli_renders_a_pendulum_gif(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pendulum.gif"
    argv = ["render", PENDULUM, "--policy", "random", "--out", str(out), "--seed", "3"]
    assert main([*argv, "--kwargs", "max_steps=6"]) == 0
    assert len(gif_frames(out)) == 7
    episode = record_episode(PENDULUM, "random", seed=3, env_kwargs={"max_steps": 6})
    printed = capsys.readouterr().out
    line = f"proxy return {episode.proxy_return:.4g}, true return {episode.true_return:.4g}"
    assert f"episode 1 (seed 3): 6 steps, {line}" in printed


def test_the_step_counter_counts_to_the_episodes_own_limit() -> None:
    assert episode_limit(gym.make(PENDULUM, max_steps=6)) == 6  # the kwarg, not the 100 registered
    assert episode_limit(gym.make(PENDULUM, max_steps=300)) == 100  # the TimeLimit cuts first
    assert episode_limit(gym.make(BOAT)) == 100


def test_mujoco_rendering_failures_name_the_backend_before_any_model_loads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MUJOCO_GL", "egl")
    # A missing model file would raise FileNotFoundError if it were loaded first.
    with pytest.raises(ValueError, match=r"OpenGL rendering failed \(RuntimeError: gladLoadGL"):
        record_episodes(FAKE_MUJOCO, tmp_path / "missing.zip")
    with pytest.raises(ValueError, match=r"MUJOCO_GL=egl .* or MUJOCO_GL=osmesa .*\[mujoco\]"):
        record_episode(FAKE_MUJOCO, tmp_path / "missing.zip")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the display check is Linux's")
def test_mujoco_without_a_display_is_refused_up_front(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in ("MUJOCO_GL", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    gif = str(tmp_path / "hopper.gif")
    assert main(["render", FAKE_MUJOCO, "--policy", "random", "--out", gif]) == 2
    error = capsys.readouterr().err
    assert "needs OpenGL and finds no display here: set MUJOCO_GL=egl" in error
    assert error.count("\n") == 1 and not (tmp_path / "hopper.gif").exists()


@pytest.mark.skipif(importlib.util.find_spec("mujoco") is not None, reason="mujoco installed")
def test_hopper_without_mujoco_names_the_extra(capsys: pytest.CaptureFixture[str]) -> None:
    gif = "never.gif"
    assert main(["render", "proxygym/HopperForward-v0", "--policy", "random", "--out", gif]) == 2
    assert "registered only with the mujoco extra installed: pip install -e '.[mujoco]'" in (
        capsys.readouterr().err
    )
