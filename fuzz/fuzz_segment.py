"""Coverage-guided fuzzing (atheris/libFuzzer) of every entry point that takes outside input.

    make fuzz                                        # 10 minutes, see the Makefile
    python fuzz/fuzz_segment.py -max_total_time=600 -max_len=16384 fuzz/corpus fuzz/seeds
    python fuzz/fuzz_segment.py --write-seeds fuzz/seeds   # rewrite the committed seed inputs

The last byte of each input picks the entry point (atheris takes numbers from the end), the rest
is its input:

- 0: `split_document` on any string (surrogates included) with `max_chars` from the next byte;
- 1: the shipped model's `segment` and `extract` on any string;
- 2: `decode_document` on raw bytes, then `segment` on what it decodes;
- 3: the server's request decoding and validation (`SegmentRequest`) and response encoding
  (`SegmentResponse`) on a raw body.

A crash is any exception other than the documented refusals (`InputError`, the server's 4xx
`HTTPException`, pydantic's `ValidationError`) or a broken invariant (`tests/invariants.py`).
libFuzzer writes a crashing input to `fuzz/crashes/`; replay it with
`python fuzz/fuzz_segment.py fuzz/crashes/crash-...`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# One BLAS thread: inputs run one at a time and are small, too small to share.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import atheris

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy  # noqa: E402, F401  (imported before instrumentation: only our code is instrumented)

with atheris.instrument_imports(include=["storysplit"]):
    from storysplit import InputError, load_model
    from storysplit.documents import decode_document
    from storysplit.http_errors import decode_json_body, validation_message
    from storysplit.output_records import document_record
    from storysplit.schemas import SegmentRequest, SegmentResponse

from pydantic import ValidationError  # noqa: E402
from starlette.exceptions import HTTPException  # noqa: E402

from tests.invariants import check_labelled, check_split  # noqa: E402

MODEL = load_model(REPO / "models" / "default")
MAX_BYTES = 1 << 20


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    mode = provider.ConsumeIntInRange(0, 3)
    if mode == 0:
        max_chars = provider.ConsumeIntInRange(1, 200)
        check_split(provider.ConsumeUnicode(provider.remaining_bytes()), max_chars)
    elif mode == 1:
        check_labelled(MODEL, provider.ConsumeUnicode(provider.remaining_bytes()))
    elif mode == 2:
        try:
            text = decode_document(provider.ConsumeBytes(provider.remaining_bytes()), "fuzz", MAX_BYTES)
        except InputError:
            return
        check_labelled(MODEL, text)
    else:
        body = provider.ConsumeBytes(provider.remaining_bytes())
        try:
            request = SegmentRequest.model_validate(decode_json_body(body))
        except HTTPException as error:
            assert 400 <= error.status_code < 500 and error.detail
            return
        except ValidationError as error:
            assert validation_message(error.errors())
            return
        segments = MODEL.segment(request.text, request.threshold)
        response = SegmentResponse.model_validate(
            document_record(request.text, segments, keep_removed=request.keep_removed)
        )
        response.model_dump_json(exclude_none=True).encode("utf-8")


def write_seeds(folder: Path) -> None:
    """Seed inputs for each entry point, from the hostile documents the tests use (our own text)."""
    from tests.storysplit.test_model_properties import HOSTILE_DOCUMENTS

    folder.mkdir(parents=True, exist_ok=True)
    for number, text in enumerate(HOSTILE_DOCUMENTS.values()):
        as_unicode = b"\x02" + text.encode("utf-16-le", "surrogatepass")  # 2: UTF-16 for ConsumeUnicode
        body = json.dumps({"text": text, "threshold": 0.5, "keep_removed": True}).encode()
        seeds = {
            "split": as_unicode + bytes([40, 0]),
            "segment": as_unicode + b"\x01",
            "decode": text.encode("utf-8", "surrogatepass") + b"\x02",
            "request": body + b"\x03",
        }
        for name, seed in seeds.items():
            (folder / f"{number:02d}-{name}").write_bytes(seed)


def main() -> None:
    if sys.argv[1:2] == ["--write-seeds"]:
        write_seeds(Path(sys.argv[2]))
        return
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
