"""Leave one source out: for each data set, train on all the others and score on it.

The in-source validation split shares its sets' idea of "main", their site mix and their
renderers with training, so it flatters the model. Here a fold model never saw a page of the
held-out set nor any site it holds: its training documents are the corpus's `train` split less
every document of the held-out source and of any domain that source also has. It is scored on
the held-out source's `train` and `validation` documents (the `test` split stays unread), per
renderer and per language, with the oracles (`evaluation.runner.GoldOracle`, `RegionOracle`) and
the baselines beside it. The model is scored twice: reading the site evidence of the held-out
crawls (a site's pages as one renderer rendered them), and on each page alone
(`model_without_sites`), with the learned evidence alone beside (`model_learned_sites`, no
template rule) and the crude site rule alone (`model_site_rule`). Features are
computed once per split and cached, so folds only refit the labeller.

`storysplit-dev loso [--config CONFIG] [--source NAME ...]`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset, concatenate_datasets

from storysplit.artifact import MANIFEST
from storysplit.config import Config, load_config
from storysplit.errors import StorysplitError
from storysplit.evaluation.baselines import KeepAll
from storysplit.evaluation.data import EvalSet, document_from_row, document_site
from storysplit.evaluation.html_baselines import html_baselines
from storysplit.evaluation.line_rules import C4Lines
from storysplit.evaluation.methods import (
    MODEL_METHOD_NAME,
    HtmlMethod,
    ModelMethod,
    SiteLineRule,
    TextMethod,
)
from storysplit.evaluation.metrics import KIND_GROUPS, OTHER_KINDS
from storysplit.evaluation.report import group_table
from storysplit.evaluation.runner import (
    ORACLE_METHOD_NAME,
    WITHOUT_SITES_METHOD_NAME,
    SetResult,
    compact,
    evaluate_set,
)
from storysplit.evaluation.summary import by_language, by_renderer, site_interval, summarize
from storysplit.model import StorySplitModel, encoder_from_config, load_model
from storysplit.sections import DecisionConfig
from storysplit.train.corpus.build import load_or_build_corpus
from storysplit.train.corpus.sources import training_data_card
from storysplit.train.export import save_model
from storysplit.train.featurize import featurize_split
from storysplit.train.fit import document_weights, fit_model, training_documents, weigh_documents
from storysplit.train.run import FEATURE_CACHE

EVALUATED_SPLITS = ("train", "validation")
"""Splits whose held-out-source documents a fold is scored on; `test` is never read here."""
RECORDS_FILE = "documents.jsonl"
LEARNED_SITES_METHOD_NAME = "model_learned_sites"
"""The model reading site evidence without the template rule (`decision.drop_site_template`)."""


@dataclass(frozen=True)
class Fold:
    """One held-out source: which training documents its model may use and what it is scored on."""

    source: str
    train_documents: np.ndarray
    """Indices into the training split."""
    excluded_domains: frozenset[str]


@dataclass(frozen=True)
class FoldResult:
    """A fold's scores on its held-out source and what it was trained on."""

    fold: Fold
    result: SetResult
    train_documents: int
    fit_seconds: float


def plan_folds(train_split: Dataset, sources: Sequence[str]) -> list[Fold]:
    """For each source, the documents of every other source on none of its domains.

    A domain found in two sets (medium.com in WCXB and news-fixtures, say) is dropped from
    training with the held-out source, so no site is on both sides of a fold. Which of them
    train is the config's to say (`train.fit.training_documents`).
    """
    row_sources = np.array(train_split["source"])
    row_domains = np.array(train_split["domain"])
    folds = []
    for source in sources:
        held_domains = frozenset(row_domains[row_sources == source].tolist())
        keep = (row_sources != source) & ~np.isin(row_domains, list(held_domains))
        folds.append(Fold(source, np.flatnonzero(keep), held_domains))
    return folds


def held_out_documents(corpus: dict[str, Dataset], fold: Fold) -> Dataset:
    """The held-out source's documents of the evaluated splits (its `test` documents stay unread)."""
    parts = [corpus[split].filter(lambda row: row["source"] == fold.source) for split in EVALUATED_SPLITS]
    return concatenate_datasets(parts)


def run_folds(
    config: Config,
    sources: Sequence[str] | None,
    cache_dir: Path | None,
    html: bool = True,
    renderers: Sequence[str] | None = None,
    save_dir: Path | None = None,
    records: Path | None = None,
    saved: Path | None = None,
) -> list[FoldResult]:
    """Train one model per held-out source and score it there (see the module docstring).

    Args:
        config: The training config every fold uses (labeller, features, encoder, weights; folds
            train only on the sources it `trains_on`, e.g. permissively licensed sets).
        sources: Sources to hold out in turn (None: every source of the corpus but the seeds).
        cache_dir: Feature and embedding cache (None recomputes).
        html: Also score the HTML extractors on the held-out pages.
        renderers: Score only these renderings of the held-out pages (None: all).
        save_dir: Also save each fold's model as `save_dir/<source>`, for error analysis.
        records: Append each finished fold's per-document scores here (`append_fold_records`).
        saved: Score the fold models an earlier run saved here (its `save_dir`) instead of training
            them, each with this config's decision: a decision rule measured out of source in
            minutes, on the very models it was measured against.
    """
    corpus = load_or_build_corpus(config)
    train_split = corpus["train"]
    available = sorted(set(train_split["source"]))
    held_out_sources = list(sources) if sources else available
    unknown = sorted(set(held_out_sources) - set(available))
    if unknown:
        raise StorysplitError(f"unknown source(s) {unknown}; the corpus has {available}")
    fold_models = (
        SavedFolds(saved, config.decision)
        if saved is not None
        else TrainedFolds(train_split, config, cache_dir, save_dir)
    )
    methods: list[HtmlMethod] = [m for m in html_baselines() if m.name == "trafilatura_html"] if html else []
    wanted = set(renderers or ())
    results = []
    for fold in plan_folds(train_split, held_out_sources):
        started = time.perf_counter()
        model, train_documents = fold_models.model(fold)
        fit_seconds = time.perf_counter() - started
        held_out = held_out_documents(corpus, fold)
        if renderers is not None:
            held_out = held_out.filter(lambda row: row["renderer"] in wanted)
        eval_set = EvalSet(
            f"loso:{fold.source}",
            tuple(document_from_row(row, f"{fold.source} row {i}") for i, row in enumerate(held_out)),
        )
        text_methods: list[TextMethod] = [
            ModelMethod(model),
            ModelMethod(model.with_decision(drop_site_template=False), LEARNED_SITES_METHOD_NAME),
            ModelMethod(model, WITHOUT_SITES_METHOD_NAME, sites=False),
            SiteLineRule(model),
            KeepAll(),
            C4Lines(),
        ]
        result = compact(
            evaluate_set(eval_set, model.max_chars, text_methods, methods, config.corpus.data_dir)
        )
        results.append(FoldResult(fold, result, train_documents, fit_seconds))
        if records is not None:
            append_fold_records(results[-1], records)
        print(
            f"fold {fold.source}: {train_documents} training documents, fit {fit_seconds:.0f} s; "
            + fold_summary(result),
            flush=True,
        )
    return results


class TrainedFolds:
    """Fold models trained here, on the training split's rows less the held-out source's sites."""

    def __init__(
        self, train_split: Dataset, config: Config, cache_dir: Path | None, save_dir: Path | None
    ) -> None:
        self.config = config
        self.save_dir = save_dir
        self.encoder = encoder_from_config(config.encoder)
        self.rows = featurize_split(train_split, self.encoder, config, cache_dir, "featurise train")
        self.sources = np.array(train_split["source"])
        self.languages = np.array(train_split["language"])
        self.renderers = np.array(train_split["renderer"])

    def model(self, fold: Fold) -> tuple[StorySplitModel, int]:
        """The fold's model, and how many documents it trained on."""
        config = self.config
        trained = training_documents(self.sources, self.renderers, config.training, fold.train_documents)
        fold_rows = weigh_documents(
            self.rows.select_documents(trained),
            document_weights(self.sources[trained], self.languages[trained], config.training),
        )
        model = fit_model(fold_rows, self.encoder, config)
        if self.save_dir is not None:
            card = training_data_card(self.sources[trained].tolist())
            metrics = {"train_documents": float(len(trained))}
            save_model(model, self.save_dir / fold.source, config, metrics, card)
        return model, len(trained)


class SavedFolds:
    """Fold models an earlier run saved (`--save-models`), scored with another decision."""

    def __init__(self, folder: Path, decision: DecisionConfig) -> None:
        self.folder = folder
        self.decision = decision

    def model(self, fold: Fold) -> tuple[StorySplitModel, int]:
        """The saved fold's model with this run's decision, and how many documents it trained on.

        Raises:
            StorysplitError: no model was saved for the fold.
        """
        path = self.folder / fold.source
        if not (path / MANIFEST).is_file():
            raise StorysplitError(
                f"no saved fold model in {path}: --models names a run's --save-models folder"
            )
        model = load_model(path).with_decision(**dataclasses.asdict(self.decision))
        return model, int(model.manifest.get("metrics", {}).get("train_documents", 0))


def fold_summary(result: SetResult, renderer: str = "html_text") -> str:
    """One line of a fold's scores on `renderer` documents: the model's token F1, P and R, the oracles'."""
    parts = []
    for method in result.methods:
        documents = [d for d in method.documents if d.document.renderer == renderer]
        if not documents:
            continue
        summary = summarize(documents)
        detail = (
            f" (P {summary.token_precision:.3f}, R {summary.token_recall:.3f})"
            if method.name == MODEL_METHOD_NAME
            else ""
        )
        parts.append(f"{method.name} {summary.token_f1:.3f}{detail}")
    return f"{renderer}: " + ", ".join(parts)


def append_fold_records(fold_result: FoldResult, path: Path) -> None:
    """Add a finished fold's per-document scores of every method to `path` (JSON lines).

    Written as each fold ends, so a run stopped half-way keeps its finished folds. Text methods also
    record, per group of boilerplate kinds, the words they kept of all there were
    (`evaluation.metrics.kept_boilerplate_words`).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        for method in fold_result.result.methods:
            for document in method.documents:
                record = {
                    "fold": fold_result.fold.source,
                    "method": method.name,
                    "id": document.document.id,
                    "renderer": document.document.renderer,
                    "language": document.document.language,
                    "token_precision": document.tokens.precision,
                    "token_recall": document.tokens.recall,
                    "token_f1": document.tokens.f1,
                }
                if document.boilerplate_words is not None:
                    record["boilerplate_words"] = document.boilerplate_words
                out.write(json.dumps(record) + "\n")


def overview_table(results: Sequence[FoldResult], renderer: str | None = None) -> str:
    """One row per held-out source: the model, the oracle and the baselines (macro token F1)."""
    names = _method_names(results)
    title = f"renderer {renderer}" if renderer else "all renderings"
    lines = [
        f"Out-of-source token F1 ({title}; trained without the source):",
        "",
        "| held-out source | docs | " + " | ".join(names) + " |",
        "|---|---:|" + "---:|" * len(names),
    ]
    for fold_result in results:
        cells, documents = [], 0
        for name in names:
            chosen = (
                [
                    d
                    for d in fold_result.result.method(name).documents
                    if renderer is None or d.document.renderer == renderer
                ]
                if name in {m.name for m in fold_result.result.methods}
                else []
            )
            if name == MODEL_METHOD_NAME:
                documents = len(chosen)
            cells.append(f"{summarize(chosen).token_f1:.3f}" if chosen else "–")
        cells = [f"**{c}**" if n == MODEL_METHOD_NAME else c for n, c in zip(names, cells, strict=True)]
        lines.append(f"| {fold_result.fold.source} | {documents} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


FAILED_PAGE_F1 = 0.5
"""A page the model scores under this token F1 lost its story, or kept a block of boilerplate as
its story: a failure of the whole page, not of a few lines."""


def gap_table(results: Sequence[FoldResult], renderer: str = "html_text") -> str:
    """Per held-out source, where the model's gap to the oracle is: the pages it failed
    (`FAILED_PAGE_F1`) and what they cost the mean, and the rest, spread over lines of the others."""
    lines = [
        f"Where the gap to the oracle is (renderer {renderer}; failed: token F1 under {FAILED_PAGE_F1}):",
        "",
        "| held-out source | pages | model | oracle | gap | failed pages | their loss | the rest |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for fold_result in results:
        result = fold_result.result
        oracle = {
            d.document.id: d.tokens.f1
            for d in result.method(ORACLE_METHOD_NAME).documents
            if d.document.renderer == renderer
        }
        model = [
            (d.tokens.f1, oracle[d.document.id])
            for d in result.method(MODEL_METHOD_NAME).documents
            if d.document.id in oracle
        ]
        if not model:
            continue
        n = len(model)
        gap = sum(best - f1 for f1, best in model) / n
        failed = [(f1, best) for f1, best in model if f1 < FAILED_PAGE_F1]
        lost = sum(best - f1 for f1, best in failed) / n
        lines.append(
            f"| {fold_result.fold.source} | {n} | {sum(f1 for f1, _ in model) / n:.3f} | "
            f"{sum(best for _, best in model) / n:.3f} | {gap:.3f} | {len(failed)} ({len(failed) / n:.1%}) | "
            f"{lost:.3f} | {gap - lost:.3f} |"
        )
    return "\n".join(lines) + "\n"


def fold_tables(results: Sequence[FoldResult]) -> str:
    """Per held-out source: token F1 by renderer and by language, every method beside the model."""
    parts = []
    for fold_result in results:
        result = fold_result.result
        parts.append(
            f"### held out: {fold_result.fold.source} ({result.documents} documents; model trained on "
            f"{fold_result.train_documents} documents of the other sources)\n"
        )
        parts.append(group_table(result, "renderer", by_renderer))
        parts.append(group_table(result, "language", by_language))
    return "\n".join(parts)


def evaluated_rows(config: Config, columns: Sequence[str]) -> list[dict[str, Any]]:
    """`columns` of every corpus row a fold can be scored on (the `EVALUATED_SPLITS`)."""
    corpus = load_or_build_corpus(config)
    return [row for split in EVALUATED_SPLITS for row in corpus[split].select_columns(list(columns))]


def corpus_sites(config: Config) -> dict[str, str]:
    """`page_sites` of every document a fold is scored on."""
    return page_sites(evaluated_rows(config, ["id", "domain", "renderer"]))


def read_fold_records(folder: Path) -> list[dict[str, Any]]:
    """The per-document records a run wrote (`append_fold_records`)."""
    path = folder / RECORDS_FILE
    if not path.is_file():
        raise StorysplitError(f"{folder} holds no documents.jsonl of a leave-one-source-out run")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def comparison_tables(
    before: list[dict[str, Any]],
    after: list[dict[str, Any]],
    sites: Mapping[str, str],
    renderer: str = "html_text",
) -> str:
    """Two runs on the same folds, side by side on `renderer` documents: the model's token F1 (P, R)
    before → after with the oracles and trafilatura beside, then the boilerplate words the model
    kept, by kind group, before → after (the share of that group's words kept).

    The change is paired page by page (pages both runs scored) with its 95 % interval over
    `sites` (page id → crawl key, `page_sites`): two draws of one configuration differ by as much
    as most changes, so a difference counts only where its interval excludes zero.
    """

    def grouped(records: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for record in records:
            if record["renderer"] == renderer:
                groups.setdefault((record["fold"], record["method"]), []).append(record)
        return groups

    old, new = grouped(before), grouped(after)
    folds = sorted({fold for fold, _ in new} & {fold for fold, _ in old})

    def mean(records: list[dict[str, Any]] | None, key: str) -> str:
        return f"{np.mean([r[key] for r in records]):.3f}" if records else "–"

    def either(fold: str, method: str) -> list[dict[str, Any]] | None:
        return new.get((fold, method)) or old.get((fold, method))

    lines = [
        f"Token F1 on {renderer} documents, before → after (precision, recall):",
        "",
        "| held-out source | docs | before | after | after − before [95 % over sites] "
        "| oracle | region oracle | trafilatura (HTML) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for fold in folds:
        was, now = old.get((fold, MODEL_METHOD_NAME)), new.get((fold, MODEL_METHOD_NAME))
        cells = [
            f"{mean(r, 'token_f1')} ({mean(r, 'token_precision')}, {mean(r, 'token_recall')})"
            for r in (was, now)
        ]
        beside = [
            mean(either(fold, name), "token_f1") for name in ("oracle", "region_oracle", "trafilatura_html")
        ]
        lines.append(
            f"| {fold} | {len(now or [])} | {cells[0]} | **{cells[1]}** | {_paired(was, now, sites)} | "
            + " | ".join(beside)
            + " |"
        )
    groups = [*dict.fromkeys(KIND_GROUPS.values()), OTHER_KINDS]
    lines += [
        "",
        f"Boilerplate words the model kept on {renderer} documents, by kind, before → after "
        "(share of that kind's words kept; kept words in brackets):",
        "",
        "| held-out source | " + " | ".join(groups) + " |",
        "|---|" + "---:|" * len(groups),
    ]
    for fold in folds:
        cells = []
        for group in groups:
            pair = []
            for records in (old.get((fold, MODEL_METHOD_NAME)), new.get((fold, MODEL_METHOD_NAME))):
                kept = sum(r.get("boilerplate_words", {}).get(group, (0, 0))[0] for r in records or [])
                total = sum(r.get("boilerplate_words", {}).get(group, (0, 0))[1] for r in records or [])
                pair.append(f"{kept / total:.3f} ({kept:,})" if total else "–")
            cells.append(" → ".join(pair))
        lines.append(f"| {fold} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def page_sites(rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Each corpus row id's crawl key (its site as its renderer rendered it), or its own id alone."""
    return {str(row["id"]): document_site(row) or str(row["id"]) for row in rows}


def paired_cell(ids: Sequence[str], differences: Sequence[float], sites: Mapping[str, str]) -> str:
    """Markdown cell: the mean of per-page `differences` and its 95 % interval over the pages'
    `sites` (a page not in `sites` is its own site); "–" under two sites."""
    interval = site_interval([sites.get(page, page) for page in ids], differences)
    if interval is None:
        return "–"
    return f"{interval.mean:+.3f} [{interval.low:+.3f}, {interval.high:+.3f}]"


def _paired(
    before: list[dict[str, Any]] | None, after: list[dict[str, Any]] | None, sites: Mapping[str, str]
) -> str:
    """after − before in token F1 over the pages both scored, and its 95 % interval over sites."""
    was = {r["id"]: r["token_f1"] for r in before or []}
    pairs = [(r["id"], r["token_f1"] - was[r["id"]]) for r in after or [] if r["id"] in was]
    return paired_cell([page for page, _ in pairs], [change for _, change in pairs], sites)


def _method_names(results: Sequence[FoldResult]) -> list[str]:
    names: dict[str, None] = {}
    for fold_result in results:
        names.update((method.name, None) for method in fold_result.result.methods)
    return list(names)


def main(argv: list[str] | None = None) -> int:
    """`storysplit-dev loso`: train and score one fold per source."""
    parser = argparse.ArgumentParser(
        prog="storysplit-dev loso", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--config", type=Path, default=Path("configs/default.yaml"), help="training config")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a key")
    parser.add_argument("--source", action="append", help="hold out only these sources (repeatable)")
    parser.add_argument("--renderer", action="append", help="score only these renderings (repeatable)")
    parser.add_argument(
        "--save-models", type=Path, metavar="DIR", help="save each fold's model in DIR/SOURCE"
    )
    parser.add_argument(
        "--models",
        type=Path,
        metavar="DIR",
        help="score the fold models a run saved with --save-models DIR, with this config's decision, "
        "instead of training them",
    )
    parser.add_argument("--no-html", action="store_true", help="skip trafilatura on the held-out pages")
    parser.add_argument("--no-cache", action="store_true", help="recompute features instead of reusing them")
    parser.add_argument("--output", type=Path, help="report folder (default: runs/loso/<timestamp>)")
    parser.add_argument(
        "--compare-with",
        type=Path,
        metavar="DIR",
        help="an earlier run's report folder: the report adds both runs side by side",
    )
    args = parser.parse_args(argv)
    if args.models and args.save_models:
        parser.error("--models scores saved fold models; --save-models saves newly trained ones: pass one")
    before = read_fold_records(args.compare_with) if args.compare_with else None
    config = load_config(args.config, args.set)
    started = time.perf_counter()
    output = args.output or Path("runs/loso") / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    records = output / RECORDS_FILE
    records.unlink(missing_ok=True)
    results = run_folds(
        config,
        args.source,
        None if args.no_cache else FEATURE_CACHE,
        not args.no_html,
        args.renderer,
        args.save_models,
        records,
        args.models,
    )
    renderers = sorted({d.document.renderer for r in results for d in r.result.methods[0].documents})
    tables = [overview_table(results)] + [overview_table(results, name) for name in renderers]
    tables += [gap_table(results, name) for name in renderers]
    markdown = "\n".join(tables) + "\n" + fold_tables(results)
    output.mkdir(parents=True, exist_ok=True)
    context = [
        f"- config: `{args.config}` {' '.join(args.set)}",
        f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- seconds: {time.perf_counter() - started:.0f}",
    ]
    if before is not None:
        markdown = (
            f"## Compared with {args.compare_with}\n\n"
            + comparison_tables(before, read_fold_records(output), corpus_sites(config))
            + "\n"
            + markdown
        )
    report = output / "report.md"
    report.write_text("# Leave one source out\n\n" + "\n".join(context) + "\n\n" + markdown, encoding="utf-8")
    print(markdown)
    print(f"report: {report}")
    return 0
