"""Find segments whose words sit inside other segments, in about linear time.

Scrapers repeat text: a teaser quotes the story's first paragraph, a second copy of the page
follows the first. Checking every pair of segments is quadratic (a 1 MB line has ~10k sentences),
so candidates come from an index of word shingles: a key of at least `size` words can only sit
inside a text that contains every shingle of the key, so its rarest shingle's texts are the only
candidates (its first shingle alone is shared by thousands of lines such as "posted by ... on").
A typical page has a few hundred segments; for those, `str.find` over the joined keys (C speed)
is several times faster than building the index, so the index serves only documents whose keys
exceed `SCAN_LIMIT` characters, where scanning would grow quadratically.

`drop_repeats` uses it after labelling: a kept segment that repeats an earlier kept one is dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np

SCAN_LIMIT = 50_000


class ShingleIndex:
    """Texts indexed by their word shingles of `size` words (keys are single-spaced word strings)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.texts: list[str] = []
        self._by_shingle: defaultdict[str, list[int]] = defaultdict(list)

    def add(self, text: str) -> int:
        """Index `text`; returns its id."""
        number = len(self.texts)
        self.texts.append(text)
        for shingle in dict.fromkeys(self._shingles(text.split(" "))):
            self._by_shingle[shingle].append(number)
        return number

    def containers(self, key: str) -> list[int]:
        """Ids of indexed texts that contain `key` as a run of whole words (`key` needs >= size words)."""
        words = key.split(" ")
        if len(words) < self.size:
            raise ValueError(f"key has {len(words)} words, the index needs at least {self.size}")
        candidates: list[int] | None = None
        for shingle in self._shingles(words):
            texts = self._by_shingle.get(shingle)
            if texts is None:
                return []
            if candidates is None or len(texts) < len(candidates):
                candidates = texts
        padded = f" {key} "
        return [i for i in candidates or [] if padded in f" {self.texts[i]} "]

    def _shingles(self, words: list[str]) -> Iterator[str]:
        return (" ".join(words[i : i + self.size]) for i in range(len(words) - self.size + 1))


class KeptTexts:
    """Texts kept so far, asked whether a key sits inside one of them as a run of whole words.

    Args:
        min_words: Shortest key that will be asked about.
        expected_chars: Total length of the texts that may be added; above `SCAN_LIMIT` they are
            indexed by shingles, below it scanned.
    """

    def __init__(self, min_words: int, expected_chars: int) -> None:
        self._index = ShingleIndex(min_words) if expected_chars > SCAN_LIMIT else None
        self._joined = "\n"

    def add(self, text: str) -> None:
        if self._index is not None:
            self._index.add(text)
        else:
            self._joined += f" {text} \n"

    def contains(self, key: str) -> bool:
        """Whether `key` (at least `min_words` words) is a run of whole words of an added text."""
        if self._index is not None:
            return bool(self._index.containers(key))
        return f" {key} " in self._joined


def contained_in_longer(keys: Sequence[str], min_words: int) -> list[bool]:
    """Per key, whether its words appear inside a longer key (keys with fewer words: False)."""
    unique = list(dict.fromkeys(k for k in keys if k.count(" ") + 1 >= min_words))
    if sum(map(len, unique)) > SCAN_LIMIT:
        inside = _contained_by_index(unique, min_words)
    else:
        inside = _contained_by_scan(unique)
    return [key in inside for key in keys]


def _contained_by_index(unique: list[str], min_words: int) -> set[str]:
    index = ShingleIndex(min_words)
    for key in unique:
        index.add(key)
    return {key for key in unique if any(len(index.texts[i]) > len(key) for i in index.containers(key))}


def _contained_by_scan(unique: list[str]) -> set[str]:
    """Keys found inside another key: one `str.find` each, over the keys longer than it.

    Only a longer key can hold a key (they are distinct), so the keys are joined longest first and
    each is looked for in the part before its own length begins.
    """
    ordered = sorted(unique, key=len, reverse=True)
    joined = "\n".join(f" {key} " for key in ordered)
    inside: set[str] = set()
    position = longer_end = 0
    previous_length = -1
    for key in ordered:
        if len(key) != previous_length:
            longer_end, previous_length = position, len(key)
        if longer_end and joined.find(f" {key} ", 0, longer_end) != -1:
            inside.add(key)
        position += len(key) + 3  # " key " and the line feed
    return inside


def drop_repeats(
    keys: Sequence[str], probabilities: np.ndarray, threshold: float, min_words: int = 4
) -> np.ndarray:
    """Zero the probability of kept segments that repeat an earlier kept segment.

    Scrapers repeat paragraphs (a story's text again under "related", a pull quote, a second copy of
    the page); the first kept copy stays, later ones are boilerplate. A repeat is a segment whose
    normalised words equal, or with at least `min_words` words appear inside, an earlier kept segment.

    Args:
        keys: Per segment, its normalised text (lowercased words joined by single spaces).
        probabilities: (n,) p(main) after decoding.
        threshold: Keep threshold; only kept segments count as originals or as repeats.
        min_words: Shortest segment that counts as repeated when it is only contained in another.

    Returns:
        (n,) probabilities with repeats set to 0.
    """
    out = np.array(probabilities, dtype=np.float64, copy=True)
    kept = KeptTexts(min_words, sum(map(len, keys)))
    kept_set: set[str] = set()
    for i, key in enumerate(keys):
        if out[i] < threshold or not key:
            continue
        if key in kept_set or (key.count(" ") + 1 >= min_words and kept.contains(key)):
            out[i] = 0.0
        else:
            kept.add(key)
            kept_set.add(key)
    return out
