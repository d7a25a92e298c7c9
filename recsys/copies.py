"""Text copies: which articles share their text, not only their words.

Two articles at a TF-IDF cosine of 0.8 use the same words. A repost or a corrected
version also repeats the same runs of words; another outlet's write-up of the story
does not, and readers want it among the related articles. The index hides a candidate
as a copy only if both hold (``copy_overlap`` in :class:`~recsys.RelatedSettings`).

Each article gets a signature of its runs of ``SHINGLE_WORDS`` words (shingles):
one-permutation MinHash, the least hash in each of ``SIGNATURE_SIZE`` bins, 16 bits
each, and its number of shingles. Two signatures estimate the share of the shorter
text's shingles that the other holds (:func:`overlap`). They are made from the words'
hashes (:mod:`recsys.wordhash`), which the counting has already: an article counted in
pieces (title and lead, the rest of the body) is signed as its whole text, its pieces'
words read on across the cuts, so a fitted article and the same text asked about later
have one signature.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SIGNATURE_SIZE", "SHINGLE_WORDS", "EMPTY", "signatures", "overlap"]

SIGNATURE_SIZE = 32  # bins: about +-0.08 on an overlap of 0.5, 64 bytes an article
SHINGLE_WORDS = 5
EMPTY = 0xFFFF  # a bin no shingle fell in
_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplying by it spreads bits, loses none


def signatures(hashes: np.ndarray, text_of: np.ndarray, n_texts: int,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Signatures of ``n_texts`` texts from their words' hashes, in order (``text_of``:
    each word's text, ascending): ``(values, counts)``, ``(n_texts, SIGNATURE_SIZE)``
    uint16 and each text's number of shingles. A text shorter than a shingle is one
    shingle; a text without words has none (all bins ``EMPTY``)."""
    values = np.full(n_texts * SIGNATURE_SIZE, EMPTY, dtype=np.uint16)
    hashes = np.asarray(hashes, dtype=np.uint64)
    text_of = np.asarray(text_of, dtype=np.int64)
    n, width = len(hashes), SHINGLE_WORDS
    # Every run of ``width`` words within one text, from contiguous slices (no gathers:
    # this runs over every word of the archive while it is counted).
    runs = max(0, n - width + 1)
    full = np.flatnonzero(text_of[:runs] == text_of[width - 1:width - 1 + runs])
    mixed = np.zeros(runs, dtype=np.uint64)
    for w in range(width):
        np.bitwise_xor(mixed, hashes[w:w + runs], out=mixed)
        np.multiply(mixed, _MIX, out=mixed)
    starts, mixed = full, mixed[full]
    # A text shorter than a shingle is one shingle of all its words.
    firsts = np.flatnonzero(np.r_[True, text_of[1:] != text_of[:-1]]) if n else full[:0]
    lengths = np.diff(np.r_[firsts, n])
    short, short_lengths = firsts[lengths < width], lengths[lengths < width]
    if len(short):
        tail = np.zeros(len(short), dtype=np.uint64)
        for w in range(width - 1):
            inside = w < short_lengths
            tail[inside] = (tail[inside] ^ hashes[short[inside] + w]) * _MIX
        starts, mixed = np.r_[starts, short], np.r_[mixed, tail]
    mixed ^= mixed >> np.uint64(29)
    slot = text_of[starts] * SIGNATURE_SIZE + (mixed % np.uint64(SIGNATURE_SIZE)).astype(np.int64)
    np.minimum.at(values, slot, ((mixed >> np.uint64(40)) % np.uint64(EMPTY)).astype(np.uint16))
    counts = np.bincount(text_of[starts], minlength=n_texts).astype(np.int64)
    return values.reshape(n_texts, SIGNATURE_SIZE), counts


def overlap(a: np.ndarray, n_a: int, b: np.ndarray, n_b: int) -> float:
    """The estimated share of the shorter text's shingles that the other text holds:
    the Jaccard similarity J of the two sets (equal bins among the bins either fills)
    gives their common shingles as J (|A| + |B|) / (1 + J). A plain loop, so that the
    compiled kernels (:mod:`recsys.kernels`) compile it too."""
    equal = 0
    filled = 0
    for i in range(a.shape[0]):
        if a[i] != EMPTY or b[i] != EMPTY:
            filled += 1
            if a[i] == b[i]:
                equal += 1
    if filled == 0 or n_a == 0 or n_b == 0:
        return 0.0
    jaccard = equal / filled
    return min(1.0, jaccard * (n_a + n_b) / ((1.0 + jaccard) * min(n_a, n_b)))
