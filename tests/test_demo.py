"""The demo shows what it claims: proxy up, true objective down, figure written."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxygym import demo
from proxygym.envs.rocks_diamonds import RocksDiamondsEnv


def test_goodhart_curve_rises_on_proxy_and_collapses_on_true() -> None:
    points = demo.goodhart_curve(RocksDiamondsEnv(level=1).tabular_model())
    proxies = [p.proxy_return for p in points]
    trues = [p.true_return for p in points]
    kls = [p.kl for p in points]
    assert all(b >= a - 1e-9 for a, b in zip(proxies, proxies[1:], strict=False))
    assert all(b >= a - 1e-9 for a, b in zip(kls, kls[1:], strict=False))
    assert max(trues) > 95 and trues[-1] < 10
    assert trues.index(max(trues)) < len(trues) - 1
    assert proxies[-1] == pytest.approx(193.0, abs=0.01)  # the proxy optimum


def test_demo_writes_the_figure_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main(["--out", str(tmp_path), "--ppo-steps", "1024"]) == 0
    output = capsys.readouterr().out
    figure = tmp_path / "goodhart_curve.png"
    assert figure.read_bytes().startswith(b"\x89PNG")
    assert str(figure.resolve()) in output
    assert "Proxy rose" in output and "fell to 5" in output
    assert "SB3 Monitor): proxy" in output and "greedy policy" in output
    assert not list(tmp_path.glob("*.tmp*")) and len(list(tmp_path.iterdir())) == 1


def test_demo_rejects_negative_budget(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        demo.main(["--ppo-steps", "-5"])
    assert "--ppo-steps" in capsys.readouterr().err
