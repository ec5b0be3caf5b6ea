"""Site evidence by site size: a leave-one-source-out run's scores on pages of crawled sites and alone.

Site evidence only reaches a page whose crawl (its site as one renderer rendered it) holds at
least `MIN_SITE_PAGES` pages; every other page must score as it does without it. So a run's
per-document records (`documents.jsonl`, written by `storysplit-dev loso`) are split by the size
of each held-out page's crawl, counted over the held-out documents as the run counted them, and
each method's macro token F1 is given per fold and group. On crawled pages, the model's paired
difference with every other method comes with its 95 % interval over sites
(`evaluation.summary.site_interval`): a crawl's pages stand or fall together.

`storysplit-dev loso-sites RUN_DIR [--config CONFIG] [--renderer NAME ...]`.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from storysplit.config import load_config
from storysplit.evaluation.data import document_site
from storysplit.evaluation.methods import MODEL_METHOD_NAME
from storysplit.features.site_evidence import MIN_SITE_PAGES
from storysplit.train.loso import evaluated_rows, page_sites, paired_cell, read_fold_records

CRAWLED, ALONE = f"crawls of ≥ {MIN_SITE_PAGES} pages", "pages alone"


def crawl_groups(rows: Iterable[Mapping[str, object]]) -> dict[str, str]:
    """Each row id's group: on a crawl with at least `MIN_SITE_PAGES` pages of its source, or alone."""
    sites = {str(row["id"]): (str(row["source"]), document_site(row)) for row in rows}
    sizes = Counter(key for key in sites.values() if key[1] is not None)
    return {
        doc_id: CRAWLED if key[1] is not None and sizes[key] >= MIN_SITE_PAGES else ALONE
        for doc_id, key in sites.items()
    }


def paired_table(
    records: Iterable[Mapping[str, object]], groups: Mapping[str, str], sites: Mapping[str, str]
) -> str:
    """Markdown: per fold, on crawled pages, the model's token F1 minus each other method's, paired
    page by page, with its 95 % interval over sites ("–" under two sites)."""
    scores: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    methods: list[str] = []
    for record in records:
        doc_id, method = str(record["id"]), str(record["method"])
        if groups.get(doc_id, ALONE) != CRAWLED:
            continue
        if method != MODEL_METHOD_NAME and method not in methods:
            methods.append(method)
        scores[str(record["fold"])][method][doc_id] = float(record["token_f1"])  # type: ignore[arg-type]
    lines = [
        "| held-out source | sites | " + " | ".join(f"model − {m}" for m in methods) + " |",
        "|---|---:|" + "---:|" * len(methods),
    ]
    for fold, by_method in sorted(scores.items()):
        model = by_method.get(MODEL_METHOD_NAME, {})
        cells = []
        for method in methods:
            ids = [doc_id for doc_id in by_method.get(method, {}) if doc_id in model]
            differences = [model[doc_id] - by_method[method][doc_id] for doc_id in ids]
            cells.append(paired_cell(ids, differences, sites))
        fold_sites = len({sites.get(doc_id, doc_id) for doc_id in model})
        lines.append(f"| {fold} | {fold_sites} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def site_size_table(records: Iterable[Mapping[str, object]], groups: Mapping[str, str]) -> str:
    """Markdown: per fold and group, the documents and each method's macro token F1."""
    scores: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    methods: list[str] = []
    for record in records:
        method = str(record["method"])
        if method not in methods:
            methods.append(method)
        group = groups.get(str(record["id"]), ALONE)
        scores[str(record["fold"]), group][method].append(float(record["token_f1"]))  # type: ignore[arg-type]
    lines = [
        "| held-out source | pages | docs | " + " | ".join(methods) + " |",
        "|---|---|---:|" + "---:|" * len(methods),
    ]
    for (fold, group), by_method in sorted(scores.items()):
        docs = max(len(values) for values in by_method.values())
        cells = [f"{np.mean(by_method[m]):.3f}" if by_method.get(m) else "–" for m in methods]
        lines.append(f"| {fold} | {group} | {docs} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """`storysplit-dev loso-sites`: print a run's scores split by the size of each page's crawl."""
    parser = argparse.ArgumentParser(
        prog="storysplit-dev loso-sites", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("run", type=Path, help="a `storysplit-dev loso` report folder")
    parser.add_argument("--config", type=Path, default=Path("configs/default.yaml"), help="the run's config")
    parser.add_argument("--renderer", action="append", help="only these renderings (repeatable)")
    args = parser.parse_args(argv)
    rows = evaluated_rows(load_config(args.config), ["id", "source", "domain", "renderer"])
    groups = crawl_groups(rows)
    records = read_fold_records(args.run)
    if args.renderer:
        records = [r for r in records if r["renderer"] in args.renderer]
    print(site_size_table(records, groups))
    print(f"Paired on pages of {CRAWLED}, 95 % over sites:\n")
    print(paired_table(records, groups, page_sites(rows)), end="")
    return 0
