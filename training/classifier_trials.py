#!/usr/bin/env python
"""The topic classifier's settings on real news: how ``other`` is learnt (one class or
clusters), how the balanced weights are applied, and C. Prints a markdown table.

    python training/classifier_trials.py          # about 4 min

``other`` holds the politics and diplomacy of the same wars beside sport, business and
culture; one linear boundary between a war topic and all of it fits poorly, so
``TopicClassifier`` learns ``other`` as ``other_groups`` k-means clusters. Its balanced
weights apply to the probability calibration as well as to the SVM; the row "before"
is the classifier as it was until the sixteenth stop: one ``other``, weights in the SVM
only (``class_weight`` of ``LinearSVC``), calibration unweighted, C 0.3.

Scored like ``topic_trials.py``: the features fitted on the 60,502-article archive as
``recsys train`` fits them; macro-F1 of 5-fold cross-validation on ``topics_dev`` with
the default corpus in every training fold, over five splits (seeds 0-4: 25 folds),
paired with the defaults (mean ± std over the folds); prisoners F1 of the pooled
predictions (mean over the splits); "no labels", the macro-F1 on all of ``topics_dev`` of
a classifier trained on the default corpus alone.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

sys.path.insert(0, str(Path(__file__).resolve().parent))
import experiments as E  # noqa: E402  (training/experiments.py: data loading)

from recsys import TOPICS, ArticleVectorizer, TopicClassifier, TopicFeatures  # noqa: E402

SEEDS = range(5)
SETTINGS = [  # (label, TopicClassifier parameters); None: the classifier before
    ("**defaults** (C 1, other as 2 clusters)", {}),
    ("before: C 0.3, one other, weights in the SVM only", None),
    ("C 0.3, one other", {"C": 0.3, "other_groups": 1}),
    ("C 1, one other", {"other_groups": 1}),
    ("C 0.3", {"C": 0.3}),
    ("C 0.5", {"C": 0.5}),
    ("C 3", {"C": 3.0}),
    ("other as 3 clusters", {"other_groups": 3}),
    ("other as 4 clusters", {"other_groups": 4}),
    ("other as 8 clusters", {"other_groups": 8}),
    ("no class weights", {"class_weight": None}),
    ("logistic regression, C 10", {"model": "logreg", "C": 10.0}),
]


def classifier(params: dict | None):
    if params is None:
        return CalibratedClassifierCV(LinearSVC(C=0.3, class_weight="balanced"), cv=3)
    return TopicClassifier(**params)


def scores(params: dict | None, F: sp.csr_matrix, F_extra: sp.csr_matrix, y: np.ndarray,
           y_extra: list[str]) -> tuple[np.ndarray, float, float]:
    """Macro-F1 per fold (25), mean prisoners F1, and the no-label macro-F1."""
    per_fold, prisoners = [], []
    for seed in SEEDS:
        predicted = np.empty(len(y), dtype=object)
        for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(F, y):
            model = classifier(params).fit(sp.vstack([F[train], F_extra], format="csr"),
                                           list(y[train]) + y_extra)
            predicted[test] = model.predict(F[test])
            per_fold.append(f1_score(y[test], predicted[test], average="macro"))
        prisoners.append(f1_score(y, predicted, average=None, labels=list(TOPICS))[1])
    alone = classifier(params).fit(F_extra, y_extra).predict(F)
    return np.array(per_fold), float(np.mean(prisoners)), float(f1_score(y, alone, average="macro"))


def main() -> int:
    started = time.perf_counter()
    archive, labelled, extra = E.archive(), E.corpus("topics_dev"), E.default_articles()
    E.say("fitting the vectorizer and the topic features on the archive")
    vectorizer = ArticleVectorizer()
    X = vectorizer.fit_transform_lead(archive, TopicFeatures().body_chars)[0]  # as NewsModel.train
    features = TopicFeatures().fit_prefit(vectorizer, X)
    del X
    y, y_extra = np.array([a.topic for a in labelled], dtype=object), [a.topic for a in extra]
    F, F_extra = features.transform(labelled), features.transform(extra)
    rows, base = [], None
    for label, params in SETTINGS:
        folds, prisoners, alone = scores(params, F, F_extra, y, y_extra)
        base = folds if base is None else base
        gain = folds - base
        rows.append(f"| {label} | {folds.mean():.4f} | {gain.mean():+.4f} ± {gain.std():.4f} | "
                    f"{prisoners:.3f} | {alone:.3f} |")
        E.say(rows[-1])
    print(f"\n`python training/classifier_trials.py` "
          f"({(time.perf_counter() - started) / 60:.0f} min; {E.git_state()})\n")
    print("| classifier | macro-F1 (5 × 5 folds) | paired Δ | prisoners F1 | no labels |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
