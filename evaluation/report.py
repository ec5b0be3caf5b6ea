"""The evaluation report: Markdown tables, PNG figures and a `metrics.json` for machines.

One folder per run (`runs/eval/<timestamp>` by default) holds everything, so it can be attached to
an MLflow run or a pull request as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storysplit.evaluation.analysis import worst_documents
from storysplit.evaluation.figures import plot_calibration, plot_kind_recall, plot_threshold_curve
from storysplit.evaluation.runner import ORACLE_METHOD_NAME, MethodKind, SetResult
from storysplit.evaluation.summary import (
    Summary,
    by_language,
    by_renderer,
    by_source,
    operating_point,
    site_interval,
    summarize,
    summarize_by,
    threshold_sweep,
)
from storysplit.labels import SegmentLabel

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
SWEEP_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20))
# Methods drawn as points beside the threshold curves, where the set has them: the floor (keep
# everything), the usual line filter, the usual HTML extractor, and the ceiling of our segments.
CURVE_BASELINES = ("keep_all", "c4_lines", "trafilatura_html", ORACLE_METHOD_NAME)


@dataclass(frozen=True, slots=True)
class Report:
    """Where a written report's parts are."""

    folder: Path
    markdown: Path
    metrics: Path
    figures: tuple[Path, ...]


def slug(spec: str) -> str:
    """A data spec as a name for files and metrics: `data/corpus:validation` → `data_corpus_validation`."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", spec).strip("_") or "data"


def results_tables(results: Sequence[SetResult]) -> str:
    """The Markdown tables for every data spec: overall, by source, by renderer, kind recall."""
    return "\n".join(_set_tables(result) for result in results)


def write_report(results: Sequence[SetResult], folder: Path, context: Mapping[str, str]) -> Report:
    """Write `report.md`, `metrics.json` and the figures for `results` into `folder`.

    Args:
        results: One result per data spec.
        folder: Output folder (created).
        context: What was evaluated (model path, threshold, date...), listed at the top.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["# storysplit evaluation", ""]
    lines += [f"- {key}: `{value}`" for key, value in context.items()]
    lines.append("")
    figures: list[Path] = []
    for result in results:
        lines.append(_set_tables(result))
        set_figures = _set_figures(result, folder)
        figures += set_figures
        lines += [f"![{path.stem}]({path.name})" for path in set_figures]
        lines.append("")
        lines.append(_worst_table(result))
    markdown = folder / REPORT_FILE
    markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
    metrics = folder / METRICS_FILE
    metrics.write_text(json.dumps(metrics_record(results, context), indent=2) + "\n", encoding="utf-8")
    return Report(folder, markdown, metrics, tuple(figures))


def metrics_record(results: Sequence[SetResult], context: Mapping[str, str]) -> dict[str, Any]:
    """Every summary as plain JSON: per data spec, per method, overall and by source/renderer."""
    record: dict[str, Any] = {"context": dict(context), "data": {}}
    for result in results:
        methods: dict[str, Any] = {}
        for method in result.methods:
            overall = summarize(method.documents)
            methods[method.name] = {
                "reads": method.kind.value,
                "documents": len(method.documents),
                **overall.headline(),
                "kind_recall": {
                    f"{lab.value}/{kind.value}": v for (lab, kind), v in overall.kind_recall.items()
                },
                "by_source": {k: v.headline() for k, v in summarize_by(method, by_source).items()},
                "by_renderer": {k: v.headline() for k, v in summarize_by(method, by_renderer).items()},
            }
        record["data"][result.spec] = {
            "fingerprint": result.fingerprint,
            "documents": result.documents,
            "methods": methods,
        }
    return record


def headline_metrics(record: Mapping[str, Any]) -> dict[str, float]:
    """Flat `slug.method.metric` numbers from a `metrics_record`, for trackers."""
    flat: dict[str, float] = {}
    for spec, data in record["data"].items():
        for method, numbers in data["methods"].items():
            for key, value in numbers.items():
                if isinstance(value, int | float) and key != "documents":
                    flat[f"{slug(spec)}.{method}.{key}"] = float(value)
    return flat


def _set_tables(result: SetResult) -> str:
    lines = [
        f"## {result.spec}: {result.documents} documents (fingerprint `{result.fingerprint[:12]}`)",
        "",
        "| method | reads | docs | token F1 | token P | token R | token F1 micro | F1≥0.9 "
        "| main F1 | boilerplate F1 | accuracy | main F1 micro |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for method in result.methods:
        s = summarize(method.documents)
        segments = (
            [s.segments.main_f1, s.segments.boilerplate_f1, s.segments.accuracy, s.segments.main_f1_micro]
            if s.segments is not None
            else None
        )
        cells = [f"{v:.3f}" for v in segments] if segments else ["–"] * 4
        lines.append(
            f"| {method.name} | {method.kind.value} | {s.documents} | **{s.token_f1:.3f}** | "
            f"{s.token_precision:.3f} | {s.token_recall:.3f} | {s.token_f1_micro:.3f} | "
            f"{s.good_share:.2f} | " + " | ".join(cells) + " |"
        )
    lines.append("")
    lines.append(_site_interval_table(result))
    lines.append(group_table(result, "source", by_source))
    lines.append(group_table(result, "renderer", by_renderer))
    lines.append(group_table(result, "language", by_language))
    lines.append(_kind_table(result))
    return "\n".join(lines)


def group_table(result: SetResult, title: str, key: Callable[..., str]) -> str:
    by_method = {m.name: summarize_by(m, key) for m in result.methods}
    groups = sorted({g for summaries in by_method.values() for g in summaries})
    lines = [
        f"Token F1 (macro) by {title}:",
        "",
        "| method | " + " | ".join(groups) + " |",
        "|---|" + "---:|" * len(groups),
    ]
    for name, summaries in by_method.items():
        cells = [
            f"{summaries[g].token_f1:.3f} ({summaries[g].documents})" if g in summaries else "–"
            for g in groups
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _site_interval_table(result: SetResult) -> str:
    """Token precision and F1 with their interval over sites, where every page belongs to a site
    (crawls): a crawl's pages are not independent samples, its sites are."""
    sites = [document.document.site for document in result.methods[0].documents]
    count = len(set(sites))
    if None in sites or count < 2:
        return ""
    named = [str(site) for site in sites]
    lines = [
        "Token precision and F1 (macro) with a 95 % interval over sites (sites drawn again, "
        "`evaluation.summary.site_interval`):",
        "",
        "| method | sites | token P | token F1 |",
        "|---|---:|---:|---:|",
    ]
    for method in result.methods:  # every method scores the same documents, in the same order
        tokens = [document.tokens for document in method.documents]
        cells = []
        for score in ([t.precision for t in tokens], [t.f1 for t in tokens]):
            interval = site_interval(named, score)
            assert interval is not None  # two sites or more
            cells.append(f"{interval.mean:.3f} [{interval.low:.3f}, {interval.high:.3f}]")
        lines.append(f"| {method.name} | {count} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _kind_table(result: SetResult) -> str:
    summaries = {m.name: summarize(m.documents) for m in result.methods if m.kind is MethodKind.TEXT}
    keys = sorted({k for s in summaries.values() for k in s.kind_recall if k[0] is SegmentLabel.BOILERPLATE})
    if not keys:
        return ""
    lines = [
        "Boilerplate recall by kind (share dropped, pooled over segments):",
        "",
        "| method | " + " | ".join(kind.value for _, kind in keys) + " |",
        "|---|" + "---:|" * len(keys),
    ]
    for name, summary in summaries.items():
        cells = [f"{summary.kind_recall.get(k, 0.0):.2f}" for k in keys]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _worst_table(result: SetResult) -> str:
    text_methods = [m for m in result.methods if m.kind is MethodKind.TEXT]
    if not text_methods:
        return ""
    primary = text_methods[0]
    lines = [
        f"### Worst documents for {primary.name}",
        "",
        "| document | source | renderer | token F1 | what went wrong |",
        "|---|---|---|---:|---|",
    ]
    for worst in worst_documents(primary):
        lines.append(
            f"| {worst.id} | {worst.source} | {worst.renderer} | {worst.token_f1:.3f} | {worst.problems} |"
        )
    return "\n".join(lines) + "\n"


def _set_figures(result: SetResult, folder: Path) -> list[Path]:
    name = slug(result.spec)
    text_methods = [m for m in result.methods if m.kind is MethodKind.TEXT]
    graded = [m for m in text_methods if m.graded]
    figures = []
    if graded:
        curves = {m.name: threshold_sweep(m, SWEEP_THRESHOLDS) for m in graded}
        baselines = {
            m.name: operating_point(m) for m in result.methods if m.name in CURVE_BASELINES and m.documents
        }
        figures.append(plot_threshold_curve(curves, baselines, folder / f"{name}-threshold-curve.png"))
        figures.append(plot_calibration(graded, folder / f"{name}-calibration.png"))
    if text_methods:
        summaries: dict[str, Summary] = {m.name: summarize(m.documents) for m in text_methods}
        figures.append(plot_kind_recall(summaries, folder / f"{name}-kind-recall.png"))
    return figures
