#!/usr/bin/env python
"""Trials of related-list features that recsys does not offer: word bigrams beside the
word terms, and the IDF raised to a power. Prints a markdown table (about 10 min).

    python training/related_trials.py

Same data, gold sets and metrics as ``check_defaults.py``: claim groups with the index
built on the fact-check pages alone and on all 60,502 articles (nDCG@10 over the
corpus's claim folds; Δ is the paired difference from the defaults, mean ± std over the
folds), and graded nDCG@10 (condensed) with the 60,502-article index.

- *Bigrams*: pairs of consecutive terms (after stop words and stemming) of the cleaned
  title and body, counted with scikit-learn's ``CountVectorizer``, sublinear TF-IDF,
  unit rows, times a weight, beside the default rows, then the whole row normalised
  (as the ``char_ngrams`` block is). "top N" keeps each article's N heaviest bigrams.
- *IDF power*: each column of the default rows times ``idf ** (p - 1)``, rows
  normalised again: after the lead blend, so an approximation of weighting by
  ``idf ** p`` from the start, enough to see which way it goes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

sys.path.insert(0, str(Path(__file__).resolve().parent))
import experiments as E  # noqa: E402  (training/experiments.py: data loading)
from check_defaults import gold_sets, lists  # noqa: E402

from recsys import ArabicAnalyzer, ArticleVectorizer  # noqa: E402
from recsys.evaluation import graded_metrics, related_metrics  # noqa: E402
from recsys.features import unit_rows  # noqa: E402

ANALYZER = ArabicAnalyzer()
BIGRAMS = [  # (min_df, weight, heaviest per article or None for all)
    (3, 0.8, None), (3, 1.0, None), (3, 1.2, None), (10, 0.8, None), (10, 1.2, None), (3, 0.8, 40), (3, 0.8, 20)]
IDF_POWERS = [0.5, 1.5, 2.0]


def bigrams(text: str) -> list[str]:
    terms = ANALYZER(text)
    return [f"{a} {b}" for a, b in zip(terms, terms[1:])]


def bigram_rows(vectorizer: ArticleVectorizer, articles: list, min_df: int,
                heaviest: int | None) -> sp.csr_matrix:
    titles, bodies = vectorizer.clean_bodies(articles)
    counts = CountVectorizer(analyzer=bigrams, min_df=min_df, dtype=np.float32).fit_transform(
        [f"{t}\n{b}" for t, b in zip(titles, bodies)])
    rows = TfidfTransformer(sublinear_tf=True, norm=None).fit_transform(counts).tocsr()
    if heaviest is not None:
        for r in range(rows.shape[0]):
            values = rows.data[rows.indptr[r]:rows.indptr[r + 1]]
            if len(values) > heaviest:
                values[values < np.partition(values, -heaviest)[-heaviest]] = 0
        rows.eliminate_zeros()
    return unit_rows(rows)


def beside(X: sp.csr_matrix, B: sp.csr_matrix, weight: float) -> sp.csr_matrix:
    return unit_rows(sp.hstack([X, B * np.float32(weight)], format="csr").astype(np.float32))


def idf_power(X: sp.csr_matrix, vectorizer: ArticleVectorizer, p: float) -> sp.csr_matrix:
    scale = (vectorizer.tfidf_.idf_ ** (p - 1)).astype(np.float32)
    return unit_rows(sp.csr_matrix(X @ sp.diags(scale)))


def main() -> int:
    started = time.perf_counter()
    factcheck, archive, gold, claims, judged = gold_sets()
    fold_of = {a.id: a.extra.get("fold") for a in factcheck}
    folds = sorted({fold_of[q] for q in claims})

    def scores(Xf: sp.csr_matrix, Xa: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, float]:
        on_factcheck = lists(Xf, factcheck, claims)
        on_archive = lists(Xa, archive, claims + sorted(judged))

        def per_fold(found: dict) -> np.ndarray:
            return np.array([related_metrics({q: found[q] for q in claims if fold_of[q] == f},
                                             {q: gold[q] for q in claims if fold_of[q] == f})["ndcg@10"]
                             for f in folds])
        return (per_fold(on_factcheck), per_fold(on_archive),
                graded_metrics(on_archive, judged, ks=(10,))["ndcg@10"])

    E.say("fitting the defaults on the fact-check pages and on the archive")
    vf, va = ArticleVectorizer(), ArticleVectorizer()
    Xf, Xa = vf.fit_transform(factcheck), va.fit_transform(archive)
    base = scores(Xf, Xa)
    rows = [("**defaults**", base, Xa.nnz)]
    for p in IDF_POWERS:
        E.say(f"IDF power {p}")
        rows.append((f"IDF power {p}", scores(idf_power(Xf, vf, p), idf_power(Xa, va, p)), Xa.nnz))
    for min_df, weight, heaviest in BIGRAMS:
        E.say(f"bigrams min_df {min_df}, weight {weight}, heaviest {heaviest}")
        Bf = bigram_rows(vf, factcheck, min(min_df, 3), heaviest)  # 2,886 pages: df 10 is rare
        Ba = bigram_rows(va, archive, min_df, heaviest)
        label = (f"bigrams, min_df {min_df}, weight {weight}"
                 + (f", top {heaviest} per article" if heaviest else ""))
        rows.append((label, scores(beside(Xf, Bf, weight), beside(Xa, Ba, weight)), Xa.nnz + Ba.nnz))
    lines = [f"Made by `python training/related_trials.py` ({time.perf_counter() - started:.0f} s; "
             f"{E.git_state()}).", "",
             "| variant | claims nDCG@10, fact-check index | Δ (paired folds) | claims, +57k | Δ | drop "
             "| graded nDCG@10 | Δ | nnz of the 60,502 rows |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, (on_factcheck, on_archive, graded), nnz in rows:
        d1, d2 = on_factcheck - base[0], on_archive - base[1]
        lines.append(f"| {label} | {on_factcheck.mean():.4f} | {d1.mean():+.4f} ± {d1.std():.4f} | "
                     f"{on_archive.mean():.4f} | {d2.mean():+.4f} ± {d2.std():.4f} | "
                     f"{on_factcheck.mean() - on_archive.mean():.4f} | {graded:.4f} | "
                     f"{graded - base[2]:+.4f} | {nnz:,} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
