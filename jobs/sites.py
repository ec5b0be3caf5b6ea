"""Site evidence in corpus jobs: which site a document belongs to, and its lines as they are counted.

`storysplit clean --site-field FIELD` runs two passes: the first counts, per site, on how many
pages each line recurs (`features.site_evidence`), the second cleans each page with those counts.
Every engine (local, Ray, datatrove) counts with these functions, so all give the same table and
the same cleaned text. A document without a site is cleaned on its own, as without the option.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from storysplit.artifact import read_manifest
from storysplit.atomic_files import atomic_path
from storysplit.errors import ModelLoadError
from storysplit.features.context import repeat_key
from storysplit.features.segmentation import encodable_text, split_document
from storysplit.features.site_evidence import SiteCounts, SiteLineCounter, SiteTable
from storysplit.jobs.errors import JobError
from storysplit.records import SourceDocument
from storysplit.sections import SegmenterConfig, section_from_dict

FOLDER_SITE = "folder"
"""`--site-field` for a folder of .txt files, which have no fields: a file's site is its folder."""


def site_key(value: object) -> str | None:
    """The site a URL or a domain names: "https://www.Example.com:8080/a" gives "example.com".

    A URL with a host gives the host, lowercased, without its port; any other string (a domain
    field) gives itself stripped and lowercased. Either loses a leading "www.", so that
    "www.example.com" and "example.com" are one site. An empty string, or a value that is not a
    string (a missing field), gives None: that page is cleaned on its own.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        host = urlsplit(text).hostname  # lowercased, without user, port or IPv6 brackets
    except ValueError:  # a malformed URL (an unclosed IPv6 bracket, a bad port) names no host
        host = None
    return (host or text.lower()).removeprefix("www.") or None


def document_site(document: SourceDocument, site_field: str, fmt: str) -> str | None:
    """The site of a document read from input of format `fmt`.

    A record's site is the `site_key` of its `site_field`. A .txt file's is the folder holding it,
    as a path under the input folder (`bbc.co.uk/2024`), so a crawl saved one folder per site
    needs no field; a file directly in the input folder has none.
    """
    if fmt == "txt":
        folder = PurePosixPath(document.id).parent.as_posix()
        return None if folder == "." else site_key(folder)
    return site_key(document.record.get(site_field))


def check_site_field(site_field: str | None, fmt: str) -> None:
    """Refuse a `--site-field` that the input cannot have.

    Raises:
        JobError: a folder of .txt files with a field other than `FOLDER_SITE`.
    """
    if fmt == "txt" and site_field not in (None, FOLDER_SITE):
        raise JobError(
            f"a folder of .txt files has no field {site_field!r}; --site-field {FOLDER_SITE} takes "
            "the folder holding each file as its site"
        )


def page_keys(text: str, max_chars: int) -> list[str]:
    """The repeat keys of `text`'s segments, segmented as the model segments it (`featurize`)."""
    return [repeat_key(segment.text) for segment in split_document(encodable_text(text), max_chars)]


def count_sites(pages: Iterable[tuple[str | None, str]], max_chars: int) -> SiteCounts:
    """The site counts of `(site, text)` pages (pages without a site are not counted)."""
    counter = SiteLineCounter()
    for site, text in pages:
        if site is not None:
            counter.add_page(site, page_keys(text, max_chars))
    return counter.counts()


def segment_max_chars(model: Path) -> int:
    """How long a segment `model` allows, read from its manifest without loading the model.

    Counting segments the pages the way the model will when it cleans them; engines that count
    outside a process holding the model (Ray tasks, a datatrove step) read it here.

    Raises:
        ModelLoadError: not a model folder, or its manifest has no valid segmenter.
    """
    try:
        return section_from_dict(SegmenterConfig, read_manifest(model)["segmenter"]).max_chars
    except (KeyError, TypeError, ValueError) as error:
        raise ModelLoadError(f"{model}/manifest.json has no valid segmenter: {error}") from None


def save_site_table(table: SiteTable, path: Path) -> None:
    """Write `table` to `path` whole or not at all: `--resume` trusts a `sites.npz` that exists."""
    with atomic_path(path) as temporary:
        table.save(temporary)


def describe_site_table(table: SiteTable, path: Path, seconds: float) -> str:
    """The line a job prints when its first pass is done."""
    return (
        f"storysplit clean: counted the lines of {int(table.pages.sum()):,} pages of {table.sites.size:,} "
        f"sites in {seconds:.1f} s; {table.lines.size:,} lines recur "
        f"({path.stat().st_size / 1e6:.1f} MB in {path})"
    )
