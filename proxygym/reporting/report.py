"""A self-contained HTML report of a sweep, and its Markdown twin.

The report states the setup, what the proxy and the true objective are, how
complete the sweep is, the divergence metrics, the per-level table, the
baselines, the overoptimization fit, every figure (embedded in the HTML) and a
one-sentence verdict computed from the numbers.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from proxygym.analysis.metrics import aggregate, goodhart_metrics
from proxygym.analysis.overoptimization import fit_sweep
from proxygym.analysis.verdicts import Verdict, judge
from proxygym.registry import env_class
from proxygym.reporting.plots import plot_sweep
from proxygym.sweeps import results


@dataclass(frozen=True)
class Report:
    """Paths of the written report and its verdict."""

    html: Path
    markdown: Path
    verdict: str


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "n/a"
        return f"{value:.3g}"
    return str(value)


#: How each label of :mod:`proxygym.analysis.verdicts` opens the report's sentence.
LABEL_TEXT = {
    "goodhart": "Goodhart curve",
    "drop": "Drop",
    "gaming": "Gaming",
    "no-divergence": "No divergence",
    "inconclusive": "Inconclusive",
}


def verdict_sentence(judged: Verdict) -> str:
    """The verdict of :func:`proxygym.analysis.verdicts.judge` as the report's one sentence."""
    reason = judged.reason[:1].upper() + judged.reason[1:]
    return f"{LABEL_TEXT[judged.label]}: {reason}"


def verdict(frame: pd.DataFrame) -> str:
    """One sentence with numbers: what the sweep shows, by :mod:`proxygym.analysis.verdicts`."""
    return verdict_sentence(judge(frame))


def _card(env_id: str) -> tuple[str, str, str]:
    """(proxy, true objective, Goodhart variant) as the environment states them."""
    card = getattr(env_class(env_id), "card", None)
    if card is None:
        return "not stated", "not stated", "not stated"
    return card.proxy, card.true_objective, card.goodhart_variant


def _table(header: list[str], rows: list[list[str]]) -> tuple[str, str]:
    """The same table as HTML and as Markdown."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell, quote=False)}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    markdown = "\n".join(
        ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        + ["| " + " | ".join(row) + " |" for row in rows]
    )
    return f"<table><tr>{head}</tr>{body}</table>", markdown


def markdown_table(frame: pd.DataFrame) -> str:
    """``frame`` as a Markdown table, numbers to 3 significant digits, NaN as n/a."""
    rows = [[_fmt(value) for value in row] for row in frame.itertuples(index=False)]
    return _table([str(column) for column in frame.columns], rows)[1]


def _interval(row: Any, metric: str) -> str:
    mean, low, high = (_fmt(row[f"{metric}_{part}"]) for part in ("mean", "low", "high"))
    return f"{mean} [{low}, {high}]"


def write_report(directory: str | Path, out: str | Path | None = None) -> Report:
    """Write ``report.html`` and ``report.md`` (default: into ``directory``)."""
    directory = Path(directory)
    out = Path(out) if out is not None else directory
    frame = results.load(directory)
    if not (frame["policy"] == "agent").any():
        raise ValueError(f"{directory} has no finished agent cells to report on yet")
    manifest = results.read_manifest(directory)  # imports the config's modules too
    config = manifest.config
    state = results.status(directory)
    metrics = goodhart_metrics(frame)
    summary = aggregate(frame)
    judged = judge(frame)
    sentence = verdict_sentence(judged)
    figures = plot_sweep(directory, out / "figures")
    proxy, true_objective, variant = _card(config.env)

    sections: list[tuple[str, str, str]] = []  # (title, html, markdown)

    def add(title: str, html_part: str, markdown_part: str) -> None:
        sections.append((title, html_part, markdown_part))

    setup_rows = [
        ["environment", f"{config.env} {config.env_kwargs or ''}".strip()],
        ["proxy (what the agent is trained on)", proxy],
        ["true objective (hidden)", true_objective],
        ["Goodhart variant", variant],
        ["algorithm", config.algo.upper()],
        ["training steps per run", f"{config.timesteps:,}"],
        ["seeds", ", ".join(map(str, config.seeds))],
        ["evaluation episodes", str(config.eval_episodes)],
        ["pressure axis", f"{config.axis}: {', '.join(map(_fmt, config.levels))}"],
        ["versions", ", ".join(f"{k} {v}" for k, v in manifest.versions.items())],
        ["git revision", str(manifest.git_revision)],
    ]
    add("Setup", *_table(["", ""], setup_rows))

    planned = len(state["done"]) + len(state["failed"]) + len(state["missing"])
    completeness = f"{len(state['done'])} of {planned} cells finished."
    if state["missing"]:
        completeness += (
            f" Missing (sweep interrupted or still running): {', '.join(state['missing'])}."
        )
    if state["failed"]:
        completeness += (
            f" Failed (tracebacks in cells/*.failed.json): {', '.join(state['failed'])}."
        )
    add("Completeness", f"<p>{html.escape(completeness, quote=False)}</p>", completeness)

    def estimate(value: Any) -> str:
        return "n/a" if value is None else value.text()

    transitions = "; ".join(
        f"{_fmt(t.before)} -> {_fmt(t.after)}: {_fmt(t.size)} (p = {t.p_value:.2g})"
        for t in judged.phase_transitions
    )
    references = ", ".join(
        f"{name} {'valid' if ok else 'fails the gate'}"
        for name, ok in judged.references_valid.items()
    )
    metric_rows = [
        ["verdict (proxygym.analysis.verdicts)", judged.label],
        ["seeds with records at every level", str(judged.n_seeds)],
        ["rise to the peak, cross-fitted [95% CI]", estimate(judged.rise)],
        ["fall from the peak, cross-fitted [95% CI]", estimate(judged.fall)],
        ["fall from the start [95% CI]", estimate(judged.start_fall)],
        ["shortfall below the gamed reference [95% CI]", estimate(judged.shortfall)],
        ["normalised drop height (peak - last) / reference range", _fmt(judged.ndh)],
        ["Goodhart point (only for a Goodhart curve)", _fmt(judged.goodhart_point)],
        ["phase transitions (sign-flip test, Holm)", transitions or "none"],
        ["references (gate: each must beat random)", references or "none"],
        ["Kendall tau (proxy vs true along the levels, means)", _fmt(metrics.kendall_tau)],
    ]
    add("Divergence metrics", *_table(["metric", "value"], metric_rows))

    level_rows = [
        [
            _fmt(row["level"]),
            str(int(row["seeds"])),
            _interval(row, "proxy_return"),
            _interval(row, "true_return"),
            _interval(row, "true_score"),
            _fmt(row["kl_from_init_mean"]),
        ]
        for _, row in summary.iterrows()
    ]
    add(
        "Per level (mean [95% CI] across seeds)",
        *_table(["level", "seeds", "proxy", "true", "normalised true", "KL from init"], level_rows),
    )

    baseline_rows = baseline_table(frame)
    if baseline_rows:
        add(
            "Baselines (per level; seeds averaged)",
            *_table(["policy", "level", "records", "proxy", "true"], baseline_rows),
        )

    fit_text = _fit_summary(frame)
    add("Overoptimization fit", f"<p>{html.escape(fit_text, quote=False)}</p>", fit_text)

    pngs = [path for path in figures if path.suffix == ".png"]
    figure_html = "".join(
        f'<figure><img alt="{path.stem}" src="data:image/png;base64,'
        f'{base64.b64encode(path.read_bytes()).decode()}"><figcaption>{path.stem}</figcaption></figure>'
        for path in pngs
    )
    figure_md = "\n\n".join(f"![{path.stem}]({path.relative_to(out).as_posix()})" for path in pngs)
    add("Figures", figure_html, figure_md)

    title = f"proxygym report: {config.name}"
    html_doc = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}"
        "img{max-width:100%}figure{margin:1em 0}.verdict{font-size:1.1em;font-weight:bold}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>"
        f"<p class='verdict'>{html.escape(sentence, quote=False)}</p>"
        + "".join(f"<h2>{html.escape(t)}</h2>{h}" for t, h, _ in sections)
        + "</body></html>\n"
    )
    markdown_doc = (
        f"# {title}\n\n**{sentence}**\n\n"
        + "\n\n".join(f"## {t}\n\n{m}" for t, _, m in sections)
        + "\n"
    )
    html_path, markdown_path = out / "report.html", out / "report.md"
    results.write_atomic(html_path, html_doc.encode())
    results.write_atomic(markdown_path, markdown_doc.encode())
    return Report(html_path, markdown_path, sentence)


def baseline_table(frame: pd.DataFrame) -> list[list[str]]:
    """Rows (policy, level, records, proxy, true) of the reference policies, one per level.

    A knob changes the environment, so its references are never averaged
    across levels; references recorded once for all levels say "every level".
    """
    baselines = frame[frame["policy"] != "agent"]
    level = baselines["level"].astype(object).where(baselines["level"].notna(), "every level")
    return [
        [
            str(policy),
            _fmt(at),
            str(len(rows)),
            _fmt(rows["proxy_return"].mean()),
            _fmt(rows["true_return"].mean()),
        ]
        for (policy, at), rows in baselines.assign(level=level).groupby(
            ["policy", "level"], sort=False
        )
    ]


def _fit_summary(frame: pd.DataFrame) -> str:
    fitted = fit_sweep(frame)
    if isinstance(fitted, str):
        return f"Not shown: {fitted}."
    fit = fitted.fit
    shape = "d(alpha - beta d)" if fit.form == "bon" else "d(alpha - beta log d)"
    peak = (
        f"predicted peak at d = {_fmt(fit.d_star)} with gain {_fmt(fit.peak_value)}"
        if fit.d_star is not None and math.isfinite(fit.d_star)
        else "no interior peak (beta <= 0)"
    )
    return (
        f"True return gain over {_fmt(fitted.reference)} (d = 0) against d = sqrt(KL): "
        f"R(d) = {shape} with alpha = {_fmt(fit.alpha)}, beta = {_fmt(fit.beta)}, "
        f"R^2 = {_fmt(fit.r_squared)} on {fit.n_points} evaluations; {peak}."
    )
