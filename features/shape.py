"""Surface shape of segments: length, punctuation, casing, digits, word lengths and line patterns.

Menus, bylines, timestamps, widget lines and comment threads give themselves away by their shape.
Nothing here assumes English: words are counted in any script (`features.words`: a Chinese or
Japanese character is a word), the prose signal is the share of short words (function words are
short in every space-separated language) instead of an English stopword list, and the cue patterns
(widgets, bylines, dates, comments) carry the common forms of the languages the data holds. The features are
computed for all segments of a batch at once: the texts are joined into one string, characters
are classified through a code-point table, and each pattern runs once over the joined string with
its matches counted per segment. A Python loop per character or per segment cost more than the
encoder on the static path.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import itertools
import operator
import re
from collections.abc import Sequence

import numpy as np

from storysplit.features.words import CJK_RANGES, TOKEN, words

_TERMINAL = re.compile(r"[.!?。！？…][\"'”’)\]]*$", re.MULTILINE)
_BULLET = re.compile(r"^[•·\-*–—►▶|>»›■□◦○●✓✔]", re.MULTILINE)
_SEPARATORS = re.compile(r"[|•·›»/]")
_URL = re.compile(r"https?://|www\.|\.(com|org|net|co\.uk)\b", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")
_TIME_WORDS = frozenset(["ago", "am", "pm", "gmt", "utc", "edt", "est", "ist", "uhr", "hace"])
_MONTH = "(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
# Times and dates, each as patterns whose every match starts with a digit or one of a few words:
# `re` jumps straight to those, where a leading `\b` made it try every position (slower). A
# text has a time (date) when one of them matches; `(?<!\w\d)` right after a first digit, and
# `(?<!\w...)` after a three-letter word, are the `\b` before it.
_TIME = (
    re.compile(r"\d(?:(?<!\w\d)\d?(?::\d{2}| ?h ?\d{2})\b|\d?時)", re.IGNORECASE),  # 10:30, 14 h 30, 6時
    re.compile(
        "|".join(
            f"(?:{'|'.join(sorted(w for w in _TIME_WORDS if len(w) == n))})(?<!\\w{'.' * n})\\b"
            for n in sorted({len(w) for w in _TIME_WORDS})
        ),
        re.IGNORECASE,
    ),  # 5 hours ago, 10 am, 14 Uhr
)
_DATE = (
    re.compile(rf"{_MONTH}(?<!\w...)[a-z]*\.?\s+\d{{1,2}}\b", re.IGNORECASE),  # Jan 12, Sept. 3
    re.compile(
        rf"\d(?:(?<!\w\d)(?:\d?\s+{_MONTH}[a-z]*\b|\d{{3}}-\d{{2}}-\d{{2}}\b|\d?/\d{{1,2}}/\d{{2,4}}\b|"
        r"\d?\.\d{1,2}\.(?:\d{2,4})?(?!\d))|\d?月\d{1,2}日)",
        re.IGNORECASE,
    ),  # 12 January, 2024-01-31, 1/31/24, 31.1.2024, 1月31日
    re.compile(r"(?:19|20)(?<!\w..)\d\d\b"),  # a year
)
_BYLINE = re.compile(
    r"^(by|written by|posted by|posted on|published|updated|last updated|photo|image|credit|source|"
    r"von|par|por|di|door|av|autor|auteur|autore|foto|quelle|aktualisiert|veröffentlicht|publié|"
    r"publicado|actualizado|mis à jour)\b",
    re.IGNORECASE | re.MULTILINE,
)
# The widget vocabulary, the one list the widget pattern and its prefilter are made from
# (`widget_terms`). Lowercase; a space stands for one space; a trailing "*" takes the rest of the
# word ("advertis*": advertising, advertisement). Terms match as whole words, except those of
# scripts that write no spaces or attach particles to words (CJK, Hangul) and symbols, which match
# anywhere.
WIDGET_TERMS = tuple(
    term.strip()
    for term in """
    share, shares, tweet, subscribe, subscription, newsletter, sign up, signup, log in, login, sign in,
    signin, register, cookie, cookies, privacy, terms, advertis*, sponsored, follow, read more,
    more stories, comment, comments, related, copyright, rights reserved, click, download, app, menu,
    search, home, trending, popular, latest, most read, most viewed, listen, watch, video, podcast, skip,
    contact, about us, careers, faq, help,
    teilen, kommentar, kommentare, abonnieren, anmelden, werbung, anzeige, datenschutz, impressum,
    mehr zum thema,
    partager, commentaire, commentaires, connexion, publicité, s'abonner, lire aussi,
    compartir, comentario, comentarios, suscríbete, publicidad,
    condividi, commenti, pubblicità,
    delen, reacties,
    udostępnij, komentarz, komentarze, reklama,
    dela, kommentarer, annons,
    paylaş, yorumlar, reklam,
    ©,
    シェア, ツイート, コメント, 関連記事, ランキング, 広告, ログイン, 新着, おすすめ, 人気記事,
    分享, 评论, 相关, 广告, 登录, 热门, 推荐,
    공유, 댓글, 관련, 광고, 로그인
    """.split(",")  # noqa: SIM905 (a word list reads better as text)
)
_HANGUL = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
_MATCHES_ANYWHERE = re.compile(f"[{CJK_RANGES}{_HANGUL}]|\\W")
"""The start of a widget term that matches anywhere, not as a whole word."""


@dataclasses.dataclass(frozen=True)
class WidgetTerms:
    """A widget vocabulary's pattern, and its prefilter: a text can match the pattern only if one
    of its lowered words is in `words` or its lowered form holds one of `literals`."""

    pattern: re.Pattern[str]
    words: frozenset[str]
    literals: tuple[str, ...]


def widget_terms(terms: Sequence[str]) -> WidgetTerms:
    """The pattern of `terms` (written as `WIDGET_TERMS` is) and its prefilter.

    A text that holds a whole-word term has the term's first word among its words
    (`features.words.TOKEN` splits where the pattern's `\\b` does); a first word that is not one such
    word ("advertis*", "s'abonner"), and a term that matches anywhere, are looked for as substrings.
    """
    whole = [term for term in terms if not _MATCHES_ANYWHERE.match(term)]
    anywhere = [term for term in terms if _MATCHES_ANYWHERE.match(term)]
    alternatives = [rf"\b(?:{'|'.join(map(_term_pattern, whole))})\b"] if whole else []
    first_words = [term.split(" ")[0] for term in whole]
    return WidgetTerms(
        re.compile("|".join([*alternatives, *map(re.escape, anywhere)]), re.IGNORECASE),
        frozenset(word for word in first_words if TOKEN.fullmatch(word)),
        (*(word.removesuffix("*") for word in first_words if not TOKEN.fullmatch(word)), *anywhere),
    )


def _term_pattern(term: str) -> str:
    """A whole-word term's alternative: its text, and any rest of the word for a trailing "*"."""
    return re.escape(term.removesuffix("*")) + (r"\w*" if term.endswith("*") else "")


WIDGETS = widget_terms(WIDGET_TERMS)
_SENTENCE_ENDS = re.compile(r"[.!?。！？](\s|$)")
# Lines that are a comment's button and nothing else (lowercase).
_WHOLE_LINE_CUES = frozenset(
    [
        *("reply", "antworten", "répondre", "responder", "rispondi", "odpowiedz", "svara", "svar"),
        *("beantworten", "report", "report abuse", "melden", "signaler", "flag"),
    ]
)
# Comment cues: the counts ("12 votes") as a pattern `re` can skip to digits for, on texts with a
# digit; the rest on the texts `_comment_cue_candidates` lets through. A text has a cue when either matches.
_COMMENT_CUE = (
    re.compile(r"\d(?<!\w\d)\d*[ \t]+(votes?|likes?|replies|points|stimmen)\b", re.IGNORECASE),
    re.compile(
        r"\b(says|said|wrote|writes|schrieb|a écrit|escribió|ha scritto|napisał)[ \t]*:[ \t]*$|"
        rf"^({'|'.join(sorted(_WHOLE_LINE_CUES))})$|"
        r"\b(rating|bewertung)[ \t]*:|\b(commented|kommentierte|reply to)\b|"
        r"^@ ?\w|返信|いいね|通報|回复|답글",
        re.IGNORECASE | re.MULTILINE,
    ),
)
_COMMENT_CUE_LITERALS = ("comment", "kommentierte", "reply to", "返信", "いいね", "通報", "回复", "답글")
_COMMENT_HEADER = re.compile(
    r"^[^\w\n]*(\d+[ \t]+)?(\w+[ \t]+)?(comments?|responses?|replies|discussion|kommentare?|leserkommentare|"
    r"commentaires?|"
    r"comentarios?|commenti|komentarze?|kommentarer|reacties|yorumlar)\b|"
    r"^[^\w\n]*(leave a (comment|reply)|post a comment|add a comment|join the (discussion|conversation)|"
    r"show comments|view comments|schreiben sie einen kommentar|laisser un commentaire|"
    r"deja un comentario|lascia un commento|vous désirez commenter|what do you think)\b|"
    r"^[^\w\n]*(\d+[ \t]*)?(コメント|评论|評論|댓글)",
    re.IGNORECASE | re.MULTILINE,
)
MAX_HEADER_WORDS = 6
"""A comment-section header is a short line: "12 Comments", "Leave a Reply", "コメント (3)"."""
SHORT_WORD_CHARS = 3
"""Words of at most this many characters count as short: function words in most languages."""
SHAPE_FEATURES = (
    "log_chars",
    "log_words",
    "mean_word_len",
    "ends_terminal",
    "ends_colon",
    "starts_bullet",
    "upper_ratio",
    "title_ratio",
    "digit_ratio",
    "punct_ratio",
    "log_separators",
    "has_url",
    "has_email",
    "has_time",
    "has_date",
    "byline_start",
    "log_widget_terms",
    "short_word_ratio",
    "log_terminals",
    "comment_cue",
    "comment_header",
)
_AT = re.compile("@")
# Characters that re.IGNORECASE matches to ASCII letters while str.lower() does not map them there.
_EXOTIC_CASE = re.compile("[\u0130\u0131\u017f]")

# Character classes as bits of a code-point table filled on first sight of each code point.
_KNOWN, _ALPHA, _UPPER, _DIGIT, _WORDCHAR, _PUNCT, _CJK = 1, 2, 4, 8, 16, 32, 64
_CJK_CHAR = re.compile(f"[{CJK_RANGES}]")
_CHAR_CLASSES = np.zeros(0x110000, dtype=np.uint8)


def shape_features(texts: Sequence[str]) -> np.ndarray:
    """Surface shape of each text; columns follow `SHAPE_FEATURES`.

    Equal, value for value, to running each pattern and `str` predicate on each text on its own
    (a test holds it to a per-text reference). The costly patterns run only on the texts that can
    match them: a date needs a digit, an e-mail an `@`, a widget term one of its words.

    Args:
        texts: Single-line texts (segments never hold a line feed; one in a text would let the
            line-anchored patterns see two lines).

    Returns:
        float64 array of shape (len(texts), len(SHAPE_FEATURES)).
    """
    return shape_features_and_words(texts)[0]


def shape_features_and_words(texts: Sequence[str]) -> tuple[np.ndarray, list[list[str]]]:
    """`shape_features`, and each text's `features.words.words`, which the features split out anyway."""
    rows = np.zeros((len(texts), len(SHAPE_FEATURES)), dtype=np.float64)
    if len(texts) == 0:
        return rows, []
    counts = _Counts(texts)
    for column, values in enumerate(_shape_columns(counts)):
        rows[:, column] = values
    return rows, counts.words_per_text()


def _shape_columns(counts: _Counts) -> tuple[np.ndarray, ...]:
    """One (n_texts,) array per entry of `SHAPE_FEATURES`, in order."""
    joined = counts.joined
    exotic_case = joined.exotic_case
    digits = counts.per_segment(_DIGIT)
    has_digit = digits > 0
    widget_candidates = counts.has_word(WIDGETS.words) | joined.contains_any(WIDGETS.literals) | exotic_case
    n_words = counts.per_word(np.ones(len(counts.word_starts), dtype=bool))
    chars = np.maximum(joined.lengths, 1).astype(np.float64)
    lengths = np.fromiter(map(len, counts.lowered_words), dtype=np.intp, count=len(counts.lowered_words))
    short_words = lengths <= SHORT_WORD_CHARS
    return (
        np.log1p(joined.lengths),
        np.log1p(n_words),
        _ratio(counts.per_segment(_WORDCHAR), n_words),
        joined.count(_TERMINAL) > 0,
        np.fromiter((text.endswith(":") for text in joined.texts), dtype=bool, count=len(joined.texts)),
        joined.count(_BULLET) > 0,
        _ratio(counts.per_segment(_UPPER), counts.per_segment(_ALPHA)),
        _ratio(counts.per_word(counts.classes[counts.word_starts] & _UPPER != 0), n_words),
        digits / chars,
        counts.per_segment(_PUNCT) / chars,
        np.log1p(joined.count(_SEPARATORS)),
        joined.count(_URL) > 0,
        joined.count(_EMAIL, joined.count(_AT) > 0) > 0,
        (joined.count(_TIME[0], has_digit | exotic_case) > 0)
        | (joined.count(_TIME[1], counts.has_word(_TIME_WORDS) | exotic_case) > 0),
        # `\s+` in a date could run across a line feed; NUL separators keep matches inside one text.
        np.logical_or.reduce([joined.count(part, has_digit, separator="\0") > 0 for part in _DATE]),
        joined.count(_BYLINE) > 0,
        np.log1p(joined.count(WIDGETS.pattern, widget_candidates)),
        _ratio(counts.per_word(short_words), n_words),
        np.log1p(joined.count(_SENTENCE_ENDS)),
        (joined.count(_COMMENT_CUE[0], has_digit | exotic_case) > 0)
        | (joined.count(_COMMENT_CUE[1], _comment_cue_candidates(joined)) > 0),
        joined.count(_COMMENT_HEADER, n_words <= MAX_HEADER_WORDS) > 0,  # a header is a short line
    )


def _comment_cue_candidates(joined: _Joined) -> np.ndarray:
    """Texts the second `_COMMENT_CUE` pattern can match (run on every text, it was a large share
    of the shape features' time on news pages).

    Each of its alternatives needs one of: a colon (name says:, rating:), a text that is one of
    `_WHOLE_LINE_CUES` ("Report abuse"), a leading `@`, or one of `_COMMENT_CUE_LITERALS`; texts
    with characters that case folding treats apart always qualify.
    """
    lowered, count = joined.lowered_texts, len(joined.lowered_texts)
    whole_line = np.fromiter(map(_WHOLE_LINE_CUES.__contains__, lowered), dtype=bool, count=count)
    at_start = np.fromiter(map(operator.methodcaller("startswith", "@"), lowered), dtype=bool, count=count)
    return whole_line | at_start | joined.contains_any((":", *_COMMENT_CUE_LITERALS)) | joined.exotic_case


class _Counts:
    """The joined texts' character classes and words, counted per text."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.joined = _Joined(texts)
        self.classes = _classify(self.joined.text)
        cjk = self.classes & _CJK != 0
        self.word_starts = np.flatnonzero(_run_starts((self.classes & _WORDCHAR != 0) & ~cjk) | cjk)
        self.word_segment = self.joined.segment_of(self.word_starts)
        self.lowered_words = _lowered_words(self.joined)

    def words_per_text(self) -> list[list[str]]:
        """Each text's `features.words.words`: its slice of `lowered_words`, except for texts
        holding "İ", which `words` lowers before splitting ("İ" lowers to "i" and a combining dot)."""
        lowered = self.lowered_words
        bounds = np.searchsorted(self.word_segment, np.arange(len(self.joined.texts) + 1)).tolist()
        per_text = [lowered[start:stop] for start, stop in itertools.pairwise(bounds)]
        if "\u0130" not in self.joined.text:
            return per_text
        return [
            words(text) if "\u0130" in text else split
            for text, split in zip(self.joined.texts, per_text, strict=True)
        ]

    def per_segment(self, char_class: int) -> np.ndarray:
        """Per text, its characters of `char_class` (one of the class bits).

        Each text's sum runs from its start to the next text's: the line feed between them has no
        class bit, and a zero appended after the last text lets an empty one end the string.
        """
        flags = np.append(self.classes & char_class != 0, False).view(np.uint8)
        return np.add.reduceat(flags, self.joined.starts, dtype=np.int64).astype(np.float64)

    def per_word(self, mask: np.ndarray) -> np.ndarray:
        """Per text, its words where `mask` (one entry per word) is true."""
        return np.bincount(
            self.word_segment, weights=mask.astype(np.float64), minlength=len(self.joined.texts)
        )

    def has_word(self, vocabulary: frozenset[str]) -> np.ndarray:
        """Per text, whether one of its lowered words is in `vocabulary`."""
        return self.per_word(np.fromiter(map(vocabulary.__contains__, self.lowered_words), dtype=bool)) > 0


class _Joined:
    """Texts joined by line feeds, with each text's bounds, for running patterns over all at once."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        self.lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        self.starts = _starts(self.lengths)
        self.ends = self.starts + self.lengths
        self.text = "\n".join(texts)
        self.lowered_texts = [text.lower() for text in texts]
        self.lowered = "\n".join(self.lowered_texts)
        self.exotic_case = self.count(_EXOTIC_CASE) > 0

    def segment_of(self, positions: np.ndarray) -> np.ndarray:
        """Index of the text each position of the joined string falls in."""
        return np.searchsorted(self.starts, positions, side="right") - 1

    def contains_any(self, literals: Sequence[str]) -> np.ndarray:
        """Per text, whether its lowered form holds one of `literals` (lowercase, no line feed).

        Searched in the UTF-8 bytes of the lowered texts, where `bytes.find` runs at memory speed
        (on a `str` holding any CJK or emoji it is several times slower) and a one-byte literal is
        one numpy comparison; after a hit the search skips to the next text. An alternation of
        literals in `re` tried every branch at every position (several times slower).
        """
        data, byte_starts = self._lowered_utf8
        bounds = [*byte_starts.tolist(), len(data) + 1]
        found = np.zeros(len(self.texts), dtype=bool)
        as_bytes = np.frombuffer(data, dtype=np.uint8)
        for literal in literals:
            encoded = literal.encode("utf-8")
            if len(encoded) == 1:
                hits = np.flatnonzero(as_bytes == encoded[0])
                found[np.searchsorted(byte_starts, hits, side="right") - 1] = True
                continue
            position = data.find(encoded)
            while position != -1:
                index = bisect.bisect_right(bounds, position) - 1
                found[index] = True
                position = data.find(encoded, bounds[index + 1])
        return found

    @functools.cached_property
    def _lowered_utf8(self) -> tuple[bytes, np.ndarray]:
        """The lowered texts, joined, as UTF-8, and the byte offset each text starts at (once per
        batch: `contains_any` runs for several sets of literals).

        Encoded text by text, so the offsets come from the texts' byte lengths: counting the bytes
        of every character took arrays of eight bytes per character of the batch.
        """
        encoded = [text.encode("utf-8", "surrogatepass") for text in self.lowered_texts]
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        return b"\n".join(encoded), _starts(lengths)

    def count(
        self, pattern: re.Pattern[str], candidates: np.ndarray | None = None, separator: str = "\n"
    ) -> np.ndarray:
        """Per text, the matches `pattern.findall` finds in it; texts not in `candidates` get 0.

        No pattern here can match a separator, so no match runs from one text into the next. A
        case-insensitive pattern runs case-sensitively on lowered texts (several times faster in
        `re`), except on texts with characters that lowering does not fold as `re` does.
        """
        counts = np.zeros(len(self.texts))
        chosen = np.ones(len(self.texts), dtype=bool) if candidates is None else candidates
        if pattern.flags & re.IGNORECASE:
            self._count_into(counts, pattern, chosen & self.exotic_case, separator, lowered=False)
            sensitive = _case_sensitive(pattern.pattern, pattern.flags & ~re.IGNORECASE)
            self._count_into(counts, sensitive, chosen & ~self.exotic_case, separator, lowered=True)
        else:
            self._count_into(counts, pattern, chosen, separator, lowered=False)
        return counts

    def _count_into(
        self, counts: np.ndarray, pattern: re.Pattern[str], chosen: np.ndarray, separator: str, lowered: bool
    ) -> None:
        subset = np.flatnonzero(chosen)
        if subset.size == 0:
            return
        if subset.size == len(self.texts) and separator == "\n":
            text, starts = (self.lowered if lowered else self.text), self.starts
        else:
            source = self.lowered_texts if lowered else self.texts
            picked = [source[i] for i in subset.tolist()]
            text = separator.join(picked)
            starts = _starts(np.fromiter(map(len, picked), dtype=np.int64, count=len(picked)))
        positions = np.fromiter((m.start() for m in pattern.finditer(text)), dtype=np.int64)
        counts[subset] = np.bincount(
            np.searchsorted(starts, positions, side="right") - 1, minlength=subset.size
        )


@functools.cache
def _case_sensitive(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags)


def _starts(lengths: np.ndarray) -> np.ndarray:
    """Start offsets of texts of `lengths` joined by one-character separators."""
    return np.concatenate([[0], np.cumsum(lengths[:-1] + 1)]).astype(np.int64)


def _lowered_words(joined: _Joined) -> list[str]:
    """`w.lower()` for each word (`features.words.TOKEN`) of the joined texts, in order.

    Taking the words of the lowered text is one C call instead of one per word; they stay
    aligned because no character changes its word-ness when lowered, and only U+0130 (İ) changes
    length. With U+0130 about, each text's words are lowered one by one (text by text, as no word
    runs across the line feeds between texts, so that the unlowered words are never all held).
    """
    if "\u0130" in joined.text:
        return [word.lower() for text in joined.texts for word in TOKEN.findall(text)]
    return TOKEN.findall(joined.lowered)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0."""
    out = np.zeros_like(numerator, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _run_starts(flags: np.ndarray) -> np.ndarray:
    """True where a run of non-zero `flags` begins."""
    on = flags != 0
    return on & ~np.concatenate([[False], on[:-1]])


def _classify(text: str) -> np.ndarray:
    """Class bits of every character of `text` (uint8 array, one entry per character)."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    classes = _CHAR_CLASSES[codes]
    unknown = (classes & _KNOWN) == 0
    if unknown.any():
        # Flagged in a table of all code points rather than copied out and sorted: every
        # occurrence of a code point agrees on whether it is unknown.
        new = np.zeros(len(_CHAR_CLASSES), dtype=bool)
        new[codes] = unknown
        for code in np.flatnonzero(new).tolist():
            _CHAR_CLASSES[code] = _char_class(chr(code))
        classes = _CHAR_CLASSES[codes]
    return classes


def _char_class(ch: str) -> int:
    """The class bits of one character, by Python's own `str` predicates (as `re`'s `\\w` uses)."""
    bits = _KNOWN
    bits |= _ALPHA if ch.isalpha() else 0
    bits |= _UPPER if ch.isupper() else 0
    bits |= _DIGIT if ch.isdigit() else 0
    bits |= _WORDCHAR if ch.isalnum() or ch == "_" else 0
    bits |= _PUNCT if not ch.isalnum() and not ch.isspace() else 0
    bits |= _CJK if _CJK_CHAR.match(ch) else 0
    return bits
