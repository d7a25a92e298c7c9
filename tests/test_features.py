"""The vectorizer: normalised rows, title weighting, boilerplate removal, sklearn contract."""

from __future__ import annotations

import os
import pickle
import time
from urllib.parse import urlsplit

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.model_selection import cross_val_score

from recsys import ArabicAnalyzer, Article, ArticleVectorizer, make_topic_pipeline
from recsys.arabic import WordAnalysis, word_terms
from recsys.boilerplate import remove_site_runs, site_of

from .conftest import GLUED_FIRSTS, GLUED_SECONDS

FOOTER = "تابعونا على قناتنا في تلغرام لمزيد من الأخبار العاجلة"
DOCS = [
    Article("1", "غارة جوية على إدلب", f"استهدفت غارة جوية سوقا شعبيا في مدينة إدلب\n{FOOTER}"),
    Article("2", "نزوح من ريف حماة", f"نزحت مئات العائلات من ريف حماة نحو المخيمات\n{FOOTER}"),
    Article("3", "تبادل أسرى", f"جرت عملية تبادل أسرى بين الطرفين بوساطة دولية\n{FOOTER}"),
    Article("4", "مباراة الديربي", f"فاز فريق الوحدة على الجيش في مباراة الديربي\n{FOOTER}"),
]


def test_rows_are_unit_length() -> None:
    X = ArticleVectorizer(min_df=1).fit_transform(DOCS)
    assert np.allclose(np.sqrt(X.multiply(X).sum(axis=1)).A1, 1.0)


def test_title_weight_raises_title_terms() -> None:
    low = ArticleVectorizer(min_df=1, title_weight=1).fit(DOCS)
    high = ArticleVectorizer(min_df=1, title_weight=4).fit(DOCS)
    col = low.words_.vocabulary_["غار"]
    assert high.transform(DOCS[:1])[0, col] > low.transform(DOCS[:1])[0, col]


def test_boilerplate_lines_are_learned_and_removed() -> None:
    vec = ArticleVectorizer(min_df=1, boilerplate_min_docs=3).fit(DOCS)
    assert FOOTER in vec.boilerplate_
    assert "تلغرام" not in vec.words_.vocabulary_
    kept = ArticleVectorizer(min_df=1, boilerplate_min_docs=None).fit(DOCS)
    assert "تلغرام" in kept.words_.vocabulary_


def test_char_ngrams_add_columns_and_match_glued_words() -> None:
    vec = ArticleVectorizer(min_df=1, char_ngrams=(3, 4)).fit(DOCS)
    assert len(vec.get_feature_names_out()) > vec.n_word_features
    glued = vec.transform(["استهدفت غارةجوية سوقا"])
    assert glued[:, vec.n_word_features:].nnz > 0


def test_unknown_text_gives_an_empty_row() -> None:
    vec = ArticleVectorizer(min_df=1).fit(DOCS)
    assert vec.transform(["!!! ... ؟؟"]).nnz == 0


def test_follows_the_sklearn_contract(corpus: list[Article]) -> None:
    vec = ArticleVectorizer(title_weight=3, min_df=1)
    assert clone(vec).get_params()["title_weight"] == 3
    restored = pickle.loads(pickle.dumps(vec.fit(DOCS)))
    assert (restored.transform(DOCS) != vec.transform(DOCS)).nnz == 0
    pipeline = make_topic_pipeline()
    scores = cross_val_score(pipeline, corpus[::2], [a.topic for a in corpus[::2]], cv=3,
                             scoring="f1_macro")
    assert scores.mean() > 0.7


class _RegexWords(ArabicAnalyzer):
    """The default analyzer, but fitting must find its words as transform does (with the
    regular expression), not by hashing code points."""

    def raw_words(self, text: str) -> list[str]:
        return super().raw_words(text)


@pytest.mark.parametrize("analyzer", [None, _RegexWords()], ids=["default", "own-words"])
def test_lead_rows_from_one_pass_equal_transform_of_lead_views(corpus: list[Article],
                                                               analyzer) -> None:
    from recsys import TopicFeatures

    vec = ArticleVectorizer(analyzer=analyzer)
    X, X_lead = vec.fit_transform_lead(corpus, 600)
    features = TopicFeatures(body_chars=600).fit_prefit(vec, X)
    assert abs(X - vec.transform(corpus)).max() == 0
    assert abs(features.from_lead_rows(X_lead) - features.transform(corpus)).max() == 0


def test_parallel_counting_in_shares_equals_one_pass(corpus, monkeypatch) -> None:
    """Big archives are counted in shares on worker processes; the result must be the
    one-pass result (columns may be numbered in another order)."""
    import recsys.features as features

    serial = ArticleVectorizer(phrase_docs=(3, 30))
    X1, L1 = serial.fit_transform_lead(corpus, 600)
    monkeypatch.setattr(features, "_PARALLEL_MIN_DOCS", 10)
    monkeypatch.setattr(features, "_SHARE_DOCS", 37)  # 9 shares, the last one short
    parallel = ArticleVectorizer(phrase_docs=(3, 30))
    X2, L2 = parallel.fit_transform_lead(corpus, 600)
    order1 = np.argsort(serial.words_.terms_)
    order2 = np.argsort(parallel.words_.terms_)
    assert serial.words_.terms_[order1].tolist() == parallel.words_.terms_[order2].tolist()
    assert serial.display_terms_[order1].tolist() == parallel.display_terms_[order2].tolist()
    for a, b in ((X1, X2), (L1, L2)):
        np.testing.assert_allclose(a[:, order1].toarray(), b[:, order2].toarray(), rtol=1e-6)
        # Whichever process counted a row, its entries come in column order, so every
        # fit sums them (norms, dot products) in the same order.
        assert all(np.all(np.diff(b.indices[b.indptr[i]:b.indptr[i + 1]]) > 0) for i in range(b.shape[0]))
    # The text signatures (recsys.copies) are made where the text is counted: the same
    # whichever process counted an article, one per article, in the archive's order.
    for a, b in zip(serial.fitted_signatures(), parallel.fitted_signatures()):
        np.testing.assert_array_equal(a, b)
    assert serial.fitted_signatures()[0].shape == (len(corpus), 32)
    # So are the phrase rows, spilled to files by the processes and read back.
    for a, b in zip((*serial.words_.selected_phrases()[0], *serial.fitted_phrases()),
                    (*parallel.words_.selected_phrases()[0], *parallel.fitted_phrases())):
        np.testing.assert_array_equal(a, b)
    assert len(serial.fitted_phrases().ids) > 1000
    assert not _spilled()  # the files' directory is gone


def _spilled() -> list[str]:
    import tempfile

    return [name for folder in ("/dev/shm", tempfile.gettempdir()) if os.path.isdir(folder)
            for name in os.listdir(folder) if name.startswith("recsys-phrases-")]


def test_a_failed_phrase_selection_leaves_no_spilled_files(corpus, monkeypatch) -> None:
    import recsys.features as features
    import recsys.phrases as phrases

    def broken(*args, **kwargs):
        raise MemoryError("no room for the phrases")

    monkeypatch.setattr(features, "_PARALLEL_MIN_DOCS", 10)
    monkeypatch.setattr(phrases, "select", broken)
    before = _spilled()
    vectorizer = ArticleVectorizer(phrase_docs=(3, 30))
    vectorizer.fit_transform(corpus)
    with pytest.raises(MemoryError, match="no room"):
        vectorizer.fitted_phrases()  # the selection's error, where its result is asked for
    assert _spilled() == before


def _entry_rows(counter, texts: list[str]) -> np.ndarray:
    """The texts' counts as a dense matrix, summed from ``TermCounter.entries`` (the
    warmed path a server's vectorizer takes)."""
    text_of, columns, counts = counter.entries(texts)
    known = columns >= 0
    return sp.csr_matrix((counts[known], (text_of[known], columns[known])),
                         shape=(len(texts), len(counter.vocabulary_))).toarray()


TRICKY = [  # markup, entities, diacritics, tatweel, glued words, marks, digits, scripts
    "<p>قصفٌ مدفعيّ على <b>حلب</b></p><p>&quot;الأهالي&quot; يفرّون&amp;ينزحون</p>",
    "دبابةوتقنص قُتل 12 شخصاً،وأصيب آخرون في الـــرقة",
    "نزوح\u200cالأسر من\u200fإدلب\ufeff ٣٤ عائلة Idlib_2024 و🙂 المخيمات\u00adالمكتظة",
    "", "<script>var x = 'قصف';</script>", "تبادل الأسرى تبادل الاسرى تبادلُ الأسرى",
]


@pytest.mark.parametrize("shares", [False, True])
def test_fitting_counts_the_words_the_regular_expression_finds(monkeypatch, shares) -> None:
    """Fitting finds and tells words apart by hashing code points; the counts, terms,
    their numbering and the words kept must be those of the regular expression's words."""
    import recsys.counting as counting
    import recsys.features as features
    from recsys.features import TermCounter

    texts = [f"{a} {b}" for a in TRICKY for b in TRICKY]
    monkeypatch.setattr(counting, "_BATCH_CHARS", 300)  # several batches (in this process)
    if shares:  # words met again in later shares of one process, and by other processes
        monkeypatch.setattr(features, "_PARALLEL_MIN_DOCS", 10)
        monkeypatch.setattr(features, "_SHARE_DOCS", 5)
    hashed, regex = TermCounter(ArabicAnalyzer()), TermCounter(_RegexWords())
    X, Y = hashed.fit_transform(texts), regex.fit_transform(texts)
    assert hashed.terms_.tolist() == regex.terms_.tolist()
    assert hashed.display_terms_.tolist() == regex.display_terms_.tolist()
    assert np.array_equal(X.toarray(), Y.toarray()) and X.sum() > 100
    assert hashed.seen_words_ == regex.seen_words_
    assert np.array_equal(hashed.seen_columns_, regex.seen_columns_)
    assert {"دباب", "تقنص", "ينزح", "حلب", "34"} <= set(hashed.terms_) and "var" not in hashed.terms_


@pytest.mark.parametrize("options", [
    {"title_weight": 3.0},
    {"title_weight": 1.3, "lead_chars": 300, "lead_weight": 1.7, "lead_blend_chars": 250},
    {"title_weight": 1.0, "lead_blend": 0.0},
    {"title_weight": 0.0},  # title-only terms cancel out: no zeros may be stored
    {"title_weight": 0.0, "lead_blend": 0.0},
    {"sublinear_tf": False},
])
def test_fitted_rows_equal_transform_of_the_same_articles(corpus: list[Article], options) -> None:
    """Fitting sums sparse matrices of the archive's pieces; transform sums one row's
    arrays, and a server's (warmed) vectorizer computes one article's row in a compiled
    kernel: all must give the same rows, to the last bit, whether one article or many
    is vectorized (weights that are not whole numbers round on every sum)."""
    vectorizer = ArticleVectorizer(**options)
    X = vectorizer.fit_transform(corpus)
    again = vectorizer.transform(corpus)
    assert np.array_equal(X.indptr, again.indptr) and np.array_equal(X.indices, again.indices)
    assert np.array_equal(X.data, again.data)
    served = pickle.loads(pickle.dumps(vectorizer)).warm()
    for i in range(0, len(corpus), 97):
        for one in (vectorizer.transform([corpus[i]]), served.transform([corpus[i]])):
            assert np.array_equal(one.indices, X[i].indices) and np.array_equal(one.data, X[i].data)


def test_a_server_computes_one_article_row_compiled(corpus: list[Article], monkeypatch) -> None:
    """Once warmed, a vectorizer computes a single article's row in one compiled kernel
    (some 30 NumPy steps before), unless a count is no whole number (a fractional
    title weight), which it leaves to the NumPy steps; pickled, as in a bundle, it is
    cold again, so that a one-off command does not wait for numba."""
    import recsys.kernels as kernels

    compiled = kernels.article_row
    done: list[bool] = []
    monkeypatch.setattr(kernels, "article_row", lambda *args: (
        result := compiled(*args), done.append(bool(result[0])))[0])
    for title_weight, expected in ((2.0, True), (2.5, False)):
        vectorizer = ArticleVectorizer(title_weight=title_weight)
        X = vectorizer.fit_transform(corpus)
        served = vectorizer.warm()
        done.clear()
        one = served.transform([corpus[5]])
        assert done == [expected]
        assert np.array_equal(one.indices, X[5].indices) and np.array_equal(one.data, X[5].data)
        done.clear()
        pickle.loads(pickle.dumps(served)).transform([corpus[5]])
        assert done == []


def test_a_warmed_vectorizer_follows_its_new_settings(corpus: list[Article]) -> None:
    """The row kernel keeps the title weight and the blend it was warmed with; changing
    them with ``set_params`` must change its rows as it changes a cold vectorizer's."""
    vectorizer = ArticleVectorizer()
    vectorizer.fit(corpus)
    served = pickle.loads(pickle.dumps(vectorizer)).warm()
    for settings in ({"title_weight": 4.0}, {"lead_blend": 0.6, "lead_blend_chars": 200}):
        cold = vectorizer.set_params(**settings).transform([corpus[7]])
        warm = served.set_params(**settings).transform([corpus[7]])
        assert np.array_equal(warm.indices, cold.indices) and np.array_equal(warm.data, cold.data)
    default = ArticleVectorizer().fit(corpus).transform([corpus[7]])
    assert not np.array_equal(cold.data, default.data)  # the settings did change the row


@pytest.mark.parametrize("analyzer", [ArabicAnalyzer(), _RegexWords()], ids=["default", "own-words"])
def test_a_warmed_counter_refitted_counts_its_new_texts(corpus: list[Article], analyzer) -> None:
    """Fitting again forgets the words the counter met and looked up since its last
    fitting: a server's table of the old texts' words would give the new vocabulary's
    rows the old columns."""
    from recsys.features import TermCounter

    texts = [f"{a.title}\n{a.body}" for a in corpus]
    served = TermCounter(analyzer).fit(texts[:300]).warm()
    served.entries(texts[300:400])  # words met: looked up and remembered
    served.fit(texts[300:])
    fresh = TermCounter(analyzer).fit(texts[300:])
    assert served.get_feature_names_out().tolist() == fresh.get_feature_names_out().tolist()

    for some in (texts[:50], texts[300:400]):
        assert np.array_equal(_entry_rows(served, some), _entry_rows(fresh, some))
        assert np.array_equal(served.transform(some).toarray(), fresh.transform(some).toarray())


class _YieldingList(list):
    """A glued-word list whose appends let other threads run: it widens the window in
    which two threads analysing new words could take each other's numbers."""

    def append(self, item: object) -> None:
        super().append(item)
        time.sleep(0.0005)


@pytest.mark.parametrize("warmed", [False, True], ids=["cold", "warmed"])
def test_new_glued_words_on_many_threads_count_as_on_one(corpus: list[Article], monkeypatch,
                                                         warmed: bool) -> None:
    """Threads share the words a vectorizer meets after fitting, glued ones numbered by
    their place in one list, forgotten and started afresh past a bound: whichever thread
    analyses a word, and whenever the table is started afresh, every row is the one a
    single thread gets. (An analyzer that finds words its own way: the dict path.)"""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    import recsys.features as features

    vectorizer = ArticleVectorizer(analyzer=_RegexWords())
    vectorizer.fit(corpus)
    firsts, seconds = GLUED_FIRSTS, GLUED_SECONDS
    texts = [Article(str(i), first, " ".join(f"{first}{second} {second}{first}"
                                             for second in seconds))
             for i, first in enumerate(firsts)] * 6
    expected = [pickle.loads(pickle.dumps(vectorizer)).transform([t]) for t in texts]
    assert all(row.nnz >= 10 for row in expected)

    def served_on_threads(widened: bool) -> None:
        served = pickle.loads(pickle.dumps(vectorizer))
        if warmed:
            served.warm()
        served.transform(corpus[:30])  # a one-off first question: its own table
        served.transform(corpus[30:40])  # the second builds the table the threads share
        if widened:
            words, glued = served.words_._known
            served.words_._known = words, _YieldingList(glued)
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(served.transform, ([t] for t in texts)))
        for ours, theirs in zip(got, expected):
            assert np.array_equal(ours.indices, theirs.indices)
            assert np.allclose(ours.data, theirs.data)

    served_on_threads(widened=True)
    monkeypatch.setattr(features, "MAX_KNOWN_WORDS", 20)  # started afresh again and again
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads interleave between any two bytecodes
    try:
        for _ in range(5):
            served_on_threads(widened=False)
    finally:
        sys.setswitchinterval(switch)


@pytest.mark.parametrize("analyzer", [None, _RegexWords()], ids=["default", "own-words"])
def test_a_server_finds_words_as_a_one_off_command_does(corpus: list[Article], analyzer) -> None:
    """A warmed vectorizer finds and looks up words in a compiled hash table (an
    analyzer that finds words its own way: in a dict, as a cold one does), a cold one
    with regular expressions and a dict: raw text (markup, diacritics, tatweel, glued
    and new words, Arabic-Indic digits, Latin) gives the same rows to the last bit, one
    article or several at once."""
    vectorizer = ArticleVectorizer(analyzer=analyzer)
    vectorizer.fit_transform(corpus)
    cold = pickle.loads(pickle.dumps(vectorizer))
    served = vectorizer.warm()
    raw = [Article("r1", "<h1>قَصْفٌ عنيـــف على بلدة زقزوقة</h1>",
                   "<p>قصفت المدفعيةُ البلدةَ فجر اليوم،وأصيب ١٢ مدنياً بجروح.</p>"
                   "<div class='share'>شارك المقال</div> دبابةوتقنص Reuters 2018"),
           Article("r2", "", "نزح آلاف المدنيين إلى مخيمات زقزوقة بعد القصف &nbsp; المتواصل"),
           Article("r3", "<b></b>", "")]
    for articles in ([raw[0]], [raw[1]], [raw[2]], raw, corpus[:40]):
        ours, theirs = served.transform(articles), cold.transform(articles)
        assert np.array_equal(ours.indptr, theirs.indptr)
        assert np.array_equal(ours.indices, theirs.indices) and np.array_equal(ours.data, theirs.data)
    assert served.transform([raw[0]]).nnz > 5


def test_a_server_forgets_new_words_beyond_its_bound(corpus: list[Article], monkeypatch) -> None:
    """Servers meet new words every day: past a bound (``MAX_KNOWN_WORDS``) a warmed
    vectorizer forgets the new words it has analysed, and analyses them again when they
    come back, rather than grow without end; the rows stay right."""
    import recsys.features as features

    monkeypatch.setattr(features, "MAX_KNOWN_WORDS", 3)
    vectorizer = ArticleVectorizer()
    vectorizer.fit_transform(corpus)
    cold = pickle.loads(pickle.dumps(vectorizer))
    served = vectorizer.warm()
    analysed: list[str] = []
    analyse = WordAnalysis.terms_of
    monkeypatch.setattr(WordAnalysis, "terms_of", lambda self, words, **options: (
        analysed.extend(words), analyse(self, words, **options))[1])
    villages = ["زقزوقة", "بقبوقة", "تلتولة", "فرفورة", "سمسومة"]  # invented names

    def ask(village: str) -> list[str]:
        article = Article(village, f"قصف على {village}", f"قصفت المدفعية بلدة {village} اليوم")
        theirs = cold.transform([article])
        analysed.clear()
        ours = served.transform([article])
        assert np.array_equal(ours.indices, theirs.indices) and np.array_equal(ours.data, theirs.data)
        return list(analysed)

    assert ask(villages[0]) == [villages[0]]
    assert ask(villages[0]) == []  # remembered
    for village in villages[1:]:
        assert ask(village) == [village]
    assert ask(villages[0]) == [villages[0]]  # forgotten past the bound, analysed again


def test_a_warmed_counter_counts_what_a_cold_one_counts(monkeypatch) -> None:
    """A warmed counter (a server's) finds words in a compiled pass over code points and
    looks them up in a hash table; raw text, with markup and every tricky case, counts
    as with the regular expression and a dict, in one batch or several."""
    import recsys.counting as counting
    from recsys.features import TermCounter

    counter = TermCounter(ArabicAnalyzer())
    counter.fit([f"{a} {b}" for a in TRICKY[::2] for b in TRICKY[::2]])  # half the words new
    cold, served = pickle.loads(pickle.dumps(counter)), pickle.loads(pickle.dumps(counter)).warm()

    texts = [f"{a} {b}" for a in TRICKY for b in TRICKY]
    expected = _entry_rows(cold, texts)
    assert expected.sum() > 100
    assert np.array_equal(_entry_rows(served, texts), expected)
    monkeypatch.setattr(counting, "_BATCH_CHARS", 300)
    assert np.array_equal(_entry_rows(served, texts), expected)


def test_words_met_in_fitting_are_not_analysed_again(corpus: list[Article], monkeypatch) -> None:
    """A fitted vectorizer, pickled as in a bundle, keeps the column of every word of its
    archive, gathered from all the counting processes: vectorizing archive text then
    analyses only glued words (kept out of that table), a new word once, and the rows are
    the fitted ones to the last bit."""
    import recsys.features as features

    monkeypatch.setattr(features, "_PARALLEL_MIN_DOCS", 10)
    monkeypatch.setattr(features, "_SHARE_DOCS", 37)  # words met by several processes
    vectorizer = ArticleVectorizer()
    X = vectorizer.fit_transform(corpus)
    vectorizer = pickle.loads(pickle.dumps(vectorizer)).warm()  # as load_bundle does
    analysed: list[str] = []
    analyse = WordAnalysis.terms_of  # where ArabicAnalyzer's analysis happens
    monkeypatch.setattr(WordAnalysis, "terms_of", lambda self, words, **options: (
        analysed.extend(words), analyse(self, words, **options))[1])
    again = vectorizer.transform(corpus)
    assert np.array_equal(again.indices, X.indices) and np.array_equal(again.data, X.data)
    assert all(len(word_terms(word)) > 1 for word in analysed)
    analysed.clear()
    new = Article("new", "قصف على بلدة زقزوقة", "قصفت المدفعية بلدة زقزوقة وبلدة زقزوقة الجديدة")
    vectorizer.transform([new, new])
    assert analysed == ["زقزوقة"]


def test_a_process_first_small_question_analyses_its_own_words(corpus: list[Article],
                                                                monkeypatch) -> None:
    """Without warm(), a loaded vectorizer's first question, if as small as a few articles
    (a command-line one-off), analyses the words it meets instead of building the
    archive's word table; the rows are the same, and the next question uses the table. A
    big first question (the whole corpus) uses the table at once."""
    vectorizer = ArticleVectorizer()
    X = vectorizer.fit_transform(corpus)
    saved = pickle.dumps(vectorizer)
    analysed: list[str] = []
    analyse = WordAnalysis.terms_of
    monkeypatch.setattr(WordAnalysis, "terms_of", lambda self, words, **options: (
        analysed.extend(words), analyse(self, words, **options))[1])

    def ask(vectorizer: ArticleVectorizer, rows: slice) -> list[str]:
        analysed.clear()
        again = vectorizer.transform(corpus[rows])
        assert np.array_equal(again.indices, X[rows].indices) and np.array_equal(again.data, X[rows].data)
        return [word for word in analysed if len(word_terms(word)) == 1]  # glued ones aside

    vectorizer = pickle.loads(saved)
    assert len(ask(vectorizer, slice(0, 2))) > 20  # two articles' words, analysed
    assert ask(vectorizer, slice(2, 4)) == []  # then the table
    assert ask(pickle.loads(saved), slice(None)) == []  # a big first question: the table


MENU = "الرئيسية أخبار سياسة اقتصاد رياضة ثقافة اتصل بنا من نحن"
STORIES = ["استهدفت غارة جوية سوقا شعبيا في مدينة إدلب", "نزحت مئات العائلات من ريف حماة نحو المخيمات",
           "جرت عملية تبادل أسرى بين الطرفين بوساطة دولية", "فاز فريق الوحدة على الجيش في مباراة الديربي"]


def test_site_of_prefers_the_url_host_then_the_source() -> None:
    assert site_of(Article("1", "", "نص", url="https://www.Example.com/a?b=1")) == "example.com"
    assert site_of(Article("1", "", "نص", source="وكالة")) == "وكالة"
    assert site_of(("عنوان", "نص")) is None and site_of("نص") is None


@pytest.mark.parametrize("url", [
    "https://www.X.com/a", "https://x.com?a=1", "https://x.com#f", "//x.com/a", "x.com/a",
    "/a/b", " https://x.com/a", "https://user:pw@www.x.com:8080/a", "HTTPS://WWW.X.COM",
    "https:/\t/x.com/a", "https://x\n.com/a", "mailto:a@b.com", "http://[::1]:80/a",
    "ftp://x.com/a?b//c", "https://x.com/a//b.com", "?q=//x.com", "#//x.com", "https://",
    "a://b://c/d", "https://www.عنب.net/ar/1"])
def test_site_of_reads_the_host_as_urlsplit_does(url: str) -> None:
    # site_of parses only the scheme and host, once per site: the same host, always.
    host = urlsplit(url).netloc.lower().split("@")[-1].split(":")[0].removeprefix("www.")
    assert site_of(Article("1", "", "نص", url=url, source="وكالة")) == (host or "وكالة")


def test_site_word_runs_are_removed_even_inside_a_line() -> None:
    # The menu runs into each page's first line: line-level removal cannot see it.
    docs = [Article(str(i), "", f"{MENU} {story}", url=f"http://site.example/{i}")
            for i, story in enumerate(STORIES)]
    other = Article("x", "", f"{MENU} {STORIES[0]}", url="http://other.example/1")
    vec = ArticleVectorizer(min_df=1, site_run_words=4, site_run_min_docs=3).fit(docs + [other])
    assert len(vec.site_runs_) > 0
    titles, bodies = vec.clean_bodies(docs + [other])
    assert all("اتصل" not in b and story.split()[-1] in b for b, story in zip(bodies, STORIES))
    assert "اتصل" in bodies[-1]  # on another site the same words are text
    column = vec.words_.vocabulary_.get("اتصل")
    assert column is None or vec.transform(docs[:1])[0, column] == 0
    off = ArticleVectorizer(min_df=1, site_run_words=None).fit(docs)
    assert "اتصل" in off.words_.vocabulary_
    assert remove_site_runs("نص", None, vec.site_runs_, 4) == "نص"


def test_a_site_run_counts_pages_not_occurrences_and_never_spans_two_pages() -> None:
    # Each page ends and starts with the same two words: four words that follow each
    # other only across pages. The menu is twice on each of two pages: on 2 pages.
    pages = [f"وكالة الأنباء {story} حقوق محفوظة" for story in STORIES]
    doubled = [f"{MENU} {story} {MENU}" for story in STORIES[:2]]
    docs = [Article(str(i), "", body, url=f"http://site.example/{i}")
            for i, body in enumerate(pages + doubled)]
    vec = ArticleVectorizer(min_df=1, site_run_words=4, site_run_min_docs=3,
                            site_run_share=0.0).fit(docs)
    assert len(vec.site_runs_) == 0
    _, bodies = vec.clean_bodies(docs)
    assert bodies == [d.body for d in docs]
    # A third page with the menu makes it boilerplate: the learning does count pages.
    third = Article("m", "", f"{MENU} {STORIES[2]}", url="http://site.example/m")
    assert len(ArticleVectorizer(min_df=1, site_run_words=4, site_run_min_docs=3,
                                 site_run_share=0.0).fit(docs + [third]).site_runs_) > 0


def test_bodies_cleaned_together_are_cleaned_as_one_at_a_time() -> None:
    # Bodies are cleaned in batches: a page that ends with the menu, followed by one
    # that starts with it, must not make one cut across the two.
    bodies = [f"{STORIES[0]}\n{MENU}", f"{MENU} {STORIES[1]}", f"{STORIES[2]}، {MENU}.",
              f"{MENU}", STORIES[3], f"{STORIES[3]} {MENU} {MENU}"]
    docs = [Article(str(i), "", body, url=f"http://site.example/{i}")
            for i, body in enumerate(bodies)]
    docs.append(Article("o", "", f"{MENU} {STORIES[0]}", url="http://other.example/1"))
    vec = ArticleVectorizer(min_df=1, site_run_words=4, site_run_min_docs=3).fit(docs)
    _, together = vec.clean_bodies(docs)
    assert together == [vec.clean_bodies([d])[1][0] for d in docs]
    assert [b.strip(" \n،.") for b in together[:-1]] == [*STORIES[:3], "", *STORIES[3:], STORIES[3]]
    assert together[-1] == docs[-1].body


def test_lead_blend_weighs_the_headline_and_lead() -> None:
    long_body = STORIES[0] + "\n" + " ".join(STORIES[1:] * 20)
    doc = Article("1", "غارة على إدلب", long_body)
    plain = ArticleVectorizer(min_df=1, lead_blend=0).fit(DOCS + [doc])
    blended = ArticleVectorizer(min_df=1, lead_blend=0.3, lead_blend_chars=60).fit(DOCS + [doc])
    col = plain.words_.vocabulary_["ادلب"]
    assert blended.transform([doc])[0, col] > plain.transform([doc])[0, col]
    X = blended.transform(DOCS + [doc])
    assert np.allclose(np.sqrt(X.multiply(X).sum(axis=1)).A1, 1.0)


def test_site_runs_are_cut_on_word_boundaries_in_any_script() -> None:
    # Diacritics split words (as \w+ does), digits and Latin are words too, and a
    # character outside the BMP is not: the run must be found and cut exactly.
    footer = "جميعُ الحقوقِ محفوظة 2024 © Site_News وكالة أنباء 🙂 الشرق"
    docs = [Article(str(i), "", f"{story}، {footer}. {story.split()[0]}",
                    url=f"http://site.example/{i}") for i, story in enumerate(STORIES)]
    vec = ArticleVectorizer(min_df=1, site_run_words=4, site_run_min_docs=3).fit(docs)
    _, bodies = vec.clean_bodies(docs)
    for body, story in zip(bodies, STORIES):
        assert body.startswith(f"{story}، ") and body.endswith(f". {story.split()[0]}")
        assert "Site_News" not in body and "2024" not in body and "الحقو" not in body


def test_unit_rows_is_sklearn_normalize_to_the_last_bit(corpus: list[Article]) -> None:
    from sklearn.preprocessing import normalize

    from recsys.features import unit_rows

    X = ArticleVectorizer(lead_blend=0).fit_transform(corpus).tocsr()
    X.data *= np.random.default_rng(0).random(X.nnz).astype(np.float32)  # rows no longer unit
    X = sp.vstack([X, sp.csr_matrix((1, X.shape[1]), dtype=np.float32)], format="csr")  # empty row
    for matrix in (X, X.astype(np.float64)):
        before = matrix.data.copy()
        ours, theirs = unit_rows(matrix), normalize(matrix)
        assert ours.dtype == theirs.dtype
        assert np.array_equal(ours.data, theirs.data) and np.array_equal(ours.indices, theirs.indices)
        assert np.array_equal(matrix.data, before)  # a copy: the input is untouched


@pytest.mark.parametrize("size, kinds", [(0, 1), (1, 1), (7, 2), (5000, 300), (200_000, 50_000)])
def test_distinct_hashes_are_numpys_unique(size: int, kinds: int) -> None:
    # Counting's quick-sort stand-in for np.unique must give its very arrays: the first
    # occurrences decide which word a term shows and the order terms are numbered in.
    from recsys.wordhash import distinct_hashes

    rng = np.random.default_rng(size)
    hashes = rng.integers(0, kinds, size).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    for ours, numpys in zip(distinct_hashes(hashes),
                            np.unique(hashes, return_index=True, return_inverse=True)):
        assert ours.dtype == numpys.dtype and np.array_equal(ours, numpys)


def test_pickling_a_serving_vectorizer_leaves_it_as_it_was(corpus: list[Article]) -> None:
    """Saving a bundle pickles the live model: a serving process that saves must keep its
    warmed tables (another thread may be mid-query on them) and its archive signatures,
    not only ship a copy without them."""
    vectorizer = ArticleVectorizer(phrase_docs=(3, 30))
    vectorizer.fit_transform(corpus)
    signatures = vectorizer.fitted_signatures()
    phrase_rows = vectorizer.fitted_phrases()  # (selected on a thread until first asked for)
    vectorizer.warm().transform([Article("n1", "قصف على زقزوقة", "نزح آلاف المدنيين من زقزوقة")])
    before = [(owner, dict(vars(owner))) for owner in (vectorizer, vectorizer.words_)]
    shipped = pickle.loads(pickle.dumps(vectorizer))
    for owner, attributes in before:
        assert set(vars(owner)) == set(attributes)
        assert all(getattr(owner, name) is value for name, value in attributes.items())
    assert all(np.array_equal(a, b) for a, b in zip(vectorizer.fitted_signatures(), signatures))
    assert vectorizer.fitted_phrases() is phrase_rows and len(phrase_rows.ids)
    assert shipped.fitted_phrases() is None  # the index keeps the rows; the table ships
    assert np.array_equal(shipped.words_.phrase_table_.keys, vectorizer.words_.phrase_table_.keys)
    assert "_compiled_row" in vars(vectorizer) and "_compiled_row" not in vars(shipped)
