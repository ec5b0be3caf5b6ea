"""`storysplit clean INPUT OUTPUT`: clean a whole corpus, streamed, on all cores, resumable.

INPUT is a .jsonl, .jsonl.gz or .parquet file, a folder of such files, or a folder of .txt files.
OUTPUT is a folder that gets the same format with each text replaced by its cleaned text (and,
if asked, the removed text and per-segment labels), in shards of --shard-size documents. A
document that cannot be cleaned (bad encoding, too large, over the time limit) goes to
OUTPUT/.storysplit/errors.jsonl with its id and the reason, and the job goes on. After a crash or a
kill, the same command with --resume finishes the job without redoing finished shards or
writing any document twice. `--engine ray` runs the cleaning on a Ray cluster instead.

With --site-field FIELD (a field holding each document's URL or domain), pages of one site judge
each other: menus, footers and widgets recur across a site's pages, stories do not. The job then
makes two passes: the first counts on how many of its site's pages each line recurs (saved as
OUTPUT/.storysplit/sites.npz, in bounded memory), the second cleans with those counts. Documents
without the field are cleaned on their own, as without the option. For a folder of .txt files,
--site-field folder takes the folder holding each file as its site.

Exit status: 0 when every document was processed (failures are in the errors file),
2 when the job could not start or stopped early, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from storysplit.arguments import add_model_option, available_cores, positive_int, threshold_argument
from storysplit.jobs.cleaning import CORPUS_MAX_BYTES, DEFAULT_BATCH_SIZE, CleanOptions
from storysplit.jobs.errors import JobError
from storysplit.jobs.job import CleanJob
from storysplit.jobs.local import run_local_job
from storysplit.jobs.sites import FOLDER_SITE
from storysplit.records import ReadSettings

DEFAULT_SHARD_SIZE = 1000
DEFAULT_TIMEOUT = 60.0


def main(argv: list[str] | None = None) -> int:
    job = _job_from_args(_parser().parse_args(argv))
    if job.engine == "ray":
        from storysplit.jobs.ray_clean import run_ray_job

        summary = run_ray_job(job)
    else:
        summary = run_local_job(job)
    print(summary.describe(), file=sys.stderr)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="storysplit clean", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _add_input_output_arguments(parser.add_argument_group("input and output"))
    _add_cleaning_arguments(parser.add_argument_group("what to keep"))
    _add_engine_arguments(parser.add_argument_group("how to run"))
    return parser


def _add_input_output_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "input", type=Path, help=".jsonl / .jsonl.gz / .parquet file, or a folder of them or of .txt"
    )
    group.add_argument(
        "output", type=Path, help="output folder (empty, or from an earlier run with --resume)"
    )
    group.add_argument(
        "--text-field", default="text", help="field or column holding the text (default: text)"
    )
    group.add_argument("--id-field", default="id", help="field or column holding the id (default: id)")
    group.add_argument(
        "--site-field",
        metavar="FIELD",
        help=f"field or column holding each document's URL or domain: pages of a site judge each other "
        f"(two passes); '{FOLDER_SITE}' for a folder of .txt files (default: each page alone)",
    )
    group.add_argument(
        "--max-bytes",
        type=positive_int,
        default=CORPUS_MAX_BYTES,
        help=f"larger documents fail as too large (default {CORPUS_MAX_BYTES:,}; news pages are far smaller)",
    )
    group.add_argument(
        "--shard-size",
        type=positive_int,
        default=DEFAULT_SHARD_SIZE,
        help="documents per output file (local engine)",
    )
    group.add_argument(
        "--resume", action="store_true", help="continue the job that wrote OUTPUT (local engine)"
    )


def _add_cleaning_arguments(group: argparse._ArgumentGroup) -> None:
    add_model_option(group)
    group.add_argument(
        "--threshold", type=threshold_argument, help="keep segments with p(main) >= this (default: model's)"
    )
    group.add_argument(
        "--keep-removed", action="store_true", help="also write the removed text (removed_text)"
    )
    group.add_argument(
        "--segments",
        action="store_true",
        help="also write each segment's offsets, label and probability (segments)",
    )


def _add_engine_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--engine", choices=("local", "ray"), default="local", help="where to run (default: local)"
    )
    group.add_argument(
        "--workers",
        type=positive_int,
        default=available_cores(),
        help=f"processes, or Ray actors (default: {available_cores()}, the cores)",
    )
    group.add_argument(
        "--batch-size", type=positive_int, default=DEFAULT_BATCH_SIZE, help="documents per model call"
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds one document may take (default {DEFAULT_TIMEOUT:g}, 0: no limit; local engine)",
    )
    group.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="progress bar on stderr (default: when a terminal)",
    )
    group.add_argument("--ray-address", help="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray)")


def _job_from_args(args: argparse.Namespace) -> CleanJob:
    if args.engine == "local" and args.ray_address:
        raise JobError("--ray-address needs --engine ray")
    options = CleanOptions(args.threshold, args.keep_removed, args.segments)
    return CleanJob(
        input=args.input,
        output=args.output,
        model=args.model,
        engine=args.engine,
        read=ReadSettings(args.text_field, args.id_field, args.max_bytes, options.extra_fields()),
        options=options,
        workers=args.workers,
        batch_size=args.batch_size,
        shard_size=args.shard_size,
        seconds_per_document=max(args.timeout, 0.0),
        resume=args.resume,
        progress=args.progress,
        ray_address=args.ray_address,
        site_field=args.site_field,
    )
