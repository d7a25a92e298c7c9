"""The topic classifier: combat, prisoners, humanitarian or other, with probabilities.

:class:`TopicClassifier` is a scikit-learn classifier over TF-IDF rows; put it after an
:class:`~recsys.features.ArticleVectorizer` in a ``Pipeline`` (see
:func:`make_topic_pipeline`). Its probability columns always follow
:data:`~recsys.corpus.TOPICS`, whatever topics the training data happened to hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
from sklearn.calibration import CalibratedClassifierCV
from sklearn.utils.validation import check_is_fitted

from .corpus import TOPICS
from .features import ArticleVectorizer

__all__ = ["TopicClassifier", "TopicPrediction", "make_topic_pipeline"]


class TopicPrediction(NamedTuple):
    """The topic of one article: the best topic, every topic's probability, and whether
    the model is unsure (best probability under the threshold, or too little text it
    knows)."""

    topic: str
    scores: dict[str, float]
    low_confidence: bool


class TopicClassifier(ClassifierMixin, BaseEstimator):
    """Linear topic classifier with calibrated probabilities.

    Parameters
    ----------
    model : {"logreg", "svm"}
        Logistic regression, or a linear SVM calibrated by cross-validation.
    C : float
        Inverse regularisation strength.
    class_weight : {"balanced", None}
        ``"balanced"`` lifts the rarer topics (prisoners, humanitarian), whose recall
        matters as much as that of the common ones.
    low_confidence : float
        Predictions whose best probability is below this are flagged.

    Examples
    --------
    >>> from recsys import ArticleVectorizer
    >>> texts = ["قصف مدفعي عنيف على ريف ادلب", "الافراج عن معتقلين في صفقة تبادل",
    ...          "توزيع مساعدات على النازحين في المخيمات", "مباراة كرة القدم في الدوري"] * 3
    >>> X = ArticleVectorizer(min_df=1).fit_transform(texts)
    >>> clf = TopicClassifier().fit(X, ["combat", "prisoners", "humanitarian", "other"] * 3)
    >>> clf.predict(X[:2]).tolist()
    ['combat', 'prisoners']
    """

    def __init__(self, *, model: str = "logreg", C: float = 20.0,
                 class_weight: str | None = "balanced", low_confidence: float = 0.5) -> None:
        self.model = model
        self.C = C
        self.class_weight = class_weight
        self.low_confidence = low_confidence

    def fit(self, X: object, y: Sequence[str]) -> TopicClassifier:
        y = np.asarray(y, dtype=object)
        unknown = sorted(set(y) - set(TOPICS))
        if unknown:
            raise ValueError(f"unknown topic label(s) {unknown}; expected {list(TOPICS)}")
        if len(set(y)) < 2:
            raise ValueError("need labelled articles of at least two topics to train")
        if self.model == "logreg":
            estimator = LogisticRegression(C=self.C, class_weight=self.class_weight,
                                           max_iter=5000)
        elif self.model == "svm":
            folds = int(min(3, min(np.unique(y, return_counts=True)[1])))
            estimator = CalibratedClassifierCV(
                LinearSVC(C=self.C, class_weight=self.class_weight), cv=max(folds, 2))
        else:
            raise ValueError(f"model must be 'logreg' or 'svm', got {self.model!r}")
        self.estimator_ = estimator.fit(X, y)
        self.classes_ = np.array(TOPICS, dtype=object)
        self._columns = [list(self.estimator_.classes_).index(t)
                         if t in self.estimator_.classes_ else -1 for t in TOPICS]
        return self

    def predict_proba(self, X: object) -> np.ndarray:
        """Probabilities, one column per topic in :data:`TOPICS` order."""
        check_is_fitted(self, "estimator_")
        inner = self.estimator_.predict_proba(X)
        out = np.zeros((inner.shape[0], len(TOPICS)))
        for j, col in enumerate(self._columns):
            if col >= 0:
                out[:, j] = inner[:, col]
        return out

    def predict(self, X: object) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def predict_topics(self, X: object, *, unsure: np.ndarray | None = None) -> list[TopicPrediction]:
        """A :class:`TopicPrediction` per row; ``unsure`` marks rows to flag regardless."""
        proba = self.predict_proba(X)
        predictions = []
        for i, row in enumerate(proba):
            best = int(row.argmax())
            low = bool(row[best] < self.low_confidence or (unsure is not None and unsure[i]))
            predictions.append(TopicPrediction(
                TOPICS[best], {t: round(float(p), 4) for t, p in zip(TOPICS, row)}, low))
        return predictions


def make_topic_pipeline(**vectorizer_params: object) -> Pipeline:
    """``ArticleVectorizer`` then ``TopicClassifier``: the unit to cross-validate."""
    return Pipeline([("features", ArticleVectorizer(**vectorizer_params)),
                     ("topics", TopicClassifier())])
