"""TrafficMerge frames have a readable aspect: its contact sheet fits a page."""

from __future__ import annotations

from proxygym.teaching.animation import contact_sheet, record_episode


def test_traffic_merge_contact_sheet_is_at_most_1200_pixels_wide() -> None:
    episode = record_episode("proxygym/TrafficMerge-v0", "random", env_kwargs={"max_steps": 8})
    height, width = contact_sheet(episode.frames).shape[:2]
    assert width <= 1200 and height >= 200
    assert width / height < 4  # not a 15:1 strip (3340 x 220 before the road wrapped)
