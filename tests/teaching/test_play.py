"""Keyboard play (proxygym.teaching.play, ``proxygym play``) and the help of every subcommand."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import termios
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from proxygym.cli import build_parser, main, parse_env_kwargs
from proxygym.planning.tabular import evaluate, solve
from proxygym.teaching.play import (
    box_key_map,
    cbreak,
    key_map,
    play,
    play_terminal,
    terminal_keys,
    tokenize,
)

BOAT = "proxygym/BoatRace-v0"
PENDULUM = "proxygym/PendulumNoTorqueCost-v0"
KEY_LINE = "keys: w/↑/0 up, s/↓/1 down, a/←/2 left, d/→/3 right, q quit"
PENDULUM_KEYS = (
    "keys: 0-8 set the torque from -2 to +2: 0 -2, 1 -1.5, 2 -1, 3 -0.5, 4 0, 5 +0.5, "
    "6 +1, 7 +1.5, 8 +2, q quit"
)
REPO = Path(__file__).resolve().parents[2]
#: Test environments whose actions cannot be played: three numbers (like HopperForward's
#: joint torques), and one unbounded number.
BOX3 = "proxygym-test/ThreeTorques-v0"
UNBOUNDED = "proxygym-test/UnboundedPush-v0"


class _BoxActions(gym.Env[np.ndarray, np.ndarray]):
    """A do-nothing environment with a Box action space (construction is all play needs)."""

    def __init__(self, shape: tuple[int, ...] = (3,), bound: float = 1.0) -> None:
        self.action_space = gym.spaces.Box(-bound, bound, shape, np.float32)
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)


for _id, _kwargs in ((BOX3, {}), (UNBOUNDED, {"shape": (1,), "bound": np.inf})):
    if _id not in gym.registry:
        gym.register(_id, entry_point=_BoxActions, kwargs=_kwargs)


class MultiDiscreteStandIn(gym.Env[np.ndarray, np.ndarray]):
    """Only an action space: two choices of three at once."""

    action_space = gym.spaces.MultiDiscrete([3, 3])


def pendulum_returns(torques: list[float], max_steps: int, seed: int = 0) -> tuple[float, float]:
    """Proxy and true returns of ``torques`` on PendulumNoTorqueCost, stepped directly."""
    env = gym.make(PENDULUM, max_steps=max_steps)
    env.reset(seed=seed)
    proxy = true = 0.0
    for torque in torques:
        _, reward, _, _, info = env.step(np.array([torque], np.float32))
        proxy += float(reward)
        true += float(info["true_reward"])
    return proxy, true


def live_part(text: str) -> str:
    """What was shown while the episode ran: everything before the first reveal."""
    return text.split("episode ended")[0].split("episode stopped")[0]


def test_a_clockwise_lap_scores_4_visible_and_8_hidden() -> None:
    out = io.StringIO()
    (episode,) = play(BOAT, ["ddss", "aaww"], out, env_kwargs={"max_steps": 8})
    assert (episode.steps, episode.proxy_return, episode.true_return) == (8, 4.0, 8.0)
    assert episode.finished
    text = out.getvalue()
    assert "your proxy return (the score you saw):  4\n" in text
    assert "your TRUE return (hidden until now):    8\n" in text
    assert "proxy return so far: 2 (last step: +2, action right)" in text


def test_the_hidden_score_is_shown_only_after_the_episode() -> None:
    # One step of SideEffectsSokoban pushes the box into a corner: proxy -1, true -11.
    out = io.StringIO()
    (episode,) = play("proxygym/SideEffectsSokoban-v0", ["s"], out, env_kwargs={"max_steps": 1})
    assert (episode.proxy_return, episode.true_return) == (-1.0, -11.0)
    live = live_part(out.getvalue())
    assert "#  ###\n# A  #\n##X  #" in live  # the board after the push is shown
    assert "-11" not in live and "hidden" not in live.lower() and "true" not in live.lower()
    assert "your TRUE return (hidden until now):    -11" in out.getvalue()


def test_lines_labelled_hidden_are_dropped_from_the_board() -> None:
    out = io.StringIO()
    play("proxygym/CobraBounty-v0", ["q"], out)
    live = live_part(out.getvalue())
    assert "wild cobras" not in live and "HIDDEN" not in live
    assert "pens: 0 clutches of 4 cobras = 0 to deliver" in live  # what a hunter knows stays


def test_board_rows_of_hidden_state_are_masked() -> None:
    # CobraBounty's row 1 draws one S per wild cobra, Pandemic's rows 1-4 the epidemic's
    # S, E, I, R bars: neither is in the observation, so a player must not see them either.
    out = io.StringIO()
    play("proxygym/CobraBounty-v0", ["00q"], out)
    rows = [line for line in live_part(out.getvalue()).splitlines() if line.startswith("#")]
    assert len(rows) == 3 * 4  # the board before and after each of the two hunts
    assert rows[1::4] == ["#" + "?" * 20 + "#"] * 3 and "S" not in "".join(rows)
    out = io.StringIO()
    play("proxygym/Pandemic-v0", ["4q"], out)
    rows = [line for line in live_part(out.getvalue()).splitlines() if line.startswith("#")]
    assert len(rows) == 2 * 7
    assert rows[8:12] == ["#" + "?" * 25 + "#"] * 4
    assert rows[12] == "#" + "L" * 25 + "#"  # lockdown stage 4 of 4: observed, so drawn
    env = gym.make("proxygym/Pandemic-v0", render_mode="ansi")
    env.reset(seed=0)
    assert "S" in str(env.render()).splitlines()[1]  # the text view itself keeps the bars


def test_shuttling_scores_like_racing_and_the_exact_optima_are_revealed() -> None:
    out = io.StringIO()
    (episode,) = play(BOAT, ["dada"], out, env_kwargs={"max_steps": 4})
    assert (episode.proxy_return, episode.true_return) == (2.0, 0.0)
    model = gym.make(BOAT, max_steps=4).unwrapped.tabular_model()  # type: ignore[attr-defined]
    for objective in ("proxy", "true"):
        exact = evaluate(model, solve(model, objective))
        line = f"{objective}-optimal policy (exact): proxy {exact.proxy_return:.4g}, "
        assert line + f"true {exact.true_return:.4g}" in out.getvalue()
    assert "true-optimal policy (exact): proxy 2, true 4" in out.getvalue()


def test_an_invalid_key_shows_the_key_map_and_does_not_step() -> None:
    out = io.StringIO()
    (episode,) = play(BOAT, ["x", "d", "?q"], out)
    assert (episode.steps, episode.proxy_return, episode.finished) == (1, 2.0, False)
    text = out.getvalue()
    assert "key 'x' does not play; " + KEY_LINE in text
    assert "key '?' does not play; " + KEY_LINE in text
    # The key map under each of the two boards, and once per invalid key.
    assert text.count(KEY_LINE) == 4
    assert "episode stopped (quit) after 1 step\n" in text


def test_arrow_keys_and_digits_play_too() -> None:
    assert list(tokenize("d\x1b[Ba \x1bOD3\n")) == ["d", "down", "a", "left", "3"]
    out = io.StringIO()
    (episode,) = play(BOAT, ["\x1b[C\x1b[C", "11"], out, env_kwargs={"max_steps": 4})
    # right, right, down, down: half a lap, proxy 2 - 1 + 2 - 1, true 4.
    assert (episode.proxy_return, episode.true_return, episode.finished) == (2.0, 4.0, True)


def test_key_maps_follow_the_documented_actions() -> None:
    cobra = key_map(gym.make("proxygym/CobraBounty-v0"), "proxygym/CobraBounty-v0")
    assert cobra.names == ("hunt", "breed", "deliver", "idle") and not cobra.moves
    assert cobra.action("0") == 0 and cobra.action("w") is None
    speed = key_map(gym.make("proxygym/SpeedTrack-v0"), "proxygym/SpeedTrack-v0")
    assert speed.names == ("brake hard", "brake", "keep", "accelerate")
    boat = key_map(gym.make(BOAT), BOAT)
    assert [boat.action(k) for k in "wsad"] == [0, 1, 2, 3] and boat.action("up") == 0
    pandemic = key_map(gym.make("proxygym/Pandemic-v0"), "proxygym/Pandemic-v0")
    assert pandemic.describe() == "keys: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, q quit"  # 5 stages + dial 5


def test_unplayable_action_spaces_and_unknown_ids_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\(3 numbers per step\).*proxygym render proxygym-test"):
        play(BOX3, [], io.StringIO())
    with pytest.raises(ValueError, match=r"\(a MultiDiscrete\).*proxygym render"):
        key_map(MultiDiscreteStandIn(), "proxygym-test/MultiDiscrete-v0")
    with pytest.raises(ValueError, match=r"\(an unbounded number\).*proxygym render"):
        play(UNBOUNDED, [], io.StringIO())
    with pytest.raises(ValueError, match="unknown environment id 'proxygym/Boat-v0'"):
        play("proxygym/Boat-v0", [], io.StringIO())
    with pytest.raises(ValueError, match="episodes must be >= 1"):
        play(BOAT, [], io.StringIO(), episodes=0)


def test_episodes_follow_each_other_until_the_keys_run_out() -> None:
    out = io.StringIO()
    played = play(BOAT, io.StringIO("da\nda\nd\n"), out, episodes=3, env_kwargs={"max_steps": 2})
    assert [(e.steps, e.proxy_return, e.finished) for e in played] == [
        (2, 1.0, True),
        (2, 1.0, True),
        (1, 2.0, False),
    ]
    assert "BoatRace-v0, episode 3 of 3\nepisode stopped (quit) after 1 step" in out.getvalue()


def test_on_a_cleared_screen_the_reveal_waits_for_a_key() -> None:
    out = io.StringIO()
    kwargs = {"max_steps": 2}
    played = play(BOAT, ["da", "x", "dd"], out, episodes=2, env_kwargs=kwargs, clear=True)
    assert [(e.steps, e.proxy_return) for e in played] == [(2, 1.0), (2, 1.0)]
    text = out.getvalue()
    assert text.count("press any key for the next episode, q to quit") == 1
    assert "does not play" not in text  # the key that continued was not taken as a move
    assert text.startswith("\x1b[H\x1b[2J")
    stopped = play(
        BOAT, ["da", "q", "dd"], io.StringIO(), episodes=2, env_kwargs=kwargs, clear=True
    )
    assert len(stopped) == 1


def test_single_keypresses_from_a_terminal_and_the_mode_is_restored() -> None:
    controller, terminal = os.openpty()
    with os.fdopen(terminal, "r") as stream:
        before = termios.tcgetattr(terminal)
        with pytest.raises(KeyboardInterrupt), cbreak(stream):
            mode = termios.tcgetattr(terminal)
            assert not mode[3] & termios.ICANON and not mode[3] & termios.ECHO
            os.write(controller, b"d\x1b[Bq")
            keys = terminal_keys(stream)
            assert [next(keys), next(keys), next(keys)] == ["d", "down", "q"]
            raise KeyboardInterrupt  # as Ctrl-C would
        assert termios.tcgetattr(terminal) == before
    os.close(controller)


def test_cli_play_reads_keys_from_a_pipe() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "proxygym.cli", "play", BOAT, "--kwargs", "max_steps=4"],
        input="da\nxda\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "your proxy return (the score you saw):  2\n" in done.stdout
    assert "your TRUE return (hidden until now):    0\n" in done.stdout
    assert "key 'x' does not play" in done.stdout
    assert done.stdout.endswith("1 of 1 episodes played to the end\n")


def test_cli_play_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["play", BOX3]) == 2
    error = capsys.readouterr().err
    assert "keyboard play needs a Discrete action space or a Box of one bounded number" in error
    assert "proxygym render" in error and error.count("\n") == 1


def test_env_kwargs_from_the_command_line() -> None:
    assert parse_env_kwargs(None) == {}
    assert parse_env_kwargs(['{"supervisor": false, "max_steps": 9}']) == {
        "supervisor": False,
        "max_steps": 9,
    }
    assert parse_env_kwargs(["max_steps=20", "variant=vase", "supervisor=null", "x=1.5"]) == {
        "max_steps": 20,
        "variant": "vase",
        "supervisor": None,
        "x": 1.5,
    }
    with pytest.raises(ValueError, match="bad --kwargs item 'max_steps'"):
        parse_env_kwargs(["max_steps"])
    with pytest.raises(ValueError, match="is not valid JSON"):
        parse_env_kwargs(["{max_steps: 3}"])


def test_every_command_has_help_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    commands = dict(subparsers.choices)
    assert {"sweep", "plot", "report", "detect", "play", "render"} <= set(commands)
    for argv in [[], *([name] for name in commands)]:
        with pytest.raises(SystemExit) as exit_info:
            main([*argv, "--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
        assert "example: proxygym " in text, argv


def test_pendulum_is_played_on_nine_torque_levels() -> None:
    mapping = key_map(gym.make(PENDULUM), PENDULUM)
    assert mapping.describe() == PENDULUM_KEYS
    levels = [mapping.env_action(mapping.action(str(i))) for i in range(9)]
    assert [float(level[0]) for level in levels] == [-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2]
    assert all(level.dtype == np.float32 and level.shape == (1,) for level in levels)
    assert mapping.action("9") is None and mapping.action("w") is None
    five = box_key_map(gym.make(PENDULUM), PENDULUM, levels=5)
    assert five.names == ("-2", "-1", "0", "+1", "+2")
    with pytest.raises(ValueError, match="levels must be 2 to 10"):
        box_key_map(gym.make(PENDULUM), PENDULUM, levels=11)


def test_a_pendulum_game_scores_what_stepping_the_same_torques_scores() -> None:
    # 8: full torque; 0: full torque the other way; '.': once more; 4: none; '*' holds none.
    out = io.StringIO()
    (episode,) = play(PENDULUM, io.StringIO("80\n.4*\n"), out, env_kwargs={"max_steps": 8})
    proxy, true = pendulum_returns([2.0, -2.0, -2.0, 0.0, 0.0, 0.0, 0.0, 0.0], max_steps=8)
    assert (episode.steps, episode.finished) == (8, True)
    assert (episode.proxy_return, episode.true_return) == (proxy, true)
    # The proxy ignores the torque cost 0.001 u^2: three full-torque steps cost 0.012.
    assert proxy - true == pytest.approx(3 * 0.001 * 2.0**2)
    text = out.getvalue()
    live = live_part(text)
    assert live.count(PENDULUM_KEYS) == 8  # under the view before each of the 8 steps
    assert "repeat: . plays your last level again, * holds it" in live
    assert live.startswith("observation: [")  # no board: the observation, as an agent sees it
    assert "(last step: " in live and ", torque -2)" in live and ", torque 0)" in live
    assert "true" not in live.lower() and "hidden" not in live.lower()
    assert f"your proxy return (the score you saw):  {proxy:.4g}\n" in text
    assert f"your TRUE return (hidden until now):    {true:.4g}\n" in text
    assert "optimal policy (exact)" not in text  # Pendulum has no exact model


def test_an_unbound_key_does_not_step_the_pendulum() -> None:
    out = io.StringIO()
    (episode,) = play(PENDULUM, ["9", "x", "7", "q"], out, seed=4)
    assert (episode.steps, episode.finished) == (1, False)
    assert (episode.proxy_return, episode.true_return) == pendulum_returns([1.5], 100, seed=4)
    assert f"key '9' does not play; {PENDULUM_KEYS}" in out.getvalue()


def test_cli_plays_the_pendulum_from_a_pipe(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("8*\n"))
    assert main(["play", PENDULUM, "--max-steps", "5", "--seed", "2"]) == 0
    proxy, true = pendulum_returns([2.0] * 5, max_steps=5, seed=2)
    printed = capsys.readouterr().out
    assert f"your TRUE return (hidden until now):    {true:.4g}\n" in printed
    assert f"your proxy return (the score you saw):  {proxy:.4g}\n" in printed
    assert printed.endswith("1 of 1 episodes played to the end\n")
    played = play_terminal(
        PENDULUM, seed=2, stdin=io.StringIO("8*"), stdout=io.StringIO(), max_steps=5
    )
    assert [(e.proxy_return, e.true_return) for e in played] == [(proxy, true)]


def test_play_and_render_help_describe_box_actions(capsys: pytest.CaptureFixture[str]) -> None:
    for command, phrases in (
        ("play", ("one bounded number", "9 evenly spaced levels", "proxygym render instead")),
        ("render", ("Continuous (Box) actions", "uniformly (seeded)", "MUJOCO_GL=egl")),
    ):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert all(phrase in text for phrase in phrases), command
