"""Our numpy static encoder against model2vec's `StaticModel.encode`: same weights, same texts.

Why we keep our own runtime (docs/speed.md, "Static encoder runtime"): it must equal
sentence-transformers' `StaticEmbedding` (which the heads were trained on), and it caches the ids
of each word, which a corpus repeats endlessly. This prints the largest difference between the two
encoders' vectors and their medians of `--runs` timed passes over the segments of full pages, with
our word cache emptied before each pass (cold) and not (warm). Both run on one thread.

Usage: `python benchmarks/static_vs_model2vec.py [--pages 400] [--runs 3]` (needs model2vec, in
the `train` extra, and html-text to render the pages).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
ENCODERS = ("models/encoders/e5-static", "models/encoders/minilm-static")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import numpy as np
    from model2vec import StaticModel
    from tokenizers import Tokenizer

    from storysplit.evaluation.bench_commands import DEFAULT_PAGE_SETS, prepare_pages
    from storysplit.features.segmentation import split_document
    from storysplit.features.static_encoder import StaticEncoder

    with tempfile.TemporaryDirectory() as folder:
        pages = prepare_pages(args.data_dir, DEFAULT_PAGE_SETS, args.pages, Path(folder))
        texts = [(Path(folder) / "text" / f"{page}.txt").read_text(encoding="utf-8") for page in pages]
    segments = [segment.text for text in texts for segment in split_document(text, 1000)]
    print(f"{len(segments):,} segments of {len(texts)} full pages, median of {args.runs} passes")
    print("| encoder | max abs difference | ours, cold word cache | ours, warm | model2vec |")
    print("|---|---:|---:|---:|---:|")
    for path in ENCODERS:
        ours = StaticEncoder(str(REPO / path))
        tokenizer = Tokenizer.from_file(str(REPO / path / "tokenizer.json"))
        theirs = StaticModel(vectors=ours.embedding, tokenizer=tokenizer, normalize=True, max_length=None)
        difference = float(np.abs(ours.encode(segments) - theirs.encode(segments)).max())
        seconds = _passes(ours, theirs, segments, args.runs)
        rates = {name: len(segments) / statistics.median(values) for name, values in seconds.items()}
        print(
            f"| {Path(path).name} | {difference:.1e} | {rates['cold']:,.0f}/s | {rates['warm']:,.0f}/s | "
            f"{rates['model2vec']:,.0f}/s |"
        )
    return 0


def _passes(ours: Any, theirs: Any, segments: list[str], runs: int) -> dict[str, list[float]]:
    """Interleaved timed passes: ours with its word cache emptied (cold), ours again (warm), model2vec."""
    seconds: dict[str, list[float]] = {"cold": [], "warm": [], "model2vec": []}
    for _ in range(runs):
        ours.clear()
        for name, run in (
            ("cold", lambda: ours.encode(segments)),
            ("warm", lambda: ours.encode(segments)),
            ("model2vec", lambda: theirs.encode(segments, use_multiprocessing=False)),
        ):
            started = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - started)
    return seconds


if __name__ == "__main__":
    sys.exit(main())
