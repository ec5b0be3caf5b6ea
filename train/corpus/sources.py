"""Read the source pages (HTML plus gold main content) from `../shared/data` into one shape.

Eleven sets are read. Ten share one layout (`html/NNNN.html.gz`, `ground-truth/NNNN.json` with the
gold as plain text, `metadata.json` with each page's domain); Mozilla Readability's test pages keep
their gold as article HTML. The sets' gold was made differently (by hand, by one extractor, by
agreement of extractors), so every page carries its `gold_origin`, its `language` (from the set's
metadata, else detected on the gold), and, where its set marks them, the gold's finer classes of
non-main text (comments, related links, supplemental lines, uncertain lines) as `gold_kinds`. Each
set also says its licence, so a model can list what it was trained on. Listing is cheap and never
fails; reading one page may raise `PageError`, which the build reports with the page id and skips.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit

import html_text
import py3langid
import tldextract

from storysplit.errors import StorysplitError
from storysplit.labels import SegmentKind

WCXB_DIR = "wcxb-articles-dev"
READABILITY_DIR = "readability-test-pages"


class GoldOrigin(str, Enum):
    """How a set's gold main content was made; the weakest origin is the one to discount."""

    HAND = "hand"
    EXTRACTOR = "extractor"
    AGREEMENT = "agreement"


@dataclass(frozen=True)
class SourceSet:
    """One data set under the data dir: its short name (the rows' `source`), folder, gold origin and
    licence, and the ground-truth lists that mark finer classes of its non-main text."""

    name: str
    folder: str
    gold_origin: GoldOrigin
    licence: str
    permissive: bool
    """Whether a model trained on the set may ship under any licence (no copyleft, no research-only terms)."""
    kind_fields: tuple[tuple[str, SegmentKind], ...] = ()
    """(`ground_truth` key, kind) pairs: each key holds a list of text blocks of that kind."""


GOLD_JSON_SETS = (
    SourceSet("wcxb", WCXB_DIR, GoldOrigin.HAND, "CC-BY-4.0", True),
    SourceSet("news-fixtures", "news-fixtures", GoldOrigin.EXTRACTOR, "MIT, Apache-2.0", True),
    SourceSet("cleaneval", "cleaneval", GoldOrigin.HAND, "research use only (no licence)", False),
    SourceSet("multilingual-news", "multilingual-news", GoldOrigin.AGREEMENT, "MIT", True),
    SourceSet(
        "l3s-gn1",
        "l3s-gn1",
        GoldOrigin.HAND,
        "research use only, non-transferable",
        False,
        (
            ("comments", SegmentKind.COMMENTS),
            ("related", SegmentKind.RELATED),
            ("supplemental", SegmentKind.SUPPLEMENTAL),
        ),
    ),
    SourceSet(
        "dragnet", "dragnet", GoldOrigin.HAND, "AGPL-3.0", False, (("comments", SegmentKind.COMMENTS),)
    ),
    SourceSet(
        "googletrends-2017", "googletrends-2017", GoldOrigin.HAND, "research use only (no licence)", False
    ),
    SourceSet(
        "canola", "canola", GoldOrigin.HAND, "CC-BY-SA-4.0", False, (("uncertain", SegmentKind.UNCERTAIN),)
    ),
    SourceSet("cleanportaleval", "cleanportaleval", GoldOrigin.HAND, "research use only (no licence)", False),
    SourceSet(
        "chinese-web",
        "chinese-web",
        GoldOrigin.HAND,
        "MIT; its CleanEval-2007 pages research use only",
        False,
    ),
)
"""Sets laid out like WCXB, in listing order."""
READABILITY_SET = SourceSet("readability", READABILITY_DIR, GoldOrigin.HAND, "Apache-2.0", True)
SOURCE_SETS = (*GOLD_JSON_SETS, READABILITY_SET)

# The Public Suffix List snapshot bundled with tldextract: never fetched, never cached on disk.
_PUBLIC_SUFFIXES = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
_URL_META = re.compile(
    r"""<(?:link[^>]+rel=["']canonical["'][^>]*href|meta[^>]+property=["']og:url["'][^>]*content)"""
    r"""=["']([^"']+)["']""",
    re.IGNORECASE,
)
_URL_META_REVERSED = re.compile(
    r"""<(?:link[^>]+href=["']([^"']+)["'][^>]*rel=["']canonical["']"""
    r"""|meta[^>]+content=["']([^"']+)["'][^>]*property=["']og:url["'])""",
    re.IGNORECASE,
)


class PageError(StorysplitError):
    """A source page cannot be used: unreadable file, malformed JSON or empty gold."""


@dataclass(frozen=True)
class PageRef:
    """Where one source page lives; cheap to list and to send to a worker process."""

    source: str
    page_id: str
    html_path: str
    """Relative to the data dir."""


@dataclass(frozen=True)
class PageMeta:
    """What a set's `metadata.json` says about one page (empty strings where it says nothing)."""

    domain: str = ""
    language: str = ""


@dataclass(frozen=True)
class SourcePage:
    """A page's HTML and what its gold says about it.

    `gold_text` is the main content as plain text with one paragraph per line; `title`,
    `author` and `published` are empty strings when the source does not know them.
    """

    ref: PageRef
    html: str
    gold_text: str
    domain: str
    title: str
    author: str
    published: str
    site_name: str
    gold_without: tuple[str, ...]
    """Snippets the gold says are not main content (WCXB only)."""
    gold_kinds: tuple[tuple[SegmentKind, tuple[str, ...]], ...]
    """Text blocks the gold marks as a finer class of non-main text, by kind (`SourceSet.kind_fields`)."""
    language: str
    """ISO 639-1 code of the story's language."""
    gold_origin: GoldOrigin

    @property
    def doc_id(self) -> str:
        return f"{self.ref.source}-{self.ref.page_id}"


def list_pages(
    data_dir: Path, max_pages: int | None = None, sources: Sequence[str] | None = None
) -> list[PageRef]:
    """Every page of every set (or of the named `sources`) in a stable order, at most `max_pages` a set.

    Raises:
        StorysplitError: a name in `sources` is not a known set.
    """
    wanted = {source_set(name).name for name in sources} if sources is not None else None
    refs: list[PageRef] = []
    for source in GOLD_JSON_SETS:
        if wanted is not None and source.name not in wanted:
            continue
        paths = sorted((data_dir / source.folder / "html").glob("*.html.gz"))
        refs += [
            PageRef(source.name, path.name.removesuffix(".html.gz"), f"{source.folder}/html/{path.name}")
            for path in paths[:max_pages]
        ]
    if wanted is not None and READABILITY_SET.name not in wanted:
        return refs
    readability = sorted(path.parent for path in (data_dir / READABILITY_DIR).glob("*/source.html"))
    refs += [
        PageRef(READABILITY_SET.name, folder.name, f"{READABILITY_DIR}/{folder.name}/source.html")
        for folder in readability[:max_pages]
    ]
    return refs


def training_data_card(sources: Sequence[str]) -> list[dict[str, object]]:
    """What a model was trained on, for its manifest and the README: per set, its documents, licence,
    whether the licence is permissive, and how its gold was made (sets in `SOURCE_SETS` order).

    Args:
        sources: The `source` of every training document (pages of `corpus.html_dirs` are
            `agreement`: the user's own pages, labelled by extractors).
    """
    counts: dict[str, int] = {}
    for source in sources:
        counts[source] = counts.get(source, 0) + 1
    card: list[dict[str, object]] = []
    for source_set in SOURCE_SETS:
        if source_set.name in counts:
            card.append(
                {
                    "source": source_set.name,
                    "documents": counts.pop(source_set.name),
                    "licence": source_set.licence,
                    "permissive": source_set.permissive,
                    "gold_origin": source_set.gold_origin.value,
                }
            )
    for name, documents in sorted(counts.items()):
        card.append(
            {
                "source": name,
                "documents": documents,
                "licence": "the user's own pages",
                "permissive": False,
                "gold_origin": name,
            }
        )
    return card


def input_files(data_dir: Path) -> list[Path]:
    """The files a build reads, for the corpus fingerprint."""
    files = [path for source in SOURCE_SETS for path in sorted((data_dir / source.folder).rglob("*"))]
    return [path for path in files if path.is_file()]


def source_set(name: str) -> SourceSet:
    """The set whose rows carry `source == name`."""
    for source in SOURCE_SETS:
        if source.name == name:
            return source
    raise StorysplitError(f"unknown source {name!r}; known: {', '.join(s.name for s in SOURCE_SETS)}")


def read_page(data_dir: Path, ref: PageRef, meta: PageMeta) -> SourcePage:
    """Load one page and its gold.

    Args:
        data_dir: The folder holding the sets.
        ref: The page, from `list_pages`.
        meta: The page's entry in its set's metadata, from `read_metadata`.

    Raises:
        PageError: the page or its gold is unreadable, malformed or empty.
    """
    try:
        if ref.source == READABILITY_SET.name:
            return _read_readability(data_dir, ref)
        return _read_gold_json(data_dir, ref, meta)
    except PageError:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError) as error:
        raise PageError(f"{ref.source}-{ref.page_id}: {error.__class__.__name__}: {error}") from None


def read_metadata(data_dir: Path) -> dict[tuple[str, str], PageMeta]:
    """Every set's `metadata.json` as (source, page id) → `PageMeta` (sets without one are absent)."""
    entries: dict[tuple[str, str], PageMeta] = {}
    for source in GOLD_JSON_SETS:
        path = data_dir / source.folder / "metadata.json"
        if not path.is_file():
            continue
        files = json.loads(path.read_text(encoding="utf-8")).get("files", {})
        for page_id, entry in files.items():
            entries[(source.name, page_id)] = PageMeta(
                str(entry.get("domain") or ""), str(entry.get("language") or "")
            )
    return entries


def detect_language(text: str) -> str:
    """ISO 639-1 code of `text`'s language (langid's 97-language model, bundled, offline)."""
    return str(py3langid.classify(text[:5000])[0])


def site_domain(host: str) -> str:
    """The registrable part of a host name: `www.bbc.co.uk` → `bbc.co.uk`, `cloud.google.com` → `google.com`.

    Splits are made by this, so subdomains of one site never land in two splits. The registrable
    domain is the label under a public suffix (Public Suffix List, ICANN section); a host with no
    known suffix keeps its last two labels, an IP address or a bare suffix stays whole.
    """
    host = host.strip().lower().rstrip(".")
    host = ".".join(label for label in host.split("@")[-1].split(":")[0].split(".") if label)
    parts = _PUBLIC_SUFFIXES(host)
    if parts.suffix:
        return f"{parts.domain}.{parts.suffix}" if parts.domain else host
    if parts.ipv4 or parts.ipv6:
        return host
    return ".".join(host.split(".")[-2:])


def readability_domain(html: str, folder: str) -> str:
    """The page's site from its canonical or og:url link, else a name derived from the folder.

    `nytimes-3` without a URL becomes `readability:nytimes`, so numbered variants of one site
    stay together.
    """
    for pattern in (_URL_META, _URL_META_REVERSED):
        for match in pattern.finditer(html):
            url = next(group for group in match.groups() if group)
            host = urlsplit(url).hostname
            if host and "." in host:
                return site_domain(host)
    return "readability:" + re.sub(r"-\d+$", "", folder)


def _read_gold_json(data_dir: Path, ref: PageRef, meta: PageMeta) -> SourcePage:
    source = source_set(ref.source)
    html = _decode(gzip.decompress((data_dir / ref.html_path).read_bytes()))
    truth_path = data_dir / source.folder / "ground-truth" / f"{ref.page_id}.json"
    record = json.loads(truth_path.read_text(encoding="utf-8"))
    gold = record["ground_truth"]
    text = _clean_gold(str(gold.get("main_content") or ""))
    if not text:
        raise PageError(f"{ref.source}-{ref.page_id}: empty gold main_content")
    host = urlsplit(str(record.get("url", ""))).hostname or ""
    domain = site_domain(meta.domain or host) or f"{ref.source}:{ref.page_id}"
    return SourcePage(
        ref=ref,
        html=html,
        gold_text=text,
        domain=domain,
        title=_known(gold.get("title")),
        author=_known(gold.get("author")),
        published=_known(gold.get("publish_date")),
        site_name="",
        gold_without=_blocks(gold.get("without")),
        gold_kinds=tuple(
            (kind, blocks) for key, kind in source.kind_fields if (blocks := _blocks(gold.get(key)))
        ),
        language=meta.language or detect_language(text),
        gold_origin=source.gold_origin,
    )


def _read_readability(data_dir: Path, ref: PageRef) -> SourcePage:
    folder = data_dir / READABILITY_DIR / ref.page_id
    html = _decode((folder / "source.html").read_bytes())
    text = _clean_gold(html_text.extract_text(_decode((folder / "expected.html").read_bytes())))
    if not text:
        raise PageError(f"readability-{ref.page_id}: empty gold in expected.html")
    metadata_path = folder / "expected-metadata.json"
    metadata = json.loads(metadata_path.read_text(encoding="utf-8")) if metadata_path.is_file() else {}
    return SourcePage(
        ref=ref,
        html=html,
        gold_text=text,
        domain=readability_domain(html, ref.page_id),
        title=_known(metadata.get("title")),
        author=_known(metadata.get("byline")),
        published=_known(metadata.get("publishedTime")),
        site_name=_known(metadata.get("siteName")),
        gold_without=(),
        gold_kinds=(),
        language=detect_language(text),
        gold_origin=READABILITY_SET.gold_origin,
    )


def _decode(data: bytes) -> str:
    """Pages are UTF-8 with the odd stray byte; a page that is not text at all is malformed."""
    if b"\x00" in data[:4096]:
        raise PageError("binary content, not HTML")
    return data.decode("utf-8", errors="replace")


def _clean_gold(text: str) -> str:
    """One paragraph per line, blank lines dropped, whitespace inside lines collapsed."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _blocks(value: object) -> tuple[str, ...]:
    """A ground-truth list of text blocks, without empty ones (None or a non-list: none)."""
    if not isinstance(value, list):
        return ()
    return tuple(str(item) for item in value if str(item).strip())


def _known(value: object) -> str:
    text = "" if value is None else " ".join(str(value).split())
    return "" if text.lower() in {"none", "null", "unknown", "n/a"} else text
