"""Train a model from a config: corpus → features → sequence labeller → scores → model folder → MLflow.

Usage: `storysplit train CONFIG [--set key=value ...]` or `python -m storysplit.train CONFIG`.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone
from pathlib import Path

from datasets import Dataset

from storysplit.config import Config, load_config
from storysplit.evaluation.data import SEEDS_SPEC
from storysplit.evaluation.metrics import pooled_segment_scores, weighted_segment_counts
from storysplit.evaluation.report import results_tables, write_report
from storysplit.evaluation.runner import evaluate_all
from storysplit.evaluation.tracking import log_report_to_mlflow
from storysplit.model import StorySplitModel, encoder_from_config
from storysplit.train import tracking
from storysplit.train.corpus.build import load_or_build_corpus, saved_fingerprint
from storysplit.train.corpus.sources import training_data_card
from storysplit.train.export import save_model
from storysplit.train.featurize import LabelledRows, featurize_split
from storysplit.train.fit import document_weights, fit_model, training_documents, weigh_documents

FEATURE_CACHE = Path("data/cache")
EVALUATION_SPLITS = ("validation", "seeds")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="storysplit train", description=__doc__)
    parser.add_argument("config", nargs="?", type=Path, default=Path("configs/default.yaml"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a key")
    parser.add_argument("--no-cache", action="store_true", help="recompute features instead of reusing them")
    args = parser.parse_args(argv)
    config = load_config(args.config, args.set)
    model_dir = train(config, args.config, None if args.no_cache else FEATURE_CACHE)
    print(f"model written to {model_dir}")
    return 0


def train(config: Config, config_path: Path | None, cache_dir: Path | None) -> Path:
    """Run one tracked training; returns the model folder."""
    started = time.perf_counter()
    corpus = load_or_build_corpus(config)
    encoder = encoder_from_config(config.encoder)
    with tracking.tracked_run(config, config_path) as run:
        tracking.log_provenance(saved_fingerprint(config.corpus.output_dir))
        train_split = _training_documents(corpus["train"], config)
        tracking.log_dataset(train_split, config.corpus.output_dir, "train", "training")
        rows = featurize_split(train_split, encoder, config, cache_dir, "featurise train")
        per_document = document_weights(train_split["source"], train_split["language"], config.training)
        rows = weigh_documents(rows, per_document)
        model = fit_model(rows, encoder, config)

        metrics: dict[str, float] = {"train_segments": float(len(rows.labels))}
        for split in EVALUATION_SPLITS:
            dataset = corpus[split]
            tracking.log_dataset(dataset, config.corpus.output_dir, split, "evaluation")
            split_rows = featurize_split(dataset, encoder, config, cache_dir, f"featurise {split}")
            metrics.update(_split_scores(model, split_rows, split, config.decision.threshold))
        metrics["train_seconds"] = time.perf_counter() - started

        card = training_data_card(train_split["source"])
        model_dir = save_model(model, config.training.output_dir, config, metrics, card)
        tracking.log_metrics(metrics)
        _evaluate(model, config, model_dir)
        print(f"MLflow run {run.info.run_id} ({tracking.tracking_uri(config)})")
        if config.tracking.log_model:
            uri = tracking.log_pyfunc_model(
                model_dir, [corpus["seeds"][0]["text"]], config.decision.threshold
            )
            print(f"MLflow model {uri}: {tracking.serve_command(uri, tracking.tracking_uri(config))}")
    return model_dir


def _split_scores(
    model: StorySplitModel, rows: LabelledRows, split: str, threshold: float
) -> dict[str, float]:
    """Segment scores of `split` pooled over its documents (before repeats are dropped).

    Computed by `evaluation.metrics`, like every score the evaluation report logs.
    """
    probabilities = model.labeller_probabilities(rows.features, rows.offsets)
    counts = weighted_segment_counts(rows.labels == 1, rows.weights, probabilities >= threshold)
    return {f"{split}.{name}": value for name, value in pooled_segment_scores(counts).items()}


def _evaluate(model: StorySplitModel, config: Config, model_dir: Path) -> None:
    """Score the model next to the plain-text baselines; print the table, log the report to MLflow."""
    specs = [f"{config.corpus.output_dir}:validation", SEEDS_SPEC]
    results = evaluate_all(model, specs, config.corpus.seeds_dir, config.corpus.data_dir)
    print(results_tables(results))
    report_dir = (
        Path("runs") / "train" / model_dir.name / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    )
    report = write_report(results, report_dir, {"model": str(model_dir), "data": ", ".join(specs)})
    log_report_to_mlflow(report_dir)
    print(f"report: {report.markdown}")


def _training_documents(dataset: Dataset, config: Config) -> Dataset:
    """The documents of the training split that train (`train.fit.training_documents`)."""
    return dataset.select(training_documents(dataset["source"], dataset["renderer"], config.training))
