from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from storysplit import ModelLoadError, SegmentLabel, load_model
from storysplit.bundled import DEFAULT_MODEL, bundled_encoder
from storysplit.features.segmentation import split_document
from storysplit.model import LabelledSegment, StorySplitModel, join_segments, locate_encoder
from storysplit.sequence_head import SequenceHead


@pytest.fixture()
def model_copy(tiny_model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def test_a_saved_and_loaded_model_gives_the_in_memory_models_probabilities(
    tiny_model: StorySplitModel, tiny_model_dir: Path, seed_rows: list[dict[str, Any]]
) -> None:
    """The folder's labeller, manifest and encoder rebuild the fitted model exactly."""
    texts = [r["text"] for r in seed_rows] + [
        "Headline here\n\nA story paragraph that reads like prose, with a second clause.\nShare • Tweet",
        "One line only",
    ]
    loaded = load_model(tiny_model_dir)
    assert isinstance(loaded.labeller, SequenceHead) and loaded.labeller is not tiny_model.labeller
    expected = tiny_model.predict_proba(texts)
    got = loaded.predict_proba(texts)
    assert [len(p) for p in got] == [len(p) for p in expected]
    for want, have in zip(expected, got, strict=True):
        np.testing.assert_array_equal(have, want)
    assert [s.label for s in loaded.segment(texts[0])] == [s.label for s in tiny_model.segment(texts[0])]


def test_segments_match_the_segmenter_and_labels_follow_threshold(
    tiny_model_dir: Path, seed_rows: list[dict[str, Any]]
) -> None:
    model = load_model(tiny_model_dir)
    text = seed_rows[0]["text"]
    labelled = model.segment(text, threshold=0.3)
    assert [(s.start, s.end) for s in labelled] == [(s.start, s.end) for s in split_document(text)]
    for segment in labelled:
        assert (segment.label is SegmentLabel.MAIN) == (segment.probability >= 0.3)
    kept = [s for s in labelled if s.label is SegmentLabel.MAIN]
    assert model.extract(text, threshold=0.3) == join_segments(text, kept)


def test_batched_and_single_calls_agree(tiny_model_dir: Path, seed_rows: list[dict[str, Any]]) -> None:
    model = load_model(tiny_model_dir)
    texts = [r["text"] for r in seed_rows]
    batched = model.segment_many(texts)
    single = [model.segment(t) for t in texts]
    for many, one in zip(batched, single, strict=True):
        assert [(s.start, s.end, s.label) for s in many] == [(s.start, s.end, s.label) for s in one]
        # float32 products of another batch size round differently, in the last bits only.
        np.testing.assert_allclose([s.probability for s in many], [s.probability for s in one], atol=1e-6)
    assert model.segment_many([]) == []


def test_kept_and_removed_text_partition_the_segments(tiny_model_dir: Path) -> None:
    model = load_model(tiny_model_dir)
    text = "Headline here\r\n\r\nA story paragraph that reads like prose.\rLatest • Most Viewed\n😀"
    labelled = model.segment(text)
    kept = [s for s in labelled if s.label is SegmentLabel.MAIN]
    dropped = [s for s in labelled if s.label is not SegmentLabel.MAIN]
    assert sorted(kept + dropped, key=lambda s: s.start) == labelled
    assert [text[s.start : s.end] for s in labelled] == [s.text for s in split_document(text)]


def test_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        load_model(tmp_path / "nope")
    with pytest.raises(ModelLoadError, match=r"manifest\.json is missing"):
        load_model(tmp_path)


def test_tampered_labeller_is_refused(model_copy: Path) -> None:
    labeller = model_copy / "labeller.npz"
    labeller.write_bytes(labeller.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelLoadError, match=r"labeller\.npz does not match its checksum"):
        load_model(model_copy)


def test_a_folder_holds_the_labeller_and_signs_it(tiny_model_dir: Path) -> None:
    manifest = json.loads((tiny_model_dir / "manifest.json").read_text())
    assert manifest["schema_version"] == 3 and set(manifest["files"]) == {"labeller.npz"}
    assert {p.name for p in tiny_model_dir.iterdir()} == {"labeller.npz", "manifest.json"}
    assert isinstance(load_model(tiny_model_dir).labeller, SequenceHead)


def test_a_folder_of_an_older_schema_is_refused_with_the_fix(model_copy: Path) -> None:
    _sign_files(model_copy, schema_version=2)
    with pytest.raises(ModelLoadError, match=r"schema version 2; this storysplit reads version 3 \(retrain"):
        load_model(model_copy)


def test_a_labeller_with_a_wrong_array_is_refused(model_copy: Path) -> None:
    path = model_copy / "labeller.npz"
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    weight = arrays["project.weight"]
    arrays["project.weight"] = weight[:, :-1]
    np.savez(path, **arrays)
    _sign_files(model_copy)
    with pytest.raises(ModelLoadError, match=r"not a valid sequence head: array 'mean' has shape"):
        load_model(model_copy)
    arrays["project.weight"] = np.where(np.arange(weight.size).reshape(weight.shape) == 7, np.nan, weight)
    np.savez(path, **arrays)
    _sign_files(model_copy)
    with pytest.raises(ModelLoadError, match=r"array 'project.weight' must hold finite"):
        load_model(model_copy)


def test_planted_pickle_is_refused(model_copy: Path) -> None:
    (model_copy / "extra.pkl").write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(ModelLoadError, match=r"does not list.*extra\.pkl"):
        load_model(model_copy)


def test_corrupt_or_foreign_manifest_is_refused(model_copy: Path) -> None:
    manifest_path = model_copy / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "schema_version": 99}))
    with pytest.raises(ModelLoadError, match="schema version 99"):
        load_model(model_copy)
    manifest_path.write_text(json.dumps({**manifest, "feature_version": "0"}))
    with pytest.raises(ModelLoadError, match="feature version"):
        load_model(model_copy)
    manifest_path.write_text(json.dumps({**manifest, "encoder": {**manifest["encoder"], "fingerprint": "x"}}))
    with pytest.raises(ModelLoadError, match="not the one this labeller was trained with"):
        load_model(model_copy)
    manifest_path.write_text(json.dumps({**manifest, "decision": {**manifest["decision"], "threshold": 2}}))
    with pytest.raises(ModelLoadError, match=r"invalid: threshold: must be between 0 and 1"):
        load_model(model_copy)
    manifest_path.write_text(json.dumps({**manifest, "segmenter": {"max_chars": 400, "max_char": 3}}))
    with pytest.raises(ModelLoadError, match=r"invalid: max_char: unknown key"):
        load_model(model_copy)
    manifest_path.write_text("{not json")
    with pytest.raises(ModelLoadError, match="corrupt"):
        load_model(model_copy)


def test_wrong_input_types_are_named(tiny_model_dir: Path) -> None:
    model = load_model(tiny_model_dir)
    with pytest.raises(TypeError, match="got one str; use segment"):
        model.segment_many("a document passed where a list belongs")
    with pytest.raises(TypeError, match="document 1 is bytes, not str"):
        model.extract_many(["fine", b"raw bytes"])


def test_lone_surrogates_are_labelled_not_fatal(tiny_model_dir: Path) -> None:
    # JSON "\ud800" decodes to a lone surrogate, which the encoders cannot take as UTF-8.
    text = "Headline \ud800 here\nA story paragraph that reads like prose.\n" + "word \udfff " * 300
    labelled = load_model(tiny_model_dir).segment(text)
    assert [(s.start, s.end) for s in labelled] == [(s.start, s.end) for s in split_document(text)]
    assert "\ud800" in text[labelled[0].start : labelled[0].end]


class _Payload:
    """Unpickling this creates `marker`: proof that a loader unpickled it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def _sign_files(folder: Path, schema_version: int | None = None) -> None:
    """Rewrite the manifest's checksums to match the folder, as someone tampering with it would."""
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    files = [p for p in folder.iterdir() if p.name != "manifest.json"]
    manifest["files"] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    if schema_version is not None:
        manifest["schema_version"] = schema_version
    manifest_path.write_text(json.dumps(manifest))


def test_a_pickle_is_never_unpickled_even_when_listed(model_copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(_Payload(marker))
    assert not marker.exists()
    (model_copy / "extra.pkl").write_bytes(payload)
    _sign_files(model_copy)
    with pytest.raises(ModelLoadError, match=r"not a model's, refusing: \['extra\.pkl'\]"):
        load_model(model_copy)
    (model_copy / "extra.pkl").unlink()
    (model_copy / "labeller.npz").write_bytes(payload)  # a pickle under the labeller's name
    _sign_files(model_copy)
    with pytest.raises(ModelLoadError, match=r"labeller\.npz is corrupt or not a sequence head"):
        load_model(model_copy)
    assert not marker.exists()
    pickle.loads(payload)  # the payload works: loading it would have created the marker
    assert marker.exists()


def test_join_keeps_sentences_of_one_line_together_and_breaks_where_splitlines_does() -> None:
    text = "One. Two.\x1cThree\u2028Four\r\nFive"
    segments = [
        LabelledSegment(start, end, SegmentLabel.MAIN, 1.0)
        for start, end in [(0, 4), (5, 9), (10, 15), (16, 20), (22, 26)]
    ]
    assert join_segments(text, segments) == "One. Two.\nThree\nFour\nFive"
    assert join_segments(text, []) == ""


def test_join_keeps_a_blank_line_where_the_input_has_one_between_kept_segments() -> None:
    text = (
        "Title\n\nFirst paragraph. Its second sentence.\nSame paragraph.\r\n \t\r\nMenu\n\n"
        "Last.\u2029\u2029End"
    )
    pieces = ["Title", "First paragraph.", "Its second sentence.", "Same paragraph.", "Menu", "Last.", "End"]
    segments, position = {}, 0
    for piece in pieces:
        start = text.index(piece, position)
        segments[piece] = LabelledSegment(start, start + len(piece), SegmentLabel.MAIN, 1.0)
        position = start + len(piece)
    everything = list(segments.values())
    assert join_segments(text, everything) == (
        "Title\n\nFirst paragraph. Its second sentence.\nSame paragraph.\n\nMenu\n\nLast.\n\nEnd"
    )
    without_menu = [s for piece, s in segments.items() if piece != "Menu"]
    # The blank lines around the dropped menu still part its neighbours.
    assert join_segments(text, without_menu).endswith("Same paragraph.\n\nLast.\n\nEnd")
    adjacent = [segments["Its second sentence."], segments["Same paragraph."]]
    assert join_segments(text, adjacent) == "Its second sentence.\nSame paragraph."


PAGE = "Home\nThe council approved the budget on Tuesday after a long debate about school funding.\n"


def test_no_argument_or_the_shipped_name_loads_the_shipped_model_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    default = load_model()
    assert load_model("default").manifest_sha256 == default.manifest_sha256
    assert default.manifest_sha256 == load_model(DEFAULT_MODEL).manifest_sha256
    assert default.extract(PAGE)
    with pytest.raises(ModelLoadError, match="model folder not found: models/default"):
        load_model("models/default")  # a path is never looked for below the package


def _default_copy(tmp_path: Path, encoder: str) -> Path:
    """The shipped model copied to `tmp_path`, its manifest naming `encoder` as its encoder."""
    folder = Path(shutil.copytree(DEFAULT_MODEL, tmp_path / "model"))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["encoder"]["config"]["model"] = encoder
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_the_encoder_is_found_by_fingerprint_in_the_folder_then_where_named_then_shipped(
    tmp_path: Path,
) -> None:
    shipped = bundled_encoder("e5-static")
    fingerprint = load_model().manifest["encoder"]["fingerprint"]
    moved = _default_copy(tmp_path, "/machine/that/trained/it/e5-static")
    assert locate_encoder(moved, "/machine/that/trained/it/e5-static", fingerprint) == shipped
    shutil.copytree(bundled_encoder("minilm-static"), moved / "encoder")  # another encoder: skipped
    assert locate_encoder(moved, "/machine/that/trained/it/e5-static", fingerprint) == shipped
    own = moved / "encoder"
    shutil.rmtree(own)
    shutil.copytree(bundled_encoder("e5-static"), own)
    assert locate_encoder(moved, "models/encoders/e5-static", fingerprint) == own
    assert load_model(moved).extract(PAGE) == load_model().extract(PAGE)
    assert locate_encoder(moved, "hashing", "hashing:256") is None  # no folder: its name is its identity


def test_an_encoder_other_than_the_trained_one_is_refused(tmp_path: Path) -> None:
    folder = _default_copy(tmp_path, "models/encoders/minilm-static")
    with pytest.raises(ModelLoadError, match="not the one this labeller was trained with"):
        load_model(folder)


def test_a_labelling_process_freezes_what_it_loaded_and_collects_young_objects_rarely() -> None:
    """In a fresh interpreter: `tune_gc_for_labelling` (the commands call it once the model is loaded)."""
    code = (
        "import gc\nfrom storysplit.model import YOUNG_COLLECTION_THRESHOLD, tune_gc_for_labelling\n"
        "before = gc.get_threshold()\ntune_gc_for_labelling()\n"
        "assert gc.get_freeze_count() > 1000, gc.get_freeze_count()\n"
        "assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *before[1:]), gc.get_threshold()\n"
        "assert gc.isenabled()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_pages_of_one_site_judge_each_others_recurring_lines(tiny_model_dir: Path) -> None:
    """Given sites, a model counts the call's pages per site; the site columns of its rows say so."""
    from storysplit.features.context import feature_names
    from storysplit.features.site_evidence import SiteLineCounter

    model = load_model(tiny_model_dir)
    texts = [f"Subscribe to our newsletter today\nStory {word} is a story of its own." for word in "abc"]
    share = feature_names(model.encoder.dimension).index("site_line_share")
    alone = model.featurize(texts).features
    together = model.featurize(texts, sites=["a.com"] * 3).features
    assert not alone[:, share].any()
    assert together[:, share].tolist() == [1.0, 0.0] * 3
    counter = SiteLineCounter()
    for text in [*texts, "Subscribe to our newsletter today\nYet another story."]:
        counter.add_page("a.com", [line.lower().replace(".", "") for line in text.split("\n")])
    with_table = model.featurize(texts[:1], sites=["a.com"], site_table=counter.table()).features
    assert with_table[0, share] == 1.0 and with_table[0, -1] == 1.0  # four pages counted in the table
    labelled = model.segment_many(texts, sites=["a.com", None, "a.com"])
    assert [len(doc) for doc in labelled] == [2, 2, 2]
    with pytest.raises(ValueError, match="2 sites for 3 documents"):
        model.featurize(texts, sites=["a.com", "a.com"])


def test_with_the_fallback_a_page_always_keeps_its_most_probable_segments(
    tiny_model: StorySplitModel,
) -> None:
    from storysplit.sections import DecisionConfig

    text = "Menu\nHome\nA story paragraph that reads like prose, with a second clause.\nShare"
    strict = 0.999999

    def deciding(fallback: bool) -> StorySplitModel:
        parts = (tiny_model.labeller, tiny_model.encoder, tiny_model.segmenter, tiny_model.features)
        return StorySplitModel(*parts, DecisionConfig(fallback=fallback))

    plain = deciding(False).segment(text, threshold=strict)
    assert not any(s.label is SegmentLabel.MAIN for s in plain)
    with_fallback = deciding(True).segment(text, threshold=strict)
    share = deciding(True).decision.fallback_share
    best = max(s.probability for s in with_fallback)
    kept = [s for s in with_fallback if s.label is SegmentLabel.MAIN]
    assert kept and all(s.probability >= share * best for s in kept)
    assert all(s.probability < share * best for s in with_fallback if s.label is not SegmentLabel.MAIN)
    assert [s.probability for s in with_fallback] == [s.probability for s in plain]


def test_the_fallback_acts_only_where_the_kept_segments_hold_too_few_words(
    tiny_model: StorySplitModel,
) -> None:
    """Kept at the threshold: the best segment alone (11 words). Fewer than `fallback_words`: the
    threshold falls to `fallback_share` of the best p(main); as many or more: it stays."""
    from storysplit.sections import DecisionConfig

    text = "\n".join(
        [
            "A story paragraph that reads like prose, with a second clause and more.",
            "Menu",
            "Another paragraph of the same story, told at some length for the reader.",
            "Share this",
        ]
    )
    parts = (tiny_model.labeller, tiny_model.encoder, tiny_model.segmenter, tiny_model.features)
    probabilities = [s.probability for s in tiny_model.segment(text)]
    best = max(probabilities)

    def kept(words: int, share: float) -> list[bool]:
        model = StorySplitModel(*parts, DecisionConfig(fallback_words=words, fallback_share=share))
        return [s.label is SegmentLabel.MAIN for s in model.segment(text, threshold=best)]

    only_best = [p >= best for p in probabilities]
    assert sum(only_best) == 1
    best_words = len(text.splitlines()[probabilities.index(best)].split())
    assert kept(best_words, 0.01) == only_best  # enough words kept: untouched
    lowered = [p >= 0.01 * best for p in probabilities]
    assert lowered != only_best
    assert kept(best_words + 1, 0.01) == lowered  # too few: every p >= 0.01 * best
    assert kept(best_words + 1, 0.999) == only_best  # the lower threshold is the one used


def test_lines_on_half_of_a_sites_other_pages_are_dropped_whatever_the_labeller_says(
    tiny_model: StorySplitModel,
) -> None:
    """`decision.drop_site_template`: with site evidence, a line on at least half of the site's
    other pages (and on two of them or more) is boilerplate even at p 1; not without sites, and
    not with the rule off."""
    widget = "Subscribe to our newsletter today and read every story first"
    texts = [f"{widget}\nStory {word} is a story of its own, told in full." for word in "abcd"]
    confident = tiny_model.with_decision(threshold=1e-6)  # the labeller keeps every line
    assert confident.decision.drop_site_template and tiny_model.decision.threshold == 0.5

    def kept(model: StorySplitModel, sites: list[str | None] | None) -> list[list[bool]]:
        return [[s.label is SegmentLabel.MAIN for s in doc] for doc in model.segment_many(texts, sites=sites)]

    assert kept(confident, ["a.com"] * 4) == [[False, True]] * 4
    assert kept(confident, None) == [[True, True]] * 4
    assert kept(confident.with_decision(drop_site_template=False), ["a.com"] * 4) == [[True, True]] * 4
    # Three pages: the widget is on both others; a story on one duplicate page only stays.
    duplicated = [texts[0], texts[0], texts[1]]
    labelled = confident.segment_many(duplicated, sites=["a.com"] * 3)
    assert [[s.label is SegmentLabel.MAIN for s in doc] for doc in labelled] == [
        [False, True],
        [False, True],
        [False, True],
    ]


def test_a_page_whose_every_line_is_its_sites_template_keeps_nothing(tiny_model: StorySplitModel) -> None:
    """The fallback keeps a page's best segments, but not lines set to 0 as the site's template."""
    texts = ["Home\nSubscribe to our newsletter today\nContact us"] * 4
    labelled = tiny_model.segment_many(texts, sites=["a.com"] * 4)
    assert tiny_model.decision.fallback
    assert all(s.label is SegmentLabel.BOILERPLATE and s.probability == 0.0 for doc in labelled for s in doc)
