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

import itertools
from collections.abc import Sequence

import numpy as np

from storysplit.features.word_ids import positions_within

SCAN_LIMIT = 50_000
# Odd, so that mixing each word's hash into a shingle's hash (h * M + word) loses no bits.
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


class ShingleIndex:
    """Distinct texts indexed by the hashes of their word shingles of `size` words.

    The shingles live as 64-bit hashes in sorted numpy arrays: a dict from each shingle's string
    to a list of texts took a Python object or two per word of the document, many times the
    document's own size. Hashes that collide only add candidates: containment is always checked
    on the texts themselves.

    Args:
        texts: Distinct texts of at least `size` words (keys: words joined by single spaces).
        size: Words per shingle.
    """

    def __init__(self, texts: Sequence[str], size: int) -> None:
        self.texts = list(texts)
        counts = np.fromiter((t.count(" ") + 1 for t in self.texts), dtype=np.intp, count=len(self.texts))
        if counts.size and counts.min() < size:
            raise ValueError(f"every text needs at least {size} words, one has {counts.min()}")
        self._owners, starts, holders, shingle_of = _postings(*_shingle_hashes(self.texts, counts, size))
        rarest = _rarest(shingle_of, holders, counts - size + 1)
        self._first, self._holders = starts[rarest], holders[rarest]
        """Per text, where its rarest shingle's texts begin in `_owners`, and how many they are."""

    def containers(self, number: int, among: np.ndarray | None = None) -> list[int]:
        """The other texts that hold text `number` as a run of whole words, in order.

        Args:
            number: A text's position in `texts`.
            among: One flag per text: only flagged texts are looked at (None: all of them).
        """
        holders = int(self._holders[number])
        if holders == 1:  # its rarest shingle is its own
            return []
        first = int(self._first[number])
        candidates = self._owners[first : first + holders]
        if among is not None:
            candidates = candidates[among[candidates]]
        padded = f" {self.texts[number]} "
        return [i for i in candidates.tolist() if i != number and padded in f" {self.texts[i]} "]


def _shingle_hashes(texts: Sequence[str], counts: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The hash of every shingle of every text (texts in order, a text's shingles in order), and the
    text each belongs to. `counts`: each text's words."""
    words = itertools.chain.from_iterable(text.split(" ") for text in texts)
    word_hashes = np.fromiter(map(hash, words), dtype=np.int64, count=int(counts.sum())).view(np.uint64)
    owner = np.repeat(np.arange(len(texts)), counts)
    firsts = np.flatnonzero(positions_within(counts) <= counts[owner] - size)  # first word of each
    hashes = np.zeros(len(firsts), dtype=np.uint64)
    for offset in range(size):
        hashes *= _MULTIPLIER
        hashes += word_hashes[firsts + offset]
    return hashes, owner[firsts]


def _postings(
    hashes: np.ndarray, owners: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The texts that hold each distinct shingle, shingle after shingle in hash order.

    Args:
        hashes: Each shingle window's hash (texts in order).
        owners: Each window's text.

    Returns:
        The texts of each shingle in turn (each once, in text order), where each shingle's texts
        begin in that array and how many they are (by shingle number), and each window's shingle
        number.
    """
    order = np.argsort(hashes, kind="stable")  # a shingle's windows stay in text order
    sorted_hashes, sorted_owners = hashes[order], owners[order]
    new_shingle = _changes(sorted_hashes)
    posting = new_shingle | _changes(sorted_owners)  # one per distinct (shingle, text)
    texts = sorted_owners[posting]
    starts = np.flatnonzero(new_shingle[posting])
    holders = np.diff(np.append(starts, len(texts)))
    shingle_of = np.empty(len(hashes), dtype=np.intp)
    shingle_of[order] = np.cumsum(new_shingle) - 1
    return texts, starts, holders, shingle_of


def _changes(values: np.ndarray) -> np.ndarray:
    """True where a value differs from the one before it (and at the first)."""
    changed = np.ones(len(values), dtype=bool)
    changed[1:] = values[1:] != values[:-1]
    return changed


def _rarest(shingle_of: np.ndarray, holders: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Per text, the shingle held by the fewest texts (the first such), as a shingle number.

    Args:
        shingle_of: Per shingle window (texts in order), its shingle's number.
        holders: Per shingle number, how many texts hold it.
        windows: Per text, its shingle windows (at least one).
    """
    if not len(windows):
        return np.zeros(0, dtype=np.intp)
    # Holders first, shingle number second, as one integer: its minimum is the rarest shingle.
    scores = holders[shingle_of] * len(holders) + shingle_of
    return np.minimum.reduceat(scores, np.cumsum(windows) - windows) % len(holders)


class KeptTexts:
    """Texts kept so far, asked whether a key sits inside one of them as a run of whole words.

    Args:
        texts: Every text that may be added; keys asked about are among them. Above `SCAN_LIMIT`
            characters in all, those of at least `min_words` words are indexed by shingles up
            front and a look-up checks the candidates added so far; below it, kept texts are scanned.
        min_words: Shortest key that will be asked about.
    """

    def __init__(self, texts: Sequence[str], min_words: int) -> None:
        self._joined = "\n"
        self._index: ShingleIndex | None = None
        if sum(map(len, texts)) > SCAN_LIMIT:
            indexed = [text for text in dict.fromkeys(texts) if text.count(" ") + 1 >= min_words]
            self._number = {text: number for number, text in enumerate(indexed)}
            self._index = ShingleIndex(indexed, min_words)
            self._added = np.zeros(len(indexed), dtype=bool)

    def add(self, text: str) -> None:
        if self._index is None:
            self._joined += f" {text} \n"
        elif (number := self._number.get(text)) is not None:
            self._added[number] = True

    def contains(self, key: str) -> bool:
        """Whether `key` (at least `min_words` words) is a run of whole words of an added text."""
        if self._index is None:
            return f" {key} " in self._joined
        number = self._number[key]
        return bool(self._added[number]) or bool(self._index.containers(number, self._added))


def contained_in_longer(keys: Sequence[str], min_words: int) -> list[bool]:
    """Per key, whether its words appear inside a longer key (keys with fewer words: False)."""
    unique = list(dict.fromkeys(k for k in keys if k.count(" ") + 1 >= min_words))
    if sum(map(len, unique)) > SCAN_LIMIT:
        inside = _contained_by_index(unique, min_words)
    else:
        inside = _contained_by_scan(unique)
    return [key in inside for key in keys]


def _contained_by_index(unique: list[str], min_words: int) -> set[str]:
    """Keys found inside another key (the keys are distinct: a key holding another is longer)."""
    index = ShingleIndex(unique, min_words)
    return {key for number, key in enumerate(unique) if index.containers(number)}


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
    kept = KeptTexts(
        [key for key, p in zip(keys, out.tolist(), strict=True) if key and not p < threshold], min_words
    )
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
