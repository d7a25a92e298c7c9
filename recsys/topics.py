"""The topic classifier: combat, prisoners, humanitarian or other, with probabilities.

:class:`TopicClassifier` is a scikit-learn classifier over TF-IDF rows; put it after an
:class:`~recsys.features.ArticleVectorizer` in a ``Pipeline`` (see
:func:`make_topic_pipeline`). Its probability columns always follow
:data:`~recsys.corpus.TOPICS`, whatever topics the training data happened to hold.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.decomposition import TruncatedSVD
from sklearn.preprocessing import normalize as l2_normalize
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
from sklearn.calibration import CalibratedClassifierCV
from sklearn.cluster import KMeans
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from .corpus import TOPICS
from .features import ArticleLike, ArticleVectorizer, lead_of

__all__ = ["TopicFeatures", "TopicClassifier", "TopicPrediction", "make_topic_pipeline"]

_GROUP = "#"  # joins "other" and a cluster number in the estimator's class names
_MIN_GROUP = 12  # fewest articles in a cluster of other: each is calibrated on folds of it
# liblinear (LinearSVC's solver) draws from one random generator for the whole
# process: two fits on two threads at once (NewsModel.train cross-validates on a side
# thread) took turns on it and each got other numbers than alone, so the same articles
# trained models whose probabilities differed by 1e-6. One fit at a time.
_LIBLINEAR = threading.Lock()


class TopicPrediction(NamedTuple):
    """The topic of one article: the best topic, every topic's probability, and whether
    the model is unsure (best probability under the threshold, or too little text it
    knows)."""

    topic: str
    scores: dict[str, float]
    low_confidence: bool


class TopicFeatures(TransformerMixin, BaseEstimator):
    """What the classifier reads: the title and lead of each article as TF-IDF, plus
    latent-semantic (LSA) dimensions learnt from the whole archive.

    Editors decide a topic from the title and lead, and so does the model: on
    ``topics_dev`` cross-validation, cutting bodies to their first 1,200 characters
    lifted macro-F1 by 0.025, and 100 LSA dimensions fitted on the unlabelled archive
    by a further 0.03 (they carry what co-occurs with "detainee" or "displaced" beyond
    the few hundred labelled articles). See ``training/RESULTS.md``.

    Parameters
    ----------
    vectorizer : ArticleVectorizer or None
        Fitted on :meth:`fit` unless given already fitted to :meth:`fit_prefit`.
    body_chars : int or None
        Body characters kept (after boilerplate removal); ``None`` keeps all.
    lsa_components : int
        LSA dimensions (0 disables them).
    lsa_weight : float
        Length of the LSA block relative to the unit-length TF-IDF block.
    lsa_sample : int
        The LSA is fitted on at most this many archive rows (a random sample): its
        cost grows with the archive, its quality does not past a few thousand rows.
    lsa_iterations : int
        Power iterations of the randomized SVD. On ``topics_dev`` cross-validation 2
        scored as scikit-learn's 5 (macro-F1 0.779 against 0.777, paired +0.002 ±
        0.027 over folds; prisoners F1 0.693 both), and 1 as 2 (over three 5-fold
        splits, 0.776 against 0.769, paired +0.007 ± 0.011; 0 iterations: -0.004 ±
        0.018). At 60k articles the LSA fits in 1.6 s with 1, 1.9 s with 2 and 4.5 s
        with 5.
    """

    def __init__(self, vectorizer: ArticleVectorizer | None = None, *, body_chars: int | None = 1200,
                 lsa_components: int = 100, lsa_weight: float = 0.5,
                 lsa_sample: int = 20000, lsa_iterations: int = 1) -> None:
        self.vectorizer = vectorizer
        self.body_chars = body_chars
        self.lsa_components = lsa_components
        self.lsa_weight = lsa_weight
        self.lsa_sample = lsa_sample
        self.lsa_iterations = lsa_iterations

    def fit(self, articles: Sequence[ArticleLike], y: object = None) -> TopicFeatures:
        """Fit a fresh copy of the vectorizer and the LSA on ``articles``."""
        vectorizer = clone(self.vectorizer) if self.vectorizer is not None else ArticleVectorizer()
        return self.fit_prefit(vectorizer, vectorizer.fit_transform(articles))

    def fit_prefit(self, vectorizer: ArticleVectorizer, archive_matrix: sp.spmatrix) -> TopicFeatures:
        """Use an already fitted vectorizer, and fit the LSA on its archive matrix (so
        training a :class:`~recsys.NewsModel` vectorizes the archive once)."""
        check_is_fitted(vectorizer, "tfidf_")
        self.vectorizer_ = vectorizer
        n_components = min(self.lsa_components, archive_matrix.shape[0] - 1,
                           archive_matrix.shape[1] - 1)
        self.lsa_ = None
        if n_components >= 2:
            rows = np.random.default_rng(0).permutation(archive_matrix.shape[0])[: self.lsa_sample]
            # One BLAS thread: with two, the last bits of the LSA differed from one training
            # to the next of the same articles, and through the half-precision rounding
            # below that changed the themes of a few articles and so their related lists.
            # Training the same archive twice must give the same bundle; it costs 0.16 s
            # of the 1.45 s this takes at 60k articles.
            with threadpool_limits(1, user_api="blas"):
                self.lsa_ = TruncatedSVD(n_components, n_iter=self.lsa_iterations,
                                         random_state=0).fit(archive_matrix[np.sort(rows)])
            # Rounded to half precision, which pickling stores (see __getstate__), so that a
            # loaded bundle computes what the trained model did. float32 in memory, and
            # term-major (Fortran order): one article's terms are then adjacent rows of
            # ``components_.T`` (``theme_projection``).
            self.lsa_.components_ = _in_memory(self.lsa_.components_.astype(np.float16))
        return self

    def __getstate__(self) -> dict:
        # Half precision on disk: 15 MB less of a 60k bundle (144 -> 129 MB), and on
        # topics_dev, the claims and the graded judgments every figure the same to the
        # fourth decimal as float32.
        state = dict(super().__getstate__())  # scikit-learn's is the live __dict__ itself
        if state.get("lsa_") is not None:
            state["lsa_"] = copy.copy(state["lsa_"])
            state["lsa_"].components_ = state["lsa_"].components_.astype(np.float16)
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        if getattr(self, "lsa_", None) is not None:
            self.lsa_.components_ = _in_memory(self.lsa_.components_)

    def lead_view(self, articles: Sequence[ArticleLike]) -> list[tuple[str, str]]:
        """Each article as ``(title, first body_chars of the de-boilerplated body)``."""
        titles, bodies = self.vectorizer_.clean_bodies(articles)
        return [(t, lead_of(b, self.body_chars)) for t, b in zip(titles, bodies)]

    def transform(self, articles: Sequence[ArticleLike]) -> sp.csr_matrix:
        check_is_fitted(self, "vectorizer_")
        return self.from_lead_rows(self.vectorizer_.transform(self.lead_view(articles)))

    def themes(self, X: sp.spmatrix) -> np.ndarray | None:
        """Articles' themes: their rows as the related-articles index holds them (whole
        articles, :meth:`ArticleVectorizer.transform`) in the LSA's dimensions, unit
        length; ``None`` without an LSA (an archive too small for one). The index mixes
        them into the lists of queries without close matches (``theme_weight`` in
        :class:`~recsys.RelatedSettings`)."""
        if self.lsa_ is None:  # (unfitted: AttributeError) scikit-learn's checks of fitting
            return None         # and input cost a new article's query 0.15 ms
        latent = _rows_times_dense(X, self.lsa_.components_.T)
        norms = np.sqrt(np.einsum("ij,ij->i", latent, latent))[:, None]
        return np.divide(latent, norms, out=np.zeros_like(latent), where=norms > 0)

    def theme_projection(self) -> np.ndarray | None:
        """Terms × LSA dimensions (the components, transposed; no copy): how the related
        index projects a new text onto the themes of :meth:`themes`."""
        return None if self.lsa_ is None else self.lsa_.components_.T

    def from_lead_rows(self, X: sp.csr_matrix) -> sp.csr_matrix:
        """Features from lead-view rows already vectorized (see
        :meth:`ArticleVectorizer.fit_transform_lead`)."""
        if self.lsa_ is None:
            return X
        latent = l2_normalize(_rows_times_dense(X, self.lsa_.components_.T)) * self.lsa_weight
        return _beside(X, latent.astype(np.float32, copy=False))


def _beside(X: sp.csr_matrix, dense: np.ndarray) -> sp.csr_matrix:
    """``sp.hstack([X, sp.csr_matrix(dense)], format="csr")``, the same arrays, with the
    dense block's CSR form built whole and its zeros (rare) dropped after: SciPy's
    conversion searches every value for them (0.4 s for the 60k archive's LSA block,
    against 0.05 s)."""
    n, k = dense.shape
    block = sp.csr_matrix((dense.ravel(), np.tile(np.arange(k, dtype=np.int32), n),
                           np.arange(0, n * k + 1, k, dtype=np.int64)), shape=(n, k))
    block.eliminate_zeros()
    return sp.hstack([X, block], format="csr")


_ENTRIES_PER_THREAD = 500_000


def _in_memory(components: np.ndarray) -> np.ndarray:
    return np.asfortranarray(components, dtype=np.float32)


def _rows_times_dense(X: sp.csr_matrix, dense: np.ndarray) -> np.ndarray:
    """``X @ dense`` (what ``TruncatedSVD.transform`` computes, to the last bit), with
    blocks of rows on several threads: SciPy's product releases the GIL, and each row's
    result depends on that row alone. On the 9.5 million entries of the 60k archive's
    matrix, the LSA took 0.18 s on two threads against 0.37 s on one."""
    if not sp.issparse(X) or X.format != "csr":  # a new article's row: already one (10 µs)
        X = sp.csr_matrix(X)
    threads = min(os.cpu_count() or 1, max(1, X.nnz // _ENTRIES_PER_THREAD))
    if threads == 1:
        return X @ dense
    bounds = np.searchsorted(X.indptr, np.linspace(0, X.nnz, threads + 1)[1:-1])
    bounds = [0, *bounds.tolist(), X.shape[0]]
    out = np.empty((X.shape[0], dense.shape[1]), dtype=np.result_type(X.dtype, dense.dtype))

    def block(j: int) -> None:
        a, b = bounds[j], bounds[j + 1]
        start, stop = X.indptr[a], X.indptr[b]
        rows = sp.csr_matrix((X.data[start:stop], X.indices[start:stop], X.indptr[a:b + 1] - start),
                             shape=(b - a, X.shape[1]))
        out[a:b] = rows @ dense

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(block, range(threads)))
    return out


class TopicClassifier(ClassifierMixin, BaseEstimator):
    """Linear topic classifier with calibrated probabilities.

    ``other`` is everything that is not a war topic: the politics and diplomacy of the
    same wars as well as sport, business and culture. One linear boundary between a war
    topic and all of that is a poor fit, so the classifier learns ``other`` as
    ``other_groups`` clusters of its training articles (k-means over their features) and
    adds the clusters' probabilities back into one ``other`` column. On ``topics_dev``
    cross-validation (5 × 5 folds, ``training/classifier_trials.py``) two clusters
    scored 0.012 over one (three or four 0.005 under two); with the balanced weights
    below applied to the calibration too, and C 1, the classifier went from 0.770 to
    0.811 macro-F1 (prisoners F1 0.68 to 0.75).

    Parameters
    ----------
    model : {"svm", "logreg"}
        A linear SVM with probabilities calibrated by 3-fold cross-validation (as
        accurate as logistic regression here, and 100 times faster to fit on 100k
        features), or logistic regression.
    C : float
        Inverse regularisation strength (0.3 to 3 scored within 0.01 of each other).
    class_weight : {"balanced", None}
        ``"balanced"`` weighs each article inversely to its topic's share, in fitting
        and in calibrating: the rarer topics (prisoners, humanitarian), whose recall
        matters as much as the common ones', weigh as much in training. Weighting the SVM alone
        left the calibrated probabilities leaning to ``other`` (macro-F1 0.770 against
        0.786, at C 0.3 with ``other`` as one class).
    other_groups : int
        Clusters ``other`` is learnt as (1 learns it as one class).
    low_confidence : float
        Predictions whose best probability is below this are flagged. On the 601
        labelled real articles of ``topics_dev``, 0.7 flags about a quarter of the
        predictions (25%, in the three settings of ``training/DEFAULTS.md``) and they
        hold about three fifths of the errors (59-64%): flagged predictions are right
        51-62% of the time, the others 89-93%. 0.5 flagged 5-8% and caught 17-26% of
        the errors.
    min_margin : float
        Predictions whose two best probabilities are closer than this are flagged too
        (0.50 against 0.49 is a coin toss, whatever the threshold).

    Examples
    --------
    >>> from recsys import ArticleVectorizer
    >>> texts = ["قصف مدفعي عنيف على ريف ادلب", "الافراج عن معتقلين في صفقة تبادل",
    ...          "توزيع مساعدات على النازحين في المخيمات", "مباراة كرة القدم في الدوري"] * 3
    >>> X = ArticleVectorizer(min_df=1).fit_transform(texts)
    >>> clf = TopicClassifier(C=10).fit(X, ["combat", "prisoners", "humanitarian", "other"] * 3)
    >>> clf.predict(X[:2]).tolist()
    ['combat', 'prisoners']
    """

    def __init__(self, *, model: str = "svm", C: float = 1.0,
                 class_weight: str | None = "balanced", other_groups: int = 2,
                 low_confidence: float = 0.7, min_margin: float = 0.1) -> None:
        self.model = model
        self.C = C
        self.class_weight = class_weight
        self.other_groups = other_groups
        self.low_confidence = low_confidence
        self.min_margin = min_margin

    def fit(self, X: object, y: Sequence[str]) -> TopicClassifier:
        y = np.asarray(y, dtype=object)
        unknown = sorted(set(y) - set(TOPICS))
        if unknown:
            raise ValueError(f"unknown topic label(s) {unknown}; expected {list(TOPICS)}")
        if len(set(y)) < 2:
            raise ValueError("need labelled articles of at least two topics to train")
        if self.class_weight not in ("balanced", None):
            raise ValueError(f"class_weight must be 'balanced' or None, got {self.class_weight!r}")
        weights = compute_sample_weight(self.class_weight, y) if self.class_weight else None
        targets = self._with_other_groups(X, y)
        if self.model == "logreg":
            estimator = LogisticRegression(C=self.C, max_iter=5000)
        elif self.model == "svm":
            folds = int(min(3, min(np.unique(targets, return_counts=True)[1])))
            # A fixed seed for liblinear's shuffling, which otherwise draws it from
            # numpy's global generator: the same articles must train the same model.
            estimator = CalibratedClassifierCV(LinearSVC(C=self.C, random_state=0),
                                               cv=max(folds, 2))
        else:
            raise ValueError(f"model must be 'logreg' or 'svm', got {self.model!r}")
        with _LIBLINEAR:
            self.estimator_ = estimator.fit(X, targets, sample_weight=weights)
        self.classes_ = np.array(TOPICS, dtype=object)
        # Which topic each of the estimator's classes (topics and clusters of other) adds to.
        self.topic_of_class_ = np.zeros((len(self.estimator_.classes_), len(TOPICS)))
        for i, name in enumerate(self.estimator_.classes_):
            self.topic_of_class_[i, TOPICS.index(name.split(_GROUP)[0])] = 1
        return self

    def _with_other_groups(self, X: object, y: np.ndarray) -> np.ndarray:
        """``y`` with each ``other`` article relabelled by its k-means cluster, when every
        cluster has enough articles to be calibrated (``_MIN_GROUP``); else ``y``."""
        other = np.flatnonzero(y == "other")
        if self.other_groups <= 1 or len(other) < _MIN_GROUP * self.other_groups:
            return y
        clusters = KMeans(self.other_groups, n_init=3, random_state=0).fit_predict(X[other])
        if np.bincount(clusters, minlength=self.other_groups).min() < _MIN_GROUP:
            return y  # an odd article or two in a cluster of their own: nothing to learn
        targets = y.copy()
        targets[other] = [f"other{_GROUP}{c}" for c in clusters]
        return targets

    def predict_proba(self, X: object) -> np.ndarray:
        """Probabilities, one column per topic in :data:`TOPICS` order."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X) @ self.topic_of_class_

    def predict(self, X: object) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def evidence(self, X: object, n: int = 5, columns: int | None = None) -> list[np.ndarray]:
        """For each row of ``X``, the columns that weigh most for its predicted topic,
        most first: the row's value times the topic's coefficient (the mean of the
        calibration folds' SVMs; for ``other``, of the cluster the row is nearest), only
        those that push towards it, only columns below ``columns`` (the words, not the
        LSA dimensions). What an editor checks a topic by."""
        check_is_fitted(self, "estimator_")
        X = sp.csr_matrix(X)
        coef, intercept = self._linear_parts()
        decision = np.asarray(X @ coef.T) + intercept
        topics = self.predict_proba(X).argmax(axis=1)
        limit = X.shape[1] if columns is None else columns
        found = []
        for i, topic in enumerate(topics):
            mine = np.flatnonzero(self.topic_of_class_[:, topic])
            best = mine[decision[i, mine].argmax()]
            span = slice(X.indptr[i], X.indptr[i + 1])
            cols, values = X.indices[span], X.data[span]
            cols, values = cols[cols < limit], values[cols < limit]
            weight = values * coef[best, cols]
            order = np.argsort(-weight, kind="stable")[:n]
            found.append(cols[order][weight[order] > 0])
        return found

    def _linear_parts(self) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients and intercepts, one row per class of the estimator."""
        models = ([self.estimator_] if self.model == "logreg"
                  else [c.estimator for c in self.estimator_.calibrated_classifiers_])
        coef = np.mean([m.coef_ for m in models], axis=0)
        intercept = np.mean([m.intercept_ for m in models], axis=0)
        if coef.shape[0] == 1:  # two classes: scikit-learn keeps the second one's side only
            coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
        return coef, intercept

    def predict_topics(self, X: object, *, unsure: np.ndarray | None = None) -> list[TopicPrediction]:
        """A :class:`TopicPrediction` per row; ``unsure`` marks rows to flag regardless."""
        proba = self.predict_proba(X)
        predictions = []
        for i, row in enumerate(proba):
            best = int(row.argmax())
            margin = row[best] - np.partition(row, -2)[-2]
            low = bool(row[best] < self.low_confidence or margin < self.min_margin
                       or (unsure is not None and unsure[i]))
            predictions.append(TopicPrediction(
                TOPICS[best], {t: round(float(p), 4) for t, p in zip(TOPICS, row)}, low))
        return predictions


def make_topic_pipeline(**vectorizer_params: object) -> Pipeline:
    """``TopicFeatures`` (over an ``ArticleVectorizer`` with these parameters) then
    ``TopicClassifier``: the unit to cross-validate. Set the other steps' parameters
    with ``set_params(features__body_chars=..., topics__C=...)``."""
    return Pipeline([("features", TopicFeatures(ArticleVectorizer(**vectorizer_params))),
                     ("topics", TopicClassifier())])
