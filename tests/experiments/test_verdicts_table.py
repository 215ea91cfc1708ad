"""The table of every stored sweep's verdict: built from the records, current for docs/results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from experiments import verdicts_table
from experiments.harness import STORED_RESULTS
from proxygym.analysis.verdicts import judge
from proxygym.sweeps import results
from proxygym.sweeps.runner import run_sweep
from tests.sweeps.helpers import tiny_config


def test_each_sweep_gets_the_rules_verdict_and_its_manifest_revision(tmp_path: Path) -> None:
    root = tmp_path / "results"
    run_sweep(tiny_config(), root / "experiment_a" / "AbsentSupervisor-v0", workers=1)
    run_sweep(tiny_config(seeds=[0]), root / "experiment_b" / "one_seed", workers=1)
    table = verdicts_table.table(root)
    assert list(table["sweep"]) == [
        "experiment_a/AbsentSupervisor-v0",
        "experiment_b/one_seed",
    ]
    assert list(table["experiment"]) == ["experiment_a", "experiment_b"]
    assert list(table["n_seeds"]) == [2, 1]
    for directory, row in zip(
        [root / "experiment_a" / "AbsentSupervisor-v0", root / "experiment_b" / "one_seed"],
        table.itertuples(),
        strict=True,
    ):
        verdict = judge(results.load(directory))
        assert (row.label, row.reason) == (verdict.label, verdict.reason)
        assert row.revision == (results.read_manifest(directory).git_revision or "")
    assert set(table["label"]) == {"inconclusive"}  # 2 and 1 seeds: the rules need 10
    text = verdicts_table.report_text(table)
    assert "## experiment_a" in text and "1 sweep: inconclusive 1." in text


def test_main_writes_both_tables_and_refuses_a_missing_tree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "results"
    run_sweep(tiny_config(seeds=[0]), root / "e" / "s", workers=1)
    assert verdicts_table.main(["--results", str(root), "--out", str(tmp_path / "out")]) == 0
    written = pd.read_csv(tmp_path / "out" / "verdicts.csv")
    assert list(written["sweep"]) == ["e/s"]
    assert (tmp_path / "out" / "verdicts.md").read_text().startswith("# Every stored sweep")
    with pytest.raises(SystemExit):
        verdicts_table.main(["--results", str(tmp_path / "nowhere")])
    assert "no such directory" in capsys.readouterr().err


@pytest.mark.slow
def test_the_stored_verdict_table_is_what_the_rules_say_of_the_stored_records() -> None:
    """docs/results/verdicts.csv, which the write-ups quote, matches a recomputation."""
    stored = pd.read_csv(STORED_RESULTS / "verdicts.csv", keep_default_na=False)
    fresh = verdicts_table.table(STORED_RESULTS)
    columns = ["sweep", "n_seeds", "label", "fall", "start_fall", "reason"]
    pd.testing.assert_frame_equal(
        stored[columns].astype(str).reset_index(drop=True),
        fresh[columns].astype(str).reset_index(drop=True),
    )
