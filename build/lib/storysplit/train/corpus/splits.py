"""Assign each site to one split by hashing its domain, so no site is in two splits.

Hashing (not shuffling) keeps a domain's split fixed when pages are added or `max_pages`
changes, and needs no state: the same domain lands in the same split on every machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

DOMAIN_SPLITS = ("train", "validation", "test")


def split_for_domain(domain: str, fractions: Sequence[float]) -> str:
    """`train`, `validation` or `test` for `domain`, with probabilities proportional to `fractions`.

    Raises:
        ValueError: `fractions` is not three non-negative numbers with a positive sum.
    """
    if len(fractions) != len(DOMAIN_SPLITS) or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise ValueError(f"split_fractions must be three non-negative numbers, got {list(fractions)}")
    digest = hashlib.sha256(domain.strip().lower().encode("utf-8")).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * sum(fractions)
    cumulative = 0.0
    for name, fraction in zip(DOMAIN_SPLITS, fractions, strict=True):
        cumulative += fraction
        if point < cumulative:
            return name
    return next(
        name for name, fraction in reversed(list(zip(DOMAIN_SPLITS, fractions, strict=True))) if fraction > 0
    )
