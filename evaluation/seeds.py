"""The five hand-labelled seed documents as corpus rows (an evaluation split, never trained on).

They live with evaluation, which scores on them, and the corpus build (`train.corpus.build`) adds
them as its `seeds` split from here: imports go from training to evaluation, never back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from storysplit.evaluation.regions import with_regions
from storysplit.features.segmentation import best_overlaps, split_document


def load_seed_rows(seeds_dir: Path, max_chars: int) -> list[dict[str, Any]]:
    """Read `gold.jsonl` and its text files into corpus rows (see `train.corpus.schema`).

    The gold spans cover whole lines; each segment takes the label and kind of the gold span it
    overlaps most, so the rows line up with the segmenter whatever `max_chars` is.
    """
    gold_path = seeds_dir / "gold.jsonl"
    rows = []
    for line in gold_path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        text = (seeds_dir / record["file"]).read_text(encoding="utf-8")
        gold = record["spans"]
        spans = []
        segments = split_document(text, max_chars)
        for segment, index in zip(
            segments, best_overlaps([(g["start"], g["end"]) for g in gold], segments), strict=True
        ):
            if index is None:
                raise ValueError(f"seed {record['id']}: segment at {segment.start} has no gold span")
            best = gold[index]
            spans.append(
                {
                    "start": segment.start,
                    "end": segment.end,
                    "label": best["label"],
                    "kind": best["kind"],
                    "weight": 1.0,
                }
            )
        reference = "\n".join(text[g["start"] : g["end"]].strip() for g in gold if g["label"] == "main")
        rows.append(
            with_regions(
                {
                    "id": f"seed-{record['id']}",
                    "text": text,
                    "source": "seeds",
                    "domain": f"seed-{record['id']}",
                    "renderer": "scraped",
                    "reference_text": reference,
                    "html_path": "",
                    "language": "en",
                    "gold_origin": "hand",
                    "spans": spans,
                }
            )
        )
    return rows
