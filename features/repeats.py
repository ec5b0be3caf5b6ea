"""Find segments whose words sit inside other segments, in about linear time.

Scrapers repeat text: a teaser quotes the story's first paragraph, a second copy of the page
follows the first. Checking every pair of segments is quadratic (a 1 MB line has ~10k sentences),
so candidates come from an index of word shingles: a key of at least `size` words can only sit
inside a text that contains every shingle of the key, so its rarest shingle's texts are the only
candidates (its first shingle alone is shared by thousands of lines such as "posted by ... on").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence


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


def contained_in_longer(keys: Sequence[str], min_words: int) -> list[bool]:
    """Per key, whether its words appear inside a longer key (keys with fewer words: False)."""
    unique = list(dict.fromkeys(k for k in keys if k.count(" ") + 1 >= min_words))
    index = ShingleIndex(min_words)
    for key in unique:
        index.add(key)
    inside = {key for key in unique if any(len(index.texts[i]) > len(key) for i in index.containers(key))}
    return [key in inside for key in keys]
