"""Arabic processing: known-answer cases written for these tests."""

from __future__ import annotations

import pickle

import pytest

from recsys import STOP_WORDS, ArabicAnalyzer, clean, light_stem, normalize, normalize_letters, strip_html, tokenize
from recsys.arabic import display_key, raw_words, word_terms, words_terms

from .conftest import shared_file


@pytest.mark.parametrize("raw, expected", [
    ("الحـــرب", "الحرب"),                       # tatweel
    ("مُعْتَقَلٌ", "معتقل"),                        # harakat and tanween
    ("هٰذا", "هذا"),                              # dagger alef
    ("٢٠١٩ و۱۴", "2019 و14"),                     # Arabic-Indic and Persian digits
    ("\u200fحلب\u200e \u200bادلب\ufeff", "حلب ادلب"),  # bidi marks, zero-width space, BOM
    ("ﻏﺰﺓ", "غزة"),                               # presentation forms
    ("کرکوک", "كركوك"),                          # Persian kaf
    ("UNHCR", "unhcr"),
])
def test_clean(raw: str, expected: str) -> None:
    assert clean(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("أحمد إبراهيم آمنة ٱلله", "احمد ابراهيم امنه الله"),   # alef variants, taa marbuta
    ("مستشفى إلى", "مستشفي الي"),                          # alef maqsura
    ("مسؤول بيئة", "مسؤول بيئه"),                           # hamza seats kept by default
])
def test_normalize_letters(raw: str, expected: str) -> None:
    assert normalize_letters(raw) == expected


def test_hamza_seats_can_be_folded() -> None:
    assert normalize_letters("مسؤول بيئة", hamza_seats=True) == "مسوول بييه"


def test_normalize_strips_html_and_everything_else() -> None:
    assert normalize("<p>قُصِفَت <b>مدينةُ</b> إدلب</p>").split() == ["قصفت", "مدينه", "ادلب"]


def test_strip_html_keeps_blocks_apart_and_drops_scripts() -> None:
    text = strip_html("<ul><li>الرئيسية</li><li>أخبار</li></ul><script>var x=1;</script>"
                      "<p>نص &amp; خبر</p>")
    assert [line.strip() for line in text.split("\n") if line.strip()] == ["الرئيسية", "أخبار", "نص & خبر"]


@pytest.mark.parametrize("raw, expected", [
    ("دبابةوتقنص", ["دبابة", "وتقنص"]),            # glued after taa marbuta
    ("إلىالمدينة", ["إلى", "المدينة"]),            # glued after alef maqsura
    ("قُتل 12 شخصاً،وأصيب", ["قتل", "12", "شخصا", "وأصيب"]),
    ("عام2019م", ["عام", "2019", "م"]),
])
def test_tokenize(raw: str, expected: list[str]) -> None:
    assert tokenize(raw) == expected


@pytest.mark.parametrize("word, stem", [
    ("والمعتقلين", "معتقل"),      # wa + al + -in
    ("بالمخيمات", "مخيم"),        # bi + al + -at
    ("للنازحين", "نازح"),          # lil + -in
    ("فالقصف", "قصف"),
    ("كالعادة", "عاد"),           # ka + al + taa marbuta
    ("وقصف", "قصف"),               # lone waw needs more than three letters
    ("ورد", "ورد"),                # too short: waw stays
    ("مدارسها", "مدارس"),
    ("الجيش", "جيش"),
    ("قوات", "قو"),                # light stemming is light: a known conflation
])
def test_light_stem(word: str, stem: str) -> None:
    assert light_stem(normalize_letters(word)) == stem


def test_stop_words_are_normalized_function_words() -> None:
    for word in ("في", "الذي", "الي", "هذه"):
        assert word in STOP_WORDS
    assert "قصف" not in STOP_WORDS


def test_analyzer_folds_variants_to_one_term() -> None:
    analyze = ArabicAnalyzer()
    forms = ["المدينة", "المدينه", "المـدينة", "المَدِينَة", "والمدينة"]
    assert {tuple(analyze(f)) for f in forms} == {("مدين",)}


def test_analyzer_splits_glued_words_and_drops_stop_words() -> None:
    assert ArabicAnalyzer()("دبابةوتقنص في الحي") == ["دباب", "تقنص", "حي"]


def test_analyzer_options_change_terms() -> None:
    text = "المعتقلين في السجون"
    assert ArabicAnalyzer(stem=None, stop_words=False)(text) == ["المعتقلين", "في", "السجون"]
    assert ArabicAnalyzer()(text) == ["معتقل", "سج"]  # light10 strips -ون too


def test_analyzer_pickles_without_its_cache() -> None:
    analyze = ArabicAnalyzer()
    before = len(pickle.dumps(analyze))
    analyze(" ".join(f"قصف{n} مدفعي{n} على ريف حماة" for n in range(2000)))
    copy = pickle.loads(pickle.dumps(analyze))
    assert len(pickle.dumps(analyze)) == before  # the word cache is per process, not pickled
    assert copy("قصف مدفعي على ريف حماة") == analyze("قصف مدفعي على ريف حماة")


def test_display_key_prefers_short_proper_forms() -> None:
    forms = ["والمدينة", "المدينة", "مدينه", "مدينة"]
    assert sorted(forms, key=display_key)[0] == "مدينة"


# Words for the array path of words_terms, written to cover its cases: plain words with
# each prefix and suffix, marks to delete, Latin and digits, and words it leaves to the
# one-at-a-time path (glued, mixed, Arabic-Indic digits, presentation forms).
_STEMS = ["قصف", "معتقل", "مدرس", "نازح", "سجن", "مستشفي", "مخيم", "حي", "ورد", "اسير"]
_PREFIXES = ["", "ال", "وال", "بال", "كال", "فال", "لل", "و", "ب"]
_SUFFIXES = ["", "ها", "ان", "ات", "ون", "ين", "يه", "ية", "ه", "ة", "ي", "يها", "اتها"]
_ODD_WORDS = ["مُعْتَقَلٌ", "الحـــرب", "عاماً", "بـ", "ـ", "UN", "Syria", "hrw", "2019", "٢٠١٩",
              "F16", "MBC4", "دبابةوتقنص", "ﻏﺰﺓ", "کرکوک", "في", "الذي", "إسرائيل", "آلاف",
              "مستشفى", "\u200fحلب", "حلب\u200c", "a", "و", "اا", "والمستشفياتها", "مسؤول",
              "الـمعتقلين", "ٱلقدس", "سوريا_الآن"]


def _written_words() -> list[str]:
    return [p + s + t for s in _STEMS for p in _PREFIXES for t in _SUFFIXES] + _ODD_WORDS


@pytest.mark.parametrize("settings", [{}, {"stem": None}, {"stop_words": False},
                                      {"alef": False, "hamza_seats": True}, {"min_length": 3},
                                      {"split_glued": False, "taa_marbuta": False}])
def test_words_in_bulk_get_the_terms_they_get_one_at_a_time(settings: dict) -> None:
    words = _written_words()
    assert len(words) > 1000  # enough for the array path
    assert words_terms(words, **settings) == [word_terms(w, **settings) for w in words]


def test_words_of_real_news_get_the_same_terms_in_bulk() -> None:
    import gzip
    import json

    words: dict[str, None] = {}
    for name in ("ant_news_2018.jsonl.gz", "saudinewsnet_2015.jsonl.gz", "syria_factcheck.jsonl.gz"):
        with gzip.open(shared_file(name), "rt", encoding="utf-8") as lines:
            for _, line in zip(range(2000), lines):
                article = json.loads(line)
                words.update(dict.fromkeys(raw_words(article["title"] + "\n" + article["body"])))
    assert len(words) > 50_000
    assert words_terms(list(words)) == [word_terms(w) for w in words]
