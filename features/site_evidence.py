"""Site evidence: on how many of a site's other pages each line of a page recurs.

A site's menus, footers, "Most Viewed" boxes, newsletter prompts and cookie notices recur across its
pages while its stories do not; that evidence is strongest exactly where one page is weakest (short
list lines, widgets that read like prose). A crawl holds many pages of each site, so the corpus job
counts lines per site in a first pass and labels with the counts in a second.

Lines are compared by their repeat key (`features.context.repeat_key`: lowercased words) and by
the same key with every run of digits masked, so "Comments (12)" and "Comments (3)" match. Keys
are hashed to 64 bits together with the site, so the counts take 8 bytes a (site, line) pair while
they are gathered, spill to disk past a limit, and keep only lines seen on two pages or more.
Each page counts a line once, however often it repeats it.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

MIN_SITE_PAGES = 3
"""Pages a site needs (the page itself included) before its counts are evidence."""
SITE_FEATURES = ("site_line_share", "site_masked_share", "log_site_pages", "site_evidence")
"""Per segment: share of the site's other pages holding the line, the same for the digit-masked
line, log1p of the site's other pages, and 1.0 where the site has enough pages (else all 0)."""
SPILL_PAIRS = 4_000_000
"""(site, line) hashes held in memory before a chunk is written to disk (32 MB)."""
_DIGITS = re.compile(r"\d+")
_EXACT, _MASKED = b"e", b"m"


def masked(key: str) -> str:
    """`key` with every run of digits replaced by one 0: "comments 12" → "comments 0"."""
    return _DIGITS.sub("0", key)


def line_hashes(site: str, keys: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n,) uint64 hashes of each key on `site`, exact and digit-masked (0 for an empty key)."""
    prefix = site.encode("utf-8", "surrogatepass") + b"\0"
    exact, masked_keys = [], []
    for key in keys:
        if not key:
            exact.append(0)
            masked_keys.append(0)
            continue
        data = key.encode("utf-8", "surrogatepass")
        exact.append(_hash(prefix + _EXACT + data))
        masked_keys.append(_hash(prefix + _MASKED + masked(key).encode("utf-8", "surrogatepass")))
    return np.array(exact, dtype=np.uint64), np.array(masked_keys, dtype=np.uint64)


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
        with Path(path).open("wb") as handle:
            np.savez(handle, sites=self.sites, pages=self.pages, lines=self.lines, counts=self.counts)

    @classmethod
    def load(cls, path: Path) -> SiteTable:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in ("sites", "pages", "lines", "counts")}
        for name in ("sites", "lines"):
            if arrays[name].dtype != np.uint64 or (np.diff(arrays[name].astype(np.float64)) < 0).any():
                raise ValueError(f"{path}: {name} must be sorted uint64 hashes")
        return cls(**arrays)


class SiteLineCounter:
    """Gathers which lines each page of each site holds, in bounded memory, into a `SiteTable`.

    Args:
        spill_dir: Where chunks of hashes go once `spill_pairs` are held (a temporary folder if None).
        spill_pairs: Hashes held in memory before a chunk is written.
    """

    def __init__(self, spill_dir: Path | None = None, spill_pairs: int = SPILL_PAIRS) -> None:
        self.spill_pairs = spill_pairs
        self._spill_dir = spill_dir
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        self._held: list[np.ndarray] = []
        self._held_pairs = 0
        self._chunks: list[Path] = []
        self._pages: dict[int, int] = {}

    def add_page(self, site: str, keys: Sequence[str]) -> None:
        """Count one page of `site` whose segments have these repeat keys."""
        code = site_hash(site)
        self._pages[code] = self._pages.get(code, 0) + 1
        exact, masked_hashes = line_hashes(site, keys)
        hashes = np.unique(np.concatenate([exact, masked_hashes]))
        hashes = hashes[hashes != 0]
        self._held.append(hashes)
        self._held_pairs += hashes.size
        if self._held_pairs >= self.spill_pairs:
            self._spill()

    def table(self) -> SiteTable:
        """The counts so far; lines seen on one page only are dropped (they are evidence of nothing)."""
        parts = [np.load(path) for path in self._chunks] + self._held
        hashes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
        lines, counts = np.unique(hashes, return_counts=True)
        repeated = counts >= 2
        sites = np.array(sorted(self._pages), dtype=np.uint64)
        pages = np.array([self._pages[int(code)] for code in sites], dtype=np.int64)
        return SiteTable(sites, pages, lines[repeated], counts[repeated].astype(np.int64))

    def _spill(self) -> None:
        if self._spill_dir is None and self._temporary is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="storysplit-sites-")
        folder = Path(self._temporary.name) if self._temporary is not None else Path(self._spill_dir or ".")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"chunk-{len(self._chunks):05d}.npy"
        np.save(path, np.sort(np.concatenate(self._held)))
        self._chunks.append(path)
        self._held, self._held_pairs = [], 0


def _lookup(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """values[i] where keys[i] == wanted, else 0, for sorted `keys`."""
    if keys.size == 0:
        return np.zeros(wanted.shape, dtype=values.dtype if values.size else np.int64)
    index = np.searchsorted(keys, wanted).clip(0, keys.size - 1)
    return np.where(keys[index] == wanted, values[index], 0)
