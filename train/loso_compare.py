"""Two leave-one-source-out runs side by side: what a change did to the sets it never saw.

Folds run one or two at a time, each into its own report folder, so a change is judged after
the fact against the runs of the configuration it would replace: on the folds both runs hold,
the model's token F1 before → after, the change paired page by page with its 95 % interval over
sites, and the boilerplate it kept by kind (`loso.comparison_tables`). Nothing is trained.

`storysplit-dev loso-compare BEFORE AFTER [--config CONFIG] [--renderer NAME]`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from storysplit.config import load_config
from storysplit.train.loso import comparison_tables, corpus_sites, read_fold_records


def main(argv: list[str] | None = None) -> int:
    """`storysplit-dev loso-compare`: print two runs' comparison tables."""
    parser = argparse.ArgumentParser(
        prog="storysplit-dev loso-compare", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("before", type=Path, help="the report folder of the run to compare against")
    parser.add_argument("after", type=Path, help="the report folder of the changed run")
    parser.add_argument(
        "--config", type=Path, default=Path("configs/default.yaml"), help="config naming the corpus"
    )
    parser.add_argument("--renderer", default="html_text", help="compare on these renderings")
    args = parser.parse_args(argv)
    before, after = read_fold_records(args.before), read_fold_records(args.after)
    sites = corpus_sites(load_config(args.config))
    print(comparison_tables(before, after, sites, renderer=args.renderer), end="")
    return 0
