from __future__ import annotations

import codecs
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storysplit.documents import check_text, decode_document
from storysplit.errors import InputError


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "document is empty"),
        (b" \r\n\t\n", "document is empty"),
        (codecs.BOM_UTF8, "document is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"looks like a binary file \(NUL bytes\)"),
        (b"caf\xe9 cr\xe8me", r"not valid UTF-8 at byte 3 \(b'\\xe9 cr'\); convert it to UTF-8 first"),
        (b"ok \xed\xa0\x80 surrogate bytes", "not valid UTF-8 at byte 3"),
        (b"x" * 101, r"document is 101 bytes, over the 100 bytes limit \(raise it with --max-bytes\)"),
    ],
)
def test_unreadable_bytes_are_named(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        decode_document(data, "doc.txt", max_bytes=100)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "document is empty"),
        ("\u2028\x85 ", "document is empty"),
        ("x" * 101, r"101 characters, over the limit of 100 \(raise it with --max-bytes\)"),
        ("a\x00b", "NUL characters"),
        ("lone \udc80 half", r"lone surrogate \(U\+DC80\) at character 5"),
    ],
)
def test_unusable_text_is_named(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_text(text, "doc.jsonl:3", max_bytes=100)


def test_line_ends_and_bom_survive_decoding() -> None:
    data = codecs.BOM_UTF8 + "crlf\r\ncr\rlf\nمرحبا 😀".encode()
    assert decode_document(data, "doc.txt") == "crlf\r\ncr\rlf\nمرحبا 😀"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.builds(os.urandom, st.integers(0, 300)))
def test_any_bytes_decode_or_raise_input_error(data: bytes) -> None:
    try:
        text = decode_document(data, "blob", max_bytes=200)
    except InputError as error:
        assert str(error).startswith("blob: ")
    else:
        assert text.strip() and len(data) <= 200
