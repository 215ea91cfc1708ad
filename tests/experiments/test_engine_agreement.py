"""The engine-agreement experiment: its rule on planted data, and a quick run end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import engine_agreement


def _seeds(shift: float, n: int = 10, sd: float = 1.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for engine, offset in (("sb3", 0.0), ("jax", shift)):
        for s in range(n):
            value = 50 + offset + sd * rng.normal()
            rows.append(
                {
                    "env": "e",
                    "env_kwargs": "{}",
                    "engine": engine,
                    "seed": s,
                    "proxy_return": value,
                    "true_return": value / 2,
                }
            )
    return pd.DataFrame(rows)


def test_the_rule_agrees_on_equal_engines_and_not_on_a_planted_gap() -> None:
    same = engine_agreement.summarise(_seeds(0.0))
    assert same.agree.all()
    apart = engine_agreement.summarise(_seeds(5.0))  # five seed sd apart
    assert not apart.agree.any()
    assert apart.iloc[0].difference == pytest.approx(5.0, abs=1.0)


def test_false_disagreements_are_rare_at_ten_seeds() -> None:
    disagreements = sum(
        not engine_agreement.summarise(_seeds(0.0, seed=s)).iloc[0].agree for s in range(400)
    )
    assert disagreements / 400 < 0.09  # nominal 5 %


@pytest.mark.slow
def test_quick_run_writes_both_engines_per_seed(tmp_path: Path) -> None:
    pytest.importorskip("jax")
    assert engine_agreement.main(["--quick", "--out", str(tmp_path)]) == 0
    seeds = pd.read_csv(tmp_path / "per_seed.csv")
    assert sorted(seeds.engine.unique()) == ["jax", "sb3"]
    assert len(seeds) == 4 and (seeds.step == 4096).all()
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert set(summary.objective) == {"proxy", "true"}
    assert "Welch" in (tmp_path / "report.md").read_text()
