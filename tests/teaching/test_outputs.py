"""Output files by extension: ``save_episodes`` writes .gif or .png and refuses the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from proxygym.teaching.animation import contact_sheet, record_episode, save_episodes
from tests.conftest import gif_frames

BOAT = "proxygym/BoatRace-v0"


def test_out_extension_decides_the_format(tmp_path: Path) -> None:
    recorded = [record_episode(BOAT, "random", env_kwargs={"max_steps": 5})]
    gif = save_episodes(tmp_path / "boat.gif", recorded)
    assert len(gif_frames(gif)) == 6
    with Image.open(gif) as image:
        assert image.format == "GIF"
    png = save_episodes(tmp_path / "boat.PNG", recorded)
    with Image.open(png) as image:
        assert image.format == "PNG"
        # The contact sheet with its legend: 4 frames a row, taller than the tiles alone.
        plain = contact_sheet(recorded[0].frames)
        assert image.size[0] == plain.shape[1] and image.size[1] > plain.shape[0]


@pytest.mark.parametrize("name", ["boat.jpg", "boat", "boat.gif.txt"])
def test_other_extensions_are_refused_naming_the_supported_ones(tmp_path: Path, name: str) -> None:
    recorded = [record_episode(BOAT, "random", env_kwargs={"max_steps": 2})]
    with pytest.raises(ValueError, match=r"unsupported extension.*\.gif.*\.png"):
        save_episodes(tmp_path / name, recorded)
    assert list(tmp_path.iterdir()) == []
