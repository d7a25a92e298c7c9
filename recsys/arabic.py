"""Arabic text processing: HTML stripping, normalization, tokenization, light stemming.

Everything here is a pure function of its input (and imports nothing heavy, so that
reading corpora and serving related lists start fast). The hot path is
:func:`raw_words` then :func:`word_terms` once per distinct word, which
:class:`recsys.ArabicAnalyzer` caches: the expensive per-token work (letter
normalization, stemming, stop-word lookup) runs once per distinct token rather than
once per occurrence.

Examples
--------
>>> normalize("الحـــرْبُ في إدلب ٢٠١٩")
'الحرب في ادلب 2019'
>>> light_stem("والمدارس")
'مدارس'
>>> tokenize("دبابةوتقنص")
['دبابة', 'وتقنص']
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import numpy as np

from .wordhash import char_table

__all__ = [
    "strip_html",
    "clean",
    "normalize_letters",
    "normalize",
    "tokenize",
    "light_stem",
    "STOP_WORDS",
    "raw_words",
    "raw_word_table",
    "word_terms",
]

# --- HTML -----------------------------------------------------------------------------

_HTML_OPENER = re.compile(r"<!--|<(script|style|noscript)\b", re.I)
# Block-level tags end a line: boilerplate removal works on lines, so a menu item in
# its own <li> must not be glued to the article's first sentence.
_HTML_BLOCK = re.compile(r"</?(p|br|div|li|ul|ol|h[1-6]|tr|td|table|section|article|header|"
                         r"footer|nav|blockquote)\b[^>]*>", re.I)
_HTML_TAG = re.compile(r"<[^>]{0,2000}>")


def _drop_hidden(text: str) -> str:
    """Remove comments and script/style blocks in one left-to-right pass. An unclosed
    one runs to the end of the text, as in a browser; a regular expression with a lazy
    ``.*?`` would rescan the rest of the text for every unclosed opener."""
    lowered = text.lower()
    kept, position = [], 0
    while match := _HTML_OPENER.search(text, position):
        kept.append(text[position:match.start()])
        closer = "-->" if match.group(1) is None else f"</{match.group(1).lower()}"
        end = lowered.find(closer, match.end())
        if end < 0:
            position = len(text)
            break
        position = text.find(">", end + len(closer) - 1) + 1 or len(text)
        kept.append(" ")
    kept.append(text[position:])
    return "".join(kept)


def strip_html(text: str) -> str:
    """Remove HTML markup and decode entities, keeping block boundaries as newlines.

    >>> strip_html("<p>قصف <b>مدفعي</b></p><p>على &quot;حلب&quot;</p>").split("\\n")
    ['', 'قصف  مدفعي ', '', 'على "حلب"', '']
    """
    if "<" not in text and "&" not in text:
        return text
    if "<" in text:
        text = _drop_hidden(text)
    text = _HTML_BLOCK.sub("\n", text)
    text = _HTML_TAG.sub(" ", text)
    return html.unescape(text)


# --- Character normalization -----------------------------------------------------------

# Diacritics (harakat, dagger alef, Quranic marks), tatweel, zero-width and bidi
# controls, soft hyphen: removed. A regular expression does this far faster than
# str.translate, which looks every character up in a dict.
_DELETED = ("[\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200b-\u200f"
            "\u202a-\u202e\u2060-\u2069\ufeff\u061c\u00ad]")
_DELETE = re.compile(_DELETED + "+")
_DIGITS = {0x0660 + i: str(i) for i in range(10)} | {0x06F0 + i: str(i) for i in range(10)}
_RARE_TABLE = str.maketrans({**_DIGITS, 0x06A9: "ك", 0x06CC: "ي"})  # digits, Persian kaf/yeh
_RARE = re.compile("[\u0660-\u0669\u06f0-\u06f9\u06a9\u06cc]")
_PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufefe]")

_LETTER_MAP = {
    "alef": {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا"},
    "alef_maqsura": {"ى": "ي"},
    "taa_marbuta": {"ة": "ه"},
    "hamza_seats": {"ؤ": "و", "ئ": "ي"},
}


def clean(text: str) -> str:
    """Strip diacritics, tatweel and invisible controls; unify digits and letter forms.

    Presentation forms (as pasted from PDFs) become ordinary letters, Arabic-Indic and
    Persian digits become ASCII digits and Latin letters are lowercased. Letter
    *variants* (hamza seats, taa marbuta) are left alone: that is
    :func:`normalize_letters`' job, so readable forms survive for explanations.

    >>> clean("الحـــرْبُ \u200fفي ﻏﺰﺓ ٢٠١٩ UN")
    'الحرب في غزة 2019 un'
    """
    if _PRESENTATION_FORMS.search(text):
        text = unicodedata.normalize("NFKC", text)
    text = _DELETE.sub("", text)
    if _RARE.search(text):
        text = text.translate(_RARE_TABLE)
    return text.lower()


@functools.lru_cache(maxsize=16)
def _letter_table(alef: bool, alef_maqsura: bool, taa_marbuta: bool, hamza_seats: bool) -> dict:
    flags = {"alef": alef, "alef_maqsura": alef_maqsura, "taa_marbuta": taa_marbuta,
             "hamza_seats": hamza_seats}
    mapping: dict[str, str] = {}
    for name, on in flags.items():
        if on:
            mapping.update(_LETTER_MAP[name])
    return str.maketrans(mapping)


def normalize_letters(text: str, *, alef: bool = True, alef_maqsura: bool = True,
                      taa_marbuta: bool = True, hamza_seats: bool = False) -> str:
    """Fold the letter variants that writers use interchangeably.

    Defaults follow Lucene's ``ArabicNormalizer`` (alef variants to bare alef, alef
    maqsura to yaa, taa marbuta to haa) and keep hamza on waw and yaa, which carry
    meaning (``مسؤول``).

    >>> normalize_letters("إسرائيل تتهم مدينة المستشفى")
    'اسرائيل تتهم مدينه المستشفي'
    """
    return text.translate(_letter_table(alef, alef_maqsura, taa_marbuta, hamza_seats))


def normalize(text: str) -> str:
    """Clean a raw text and fold letter variants: the full normalization, for display-free use.

    >>> normalize("أُسْرَى")
    'اسري'

    It is idempotent: markup revealed by unescaping (``&amp;lt;p&gt;``) or made by
    cleaning (``&Lt`` lower-cased to an entity) is stripped until none is left.
    """
    text = clean(text)
    while (stripped := strip_html(text)) != text:  # each change shortens the text
        text = clean(stripped)
    return normalize_letters(text)


# --- Tokenization ------------------------------------------------------------------------

# Taa marbuta and alef maqsura only ever end a word, so a letter right after one is the
# start of a word that lost its space ("دبابةوتقنص"). Splitting there fixes most glued
# words in real feeds at no cost; the rest are left to character n-grams.
_GLUE = re.compile("([ةى])(?=[\u0621-\u064a])")
_TOKEN = re.compile(r"[^\W\d_]+|\d+")
# A raw word: word characters plus the marks clean() deletes (diacritics, tatweel,
# joiners, bidi controls), so that cleaning can run once per distinct word instead of
# over every character of every text. A zero-width space still separates words.
_RAW_WORD_CHARS = ("[\\w\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200c-\u200f"
                   "\u202a-\u202e\u2060-\u2069\ufeff\u00ad]")
_RAW_WORD = re.compile(_RAW_WORD_CHARS + "+")


def raw_word_table() -> np.ndarray:
    """Which code points :func:`raw_words` puts in words, as a table over all code
    points (for :func:`recsys.wordhash.hashed_words`)."""
    return char_table(_RAW_WORD_CHARS)


_INNER_LETTERS = "[\u0621-\u0628\u062a-\u063a\u0641-\u0648\u064a]"  # no taa marbuta, alef maqsura
_FINAL_LETTERS = "[\u0621-\u063a\u0641-\u064a]"
_PLAIN_WORD = re.compile(_INNER_LETTERS + "*" + _FINAL_LETTERS)


def tokenize(text: str, *, split_glued: bool = True) -> list[str]:
    """Split cleaned text into runs of letters and runs of digits.

    >>> tokenize("قُتل 12 شخصاً،وأصيب آخرون")
    ['قتل', '12', 'شخصا', 'وأصيب', 'آخرون']
    """
    text = clean(text)
    if split_glued:
        text = _GLUE.sub(r"\1 ", text)
    return _TOKEN.findall(text)


# --- Light stemming (Lucene's ArabicStemmer, the "light10" rules of Larkey et al.) ----------

_PREFIXES = ("ال", "وال", "بال", "كال", "فال", "لل", "و")
_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ية", "ه", "ة", "ي")


def light_stem(token: str) -> str:
    """Remove one article/conjunction prefix and common suffixes (light10).

    A prefix goes only if at least two letters remain (three for the lone ``و``), and
    each suffix in turn goes only if two letters remain, as in Lucene.

    >>> [light_stem(w) for w in ["والمدارس", "المدينة", "معتقلين", "وقصف"]]
    ['مدارس', 'مدين', 'معتقل', 'قصف']
    """
    if token.startswith(_PREFIXES):  # a C-level test first: most tokens have no affix
        for prefix, rest in _PREFIX_RESTS:
            if token.startswith(prefix):  # the first that matches, kept or not
                if len(token) - len(prefix) >= rest:
                    token = token[len(prefix):]
                break
    if token.endswith(_SUFFIXES):
        for suffix in _SUFFIXES:
            if token.endswith(suffix) and len(token) - len(suffix) >= 2:
                token = token[: -len(suffix)]
    return token


_PREFIX_RESTS = tuple((prefix, 3 if prefix == "و" else 2) for prefix in _PREFIXES)


def _load_stop_words() -> frozenset[str]:
    text = resources.files("recsys").joinpath("data/stopwords_ar.txt").read_text("utf-8")
    words = (line.split("#")[0].strip() for line in text.splitlines())
    return frozenset(normalize_letters(clean(w)) for w in words if w)


STOP_WORDS: frozenset[str] = _load_stop_words()
"""Arabic function words (normalized), written for recsys; see ``data/stopwords_ar.txt``."""


def raw_words(text: str, *, strip_markup: bool = True) -> list[str]:
    """The words of ``text`` as written, diacritics and all: what :func:`word_terms`
    takes. Cleaning and stemming then run once per distinct word, not per occurrence.

    >>> raw_words("<b>قصفٌ</b> على المدينة")
    ['قصفٌ', 'على', 'المدينة']
    """
    if strip_markup:
        text = strip_html(text)
    return _RAW_WORD.findall(text)


def word_terms(word: str, *, stem: str | None = "light10", stop_words: bool = True,
               split_glued: bool = True, alef: bool = True, alef_maqsura: bool = True,
               taa_marbuta: bool = True, hamza_seats: bool = False,
               min_length: int = 2) -> tuple[str, ...]:
    """The index terms of one raw word: usually one, none for a stop word, several for
    glued words or letters run into digits. The options are those of
    :class:`recsys.ArabicAnalyzer`.

    >>> word_terms("والمدارس"), word_terms("في"), word_terms("دبابةوتقنص")
    (('مدارس',), (), ('دباب', 'تقنص'))
    """
    return words_terms([word], stem=stem, stop_words=stop_words, split_glued=split_glued,
                       alef=alef, alef_maqsura=alef_maqsura, taa_marbuta=taa_marbuta,
                       hamza_seats=hamza_seats, min_length=min_length)[0]


def words_terms(words: Iterable[str], *, stem: str | None = "light10", stop_words: bool = True,
                split_glued: bool = True, alef: bool = True, alef_maqsura: bool = True,
                taa_marbuta: bool = True, hamza_seats: bool = False,
                min_length: int = 2) -> list[tuple[str, ...]]:
    """:func:`word_terms` of each of ``words``. Fitting analyses every distinct word of
    the archive (455,000 at 60k articles) through here: settings looked up once per
    call rather than per word take a quarter off. From ``_ARRAY_MIN_WORDS`` words on,
    those that are one token once marks are deleted (98% of them) are folded, checked
    and stemmed as arrays (:func:`_plain_terms`), to the same terms: 1.3 → 0.6 s for
    those 455,000 words; 1.15 → 0.5 s in each of the two counting processes."""
    if stem not in (None, "light10"):
        raise ValueError(f"stem must be 'light10' or None, got {stem!r}")
    words = words if isinstance(words, list) else list(words)
    letters = (alef, alef_maqsura, taa_marbuta, hamza_seats)
    analysis = _Analysis(_letter_table(*letters), _folding(*letters),
                         STOP_WORDS if stop_words else frozenset(), stem == "light10",
                         split_glued, min_length)
    if len(words) < _ARRAY_MIN_WORDS:
        return analysis.terms(words)
    found: list[tuple[str, ...]] = [()] * len(words)
    plain, terms = _plain_terms(words, analysis)
    for i, term in zip(plain.tolist(), terms):
        found[i] = term
    others = np.ones(len(words), dtype=bool)
    others[plain] = False
    rest = np.flatnonzero(others).tolist()
    for i, term in zip(rest, analysis.terms([words[i] for i in rest])):
        found[i] = term
    return found


@dataclass(frozen=True)
class _Analysis:
    """:func:`words_terms`' settings, looked up once."""

    table: dict  # letter folding, for str.translate
    folding: np.ndarray  # the same as an array over code points (_folding)
    stops: frozenset[str]
    stemming: bool
    split_glued: bool
    min_length: int

    def terms(self, words: list[str]) -> list[tuple[str, ...]]:
        """Each word's terms, one word at a time."""
        table, stops, stemming, min_length = self.table, self.stops, self.stemming, self.min_length
        plain = _PLAIN_WORD.fullmatch
        found = []
        for word in words:
            terms = []
            # Most words are plain Arabic letters with taa marbuta or alef maqsura only at
            # the end: cleaning and tokenizing would give them back unchanged, so skip both.
            for part in (word,) if plain(word) else tokenize(word, split_glued=self.split_glued):
                term = part.translate(table)
                if term in stops:
                    continue
                if stemming and not term.isdigit():
                    term = light_stem(term)
                if len(term) >= min_length:
                    terms.append(term)
            found.append(tuple(terms))
        return found


_ARRAY_MIN_WORDS = 256  # fewer: one at a time is quicker than the arrays (0.23 ms of fixed costs)
_TOP = 0xFFFF  # code points are clipped here: none above is a letter the arrays handle


@functools.lru_cache(maxsize=1)
def _array_tables() -> tuple[np.ndarray, ...]:
    """The character classes of :func:`_plain_terms`: what cleaning deletes, the
    letters of ``_PLAIN_WORD`` before its last and at its last, ASCII letters and
    digits (words of one of those two are one token, as tokenizing would find)."""
    return tuple(char_table(char_class, _TOP + 1) for char_class in
                 (_DELETED, _INNER_LETTERS, _FINAL_LETTERS, "[A-Za-z]", "[0-9]"))


@functools.lru_cache(maxsize=16)
def _folding(*letters: bool) -> np.ndarray:
    """:func:`_letter_table` of ``letters``, and the lower-casing of cleaning, as an
    array over code points up to ``_TOP``."""
    fold = np.arange(_TOP + 1, dtype=np.uint32)
    fold[ord("A"):ord("Z") + 1] += ord("a") - ord("A")
    for source, target in _letter_table(*letters).items():
        fold[source] = ord(target)
    return fold


def _plain_terms(words: list[str], analysis: _Analysis) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Which of ``words`` are, once diacritics, tatweel and invisible marks are deleted,
    plain (``_PLAIN_WORD``), ASCII letters only or digits only, and their terms:
    :meth:`_Analysis.terms` on one array of all their code points, to the same strings."""
    deleted, inner, final, latin, digit = _array_tables()
    codes = np.minimum(np.frombuffer("".join(words).encode("utf-32-le", "surrogatepass"),
                                     dtype=np.uint32), _TOP)
    word_of = np.repeat(np.arange(len(words)), np.fromiter(map(len, words), dtype=np.int64,
                                                           count=len(words)))
    kept = ~deleted[codes]  # cleaning deletes marks
    codes, word_of = codes[kept], word_of[kept]
    lengths = np.bincount(word_of, minlength=len(words))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    is_last = np.zeros(len(codes), dtype=bool)
    is_last[ends[lengths > 0] - 1] = True
    # A word is one token if none of its characters is out of its class.
    arabic_misfit = np.where(is_last, ~final[codes], ~inner[codes])
    one_token = np.zeros(len(words), dtype=bool)
    for misfit in (arabic_misfit, ~latin[codes], ~digit[codes]):
        one_token |= np.bincount(word_of[misfit], minlength=len(words)) == 0
    one_token &= lengths > 0
    codes = analysis.folding[codes]
    folded = codes.tobytes().decode("utf-32-le", "surrogatepass")
    chosen = np.flatnonzero(one_token)
    starts, ends = starts[chosen], ends[chosen]
    stem_start, stem_end = starts.copy(), ends.copy()
    if analysis.stemming:  # digits' and Latin words' stems are themselves: no affix matches
        _strip_affixes(codes, stem_start, stem_end)
    stops, min_length = analysis.stops, analysis.min_length
    terms = [(folded[c:d],) if d - c >= min_length and folded[a:b] not in stops else ()
             for a, b, c, d in zip(starts.tolist(), ends.tolist(), stem_start.tolist(),
                                   stem_end.tolist())]
    return chosen, terms


def _strip_affixes(codes: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
    """:func:`light_stem` of the words ``codes[start:end]``, moving each ``start`` past
    its prefix and each ``end`` before its suffixes."""
    last = len(codes) - 1
    first = start.copy()
    decided = np.zeros(len(start), dtype=bool)
    for prefix, rest in _PREFIX_RESTS:
        has = ~decided & (end - first >= len(prefix))
        for j, letter in enumerate(prefix):
            has &= codes[np.minimum(first + j, last)] == ord(letter)
        start[has & (end - first - len(prefix) >= rest)] += len(prefix)
        decided |= has  # the first prefix that matches decides, kept or not
    for suffix in _SUFFIXES:
        has = end - start - len(suffix) >= 2
        for j, letter in enumerate(suffix):
            has &= codes[np.minimum(end - len(suffix) + j, last)] == ord(letter)
        end[has] -= len(suffix)


_KNOWN_WORDS: dict[tuple, dict[str, tuple[str, ...]]] = {}  # analysis settings -> word -> terms
MAX_KNOWN_WORDS = 1 << 19
"""Words per process and cache of analysed words; beyond, a cache starts over."""


@dataclass(frozen=True)
class WordAnalysis:
    """The analysis :class:`recsys.ArabicAnalyzer` configures, as a plain value: raw
    words, and the terms of each word, cached per process. It is what the counting
    processes receive, so that they need not import scikit-learn (see
    :mod:`recsys.counting`). The fields are the analyzer's parameters.
    """

    stem: str | None = "light10"
    stop_words: bool = True
    split_glued: bool = True
    alef: bool = True
    alef_maqsura: bool = True
    taa_marbuta: bool = True
    hamza_seats: bool = False
    min_length: int = 2
    strip_markup: bool = True

    def _word_settings(self) -> dict[str, object]:
        """The settings :func:`words_terms` takes (all but ``strip_markup``)."""
        return {"stem": self.stem, "stop_words": self.stop_words, "split_glued": self.split_glued,
                "alef": self.alef, "alef_maqsura": self.alef_maqsura,
                "taa_marbuta": self.taa_marbuta, "hamza_seats": self.hamza_seats,
                "min_length": self.min_length}

    def _known(self) -> dict[str, tuple[str, ...]]:
        # One cache per process and settings, so that it outlives this (unpickled) copy:
        # the counting processes receive a fresh analysis with every share.
        known = _KNOWN_WORDS.setdefault(tuple(self._word_settings().values()), {})
        if len(known) > MAX_KNOWN_WORDS:
            known.clear()
        return known

    def terms_of(self, words: Iterable[str], *, remember: bool = True) -> list[tuple[str, ...]]:
        """The terms of each of ``words`` (:func:`word_terms`), cached per process
        (unless not ``remember``: a caller that keeps its own per-word results need not
        hold them twice)."""
        known = self._known() if remember else {}
        words = list(words)
        found = list(map(known.get, words))
        if None in found:
            missing = [i for i, terms in enumerate(found) if terms is None]
            analysed = words_terms([words[i] for i in missing], **self._word_settings())
            for i, terms in zip(missing, analysed):
                found[i] = known[words[i]] = terms
        return found

    def raw_words(self, text: str) -> list[str]:
        """The words of ``text`` as written (:func:`raw_words`)."""
        return raw_words(text, strip_markup=self.strip_markup)


def display_key(token: str) -> tuple[int, int, str]:
    """Sort key choosing a readable surface form: shorter first, then the one keeping
    more of taa marbuta, hamza and alef maqsura."""
    proper = len(token) - len(token.translate(_WITHOUT_PROPER))  # one C call, not a loop
    return (len(token), -proper, token)


_WITHOUT_PROPER = str.maketrans("", "", "ةأإآؤئى")
