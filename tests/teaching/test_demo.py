"""The demo shows what it claims: an exact inverted U, a PPO sweep, a figure and the verdict."""

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


def test_the_demo_env_s_exact_picture_is_an_inverted_u() -> None:
    points = demo.soft_optimal_curve(demo.demo_model())
    proxies = [p.proxy_return for p in points]
    trues = [p.true_return for p in points]
    assert all(b >= a - 1e-6 for a, b in zip(proxies, proxies[1:], strict=False))
    peak = trues.index(max(trues))
    assert 0 < peak < len(trues) - 1
    # a rise and a fall each of at least 10 % of the curve's range (the verdicts' MIN_EFFECT)
    span = max(trues) - min(trues)
    assert max(trues) - trues[0] > span / 10 and max(trues) - trues[-1] > span / 10


def test_demo_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--out", str(tmp_path), "--ppo-steps", "2048", "--seeds", "2", "--engine", "sb3"]
    assert demo.main([*args, "--workers", "1"]) == 0
    output = capsys.readouterr().out
    figure = tmp_path / "goodhart_curve.png"
    assert figure.read_bytes().startswith(b"\x89PNG")
    lines = output.strip().splitlines()
    assert lines[-2] == f"Figure: {figure.resolve()}"
    assert lines[-1].startswith("Verdict: Inconclusive") and "2 seed" in lines[-1]
    assert "true return of the references: oracle" in output
    assert "The mean true return peaks at checkpoint" in output
    assert (tmp_path / "sweep" / "report.html").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ppo-steps", "-5"], "--ppo-steps must be >= 0, got -5"),
        (["--seeds", "0"], "--seeds and --workers must be >= 1"),
        (["--engine", "tf"], "invalid choice: 'tf'"),
    ],
)
def test_demo_rejects_bad_arguments(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        demo.main(argv)
    assert message in capsys.readouterr().err
