"""The related-articles index: cosine top-k over L2-normalised TF-IDF rows, made fit to
publish (no self, no reposted copies, recency, floors, diversity, editors' pins).

A query runs in two steps:

1. *candidates*: the ``pool`` archive rows of highest cosine with the query over its
   less common terms, accumulated from the term-major postings;
2. *finishing*: the candidates are re-scored exactly on every term, then filtered,
   de-duplicated, decayed by age, floored, optionally diversified (MMR), pinned and cut
   to ``k``.

The loops of both steps are compiled (:mod:`recsys.kernels`), except in a process that
asks a single question, which uses their NumPy twins (:mod:`recsys.scoring`) rather than
wait a second for the compiler. A query with no editors' rules, date filter or MMR runs
both steps in one compiled call; a batch runs that same call for every row, a share of
rows per thread, so batch and single calls agree.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from typing import Any, NamedTuple

from typing import TYPE_CHECKING

import numpy as np

from . import scoring
from .copies import SIGNATURE_SIZE
from .phrases import PhraseRows
from .corpus import TOPICS
from .errors import NotFittedError, UnknownArticleError

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["Related", "RelatedIndex", "RelatedSettings", "NO_DATE"]

NO_DATE = scoring.NO_DATE
"""Day number stored for articles without a date."""

_EPOCH = dt.date(1970, 1, 1)
_MIN_COMMON_DF = 500  # a term in fewer articles is never skipped: small archives stay exact


def day_number(date: dt.date | None) -> int:
    """Days since 1970-01-01, or :data:`NO_DATE`."""
    return NO_DATE if date is None else (date - _EPOCH).days


class Related(NamedTuple):
    """A related-articles list: archive ids, best first, and their scores."""

    ids: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True)
class RelatedSettings:
    """How a related list is finished. Every field can be overridden per query.

    Attributes
    ----------
    k : int
        Longest list returned.
    duplicate_threshold : float or None
        Candidates whose cosine with the query reaches this are copies of it (reposts,
        corrected versions) and are dropped; of candidates this close to each other only
        the best is kept. ``None`` disables collapsing.
    copy_overlap : float or None
        Where the index keeps the articles' text signatures (:mod:`recsys.copies`), a
        pair that close is a copy only if it also shares its text: at least this share
        of the shorter one's five-word runs. The same words at a cosine of 0.8 are often
        another outlet's write-up of the story, which readers want: on the real gold
        sets this lifted graded nDCG@10 and the claim groups (see
        ``training/copy_trials.py``), while the default corpus's reposts (estimated
        overlap 0.65-0.94) stay hidden. ``None``: the cosine alone decides.
    half_life_days : float or None
        Scores are multiplied by ``0.5 ** (age / half_life_days)``, age being the
        distance in days from the query's date (see ``undated_weight`` for undated ones).
        Ages count from the freshest candidate (same order, readable scores). ``None``
        turns recency off. 180 days lifted graded nDCG@10 on real news by 0.015 (90 to
        365 days all helped; 30 days hurt) and left claim groups unchanged.
    undated_weight : float
        With recency on and a dated query, an undated candidate's score is multiplied by
        this once any candidate is dated: its age is unknown, and taking it as fresh as
        the freshest (weight 1) put scraped, undated pages above dated news. On the
        graded judgments 0.85 lifted nDCG@10 by 0.010 (10-item lists: 0.008); lower
        weights lift it more (0.75: 0.015) but sink the undated fact-check pages that
        answer the dated ones among the claim queries, and the distractor drop passes
        0.03. See ``training/RESULTS.md``.
    max_age_days : float or None
        Candidates further than this from the query's date are dropped (undated kept).
    before_only : bool
        Only articles published on or before the query's date (archive pages).
    min_score : float
        Candidates whose cosine with the query is under this are not shown: fewer
        results rather than weak ones. The floor is on similarity, before the recency
        decay, so an old article that is close enough stays, with a lower shown score.
    min_count : int
        If fewer than this many candidates survive, return none.
    mmr_lambda : float or None
        Maximal marginal relevance re-ranking: ``lambda * score - (1 - lambda) *
        max similarity to those already chosen``. ``None`` disables it.
    phrase_weight : float
        Where the index keeps the articles' rare phrases (:mod:`recsys.phrases`), each
        candidate's similarity gains, before recency, this times the cosine of its
        phrase row with the query's: phrases that only a few articles share mark one
        story. 0.8 lifted nDCG@10 on the real claim groups from 0.484 to 0.501 (with
        the 57k distractors, 0.455 to 0.478) and kept graded nDCG@10 (0.857); 0.5 gave
        0.496, 0.474 and 0.859. ``0`` turns it off.
    pool : int
        How many top raw candidates are finished (at least ``3 * k`` are used). They
        are chosen by raw cosine, so with recency on, an article that the decay would
        lift into the top k from below the pool is missed. On 60k real articles, against
        a 300-deep pool, 50 gave the same top-10 in 84% of 2,000 lists (96.7% of items
        shared), 100 in 93% (99.0%) for 15-20% more query time; 10-item lists scored
        within noise of each other on the gold sets (graded nDCG@10 0.751 at 50, 0.757 at
        100 and 300; claim groups equal). Without recency, 50 gave the exact top-10 in
        99.97% of lists. Raise it where exactness matters more than speed. A new text
        whose strongest matches are much older than itself is the case it fits least:
        400 real articles asked as new texts dated a month after the archive's last
        article (most of their close matches years older) shared 52% of their top-10
        with a 3,000-deep pool's (100: 67%), at their own dates 96%; there the decay
        ranks recent, weaker matches above the old, close ones that the raw pool holds.
    theme_weight : float
        For a query with no close match in the archive (its best cosine under
        ``theme_below``), each candidate's cosine becomes ``(1 - theme_weight) * cosine +
        theme_weight * theme similarity``, the cosine of the two articles' themes (100
        LSA dimensions of their words; an index fitted with ``themes``, as
        :meth:`NewsModel.train <recsys.NewsModel.train>` fits it). Where no article tells
        the same story, what the articles are about ranks the list better than the few
        words they happen to share. 0 turns it off. On the graded judgments of real news
        (60,502 articles) 0.15 lifted nDCG@10 from 0.840 to 0.850, and on the 10-item
        lists readers see from 0.758 to 0.782 (P@5 unchanged); the claim groups moved by
        under 0.001. About a quarter of real articles have no close match; their queries
        finish a wider pool (``theme_pool``): by id at 60k articles, p50 0.31 → 0.39 ms
        and mean 0.37 → 0.48 ms against themes off. See ``training/READING.md``.
    theme_below : float
        The best cosine under which a query has no close match (see ``theme_weight``).
        Mixing themes into every list lifted the graded judgments as much but cost the
        claim groups with 57k distractor articles: for a query with close matches, the
        topical neighbours that themes promote are distractors.
    theme_pool : int
        How many raw candidates a query with no close match finishes (instead of
        ``pool``): the articles its themes lift often sit below the usual pool. It is
        taken from the same pass over the postings as the usual pool (gathering again had
        made the mean query by id 0.55 ms instead of 0.48).
    """

    k: int = 10
    duplicate_threshold: float | None = 0.8
    copy_overlap: float | None = 0.6
    half_life_days: float | None = 180.0
    undated_weight: float = 0.85
    max_age_days: float | None = None
    before_only: bool = False
    min_score: float = 0.0
    min_count: int = 1
    mmr_lambda: float | None = None
    phrase_weight: float = 0.8
    pool: int = 50
    theme_weight: float = 0.15
    theme_below: float = 0.3
    theme_pool: int = 300

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be at least 1, got {self.k}")
        if self.duplicate_threshold is not None and not 0 < self.duplicate_threshold <= 1:
            raise ValueError("duplicate_threshold must be in (0, 1]")
        for name in ("half_life_days", "max_age_days"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if not 0 < self.undated_weight <= 1:
            raise ValueError(f"undated_weight must be in (0, 1], got {self.undated_weight}")
        if self.mmr_lambda is not None and not 0 <= self.mmr_lambda <= 1:
            raise ValueError("mmr_lambda must be in [0, 1]")
        if self.phrase_weight < 0:
            raise ValueError(f"phrase_weight must be at least 0, got {self.phrase_weight}")
        if self.theme_pool < 1:
            raise ValueError(f"theme_pool must be at least 1, got {self.theme_pool}")
        if self.copy_overlap is not None and not 0 < self.copy_overlap <= 1:
            raise ValueError(f"copy_overlap must be in (0, 1], got {self.copy_overlap}")
        for name in ("theme_weight", "theme_below"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")

    def updated(self, **overrides: Any) -> RelatedSettings:
        """A copy with the overrides applied (unknown names raise; ``None`` disables an
        optional setting)."""
        names = {f.name for f in fields(self)}
        unknown = set(overrides) - names
        if unknown:
            raise TypeError(f"unknown related-list setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **overrides) if overrides else self


_DEFAULT_SETTINGS = RelatedSettings()


@functools.lru_cache(maxsize=256)
def _updated(settings: RelatedSettings, overrides: tuple[tuple[str, Any], ...]) -> RelatedSettings:
    """``settings.updated(**overrides)``, remembered: a page render asks the same few."""
    return settings.updated(**dict(overrides))


@dataclass(frozen=True)
class EditorRules:
    """Editors' per-query control: pinned ids first, excluded ids and topics."""

    pin_ids: tuple[str, ...] = ()
    exclude_ids: frozenset[str] = frozenset()
    exclude_topics: frozenset[str] = frozenset()
    require_topics: frozenset[str] = frozenset()


_NO_RULES = EditorRules()
_NO_THEME = np.zeros(0, dtype=np.float64)
_NO_DECAY = np.empty(0, dtype=np.float64)


class RelatedIndex:
    """Cosine nearest neighbours of news articles, finished for readers.

    Parameters
    ----------
    settings : RelatedSettings or None
        Defaults for every query; ``None`` means ``RelatedSettings()``.
    n_threads : int or None
        Threads for batch queries; ``None`` uses every core.
    candidate_max_df : float or None
        Terms found in more than this share of the archive (and in over 500 articles)
        are skipped while gathering candidates; candidates are then scored exactly
        on every term. Common terms hold most postings but decide little: on 60k real
        articles 0.1 left graded and claim-group nDCG unchanged and 99% of top-10
        lists identical, at a fraction of the work. ``None`` gathers on all terms.
        0.05 touches 58% fewer postings (by new text, p50 0.90 → 0.76 ms) but changed
        11% of top-10 lists, and since themes it costs graded nDCG@10 0.007 (0.850 →
        0.843, the claim groups unchanged): not the default.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> X = sp.csr_matrix(np.array([[1, 0, 0], [0.6, 0.8, 0], [0, 0.6, 0.8]], dtype=np.float32))
    >>> index = RelatedIndex().fit(X, ["a", "b", "c"])
    >>> index.similar("a", k=2).ids.tolist()
    ['b']
    """

    def __init__(self, settings: RelatedSettings | None = None, *, n_threads: int | None = None,
                 candidate_max_df: float | None = 0.1) -> None:
        self.settings = settings
        self.n_threads = n_threads
        self.candidate_max_df = candidate_max_df

    # -- building ------------------------------------------------------------------------

    def fit(self, X: sp.spmatrix, ids: Sequence[str], *, dates: Sequence[dt.date | None] | None = None,
            topics: Sequence[str | None] | None = None,
            themes: np.ndarray | None = None,
            signatures: tuple[np.ndarray, np.ndarray] | None = None,
            phrases: PhraseRows | None = None) -> RelatedIndex:
        """Index L2-normalised rows ``X`` under ``ids``, with optional dates, topics,
        themes (one dense row per article, such as
        :meth:`TopicFeatures.themes <recsys.TopicFeatures.themes>` gives; kept in 8 bits:
        see ``theme_weight`` in :class:`RelatedSettings`), text signatures
        (:meth:`ArticleVectorizer.signatures <recsys.ArticleVectorizer.signatures>`; see
        ``copy_overlap``) and phrase rows (:meth:`ArticleVectorizer.fitted_phrases
        <recsys.ArticleVectorizer.fitted_phrases>`; see ``phrase_weight``)."""
        X, self.ids_, self.days_, self.topics_ = _indexed_fields(X, ids, dates, topics)
        self._rows, self.shape_ = _arrays(X, half=True), X.shape
        self.themes_, self.theme_scales_ = (None, None) if themes is None else \
            _quantized_themes(themes, X.shape[0])
        self.signatures_ = None if signatures is None else _checked_signatures(signatures,
                                                                               X.shape[0])
        self.phrases_ = None if phrases is None else _checked_phrases(phrases, X.shape[0])
        self.theme_projection_ = None
        self._reindex()
        return self

    def _reindex(self, defer_postings: bool = False) -> None:
        self.row_of_ = _row_of(self.ids_)
        df = np.bincount(self._rows[1], minlength=self.shape_[1])
        limit = max(self.candidate_max_df * len(self.ids_), _MIN_COMMON_DF) \
            if self.candidate_max_df is not None else np.inf
        self.common_terms_ = df > limit
        dated = self.days_[self.days_ != NO_DATE]
        # Ages count from the freshest candidate, so none exceeds the archive's span.
        self._day_span = int(dated.max()) - int(dated.min()) + 1 if len(dated) else 1
        self._decay_tables: dict[tuple[float, float], np.ndarray] = {}
        self._matrix = None
        self._postings: tuple[np.ndarray, ...] | None = None
        self._asked_once = False
        self._postings_lock = threading.Lock()
        self._scratch = threading.local()
        if not defer_postings:
            self._build_postings()

    def _build_postings(self) -> tuple[np.ndarray, ...]:
        """The term-major postings, built once; from then on queries run compiled."""
        with self._postings_lock:
            if self._postings is None:
                self._postings = _arrays(self.matrix_.tocsc())
        return self._postings

    @property
    def _ops(self) -> Any:
        """The scoring steps: compiled once the postings are built, NumPy before."""
        return scoring if self._postings is None else _compiled_kernels()

    @property
    def matrix_(self) -> sp.csr_matrix:
        """The archive's TF-IDF rows (L2-normalised), row ``i`` for ``ids_[i]``. Built on
        first use from the index arrays: answering by id needs no SciPy (0.3 s to import)."""
        self._check_fitted()
        if self._matrix is None:
            indptr, indices, data = self._rows
            self._matrix = _sparse().csr_matrix((data, indices, indptr), shape=self.shape_)
        return self._matrix

    @property
    def postings_(self) -> sp.csc_matrix:
        """The archive matrix term-major: column ``t`` lists the articles holding term ``t``."""
        self._check_fitted()
        indptr, indices, data = self._build_postings()
        return _sparse().csc_matrix((data, indices, indptr), shape=self.shape_)

    def warm(self) -> RelatedIndex:
        """Build the postings and load (or compile) the kernels now, those of single
        queries and of batches, so that neither a server's first request nor a batch's
        first chunk waits for them."""
        self._check_fitted()
        self._build_postings()
        if len(self.ids_):
            settings = self._settings(None, {})
            self._query_row(0, settings, None)
            self._plain_lists(np.zeros(1, dtype=np.int64), settings)
        return self

    def _gathering_postings(self, terms: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        """Postings to gather candidates from, and the query's terms as numbered in them.

        An index loaded with deferred postings (the command line, asking one question)
        answers its first query from the postings of the query's terms alone, found in one
        pass over the archive, with the NumPy scoring steps; a second query builds the
        full postings and loads the compiled kernels. Both give the same arrays for those
        terms, so the same candidates.
        """
        if self._postings is None and not self._asked_once:
            self._asked_once = True
            found = scoring.column_postings(*self._rows, terms, self.shape_[1])
            return found, np.arange(len(terms), dtype=np.int32)
        return self._build_postings(), terms

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in ("_scratch", "_postings_lock"):  # per process, not shipped
            state.pop(name, None)
        state["_matrix"] = None  # a view of _rows, rebuilt on use
        state["theme_projection_"] = None  # the model's LSA (40 MB at 60k): the model sets it
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "_rows" in state:
            self._scratch = threading.local()
            self._postings_lock = threading.Lock()

    def _buffers(self) -> threading.local:
        """This thread's zeroed scratch for the kernels, sized to the index."""
        buffers = self._scratch
        shape = self.shape_
        if getattr(buffers, "shape", None) != shape:
            buffers.scores = np.zeros(shape[0], dtype=np.float32)
            buffers.dense = np.zeros(shape[1], dtype=np.float64)
            buffers.shape = shape
        return buffers

    def add(self, X: sp.spmatrix, ids: Sequence[str], *, dates: Sequence[dt.date | None] | None = None,
            topics: Sequence[str | None] | None = None,
            themes: np.ndarray | None = None,
            signatures: tuple[np.ndarray, np.ndarray] | None = None,
            phrases: PhraseRows | None = None) -> RelatedIndex:
        """Append articles vectorized with the same vocabulary; ids must be new. An index
        with themes, signatures or phrases needs theirs."""
        self._check_fitted()
        if (themes is None) != (self.themes_ is None):
            raise ValueError("this index keeps articles' themes: give theirs" if themes is None
                             else "this index keeps no themes; add the articles without")
        if (signatures is None) != (self.signatures_ is None):
            raise ValueError("this index keeps articles' signatures: give theirs"
                             if signatures is None
                             else "this index keeps no signatures; add the articles without")
        if (phrases is None) != (self.phrases_ is None):
            raise ValueError("this index keeps articles' phrases: give theirs" if phrases is None
                             else "this index keeps no phrases; add the articles without")
        clash = [i for i in ids if i in self.row_of_]
        if clash:
            raise ValueError(f"article id(s) already in the archive: {', '.join(map(str, clash[:5]))}")
        X, new_ids, days, topic_codes = _indexed_fields(X, ids, dates, topics)
        _row_of(new_ids)  # duplicates among the new ids: refused before anything changes
        if themes is not None:
            new_themes, new_scales = _quantized_themes(themes, X.shape[0], self.themes_.shape[1])
            self.themes_ = np.concatenate([self.themes_, new_themes])
            self.theme_scales_ = np.concatenate([self.theme_scales_, new_scales])
        if signatures is not None:
            values, counts = _checked_signatures(signatures, X.shape[0])
            self.signatures_ = (np.concatenate([self.signatures_[0], values]),
                                np.concatenate([self.signatures_[1], counts]))
        if phrases is not None:
            self.phrases_ = self.phrases_.stacked(_checked_phrases(phrases, X.shape[0]))
        matrix = _sparse().vstack([self.matrix_, X], format="csr")
        self._rows, self.shape_ = _arrays(matrix, half=True), matrix.shape
        self.ids_ = np.concatenate([self.ids_, new_ids])
        self.days_ = np.concatenate([self.days_, days])
        self.topics_ = np.concatenate([self.topics_, topic_codes])
        self._reindex()
        return self

    def remove(self, ids: Sequence[str]) -> RelatedIndex:
        """Drop archived articles (unpublished, or about to be replaced by a corrected
        version): from now on they are neither suggested nor asked about. An unknown id
        is an error, raised before anything changes."""
        self._check_fitted()
        gone = np.array(sorted({self.row(i) for i in ids}), dtype=np.int64)
        if len(gone) == 0:
            return self
        if len(gone) == len(self.ids_):
            raise ValueError("cannot remove every article of the archive; retrain instead")
        keep = np.ones(len(self.ids_), dtype=bool)
        keep[gone] = False
        matrix = self.matrix_[keep]
        self._rows, self.shape_ = _arrays(matrix, half=True), matrix.shape
        if self.themes_ is not None:
            self.themes_, self.theme_scales_ = self.themes_[keep], self.theme_scales_[keep]
        if self.signatures_ is not None:
            self.signatures_ = (self.signatures_[0][keep], self.signatures_[1][keep])
        if self.phrases_ is not None:
            self.phrases_ = self.phrases_.kept(keep)
        self.ids_, self.days_, self.topics_ = self.ids_[keep], self.days_[keep], self.topics_[keep]
        self._reindex()
        return self

    def set_topics(self, topics: Sequence[str | None]) -> None:
        """Replace the topic of every archived article (used for topic filters)."""
        self.topics_ = _topic_codes(topics)

    def _check_fitted(self) -> None:
        if not hasattr(self, "_rows"):
            raise NotFittedError("this RelatedIndex is not fitted yet; call fit(X, ids) first")

    def __len__(self) -> int:
        return len(self.ids_) if hasattr(self, "ids_") else 0

    def row(self, article_id: str) -> int:
        """The row of an archived article."""
        self._check_fitted()
        try:
            return self.row_of_[article_id]
        except KeyError:
            raise UnknownArticleError(f"no article with id {article_id!r} in the archive") from None

    # -- querying ------------------------------------------------------------------------

    def _settings(self, k: int | None, overrides: dict[str, Any]) -> RelatedSettings:
        if k is not None:
            overrides = {**overrides, "k": k}
        settings = self.settings or _DEFAULT_SETTINGS
        try:
            return _updated(settings, tuple(sorted(overrides.items())))
        except TypeError:  # an unhashable value (a list): checked as it is, not remembered
            return settings.updated(**overrides)

    def similar(self, article_id: str, k: int | None = None, *, rules: EditorRules | None = None,
                **overrides: Any) -> Related:
        """Related articles for an archived article (never itself)."""
        row = self.row(article_id)
        return self._query_row(row, self._settings(k, overrides), rules)

    def similar_to_vector(self, vector: sp.spmatrix, k: int | None = None, *,
                          date: dt.date | None = None, rules: EditorRules | None = None,
                          theme: np.ndarray | None = None,
                          signature: tuple[np.ndarray, int] | None = None,
                          phrases: tuple[np.ndarray, np.ndarray] | None = None,
                          **overrides: Any) -> Related:
        """Related articles for a new, vectorized text dated ``date`` (default: today), of
        theme ``theme`` (as the index's themes were made; without it, projected from the
        text's terms if the index has a projection, see :meth:`set_theme_projection`, and
        only when the text has no close match) and text signature ``signature`` (values
        and count, as :meth:`ArticleVectorizer.signatures
        <recsys.ArticleVectorizer.signatures>` gives them; without it, copies of the text
        are told by the cosine alone) and phrases ``phrases`` (ids and weights, a row of
        :meth:`ArticleVectorizer.transform_marked
        <recsys.ArticleVectorizer.transform_marked>`'s phrase rows; without them, no
        phrase scores)."""
        self._check_fitted()
        if not (getattr(vector, "format", None) == "csr" and vector.dtype == np.float32):
            vector = _sparse().csr_matrix(vector, dtype=np.float32)  # 30 µs: only when needed
        if vector.shape != (1, self.shape_[1]):
            raise ValueError(f"expected one row of {self.shape_[1]} terms (a vectorized "
                             f"article), got a matrix of shape {vector.shape}")
        day = day_number(date or dt.date.today())
        settings = self._settings(k, overrides)
        query_theme = _NO_THEME
        if theme is not None and self.themes_ is not None and settings.theme_weight > 0:
            query_theme = np.asarray(theme, dtype=np.float64).ravel()
            if query_theme.shape != (self.themes_.shape[1],):
                raise ValueError(f"expected a theme of {self.themes_.shape[1]} values, "
                                 f"got shape {np.shape(theme)}")
            norm = np.sqrt(query_theme @ query_theme)
            query_theme = query_theme / norm if norm > 0 else _NO_THEME
        return self._query(vector.indices.astype(np.int32), vector.data, None, day, settings,
                           rules, query_theme, self._copy_arguments(settings, signature),
                           self._phrase_arguments(settings, phrases))

    def similar_batch(self, article_ids: Sequence[str] | None = None, k: int | None = None, *,
                      rules: EditorRules | None = None, chunk_size: int = 2000,
                      **overrides: Any) -> Iterable[tuple[str, Related]]:
        """Related lists for many archived articles (default: all), chunk by chunk.

        Yields ``(id, Related)`` in input order; each equals ``similar(id, ...)``.
        """
        self._check_fitted()
        rows = (np.arange(len(self.ids_)) if article_ids is None
                else np.array([self.row(i) for i in article_ids], dtype=np.int64))
        for start in range(0, len(rows), chunk_size):
            chunk = rows[start:start + chunk_size]
            yield from self.finish_chunk(chunk, k=k, rules=rules, **overrides)

    def finish_chunk(self, rows: np.ndarray, k: int | None = None, *,
                     rules: EditorRules | None = None, **overrides: Any) -> list[tuple[str, Related]]:
        """Related lists for a chunk of archive rows: the unit of work a scheduler ships.
        Rows are spread over ``n_threads`` threads (the kernels release the GIL)."""
        self._check_fitted()
        settings = self._settings(k, overrides)
        threads = self.n_threads or os.cpu_count() or 1
        if _plain(settings, rules):  # the common case: a share of rows per kernel call
            rows = np.asarray(rows, dtype=np.int64)
            shares = np.array_split(rows, min(len(rows), 8 * threads)) if len(rows) else []
            if threads == 1 or len(shares) < 2:
                return [pair for share in shares for pair in self._plain_lists(share, settings)]
            with ThreadPoolExecutor(threads) as pool:
                return [pair for pairs in pool.map(self._plain_lists, shares,
                                                   [settings] * len(shares)) for pair in pairs]

        def one(row: int) -> tuple[str, Related]:
            return self.ids_[row], self._query_row(int(row), settings, rules)

        if threads == 1 or len(rows) < 2 * threads:
            return [one(row) for row in rows]
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(one, rows, chunksize=max(1, len(rows) // (8 * threads))))

    def _plain_lists(self, rows: np.ndarray, settings: RelatedSettings) -> list[tuple[str, Related]]:
        """``(id, Related)`` for archive rows, as :meth:`similar` gives them when
        :func:`_plain` holds, from one kernel call."""
        postings = self._build_postings()  # first: with them, the compiled kernels answer
        found, scores, counts = self._ops.related_rows(
            *self._rows, *postings, self.common_terms_, rows,
            *self._plain_arguments(settings, self._copy_arguments(settings)),
            self._phrase_arguments(settings))
        return [(self.ids_[row], self._listed(found[q, :n], scores[q, :n], settings))
                for q, (row, n) in enumerate(zip(rows, counts))]

    def _plain_arguments(self, settings: RelatedSettings, copies: tuple) -> tuple:
        """What the plain-list kernels take after the query: the settings, the dates, the
        themes, this thread's scratch and the copy arguments."""
        pool, floor, copy_at = _cutoffs(settings)
        buffers = self._buffers()
        return (pool, floor, copy_at, self.days_, self._decay_table(settings),
                settings.k, copy_at, self._theme_arguments(settings), buffers.scores, buffers.dense,
                copies)

    def _copy_arguments(self, settings: RelatedSettings,
                        signature: tuple[np.ndarray, int] | None = None) -> tuple:
        """The copy arguments of the scoring (:func:`recsys.scoring.copy_arguments`),
        the query's signature ``signature`` (none: unknown)."""
        if self.signatures_ is None or settings.copy_overlap is None:
            return scoring.NO_COPIES
        return scoring.copy_arguments(*self.signatures_, settings.copy_overlap,
                                      *(signature if signature is not None else (None, -1)))

    def _phrase_arguments(self, settings: RelatedSettings,
                          query: tuple[np.ndarray, np.ndarray] | None = None) -> tuple:
        """The phrase arguments of the scoring (:func:`recsys.scoring.phrase_arguments`),
        the query's phrases ``query`` (ids, weights; none: none, or the row's own for
        the batch kernels, which take them from each row)."""
        if self.phrases_ is None or settings.phrase_weight == 0:
            return scoring.NO_PHRASES
        return scoring.phrase_arguments(*self.phrases_, settings.phrase_weight,
                                        *(query if query is not None else (None, None)))

    def set_theme_projection(self, projection: np.ndarray | None) -> None:
        """How a new text gets its theme: a (terms × theme dimensions) array, the
        transpose of the LSA components the themes were made with (``None``: new texts
        get none unless given). Not saved with the index: the model holds the LSA and sets
        it. The array is used as it is, not copied."""
        if projection is not None:
            projection = np.asarray(projection, dtype=np.float32)
            if self.themes_ is None or projection.shape != (self.shape_[1], self.themes_.shape[1]):
                raise ValueError(f"expected a projection of shape ({self.shape_[1]}, "
                                 f"{None if self.themes_ is None else self.themes_.shape[1]}), "
                                 f"got {projection.shape}")
            projection = np.ascontiguousarray(projection)
        self.theme_projection_ = projection

    def _theme_arguments(self, settings: RelatedSettings) -> tuple:
        """``(themes, scales, weight, below, pool, projection)`` for the scoring steps
        (see :func:`recsys.scoring.ranked` and :func:`recsys.scoring.related_query`)."""
        if self.themes_ is None or settings.theme_weight == 0:
            return scoring.NO_THEMES
        projection = self.theme_projection_
        return (self.themes_, self.theme_scales_, float(settings.theme_weight),
                float(settings.theme_below), int(settings.theme_pool),
                scoring.NO_THEMES[5] if projection is None else projection)

    def _row_theme(self, row: int, settings: RelatedSettings) -> np.ndarray:
        """An archived article's theme as a query's (empty: no theme mixing)."""
        if self.themes_ is None or settings.theme_weight == 0:
            return _NO_THEME
        return scoring.row_theme(self.themes_, self.theme_scales_, row)

    def _listed(self, cands: np.ndarray, scores: np.ndarray, settings: RelatedSettings) -> Related:
        """The finished list as ids and scores; none if fewer than ``min_count``."""
        if len(cands) < settings.min_count:
            cands, scores = cands[:0], scores[:0]
        return Related(self.ids_[cands].astype(str), scores.astype(np.float32))

    def _query_row(self, row: int, settings: RelatedSettings, rules: EditorRules | None) -> Related:
        indptr, indices, data = self._rows
        span = slice(indptr[row], indptr[row + 1])
        copies = self._copy_arguments(settings, None if self.signatures_ is None else
                                      (self.signatures_[0][row], self.signatures_[1][row]))
        phrases = self._phrase_arguments(settings, None if self.phrases_ is None
                                         else self.phrases_.row(row))
        return self._query(indices[span], data[span], row, int(self.days_[row]), settings, rules,
                           self._row_theme(row, settings), copies, phrases)

    def _query(self, terms: np.ndarray, weights: np.ndarray, row: int | None, day: int,
               settings: RelatedSettings, rules: EditorRules | None,
               query_theme: np.ndarray, copies: tuple, phrases: tuple) -> Related:
        if self._postings is not None and _plain(settings, rules):  # the common case
            # Writable copies (the index's arrays may be read-only memory maps), as the
            # batch kernel passes them: one compiled version of the query serves both.
            cands, scores = self._ops.related_query(
                *self._rows, *self._postings, self.common_terms_,
                np.array(terms, dtype=np.int32), np.array(weights, dtype=np.float32),
                -1 if row is None else row, day, query_theme,
                *self._plain_arguments(settings, copies), phrases)
            return self._listed(cands, scores, settings)
        pool = _cutoffs(settings)[0]
        gather_terms, gather_weights = terms, weights
        rare = ~self.common_terms_[terms]
        if rare.any():  # a text made only of common terms still gets candidates
            gather_terms, gather_weights = terms[rare], weights[rare]
        postings, gather_terms = self._gathering_postings(gather_terms)
        buffers = self._buffers()
        gather = (*postings, gather_terms, np.asarray(gather_weights, dtype=np.float32),
                  -1 if row is None else row)
        themes = self._theme_arguments(settings)
        with_themes = themes[2] > 0 and (len(query_theme) or len(themes[5]))
        # The wide pool, for a query without a close match, from the same pass.
        cands, wide = self._ops.gather_pools(*gather, pool, max(pool, themes[4]) if with_themes
                                             else pool, buffers.scores)
        _, floor, copy_at = _cutoffs(settings)
        exact_weights = np.asarray(weights, dtype=np.float64)
        if with_themes and self._ops.no_close_match(
                *self._rows, cands, terms, exact_weights, buffers.dense, floor, copy_at, themes[3],
                copies):
            if not len(query_theme):  # as the compiled query does (see related_query)
                query_theme = self._ops.projected_theme(themes[5], terms, exact_weights)
            cands = wide
        return self._finish(terms, weights, row, day, cands, settings, rules, query_theme, copies,
                            phrases)

    def raw_scores(self, vector: sp.csr_matrix) -> np.ndarray:
        """Cosine of ``vector`` with every archived article (a plain sparse product: for
        inspection and tests, not the query path)."""
        self._check_fitted()
        vector = _sparse().csr_matrix(vector)
        return np.asarray(self.matrix_ @ vector.T.toarray(), dtype=np.float32).ravel()

    def _dots(self, terms: np.ndarray, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact cosines of the query with archive rows (float64, bit-identical for every
        caller)."""
        return self._ops.exact_scores(*self._rows, rows, terms,
                                      np.asarray(weights, dtype=np.float64), self._buffers().dense)

    # -- finishing -------------------------------------------------------------------------

    def _finish(self, terms: np.ndarray, weights: np.ndarray, row: int | None, day: int,
                cands: np.ndarray, settings: RelatedSettings, rules: EditorRules | None,
                query_theme: np.ndarray, copies: tuple, phrases: tuple) -> Related:
        rules = rules or _NO_RULES
        cands = cands[self._allowed(cands, day, settings, rules)]
        _, floor, copy_at = _cutoffs(settings)
        decay = self._decay_table(settings)
        weights = np.asarray(weights, dtype=np.float64)
        themes = self._theme_arguments(settings)
        if settings.mmr_lambda is None:  # the common case: one compiled call
            cands, scores = self._ops.finish_plain(*self._rows, cands, terms, weights,
                                                   self._buffers().dense, floor, copy_at,
                                                   self.days_, day, decay, settings.k, copy_at,
                                                   themes, query_theme, copies, phrases)
        else:
            cands, scores = scoring.ranked(*self._rows, cands, terms, weights,
                                           self._buffers().dense, floor, copy_at,
                                           self.days_, day, decay, themes, query_theme, copies,
                                           phrases)
            chosen = self._diversified(cands, scores, settings, copies)
            cands, scores = cands[chosen], scores[chosen]
        if len(cands) < settings.min_count:
            cands, scores = cands[:0], scores[:0]
        return self._pin(terms, weights, row, cands, scores, settings, rules)

    def _decay_table(self, settings: RelatedSettings) -> np.ndarray:
        """Recency factors by age in days, then for undated candidates (see
        :func:`recsys.scoring.decay_table`); empty when recency is off."""
        if settings.half_life_days is None:
            return _NO_DECAY
        key = (settings.half_life_days, settings.undated_weight)
        table = self._decay_tables.get(key)
        if table is None:
            table = self._decay_tables[key] = scoring.decay_table(
                settings.half_life_days, self._day_span, settings.undated_weight)
        return table

    def _allowed(self, cands: np.ndarray, day: int, settings: RelatedSettings,
                 rules: EditorRules) -> np.ndarray | slice:
        """Which candidates pass the date and editors' filters (the query's own row never
        comes out of gathering)."""
        if not (settings.before_only or settings.max_age_days is not None or rules.exclude_ids
                or rules.exclude_topics or rules.require_topics):
            return slice(None)  # the common case: nothing to filter
        ok = np.ones(len(cands), dtype=bool)
        days = self.days_[cands]
        dated = days != NO_DATE
        if day != NO_DATE:
            if settings.before_only:
                ok &= ~dated | (days <= day)
            if settings.max_age_days is not None:
                ok &= ~dated | (np.abs(days.astype(np.int64) - day) <= settings.max_age_days)
        if rules.exclude_ids:
            ok &= ~np.isin(self.ids_[cands], list(rules.exclude_ids))
        if rules.exclude_topics:
            ok &= ~np.isin(self.topics_[cands], _topic_codes(rules.exclude_topics))
        if rules.require_topics:
            ok &= np.isin(self.topics_[cands], _topic_codes(rules.require_topics))
        return ok

    def _diversified(self, cands: np.ndarray, scores: np.ndarray,
                     settings: RelatedSettings, copies: tuple) -> np.ndarray:
        """Positions of up to k of the ranked candidates chosen by maximal marginal
        relevance (score traded for novelty), skipping near-copies of one already picked."""
        limit = min(len(cands), max(3 * settings.k, settings.k + 20))
        if limit == 0:
            return np.empty(0, dtype=np.int64)
        threshold = _cutoffs(settings)[2]
        sims = self._ops.row_similarities(*self._rows, cands[:limit], self._buffers().dense)
        chosen: list[int] = []
        remaining = list(range(limit))
        lam = settings.mmr_lambda
        while remaining and len(chosen) < settings.k:
            if not chosen:
                pick = remaining[0]
            else:
                redundancy = sims[np.ix_(remaining, chosen)].max(axis=1)
                pick = remaining[int(np.argmax(lam * scores[remaining] - (1 - lam) * redundancy))]
            remaining.remove(pick)
            if any(scoring.rows_copy(sims[pick, c], threshold, copies, cands[c], cands[pick])
                   for c in chosen):
                continue
            chosen.append(pick)
        return np.array(chosen, dtype=np.int64)

    def _pin(self, terms: np.ndarray, weights: np.ndarray, row: int | None, cands: np.ndarray,
             scores: np.ndarray, settings: RelatedSettings, rules: EditorRules) -> Related:
        pins = [self.row(i) for i in dict.fromkeys(rules.pin_ids)]
        pins = np.array([p for p in pins if p != row], dtype=np.int64)
        if len(pins):
            pin_scores = self._dots(terms, weights, pins)
            rest = ~np.isin(cands, pins)
            cands = np.concatenate([pins, cands[rest]])
            scores = np.concatenate([pin_scores, scores[rest]])
        cands, scores = cands[: settings.k], scores[: settings.k]
        return Related(self.ids_[cands].astype(str), scores.astype(np.float32))

    def shared_terms(self, vector: sp.csr_matrix, article_id: str, n: int = 5,
                     max_column: int | None = None) -> np.ndarray:
        """Columns of the ``n`` terms that contribute most to the cosine of ``vector``
        with an archived article (only columns below ``max_column``)."""
        # On the arrays, not with SciPy's row slice and product: their checks took seven
        # tenths of explaining a 10-item list (1.8 ms), which a whole-archive export repeats.
        if not (_sparse().issparse(vector) and vector.format == "csr"):
            vector = _sparse().csr_matrix(vector)
        X, row = self.matrix_, self.row(article_id)
        start, end = X.indptr[row], X.indptr[row + 1]
        cols, mine, theirs = np.intersect1d(vector.indices, X.indices[start:end],
                                            assume_unique=True, return_indices=True)
        vals = vector.data[mine] * X.data[start:end][theirs]
        if max_column is not None:
            cols, vals = cols[cols < max_column], vals[cols < max_column]
        top = np.argsort(-vals, kind="stable")[:n]
        return cols[top[vals[top] > 0]]

    # -- persistence helpers (used by recsys.bundle) -----------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays for saving (no pickle needed to read them back)."""
        self._check_fitted()
        indptr, indices, data = self._rows
        optional = {} if self.themes_ is None else {"themes": self.themes_,
                                                    "theme_scales": self.theme_scales_}
        if self.signatures_ is not None:
            optional.update(copy_values=self.signatures_[0], copy_counts=self.signatures_[1])
        if self.phrases_ is not None:
            optional.update({f"phrase_{name}": array
                             for name, array in self.phrases_._asdict().items()})
        return {"matrix_data": data.astype(np.float16), "matrix_indices": indices,
                "matrix_indptr": indptr.astype(np.int32 if indptr[-1] < 2**31 else np.int64),
                "matrix_shape": np.array(self.shape_, dtype=np.int64),
                "ids": self.ids_.astype(str), "days": self.days_, "topics": self.topics_, **optional}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], settings: RelatedSettings | None = None,
                    *, defer_postings: bool = False, **params: Any) -> RelatedIndex:
        """Rebuild an index saved with :meth:`to_arrays` (``defer_postings``: see
        :meth:`_gathering_postings`)."""
        index = cls(settings, **params)
        index.shape_ = tuple(int(v) for v in arrays["matrix_shape"])
        index._rows = (np.asarray(arrays["matrix_indptr"], dtype=np.int64),
                       np.asarray(arrays["matrix_indices"], dtype=np.int32),
                       np.asarray(arrays["matrix_data"], dtype=np.float32))
        index.ids_ = np.array(arrays["ids"], dtype=object)
        index.days_ = np.asarray(arrays["days"], dtype=np.int32)
        index.topics_ = np.asarray(arrays["topics"], dtype=np.int8)
        index.themes_, index.theme_scales_, index.theme_projection_ = None, None, None
        if "themes" in arrays:
            index.themes_ = np.ascontiguousarray(arrays["themes"], dtype=np.int8)
            index.theme_scales_ = np.ascontiguousarray(arrays["theme_scales"], dtype=np.float32)
        index.signatures_ = None
        if "copy_values" in arrays:
            index.signatures_ = _checked_signatures((arrays["copy_values"], arrays["copy_counts"]),
                                                    len(index.ids_))
        index.phrases_ = None
        if "phrase_ids" in arrays:
            index.phrases_ = _checked_phrases(PhraseRows(
                *(arrays[f"phrase_{name}"] for name in PhraseRows._fields)), len(index.ids_))
        index._reindex(defer_postings)
        return index


def _checked_signatures(signatures: tuple[np.ndarray, np.ndarray], n_rows: int,
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Text signatures as the scoring reads them, one per row."""
    values = np.ascontiguousarray(signatures[0], dtype=np.uint16)
    counts = np.ascontiguousarray(signatures[1], dtype=np.int64)
    if values.shape != (n_rows, SIGNATURE_SIZE) or counts.shape != (n_rows,):
        raise ValueError(f"expected signatures of {n_rows} articles ({SIGNATURE_SIZE} values "
                         f"each), got shapes {values.shape} and {counts.shape}")
    return values, counts


def _checked_phrases(phrases: PhraseRows, n_rows: int) -> PhraseRows:
    """Phrase rows as the scoring reads them, one per article."""
    checked = PhraseRows(np.asarray(phrases.indptr, dtype=np.int64),
                         np.asarray(phrases.ids, dtype=np.uint32),
                         np.asarray(phrases.levels, dtype=np.uint8),
                         np.asarray(phrases.scales, dtype=np.float32))
    if (len(checked.indptr) != n_rows + 1 or len(checked.scales) != n_rows
            or len(checked.ids) != len(checked.levels) or checked.indptr[-1] != len(checked.ids)):
        raise ValueError(f"expected phrase rows of {n_rows} articles, got {len(checked.scales)} "
                         f"(offsets {len(checked.indptr)}, ids {len(checked.ids)}, "
                         f"levels {len(checked.levels)})")
    return checked


def _quantized_themes(themes: Any, n_rows: int, width: int | None = None,
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Themes (rows of any length) as unit rows in 8 bits: ``int8`` rows and a scale each
    (``row * scale`` is the unit row to within half a step, 1/254 of its largest value).
    100 dimensions then take 6 MB at 60k articles instead of 24, and the ranking measured
    the same. In float32 and without normalising first (the length only enters the
    scale): 0.05 s at 60k articles, against 0.15-0.55 s in float64."""
    themes = np.asarray(themes, dtype=np.float32)
    if themes.ndim != 2 or themes.shape[0] != n_rows or (width is not None and themes.shape[1] != width):
        raise ValueError(f"expected themes of shape ({n_rows}, {width if width is not None else 'd'}), "
                         f"got {themes.shape}")
    top = np.maximum(themes.max(axis=1, initial=0.0), -themes.min(axis=1, initial=0.0))
    norms = np.sqrt(np.einsum("ij,ij->i", themes, themes))
    live = top > 0
    steps = themes * np.divide(127, top, out=np.zeros_like(top), where=live)[:, None]
    np.rint(steps, out=steps)
    scales = np.divide(top, norms * 127, out=np.zeros_like(top), where=live)
    return steps.astype(np.int8), scales


def _row_of(ids: np.ndarray) -> dict[str, int]:
    """Each id's row; a repeated id is an error."""
    row_of = {article_id: row for row, article_id in enumerate(ids)}
    if len(row_of) != len(ids):
        seen: set[str] = set()
        dup = next(i for i in ids if i in seen or seen.add(i))
        raise ValueError(f"duplicate article id {dup!r}")
    return row_of


def _indexed_fields(X: Any, ids: Sequence[str], dates: Sequence[dt.date | None] | None,
                    topics: Sequence[str | None] | None) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    """Rows as float32 CSR, and the ids, day numbers and topic codes to index them by."""
    X = _sparse().csr_matrix(X, dtype=np.float32)
    if X.shape[0] != len(ids):
        raise ValueError(f"{X.shape[0]} rows but {len(ids)} ids")
    days = np.array([day_number(d) for d in dates] if dates is not None else [NO_DATE] * len(ids),
                    dtype=np.int32)
    return (X, np.array(ids, dtype=object), days,
            _topic_codes(topics if topics is not None else [None] * len(ids)))


def _sparse() -> Any:
    """:mod:`scipy.sparse`, imported where needed: a one-question process never needs it."""
    import scipy.sparse

    return scipy.sparse


def _cutoffs(settings: RelatedSettings) -> tuple[int, float, float]:
    """How many raw candidates a query finishes (at least ``3k``), the lowest cosine it
    lists (above 0 even with ``min_score`` 0: an article sharing nothing is never
    related) and the cosine from which a candidate is a copy (infinite: no copies)."""
    return (max(settings.pool, 3 * settings.k), max(settings.min_score, 1e-9),
            settings.duplicate_threshold or math.inf)


def _plain(settings: RelatedSettings, rules: EditorRules | None) -> bool:
    """Whether a query needs no step beyond gathering and :func:`~recsys.kernels.finish_plain`
    (no editors' rules, no date filter, no MMR): then it runs as one kernel call."""
    return (rules is None and settings.mmr_lambda is None and not settings.before_only
            and settings.max_age_days is None)


@functools.cache  # a query asks for it three times; the import statement costs microseconds
def _compiled_kernels() -> Any:
    """:mod:`recsys.kernels`, imported on first need: importing numba takes a second."""
    from . import kernels

    return kernels


def _arrays(matrix: Any, half: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A compressed sparse matrix as the (offsets, indices, values) the kernels take;
    ``half``: the values rounded to half precision (still float32). The index keeps its
    rows so, and saves them as float16: 19 MB less at 60k articles, cosines that move
    by about 1e-4, and a loaded index that scores exactly as the trained one."""
    data = (np.asarray(matrix.data, dtype=np.float16).astype(np.float32) if half
            else np.asarray(matrix.data, dtype=np.float32))
    return (np.asarray(matrix.indptr, dtype=np.int64), np.asarray(matrix.indices, dtype=np.int32),
            data)


def _topic_codes(topics: Iterable[str | None]) -> np.ndarray:
    code = {t: i for i, t in enumerate(TOPICS)}
    return np.array([code.get(t, -1) if t is not None else -1 for t in topics], dtype=np.int8)
