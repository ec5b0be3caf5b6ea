"""Corpus jobs: clean millions of documents on one machine (`storysplit clean`), on Ray, or in datatrove.

Every path turns a batch of texts into cleaned text with `jobs.cleaning.clean_texts`, so a
document's cleaned text is the same whichever engine ran it, and the same as `storysplit segment`'s
main text. This package may use `datasets`, `pyarrow`, `ray` and `datatrove`; `storysplit` (the
inference package) never imports it.
"""
