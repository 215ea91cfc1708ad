"""The demo shows what it claims: proxy up, true objective down, figure written."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxygym.envs.gridworlds.rocks_diamonds import RocksDiamondsEnv
from proxygym.teaching import demo


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


def test_demo_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--out", str(tmp_path), "--ppo-steps", "2048", "--seeds", "1", "--workers", "1"]
    assert demo.main(args) == 0
    output = capsys.readouterr().out
    figure = tmp_path / "goodhart_curve.png"
    assert figure.read_bytes().startswith(b"\x89PNG")
    assert str(figure.resolve()) in output
    assert "Proxy rose" in output and "fell to 5" in output
    lines = output.strip().splitlines()
    assert "oracle PPO" in output
    assert lines[-3] == f"Report: {(tmp_path / 'sweep' / 'report.html').resolve()}"
    assert lines[-2].startswith("Verdict: ")
    assert (tmp_path / "sweep" / "report.html").exists()


def test_demo_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        demo.main(["--ppo-steps", "-5"])
    assert "--ppo-steps" in capsys.readouterr().err
