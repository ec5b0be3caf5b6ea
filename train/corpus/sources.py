"""Read the source pages (HTML plus gold main content) from `../shared/data` into one shape.

Two sets are read: WCXB (`wcxb-articles-dev/`, gold as plain text) and Mozilla Readability's
test pages (`readability-test-pages/`, gold as article HTML). Listing is cheap and never fails;
reading one page may raise `PageError`, which the build reports with the page id and skips.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import html_text

from storysplit.errors import StorysplitError

WCXB_DIR = "wcxb-articles-dev"
READABILITY_DIR = "readability-test-pages"

# Second-level labels under which registrations happen (example.co.uk is one site, not co.uk).
_SECOND_LEVEL = {"co", "com", "net", "org", "gov", "ac", "edu", "ne", "or", "go"}
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

    @property
    def doc_id(self) -> str:
        return f"{self.ref.source}-{self.ref.page_id}"


def list_pages(data_dir: Path, max_pages: int | None = None) -> list[PageRef]:
    """Every page of both sets in a stable order, at most `max_pages` from each set."""
    refs: list[PageRef] = []
    wcxb = sorted((data_dir / WCXB_DIR / "html").glob("*.html.gz"))
    refs += [
        PageRef("wcxb", path.name.removesuffix(".html.gz"), f"{WCXB_DIR}/html/{path.name}")
        for path in wcxb[:max_pages]
    ]
    readability = sorted(path.parent for path in (data_dir / READABILITY_DIR).glob("*/source.html"))
    refs += [
        PageRef("readability", folder.name, f"{READABILITY_DIR}/{folder.name}/source.html")
        for folder in readability[:max_pages]
    ]
    return refs


def input_files(data_dir: Path) -> list[Path]:
    """The files a build reads, for the corpus fingerprint."""
    files = sorted((data_dir / WCXB_DIR).rglob("*")) + sorted((data_dir / READABILITY_DIR).rglob("*"))
    return [path for path in files if path.is_file()]


def read_page(data_dir: Path, ref: PageRef, wcxb_domains: dict[str, str]) -> SourcePage:
    """Load one page and its gold.

    Args:
        data_dir: The folder holding both sets.
        ref: The page, from `list_pages`.
        wcxb_domains: WCXB page id → domain, from `read_wcxb_domains`.

    Raises:
        PageError: the page or its gold is unreadable, malformed or empty.
    """
    try:
        if ref.source == "wcxb":
            return _read_wcxb(data_dir, ref, wcxb_domains)
        return _read_readability(data_dir, ref)
    except PageError:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError) as error:
        raise PageError(f"{ref.source}-{ref.page_id}: {error.__class__.__name__}: {error}") from None


def read_wcxb_domains(data_dir: Path) -> dict[str, str]:
    """WCXB's `metadata.json` as page id → domain (empty when the set is absent)."""
    path = data_dir / WCXB_DIR / "metadata.json"
    if not path.is_file():
        return {}
    files = json.loads(path.read_text(encoding="utf-8")).get("files", {})
    return {page_id: str(entry.get("domain", "")) for page_id, entry in files.items()}


def site_domain(host: str) -> str:
    """The registrable part of a host name: `www.bbc.co.uk` → `bbc.co.uk`, `cloud.google.com` → `google.com`.

    Splits are made by this, so subdomains of one site never land in two splits.
    """
    host = host.strip().lower().rstrip(".")
    host = host.split("@")[-1].split(":")[0]
    labels = [label for label in host.split(".") if label]
    if len(labels) <= 2:
        return ".".join(labels)
    keep = 3 if labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


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


def _read_wcxb(data_dir: Path, ref: PageRef, domains: dict[str, str]) -> SourcePage:
    html = _decode(gzip.decompress((data_dir / ref.html_path).read_bytes()))
    truth_path = data_dir / WCXB_DIR / "ground-truth" / f"{ref.page_id}.json"
    record = json.loads(truth_path.read_text(encoding="utf-8"))
    gold = record["ground_truth"]
    text = _clean_gold(str(gold.get("main_content") or ""))
    if not text:
        raise PageError(f"wcxb-{ref.page_id}: empty gold main_content")
    host = urlsplit(str(record.get("url", ""))).hostname or ""
    domain = site_domain(domains.get(ref.page_id) or host) or f"wcxb:{ref.page_id}"
    return SourcePage(
        ref=ref,
        html=html,
        gold_text=text,
        domain=domain,
        title=_known(gold.get("title")),
        author=_known(gold.get("author")),
        published=_known(gold.get("publish_date")),
        site_name="",
        gold_without=tuple(str(item) for item in gold.get("without") or () if str(item).strip()),
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


def _known(value: object) -> str:
    text = "" if value is None else " ".join(str(value).split())
    return "" if text.lower() in {"none", "null", "unknown", "n/a"} else text
