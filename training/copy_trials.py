#!/usr/bin/env python
"""Related lists: copies of the query told by shared text as well as by cosine. Prints a
markdown table.

    python training/copy_trials.py          # about 4 min

Until the seventeenth stop the product dropped a candidate whose cosine with the query
reaches ``duplicate_threshold`` (0.8) as a copy, and of two suggestions that close to
each other kept only the better. A cosine of 0.8 says "the same words", not "the same
text": other outlets' write-ups of one story reach it too. Here a pair is a copy only if
it also shares its text: the containment of the n-word shingles of the cleaned titles
and bodies (shared shingles over those of the shorter one) reaches τ, computed exactly
or estimated from MinHash values. The product now does this with 32 MinHash values
(``copy_overlap`` in ``RelatedSettings``, :mod:`recsys.copies`); this script is the trial
that chose it.

Scored as ``check_defaults.py`` scores the defaults: the lists are the product's, asked
100 deep without collapsing and then filtered by each copy test; claim groups on the
fact-check index (paired over the corpus's claim folds) and with the other 57k articles
as distractors, graded judgments over all 60,502 articles (condensed, and the 10-item
lists readers see). The first row reproduces the "copies by cosine alone" row of
``DEFAULTS.md`` within 0.001 (the product collapses copies within its candidate pool,
this script after the 100-deep list).
"""

from __future__ import annotations

import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import experiments as E  # noqa: E402  (training/experiments.py: data loading)
from check_defaults import claim_fold_ndcg, gold_sets, lists  # noqa: E402

from recsys import ArticleVectorizer, TopicFeatures  # noqa: E402
from recsys.evaluation import graded_metrics, related_metrics  # noqa: E402
from recsys.features import unit_rows  # noqa: E402

COSINE = 0.8  # the default duplicate_threshold
VARIANTS = [  # (label, shingle words, τ, MinHash values or 0 for exact containment)
    ("cosine only (before the seventeenth stop)", 5, 0.0, 0),
    ("and 5-word shingles ≥ 0.6", 5, 0.6, 0),
    ("and 5-word shingles ≥ 0.7", 5, 0.7, 0),
    ("and 5-word shingles ≥ 0.8", 5, 0.8, 0),
    ("and 3-word shingles ≥ 0.7", 3, 0.7, 0),
    ("and 5-word shingles ≥ 0.7, 32 MinHash values", 5, 0.7, 32),
    ("and 5-word shingles ≥ 0.7, 64 MinHash values", 5, 0.7, 64),
]
Signature = tuple[np.ndarray, int]  # the shingle hashes (or MinHash values), how many shingles


def shingles(text: str, n: int) -> np.ndarray:
    """The distinct hashes of the text's runs of ``n`` words (stable across processes)."""
    words = text.split()
    runs = {" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}
    return np.unique(np.fromiter((zlib.crc32(r.encode()) for r in runs), dtype=np.uint64,
                                 count=len(runs)))


def min_hashes(hashes: np.ndarray, k: int) -> np.ndarray:
    """``k`` MinHash values (multiply-shift hashing, fixed seed) of a shingle set."""
    rng = np.random.default_rng(0)
    a = rng.integers(1, 2**63, size=k, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=k, dtype=np.uint64)
    mixed = hashes * np.uint64(0x9E3779B97F4A7C15)  # spread crc32's 32 bits over 64
    return ((mixed[:, None] * a + b) >> np.uint64(40)).min(axis=0)


def containment(a: Signature, b: Signature, k: int) -> float:
    """Shared shingles over the smaller set's, exact (``k`` 0) or from MinHash values:
    the estimated Jaccard J gives the shared count J (|A| + |B|) / (1 + J)."""
    (ha, na), (hb, nb) = a, b
    if not k:
        return len(np.intersect1d(ha, hb, assume_unique=True)) / max(1, min(na, nb))
    jaccard = float(np.mean(ha == hb))
    return jaccard * (na + nb) / ((1 + jaccard) * max(1, min(na, nb)))


def uncollapsed(articles: list, queries: list[str]) -> tuple[sp.csr_matrix, list[str], dict]:
    """Unit rows, cleaned texts and the product's 100-deep lists asked without collapsing
    copies, as ``check_defaults.py`` fits an index."""
    vectorizer = ArticleVectorizer()
    X = vectorizer.fit_transform_lead(articles, TopicFeatures().body_chars)[0]
    themes = TopicFeatures().fit_prefit(vectorizer, X).themes(X)
    titles, bodies = vectorizer.clean_bodies(articles)
    found = lists(X, articles, queries, themes, duplicate_threshold=None)
    return unit_rows(X).tocsr(), [f"{t}\n{b}" for t, b in zip(titles, bodies)], found


def without_copies(found: dict[str, list[str]], row: dict[str, int], X: sp.csr_matrix,
                   is_copy: Callable[[int, int], bool]) -> dict[str, list[str]]:
    """The lists with the copies of the query dropped and, of suggestions that are copies
    of each other, the first kept (the product's two tests, cosine first)."""
    out = {}
    for query, ids in found.items():
        rows = [row[i] for i in ids]
        C = X[rows]
        to_query = (C @ X[row[query]].T).toarray().ravel()
        between = (C @ C.T).toarray()
        kept: list[int] = []
        for j, r in enumerate(rows):
            if to_query[j] >= COSINE and is_copy(row[query], r):
                continue
            if not any(between[j, i] >= COSINE and is_copy(rows[i], r) for i in kept):
                kept.append(j)
        out[query] = [ids[j] for j in kept]
    return out


def scored(articles: list, queries: list[str]) -> dict[str, dict[str, list[str]]]:
    """Each variant's lists for ``queries`` on an index of ``articles``."""
    X, texts, found = uncollapsed(articles, queries)
    row = {a.id: i for i, a in enumerate(articles)}
    signatures: dict[tuple[int, int, int], Signature] = {}

    def signature(i: int, n: int, k: int) -> Signature:
        if (i, n, k) not in signatures:
            hashes = shingles(texts[i], n)
            signatures[i, n, k] = (min_hashes(hashes, k) if k else hashes, len(hashes))
        return signatures[i, n, k]

    out = {}
    for label, n, tau, k in VARIANTS:
        E.say(f"lists: {label}")
        out[label] = without_copies(found, row, X, lambda a, b, n=n, tau=tau, k=k: tau == 0 or (
            containment(signature(a, n, k), signature(b, n, k), k) >= tau))
    return out


def main() -> int:
    started = time.perf_counter()
    factcheck, archive, gold, claims, judged = gold_sets()
    claim_gold = {q: gold[q] for q in claims}
    fold = {a.id: a.extra.get("fold") for a in factcheck}
    E.say("the fact-check index")
    alone = scored(factcheck, claims)
    E.say("the index of all 60,502 articles")
    both = scored(archive, claims + sorted(judged))

    base = claim_fold_ndcg(alone[VARIANTS[0][0]], claim_gold, fold)
    print(f"\n`python training/copy_trials.py` ({(time.perf_counter() - started) / 60:.0f} min; "
          f"{E.git_state()})\n")
    print("| copy test | claims, fact-check index | paired Δ | claims, +57k | drop "
          "| graded nDCG@10 | graded, 10-item lists |")
    print("|---|---|---|---|---|---|---|")
    for label, *_ in VARIANTS:
        c, d = related_metrics(alone[label], claim_gold), related_metrics(both[label], claim_gold)
        g = graded_metrics(both[label], judged, ks=(10,))
        g10 = graded_metrics({q: both[label][q][:10] for q in judged}, judged, ks=(10,))
        gain = claim_fold_ndcg(alone[label], claim_gold, fold) - base
        print(f"| {label} | {c['ndcg@10']:.4f} | {gain.mean():+.4f} ± {gain.std():.4f} | "
              f"{d['ndcg@10']:.4f} | {c['ndcg@10'] - d['ndcg@10']:.4f} | {g['ndcg@10']:.4f} | "
              f"{g10['ndcg@10']:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
