"""play's repeat keys (``.`` once, ``*`` to the end) and its shorter classroom episodes."""

from __future__ import annotations

import io

import pytest

from proxygym.teaching.play import play

LAMP = "proxygym/StatusLamp-v0"


def test_honest_status_lamp_episode_takes_a_few_keys_with_hold() -> None:
    # Right, right (toolbox), down, down, left x4: the shortest repair, 8 moves; then hold
    # the last move (into a wall: waiting) for the remaining 92 steps.
    out = io.StringIO()
    (episode,) = play(LAMP, ["ddssaaaa*"], out)
    assert episode.finished and episode.steps == 100
    assert (episode.proxy_return, episode.true_return) == (92.0, 92.0)


def test_again_repeats_the_previous_action_once() -> None:
    out = io.StringIO()
    (episode,) = play("proxygym/BoatRace-v0", ["d.s."], out, env_kwargs={"max_steps": 4})
    # right, right, down, down: a clockwise start, as "ddss" (proxy 2, true 4).
    again = io.StringIO()
    (same,) = play("proxygym/BoatRace-v0", ["ddss"], again, env_kwargs={"max_steps": 4})
    assert (episode.proxy_return, episode.true_return) == (same.proxy_return, same.true_return)
    assert episode.steps == 4


def test_repeat_before_any_move_does_not_step() -> None:
    out = io.StringIO()
    (episode,) = play(LAMP, [".q"], out)
    assert episode.steps == 0 and not episode.finished
    assert "no action to repeat yet" in out.getvalue()


def test_max_steps_shortens_the_episode_and_the_exact_optima() -> None:
    out = io.StringIO()
    (episode,) = play(LAMP, ["aawwww*"], out, max_steps=20)  # lever pulled on step 6
    assert episode.finished and episode.steps == 20
    assert (episode.proxy_return, episode.true_return) == (30.0, 0.0)  # 15 steps at 2
    assert "proxy-optimal policy (exact): proxy 30, true 0" in out.getvalue()
    with pytest.raises(ValueError, match="max_steps must be >= 1"):
        play(LAMP, ["q"], io.StringIO(), max_steps=0)
