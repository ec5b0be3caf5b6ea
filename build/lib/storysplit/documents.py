"""Turn raw input bytes into document text, or say exactly why not.

Scraped corpora contain binary blobs, wrong encodings and giant files; each gets an `InputError`
naming the problem, so a batch job can report it and carry on with the next document.
"""

from __future__ import annotations

import codecs

from storysplit.errors import InputError

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
_SNIFF_BYTES = 8192


def decode_document(data: bytes, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """UTF-8 text of a document (a BOM is dropped; CR/CRLF are kept, offsets index this string).

    Raises:
        InputError: empty, larger than `max_bytes`, binary-looking, or not valid UTF-8.
    """
    if len(data) > max_bytes:
        raise InputError(oversize_message(name, len(data), max_bytes))
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if not data.strip():
        raise InputError(f"{name}: document is empty")
    sniff = data[:_SNIFF_BYTES]
    if b"\x00" in sniff:
        raise InputError(f"{name}: looks like a binary file (NUL bytes), not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{name}: not valid UTF-8 at byte {error.start} ({data[error.start : error.start + 4]!r}); "
            "convert it to UTF-8 first"
        ) from None
    return check_text(text, name, max_bytes)


def oversize_message(name: str, size: int, max_bytes: int) -> str:
    """The message for a document of `size` bytes over the limit, naming the flag that raises it."""
    return f"{name}: document is {_size(size)}, over the {_size(max_bytes)} limit (raise it with --max-bytes)"


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 100_000 else f"{n_bytes:,} bytes"


def check_text(text: str, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The same checks for text that arrives already decoded (e.g. a JSONL field).

    A lone surrogate (JSON `"\\ud800"` decodes to one) is refused like invalid UTF-8: it cannot be
    written back out as UTF-8, so the document's output would fail later, far from its cause.
    """
    if not text.strip():
        raise InputError(f"{name}: document is empty")
    if len(text) > max_bytes:
        raise InputError(
            f"{name}: document has {len(text):,} characters, over the limit of {max_bytes:,} "
            "(raise it with --max-bytes)"
        )
    if "\x00" in text[:_SNIFF_BYTES]:
        raise InputError(f"{name}: text holds NUL characters; it looks binary")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InputError(
            f"{name}: text holds a lone surrogate (U+{ord(text[error.start]):04X}) at character "
            f"{error.start}, which is not valid Unicode"
        ) from None
    return text
