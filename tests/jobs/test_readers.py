from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from storysplit.errors import InputError
from storysplit.jobs.readers import open_input, parquet_schema, read_documents
from storysplit.records import ReadSettings
from tests.jobs.corpus import write_jsonl

RECORDS = [
    {"id": f"d{i}", "text": f"Paragraph {i} of a story.\nAnd its second line.", "n": i} for i in range(5)
]


def _read(path: Path, settings: ReadSettings | None = None) -> list:
    return list(read_documents(open_input(path), settings or ReadSettings()))


def test_jsonl_and_gzip_give_the_same_documents_in_order(tmp_path: Path) -> None:
    plain = _read(write_jsonl(tmp_path / "docs.jsonl", RECORDS))
    gz = _read(write_jsonl(tmp_path / "docs.jsonl.gz", RECORDS))
    assert [d.id for d in plain] == [r["id"] for r in RECORDS]
    assert [(d.id, d.text, d.record) for d in plain] == [(d.id, d.text, d.record) for d in gz]
    assert all(d.problem is None for d in plain)


def test_every_bad_line_becomes_a_problem_naming_its_place_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_bytes(
        b"\n".join(
            [
                json.dumps(RECORDS[0]).encode(),
                b"{broken",
                b"",  # blank lines are not documents
                b"[1, 2]",
                json.dumps({"id": "no-text", "body": "x"}).encode(),
                json.dumps({"id": "empty", "text": "   "}).encode(),
                b'{"id": "latin1", "text": "caf\xe9"}',
                json.dumps({"text": "A story without an id field."}).encode(),
                json.dumps(RECORDS[1]).encode(),
            ]
        )
        + b"\n"
    )
    docs = _read(path)
    assert [(d.id, d.problem) for d in docs] == [
        ("d0", None),
        ("docs.jsonl:2", "docs.jsonl:2: not valid JSON (Expecting property name enclosed in double quotes)"),
        ("docs.jsonl:4", "docs.jsonl:4: expected an object, got list"),
        ("no-text", "docs.jsonl:5: no string 'text' field (fields: id, body)"),
        ("empty", "docs.jsonl:6: document is empty"),
        ("docs.jsonl:7", "docs.jsonl:7: not valid UTF-8 at byte 29"),
        ("docs.jsonl:8", None),
        ("d1", None),
    ]


def test_field_names_size_limit_and_fields_the_output_would_overwrite(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "docs.jsonl",
        [
            {"key": "a", "body": "short text"},
            {"key": "b", "body": "x" * 50},
            {"key": "c", "body": "y", "segments": []},
        ],
    )
    settings = ReadSettings(text_field="body", id_field="key", max_bytes=20, added_fields=("segments",))
    docs = _read(path, settings)
    assert [d.id for d in docs] == ["a", "b", "c"]
    assert docs[0].text == "short text" and docs[0].problem is None
    assert "50 characters, over the limit of 20" in (docs[1].problem or "")
    assert (
        docs[2].problem == "docs.jsonl:3: already has field(s) ['segments'] that the output would overwrite"
    )


def test_an_overlong_line_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "docs.jsonl", [RECORDS[0], {"id": "huge", "text": "z" * 3_000_000}, RECORDS[1]]
    )
    docs = _read(path, ReadSettings(max_bytes=100))
    assert [d.id for d in docs] == ["d0", "docs.jsonl:2", "d1"]
    assert "line is over" in (docs[1].problem or "")


def test_a_truncated_gzip_file_ends_with_a_problem_not_a_crash(tmp_path: Path) -> None:
    data = gzip.compress(("\n".join(json.dumps(r) for r in RECORDS * 200) + "\n").encode())
    path = tmp_path / "docs.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    docs = _read(path)
    assert all(d.problem is None for d in docs[:-1])
    assert "cannot read further" in (docs[-1].problem or "")


def test_parquet_rows_keep_their_columns_and_schema_is_checked(tmp_path: Path) -> None:
    pq.write_table(pa.Table.from_pylist(RECORDS), tmp_path / "a.parquet", row_group_size=2)
    docs = _read(tmp_path / "a.parquet")
    assert [d.record for d in docs] == RECORDS
    assert [d.where for d in docs] == [f"a.parquet:{i}" for i in range(1, 6)]
    with pytest.raises(InputError, match="no column 'body'"):
        parquet_schema(open_input(tmp_path / "a.parquet"), ReadSettings(text_field="body"))
    pq.write_table(pa.Table.from_pylist([{"text": "x"}]), tmp_path / "b.parquet")
    with pytest.raises(InputError, match="columns differ"):
        parquet_schema(open_input(tmp_path), ReadSettings())


def test_txt_folder_is_walked_sorted_recursively_skipping_hidden_and_underscore(tmp_path: Path) -> None:
    for name in ["b.txt", "a/z.txt", "a/c.txt", ".hidden.txt", "_state/x.txt", "notes.md"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"text of {name}\n")
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9")
    docs = _read(tmp_path)
    assert [d.id for d in docs] == ["a/c.txt", "a/z.txt", "b.txt", "bad.txt"]
    assert docs[0].text == "text of a/c.txt\n"
    assert docs[3].problem == "bad.txt: not valid UTF-8 at byte 3 (b'\\xe9'); convert it to UTF-8 first"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p, "no such file or folder"),
        (lambda p: (p.mkdir(), p)[1], "holds no .jsonl"),
        (lambda p: (p.write_text("x"), p)[1], "cannot tell its format"),
    ],
)
def test_inputs_that_cannot_be_read_at_all_are_one_line_errors(tmp_path: Path, setup, message: str) -> None:
    with pytest.raises(InputError, match=message):
        open_input(setup(tmp_path / "input.csv"))


def test_a_folder_mixing_formats_is_refused(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", RECORDS)
    (tmp_path / "b.txt").write_text("text")
    with pytest.raises(InputError, match=r"mixes formats \(jsonl, txt\)"):
        open_input(tmp_path)


def test_fingerprint_changes_when_the_input_grows(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "docs.jsonl", RECORDS)
    before = open_input(path).fingerprint()
    write_jsonl(path, [*RECORDS, RECORDS[0]])
    assert open_input(path).fingerprint() != before
