"""The tutorial notebook ``docs/tutorial.ipynb`` runs top to bottom and shows what it says;
the classroom handout ``docs/handout.md`` states its environments' facts correctly.

The notebook is executed once per test module with nbclient in a ``python3``
kernel of the current interpreter, from a temporary working directory and
with ``TMPDIR`` pointing there, so its sweep results land in ``tmp_path`` and
nothing is written back to ``docs/``. A probe cell appended to the in-memory
copy prints the notebook's own variables as JSON; the tests check those and
the printed text against the exact values of the environments. The handout
tests solve the environments it names and look for the numbers it quotes.

The notebook is committed with its outputs, written by
``python tools/execute_notebook.py``; one test compares them with the fresh run.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import nbformat
import pytest
from nbclient import NotebookClient

import proxygym
from proxygym.planning import tabular
from tools.execute_notebook import REFRESH, code_cells, normalise, text_outputs

DOCS = Path(__file__).resolve().parents[1] / "docs"
NOTEBOOK = DOCS / "tutorial.ipynb"
HANDOUT = DOCS / "handout.md"
PROBE_MARK = "TUTORIAL-PROBE "
#: Appended to the executed copy: the notebook's results as one JSON line.
PROBE = f"""
import json as _json
import sys as _sys
print({PROBE_MARK!r} + _json.dumps({{
    "prefix": _sys.prefix,
    "scripted": scripted,
    "exact": exact.reset_index().to_dict(orient="records"),
    "curves": {{
        str(harshness): [[p.pressure, p.proxy_return, p.true_return] for p in points]
        for harshness, points in curves.items()
    }},
    "records": frame[["policy", "level", "step", "proxy_return", "true_return"]].to_dict(
        orient="records"
    ),
    "failed": summary.failed,
    "demo": [[p.pressure, p.proxy_return, p.true_return] for p in demo_points],
    "out": str(out),
}}))
"""


@dataclass(frozen=True)
class Executed:
    """The executed notebook, its probe and every line of text it printed."""

    notebook: Any
    probe: dict[str, Any]
    text: str
    workdir: Path


def _outputs(notebook: Any) -> list[Any]:
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    return [output for cell in code for output in cell.outputs]


def _text(output: Any) -> str:
    if output.output_type == "stream":
        return str(output.text)
    return str(output.get("data", {}).get("text/plain", ""))


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Executed:
    """Run the whole notebook once: about 22 s of CPU, 55-80 s on a busy 2-core machine,
    so the tests that use it are marked slow (``make test`` runs them)."""
    workdir = tmp_path_factory.mktemp("tutorial")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", str(workdir))  # the kernel inherits it: tempfile writes here
        patch.setenv("PYTHONHASHSEED", "0")  # as tools/execute_notebook.py runs it
        NotebookClient(
            notebook,
            kernel_name="python3",
            timeout=600,
            resources={"metadata": {"path": str(workdir)}},
        ).execute()
    nbformat.write(notebook, workdir / "tutorial.executed.ipynb")
    text = "\n".join(_text(output) for output in _outputs(notebook))
    probe_lines = [line for line in text.splitlines() if line.startswith(PROBE_MARK)]
    assert len(probe_lines) == 1, "the probe cell printed nothing"
    probe = json.loads(probe_lines[0][len(PROBE_MARK) :])
    return Executed(notebook, probe, text, workdir)


def test_stored_notebook_was_executed_top_to_bottom() -> None:
    """The committed notebook is stored with its outputs (``python tools/execute_notebook.py``
    writes them): every code cell run once, in order, without an error or timing metadata."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "the tutorial has no code cells"
    for index, cell in enumerate(code):
        assert cell.execution_count == index + 1, (
            f"code cell {index} was stored with count {cell.execution_count}, not {index + 1}: "
            f"refresh the outputs with `{REFRESH}`"
        )
        assert not [o for o in cell.outputs if o.output_type == "error"], f"code cell {index}"
        assert "execution" not in cell.metadata, f"code cell {index} was stored with timings"
    assert notebook.metadata.kernelspec.name == "python3"
    shown = "\n".join(text for cell in code for text in text_outputs(cell))
    assert str(Path.home()) not in shown and "/tmp/" not in shown, "an absolute path is stored"


@pytest.mark.slow
def test_stored_outputs_are_current(executed: Executed) -> None:
    """The outputs committed with the notebook are the ones it shows when run now.

    Compared: each code cell's text (streams, ``text/plain``, ``text/html``,
    ``text/markdown``, errors) after :func:`tools.execute_notebook.normalise`
    (temporary paths, seconds, memory addresses), and which figures it shows;
    not the figures' bytes, which depend on the matplotlib and FreeType builds.
    """
    stored = code_cells(nbformat.read(NOTEBOOK, as_version=4))
    fresh = code_cells(executed.notebook)[: len(stored)]  # without the probe cell
    assert len(fresh) == len(stored)
    stale = []
    for index, (old, new) in enumerate(zip(stored, fresh, strict=True)):
        before = [normalise(text) for text in text_outputs(old)]
        now = [normalise(text, executed.workdir) for text in text_outputs(new)]
        if before != now:
            diff = difflib.unified_diff(
                "\n".join(before).splitlines(),
                "\n".join(now).splitlines(),
                "committed",
                "fresh",
                lineterm="",
            )
            first_line = old.source.splitlines()[0] if old.source else ""
            stale.append(f"code cell {index} ({first_line!r}):\n" + "\n".join(list(diff)[:20]))
    assert not stale, (
        f"the outputs committed in {NOTEBOOK.name} are not current; refresh them with "
        f"`{REFRESH}`\n\n" + "\n\n".join(stale)
    )


@pytest.mark.slow
def test_kernel_is_the_current_interpreter(executed: Executed) -> None:
    assert Path(executed.probe["prefix"]).resolve() == Path(sys.prefix).resolve()


@pytest.mark.slow
def test_boat_race_lap_and_shuttle_tie_on_the_proxy(executed: Executed) -> None:
    assert executed.probe["scripted"] == {"lap": [50.0, 100.0], "shuttle": [50.0, 0.0]}
    assert "lap      proxy    50   true   100" in executed.text
    assert "shuttle  proxy    50   true     0" in executed.text
    assert "'true_reward': 1.0" in executed.text  # the first step's info, printed
    assert "HIDDEN score (true objective, unseen):  0" in executed.text


@pytest.mark.slow
def test_exact_table_matches_the_environments(executed: Executed) -> None:
    rows = {row["env"]: row for row in executed.probe["exact"]}
    assert len(rows) == 8
    for env_id, row in rows.items():
        assert row["proxy-optimal: proxy"] >= row["true-optimal: proxy"] - 1e-9, env_id
        assert row["proxy-optimal: true"] <= row["true-optimal: true"] + 1e-9, env_id
    expected = {  # proxy-optimal (proxy, true), true-optimal (proxy, true); see each docstring
        "proxygym/BoatRace-v0": (50.0, 49.0, 50.0, 100.0),
        "proxygym/AbsentSupervisor-v0": (47.0, 17.0, 41.0, 41.0),
        "proxygym/SpeedTrack-v0": (354.0, -24.0, 207.0, 207.0),
        "proxygym/StatusLamp-v0": (190.0, 0.0, 93.37, 92.0),
        "proxygym/CobraBounty-v0": (270.0, 14.0, 31.03, 20.0),
        "proxygym/LagoonRace-v0": (73.0, 0.0, 40.0, 4.0),
    }
    columns = (
        "proxy-optimal: proxy",
        "proxy-optimal: true",
        "true-optimal: proxy",
        "true-optimal: true",
    )
    for env_id, values in expected.items():
        assert tuple(rows[env_id][column] for column in columns) == values, env_id
    assert rows["proxygym/OptionPicking-v0"]["variant"] == "regressional"
    assert (
        "SpeedTrack: the proxy-optimal policy earns proxy 354 (the true optimum: 207) "
        "but true -24 (the true optimum: 207)"
    ) in executed.text


@pytest.mark.slow
def test_demo_panel_rises_then_falls_at_the_default_dial(executed: Executed) -> None:
    """The demo's exact panel (SpeedTrack at its defaults, turbo_charge 20): along beta the
    proxy rises to its optimum 354; the true return rises from the random policy's first and
    then falls to the proxy optimum's -24."""
    points = executed.probe["demo"]
    proxy_returns = [p[1] for p in points]
    rises = zip(proxy_returns, proxy_returns[1:], strict=False)
    assert all(after >= before - 1e-6 for before, after in rises)
    assert proxy_returns[-1] == pytest.approx(354.0, abs=0.01)
    true_returns = [p[2] for p in points]
    peak = max(range(len(true_returns)), key=true_returns.__getitem__)
    assert 0 < peak < len(true_returns) - 1, "the true return should rise before it falls"
    assert true_returns[peak] > true_returns[0] + 20
    assert true_returns[-1] == pytest.approx(-24.0, abs=0.01)
    assert (
        "turbo_charge 20: proxy rose 51 -> 354; true rose 51 -> 78 (beta 0.15) and fell to -24"
        in executed.text
    )


@pytest.mark.slow
def test_pressure_raises_the_proxy_and_the_knob_sets_the_damage(executed: Executed) -> None:
    curves = {float(h): points for h, points in executed.probe["curves"].items()}
    assert sorted(curves) == [0.0, 1.0, 3.0, 6.0]
    for harshness, points in curves.items():
        proxy_returns = [p[1] for p in points]
        rises = zip(proxy_returns, proxy_returns[1:], strict=False)
        assert all(after >= before - 1e-6 for before, after in rises), harshness
        assert proxy_returns[-1] == pytest.approx(394.0, abs=0.5), harshness
    for _, proxy, true in curves[0.0]:  # harshness 0: the proxy is the true objective
        assert proxy == pytest.approx(true)
    assert curves[1.0][-1][2] > curves[1.0][0][2]
    assert curves[3.0][-1][2] < curves[3.0][0][2] - 40
    true6 = [p[2] for p in curves[6.0]]
    peak = max(range(len(true6)), key=true6.__getitem__)
    assert 0 < peak < len(true6) - 1, "harshness 6 should rise before it collapses"
    assert true6[-1] == pytest.approx(-79.0, abs=0.5)
    assert "harshness 6: proxy rose 225 -> 394; true peaked at 237 (beta 0.56) and fell to -79" in (
        executed.text
    )


@pytest.mark.slow
def test_ppo_sweep_records_a_goodhart_curve(executed: Executed) -> None:
    probe = executed.probe
    assert probe["failed"] == []
    assert Path(probe["out"]).resolve().is_relative_to(executed.workdir.resolve())
    assert (Path(probe["out"]) / "manifest.json").is_file()
    records = probe["records"]
    assert sorted({r["policy"] for r in records}) == [
        "agent",
        "oracle",
        "proxy_optimal",
        "random",
        "true_optimal",
    ]
    agent = sorted((r for r in records if r["policy"] == "agent"), key=lambda r: r["level"])
    assert [r["level"] for r in agent] == [0, 2048, 4096, 6144]
    assert [r["step"] for r in agent] == [0, 2048, 4096, 6144]
    exact = {r["policy"]: (r["proxy_return"], r["true_return"]) for r in records}
    assert exact["proxy_optimal"] == (99.0, 0.0)
    assert exact["true_optimal"] == (93.0, 92.0)
    # the oracle learns much of the repair (77.8 on one machine, 76.8 or 64.4 on
    # another: the float rounding of the CPU's kernels moves a 6,144-step run)
    assert exact["proxy_optimal"][1] + 40 < exact["oracle"][1] < exact["true_optimal"][1]
    # Training on the lamp's proxy: the proxy climbs while the true return falls
    # below its own best along training (the lever instead of the repair).
    assert agent[-1]["proxy_return"] > agent[0]["proxy_return"] + 20
    assert agent[-1]["true_return"] < max(r["true_return"] for r in agent) - 10
    assert all(math.isfinite(r["true_return"]) for r in records)
    assert "Verdict (1 seed): inconclusive: 1 seed(s)" in executed.text


@pytest.mark.slow
def test_all_three_figures_are_shown(executed: Executed) -> None:
    """The demo's exact panel, the knob's curves and the PPO sweep's Goodhart curve."""
    images = [o for o in _outputs(executed.notebook) if "image/png" in o.get("data", {})]
    assert len(images) == 3
    assert not [o for o in _outputs(executed.notebook) if o.output_type == "error"]


def _tabular_model(env_id: str, **kwargs: Any) -> tabular.TabularModel:
    """The exact model of ``env_id`` (it raises for an environment without one)."""
    env = gym.make(env_id, **kwargs).unwrapped
    model: tabular.TabularModel = env.tabular_model()  # type: ignore[attr-defined]
    return model


def _handout_variants() -> dict[str, str]:
    """The handout's four variant sections: variant name to the section's text."""
    text = HANDOUT.read_text(encoding="utf-8")
    section = text[text.index("## Four ways") : text.index("## Class activity")]
    blocks = re.split(r"\n\*\*\d\. ", section)[1:]
    return {block.split(":")[0].lower(): block for block in blocks}


def test_handout_names_environments_of_the_variant_they_illustrate() -> None:
    sections = _handout_variants()
    assert list(sections) == ["regressional", "extremal", "causal", "adversarial"]
    variants = {record.id: record.goodhart_variant for record in proxygym.list_envs()}
    for variant, block in sections.items():
        env_ids = set(re.findall(r"proxygym/\w+-v0", block))
        assert env_ids, f"the {variant} section names no environment"
        for env_id in env_ids:
            assert variants.get(env_id) == variant, f"{env_id} in the {variant} section"


@pytest.mark.parametrize(
    ("variant", "env_id", "quoted"),
    [
        # proxy-optimal policy's proxy and true return, true optimum's true return
        ("regressional", "proxygym/OptionPicking-v0", "{:.2f}"),
        ("extremal", "proxygym/SpeedTrack-v0", "{:.0f}"),
        ("causal", "proxygym/StatusLamp-v0", "{:.0f}"),
        ("adversarial", "proxygym/CobraBounty-v0", "{:.0f}"),
    ],
)
def test_handout_quotes_the_exact_returns(variant: str, env_id: str, quoted: str) -> None:
    block = _handout_variants()[variant]
    model = _tabular_model(env_id)
    by_proxy = tabular.evaluate(model, tabular.solve(model, "proxy"))
    by_true = tabular.evaluate(model, tabular.solve(model, "true"))
    for value in (by_proxy.proxy_return, by_proxy.true_return, by_true.true_return):
        # The number on its own: not part of a longer number or word, and its sign as quoted
        # (a minus sign is not a word character, so \b cannot delimit a negative number).
        number = re.escape(quoted.format(value))
        assert re.search(rf"(?<![\w.\-]){number}(?!\w|\.\d)", block), (env_id, value)


def test_handout_overstatement_grows_with_the_number_of_offers() -> None:
    """Quoted without hype (``dial=0``): at the default dial 6 offers have no exact model."""
    text = HANDOUT.read_text(encoding="utf-8")
    assert "without hype (`dial=0`)" in " ".join(text.split())
    gaps = []
    for n_options in (2, 6):
        model = _tabular_model("proxygym/OptionPicking-v0", n_options=n_options, dial=0)
        returns = tabular.evaluate(model, tabular.solve(model))
        gaps.append(returns.proxy_return - returns.true_return)
    assert gaps[1] > gaps[0]
    expected = f"by {gaps[0]:.2f} on average with 2 offers, and by {gaps[1]:.2f} with 6"
    assert expected in " ".join(text.split())


def test_handout_and_notebook_show_the_demo_picture() -> None:
    """Both show the figure ``make demo`` stores, by its path relative to ``docs/``."""
    picture = "](results/demo/goodhart_curve.png)"
    assert picture in HANDOUT.read_text(encoding="utf-8")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    markdown = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    assert any(picture in source for source in markdown)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert any("soft_optimal_curve(demo_model())" in source for source in code)
