"""Words of a text found and hashed with array operations, without a Python string per
word.

Finding words with a regular expression and counting them makes a string object per
word: on the 60k real articles, 20 million of them, which cost more than everything
else counting does. Here a text becomes an array of code points, a table says which
code points a one-character class matches (built from the regular expression itself,
so the words are exactly its maximal runs), and each word gets a 64-bit polynomial hash
of its code points from prefix sums. The hash is the same in every process (unlike
Python's ``hash``), so counting processes and site boilerplate agree on it.

Two different words share a hash with probability about n²/2⁶⁵ for n distinct words
(3·10⁻⁸ for a million): small enough to ignore, as a hash table's users do.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["BASE", "NOT_FOUND", "char_table", "hashed_words", "batches", "JoinedWords",
           "distinct_hashes"]

BASE = np.uint64(0x100000001B3)  # odd, so invertible modulo 2**64
_INVERSE = np.uint64(pow(int(BASE), -1, 2**64))
NOT_FOUND = -(1 << 62)  # a word's column where a table of known words lacks the word


@functools.lru_cache(maxsize=8)
def char_table(char_class: str, size: int = 0x110000) -> np.ndarray:
    """Which code points the regular expression ``char_class + "+"`` matches runs of, as
    a boolean table over the first ``size`` code points, all by default (built from the
    expression's own matches: a tenth of the time of testing each code point in Python)."""
    table = np.zeros(size, dtype=bool)
    every = "".join(map(chr, range(size)))
    for run in re.finditer(char_class + "+", every):
        table[run.start():run.end()] = True
    return table


class _Powers:
    """``BASE ** i`` and its inverse modulo 2**64, grown on demand."""

    def __init__(self) -> None:
        self.up = self.down = np.ones(1, dtype=np.uint64)

    def upto(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.up) < n:
            size = max(n, 2 * len(self.up))
            one = np.ones(1, dtype=np.uint64)
            self.up = np.concatenate([one, np.cumprod(np.full(size - 1, BASE))])
            self.down = np.concatenate([one, np.cumprod(np.full(size - 1, _INVERSE))])
        return self.up[:n], self.down[:n]


_POWERS = _Powers()


def batches(texts: Sequence[str], chars: int, group: int = 1) -> Iterator[slice]:
    """Consecutive spans of ``texts`` of about ``chars`` characters in all (one text
    alone if longer): hashing them together bounds the arrays and the power tables that
    :func:`hashed_words` keeps. Spans start only at multiples of ``group``: runs of
    ``group`` texts (an article's pieces) stay in one span."""
    start = size = 0
    for i, text in enumerate(texts):
        if size and size + len(text) > chars and i % group == 0:
            yield slice(start, i)
            start, size = i, 0
        size += len(text) + 1
    if start < len(texts):
        yield slice(start, len(texts))


def hashed_words(text: str, table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The words of ``text`` (maximal runs of code points that ``table`` marks): their
    start and end offsets and their hashes, which depend only on a word's code points.

    >>> table = char_table(r"\\w")
    >>> starts, ends, hashes = hashed_words("قصف، قصف ثم", table)
    >>> starts.tolist(), ends.tolist(), bool(hashes[0] == hashes[1]), bool(hashes[0] != hashes[2])
    ([0, 5, 9], [3, 8, 11], True, True)
    """
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    edges = np.flatnonzero(np.diff(table[codes], prepend=False, append=False))
    starts, ends = edges[::2], edges[1::2]
    up, down = _POWERS.upto(len(codes))
    prefix = np.concatenate([[np.uint64(0)], np.cumsum(codes * up, dtype=np.uint64)])
    return starts, ends, (prefix[ends] - prefix[starts]) * down[starts]


@dataclass(frozen=True)
class JoinedWords:
    """The words of several texts, hashed as one text: the texts joined by newlines,
    which no word spans. Hashing texts one by one, the fixed cost of each array
    operation outweighed its work on a few hundred words."""

    joined: str
    starts: np.ndarray  # of each word in ``joined``
    ends: np.ndarray
    hashes: np.ndarray
    text_of: np.ndarray  # which text each word is in
    offsets: np.ndarray  # where each text starts in ``joined`` (and one past the end + 1)

    @classmethod
    def of(cls, texts: Sequence[str], table: np.ndarray) -> JoinedWords:
        joined = "\n".join(texts)
        starts, ends, hashes = hashed_words(joined, table)
        offsets = np.cumsum([0] + [len(t) + 1 for t in texts])
        text_of = np.searchsorted(offsets, starts, side="right") - 1
        return cls(joined, starts, ends, hashes, text_of, offsets)


def distinct_hashes(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(hashes, return_index=True, return_inverse=True)``: the same three
    arrays, for a fraction of the time. To find first occurrences NumPy sorts with a
    stable merge sort; a quick sort finds them too, as the smallest position in each run
    of equal values (on 64-bit hashes, 45 ms a million against 130 ms). Counting the 60k
    real articles spent more time in that sort than anywhere else."""
    if not len(hashes):
        return np.unique(hashes, return_index=True, return_inverse=True)
    order = np.argsort(hashes)
    ordered = hashes[order]
    new_run = np.empty(len(hashes), dtype=bool)
    new_run[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new_run[1:])
    runs = np.flatnonzero(new_run)
    inverse = np.empty(len(hashes), dtype=np.intp)
    inverse[order] = np.cumsum(new_run) - 1
    return ordered[runs], np.minimum.reduceat(order, runs), inverse
