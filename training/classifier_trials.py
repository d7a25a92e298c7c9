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
from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import LinearSVC

sys.path.insert(0, str(Path(__file__).resolve().parent))
import experiments as E  # noqa: E402  (training/experiments.py: data loading)
from topic_trials import archive_features, print_table, scores, table_row  # noqa: E402

from recsys import TopicClassifier  # noqa: E402

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
    """A maker of the classifier of a setting (``None``: the classifier before)."""
    if params is None:
        return lambda: CalibratedClassifierCV(LinearSVC(C=0.3, class_weight="balanced"), cv=3)
    return lambda: TopicClassifier(**params)


def main() -> int:
    started = time.perf_counter()
    _, labelled, extra, _, features = archive_features()
    y, y_extra = np.array([a.topic for a in labelled], dtype=object), [a.topic for a in extra]
    F, F_extra = features.transform(labelled), features.transform(extra)
    rows, base = [], None
    for label, params in SETTINGS:
        scored = scores(F, F_extra, y, y_extra, classifier(params), SEEDS)
        rows.append(table_row(label, scored, base))
        base = scored[0] if base is None else base
        E.say(rows[-1])
    print_table("python training/classifier_trials.py", started, "classifier", "5 × 5", rows)
    return 0

if __name__ == "__main__":
    sys.exit(main())
