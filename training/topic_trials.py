#!/usr/bin/env python
"""Topic features recsys does not offer: word vectors learned on the archive (word2vec,
fastText) beside the default features. Prints a markdown table.

    pip install -e '.[trials]'                 # gensim, for the word vectors
    python training/topic_trials.py            # CBOW, skip-gram and fastText (about 15 min)
    python training/topic_trials.py --models cbow   # one model (about 4 min)

The LSA of the topic features reads which words co-occur in the archive's articles;
word vectors trained on the same 60,502 unlabelled articles read which words share
contexts, the other classic way to carry "detainee" to "prisoner" beyond the few
hundred labelled articles. Each model (200 dimensions, window 5, words in at least 3
articles, 5 epochs, seed 0, on the terms the vectorizer makes of each cleaned title and
body) gives every article the IDF-weighted mean of its terms' vectors (title twice, then
the first 1,200 body characters, as the topic features read), unit length, times a
weight, beside the default features.

Scored like ``check_defaults.py``'s topics: macro-F1 of 5-fold cross-validation on
``topics_dev`` with the default corpus in every training fold, here over three splits
(seeds 0, 1, 2: 15 folds) for a steadier paired difference from the defaults (mean ±
std over the folds); prisoners F1 of the pooled predictions (mean over the splits); and
"no labels", the macro-F1 on all of ``topics_dev`` of a classifier trained on the
default corpus alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import normalize

sys.path.insert(0, str(Path(__file__).resolve().parent))
import experiments as E  # noqa: E402  (training/experiments.py: data loading)

from recsys import TOPICS, ArticleVectorizer, TopicClassifier, TopicFeatures  # noqa: E402
from recsys.features import lead_of  # noqa: E402

MODELS = {"cbow": ("word2vec", 0), "skipgram": ("word2vec", 1), "fasttext": ("fastText", 0)}
WEIGHTS = [0.3, 0.5, 0.8, 1.2]
SEEDS = (0, 1, 2)
DIMENSIONS = 200


def word_vectors(kind: str, skipgram: int, texts: list[list[str]]):
    from gensim.models import FastText, Word2Vec

    model = Word2Vec if kind == "word2vec" else FastText
    return model(sentences=texts, vector_size=DIMENSIONS, window=5, min_count=3, sg=skipgram,
                 workers=2, epochs=5, seed=0).wv


def article_vectors(vectors, vectorizer: ArticleVectorizer, articles: list, idf: dict) -> np.ndarray:
    analyze = vectorizer.words_.analyzer
    titles, bodies = vectorizer.clean_bodies(articles)
    out = np.zeros((len(articles), DIMENSIONS), dtype=np.float32)
    for i, (title, body) in enumerate(zip(titles, bodies)):
        terms = [t for t in analyze(title) * 2 + analyze(lead_of(body, 1200)) if t in vectors]
        if terms:
            out[i] = np.average(vectors[terms], axis=0, weights=[idf.get(t, 1.0) for t in terms])
    return normalize(out)


def scores(F: sp.csr_matrix, F_extra: sp.csr_matrix, y: np.ndarray, y_extra: list[str],
           classifier: Callable[[], Any] = TopicClassifier, seeds: Sequence[int] = SEEDS,
           ) -> tuple[np.ndarray, float, float]:
    """Macro-F1 per fold (5 per seed), mean prisoners F1, and the no-label macro-F1, of
    the classifiers ``classifier()`` makes."""
    per_fold, prisoners = [], []
    for seed in seeds:
        predicted = np.empty(len(y), dtype=object)
        for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(F, y):
            model = classifier().fit(sp.vstack([F[train], F_extra], format="csr"),
                                     list(y[train]) + y_extra)
            predicted[test] = model.predict(F[test])
            per_fold.append(f1_score(y[test], predicted[test], average="macro"))
        prisoners.append(f1_score(y, predicted, average=None, labels=list(TOPICS))[1])
    alone = classifier().fit(F_extra, y_extra).predict(F)
    return np.array(per_fold), float(np.mean(prisoners)), float(f1_score(y, alone, average="macro"))


def archive_features() -> tuple[list, list, list, ArticleVectorizer, TopicFeatures]:
    """The archive, the labelled articles, the default corpus, and the vectorizer and topic
    features fitted on the archive as ``NewsModel.train`` fits them."""
    archive, labelled, extra = E.archive(), E.corpus("topics_dev"), E.default_articles()
    E.say("fitting the vectorizer and the topic features on the archive")
    vectorizer = ArticleVectorizer()
    X = vectorizer.fit_transform_lead(archive, TopicFeatures().body_chars)[0]
    return archive, labelled, extra, vectorizer, TopicFeatures().fit_prefit(vectorizer, X)


def table_row(label: str, scored: tuple[np.ndarray, float, float],
              base: np.ndarray | None = None) -> str:
    """A row of the printed table, of what :func:`scores` returned; ``base`` is the
    defaults' folds, for the paired difference (``None``: this is the defaults' row)."""
    folds, prisoners, alone = scored
    gain = "" if base is None else f"{(folds - base).mean():+.4f} ± {(folds - base).std():.4f}"
    return f"| {label} | {folds.mean():.4f} | {gain} | {prisoners:.3f} | {alone:.3f} |"


def print_table(command: str, started: float, what: str, folds: str, rows: list[str]) -> None:
    print(f"\n`{command}` ({(time.perf_counter() - started) / 60:.0f} min; {E.git_state()})\n")
    print(f"| {what} | macro-F1 ({folds} folds) | paired Δ | prisoners F1 | no labels |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    args = parser.parse_args(argv)
    try:
        import gensim  # noqa: F401
    except ImportError:
        sys.exit("topic_trials.py needs gensim: pip install -e '.[trials]'")
    started = time.perf_counter()
    archive, labelled, extra, vectorizer, features = archive_features()
    y, y_extra = np.array([a.topic for a in labelled], dtype=object), [a.topic for a in extra]
    F, F_extra = features.transform(labelled), features.transform(extra)
    defaults = scores(F, F_extra, y, y_extra)
    base, rows = defaults[0], [table_row("defaults", defaults)]
    E.say("the archive's terms")
    titles, bodies = vectorizer.clean_bodies(archive)
    analyze = vectorizer.words_.analyzer
    texts = [analyze(t) + analyze(b) for t, b in zip(titles, bodies)]
    del titles, bodies
    idf = dict(zip(vectorizer.words_.terms_, vectorizer.tfidf_.idf_))
    for name in args.models:
        E.say(f"training {name}")
        vectors = word_vectors(*MODELS[name], texts)
        D, D_extra = (article_vectors(vectors, vectorizer, a, idf) for a in (labelled, extra))
        for weight in WEIGHTS:
            beside = [sp.hstack([M, sp.csr_matrix(V * weight)], format="csr")
                      for M, V in ((F, D), (F_extra, D_extra))]
            rows.append(table_row(f"{name}, weight {weight}", scores(*beside, y, y_extra), base))
            E.say(rows[-1])
    print_table(f"python training/topic_trials.py --models {' '.join(args.models)}", started,
                "features", "3 × 5", rows)
    return 0

if __name__ == "__main__":
    sys.exit(main())
