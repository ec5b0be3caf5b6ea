"""Report figures as PNG files: threshold curve, reliability diagram and per-kind recall bars.

Figures are drawn with matplotlib's Agg backend, imported here only, so nothing needs a display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from storysplit.evaluation.runner import MethodResult
from storysplit.evaluation.summary import Summary, ThresholdPoint
from storysplit.labels import SegmentLabel

CALIBRATION_BINS = 10


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_threshold_curve(
    curves: Mapping[str, Sequence[ThresholdPoint]], baselines: Mapping[str, ThresholdPoint], path: Path
) -> Path:
    """Precision against recall as the threshold on p(main) moves, token-level and segment-level.

    Methods without a threshold (`baselines`: rules, HTML extractors, the oracle) are points. The
    axes are zoomed to the points drawn: on a 0-1 square the curves of good methods crowd into one
    corner, where the differences that matter are.
    """
    plt = _pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    markers = dict(zip(baselines, "sDP^vX*o", strict=False))  # one marker per baseline, both panels
    for axis, level in zip(axes, ("token", "segment"), strict=True):
        xs: list[float] = []
        ys: list[float] = []
        for name, points in curves.items():
            recall = [getattr(p, f"{level}_recall") for p in points]
            precision = [getattr(p, f"{level}_precision") for p in points]
            (line,) = axis.plot(recall, precision, marker=".", label=name)
            for point, x, y in zip(points, recall, precision, strict=True):
                if round(point.threshold * 100) % 20 == 10:
                    axis.annotate(f"{point.threshold:.1f}", (x, y), fontsize=7, color=line.get_color())
            xs += recall
            ys += precision
        for name, point in baselines.items():
            x, y = getattr(point, f"{level}_recall"), getattr(point, f"{level}_precision")
            if np.isfinite(x) and np.isfinite(y):
                axis.scatter(
                    [x], [y], marker=markers.get(name, "o"), s=40, color="dimgrey", label=name, zorder=3
                )
                xs.append(x)
                ys.append(y)
        axis.set(xlabel="recall", ylabel="precision", xlim=_zoomed(xs), ylim=_zoomed(ys))
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    axes[0].set_title("tokens (macro over documents)")
    axes[1].set_title("main segments (pooled)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _zoomed(values: Sequence[float], margin: float = 0.03) -> tuple[float, float]:
    """Axis limits around `values` (with a margin), inside [0, 1] plus room for points at 1."""
    finite = [v for v in values if np.isfinite(v)] or [0.0, 1.0]
    low, high = min(finite), max(finite)
    pad = max(margin, 0.05 * (high - low))
    return max(0.0, low - pad), min(1.0 + margin, high + pad)


def plot_calibration(results: Sequence[MethodResult], path: Path, bins: int = CALIBRATION_BINS) -> Path:
    """Reliability diagram: mean p(main) per bin against the weighted share of gold main segments."""
    plt = _pyplot()
    figure, (diagram, histogram) = plt.subplots(
        2, 1, figsize=(5.5, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    diagram.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    edges = np.linspace(0.0, 1.0, bins + 1)
    for result in results:
        probabilities, truth, weights = _pooled_probabilities(result)
        which = np.clip(np.digitize(probabilities, edges[1:-1]), 0, bins - 1)
        mean_p, share, mass = [], [], []
        for b in range(bins):
            mask = which == b
            if weights[mask].sum() > 0:
                mean_p.append(float(np.average(probabilities[mask], weights=weights[mask])))
                share.append(float(np.average(truth[mask], weights=weights[mask])))
            mass.append(float(weights[mask].sum()))
        diagram.plot(mean_p, share, marker="o", label=result.name)
        histogram.bar(edges[:-1], mass, width=1.0 / bins, align="edge", alpha=0.5, label=result.name)
    diagram.set(ylabel="share of gold main", title="calibration of p(main) per segment", ylim=(0, 1))
    diagram.legend(fontsize=8)
    diagram.grid(alpha=0.3)
    histogram.set(xlabel="predicted p(main)", ylabel="segments")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_kind_recall(summaries: dict[str, Summary], path: Path) -> Path:
    """Grouped bars: share of each boilerplate kind dropped (and main kind kept), per method."""
    plt = _pyplot()
    figure = kind_recall_figure(summaries)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def kind_recall_figure(summaries: dict[str, Summary]) -> Any:
    """The per-kind recall bars, with the methods' legend right of the axes: inside, it hid bars
    (recall near 1 fills the top of the plot, where a legend goes)."""
    plt = _pyplot()
    keys = sorted({key for s in summaries.values() for key in s.kind_recall})
    figure, axis = plt.subplots(figsize=(max(6.0, 0.9 * len(keys) + 2) + 2.0, 4.5), layout="constrained")
    width = 0.8 / max(1, len(summaries))
    positions = np.arange(len(keys))
    for offset, (name, summary) in enumerate(summaries.items()):
        values = [summary.kind_recall.get(key, np.nan) for key in keys]
        axis.bar(positions + offset * width, values, width=width, label=name)
    verbs = {SegmentLabel.MAIN: "kept", SegmentLabel.BOILERPLATE: "dropped"}
    labels = [f"{kind.value}\n({verbs[label]})" for label, kind in keys]
    axis.set_xticks(positions + width * (len(summaries) - 1) / 2, labels, fontsize=8)
    axis.set(ylabel="recall", ylim=(0, 1.05), title="per-kind recall: boilerplate dropped, main kept")
    axis.grid(axis="y", alpha=0.3)
    figure.legend(loc="outside right upper", fontsize=7)
    return figure


def _pooled_probabilities(result: MethodResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All segments' p(main), gold main (0/1) and weight, weight-0 segments left out."""
    probabilities, truth, weights = [], [], []
    for document in result.documents:
        if document.decisions is None:
            raise ValueError(f"{result.name} reads HTML; it has no probabilities")
        probabilities.append(document.decisions.probabilities)
        truth.append([g.label is SegmentLabel.MAIN for g in document.prepared.gold])
        weights.append([g.weight for g in document.prepared.gold])
    p = np.concatenate(probabilities) if probabilities else np.zeros(0)
    t = np.concatenate(truth).astype(np.float64) if truth else np.zeros(0)
    w = np.concatenate(weights).astype(np.float64) if weights else np.zeros(0)
    keep = w > 0
    return p[keep], t[keep], w[keep]
