"""Site evidence: on how many of a site's other pages each line of a page recurs.

A site's menus, footers, "Most Viewed" boxes, newsletter prompts and cookie notices recur across its
pages while its stories do not; that evidence is strongest exactly where one page is weakest (short
list lines, widgets that read like prose). A crawl holds many pages of each site, so the corpus job
counts lines per site in a first pass and labels with the counts in a second.

Lines are compared by their repeat key (`features.context.repeat_key`: lowercased words) and by
the same key with every run of digits masked, so "Comments (12)" and "Comments (3)" match. Keys
are hashed to 64 bits together with the site, so the counts take 16 bytes a (site, line) pair (its
hash and count) while they are gathered, spill to disk past a limit, and keep only lines seen on
two pages or more. Each page counts a line once, however often it repeats it. Parts of a corpus
counted apart (a job's shards, Ray blocks, datatrove tasks) give `SiteCounts`, which add up to the
counts of the whole.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MIN_SITE_PAGES = 3
"""Pages a site needs (the page itself included) before its counts are evidence."""
SITE_FEATURES = ("site_line_share", "site_masked_share", "log_site_pages", "site_evidence")
"""Per segment: share of the site's other pages holding the line, the same for the digit-masked
line, log1p of the site's other pages, and 1.0 where the site has enough pages (else all 0)."""
TEMPLATE_SHARE = 0.5
"""A line on at least this share of its site's other pages is the site's template (`template_rows`)."""
TEMPLATE_PAGES = 2
"""...and on at least this many of them: one duplicate of a page never makes its story a template."""
SPILL_PAIRS = 4_000_000
"""(site, line) hashes held in memory before a chunk is written to disk (64 MB with their counts);
also the most pairs the final merge holds at once besides the table."""
_DIGITS = re.compile(r"\d+")
_EXACT, _MASKED = b"e", b"m"
_NO_HASH = bytes(8)


def template_rows(evidence: np.ndarray) -> np.ndarray:
    """(n,) bool: the rows of `evidence` (n, len(SITE_FEATURES)) whose line is its site's template.

    The labeller reads the same columns, but it learnt them from crawls of three to seven pages
    and keeps some lines that every page of a big crawl holds (a teaser paragraph, a comment
    thread). Dropping kept lines on at least `TEMPLATE_SHARE` of the other pages on top of it
    lost nothing on any held-out set's crawls and gained on three (docs/results.md).
    """
    share = evidence[:, SITE_FEATURES.index("site_line_share")].astype(np.float64)
    others = np.expm1(evidence[:, SITE_FEATURES.index("log_site_pages")].astype(np.float64))
    holders = np.rint(share * others)
    present = evidence[:, SITE_FEATURES.index("site_evidence")] > 0
    return present & (share >= TEMPLATE_SHARE) & (holders >= TEMPLATE_PAGES)


def masked(key: str) -> str:
    """`key` with every run of digits replaced by one 0: "comments 12" → "comments 0"."""
    return _DIGITS.sub("0", key)


def line_hashes(site: str, keys: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n,) uint64 hashes of each key on `site`, exact and digit-masked (0 for an empty key)."""
    keys = list(keys)
    prefix = site.encode("utf-8", "surrogatepass") + b"\0"
    return _key_hashes(prefix + _EXACT, keys), _key_hashes(prefix + _MASKED, [masked(key) for key in keys])


def _key_hashes(prefix: bytes, keys: list[str]) -> np.ndarray:
    """(n,) uint64: `_hash` of `prefix` and each key, 0 for an empty key.

    Every page's keys are hashed in both passes of a corpus job: the digests are joined and read
    as one array rather than converted one Python int at a time.
    """
    digests = b"".join(
        [
            hashlib.blake2b(prefix + key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
            if key
            else _NO_HASH
            for key in keys
        ]
    )
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)


def site_hash(site: str) -> int:
    """The 64-bit identity of a site in a `SiteTable`."""
    return _hash(b"site\0" + site.encode("utf-8", "surrogatepass"))


def _hash(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


class SiteTable:
    """Per site, its page count and the page counts of its lines seen on two pages or more.

    Args:
        sites: (n_sites,) sorted uint64 `site_hash` values.
        pages: (n_sites,) pages counted for each.
        lines: (n_lines,) sorted uint64 line hashes (exact and masked together).
        counts: (n_lines,) pages holding each line.
    """

    def __init__(self, sites: np.ndarray, pages: np.ndarray, lines: np.ndarray, counts: np.ndarray) -> None:
        self.sites = sites
        self.pages = pages
        self.lines = lines
        self.counts = counts

    def site_pages(self, site: str) -> int:
        """Pages counted for `site` (0 if none)."""
        return int(_lookup(self.sites, self.pages, np.array([site_hash(site)], dtype=np.uint64))[0])

    def evidence(self, site: str | None, keys: Sequence[str], counted: bool = True) -> np.ndarray:
        """(n, len(SITE_FEATURES)) float32 columns for a page's segments with these repeat keys.

        Args:
            site: The page's site key; None (or a site with fewer than `MIN_SITE_PAGES` pages) gives
                zeros: no evidence.
            keys: Each segment's repeat key.
            counted: Whether this page itself was counted in the table (the usual case: a crawl
                counts all its pages, then labels each); its own lines are then taken off.
        """
        out = np.zeros((len(keys), len(SITE_FEATURES)), dtype=np.float32)
        if site is None or not keys:
            return out
        others = self.site_pages(site) - int(counted)
        if others + 1 < MIN_SITE_PAGES:
            return out
        exact, masked_hashes = line_hashes(site, keys)
        own = float(counted)
        for column, hashes in ((0, exact), (1, masked_hashes)):
            found = _lookup(self.lines, self.counts, hashes).astype(np.float64)
            # A line on one page only was pruned: this page's own line when it was counted.
            found = np.where((found > 0) & (hashes != 0), found, own)
            out[:, column] = np.clip((found - own) / others, 0.0, 1.0)
        out[:, 2] = np.log1p(others)
        out[:, 3] = 1.0
        return out

    def save(self, path: Path) -> None:
        """Write the table as an uncompressed `.npz` (read back by `load`, nothing pickled)."""
        _save_arrays(path, self.sites, self.pages, self.lines, self.counts)

    @classmethod
    def load(cls, path: Path) -> SiteTable:
        return cls(*_load_arrays(path))


@dataclass(frozen=True)
class SiteCounts:
    """The counts of a part of a corpus counted on its own (a shard, a Ray block, a datatrove task).

    Arrays as in `SiteTable`, but lines seen on one page are kept: they may recur in another part.
    Parts add up to the whole (`SiteLineCounter.add_counts`), so a corpus can be counted in parallel.
    """

    sites: np.ndarray
    pages: np.ndarray
    lines: np.ndarray
    counts: np.ndarray

    def save(self, path: Path) -> None:
        """Write the counts as an uncompressed `.npz` (read back by `load`, nothing pickled)."""
        _save_arrays(path, self.sites, self.pages, self.lines, self.counts)

    @classmethod
    def load(cls, path: Path) -> SiteCounts:
        return cls(*_load_arrays(path))


class SiteLineCounter:
    """Gathers which lines each page of each site holds, in bounded memory, into a `SiteTable`.

    Pages (`add_page`) and parts counted elsewhere (`add_counts`) are held until `spill_pairs`
    (line hash, count) pairs are, then summed by line into a sorted chunk on disk. The chunks are
    merged one range of hashes at a time, so the merge too holds about `spill_pairs` pairs besides
    what it keeps.

    Args:
        spill_dir: Where chunks of hashes go once `spill_pairs` are held (a temporary folder if None).
        spill_pairs: Hashes held in memory before a chunk is written.
    """

    def __init__(self, spill_dir: Path | None = None, spill_pairs: int = SPILL_PAIRS) -> None:
        self.spill_pairs = spill_pairs
        self._spill_dir = spill_dir
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        self._held: list[tuple[np.ndarray, np.ndarray | None]] = []  # (lines, counts); None: once each
        self._held_pairs = 0
        self._chunks: list[Path] = []
        self._pages: dict[int, int] = {}

    def add_page(self, site: str, keys: Sequence[str]) -> None:
        """Count one page of `site` whose segments have these repeat keys."""
        code = site_hash(site)
        self._pages[code] = self._pages.get(code, 0) + 1
        exact, masked_hashes = line_hashes(site, keys)
        hashes = np.unique(np.concatenate([exact, masked_hashes]))
        self._hold(hashes[hashes != 0], None)

    def add_counts(self, counts: SiteCounts) -> None:
        """Add the counts of pages counted by another counter (`SiteLineCounter.counts`)."""
        for code, pages in zip(counts.sites.tolist(), counts.pages.tolist(), strict=True):
            self._pages[code] = self._pages.get(code, 0) + pages
        self._hold(counts.lines, counts.counts)

    def counts(self) -> SiteCounts:
        """Everything counted so far, lines seen on one page included (to add to another counter)."""
        return SiteCounts(*self._site_pages(), *self._merged(min_count=1))

    def table(self) -> SiteTable:
        """The counts so far; lines seen on one page only are dropped (they are evidence of nothing)."""
        return SiteTable(*self._site_pages(), *self._merged(min_count=2))

    def _site_pages(self) -> tuple[np.ndarray, np.ndarray]:
        sites = np.array(sorted(self._pages), dtype=np.uint64)
        return sites, np.array([self._pages[int(code)] for code in sites], dtype=np.int64)

    def _hold(self, lines: np.ndarray, counts: np.ndarray | None) -> None:
        self._held.append((lines, counts))
        self._held_pairs += lines.size
        if self._held_pairs >= self.spill_pairs:
            self._spill()

    def _summed_held(self) -> tuple[np.ndarray, np.ndarray]:
        """The held pairs summed by line, sorted by line."""
        if not self._held:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
        lines = np.concatenate([held_lines for held_lines, _ in self._held])
        counts = np.concatenate(
            [np.ones(held.size, np.int64) if found is None else found for held, found in self._held]
        )
        return _sum_by_line(lines, counts.astype(np.int64, copy=False))

    def _spill(self) -> None:
        if self._spill_dir is None and self._temporary is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="storysplit-sites-")
        folder = Path(self._temporary.name) if self._temporary is not None else Path(self._spill_dir or ".")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"chunk-{len(self._chunks):05d}.npy"
        lines, counts = self._summed_held()
        np.save(path, np.stack([lines, counts.astype(np.uint64)]))  # row 0 lines, row 1 counts
        self._chunks.append(path)
        self._held, self._held_pairs = [], 0

    def _merged(self, min_count: int) -> tuple[np.ndarray, np.ndarray]:
        """Every line counted on at least `min_count` pages and its count, sorted by line."""
        if not self._chunks:
            return _at_least(*self._summed_held(), min_count)
        if self._held:
            self._spill()
        total = sum(np.load(path, mmap_mode="r").shape[1] for path in self._chunks)
        ranges = max(1, -(-total // self.spill_pairs))
        lows = [(2**64 * number) // ranges for number in range(ranges)]
        kept = [
            self._merged_range(low, high, min_count)
            for low, high in zip(lows, [*lows[1:], None], strict=True)
        ]
        return (
            np.concatenate([lines for lines, _ in kept]),
            np.concatenate([counts for _, counts in kept]),
        )

    def _merged_range(self, low: int, high: int | None, min_count: int) -> tuple[np.ndarray, np.ndarray]:
        """`_merged` for the line hashes from `low` up to `high` (None: the end), chunk by chunk.

        Each chunk is mapped only while its slice is copied out, so the pages read from disk do not
        stay in this process's memory.
        """
        lines, counts = [], []
        for path in self._chunks:
            chunk = np.load(path, mmap_mode="r")
            start = int(np.searchsorted(chunk[0], np.uint64(low)))
            stop = chunk.shape[1] if high is None else int(np.searchsorted(chunk[0], np.uint64(high)))
            lines.append(np.array(chunk[0, start:stop]))
            counts.append(np.array(chunk[1, start:stop]).astype(np.int64))
            del chunk
        return _at_least(*_sum_by_line(np.concatenate(lines), np.concatenate(counts)), min_count)


def _sum_by_line(lines: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct `lines`, sorted, and the sum of `counts` of each."""
    if lines.size == 0:
        return lines.astype(np.uint64), counts.astype(np.int64)
    order = np.argsort(lines, kind="stable")
    lines, counts = lines[order], counts[order]
    starts = np.flatnonzero(np.concatenate([[True], lines[1:] != lines[:-1]]))
    return lines[starts], np.add.reduceat(counts, starts).astype(np.int64)


def _at_least(lines: np.ndarray, counts: np.ndarray, min_count: int) -> tuple[np.ndarray, np.ndarray]:
    keep = counts >= min_count
    return lines[keep], counts[keep]


def _save_arrays(
    path: Path, sites: np.ndarray, pages: np.ndarray, lines: np.ndarray, counts: np.ndarray
) -> None:
    with Path(path).open("wb") as handle:
        np.savez(handle, sites=sites, pages=pages, lines=lines, counts=counts)


def _load_arrays(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """sites, pages, lines, counts of a file `_save_arrays` wrote.

    Raises:
        ValueError: sites or lines are not sorted uint64 hashes.
    """
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in ("sites", "pages", "lines", "counts")}
    for name in ("sites", "lines"):
        if arrays[name].dtype != np.uint64 or (np.diff(arrays[name].astype(np.float64)) < 0).any():
            raise ValueError(f"{path}: {name} must be sorted uint64 hashes")
    return arrays["sites"], arrays["pages"], arrays["lines"], arrays["counts"]


def _lookup(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """values[i] where keys[i] == wanted, else 0, for sorted `keys`."""
    if keys.size == 0:
        return np.zeros(wanted.shape, dtype=values.dtype if values.size else np.int64)
    index = np.searchsorted(keys, wanted).clip(0, keys.size - 1)
    return np.where(keys[index] == wanted, values[index], 0)
