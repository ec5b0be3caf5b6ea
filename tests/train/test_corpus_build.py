"""The smoke corpus end to end: valid spans on every row, no shared domain, cache and skip handling."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from datasets import DatasetDict

from storysplit.config import Config, load_config
from storysplit.features.segmentation import split_document
from storysplit.labels import SegmentKind, SegmentLabel
from storysplit.train.corpus import build
from storysplit.train.corpus.build import CorpusError, load_or_build_corpus, main
from storysplit.train.corpus.datacard import SPOTCHECK_END, write_data_card
from storysplit.train.corpus.schema import CORPUS_FEATURES, SPLITS
from storysplit.train.corpus.sources import SOURCE_SETS
from tests.conftest import DATA_DIR, SEEDS_DIR

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "article.html"
AGREEMENT_FIXTURE = Path(__file__).parent / "fixtures" / "agreement_article.html"

# Builds corpora from the shared data (skipped without it).
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("data_dir", "seeds_dir")]


def _smoke_config(output_dir: Path, *overrides: str) -> Config:
    return load_config(
        ROOT / "configs" / "smoke.yaml",
        [
            f"corpus.output_dir={output_dir}",
            f"corpus.data_dir={DATA_DIR}",
            f"corpus.seeds_dir={SEEDS_DIR}",
            *overrides,
        ],
    )


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, DatasetDict]:
    config = _smoke_config(tmp_path_factory.mktemp("corpus") / "smoke")
    return config, load_or_build_corpus(config, progress=False)


def test_every_span_of_every_row_is_a_labelled_segment(smoke: tuple[Config, DatasetDict]) -> None:
    config, corpus = smoke
    assert set(corpus) == set(SPLITS)
    assert len(corpus["train"]) > 0 and len(corpus["seeds"]) == 5
    for split in SPLITS:
        assert corpus[split].features == CORPUS_FEATURES
        for row in corpus[split]:
            text, spans = row["text"], row["spans"]
            previous_end = 0
            for span in spans:
                assert previous_end <= span["start"] < span["end"] <= len(text), row["id"]
                previous_end = span["end"]
                SegmentLabel(span["label"])
                SegmentKind(span["kind"])
                assert 0.0 <= span["weight"] <= 1.0
            segments = split_document(text, config.segmenter.max_chars)
            assert [(s["start"], s["end"]) for s in spans] == [(s.start, s.end) for s in segments], row["id"]


def test_renderers_mixtures_and_main_lines_are_present(smoke: tuple[Config, DatasetDict]) -> None:
    config, corpus = smoke
    renderers = {row["renderer"] for split in ("train", "validation", "test") for row in corpus[split]}
    assert renderers == {*config.corpus.renderers, "mixture"}
    for row in corpus["train"]:
        assert any(span["label"] == "main" for span in row["spans"]), row["id"]
        if row["renderer"] == "single_line":
            assert "\n" not in row["text"]


def test_every_set_is_read_with_its_language_and_gold_origin(smoke: tuple[Config, DatasetDict]) -> None:
    _, corpus = smoke
    rows = [row for split in ("train", "validation", "test") for row in corpus[split]]
    assert {row["source"] for row in rows} == {s.name for s in SOURCE_SETS}
    origins = {row["source"]: row["gold_origin"] for row in rows}
    assert origins["news-fixtures"] == "extractor" and origins["multilingual-news"] == "agreement"
    assert origins["cleaneval"] == origins["wcxb"] == "hand"
    assert all(len(row["language"]) >= 2 for row in rows)
    assert {row["language"] for row in rows if row["source"] == "multilingual-news"} - {"en"}


def test_mixtures_never_mix_two_sources(smoke: tuple[Config, DatasetDict]) -> None:
    _, corpus = smoke
    rendered = {
        row["text"][s["start"] : s["end"]]: row["source"]
        for split in ("train", "validation", "test")
        for row in corpus[split]
        if row["renderer"] != "mixture"
        for s in row["spans"]
        if s["label"] == "main"
    }
    for row in corpus["train"]:
        if row["renderer"] != "mixture":
            continue
        for span in row["spans"]:
            line = row["text"][span["start"] : span["end"]]
            if len(line) > 80 and line in rendered and span["kind"] in ("related", "comments"):
                assert rendered[line] == row["source"], (row["id"], line)


def test_own_html_pages_are_labelled_by_agreement(tmp_path: Path) -> None:
    pages = tmp_path / "crawl"
    pages.mkdir()
    shutil.copy(AGREEMENT_FIXTURE, pages / "story.html")
    config = _smoke_config(
        tmp_path / "corpus",
        "corpus.sources=[readability]",
        "corpus.max_pages=2",
        f"corpus.html_dirs=[{pages}]",
    )
    corpus = load_or_build_corpus(config, progress=False)
    rows = [row for split in ("train", "validation", "test") for row in corpus[split]]
    own = [row for row in rows if row["source"] == "agreement"]
    assert len(own) == len(config.corpus.renderers)
    assert all(row["gold_origin"] == "agreement" and row["language"] == "en" for row in own)
    assert all(any(s["label"] == "main" for s in row["spans"]) for row in own)
    assert {row["source"] for row in rows} <= {"agreement", "readability"}


def test_no_domain_is_in_two_splits(smoke: tuple[Config, DatasetDict]) -> None:
    _, corpus = smoke
    domains = {split: set(corpus[split]["domain"]) for split in ("train", "validation", "test")}
    assert not domains["train"] & domains["validation"]
    assert not domains["train"] & domains["test"]
    assert not domains["validation"] & domains["test"]


def test_saved_corpus_is_reused_until_config_changes(
    smoke: tuple[Config, DatasetDict], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, corpus = smoke

    def no_rebuild(*args: object, **kwargs: object) -> None:
        raise AssertionError("rebuilt although nothing changed")

    monkeypatch.setattr(build, "build_corpus", no_rebuild)
    again = load_or_build_corpus(config, progress=False)
    assert again["train"]["id"] == corpus["train"]["id"]
    changed = _smoke_config(config.corpus.output_dir, "corpus.seed=99")
    with pytest.raises(AssertionError, match="rebuilt"):
        load_or_build_corpus(changed, progress=False)


def test_bad_pages_are_skipped_and_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wcxb = tmp_path / "data" / "wcxb-articles-dev"
    (wcxb / "html").mkdir(parents=True)
    (wcxb / "ground-truth").mkdir()
    story = "\n".join(
        line.strip() for line in FIXTURE.read_text(encoding="utf-8").splitlines() if "replaced" in line
    )
    gold = {"ground_truth": {"title": "Harbour Bridge Reopens After Repairs", "main_content": ""}}
    pages = {
        "0001": (FIXTURE.read_bytes(), "The harbour bridge reopened. " + story),
        "0002": (b"not gzip", "x y z"),
    }
    pages["0003"] = (FIXTURE.read_bytes(), "")
    for page_id, (html, main_content) in pages.items():
        data = gzip.compress(html) if html != b"not gzip" else html
        (wcxb / "html" / f"{page_id}.html.gz").write_bytes(data)
        gold["ground_truth"]["main_content"] = main_content
        (wcxb / "ground-truth" / f"{page_id}.json").write_text(json.dumps(gold), encoding="utf-8")
    (wcxb / "metadata.json").write_text(json.dumps({"files": {}}), encoding="utf-8")
    output = tmp_path / "corpus"
    argv = ["--set", f"corpus.data_dir={tmp_path / 'data'}", "--set", f"corpus.seeds_dir={SEEDS_DIR}"]
    argv += ["--set", f"corpus.output_dir={output}", "--set", "corpus.split_fractions=[1, 0, 0]"]
    assert main([str(ROOT / "configs" / "smoke.yaml"), *argv]) == 0
    printed = capsys.readouterr().out
    assert "wcxb-0002: wcxb-0002: " in printed and "empty gold" in printed
    assert (output / "dataset_dict.json").is_file()
    shutil.rmtree(tmp_path / "data" / "wcxb-articles-dev")
    with pytest.raises(CorpusError, match="no pages"):
        load_or_build_corpus(_smoke_config(output, f"corpus.data_dir={tmp_path / 'data'}"), progress=False)


def test_data_card_counts_kinds_and_keeps_the_spot_check(
    smoke: tuple[Config, DatasetDict], tmp_path: Path
) -> None:
    config, corpus = smoke
    card = tmp_path / "README.md"
    report = {"seconds": 3.0, "pages": 24, "skipped": [("wcxb-0002", "wcxb-0002: empty gold main_content")]}
    write_data_card(corpus, report, config, card)
    text = card.read_text(encoding="utf-8")
    body_row = next(line for line in text.splitlines() if line.startswith("| `main/body` |"))
    assert all(int(cell) > 0 for cell in body_row.strip("|").split("|")[1:])
    assert "empty gold 1" in text
    card.write_text(
        text.replace(SPOTCHECK_END, "Found two errors by hand.\n" + SPOTCHECK_END), encoding="utf-8"
    )
    write_data_card(corpus, report, config, card)
    assert "Found two errors by hand." in card.read_text(encoding="utf-8")
