#!/usr/bin/env python
"""Score the current defaults, and a few one-change variants, on the real gold sets.

    python training/check_defaults.py                  # writes training/DEFAULTS.md (about 2 min)
    python training/check_defaults.py --out other.md

The quick companion of ``experiments.py`` (whose full run takes about 15 minutes): the same
data, splits and metrics, for the product as it is now. It reports

- topics: macro-F1 of 5-fold cross-validation on ``topics_dev`` (features fitted on the
  60,502-article archive, the default corpus added to every training fold);
- claim groups: nDCG@10 (and P@5, R@10, MRR) with the index built on the fact-check
  pages alone and on all 60,502 articles (the drop is the distractor cost);
- graded judgments: condensed nDCG@10 over an index of all 60,502 articles, and the
  same on the 10-item lists a reader sees (their unjudged suggestions dropped, not
  replaced by deeper ones).

The data is read in place from ``../shared/data``; nothing of it is written here.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))
import experiments as E  # noqa: E402  (training/experiments.py: data loading, splits)

import recsys  # noqa: E402
from recsys import ArticleVectorizer, RelatedIndex, TopicClassifier, TopicFeatures  # noqa: E402
from recsys.evaluation import (graded_metrics, read_graded_judgments,  # noqa: E402
                               read_related_gold, related_metrics)

VARIANTS = [  # (label, ArticleVectorizer params, related-list settings)
    ("**defaults**", {}, {}),
    ("recency off", {}, {"half_life_days": None}),
    ("undated_weight 1 (undated as fresh)", {}, {"undated_weight": 1.0}),
    ("duplicate_threshold 0.9", {}, {"duplicate_threshold": 0.9}),
    ("copies by cosine alone (copy_overlap None)", {}, {"copy_overlap": None}),
    ("site word-run boilerplate off", {"site_run_words": None}, {}),
    ("lead blend off", {"lead_blend": 0}, {}),
    ("themes off", {}, {"theme_weight": 0}),
    ("themes in every list (theme_below 1)", {}, {"theme_below": 1.0}),
    ("phrases off (`recsys train --no-phrases`)", {"phrase_docs": None}, {}),
    ("phrase_weight 0.5", {}, {"phrase_weight": 0.5}),
]


def topics_cv(features: TopicFeatures) -> tuple[float, float, list[float], tuple[float, float]]:
    """Cross-validated macro-F1 (mean, std, pooled per-topic F1), and the macro-F1 and
    prisoners F1 on all of ``topics_dev`` of the classifier trained on the default corpus
    alone over the same archive features: what ``recsys train`` on an archive without
    labelled articles gives a site. ``features``: fitted on the archive."""
    labelled = E.corpus("topics_dev")
    y = np.array([a.topic for a in labelled], dtype=object)
    extra = E.default_articles()
    F, F_extra = features.transform(labelled), features.transform(extra)
    y_extra = [a.topic for a in extra]
    predicted = np.empty(len(y), dtype=object)
    per_fold = []
    for train, test in StratifiedKFold(5, shuffle=True, random_state=E.SEED).split(F, y):
        model = TopicClassifier().fit(sp.vstack([F[train], F_extra]), list(y[train]) + y_extra)
        predicted[test] = model.predict(F[test])
        per_fold.append(f1_score(y[test], predicted[test], average="macro"))
    per_topic = f1_score(y, predicted, average=None, labels=list(recsys.TOPICS))
    alone = TopicClassifier().fit(F_extra, y_extra).predict(F)
    unlabelled_site = (float(f1_score(y, alone, average="macro")),
                       float(f1_score(y, alone, average=None, labels=list(recsys.TOPICS))[1]))
    return float(np.mean(per_fold)), float(np.std(per_fold)), [float(v) for v in per_topic], \
        unlabelled_site


def shipped_corpus_topics() -> tuple[float, float, int]:
    """Macro-F1 and prisoners F1 on all of ``topics_dev`` of a model trained on the
    shipped default corpus alone: what a fresh clone's ``recsys train`` gets."""
    shipped = E.default_articles()
    labelled = E.corpus("topics_dev")
    y = [a.topic for a in labelled]
    predicted = [p.topic for p in recsys.NewsModel.train(shipped).classify(labelled)]
    per_topic = f1_score(y, predicted, average=None, labels=list(recsys.TOPICS))
    return float(f1_score(y, predicted, average="macro")), float(per_topic[1]), len(shipped)


def lists(X: sp.csr_matrix, articles: list, queries: list[str], themes: np.ndarray | None = None,
          signatures: tuple | None = None, phrases: tuple | None = None,
          **settings) -> dict[str, list[str]]:
    index = RelatedIndex().fit(X, [a.id for a in articles], dates=[a.date for a in articles],
                               themes=themes, signatures=signatures, phrases=phrases)
    return {q: [str(i) for i in r.ids] for q, r in index.similar_batch(queries, E.DEPTH, **settings)}


def fitted_indexes(factcheck: list, archive: list,
                   **params) -> tuple[tuple, TopicFeatures, tuple]:
    """What the lists of ``ArticleVectorizer(**params)`` are scored on, fitted as
    ``NewsModel.train`` fits them: the fact-check index's ``(rows, themes, signatures,
    phrases)``, the archive's topic features, and the archive index's ``(rows, themes,
    signatures, phrases)``."""
    vf, va = ArticleVectorizer(**params), ArticleVectorizer(**params)
    # As NewsModel.train fits them: the same rows and column order, on which the
    # randomized LSA (topic features, themes) depends.
    Xf, Xa = (v.fit_transform_lead(a, TopicFeatures().body_chars)[0]
              for v, a in ((vf, factcheck), (va, archive)))
    # One LSA per index, as NewsModel.train fits it: the topic features and the themes of
    # the index come from it.
    features_a = TopicFeatures().fit_prefit(va, Xa)
    return ((Xf, TopicFeatures().fit_prefit(vf, Xf).themes(Xf), vf.fitted_signatures(),
             vf.fitted_phrases()),
            features_a, (Xa, features_a.themes(Xa), va.fitted_signatures(), va.fitted_phrases()))


def claim_fold_ndcg(found: dict[str, list[str]], claim_gold: dict[str, set[str]],
                    fold: dict[str, str]) -> np.ndarray:
    """nDCG@10 of the lists ``found`` over each of the corpus's claim folds (``fold``: a
    query's fold), for differences paired by fold."""
    return np.array([related_metrics(found, {q: g for q, g in claim_gold.items()
                                             if fold[q] == f})["ndcg@10"]
                     for f in sorted({fold[q] for q in claim_gold})])


def gold_sets() -> tuple[list, list, dict, list[str], dict]:
    """The fact-check pages, the whole archive, the claim groups, their queries, and the
    graded judgments of the queries that have a positive one."""
    gold = read_related_gold(E.DATA / "syria_factcheck.jsonl.gz")
    judged = {q: g for q, g in read_graded_judgments(E.DATA / "related_judged_dev.jsonl.gz").items()
              if max(g.values(), default=0) > 0}
    return E.corpus("syria_factcheck"), E.archive(), gold, sorted(gold), judged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "DEFAULTS.md")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    factcheck, archive, gold, claims, judged = gold_sets()
    rows = []
    fitted: dict[str, tuple] = {}
    for label, params, settings in VARIANTS:
        key = repr(sorted(params.items()))
        if key not in fitted:
            E.say(f"fitting {params or 'the defaults'} on the fact-check pages and the archive")
            fitted[key] = fitted_indexes(factcheck, archive, **params)
        on_factcheck, features_a, on_archive = fitted[key]
        E.say(f"scoring {label}")
        cf = related_metrics(lists(on_factcheck[0], factcheck, claims, *on_factcheck[1:],
                                   **settings), {q: gold[q] for q in claims})
        both = lists(on_archive[0], archive, claims + sorted(judged), *on_archive[1:], **settings)
        ca = related_metrics(both, {q: gold[q] for q in claims})
        graded = graded_metrics(both, judged, ks=(5, 10))
        shown = graded_metrics({q: found[:10] for q, found in both.items()}, judged, ks=(10,))
        topics = topics_cv(features_a) if not settings else None
        rows.append((label, cf, ca, graded, shown, topics))
    E.say("training on the shipped default corpus alone")
    macro, prisoners, n_shipped = shipped_corpus_topics()
    lines = [
        "# The current defaults on the real gold sets",
        "",
        f"Made by `python training/check_defaults.py` ({time.perf_counter() - started:.0f} s; "
        f"{E.git_state()}). Targets: topics macro-F1 ≥ 0.85, claims (fact-check index) ≥ 0.50 "
        "and no more than 0.03 lower with the 57k distractors, graded ≥ 0.85.",
        "",
        "| variant | topics macro-F1 (5-fold) | prisoners F1 | claims nDCG@10, fact-check index "
        "| P@5 | R@10 | MRR | claims nDCG@10, +57k | drop | graded nDCG@10 | graded, 10-item lists |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, cf, ca, graded, shown, topics in rows:
        topic_cells = (f"{topics[0]:.3f} ± {topics[1]:.3f} | {topics[2][1]:.3f}" if topics
                       else "(same features) | ")
        lines.append(f"| {label} | {topic_cells} | {cf['ndcg@10']:.4f} | {cf['p@5']:.3f} | "
                     f"{cf['r@10']:.3f} | {cf['mrr']:.3f} | {ca['ndcg@10']:.4f} | "
                     f"{cf['ndcg@10'] - ca['ndcg@10']:+.4f} | {graded['ndcg@10']:.4f} | "
                     f"{shown['ndcg@10']:.4f} |")
    *_, (site_macro, site_prisoners) = rows[0][5]  # the defaults' topics_cv
    lines += ["", f"Trained on the shipped default corpus alone ({n_shipped} written articles), the "
              f"classifier scores topics macro-F1 {macro:.3f} (prisoners F1 {prisoners:.3f}) on all "
              f"601 articles of topics_dev with features fitted on the corpus itself (what a fresh "
              f"clone trains), and {site_macro:.3f} (prisoners F1 {site_prisoners:.3f}) with features "
              f"fitted on the 60,502-article archive (what `recsys train` on a site's archive with "
              f"no labelled articles gives)."]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
