"""Arabic processing: known-answer cases written for these tests."""

from __future__ import annotations

import pickle

import pytest

from recsys import STOP_WORDS, ArabicAnalyzer, clean, light_stem, normalize, normalize_letters, strip_html, tokenize
from recsys.arabic import display_key


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
