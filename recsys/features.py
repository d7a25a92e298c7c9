"""TF-IDF features of articles: boilerplate removal, title and lead weighting.

:class:`ArabicAnalyzer` wraps the Arabic text functions of :mod:`recsys.arabic` as the
analyzer of scikit-learn vectorizers. :class:`ArticleVectorizer` is a scikit-learn
transformer. It takes articles (or
``(title, body)`` pairs, or plain strings taken as bodies) and returns one
L2-normalised row per article, so a dot product of two rows is their cosine.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import shutil
import tempfile
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from joblib.externals.loky import ProcessPoolExecutor
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.utils.validation import check_is_fitted

from . import copies, counting, phrases
from .arabic import (MAX_KNOWN_WORDS, WordAnalysis, clean, display_key, normalize_letters,
                     raw_word_table, raw_words, strip_html)
from .boilerplate import BodyCleaner, learn_lines, learn_site_runs, site_of
from .corpus import Article
from .counting import CountedArticle, Prepare, Share, WordCounter, lead_end, lead_of, loaded
from .wordhash import JoinedWords, distinct_hashes, hashed_words

__all__ = ["ArabicAnalyzer", "ArticleVectorizer", "TermCounter", "article_fields", "lead_of",
           "lead_end"]

ArticleLike = Article | tuple[str, str] | str


def _check_fitted(estimator: BaseEstimator, attribute: str) -> None:
    """``check_is_fitted``, at the cost of an attribute lookup when fitted: scikit-learn's
    check takes about 15 µs, a tenth of vectorizing a new article."""
    if not hasattr(estimator, attribute):
        check_is_fitted(estimator, attribute)


class ArabicAnalyzer(BaseEstimator):
    """Turn a raw text into index terms: the ``analyzer`` for scikit-learn vectorizers.

    Parameters
    ----------
    stem : {"light10", None}
        Light stemming of each token, or none.
    stop_words : bool
        Drop Arabic function words (:data:`recsys.STOP_WORDS`).
    split_glued : bool
        Split words glued after a final taa marbuta or alef maqsura.
    alef, alef_maqsura, taa_marbuta, hamza_seats : bool
        Letter foldings, see :func:`normalize_letters`.
    min_length : int
        Shortest term kept (digits count as letters).
    strip_markup : bool
        Remove HTML before anything else.

    Examples
    --------
    >>> analyzer = ArabicAnalyzer()
    >>> analyzer("<p>قصفٌ مدفعيّ على المدينة،والأهالي يفرّون</p>")
    ['قصف', 'مدفع', 'مدين', 'اهال', 'يفر']
    """

    def __init__(self, *, stem: str | None = "light10", stop_words: bool = True,
                 split_glued: bool = True, alef: bool = True, alef_maqsura: bool = True,
                 taa_marbuta: bool = True, hamza_seats: bool = False, min_length: int = 2,
                 strip_markup: bool = True) -> None:
        self.stem = stem
        self.stop_words = stop_words
        self.split_glued = split_glued
        self.alef = alef
        self.alef_maqsura = alef_maqsura
        self.taa_marbuta = taa_marbuta
        self.hamza_seats = hamza_seats
        self.min_length = min_length
        self.strip_markup = strip_markup

    def analysis(self) -> WordAnalysis:
        """This analyzer's work as a plain value, free of scikit-learn (what the
        counting processes receive)."""
        return WordAnalysis(**{f.name: getattr(self, f.name) for f in fields(WordAnalysis)})

    def terms(self, word: str) -> tuple[str, ...]:
        """The terms of one raw word (see :func:`recsys.arabic.word_terms`)."""
        return self.terms_of([word])[0]

    def terms_of(self, words: Iterable[str], *, remember: bool = True) -> list[tuple[str, ...]]:
        """The terms of each of ``words``, cached per process (unless not ``remember``:
        a caller that keeps its own per-word results need not hold them twice)."""
        return self.analysis().terms_of(words, remember=remember)

    def raw_words(self, text: str) -> list[str]:
        """The words of ``text`` as written (see :func:`recsys.arabic.raw_words`).
        Callers cache :meth:`terms` per distinct word."""
        return raw_words(text, strip_markup=self.strip_markup)

    def __call__(self, text: str) -> list[str]:
        tokens = self.raw_words(text)
        return [term for terms in self.terms_of(tokens) for term in terms]


def unit_rows(X: sp.csr_matrix, *, copy: bool = True) -> sp.csr_matrix:
    """``X`` with each row scaled to unit L2 norm (empty rows stay empty).

    The same arithmetic as scikit-learn's ``normalize``, to the last bit, without its
    input checks: those cost more than the arithmetic on the one-article matrices a web
    worker vectorizes for every new page.
    """
    if copy:
        X = X.copy()
    _to_unit(X.data, np.repeat(np.arange(X.shape[0]), np.diff(X.indptr)), X.shape[0])
    return X


def _to_unit(values: np.ndarray, rows: np.ndarray, n_rows: int) -> np.ndarray:
    """Scale ``values`` in place to unit L2 norm per row, ``rows[i]`` being the row of
    ``values[i]``: :func:`unit_rows` on a matrix's arrays. Zeros may be among the
    values: they add nothing to a norm, to the last bit."""
    norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=n_rows))
    norms[norms == 0] = 1.0
    values /= norms[rows]
    return values


def _plus(counts: sp.csr_matrix, extra: sp.csr_matrix | None) -> sp.csr_matrix:
    """``counts`` plus ``extra`` (a boost), unless that is ``None``."""
    return counts if extra is None else counts + extra


def article_fields(articles: Iterable[ArticleLike]) -> tuple[list[str], list[str]]:
    """Split articles into titles and bodies (HTML removed, lines kept)."""
    titles, bodies = [], []
    for item in articles:
        if isinstance(item, Article):
            title, body = item.title, item.body
        elif isinstance(item, str):
            title, body = "", item
        else:
            title, body = item
        titles.append(strip_html(title))
        bodies.append(strip_html(body))
    return titles, bodies


_PARALLEL_MIN_DOCS = 5000  # below this, starting worker processes costs more than it saves
_SHARE_DOCS = 2000  # documents per counting task on average: small shares keep memory flat
_ONE_OFF_CHARS = 100_000  # a first question this small analyses its own words (_known_columns)
# A TermCounter's tables of the words met since fitting, per process; pickled, they would
# bloat bundles.
_PER_PROCESS = ("_known", "_asked_once", "_table", "_met")


def _marks_of(titles: list[str], bodies: list[str], table: phrases.PhraseTable | None,
              one_text: Callable | None = None,
              ) -> tuple[tuple[np.ndarray, np.ndarray], phrases.PhraseRows | None]:
    """Text signatures (:mod:`recsys.copies`) and, with a fit's ``table``, phrase rows
    (:mod:`recsys.phrases`) of cleaned titles and bodies, from one hashing of their
    words; ``one_text``, a warmed vectorizer's :func:`_one_text_marks`, makes a single
    text's."""
    if one_text is not None and len(titles) == 1:
        return one_text(f"{titles[0]}\n{bodies[0]}")
    words = JoinedWords.of([f"{t}\n{b}" for t, b in zip(titles, bodies)], raw_word_table())
    return (copies.signatures(words.hashes, words.text_of, len(titles)),
            None if table is None else phrases.text_rows(words.hashes, words.text_of,
                                                         len(titles), table))


def _one_text_marks(text: str, phrase_row: Callable | None,
                    ) -> tuple[tuple[np.ndarray, np.ndarray], phrases.PhraseRows | None]:
    """:func:`_marks_of` of one text in compiled kernels, to the last bit: its words'
    hashes, its signature and, with ``phrase_row`` (:func:`recsys.kernels.phrase_row` on
    a fit's phrase table), its phrase row. At 60k articles the array steps took 0.10 ms
    of a query by new text; these take 0.015 ms, 0.035 ms with the phrase row."""
    from . import kernels

    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    hashes = kernels.word_hashes(codes, raw_word_table())[2]
    values, count = kernels.signature(hashes, copies.SIGNATURE_SIZE, copies.SHINGLE_WORDS,
                                      copies.EMPTY)
    signatures = values.reshape(1, -1), np.array([count], dtype=np.int64)
    if phrase_row is None:
        return signatures, None
    ids, levels, scale = phrase_row(hashes)
    return signatures, phrases.PhraseRows(np.array([0, len(ids)], dtype=np.int64), ids, levels,
                                          np.array([scale], dtype=np.float32))


def _selected(found: list[tuple[np.ndarray | str, int]], n_docs: int,
              phrase_docs: tuple[int, int], spill: str | None,
              ) -> tuple[phrases.PhraseTable, phrases.PhraseRows]:
    """:func:`recsys.phrases.select` of the shares' entries (:func:`_spilled_entries`)."""
    from . import kernels

    # A temporary, not a name here: select frees the entries once it has the phrases.
    return phrases.select(_spilled_entries(found, spill), n_docs, *phrase_docs,
                          kernels.kept_phrases)


def _spilled_entries(found: list[tuple[np.ndarray | str, int]], spill: str | None) -> np.ndarray:
    """The shares' entries in one array, each share's with its first article's number,
    read from the files the counting processes spilled them to straight into it (each
    removed once read: loading the files whole and then joining them held three copies,
    0.4 GB at 60k articles); then the files' directory ``spill`` is removed."""
    try:
        sizes = [os.path.getsize(e) // 8 if isinstance(e, str) else len(e) for e, _ in found]
        entries = np.empty(sum(sizes), dtype=np.uint64)
        at = 0
        for (share, first), size in zip(found, sizes):
            part = entries[at:at + size]
            at += size
            if isinstance(share, str):
                with open(share, "rb") as handle:
                    if handle.readinto(memoryview(part).cast("B")) != 8 * size:
                        raise OSError(f"{share}: phrase entries cut short")
                os.remove(share)
            else:
                part[:] = share
            phrases.numbered(part, first)
        return entries
    finally:
        if spill is not None:
            shutil.rmtree(spill, ignore_errors=True)


def _even_shares(documents: Sequence[Any], n_shares: int) -> list[tuple[int, int]]:
    """``n_shares`` contiguous ranges of documents holding about equal amounts of text:
    counting time follows the text, and long documents come in runs (one site's scraped
    pages), which made the last share of an archive take twice as long as the others."""
    lengths = np.fromiter((len(d) if isinstance(d, str) else sum(len(p) for p in d if p)
                           for d in documents), dtype=np.int64, count=len(documents))
    # A share ends with the document that brings its running total to the target.
    ends = np.searchsorted(np.cumsum(lengths), np.arange(1, n_shares) * (lengths.sum() / n_shares)) + 1
    bounds = np.unique(np.concatenate([[0], ends, [len(documents)]]))
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def _merge_parts(shares: Iterable[Share], after_last: Callable[[], object] | None = None,
                 ) -> tuple[sp.csr_matrix, np.ndarray, list[str | None], dict[str, int],
                            tuple[np.ndarray, np.ndarray] | None, list[tuple[np.ndarray, int]]]:
    """Stack the shares' counts on one vocabulary (first seen, first numbered), pick
    each term's display word, gather every word's column, the documents' signatures and
    phrase entries (each share's with its first document's number), consuming the
    shares as they come; ``after_last`` runs once the last has come, before the stacking
    (to stop the counting processes)."""
    vocabulary: dict[str, int] = {}
    shown: list[tuple | None] = []
    seen: dict[str, int] = {}  # word -> merged column (-1: none)
    to_merged: dict[str, np.ndarray] = {}  # a process's columns -> merged columns
    blocks, signed, phrase_entries = [], [], []
    n_documents = 0
    for share in shares:
        signed.append(share.signatures)
        if share.phrases is not None:  # entries, or the file a counting process spilled them to
            phrase_entries.append((share.phrases, n_documents))
        if share.signatures is not None:
            n_documents += len(share.signatures[1])
        mapping = to_merged.get(share.vocabulary, np.empty(0, dtype=np.int64))
        if len(mapping) != share.first_term:
            raise RuntimeError("a counting process's shares arrived out of order")
        mapping = to_merged[share.vocabulary] = np.concatenate([mapping, np.fromiter(
            (vocabulary.setdefault(term, len(vocabulary)) for term in share.new_terms),
            dtype=np.int64, count=len(share.new_terms))])
        shown.extend([None] * (len(vocabulary) - len(shown)))
        for col, key in share.shown:
            merged = mapping[col]
            if shown[merged] is None or key < shown[merged]:
                shown[merged] = key
        seen.update(zip(share.words, np.where(share.word_columns >= 0,
                                              mapping[np.maximum(share.word_columns, 0)],
                                              -1).tolist()))
        c = share.counts
        blocks.append((c.data, mapping[c.indices], c.indptr))
    if after_last is not None:
        after_last()
    width = len(vocabulary)
    stacked = sp.vstack([sp.csr_matrix(b, shape=(len(b[2]) - 1, width)) for b in blocks],
                        format="csr")
    signatures = (None if not signed or any(s is None for s in signed) else
                  (np.concatenate([v for v, _ in signed]), np.concatenate([c for _, c in signed])))
    return (stacked, np.array(list(vocabulary), dtype=object), [k and k[-1] for k in shown],
            seen, signatures, phrase_entries)


class TermCounter(TransformerMixin, BaseEstimator):
    """Term counts of texts: ``CountVectorizer``'s job, done per distinct token.

    scikit-learn's ``CountVectorizer`` runs a Python loop over every token of every
    document; on 60k news articles that loop, not the Arabic analysis, was the cost.
    Fitting finds and hashes the tokens of a share of documents with array operations
    (:mod:`recsys.wordhash`) and cuts out as strings only the tokens its process has not
    met before, to analyse them once; that halved the counting processes' time against
    counting each text's tokens with ``collections.Counter``, which ``transform`` still
    does (for a few new articles, it is quicker than the arrays' fixed costs). A warmed
    counter (a server's) finds, hashes and looks up a new article's words in one compiled
    pass instead (:meth:`warm`): 0.06 ms against 0.15 ms per article. Each way, each
    distinct token is mapped to its column once per process.
    Fitting keeps that cache, every distinct word of the archive with its column
    (``seen_words_``, ``seen_columns_``; glued words aside), so that a process that
    loads the fitted counter analyses only the words the archive never had.

    Parameters
    ----------
    analyzer : ArabicAnalyzer
        Supplies ``raw_words(text)`` and ``terms_of(words)``.
    min_df, max_df : int or float
        As in ``CountVectorizer``: absolute counts (int) or proportions (float).
    n_jobs : int or None
        Processes for fitting (joblib convention; ``-1`` all cores). Each counts
        shares of the documents on a vocabulary it keeps for the whole fit, reporting
        only the terms a share added; the parent merges the processes' vocabularies.
    phrase_docs : (int, int) or None
        Also find the documents' rare phrases (:mod:`recsys.phrases`): the pairs of
        words in that many documents, least and most (``None``: no phrases). Only with
        the default analysis, whose words fitting finds by hashing.

    >>> counts = TermCounter(ArabicAnalyzer()).fit_transform(["قصف وقصف", "القصف"])
    >>> counts.toarray().tolist()
    [[2.0], [1.0]]
    """

    def __init__(self, analyzer: ArabicAnalyzer, *, min_df: int | float = 1,
                 max_df: int | float = 1.0, n_jobs: int | None = -1,
                 phrase_docs: tuple[int, int] | None = None) -> None:
        self.analyzer = analyzer
        self.min_df = min_df
        self.max_df = max_df
        self.n_jobs = n_jobs
        self.phrase_docs = phrase_docs

    def _counter(self) -> WordCounter:
        """The counting this counter does, as a plain value for the counting processes:
        the default analyzer travels as its :class:`~recsys.arabic.WordAnalysis`, and
        fitting may then find its words by hashing (an analyzer that finds them its own
        way travels as it is)."""
        analyzer = self.analyzer
        if type(analyzer).raw_words is not ArabicAnalyzer.raw_words:
            return WordCounter(analyzer)
        if type(analyzer).terms_of is ArabicAnalyzer.terms_of:
            analyzer = analyzer.analysis()
        return WordCounter(analyzer, hashed=True, phrases=self.phrase_docs is not None)

    @contextlib.contextmanager
    def processes(self, n_docs: int) -> Iterator[ProcessPoolExecutor | None]:
        """The processes that will count ``n_docs`` documents (``None``: too few to be
        worth them), started at once so that they load while the caller prepares."""
        jobs = effective_n_jobs(self.n_jobs)
        if n_docs < _PARALLEL_MIN_DOCS or jobs == 1:
            yield None
            return
        # Fresh processes that exit when done: their word caches go with them, rather
        # than stay resident in a reusable pool for the rest of training. loky's
        # executor, unlike the standard library's spawn, does not re-run the caller's
        # script in the workers (no ``if __name__ == "__main__"`` guard needed).
        with warnings.catch_warnings(), ProcessPoolExecutor(jobs) as pool:
            # loky restarts a worker whose memory grew by 300 MB (its word caches, on
            # big archives) and warns of a "memory leak": the work is not lost.
            warnings.filterwarnings("ignore", message="A worker stopped while some jobs")
            for _ in range(jobs):
                pool.submit(loaded)
            yield pool

    def fit_transform(self, texts: Iterable[str], y: object = None) -> sp.csr_matrix:
        return self.fit_transform_split(list(texts))[1]

    def fit_transform_split(self, documents: Sequence[Any],
                            cuts: Sequence[tuple[int, ...]] | None = None, *,
                            first_weight: float = 1.0, prepare: Prepare | None = None,
                            n_cuts: int = 0, processes: ProcessPoolExecutor | None = None,
                            ) -> tuple[list[sp.csr_matrix], sp.csr_matrix]:
        """Fit on documents and return the counts of their heads and of the whole
        documents, from one pass over the text.

        A document is a text or a tuple of texts (title, body) read as joined by
        newlines; its first part counts ``first_weight`` times (title weighting).
        ``cuts[i]`` are increasing offsets into document ``i`` (at word boundaries); head
        ``j`` is each document up to its ``j``-th cut. Documents are counted in shares of
        a few thousand, on ``n_jobs`` processes, and are joined and cut only there: the
        caller never holds a second copy of the archive's text. ``min_df``/``max_df``
        apply to whole documents, unweighted.

        ``prepare``, if given, runs in the counting processes on a share of records and
        returns their documents and cuts (``n_cuts`` each): how :class:`ArticleVectorizer`
        cleans bodies where they are counted instead of holding cleaned copies.

        ``processes``, if given, are counting processes the caller started early with
        :meth:`processes`; otherwise they are started here. Either way they are shut
        down once the counting is done, before the big matrices are built.
        """
        if processes is None:
            with self.processes(len(documents)) as started:
                if started is not None:
                    return self.fit_transform_split(documents, cuts, first_weight=first_weight,
                                                    prepare=prepare, n_cuts=n_cuts,
                                                    processes=started)
        n_docs = len(documents)
        fit = uuid.uuid4().hex
        counter = self._counter()
        shares = (_even_shares(documents, -(-n_docs // _SHARE_DOCS)) if processes is not None
                  else [(0, n_docs)])
        spill = None
        if processes is not None and counter.phrases:
            # Removed by the phrase selection once it has read the files (see _selected).
            spill = tempfile.mkdtemp(prefix="recsys-phrases-",
                                     dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
            counter = replace(counter, spill=spill)
        try:
            return self._fit_counted(documents, cuts, first_weight, prepare, n_cuts, processes,
                                     n_docs, fit, counter, shares)
        except BaseException:
            if spill is not None:
                shutil.rmtree(spill, ignore_errors=True)
            raise

    def _fit_counted(self, documents: Sequence[Any], cuts: Sequence[tuple[int, ...]] | None,
                     first_weight: float, prepare: Prepare | None, n_cuts: int,
                     processes: ProcessPoolExecutor | None, n_docs: int, fit: str,
                     counter: WordCounter, shares: list[tuple[int, int]],
                     ) -> tuple[list[sp.csr_matrix], sp.csr_matrix]:
        """:meth:`fit_transform_split` once the shares and the counter are set."""
        if processes is not None:
            # The processes receive a plain WordCounter, not this estimator: they then
            # start without importing scikit-learn (see recsys.counting).
            parts = processes.map(counter.count_part, [documents[a:b] for a, b in shares],
                                  [None if cuts is None else cuts[a:b] for a, b in shares],
                                  [first_weight != 1] * len(shares), [prepare] * len(shares),
                                  [fit] * len(shares))
            # Stop the processes now, not at the caller's exit: their memory is freed
            # before the stacked counts are built.
            counts, terms, words, seen, signatures, found = _merge_parts(
                parts, after_last=processes.shutdown)
        else:
            counts, terms, words, seen, signatures, found = _merge_parts([counter.count_part(
                documents, cuts, first_weight != 1, prepare, fit)])
            counting.forget(fit)
        # Kept for the caller to take (NewsModel.train gives them to the related index).
        self.signatures_ = signatures
        self.phrase_table_ = self.phrases_ = self._selecting = None
        if counter.phrases:
            # Selected on a thread, taken when first asked for (fitted_phrases): at 60k
            # articles its reading, sorts and compiled pass (0.8 s alone) release the GIL
            # and overlap the rest of fitting, which keeps one core busy from here.
            pool = ThreadPoolExecutor(1)
            self._selecting = pool.submit(_selected, found, n_docs, self.phrase_docs,
                                          counter.spill)
            pool.shutdown(wait=False)
        del found
        # Each share's rows are blocks of its documents: the pieces, then the first parts.
        n_pieces = 1 + (n_cuts if prepare is not None else len(cuts[0]) if cuts else 0)
        sizes = np.array([b - a for a, b in shares])
        n_blocks = n_pieces + (first_weight != 1)
        starts = np.cumsum(n_blocks * sizes) - n_blocks * sizes
        rows = np.concatenate([start + np.arange(m) for start, m in zip(starts, sizes)])
        block = np.repeat(sizes, sizes)  # offset from a document's row to its next block
        prefixes = [counts[rows]]
        for j in range(1, n_pieces):
            prefixes.append(prefixes[-1] + counts[rows + j * block])
        df = np.bincount(prefixes[-1].indices, minlength=counts.shape[1])
        if first_weight != 1:
            extra = (first_weight - 1) * counts[rows + n_pieces * block]
            prefixes = [p + extra for p in prefixes]
            del extra
        del counts  # the archive's counts are big: free each copy as soon as it is done
        low = self.min_df if isinstance(self.min_df, int) else self.min_df * n_docs
        high = self.max_df if isinstance(self.max_df, int) else self.max_df * n_docs
        keep = np.flatnonzero((df >= low) & (df <= high))
        if len(keep) == 0:
            raise ValueError("no terms left after min_df/max_df pruning; lower min_df")
        self.terms_ = terms[keep]
        self.vocabulary_ = {term: col for col, term in enumerate(self.terms_)}
        self.display_terms_ = np.array([clean(words[c]) if words[c] else terms[c] for c in keep],
                                       dtype=object)
        # Every word of the archive and its column, kept so that a process that loads
        # this model vectorizes new articles without analysing the words it already saw.
        column_of = np.full(len(terms) + 1, -1, dtype=np.int32)  # the last slot: no column
        column_of[keep] = np.arange(len(keep))
        # One string: at 60k articles a list of the 455,000 words took 8x longer to save
        # and 2x longer to load.
        self.seen_words_ = "\n".join(seen)
        self.seen_columns_ = column_of[np.fromiter(seen.values(), dtype=np.int64, count=len(seen))]
        del seen
        for name in _PER_PROCESS:  # a warmed counter refitted: its tables are the old words'
            self.__dict__.pop(name, None)
        for j, prefix in enumerate(prefixes):
            prefixes[j] = prefix[:, keep].tocsr()
            # A row's entries come in the column order of whichever process counted it;
            # sorted, sums over a row (norms, dot products) run in the same order in
            # every fit, and in the same order as for the rows ``transform`` makes.
            prefixes[j].sort_indices()
            del prefix
        return prefixes[:-1], prefixes[-1]

    def fit(self, texts: Iterable[str], y: object = None) -> TermCounter:
        self.fit_transform(texts)
        return self

    def transform(self, texts: Iterable[str]) -> sp.csr_matrix:
        texts = list(texts)
        cache, multi = self._known_columns(texts)
        return self._counter().count(texts, self.vocabulary_, cache, multi, grow=False)

    def entries(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The texts' term counts, unsummed, as arrays: each entry's text (its number in
        ``texts``), column and count. A column may come more than once for a text (two
        spellings of one term; on a warmed counter, every occurrence once), and -1 or
        below stands for none. A caller summing one article's pieces itself skips the
        matrices of :meth:`transform`, which cost more than the counting for one text."""
        if getattr(self, "_table", None) is not None:
            # One attribute for the pair, read and replaced whole: a thread must never
            # see one pair's words with another's glued-word list.
            unseen, multi = self._met
            if len(unseen) > MAX_KNOWN_WORDS:  # servers meet new words every day
                self._met = unseen, multi = {}, []
            text_of, columns = self._counter().table_entries(
                texts, self._table, self.vocabulary_, unseen, multi)
            return text_of, columns, np.ones(len(columns))
        cache, multi = self._known_columns(texts)
        found = list(self._counter().entries(texts, self.vocabulary_, cache, multi, grow=False))
        sizes = [len(c) for c, _ in found]
        columns = np.fromiter(itertools.chain.from_iterable(c for c, _ in found), dtype=np.int64,
                              count=sum(sizes))
        counts = np.fromiter(itertools.chain.from_iterable(v for _, v in found),
                             dtype=np.float64, count=len(columns))
        return np.repeat(np.arange(len(found)), sizes), columns, counts

    def warm(self) -> TermCounter:
        """Build this process's table of the words met in fitting now rather than when
        first needed; returns ``self``. With the default analysis, a compiled hash
        table that finds, hashes and looks up a text's words in one pass
        (:func:`recsys.kernels.text_words`; 0.15 s and 16 MB at 60k articles, and
        numba's import), for servers; else a dict of the words (0.2-0.3 s and 74 MB)."""
        _check_fitted(self, "vocabulary_")
        if self._counter().hashed:
            from . import kernels

            _, _, hashes = hashed_words(self.seen_words_, raw_word_table())
            self._table = (kernels.text_words, *kernels.word_table(hashes, self.seen_columns_))
            self._met = {}, []  # words the archive never had (hash -> column), glued ones
        else:
            self._known_columns()
        return self

    def _known_columns(self, texts: Sequence[str] = ()) -> tuple[dict[str, int], list[tuple[int, ...]]]:
        """The table of known words' columns for vectorizing ``texts``, built on first
        need; a process's first question, if as small as a few articles, gets an empty
        one instead."""
        _check_fitted(self, "vocabulary_")
        known = getattr(self, "_known", None)
        if (known is None and not getattr(self, "_asked_once", False)
                and 0 < sum(map(len, texts)) <= _ONE_OFF_CHARS):
            # A command-line one-off: analysing its own few thousand words costs less than
            # the table of the archive's 455,000 (0.25 s at 60k articles). Same columns
            # either way: the table only caches them. A bigger first question, 572 real
            # articles, took 1.48 s this way against 1.05 s with the table.
            self._asked_once = True
            return {}, []
        if known is None or len(known[0]) > len(self.seen_columns_) + MAX_KNOWN_WORDS:
            # Per process, starting from the archive's words, and bounded: servers run
            # for days and meet new words every day. The words and their glued-word list
            # are one pair, replaced whole, as in ``entries``.
            self._known = known = (dict(zip(self.seen_words_.split("\n"),
                                            self.seen_columns_.tolist())), [])
        return known

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        check_is_fitted(self, "vocabulary_")
        return self.terms_.copy()

    def selected_phrases(self) -> tuple[phrases.PhraseTable | None, phrases.PhraseRows | None]:
        """The last fit's phrase table and the documents' phrase rows (``None`` without
        phrases), waiting for their selection if it is still running."""
        selecting = getattr(self, "_selecting", None)
        if selecting is not None:
            self.phrase_table_, self.phrases_ = selecting.result()
            self._selecting = None
        return getattr(self, "phrase_table_", None), getattr(self, "phrases_", None)

    def __getstate__(self) -> dict:
        # A copy: scikit-learn's is the live __dict__, from which these would be popped
        # (a serving process's tables, mid-query on another thread).
        self.selected_phrases()  # a fit's phrases may still be being selected
        state = dict(super().__getstate__())
        for name in (*_PER_PROCESS, "signatures_", "phrases_", "_selecting"):  # the index keeps
            state.pop(name, None)  # signatures and phrase rows; the rest is per process
        return state


class ArticleVectorizer(TransformerMixin, BaseEstimator):
    """TF-IDF vectors of news articles with Arabic analysis.

    Parameters
    ----------
    analyzer : ArabicAnalyzer or None
        Turns text into terms; ``None`` means ``ArabicAnalyzer()``.
    title_weight : float
        How many times a title term counts compared with a body term.
    lead_chars, lead_weight : int, float
        The first ``lead_chars`` characters of the body (after boilerplate removal)
        count ``lead_weight`` times.
    min_df, max_df : int or float
        Terms in fewer / more documents are dropped (as in ``TfidfVectorizer``).
    sublinear_tf : bool
        Use ``1 + log(tf)``.
    char_ngrams : tuple of int or None
        Also use character n-grams of this range (``char_wb``), a remedy for glued
        and misspelt words; ``None`` for words only.
    char_weight : float
        Weight of the character block relative to the word block.
    boilerplate_min_docs : int or None
        Lines (after cleaning) that occur in at least this many documents at fit time
        are site boilerplate (menus, footers, share buttons) and are removed before
        vectorizing; ``None`` keeps every line.
    min_line_chars : int
        Shorter lines are never treated as boilerplate (so short common lines such as
        a dateline survive).
    site_run_words : int or None
        Site boilerplate that is not on a line of its own (menus run into the text,
        "read also" blocks, copyright footers): runs of this many words that recur on
        several pages of one site are cut out of that site's bodies (see
        :mod:`recsys.boilerplate`). ``None`` turns this off.
    site_run_min_docs, site_run_share : int, float
        A run is boilerplate on a site when it is on at least ``max(site_run_min_docs,
        site_run_share * pages of the site)`` of its pages.
    phrase_docs : (int, int) or None
        Find the articles' rare phrases, the pairs of words that least to most
        articles share (:mod:`recsys.phrases`), for the related index to score with:
        on the real claim groups nDCG@10 0.484 → 0.501, graded nDCG@10 kept (0.857).
        ``None`` (``recsys train --no-phrases``) turns this off: at 60k articles,
        training about 2-4% shorter, a query by new text 0.07-0.13 ms quicker, the
        training peak 0.1 GB and the bundle 32 MB smaller.
    lead_blend, lead_blend_chars : float, int
        Each row is ``(1 - lead_blend)`` times the unit TF-IDF vector of the whole
        article plus ``lead_blend`` times that of its title and first
        ``lead_blend_chars`` body characters, normalised: same-story articles share
        their headline facts more than their later paragraphs (graded nDCG@10 +0.02
        on the real judgments). ``0`` for the whole article only.

    Examples
    --------
    >>> from recsys import Article
    >>> docs = [Article("1", "قصف على إدلب", "قصفت الطائرات مدينة إدلب"),
    ...         Article("2", "مخيمات النازحين", "يعاني النازحون في المخيمات")]
    >>> X = ArticleVectorizer(min_df=1).fit_transform(docs)
    >>> X.shape[0], round(float((X @ X.T)[0, 0]), 3)
    (2, 1.0)
    """

    def __init__(self, *, analyzer: ArabicAnalyzer | None = None, title_weight: float = 2.0,
                 lead_chars: int = 0, lead_weight: float = 1.0, min_df: int | float = 2,
                 max_df: int | float = 1.0, sublinear_tf: bool = True,
                 char_ngrams: tuple[int, int] | None = None, char_weight: float = 0.5,
                 boilerplate_min_docs: int | None = 5, min_line_chars: int = 20,
                 site_run_words: int | None = 8, site_run_min_docs: int = 3,
                 site_run_share: float = 0.01, lead_blend: float = 0.3,
                 lead_blend_chars: int = 400,
                 phrase_docs: tuple[int, int] | None = (phrases.LEAST_DOCS, phrases.MOST_DOCS),
                 ) -> None:
        self.analyzer = analyzer
        self.title_weight = title_weight
        self.lead_chars = lead_chars
        self.lead_weight = lead_weight
        self.min_df = min_df
        self.max_df = max_df
        self.sublinear_tf = sublinear_tf
        self.char_ngrams = char_ngrams
        self.char_weight = char_weight
        self.boilerplate_min_docs = boilerplate_min_docs
        self.min_line_chars = min_line_chars
        self.site_run_words = site_run_words
        self.site_run_min_docs = site_run_min_docs
        self.site_run_share = site_run_share
        self.lead_blend = lead_blend
        self.lead_blend_chars = lead_blend_chars
        self.phrase_docs = phrase_docs

    # -- fitting ----------------------------------------------------------------------------

    def _learn_boilerplate(self, bodies: Sequence[str], sites: Sequence[str | None]) -> None:
        self.boilerplate_ = (frozenset() if self.boilerplate_min_docs is None else
                             learn_lines(bodies, self.boilerplate_min_docs, self.min_line_chars))
        self.site_runs_, self.run_sites_ = (
            (np.empty(0, dtype=np.uint64), frozenset()) if self.site_run_words is None else
            learn_site_runs(bodies, sites, self.site_run_words, self.site_run_min_docs,
                            self.site_run_share, self.boilerplate_))

    def _cleaner(self) -> BodyCleaner:
        return BodyCleaner(self.boilerplate_, self.site_runs_, self.site_run_words,
                           self.run_sites_)

    def clean_bodies(self, articles: Iterable[ArticleLike]) -> tuple[list[str], list[str]]:
        """Titles and bodies as vectorized: markup stripped, learned boilerplate (lines
        and site word runs) removed."""
        _check_fitted(self, "boilerplate_")
        articles = list(articles)
        titles, bodies = article_fields(articles)
        return titles, self._cleaner().clean_all(bodies, [site_of(a) for a in articles])

    def _weighted(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """``self.tfidf_.transform(counts)`` to the last bit (no norm), without
        scikit-learn's input checks (see :func:`unit_rows`)."""
        X = counts.copy()
        self._tfidf(X.data, X.indices)
        return X

    def _tfidf(self, values: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Counts (none zero) to TF-IDF weights in place: :meth:`_weighted` on arrays."""
        if self.tfidf_.sublinear_tf:
            np.log(values, values)
            values += 1.0
        values *= self.tfidf_.idf_[columns]
        return values

    def _blend(self, rows: sp.csr_matrix, lead_rows: sp.csr_matrix | None) -> sp.csr_matrix:
        if lead_rows is None:
            return rows
        rows, lead_rows = unit_rows(rows), unit_rows(lead_rows)
        rows.data *= 1 - self.lead_blend
        lead_rows.data *= self.lead_blend
        return rows + lead_rows

    def fit(self, articles: Iterable[ArticleLike], y: object = None) -> ArticleVectorizer:
        self.fit_transform(articles)
        return self

    def fit_transform(self, articles: Iterable[ArticleLike], y: object = None) -> sp.csr_matrix:
        return self.fit_transform_lead(articles)[0]

    def fit_transform_lead(self, articles: Iterable[ArticleLike], body_chars: int | None = None,
                           ) -> tuple[sp.csr_matrix, sp.csr_matrix | None]:
        """Fit, and return the rows of the articles and, with ``body_chars``, also the
        rows of their lead views (title and the first ``body_chars`` body characters,
        cut at a word boundary: see :func:`lead_of`) from the same pass over the text.

        The lead rows equal ``transform`` of the lead views; computing both at once
        spares a second pass over the archive when the topic classifier needs leads.
        """
        articles = list(articles)
        titles, bodies = article_fields(articles)
        if not bodies:
            raise ValueError("cannot fit a vectorizer on no articles")
        sites = [site_of(a) for a in articles]
        analyzer = self.analyzer if self.analyzer is not None else ArabicAnalyzer()
        # Small archives (tests, a first day's feed) cannot meet a min_df meant for
        # thousands of articles; never let it empty the vocabulary.
        min_df = self.min_df if len(bodies) >= 50 else 1
        self.words_ = TermCounter(analyzer, min_df=min_df, max_df=self.max_df,
                                  phrase_docs=self.phrase_docs)
        # Bodies are cleaned and cut where they are counted; the heads are each title
        # with the first body_chars (topic features) and lead_blend_chars (blend).
        levels = sorted({c for c in (body_chars, self.lead_blend_chars if self.lead_blend else None)
                         if c is not None})
        with self.words_.processes(len(bodies)) as processes:  # they load while we learn
            self._learn_boilerplate(bodies, sites)
            heads, counts = self.words_.fit_transform_split(
                list(zip(titles, bodies, sites)), first_weight=self.title_weight,
                prepare=CountedArticle(self._cleaner(), tuple(levels)), n_cuts=len(levels),
                processes=processes)
        head_of = dict(zip(levels, heads))
        del heads
        leads: list[str] = []
        if self.lead_chars or self.char_ngrams:  # options that need the cleaned text here
            titles, bodies = self.clean_bodies(articles)
            leads = [b[: self.lead_chars] for b in bodies] if self.lead_chars else []
        # Titles were weighted where they were counted; only a lead boost is left to add.
        extra = self._boost(leads, self.lead_weight)
        counts = _plus(counts, extra)
        self.tfidf_ = TfidfTransformer(sublinear_tf=self.sublinear_tf, norm=None).fit(counts)
        whole = self._weighted(counts)
        del counts
        blend = self._weighted(head_of[self.lead_blend_chars]) if self.lead_blend else None
        lead_counts = head_of.get(body_chars)
        del head_of
        blocks = [self._blend(whole, blend)]
        del whole
        lead_blocks = ([self._blend(self._weighted(_plus(lead_counts, extra)), blend)]
                       if lead_counts is not None else None)
        del blend, lead_counts
        if self.char_ngrams:
            self.chars_ = CountVectorizer(analyzer="char_wb", ngram_range=tuple(self.char_ngrams),
                                          preprocessor=_char_text, min_df=min_df,
                                          max_df=self.max_df, dtype=np.float32)
            self.char_tfidf_ = TfidfTransformer(sublinear_tf=True, norm=None)
            blocks.append(self._char_block(titles, bodies, fit=True))
            if lead_blocks is not None:
                lead_bodies = [lead_of(b, body_chars) for b in bodies]
                lead_blocks.append(self._char_block(titles, lead_bodies, fit=False))
        self.display_terms_ = self.words_.display_terms_
        return self._combine(blocks), (self._combine(lead_blocks) if lead_blocks else None)

    def _boost(self, texts: list[str], weight: float) -> sp.csr_matrix | None:
        """The counts of ``texts`` (titles, leads) ``weight - 1`` more times, to add to
        the articles' counts (``None``: no boost)."""
        if not texts or weight == 1:
            return None
        return (weight - 1) * self.words_.transform(texts)

    def _char_block(self, titles: list[str], bodies: list[str], *, fit: bool) -> sp.csr_matrix:
        texts = [t + "\n" + b for t, b in zip(titles, bodies)]
        if fit:
            counts = self.chars_.fit_transform(texts)
            block = self.char_tfidf_.fit_transform(counts)
        else:
            block = self.char_tfidf_.transform(self.chars_.transform(texts))
        block = unit_rows(block)
        block.data *= self.char_weight
        return block

    def _combine(self, blocks: list[sp.csr_matrix]) -> sp.csr_matrix:
        if len(blocks) == 1:
            matrix = blocks[0]
        else:
            blocks[0] = unit_rows(blocks[0])
            matrix = sp.hstack(blocks, format="csr")
        return unit_rows(matrix.astype(np.float32, copy=False).tocsr(), copy=False)

    # -- use --------------------------------------------------------------------------------

    def warm(self) -> ArticleVectorizer:
        """Get ready to vectorize new articles at full speed (see :meth:`TermCounter.warm`),
        one at a time with compiled kernels (its row: :func:`recsys.kernels.article_row`;
        its signature and phrase row: :func:`_one_text_marks`), which import numba: for
        servers, which load it for their queries anyway; returns ``self``."""
        _check_fitted(self, "words_")
        self.words_.warm()
        self._compile_row()
        phrase_row = None
        table = self.words_.selected_phrases()[0]
        if table is not None:
            from . import kernels

            # 0.1 s and 32 MB at 60k articles (880,000 phrases), as the words' table.
            keys, values = kernels.word_table(table.keys, np.arange(len(table.keys)))
            shift = 64 - int(len(keys)).bit_length() + 1
            phrase_row = functools.partial(kernels.phrase_row, keys=keys, values=values,
                                           shift=shift, idf=table.idf, logs=phrases.LOGS)
        self._one_text = functools.partial(_one_text_marks, phrase_row=phrase_row)
        return self

    def _compile_row(self) -> None:
        """The row kernel and its arguments that depend only on the settings, made once."""
        from . import kernels

        boosts = self._boosts()
        self._compiled_row = (
            kernels.article_row, np.array([w for w, _, _ in boosts], dtype=np.float32),
            np.array([in_lead for _, in_lead, _ in boosts], dtype=bool),
            # Counts are whole numbers: NumPy's own logarithms of the first 1,024 stand in
            # for it (numba's differ from NumPy's in the last bit for 25 of them).
            (np.log(np.arange(1, 1025, dtype=np.float32)) if self.tfidf_.sublinear_tf
             else np.empty(0, dtype=np.float32)),
            np.array([1 - self.lead_blend, self.lead_blend] if self.lead_blend else [],
                     dtype=np.float32))

    def set_params(self, **params: Any) -> ArticleVectorizer:
        super().set_params(**params)
        if getattr(self, "_compiled_row", None) is not None:
            self._compile_row()  # it holds the boosts and the blend of the old settings
        return self

    def __getstate__(self) -> dict:
        # A loaded bundle compiles nothing until warmed: a one-off command never waits
        # for numba.
        state = dict(super().__getstate__())  # a copy, as TermCounter's
        state.pop("_compiled_row", None)
        state.pop("_one_text", None)
        return state

    def signatures(self, articles: Iterable[ArticleLike]) -> tuple[np.ndarray, np.ndarray]:
        """The articles' text signatures (:mod:`recsys.copies`) of their cleaned title
        and body, as fitting makes them for the archive."""
        return _marks_of(*self.clean_bodies(articles), None)[0]

    def transform_signed(self, articles: Iterable[ArticleLike],
                         ) -> tuple[sp.csr_matrix, tuple[np.ndarray, np.ndarray]]:
        """:meth:`transform` and :meth:`signatures` from one cleaning of the text (a new
        article's related list needs both)."""
        return self.transform_marked(articles)[:2]

    def transform_marked(self, articles: Iterable[ArticleLike],
                         ) -> tuple[sp.csr_matrix, tuple[np.ndarray, np.ndarray],
                                    phrases.PhraseRows | None]:
        """:meth:`transform_signed` and the articles' phrase rows (:mod:`recsys.phrases`;
        ``None`` if the fit found no phrases), from one cleaning of the text."""
        _check_fitted(self, "tfidf_")
        titles, bodies = self.clean_bodies(articles)
        return (self._rows_of(titles, bodies),
                *_marks_of(titles, bodies, self.words_.selected_phrases()[0],
                           getattr(self, "_one_text", None)))

    def fitted_signatures(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The signatures of the articles of the last fit, made while counting them;
        ``None`` for an analyzer that finds words its own way. Not saved with the
        vectorizer: the related index keeps them."""
        return getattr(self.words_, "signatures_", None)

    def fitted_phrases(self) -> phrases.PhraseRows | None:
        """The phrase rows of the articles of the last fit (:mod:`recsys.phrases`),
        made while counting them; ``None`` without phrases. Not saved with the
        vectorizer: the related index keeps them."""
        return self.words_.selected_phrases()[1]

    def transform(self, articles: Iterable[ArticleLike]) -> sp.csr_matrix:
        """Vectorize articles with the fitted vocabulary; rows are L2-normalised."""
        _check_fitted(self, "tfidf_")
        return self._rows_of(*self.clean_bodies(articles))

    def _rows_of(self, titles: list[str], bodies: list[str]) -> sp.csr_matrix:
        """:meth:`transform` of cleaned titles and bodies."""
        if not self.char_ngrams:
            return self._word_rows(titles, bodies, combined=True)
        blocks = [self._word_rows(titles, bodies), self._char_block(titles, bodies, fit=False)]
        return self._combine(blocks)

    def _word_rows(self, titles: list[str], bodies: list[str], combined: bool = False,
                   ) -> sp.csr_matrix:
        """The word block of articles' rows (before :meth:`_combine`, or after it if
        ``combined``: the rows when there is no other block): the arithmetic
        that :meth:`fit_transform_lead` does with sparse matrices, in the same order and
        so to the same bits, done on flat arrays of (article, term) entries. For one
        new article, building and adding sparse matrices cost three times the counting.

        Like fitting, it counts each article in pieces: title and lead (up to the
        blend's cut), the rest of the body, then the texts of the title and lead boosts,
        each summed per term before it is weighted."""
        boosts = self._boosts()
        texts = []
        for title, body in zip(titles, bodies):
            cut = lead_end(body, self.lead_blend_chars) if self.lead_blend else len(body)
            texts += [f"{title}\n{body[:cut]}", body[cut:],
                      *(text(title, body) for *_, text in boosts)]
        text_of, cols, counts = self.words_.entries(texts)
        compiled = getattr(self, "_compiled_row", None)
        if combined and len(titles) == 1 and compiled is not None:
            kernel, *settings = compiled
            done, columns, values = kernel(cols, counts, text_of, self.tfidf_.idf_, *settings)
            if done:
                return sp.csr_matrix((values, columns, np.array([0, len(values)], dtype=np.int32)),
                                     shape=(1, self.n_word_features))
        known = cols >= 0
        width, n_pieces = self.n_word_features, 2 + len(boosts)
        keys, _, where = distinct_hashes((text_of // n_pieces * width + cols)[known])
        piece, counts = (text_of % n_pieces)[known], counts[known]
        rows, columns = keys // width, keys % width
        # Each (article, term)'s count in each piece: whole counts, so exact in any order.
        sums = np.bincount(where * n_pieces + piece, weights=counts,
                           minlength=len(keys) * n_pieces).reshape(-1, n_pieces)
        whole, lead = (sums[:, 0] + sums[:, 1]).astype(np.float32), sums[:, 0].astype(np.float32)
        for j, (weight, in_lead, _) in enumerate(boosts, start=2):
            extra = sums[:, j].astype(np.float32) * weight  # float32, as fitting weighs a boost
            whole += extra
            if in_lead:
                lead += extra
        whole = self._tfidf_of_counts(whole, columns)
        if self.lead_blend:
            whole = (_to_unit(whole, rows, len(titles)) * (1 - self.lead_blend)
                     + _to_unit(self._tfidf_of_counts(lead, columns), rows, len(titles))
                     * self.lead_blend)
        stored = whole != 0  # as sparse sums store no zeros
        values, rows = whole[stored], rows[stored]
        if combined:  # the one matrix built, checked and normalised once (a tenth of a query)
            _to_unit(values, rows, len(titles))
        indptr = np.zeros(len(titles) + 1, dtype=np.int32)
        np.cumsum(np.bincount(rows, minlength=len(titles)), out=indptr[1:])
        # int32 indices, as scipy would pick: given int64 it checks them and converts.
        return sp.csr_matrix((values, columns[stored].astype(np.int32), indptr),
                             shape=(len(titles), width))

    def _boosts(self) -> list[tuple[float, bool, Callable[[str, str], str]]]:
        """Each boost of :meth:`_word_rows`: its weight, whether the blend's lead row has
        it too, and its text of an article (title, body)."""
        boosts = [(self.title_weight - 1, True, lambda t, b: t)] if self.title_weight != 1 else []
        if self.lead_chars and self.lead_weight != 1:
            boosts.append((self.lead_weight - 1, False, lambda t, b: b[: self.lead_chars]))
        return boosts

    def _tfidf_of_counts(self, counts: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """:meth:`_tfidf` of the nonzero ``counts`` (zeros stay zero), in place."""
        known = counts != 0
        counts[known] = self._tfidf(counts[known], columns[known])
        return counts

    def written_forms(self, text: str) -> dict[int, str]:
        """The word columns of ``text``'s terms, each with the word ``text`` writes it as
        most often (the most readable among equals, as :attr:`display_terms_` picks):
        explanations in the article's own words. :attr:`display_terms_` holds one
        spelling per term for the whole archive, and light stemming joins words an editor
        would not (مكان "place", مكة "Mecca" and مكون "component" are all the term مك)."""
        _check_fitted(self, "words_")
        analyzer, vocabulary = self.words_.analyzer, self.words_.vocabulary_
        counts = Counter(analyzer.raw_words(text))
        best: dict[int, tuple] = {}
        for word, terms in zip(counts, analyzer.terms_of(list(counts))):
            if len(terms) != 1:  # stop words, glued words
                continue
            column, key = vocabulary.get(terms[0], -1), (-counts[word], *display_key(word))
            if column >= 0 and (column not in best or key < best[column]):
                best[column] = key
        return {column: clean(_without_proclitic(key[-1], self.words_.terms_[column], analyzer))
                for column, key in best.items()}

    @property
    def n_word_features(self) -> int:
        """How many leading columns are word terms (the rest are character n-grams)."""
        _check_fitted(self, "words_")
        return len(self.words_.vocabulary_)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        _check_fitted(self, "words_")
        names = self.words_.get_feature_names_out()
        if self.char_ngrams:
            names = np.concatenate([names, "char:" + self.chars_.get_feature_names_out()])
        return names


_PROCLITICS = "وفبلك"  # and, so, with, for, like: one letter glued to the next word


def _without_proclitic(word: str, term: str, analyzer: ArabicAnalyzer) -> str:
    """``word`` without a leading one-letter conjunction or preposition, when the rest is
    still a word of ``term`` ("ونزوح" → "نزوح"; "بغداد" stays, "غداد" being another term)."""
    rest = word[1:]
    if word[:1] in _PROCLITICS and len(rest) >= 3 and analyzer.terms(rest) == (term,):
        return rest
    return word


def _char_text(text: str) -> str:
    return normalize_letters(clean(text))
