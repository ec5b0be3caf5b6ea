"""The corpus row format: one row per document, shared by the builder, training and evaluation.

Each row is a plain-text document as a scraper might leave it, with every segment that
`features.segmentation.split_document(text, max_chars)` yields labelled by a span:

- `id`: unique document id, e.g. `wcxb-0001-html_text` or `mix-wcxb-0001-html_text-0`.
- `text`: the document text; every span indexes it.
- `source`: the set the page came from (`train.corpus.sources.SOURCE_SETS`: `wcxb`,
  `readability`, `news-fixtures`, `cleaneval`, `multilingual-news`, `l3s-gn1`, `dragnet`,
  `googletrends-2017`, `canola`, `cleanportaleval`, `chinese-web`), `seeds`, or `agreement` for
  pages of `corpus.html_dirs` labelled by extractors' agreement.
- `domain`: the page's site (registrable domain where known); splits never share a domain.
- `renderer`: what made the text: `html_text`, `inscriptis`, `dom_lines`, `single_line`,
  `lenient`, `mixture` (a composed seed-like document) or `scraped` (the seeds).
- `reference_text`: the gold main content as the source gives it (token-level metrics use it).
- `html_path`: the page's HTML relative to the data dir, empty when there is none.
- `language`: ISO 639-1 code of the story's language (set metadata, else detected on the gold).
- `gold_origin`: how the gold was made: `hand`, `extractor` or `agreement` (`GoldOrigin`).
- `spans`: list of `{start, end, label, kind, weight, region}`: `label` is a `SegmentLabel`
  value, `kind` a `SegmentKind` value, `weight` in [0, 1] (0 marks an ambiguous segment that
  training skips and segment-level metrics ignore), `region` a `SegmentRegion` value (before,
  story, inside or after the page's story region; `evaluation.regions`).

Splits of the saved `DatasetDict`: `train`, `validation`, `test` (by domain) and `seeds`.
"""

from __future__ import annotations

from datasets import Features, List, Value

SPLITS = ("train", "validation", "test", "seeds")

CORPUS_FEATURES = Features(
    {
        "id": Value("string"),
        "text": Value("string"),
        "source": Value("string"),
        "domain": Value("string"),
        "renderer": Value("string"),
        "reference_text": Value("string"),
        "html_path": Value("string"),
        "language": Value("string"),
        "gold_origin": Value("string"),
        "spans": List(
            {
                "start": Value("int32"),
                "end": Value("int32"),
                "label": Value("string"),
                "kind": Value("string"),
                "weight": Value("float32"),
                "region": Value("string"),
            }
        ),
    }
)
