"""Text signatures (recsys.copies): what tells a repost from another outlet's write-up."""

from __future__ import annotations

import numpy as np

from recsys.arabic import raw_word_table
from recsys import ArticleVectorizer
from recsys.copies import EMPTY, overlap, signatures
from recsys.wordhash import JoinedWords

from .test_related_options import _REPORT, _REPOST, _REWRITE


def _signed(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    words = JoinedWords.of(texts, raw_word_table())
    return signatures(words.hashes, words.text_of, len(texts))


def test_a_text_signs_the_same_alone_or_among_others() -> None:
    values, counts = _signed([_REWRITE, _REPORT, "", "غارة جوية", _REPOST])
    for i, text in ((0, _REWRITE), (1, _REPORT), (3, "غارة جوية"), (4, _REPOST)):
        alone_values, alone_counts = _signed([text])
        np.testing.assert_array_equal(values[i], alone_values[0])
        assert counts[i] == alone_counts[0]
    words = len(_REPORT.split())
    assert counts.tolist()[1:4] == [words - 4, 0, 1]  # a short text is one shingle
    assert (values[2] == EMPTY).all()


def test_overlap_tells_a_repost_from_a_rewrite() -> None:
    values, counts = _signed([_REPORT, _REPOST, _REWRITE, ""])
    assert overlap(values[0], counts[0], values[0], counts[0]) == 1.0
    assert overlap(values[0], counts[0], values[1], counts[1]) >= 0.8   # the report inside
    assert overlap(values[0], counts[0], values[2], counts[2]) <= 0.2   # other sentences
    assert overlap(values[0], counts[0], values[3], counts[3]) == 0.0   # no text at all
    assert overlap(values[1], counts[1], values[0], counts[0]) == \
        overlap(values[0], counts[0], values[1], counts[1])


def test_a_fitted_article_signs_as_its_whole_text(corpus: list) -> None:
    """Fitting counts an article in pieces (title and lead, the rest of the body) and
    reads them on across the cuts: its signature is its whole text's, as a new text's."""
    vectorizer = ArticleVectorizer(phrase_docs=None).fit(corpus)
    fitted_values, fitted_counts = vectorizer.fitted_signatures()
    values, counts = vectorizer.signatures(corpus)
    np.testing.assert_array_equal(fitted_values, values)
    np.testing.assert_array_equal(fitted_counts, counts)
    assert (counts > 100).mean() > 0.5  # articles long enough to be cut, most of them
