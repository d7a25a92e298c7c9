"""Rare phrases: pairs of consecutive words that only a few articles of the archive share.

Two write-ups of one story share its phrases: a place and a date, a name and a title,
a number of dead. Articles on the same subject share the war's set phrases, which
hundreds of articles hold. So a phrase that at most ``MOST_DOCS`` articles share (and
at least ``LEAST_DOCS``: one that only two hold says little) marks one story, and the
related index adds the cosine of two articles' phrase rows to their similarity
(``phrase_weight`` in :class:`~recsys.RelatedSettings`). On the real claim groups this
lifts nDCG@10 from 0.484 to 0.501 (with the 57k other articles as distractors, 0.455 to
0.478) and keeps graded nDCG@10 (0.857; ``training/DEFAULTS.md``); all bigrams, the
war's set phrases included, lost 0.012 of graded nDCG (``training/RESULTS.md``). On by
default (``ArticleVectorizer(phrase_docs=None)``, ``recsys train --no-phrases`` turn
them off): at 60k articles they cost training 2-4%, a query by new text 0.07-0.13 ms and
the bundle 32 MB, within #6's budgets (``benchmarks/RESULTS.md``, twenty-first stop).

A phrase is a pair of raw words as written (stop words kept, nothing stemmed), told by a
36-bit key mixed from the two words' hashes (:mod:`recsys.wordhash`), which the counting
processes have already: nothing per word has to be reconciled between processes. Its
weight in a row is ``(1 + ln tf) * idf`` (counts capped at 63); rows have unit length,
each weight stored as one of 255 levels of its row's largest (``PhraseRows``), so that a
trained and a loaded model score alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

__all__ = ["LEAST_DOCS", "MAX_DOCUMENTS", "MOST_DOCS", "PhraseRows", "PhraseTable",
           "kept_phrases", "numbered", "pair_keys", "select", "text_entries", "text_rows",
           "written_phrases"]

LEAST_DOCS = 3
MOST_DOCS = 30
_KEY_BITS, _DOC_BITS, _TF_BITS = 36, 22, 6  # one uint64 per (phrase, article, count)
MAX_DOCUMENTS = 1 << _DOC_BITS
"""The most articles a fit can find phrases in (4,194,304): far more than one machine fits."""
_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplying by it spreads bits, loses none


class PhraseRows(NamedTuple):
    """Articles' phrase rows: row ``r`` holds phrases ``ids[indptr[r]:indptr[r + 1]]``
    (ascending) with weights ``levels[...] * scales[r]`` (unit length)."""

    indptr: np.ndarray  # int64
    ids: np.ndarray  # uint32
    levels: np.ndarray  # uint8, 1..255
    scales: np.ndarray  # float32

    def row(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """Row ``r`` as (ids, float64 weights): a query's phrases."""
        span = slice(self.indptr[r], self.indptr[r + 1])
        return (np.ascontiguousarray(self.ids[span]),
                self.levels[span].astype(np.float64) * np.float64(self.scales[r]))

    def kept(self, keep: np.ndarray) -> PhraseRows:
        """The rows where the boolean ``keep`` is true, in order."""
        lengths = np.diff(self.indptr)
        entries = np.repeat(keep, lengths)
        return PhraseRows(np.concatenate([[0], np.cumsum(lengths[keep])]).astype(np.int64),
                          self.ids[entries], self.levels[entries], self.scales[keep])

    def stacked(self, other: PhraseRows) -> PhraseRows:
        """These rows, then ``other``'s."""
        return PhraseRows(np.concatenate([self.indptr, self.indptr[-1] + other.indptr[1:]]),
                          np.concatenate([self.ids, other.ids]),
                          np.concatenate([self.levels, other.levels]),
                          np.concatenate([self.scales, other.scales]))


class PhraseTable(NamedTuple):
    """The phrases a fit kept: their keys (ascending; a phrase's id is its place) and
    inverse document frequencies."""

    keys: np.ndarray  # uint64
    idf: np.ndarray  # float32


def _mixed(hashes: np.ndarray) -> np.ndarray:
    """A 64-bit mix of each pair of consecutive hashes; a pair's key is its top 36 bits."""
    mixed = hashes[:-1] * _MIX
    mixed ^= hashes[1:]
    mixed *= _MIX
    mixed ^= mixed >> np.uint64(29)
    return mixed


def pair_keys(hashes: np.ndarray, text_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pair of consecutive words within one text, from the words' hashes in order
    (``text_of``: each word's text): the pairs' texts and 36-bit keys."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    text_of = np.asarray(text_of, dtype=np.int64)
    if len(hashes) < 2:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint64)
    within = np.flatnonzero(text_of[1:] == text_of[:-1])
    return text_of[1:][within], _mixed(hashes)[within] >> np.uint64(64 - _KEY_BITS)


def text_entries(hashes: np.ndarray, text_of: np.ndarray, first: int, n_documents: int,
                 n_pieces: int) -> np.ndarray:
    """The (phrase, article) entries of texts counted while fitting, one per occurrence
    of a pair within one article, packed in one uint64 each, key first, for
    :func:`select`. The texts are ``first + text_of`` of a share's: its ``n_documents``
    articles' pieces, article-major (piece ``j`` of article ``i`` is text ``i * n_pieces +
    j``), read on from piece to piece as in the whole text; after them come texts counted
    again, titles, whose pairs the pieces already hold. Not sorted nor counted here: the
    parent's one sort of every entry does that, off the counting processes' busy cores."""
    if n_documents >= MAX_DOCUMENTS:
        raise ValueError(f"phrases are found in at most {MAX_DOCUMENTS - 1:,} articles at once")
    if len(hashes) < 2:
        return np.empty(0, dtype=np.uint64)
    # In place where it can be: this runs over every word of the archive.
    entries = _mixed(np.asarray(hashes, dtype=np.uint64))
    entries &= np.uint64(((1 << 64) - 1) ^ ((1 << (_DOC_BITS + _TF_BITS)) - 1))
    article = text_of + first
    article //= n_pieces
    keep = article[1:] == article[:-1]
    keep &= article[1:] < n_documents
    entries |= article[1:].astype(np.uint64) << np.uint64(_TF_BITS)
    return entries[keep]


def numbered(entries: np.ndarray, first: int) -> np.ndarray:
    """A share's entries (:func:`text_entries`) with its articles numbered as in the
    archive, its first being ``first``: in place, and returned."""
    if first >= MAX_DOCUMENTS:
        raise ValueError(f"phrases are found in at most {MAX_DOCUMENTS - 1:,} articles at once")
    entries += np.uint64(first) << np.uint64(_TF_BITS)
    return entries


def select(entries: np.ndarray, n_docs: int, least: int = LEAST_DOCS, most: int = MOST_DOCS,
           kept: Callable | None = None) -> tuple[PhraseTable, PhraseRows]:
    """The phrases in ``least`` to ``most`` of ``n_docs`` articles, from every share's
    entries in one array (:func:`text_entries`, :func:`numbered`; sorted here, in place,
    and let go of once the phrases are found: pass it as a temporary, and 0.16 GB at 60k
    articles is freed before the rows are made), and the articles' rows of them.
    ``kept`` does the pass over the sorted entries: :func:`kept_phrases` by default, or
    its compiled twin :func:`recsys.kernels.kept_phrases` (at 60k articles the whole
    selection took 0.8 s with it, 2.5 s with the array steps)."""
    if n_docs >= MAX_DOCUMENTS:
        raise ValueError(f"phrases are found in at most {MAX_DOCUMENTS - 1:,} articles at once")
    # One sort of every entry, key first: each phrase's articles then come together.
    entries.sort()
    by_doc, table_keys, kept_df = (kept or kept_phrases)(entries, least, most)
    del entries
    # By article, then phrase: the rows' order (ids ascend within a row).
    by_doc.sort()
    indptr = np.r_[0, np.cumsum(np.bincount((by_doc >> np.uint64(38)).astype(np.int64),
                                            minlength=n_docs))].astype(np.int64)
    ids = ((by_doc >> np.uint64(_TF_BITS)) & np.uint64((1 << 32) - 1)).astype(np.uint32)
    tf = (by_doc & np.uint64((1 << _TF_BITS) - 1)).astype(np.uint8)
    del by_doc
    idf = (np.log((1.0 + n_docs) / (1.0 + kept_df)) + 1.0).astype(np.float32)
    return PhraseTable(table_keys, idf), _weighted(indptr, ids, tf, idf)


def kept_phrases(entries: np.ndarray, least: int, most: int,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Over entries sorted key first (one per occurrence), the phrases in ``least`` to
    ``most`` articles: their entries as ``article << 38 | phrase id << 6 | count`` (one
    per article; ids numbered in key order; counts capped at 63), their keys and their
    document frequencies."""
    starts, counts = _runs(entries)
    entries = entries[starts] | np.minimum(counts, (1 << _TF_BITS) - 1).astype(np.uint64)
    key = entries >> np.uint64(_DOC_BITS + _TF_BITS)
    starts, df = _runs(key)
    kept = (df >= least) & (df <= most)
    ids = np.repeat(np.arange(int(kept.sum()), dtype=np.uint64), df[kept])
    inside = entries[np.repeat(kept, df)]
    return (((inside & np.uint64((1 << (_DOC_BITS + _TF_BITS)) - 1)) >> np.uint64(_TF_BITS))
            << np.uint64(38) | (ids << np.uint64(_TF_BITS))
            | (inside & np.uint64((1 << _TF_BITS) - 1)), key[starts[kept]], df[kept])


LOGS = 1.0 + np.log(np.arange(1, 64, dtype=np.float64))
"""A phrase's weight factor by its count in a text, 1 to 63 (counts cap there)."""


def text_rows(hashes: np.ndarray, text_of: np.ndarray, n_texts: int, table: PhraseTable,
              ) -> PhraseRows:
    """New texts' phrase rows, from their words' hashes in order, with a fit's phrases
    (a warmed vectorizer makes a single text's in one compiled call instead:
    :func:`recsys.kernels.phrase_row`)."""
    text, key = pair_keys(hashes, text_of)
    found, at = _looked_up(table, key)
    text, ids = text[found], at[found].astype(np.uint64)
    packed = np.sort((text.astype(np.uint64) << np.uint64(32)) | ids)
    starts, tf = _runs(packed)
    tf = np.minimum(tf, 63).astype(np.uint8)
    packed = packed[starts]
    indptr = np.r_[0, np.cumsum(np.bincount((packed >> np.uint64(32)).astype(np.int64),
                                            minlength=n_texts))].astype(np.int64)
    return _weighted(indptr, (packed & np.uint64((1 << 32) - 1)).astype(np.uint32), tf, table.idf)


def written_phrases(text: str, hashes: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                    table: PhraseTable) -> dict[int, str]:
    """The fit's phrases in one text, from its words' hashes and spans in ``text``: each
    phrase's id and its two words as the text writes them (its first occurrence), for
    explanations."""
    # One text: pair p is words p and p + 1.
    found, at = _looked_up(table, pair_keys(hashes, np.zeros(len(hashes), dtype=np.int64))[1])
    written: dict[int, str] = {}
    for pair in np.flatnonzero(found)[::-1]:  # backwards: the first occurrence is kept
        written[int(at[pair])] = (f"{text[starts[pair]:ends[pair]]} "
                                  f"{text[starts[pair + 1]:ends[pair + 1]]}")
    return written


def _looked_up(table: PhraseTable, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which pair ``key``s are phrases of the fit, and where each would be in its table:
    ``(found, ids)``, an id meaningful only where found."""
    at = np.searchsorted(table.keys, key)
    found = at < len(table.keys)
    found[found] = table.keys[at[found]] == key[found]
    return found, at


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each run of equal ``values`` (sorted) starts, and its length."""
    starts = (np.flatnonzero(np.r_[True, values[1:] != values[:-1]]) if len(values)
              else np.empty(0, dtype=np.int64))
    return starts, np.diff(np.r_[starts, len(values)])


def _weighted(indptr: np.ndarray, ids: np.ndarray, tf: np.ndarray, idf: np.ndarray) -> PhraseRows:
    """Rows of ``(1 + ln tf) * idf``, stored as levels of each row's largest weight,
    scaled to unit length."""
    n_rows = len(indptr) - 1
    weights = LOGS[tf - 1] * idf[ids].astype(np.float64)  # tf: uint8 counts, 1 to 63
    lengths = np.diff(indptr)
    filled = np.flatnonzero(lengths)
    largest = np.zeros(n_rows)
    if len(filled):
        largest[filled] = np.maximum.reduceat(weights, indptr[filled])
    owner = np.repeat(np.arange(n_rows), lengths)
    levels = np.maximum(np.rint(255.0 * weights / np.maximum(largest[owner], 1e-12)), 1.0)
    norms = np.sqrt(np.bincount(owner, weights=levels * levels, minlength=n_rows))
    scales = np.where(norms > 0, 1.0 / np.maximum(norms, 1e-12), 0.0).astype(np.float32)
    return PhraseRows(indptr, ids, levels.astype(np.uint8), scales)
