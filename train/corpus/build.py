"""Build the labelled corpus, or reuse the saved one when nothing that shapes it has changed.

`storysplit corpus [CONFIG] [--set key=value] [--force] [--data-card PATH]`. The flow: list the
source pages → render and label each in `num_proc` workers (`train.corpus.pages`) → assign rows
to splits by domain → compose mixtures per split and source (a mixture never holds text of two
sources, so holding a source out holds out all of it) → add the seeds → save a `DatasetDict` with a
fingerprint of config, code and inputs. Bad pages are reported at the end, never fatal.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import shutil
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict, load_from_disk
from tqdm import tqdm

from storysplit import labels
from storysplit.config import Config, CorpusConfig, config_to_dict, load_config
from storysplit.errors import StorysplitError
from storysplit.evaluation import regions
from storysplit.evaluation.regions import with_regions
from storysplit.evaluation.seeds import load_seed_rows
from storysplit.features import segmentation
from storysplit.train.corpus.agreement import agreement_rows, list_html_files
from storysplit.train.corpus.alignment import AlignmentRules
from storysplit.train.corpus.datacard import write_data_card
from storysplit.train.corpus.mixer import BoilerplatePool, MixerSettings, Story, compose_mixture
from storysplit.train.corpus.pages import PageJob, PageResult, process_page
from storysplit.train.corpus.schema import CORPUS_FEATURES, SPLITS
from storysplit.train.corpus.sources import (
    SOURCE_SETS,
    PageMeta,
    PageRef,
    input_files,
    list_pages,
    read_metadata,
)
from storysplit.train.corpus.splits import DOMAIN_SPLITS, split_for_domain

_CODE_FILES = [
    *sorted(path for path in Path(__file__).parent.glob("*.py") if path.name != "datacard.py"),
    *(Path(str(module.__file__)) for module in (segmentation, regions, labels)),
]
"""Code that shapes the rows (the data card only reports on them, so editing it keeps the cache)."""
FINGERPRINT_FILE = "fingerprint.json"
REPORT_FILE = "build_report.json"
_SHARD_BYTES = 256 * 2**20


class CorpusError(StorysplitError):
    """The corpus cannot be built: missing data or seeds, or nothing usable in them."""


@dataclass
class BuildReport:
    """What a build did: its time, page counts and every skipped page or rendering with the reason."""

    seconds: float = 0.0
    pages: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"seconds": round(self.seconds, 1), "pages": self.pages, "skipped": self.skipped}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BuildReport:
        skipped = [(str(item[0]), str(item[1])) for item in data.get("skipped", [])]
        return cls(float(data.get("seconds", 0.0)), int(data.get("pages", 0)), skipped)


def load_or_build_corpus(config: Config, force: bool = False, progress: bool = True) -> DatasetDict:
    """The corpus for `config`: loaded from `corpus.output_dir` when its fingerprint matches, else built.

    Raises:
        CorpusError: the data or seeds are missing, or no page could be used.
    """
    corpus, _ = _load_or_build(config, force, progress)
    return corpus


def saved_fingerprint(output_dir: Path) -> str:
    """The fingerprint a corpus folder was built with ("" if it has none)."""
    return str(_read_json(output_dir / FINGERPRINT_FILE).get("fingerprint", ""))


def corpus_fingerprint(config: Config) -> str:
    """Hash of everything that shapes the corpus: corpus+segmenter config, this code, input files."""
    settings = config_to_dict(config)
    data_dir, seeds_dir = config.corpus.data_dir, config.corpus.seeds_dir
    inputs = [(str(path.relative_to(data_dir)), path.stat().st_size) for path in input_files(data_dir)]
    inputs += [
        (str(path), path.stat().st_size)
        for folder in config.corpus.html_dirs
        for path in list_html_files(folder)
    ]
    inputs += [
        (f"seeds/{path.name}", path.stat().st_size) for path in sorted(seeds_dir.glob("*")) if path.is_file()
    ]
    payload = {
        "corpus": {key: value for key, value in settings["corpus"].items() if key != "num_proc"},
        "segmenter": settings["segmenter"],
        "code": {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in _CODE_FILES},
        "inputs": inputs,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def build_corpus(config: Config, progress: bool = True) -> tuple[DatasetDict, BuildReport]:
    """Build the corpus from scratch (no cache); see the module docstring for the steps.

    Raises:
        CorpusError: the data or seeds are missing, or no page could be used.
    """
    started = time.perf_counter()
    corpus_config = config.corpus
    refs = _source_pages(corpus_config)
    rules = AlignmentRules(
        max_chars=config.segmenter.max_chars,
        min_match_ratio=corpus_config.min_match_ratio,
        max_boilerplate_ratio=corpus_config.max_boilerplate_ratio,
        ambiguous_weight=corpus_config.ambiguous_weight,
    )
    report = BuildReport(pages=len(refs))
    order = {ref: index for index, ref in enumerate(refs)}
    jobs = _run_jobs(_page_jobs(refs, corpus_config, rules), corpus_config.num_proc, progress)
    # Workers finish out of order; rows are stored in page-listing order so builds are identical.
    results = sorted(jobs, key=lambda r: order[r.ref])
    rows, stories, pools = _split_pages(results, corpus_config.split_fractions, report)
    for folder in corpus_config.html_dirs:
        for row in _agreement_rows(folder, corpus_config, rules, report):
            rows[split_for_domain(row["domain"], corpus_config.split_fractions)].append(row)
    if not any(rows.values()):
        raise CorpusError(f"no usable page under {corpus_config.data_dir}; skipped: {report.skipped[:3]}")
    settings = MixerSettings(corpus_config.seed, config.segmenter.max_chars, corpus_config.ambiguous_weight)
    for (split, source), same_source in sorted(stories.items()):
        for story in tqdm(same_source, desc=f"mixtures {split} {source}", disable=not progress, leave=False):
            for index in range(corpus_config.mixtures_per_story):
                mixture = compose_mixture(story, index, same_source, pools[(split, source)], settings)
                if mixture is not None:
                    rows[split].append(mixture)
    seeds = load_seed_rows(corpus_config.seeds_dir, config.segmenter.max_chars)
    corpus = DatasetDict(
        {
            **{name: _dataset([with_regions(row) for row in rows[name]]) for name in DOMAIN_SPLITS},
            "seeds": _dataset(seeds),
        }
    )
    report.seconds = time.perf_counter() - started
    return corpus, report


def _source_pages(corpus_config: CorpusConfig) -> list[PageRef]:
    """The pages to read, once the data and the seeds are known to be there.

    Raises:
        CorpusError: the data dir or the seeds are missing, or the data dir holds no page.
    """
    if not corpus_config.data_dir.is_dir():
        raise CorpusError(f"data dir not found: {corpus_config.data_dir} (set corpus.data_dir)")
    if not (corpus_config.seeds_dir / "gold.jsonl").is_file():
        raise CorpusError(f"seeds not found: {corpus_config.seeds_dir}/gold.jsonl (set corpus.seeds_dir)")
    refs = list_pages(corpus_config.data_dir, corpus_config.max_pages, corpus_config.sources)
    if not refs:
        folders = ", ".join(f"{source.folder}/" for source in SOURCE_SETS)
        raise CorpusError(f"no pages under {corpus_config.data_dir} (expected one of {folders})")
    return refs


def _page_jobs(refs: list[PageRef], corpus_config: CorpusConfig, rules: AlignmentRules) -> list[PageJob]:
    metadata = read_metadata(corpus_config.data_dir)
    return [
        PageJob(
            data_dir=corpus_config.data_dir,
            ref=ref,
            meta=metadata.get((ref.source, ref.page_id), PageMeta()),
            renderers=tuple(corpus_config.renderers),
            rules=rules,
            min_gold_recall=corpus_config.min_gold_recall,
        )
        for ref in refs
    ]


def _split_pages(
    results: list[PageResult], fractions: tuple[float, float, float], report: BuildReport
) -> tuple[
    dict[str, list[dict[str, Any]]],
    dict[tuple[str, str], list[Story]],
    dict[tuple[str, str], BoilerplatePool],
]:
    """Each page's rows into its domain's split, and its story and boilerplate by (split, source).

    Returns:
        (rows by split, stories by (split, source), boilerplate pools by (split, source)); the
        pages' skipped renderings are added to `report`.
    """
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in DOMAIN_SPLITS}
    stories: dict[tuple[str, str], list[Story]] = defaultdict(list)
    pools: dict[tuple[str, str], BoilerplatePool] = defaultdict(BoilerplatePool)
    for result in results:
        report.skipped += result.skipped
        if result.story is None:
            continue
        split = split_for_domain(result.story.domain, fractions)
        rows[split] += result.rows
        group = (split, result.story.source)
        if result.rows:
            stories[group].append(result.story)
        for line in result.harvest:
            pools[group].add_line(result.story.domain, line)
        pools[group].add_tail(result.story.domain, result.tail)
    return rows, stories, pools


def _agreement_rows(
    folder: Path, corpus_config: CorpusConfig, rules: AlignmentRules, report: BuildReport
) -> list[dict[str, Any]]:
    """A user's own pages, labelled by the agreement of HTML extractors (`train.corpus.agreement`).

    They join the domain splits like the gold sets' pages, but no mixtures are made of them: their
    labels are the extractors' opinion, not a gold to cut stories from.
    """
    if not folder.is_dir():
        raise CorpusError(f"corpus.html_dirs: no such folder {folder}")
    found, skipped = agreement_rows(
        folder, corpus_config.renderers, rules, min_recall=corpus_config.min_gold_recall
    )
    report.skipped += skipped
    for row in found:
        row["html_path"] = str((folder / row["html_path"]).resolve())
    return found


def _dataset(rows: list[dict[str, Any]]) -> Dataset:
    """Rows as a `Dataset` with the corpus features (an empty split keeps the schema too)."""
    if not rows:
        return Dataset.from_dict({name: [] for name in CORPUS_FEATURES}, features=CORPUS_FEATURES)
    return Dataset.from_list(rows, features=CORPUS_FEATURES)


def _run_jobs(jobs: list[PageJob], num_proc: int, progress: bool) -> Iterator[PageResult]:
    bar = tqdm(total=len(jobs), desc="pages", unit="page", disable=not progress)
    if num_proc <= 1:
        for job in jobs:
            yield process_page(job)
            bar.update()
    else:
        with multiprocessing.get_context("spawn").Pool(num_proc) as pool:
            for result in pool.imap_unordered(process_page, jobs, chunksize=4):
                yield result
                bar.update()
    bar.close()


def _load_or_build(config: Config, force: bool, progress: bool) -> tuple[DatasetDict, BuildReport]:
    output_dir = config.corpus.output_dir
    fingerprint = corpus_fingerprint(config) if config.corpus.data_dir.is_dir() else ""
    stored = _read_json(output_dir / FINGERPRINT_FILE)
    if not force and fingerprint and stored.get("fingerprint") == fingerprint:
        report = BuildReport.from_json(_read_json(output_dir / REPORT_FILE))
        return load_from_disk(str(output_dir)), report
    corpus, report = build_corpus(config, progress)
    _save(corpus, report, output_dir, fingerprint)
    return corpus, report


def _save(corpus: DatasetDict, report: BuildReport, output_dir: Path, fingerprint: str) -> None:
    """Write to a sibling folder and swap it in, so a crash never leaves a half-written corpus."""
    staging = output_dir.with_name(output_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    # At least one shard per split: `datasets` cannot load back a split saved with zero shards.
    shards = {name: max(1, -(-split.data.nbytes // _SHARD_BYTES)) for name, split in corpus.items()}
    corpus.save_to_disk(str(staging), num_shards=shards)
    (staging / REPORT_FILE).write_text(json.dumps(report.to_json(), indent=1), encoding="utf-8")
    (staging / FINGERPRINT_FILE).write_text(json.dumps({"fingerprint": fingerprint}), encoding="utf-8")
    shutil.rmtree(output_dir, ignore_errors=True)
    staging.rename(output_dir)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _summary(corpus: DatasetDict, report: BuildReport) -> str:
    lines = [f"corpus built in {report.seconds:.0f} s from {report.pages} pages"]
    for name in SPLITS:
        renderers: dict[str, int] = {}
        for renderer in corpus[name]["renderer"]:
            renderers[renderer] = renderers.get(renderer, 0) + 1
        detail = ", ".join(f"{key} {value}" for key, value in sorted(renderers.items()))
        lines.append(f"  {name}: {len(corpus[name])} documents ({detail})")
    if report.skipped:
        lines.append(f"skipped {len(report.skipped)} pages or renderings:")
        lines += [f"  {doc_id}: {reason}" for doc_id, reason in report.skipped]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`storysplit corpus`: build (or reuse) the corpus and print its counts and what was skipped."""
    parser = argparse.ArgumentParser(prog="storysplit corpus", description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default="configs/default.yaml", help="YAML config file")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key"
    )
    parser.add_argument("--force", action="store_true", help="rebuild even when the saved corpus is current")
    parser.add_argument(
        "--data-card", type=Path, metavar="PATH", help="also write the data card (data/README.md)"
    )
    args = parser.parse_args(argv)
    config = load_config(args.config, args.set)
    corpus, report = _load_or_build(config, args.force, progress=True)
    print(_summary(corpus, report))
    print(f"saved to {config.corpus.output_dir}")
    if args.data_card:
        write_data_card(corpus, report.to_json(), config, args.data_card)
        print(f"data card written to {args.data_card}")
    return 0
