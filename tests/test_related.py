"""The related-articles index: exactness against scikit-learn and the shared contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from recsys import NewsModel, RelatedIndex, RelatedSettings, UnknownArticleError

PLAIN = {"duplicate_threshold": None, "half_life_days": None,  # plain cosine top-k (as sklearn)
         "theme_weight": 0, "phrase_weight": 0}


def test_matches_sklearn_nearest_neighbors(model: NewsModel) -> None:
    X = model.index.matrix_
    k = 8
    nn = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(X)
    distances, neighbours = nn.kneighbors()  # X=None: each point left out of its own list
    ids = model.archive["ids"]
    for row in range(0, X.shape[0], 7):
        ours = model.related(ids[row], k=k, **PLAIN)
        # The index keeps its rows in half precision (norms off by up to 1e-4), where
        # scikit-learn's cosine divides by the norms.
        np.testing.assert_allclose(ours.scores, 1 - distances[row], atol=1e-4)
        # Same scores in the same order; ids may differ only between exact ties.
        theirs = [ids[j] for j in neighbours[row]]
        for i, (a, b) in enumerate(zip(ours.ids, theirs)):
            assert a == b or abs(ours.scores[i] - (1 - distances[row][list(theirs).index(b)])) < 1e-4


def test_never_self_and_k_respected(model: NewsModel) -> None:
    for article_id in model.archive["ids"][::5]:
        for k in (1, 3, 10):
            related = model.related(article_id, k=k)
            assert article_id not in related.ids
            assert len(related.ids) <= k
            assert np.all(np.diff(related.scores) <= 1e-6)


def test_batch_equals_single(model: NewsModel) -> None:
    ids = model.archive["ids"][::3]
    for settings in ({}, {"half_life_days": 30}, {"mmr_lambda": 0.7, "min_score": 0.05}):
        batch = dict(model.related_batch(ids, k=6, **settings))
        for article_id in ids:
            single = model.related(article_id, k=6, **settings)
            assert batch[article_id].ids.tolist() == single.ids.tolist()
            np.testing.assert_allclose(batch[article_id].scores, single.scores, rtol=1e-5)


def test_new_text_query_finds_its_story(model: NewsModel, corpus: list) -> None:
    source = next(a for a in corpus if a.extra["story"] == "x-01")
    text = (source.title, source.body)
    related = model.related_to(text, k=5, **PLAIN)  # similarity alone: no copy rule, no recency
    assert related.ids[0] == source.id  # a new text is not in the archive: it may match itself
    assert related.scores[0] > 0.9


def test_a_vector_in_any_sparse_or_dense_form_gives_the_same_list(model: NewsModel,
                                                                  corpus: list) -> None:
    vector = model.vectorizer.transform([corpus[3]])
    expected = model.index.similar_to_vector(vector, 5)
    for form in (vector.toarray(), vector.astype(np.float64), vector.tocoo()):
        again = model.index.similar_to_vector(form, 5)
        assert again.ids.tolist() == expected.ids.tolist()
        np.testing.assert_allclose(again.scores, expected.scores, rtol=1e-6)
    with pytest.raises(ValueError, match="expected one row"):
        model.index.similar_to_vector(model.vectorizer.transform(corpus[:2]), 5)


def test_shared_terms_are_the_largest_products_of_the_two_rows(model: NewsModel,
                                                               corpus: list) -> None:
    def top(products: np.ndarray) -> list[int]:
        order = np.argsort(-products, kind="stable")[:3]  # ties: the lower column first
        return order[products[order] > 0].tolist()

    index = model.index
    for query in (index.matrix_[index.row("cmb-001")], model.vectorizer.transform([corpus[40]])):
        for rid in model.related_to(corpus[40], k=4).ids.tolist() + ["soc-001"]:
            products = query.toarray().ravel() * index.matrix_[index.row(rid)].toarray().ravel()
            limit = int(np.median(np.flatnonzero(products))) if products.any() else 1
            below = np.where(np.arange(len(products)) < limit, products, 0)
            for form in (query, query.toarray(), query.tocoo()):
                assert index.shared_terms(form, rid, 3).tolist() == top(products)
                assert index.shared_terms(form, rid, 3, max_column=limit).tolist() == top(below)


def test_unknown_id_raises(model: NewsModel) -> None:
    with pytest.raises(UnknownArticleError, match="no article with id 'nope'"):
        model.related("nope")


def test_results_are_ids_and_scores_arrays(model: NewsModel) -> None:
    result = model.related(model.archive["ids"][0], k=4)
    ids, scores = result
    assert ids.dtype.kind == "U" and scores.dtype == np.float32


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        RelatedSettings(k=0)
    with pytest.raises(TypeError, match="unknown related-list setting"):
        RelatedSettings().updated(bogus=1)


def test_a_misnamed_setting_with_a_list_value_is_named(model: NewsModel) -> None:
    # A list cannot key the remembered settings; the name is still what the error says.
    ids = list(model.archive["ids"][:3])
    with pytest.raises(TypeError, match="unknown related-list setting.*: ids"):
        model.related(ids[0], ids=ids)
    with pytest.raises(TypeError, match="unknown related-list setting.*: ids"):
        list(model.related_batch(ids=ids))


def test_unfitted_index_says_what_to_do() -> None:
    with pytest.raises(ValueError, match="not fitted yet"):
        RelatedIndex().similar("a")


def test_skipping_common_terms_keeps_batch_equal_to_single(corpus: list) -> None:
    """With a low threshold many terms count as common while gathering candidates;
    single and batch queries must still agree, and scores stay exact cosines."""
    from recsys import ArticleVectorizer

    X = ArticleVectorizer().fit_transform(corpus)
    ids = [a.id for a in corpus]
    index = RelatedIndex(candidate_max_df=0.01)
    index.fit(X, ids)
    index.common_terms_ = np.diff(index.postings_.indptr) > 3  # force: most terms "common"
    batch = dict(index.similar_batch(ids[::4], k=5))
    for article_id in ids[::4]:
        single = index.similar(article_id, k=5)
        assert batch[article_id].ids.tolist() == single.ids.tolist()
        row = index.row(article_id)
        rows = index.matrix_  # X in half precision, as the index keeps it
        exact = (rows[[index.row(i) for i in single.ids]] @ rows[row].T).toarray().ravel()
        np.testing.assert_allclose(single.scores, exact, rtol=1e-5)
