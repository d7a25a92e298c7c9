"""The query's scoring steps: compiled kernels against their NumPy twins, lazy loading,
and the one-question path the command line takes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import recsys
from recsys import BundleError, NewsModel, kernels, load_bundle, scoring

ROOT = Path(__file__).resolve().parents[1]
NO_PROJECTION = scoring.NO_THEMES[5]


@pytest.fixture(scope="module")
def model(phrased_model: NewsModel) -> NewsModel:
    """The scoring is checked with every argument in use, phrases included."""
    return phrased_model


@pytest.fixture(scope="module")
def bundle(model: NewsModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("phrased") / "model"
    model.save(str(path))
    return path


@pytest.fixture(scope="module")
def arrays(model: NewsModel):
    index = model.index
    rows = index._rows
    postings = index._build_postings()
    return rows, postings, index.matrix_.shape


def _query(rows, row: int):
    indptr, indices, data = rows
    span = slice(indptr[row], indptr[row + 1])
    return indices[span], data[span]


@pytest.mark.parametrize("pool", [3, 12, 60])
def test_candidates_are_identical(arrays, pool: int) -> None:
    rows, postings, (n, _) = arrays
    for row in range(0, n, 5):
        terms, weights = _query(rows, row)
        scratch = np.zeros(n, dtype=np.float32)
        compiled, wide = kernels.gather_pools(*postings, terms, weights, row, pool, 3 * pool,
                                              scratch)
        assert not scratch.any(), "scratch must be left zeroed"
        reference, reference_wide = scoring.gather_pools(*postings, terms, weights, row, pool,
                                                         3 * pool, scratch)
        np.testing.assert_array_equal(compiled, reference)
        np.testing.assert_array_equal(wide, reference_wide)
        # The narrow pool is the one gathered alone, and part of the wide one.
        alone, same = kernels.gather_pools(*postings, terms, weights, row, pool, pool, scratch)
        np.testing.assert_array_equal(compiled, alone)
        np.testing.assert_array_equal(alone, same)
        np.testing.assert_array_equal(wide, kernels.gather_pools(
            *postings, terms, weights, row, 3 * pool, 3 * pool, scratch)[0])
        assert np.isin(compiled, wide).all()
        assert row not in compiled
        assert len(compiled) >= min(pool, len(reference))
        # They are the best: nothing left out scores above anything kept.
        scores = np.zeros(n)
        np.add.at(scores, postings[1][np.concatenate([np.arange(postings[0][t], postings[0][t + 1])
                                                      for t in terms])],
                  np.concatenate([postings[2][postings[0][t]:postings[0][t + 1]] * w
                                  for t, w in zip(terms, weights)]))
        scores[row] = 0
        left_out = np.setdiff1d(np.flatnonzero(scores > 0), compiled)
        if len(left_out) and len(compiled):
            assert scores[left_out].max() <= scores[compiled].min() * 1.02


@pytest.mark.parametrize("values", ["spread", "few levels", "one level"])
def test_candidates_on_a_large_archive_are_identical(values: str) -> None:
    # The kernel guesses the cut from a sample of the scores once the archive is large;
    # ties (scores on a few levels, or all equal) put many rows in the guessed bins.
    import scipy.sparse as sp

    rng = np.random.default_rng(1)
    n_articles, n_terms = 30_000, 400
    X = sp.random(n_articles, n_terms, density=0.03, format="csc", random_state=rng,
                  dtype=np.float32)
    if values == "few levels":
        X.data = rng.choice(np.array([0.05, 0.1, 0.3], dtype=np.float32), size=X.nnz)
    elif values == "one level":
        X.data[:] = 0.1
    postings = (X.indptr, X.indices, X.data)
    scratch = np.zeros(n_articles, dtype=np.float32)
    for pool in (1, 10, 50, 400, 5_000):
        terms = np.sort(rng.choice(n_terms, size=40, replace=False)).astype(np.int32)
        weights = rng.random(40).astype(np.float32)
        row = int(rng.integers(n_articles))
        for wide in (pool, 6 * pool):
            compiled, compiled_wide = kernels.gather_pools(*postings, terms, weights, row, pool,
                                                           wide, scratch)
            assert not scratch.any(), "scratch must be left zeroed"
            reference, reference_wide = scoring.gather_pools(*postings, terms, weights, row, pool,
                                                             wide, scratch)
            np.testing.assert_array_equal(compiled, reference)
            np.testing.assert_array_equal(compiled_wide, reference_wide)
            assert len(compiled) >= pool and np.isin(compiled, compiled_wide).all()


def _copies(model: NewsModel, row: int, least: float) -> tuple:
    """Copy arguments with the index's text signatures, archived row ``row`` the query."""
    values, counts = model.index.signatures_
    return scoring.copy_arguments(values, counts, least, values[row], counts[row])


def test_exact_scores_and_copy_detection_are_identical(arrays, model: NewsModel) -> None:
    rows, _, (n, n_terms) = arrays
    dense = np.zeros(n_terms)
    rng = np.random.default_rng(0)
    for row in range(0, n, 9):
        terms, weights = _query(rows, row)
        cands = rng.choice(n, size=25, replace=False)
        a = kernels.exact_scores(*rows, cands, terms, weights.astype(np.float64), dense)
        b = scoring.exact_scores(*rows, cands, terms, weights.astype(np.float64), dense)
        np.testing.assert_array_equal(a, b)
        assert not dense.any(), "scratch must be left zeroed"
        for threshold in (0.2, 0.5, 0.8):
            for copies in (scoring.NO_COPIES, _copies(model, row, 0.05), _copies(model, row, 0.5)):
                np.testing.assert_array_equal(
                    kernels.first_distinct(*rows, cands, 10, threshold, dense, copies),
                    scoring.first_distinct(*rows, cands, 10, threshold, dense, copies))
        np.testing.assert_array_equal(kernels.row_similarities(*rows, cands[:8], dense),
                                      scoring.row_similarities(*rows, cands[:8], dense))
        best = a[a < 0.8].max(initial=0.0)
        for below in (best / 2, best + 1e-9, 1.0):  # no close match: the best kept is under
            assert kernels.no_close_match(*rows, cands, terms, weights.astype(np.float64), dense,
                                          1e-9, 0.8, below, scoring.NO_COPIES) == (0 < best < below)
            assert scoring.no_close_match(*rows, cands, terms, weights.astype(np.float64), dense,
                                          1e-9, 0.8, below, scoring.NO_COPIES) == (0 < best < below)
            for copies in (_copies(model, row, 0.05), _copies(model, row, 0.5)):
                assert kernels.no_close_match(
                    *rows, cands, terms, weights.astype(np.float64), dense, 1e-9, 0.8, below,
                    copies) == scoring.no_close_match(
                    *rows, cands, terms, weights.astype(np.float64), dense, 1e-9, 0.8, below,
                    copies)
    assert not dense.any()


def test_finishing_is_identical_and_ranks_by_decayed_exact_score(arrays, model: NewsModel) -> None:
    rows, _, (n, n_terms) = arrays
    dense = np.zeros(n_terms)
    days = model.index.days_.copy()
    days[::7] = scoring.NO_DATE  # undated articles: weighed by decay[-1]
    index_themes = (model.index.themes_, model.index.theme_scales_)
    rng = np.random.default_rng(1)
    for row in range(0, n, 11):
        terms, weights = _query(rows, row)
        weights = weights.astype(np.float64)
        cands = np.sort(rng.choice(n, size=60, replace=False))
        cands = cands[cands != row]  # the query itself (cosine 1) would turn mixing off
        query_theme = scoring.row_theme(*index_themes, row)
        for half_life, undated, floor, copy_at, k, themes in (
                (None, 1.0, 1e-9, np.inf, 10, scoring.NO_THEMES),
                (30.0, 1.0, 1e-9, 0.8, 10, scoring.NO_THEMES),
                (180.0, 0.85, 0.05, 0.8, 4, scoring.NO_THEMES),
                (7.0, 0.5, 1e-9, 0.5, 25, scoring.NO_THEMES),
                (None, 1.0, 1e-9, np.inf, 10, (*index_themes, 0.15, 1.0, 0, NO_PROJECTION)),
                (180.0, 0.85, 1e-9, 0.8, 10, (*index_themes, 0.5, 0.3, 0, NO_PROJECTION))):
            span = int(days.max() - days[days != scoring.NO_DATE].min()) + 1
            decay = (np.empty(0) if half_life is None
                     else scoring.decay_table(half_life, span, undated))
            args = (*rows, cands, terms, weights, dense, floor, copy_at, days, int(days[row]),
                    decay, k, copy_at, themes, query_theme)
            phrases = scoring.phrase_arguments(*model.index.phrases_, 0.8,
                                               *model.index.phrases_.row(row))
            # The cosine alone last: the checks below read its list.
            for copies, with_phrases in ((_copies(model, row, 0.05), phrases),
                                         (_copies(model, row, 0.5), scoring.NO_PHRASES),
                                         (scoring.NO_COPIES, phrases),
                                         (scoring.NO_COPIES, scoring.NO_PHRASES)):
                got_rows, got_scores = kernels.finish_plain(*args, copies, with_phrases)
                want_rows, want_scores = scoring.finish_plain(*args, copies, with_phrases)
                np.testing.assert_array_equal(got_rows, want_rows)
                np.testing.assert_array_equal(got_scores, want_scores)
                if with_phrases is phrases and half_life is None and themes[2] == 0:
                    # cosine + 0.8 x phrase cosine, from the rows written out as dicts
                    X = model.index.matrix_
                    mine = dict(zip(*model.index.phrases_.row(row)))
                    bonus = [sum(w * mine.get(i, 0.0) for i, w in
                                 zip(*model.index.phrases_.row(c))) for c in got_rows]
                    cosines = np.array([X[row].multiply(X[c]).sum() for c in got_rows])
                    np.testing.assert_allclose(got_scores, cosines + 0.8 * np.array(bonus),
                                               rtol=1e-5)
            assert not dense.any(), "scratch must be left zeroed"
            # What the steps promise, checked against plain arithmetic.
            X = model.index.matrix_
            cosines = np.array([X[row].multiply(X[c]).sum() for c in got_rows])
            assert np.all((cosines >= floor - 1e-6) & (cosines < copy_at + 1e-6))
            assert len(got_rows) <= k and np.all(np.diff(got_scores) <= 0)
            if half_life is None and themes[2] > 0:  # with every query mixed
                sims = np.maximum([index_themes[0][c] @ query_theme * index_themes[1][c]
                                   for c in got_rows], 0)
                np.testing.assert_allclose(got_scores, 0.85 * cosines + 0.15 * sims, rtol=1e-5)
            elif half_life is None:
                np.testing.assert_allclose(got_scores, cosines, rtol=1e-5)
            elif (days[row] != scoring.NO_DATE and (days[got_rows] != scoring.NO_DATE).any()
                  and themes[2] == 0):
                undated_rows = days[got_rows] == scoring.NO_DATE
                np.testing.assert_allclose(got_scores[undated_rows],
                                           cosines[undated_rows] * undated, rtol=1e-5)


def test_batch_kernel_is_identical_and_equals_one_query_per_row(arrays, model: NewsModel) -> None:
    rows, postings, (n, n_terms) = arrays
    index = model.index
    common = index.common_terms_.copy()
    common[np.argsort(-np.bincount(rows[1], minlength=n_terms))[:50]] = True  # some skipped
    decay = scoring.decay_table(180.0, index._day_span)
    picked = np.arange(0, n, 3)
    args = (*rows, *postings, common, picked, 50, 1e-9, 0.8, index.days_, decay, 10, 0.8)
    # Themes mixed into every list here (below 1), so that the comparison covers them.
    themes = (index.themes_, index.theme_scales_, 0.15, 1.0, 300, NO_PROJECTION)
    with_signatures = scoring.copy_arguments(*index.signatures_, 0.6)
    with_phrases = scoring.phrase_arguments(*index.phrases_, 0.8)  # each row's own phrases
    # The index's defaults last: the single queries below are compared with them.
    for batch_themes, copies, phrases in ((scoring.NO_THEMES, scoring.NO_COPIES, with_phrases),
                                          (themes, scoring.NO_COPIES, scoring.NO_PHRASES),
                                          (themes, with_signatures, with_phrases)):
        compiled = kernels.related_rows(*args, batch_themes, np.zeros(n, dtype=np.float32),
                                        np.zeros(n_terms), copies, phrases)
        reference = scoring.related_rows(*args, batch_themes, np.zeros(n, dtype=np.float32),
                                         np.zeros(n_terms), copies, phrases)
        for a, b in zip(compiled, reference):
            np.testing.assert_array_equal(a, b)
    found, scores, counts = compiled
    index.common_terms_, saved = common, index.common_terms_
    try:
        for q, row in enumerate(picked):
            single = index.similar(index.ids_[row], 10, theme_below=1.0)
            assert single.ids.tolist() == index.ids_[found[q, :counts[q]]].tolist()
            np.testing.assert_array_equal(single.scores, scores[q, :counts[q]].astype(np.float32))
    finally:
        index.common_terms_ = saved


def test_column_postings_match_the_transpose(arrays) -> None:
    rows, postings, (_, n_terms) = arrays
    columns = np.array([5, 17, 3, 200, n_terms - 1], dtype=np.int32)
    offsets, found_rows, values = scoring.column_postings(*rows, columns, n_terms)
    for j, column in enumerate(columns):
        span = slice(postings[0][column], postings[0][column + 1])
        np.testing.assert_array_equal(found_rows[offsets[j]:offsets[j + 1]], postings[1][span])
        np.testing.assert_array_equal(values[offsets[j]:offsets[j + 1]], postings[2][span])


def test_lazy_bundle_answers_like_the_eager_one(bundle: Path, model: NewsModel) -> None:
    eager = load_bundle(bundle)
    ids = model.archive["ids"]
    for settings in ({}, {"mmr_lambda": 0.6}, {"duplicate_threshold": None}):
        for article_id in ids[::11]:
            lazy = load_bundle(bundle, lazy=True)  # fresh: its first query is the one-shot path
            first = lazy.related(article_id, k=8, **settings)
            again = lazy.related(article_id, k=8, **settings)  # now compiled, full postings
            expected = eager.related(article_id, k=8, **settings)
            for got in (first, again):
                assert got.ids.tolist() == expected.ids.tolist()
                np.testing.assert_array_equal(got.scores, expected.scores)
    lazy = load_bundle(bundle, lazy=True)
    assert lazy.article(ids[4]) == eager.article(ids[4])
    assert lazy.classify(["قصف مدفعي على الأحياء السكنية"])[0].topic == \
        eager.classify(["قصف مدفعي على الأحياء السكنية"])[0].topic
    assert lazy.archive == eager.archive


def test_one_question_needs_no_scikit_learn_numba_or_scipy_sparse(bundle: Path, model: NewsModel) -> None:
    article_id = model.archive["ids"][0]
    code = ("import sys, recsys\n"
            f"m = recsys.load_bundle({str(bundle)!r}, lazy=True)\n"
            f"r = m.related({article_id!r}, k=5)\n"
            "print(len(r.ids), m.article(str(r.ids[0]))['title'])\n"
            "heavy = ('sklearn', 'numba', 'scipy.sparse')\n"
            "assert not any(k.startswith(heavy) for k in sys.modules), "
            "sorted(k for k in sys.modules if k.startswith(heavy))[:5]\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("5 ")


def test_lazy_load_still_verifies_the_pickle_before_unpickling(bundle: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(bundle.resolve(), copy)
    with open(copy / "model.joblib", "ab") as handle:
        handle.write(b"\x00")
    lazy = load_bundle(copy, lazy=True)  # the index alone is read, and checked
    assert len(lazy.related(recsys.load_bundle(bundle).archive["ids"][0], k=3).ids) == 3
    with pytest.raises(BundleError, match=r"model\.joblib: checksum mismatch"):
        lazy.classify(["نص"])


def test_a_new_texts_theme_is_projected_alike(model: NewsModel, corpus: list) -> None:
    """The compiled and NumPy projections agree to the bit, and match the topic features'
    themes (computed in float32 by SciPy) to float32 precision."""
    projection = model.topic_features.theme_projection()
    for article in corpus[::40]:
        vector = model.vectorizer.transform([article])
        terms, weights = vector.indices, vector.data.astype(np.float64)
        compiled = kernels.projected_theme(projection, terms, weights)
        np.testing.assert_array_equal(compiled, scoring.projected_theme(projection, terms, weights))
        np.testing.assert_allclose(compiled, model.topic_features.themes(vector)[0], atol=1e-5)
    assert len(kernels.projected_theme(projection, terms[:0], weights[:0])) == 0
