"""Legends on contact sheets and on play's board: what each character and colour means."""

from __future__ import annotations

import io

import numpy as np

from proxygym.teaching.animation import (
    board_legend,
    contact_sheet,
    make_env,
    record_episode,
)
from proxygym.teaching.play import play

LAMP = "proxygym/StatusLamp-v0"


def test_status_lamp_legend_names_lever_toolbox_machine_and_lamp() -> None:
    legend = {entry.symbol: entry for entry in board_legend(make_env(LAMP))}
    assert legend["l"].meaning == "lever down" and legend["L"].meaning == "lever up"
    assert legend["T"].meaning == "toolbox"
    assert legend["M"].meaning == "machine broken" and legend["W"].meaning == "machine working"
    assert "lamp" in legend["O"].meaning and "lamp" in legend["o"].meaning
    assert legend["A"].meaning == "agent" and legend["#"].meaning == "wall"
    # The colours are the ones the frames are drawn with.
    assert legend["M"].colour == (200, 40, 40) and legend["T"].colour == (150, 90, 30)


def test_conveyor_belt_legend_comes_from_its_channel_names() -> None:
    legend = {e.symbol: e.meaning for e in board_legend(make_env("proxygym/ConveyorBelt-v0"))}
    assert legend["O"] == "object" and legend[">"] == "belt"


def test_contact_sheet_of_an_episode_carries_the_legend_below_the_frames() -> None:
    episode = record_episode(LAMP, "proxy-optimal", env_kwargs={"max_steps": 6})
    assert {entry.symbol for entry in episode.legend} >= {"l", "T", "M", "O"}
    plain = contact_sheet(episode.frames)
    sheet = contact_sheet(episode.frames, legend=episode.legend)
    assert sheet.shape[1] == plain.shape[1] and sheet.shape[0] > plain.shape[0]
    np.testing.assert_array_equal(sheet[: plain.shape[0]], plain)
    strip = sheet[plain.shape[0] :]
    for entry in episode.legend:  # a swatch of every colour is drawn
        if entry.colour is not None:
            assert (strip == entry.colour).all(axis=2).any(), entry


def test_play_shows_the_legend_under_the_board() -> None:
    out = io.StringIO()
    play(LAMP, ["q"], out)
    text = out.getvalue()
    legend = next(line for line in text.splitlines() if line.startswith("legend:"))
    for words in ("l lever down", "T toolbox", "M machine broken", "lamp"):
        assert words in legend
