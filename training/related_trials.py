#!/usr/bin/env python
"""Trials of related-list features that recsys does not offer: word bigrams beside the
word terms, the IDF raised to a power, and bigrams with LSA re-ranking the lists.
Prints a markdown table.

    python training/related_trials.py            # bigrams and IDF powers
    python training/related_trials.py --rerank   # bigrams and LSA re-ranking the lists (2 min)
    python training/related_trials.py --phrases  # rare bigrams re-scoring the product's lists (2 min)

Same data, gold sets and metrics as ``check_defaults.py``: claim groups with the index
built on the fact-check pages alone and on all 60,502 articles (nDCG@10 over the
corpus's claim folds; Δ is the paired difference from the defaults, mean ± std over the
folds), and graded nDCG@10 (condensed) with the 60,502-article index. The lists are the
word rows' alone, without the index's themes (which ``check_defaults.py`` measures).

- *Bigrams*: pairs of consecutive terms (after stop words and stemming) of the cleaned
  title and body, counted with scikit-learn's ``CountVectorizer``, sublinear TF-IDF,
  unit rows, times a weight, beside the default rows, then the whole row normalised
  (as the ``char_ngrams`` block is). "top N" keeps each article's N heaviest bigrams.
- *IDF power*: each column of the default rows times ``idf ** (p - 1)``, rows
  normalised again: after the lead blend, so an approximation of weighting by
  ``idf ** p`` from the start, enough to see which way it goes.
- *Re-ranking* (``--rerank``): each default list, 100 deep, re-ordered by
  ``(1 - g) * (s + w**2 * b) / (1 + w**2) + g * l`` times the candidate's recency
  factor (its default score over its word cosine ``s``), where ``b`` is the cosine of
  the bigram rows (min_df 3) and ``l`` that of 100 LSA dimensions fitted as the topic
  features fit theirs (20,000 of the index's rows, one power iteration). The readers'
  lists are the first 10 of the re-ranked ones; "quantized" stores the candidates'
  bigram weights in 8 bits and their LSA rows in 8-bit integers, as a compact index would.
- *Rare phrases* (``--phrases``): the product's own lists, 100 deep (themes, copy
  signatures, recency, as ``check_defaults.py`` scores them), each candidate's score
  plus ``w`` times the cosine of the two articles' bigram rows (min_df 3) kept to the
  bigrams found in at most ``N`` articles of the index (the rows normalised again): a
  phrase a few articles share marks one story; one hundreds share is a set phrase.
  "Words as written": bigrams of the raw words, stop words and all, unstemmed.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

sys.path.insert(0, str(Path(__file__).resolve().parent))
import experiments as E  # noqa: E402  (training/experiments.py: data loading)
from check_defaults import fitted_indexes, gold_sets, lists  # noqa: E402

from recsys import ArabicAnalyzer, ArticleVectorizer, RelatedIndex  # noqa: E402
from recsys.arabic import raw_words  # noqa: E402
from recsys.evaluation import graded_metrics, related_metrics  # noqa: E402
from recsys.features import unit_rows  # noqa: E402

ANALYZER = ArabicAnalyzer()
BIGRAMS = [  # (min_df, weight, heaviest per article or None for all)
    (3, 0.8, None), (3, 1.0, None), (3, 1.2, None), (10, 0.8, None), (10, 1.2, None), (3, 0.8, 40), (3, 0.8, 20)]
IDF_POWERS = [0.5, 1.5, 2.0]
PHRASES = [  # (at most N articles or None for all, weight w, words as written)
    (30, 0.5, False), (30, 0.8, False), (30, 1.0, False), (100, 0.8, False), (300, 0.8, False),
    (None, 0.5, False), (None, 0.8, False), (30, 0.5, True), (30, 0.8, True), (30, 1.0, True)]
RERANK = [  # (bigram weight w, LSA weight g, quantized)
    (0, 0.1, False), (0, 0.2, False), (0.8, 0, False), (1.0, 0, False), (0.9, 0.15, False),
    (0.9, 0.15, True), (1.0, 0.15, False), (1.0, 0.2, False), (1.2, 0.1, False)]


def bigrams(text: str) -> list[str]:
    terms = ANALYZER(text)
    return [f"{a} {b}" for a, b in zip(terms, terms[1:])]


def surface_bigrams(text: str) -> list[str]:
    """Pairs of consecutive words as written (:func:`recsys.arabic.raw_words`: no stop
    words dropped, no stemming): what the counting processes already hash."""
    return [f"{a} {b}" for a, b in itertools.pairwise(raw_words(text))]


def bigram_rows(vectorizer: ArticleVectorizer, articles: list, min_df: int,
                heaviest: int | None, pairs=bigrams) -> sp.csr_matrix:
    titles, bodies = vectorizer.clean_bodies(articles)
    counts = CountVectorizer(analyzer=pairs, min_df=min_df, dtype=np.float32).fit_transform(
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


def latent_rows(X: sp.csr_matrix) -> np.ndarray:
    """Unit rows of 100 LSA dimensions, fitted as ``TopicFeatures`` fits its own."""
    sample = np.sort(np.random.default_rng(0).permutation(X.shape[0])[:20000])
    svd = TruncatedSVD(100, n_iter=1, random_state=0).fit(X[sample])
    Z = np.asarray(X @ svd.components_.T.astype(np.float32), dtype=np.float32)
    return Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-9)


def quantized(B: sp.csr_matrix, Z: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """``B`` with each row's weights on 255 steps of its largest, ``Z`` on int8 steps."""
    B = B.copy()
    top = np.maximum.reduceat(B.data, B.indptr[:-1]) if B.nnz else B.data
    scale = np.repeat(np.where(np.diff(B.indptr) > 0, top, 1) / 255, np.diff(B.indptr))
    B.data = (np.round(B.data / scale) * scale).astype(np.float32)
    step = np.maximum(np.abs(Z).max(axis=1, keepdims=True), 1e-9) / 127
    return B, (np.round(Z / step) * step).astype(np.float32)


def scored_lists(X: sp.csr_matrix, articles: list, queries: list[str],
                 themes: np.ndarray | None = None, signatures: tuple | None = None) -> dict:
    """The default lists, 100 deep, as (query row, rows, scores)."""
    index = RelatedIndex().fit(X, [a.id for a in articles], dates=[a.date for a in articles],
                               themes=themes, signatures=signatures)
    return {q: (index.row_of_.get(q),
                np.array([index.row(i) for i in r.ids], dtype=np.int64), r.scores.astype(np.float64))
            for q, r in index.similar_batch(queries, E.DEPTH)}


def reranked(found: dict, X: sp.csr_matrix, B: sp.csr_matrix, Bc: sp.csr_matrix, Z: np.ndarray,
             Zc: np.ndarray, ids: list[str], w: float, g: float) -> dict[str, list[str]]:
    """``found`` re-ordered as the module's docstring says (``Bc``, ``Zc``: the
    candidates' rows, quantized or not)."""
    out = {}
    for q, (row, rows, scores) in found.items():
        words = (X[rows] @ X[row].T).toarray().ravel()
        recency = np.where(words > 0, scores / np.maximum(words, 1e-12), 1.0)
        mixed = (words + w * w * (Bc[rows] @ B[row].T).toarray().ravel()) / (1 + w * w)
        mixed = (1 - g) * mixed + g * (Zc[rows] @ Z[row])
        out[q] = [ids[r] for r in rows[np.argsort(-mixed * recency, kind="stable")]]
    return out


def rare_phrases(B: sp.csr_matrix, most: int | None) -> sp.csr_matrix:
    """``B`` kept to the bigrams in at most ``most`` of its rows, unit rows again."""
    if most is None:
        return B
    df = np.bincount(B.indices, minlength=B.shape[1])
    return unit_rows(sp.csr_matrix(B @ sp.diags((df <= most).astype(np.float32))))


def rescored(found: dict, B: sp.csr_matrix, ids: list[str], w: float) -> dict[str, list[str]]:
    """``found`` re-ordered by each candidate's score plus ``w`` times its phrase cosine."""
    out = {}
    for q, (row, rows, scores) in found.items():
        phrases = (B[rows] @ B[row].T).toarray().ravel() if len(rows) else np.zeros(0)
        out[q] = [str(ids[r]) for r in rows[np.argsort(-(scores + w * phrases), kind="stable")]]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rerank", action="store_true", help="the re-ranking table instead")
    parser.add_argument("--phrases", action="store_true",
                        help="the rare phrases' table (the product's lists re-scored) instead")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    factcheck, archive, gold, claims, judged = gold_sets()
    fold_of = {a.id: a.extra.get("fold") for a in factcheck}
    folds = sorted({fold_of[q] for q in claims})

    def measured(on_factcheck: dict, on_archive: dict) -> tuple:
        """Claims nDCG@10 per fold on both indexes, graded nDCG@10 (condensed, and on
        10-item lists) and graded P@5."""
        def per_fold(found: dict) -> np.ndarray:
            return np.array([related_metrics({q: found[q] for q in claims if fold_of[q] == f},
                                             {q: gold[q] for q in claims if fold_of[q] == f})["ndcg@10"]
                             for f in folds])
        graded = graded_metrics(on_archive, judged, ks=(10,))
        readers = graded_metrics({q: v[:10] for q, v in on_archive.items()}, judged, ks=(10,))
        return (per_fold(on_factcheck), per_fold(on_archive), graded["ndcg@10"],
                readers["ndcg@10"], graded["p@5"])

    def scores(Xf: sp.csr_matrix, Xa: sp.csr_matrix) -> tuple:
        return measured(lists(Xf, factcheck, claims), lists(Xa, archive, claims + sorted(judged)))

    if args.phrases:
        return phrases_table(factcheck, archive, claims, judged, measured, started)
    E.say("fitting the defaults on the fact-check pages and on the archive")
    vf, va = ArticleVectorizer(), ArticleVectorizer()
    Xf, Xa = vf.fit_transform(factcheck), va.fit_transform(archive)
    rows = []
    if args.rerank:
        E.say("bigrams, LSA and the default lists")
        sides = []
        for X, v, articles, queries in ((Xf, vf, factcheck, claims),
                                        (Xa, va, archive, claims + sorted(judged))):
            B, Z = bigram_rows(v, articles, 3, None), latent_rows(X)
            sides.append((X, B, Z, quantized(B, Z), scored_lists(X, articles, queries),
                          [a.id for a in articles]))
        base = measured(*(reranked(found, X, B, B, Z, Z, ids, 0, 0)
                          for X, B, Z, _, found, ids in sides))
        rows.append(("**defaults**", base, None))
        for w, g, packed in RERANK:
            E.say(f"re-ranking: bigrams {w}, LSA {g}{', quantized' if packed else ''}")
            rows.append((f"bigrams {w}, LSA {g}" + (", quantized" if packed else ""), measured(
                *(reranked(found, X, B, Q[0] if packed else B, Z, Q[1] if packed else Z, ids, w, g)
                  for X, B, Z, Q, found, ids in sides)), None))
    else:
        base = scores(Xf, Xa)
        rows.append(("**defaults**", base, Xa.nnz))
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
    last = "nnz of the 60,502 rows" if not args.rerank else "graded P@5"
    print(table("--rerank" if args.rerank else "", started, rows, base, last))
    return 0


def table(option: str, started: float, rows: list, base: tuple, last: str) -> str:
    """The markdown table of ``rows`` (label, measured, last column's count or None for
    graded P@5), differences paired with ``base``."""
    lines = [f"Made by `python training/related_trials.py{' ' + option if option else ''}` "
             f"({time.perf_counter() - started:.0f} s; {E.git_state()}).", "",
             "| variant | claims nDCG@10, fact-check index | Δ (paired folds) | claims, +57k | Δ | drop "
             f"| graded nDCG@10 | Δ | graded, 10-item lists | {last} |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for label, (on_factcheck, on_archive, graded, readers, p5), nnz in rows:
        d1, d2 = on_factcheck - base[0], on_archive - base[1]
        last_cell = f"{p5:.3f}" if nnz is None else f"{nnz:,}"
        lines.append(f"| {label} | {on_factcheck.mean():.4f} | {d1.mean():+.4f} ± {d1.std():.4f} | "
                     f"{on_archive.mean():.4f} | {d2.mean():+.4f} ± {d2.std():.4f} | "
                     f"{on_factcheck.mean() - on_archive.mean():.4f} | {graded:.4f} | "
                     f"{graded - base[2]:+.4f} | {readers:.4f} | {last_cell} |")
    return "\n".join(lines)


def phrases_table(factcheck: list, archive: list, claims: list[str], judged: dict,
                  measured, started: float) -> int:
    """The ``--phrases`` table: the product's lists re-scored by rare phrases."""
    E.say("fitting the product's indexes and the bigram rows")
    on_factcheck, _, on_archive = fitted_indexes(factcheck, archive)
    sides = []
    for (X, themes, signatures, _), articles, queries in (
            (on_factcheck, factcheck, claims), (on_archive, archive, claims + sorted(judged))):
        vectorizer = ArticleVectorizer().fit(articles)
        sides.append(({written: bigram_rows(vectorizer, articles, 3, None,
                                            surface_bigrams if written else bigrams)
                       for written in (False, True)},
                      scored_lists(X, articles, queries, themes, signatures),
                      [a.id for a in articles]))
    base = measured(*(rescored(found, B[False], ids, 0) for B, found, ids in sides))
    rows = [("**defaults** (the product's lists)", base, 0)]
    for most, w, written in PHRASES:
        E.say(f"phrases in at most {most} articles, weight {w}, words as written: {written}")
        kept = [rare_phrases(B[written], most) for B, _, _ in sides]
        label = f"phrases in ≤ {most} articles, w {w}" if most else f"all phrases, w {w}"
        rows.append((label + (", words as written" if written else ""),
                     measured(*(rescored(found, B, ids, w)
                                for B, (_, found, ids) in zip(kept, sides))), kept[1].nnz))
    print(table("--phrases", started, rows, base, "phrase entries, 60,502 rows"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
