from __future__ import annotations

from pathlib import Path

from datasets import Dataset, load_from_disk

from train.tracking import content_fingerprint

ROWS = [
    {"id": "a", "text": "Story\r\nMenu", "spans": [{"start": 0, "end": 5, "weight": 0.5}]},
    {"id": "b", "text": "مرحبا 😀", "spans": []},
]


def test_content_fingerprint_follows_the_rows_not_how_they_were_loaded(tmp_path: Path) -> None:
    built = Dataset.from_list(ROWS)
    built.save_to_disk(str(tmp_path / "saved"), num_shards=2)
    loaded = load_from_disk(str(tmp_path / "saved"))
    assert content_fingerprint(loaded) == content_fingerprint(built)
    changed = Dataset.from_list([ROWS[0], {**ROWS[1], "text": "مرحبا 😀!"}])
    reordered = Dataset.from_list(ROWS[::-1])
    values = {content_fingerprint(d) for d in (built, changed, reordered, built.select([0]))}
    assert len(values) == 4
