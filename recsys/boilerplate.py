"""Site boilerplate: what a site repeats on its pages, learned from the archive and cut
out of article bodies before they are vectorized.

Two kinds, both measured on the scraped fact-check pages of ``../shared/data``
(``training/RESULTS.md``):

- **lines** repeated on many pages (menus, footers, share buttons, each on a line of
  its own): removing them lifted claim-group nDCG@10 from 0.38 to 0.45;
- **word runs** (8 consecutive words) that recur on several pages of one site even
  inside a line (menus run into the text, "read also" blocks, copyright footers): a
  further +0.028 ± 0.011. A run counts as boilerplate on a site when it is on at least
  ``max(3, 1%)`` of the site's pages; the share keeps a big outlet's recurring
  background paragraphs, which are text, not furniture.

A site is the URL's host, else the article's ``source``. Word hashes are polynomial hashes
of code points (not Python's per-process ``hash``), so every process finds the same runs.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np

from .corpus import Article

__all__ = ["site_of", "learn_lines", "remove_lines", "learn_site_runs", "remove_site_runs",
           "BodyCleaner"]

_MIX = np.uint64(0x9E3779B97F4A7C15)
_BASE = np.uint64(0x100000001B3)  # odd, so invertible modulo 2**64
_INVERSE = np.uint64(pow(int(_BASE), -1, 2**64))


def site_of(item: object) -> str | None:
    """The site an article was published on: its URL's host (without ``www.``), else its
    ``source``; ``None`` for plain texts and articles with neither.

    >>> site_of(Article("1", "", "نص", url="https://www.Example.com/a/1"))
    'example.com'
    """
    if not isinstance(item, Article):
        return None
    host = urlsplit(item.url).netloc.lower() if item.url else ""
    host = host.split("@")[-1].split(":")[0]
    host = host.removeprefix("www.")
    return host or item.source.strip() or None


# --- lines -------------------------------------------------------------------------------

def _line_key(line: str) -> str:
    # Boilerplate repeats byte for byte on one site; stripping is all the matching needs.
    return line.strip()


def learn_lines(bodies: Sequence[str], min_docs: int, min_chars: int) -> frozenset[str]:
    """Lines (stripped, at least ``min_chars`` long) found in at least ``min_docs`` bodies.

    Lines are counted by their hashes, then the frequent ones collected in a second pass:
    counting the lines themselves held a copy of the archive's text (400 MB at 60k
    articles) for the training's peak memory.
    """
    def keys(body: str) -> Iterable[str]:
        return (key for line in body.split("\n") if len(key := _line_key(line)) >= min_chars)

    per_body = [np.fromiter({hash(k) for k in keys(body)}, dtype=np.int64) for body in bodies]
    if not per_body:
        return frozenset()
    hashes, counts = np.unique(np.concatenate(per_body), return_counts=True)
    del per_body
    frequent = set(hashes[counts >= min_docs].tolist())
    if not frequent:
        return frozenset()
    # Count the candidate lines themselves (few), so that a rare line sharing a hash with
    # a frequent one by chance is not taken for boilerplate.
    tally: Counter[str] = Counter()
    for body in bodies:
        tally.update({k for k in keys(body) if hash(k) in frequent})
    return frozenset(k for k, n in tally.items() if n >= min_docs)


def remove_lines(body: str, lines: frozenset[str] | set[str]) -> str:
    """Drop the lines of ``body`` whose stripped form is in ``lines`` (the same string
    back when none is).

    >>> remove_lines("تابعونا على تلغرام\\nقصف على حلب", {"تابعونا على تلغرام"})
    'قصف على حلب'
    """
    if not lines:
        return body
    parts = body.split("\n")
    kept = [line for line in parts if _line_key(line) not in lines]
    return body if len(kept) == len(parts) else "\n".join(kept)


# --- word runs ---------------------------------------------------------------------------

def _site_key(site: str) -> np.uint64:
    with np.errstate(over="ignore"):
        return np.uint64(zlib.crc32(site.encode("utf-8", "surrogatepass")) + 1) * _MIX


@functools.lru_cache(maxsize=1)
def _word_chars() -> np.ndarray:
    """Which code points ``\\w`` matches, as a table (built from the regex's own runs
    over all code points: a tenth of the time of testing each one in Python)."""
    table = np.zeros(0x110000, dtype=bool)
    for run in re.finditer(r"\w+", "".join(map(chr, range(0x110000)))):
        table[run.start():run.end()] = True
    return table


class _Powers:
    """``_BASE ** i`` and its inverse modulo 2**64 (``_BASE`` is odd), grown on demand."""

    def __init__(self) -> None:
        self.up = self.down = np.ones(1, dtype=np.uint64)

    def upto(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.up) < n:
            size = max(n, 2 * len(self.up))
            one = np.ones(1, dtype=np.uint64)
            self.up = np.concatenate([one, np.cumprod(np.full(size - 1, _BASE))])
            self.down = np.concatenate([one, np.cumprod(np.full(size - 1, _INVERSE))])
        return self.up[:n], self.down[:n]


_POWERS = _Powers()


def _words(body: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``\\w+`` words of ``body``: their start and end offsets, and stable 64-bit
    hashes of them (polynomial over code points, the same in every process), computed
    with array operations rather than per word."""
    codes = np.frombuffer(body.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    edges = np.flatnonzero(np.diff(_word_chars()[codes], prepend=False, append=False))
    starts, ends = edges[::2], edges[1::2]
    up, down = _POWERS.upto(len(codes))
    prefix = np.concatenate([[np.uint64(0)], np.cumsum(codes * up, dtype=np.uint64)])
    return starts, ends, (prefix[ends] - prefix[starts]) * down[starts]


def _run_keys(hashes: np.ndarray, site: str, size: int) -> np.ndarray:
    """Order-sensitive hashes, mixed with the site, of every run of ``size`` consecutive
    word ``hashes``, in text order."""
    n = len(hashes) - size + 1
    if n <= 0:
        return np.empty(0, dtype=np.uint64)
    keys = np.zeros(n, dtype=np.uint64)
    for j in range(size):
        keys = (keys * np.uint64(1000003)) ^ (hashes[j:j + n] * (_MIX + np.uint64(2 * j + 1)))
    return keys ^ _site_key(site)


def learn_site_runs(bodies: Sequence[str], sites: Sequence[str | None], size: int,
                    min_docs: int, share: float, lines: frozenset[str] = frozenset(),
                    max_pages: int = 400) -> tuple[np.ndarray, frozenset[str]]:
    """Sorted keys of the ``size``-word runs found on at least ``max(min_docs, share *
    pages)`` pages of their site (in bodies without the boilerplate ``lines``), and the
    sites that have any.

    A site with more than ``max_pages`` pages is judged on that many of them, drawn at
    random (seeded): the share of pages a run is on is what matters, and a sample of 400
    measures a 1% share as well as 30,000 pages do, at a hundredth of the cost. Sites are
    counted one at a time, so memory holds one site's runs at most.
    """
    pages: dict[str, list[int]] = {}
    for i, site in enumerate(sites):
        if site is not None:
            pages.setdefault(site, []).append(i)
    rng = np.random.default_rng(0)
    found, with_runs = [], set()
    for site, rows in pages.items():
        if len(rows) > max_pages:
            rows = sorted(rng.choice(rows, size=max_pages, replace=False))
        need = max(min_docs, int(np.ceil(share * len(rows))))
        if len(rows) < need:
            continue  # no run can recur often enough
        keys = np.concatenate([np.unique(_run_keys(_words(remove_lines(bodies[i], lines))[2],
                                                   site, size)) for i in rows])
        unique, counts = np.unique(keys, return_counts=True)
        if (counts >= need).any():
            found.append(unique[counts >= need])
            with_runs.add(site)
    runs = np.sort(np.concatenate(found)) if found else np.empty(0, dtype=np.uint64)
    return runs, frozenset(with_runs)


def remove_site_runs(body: str, site: str | None, runs: np.ndarray, size: int) -> str:
    """Cut out of ``body`` every run of ``size`` words whose key is in ``runs`` (see
    :func:`learn_site_runs`); text between kept words stays, a cut becomes a space (a
    newline if it spanned one)."""
    if site is None or len(runs) == 0:
        return body
    starts, ends, hashes = _words(body)
    keys = _run_keys(hashes, site, size)
    if len(keys) == 0:
        return body
    pos = np.minimum(np.searchsorted(runs, keys), len(runs) - 1)
    hit = np.flatnonzero(runs[pos] == keys)
    if len(hit) == 0:
        return body
    covered = np.zeros(len(keys) + size, dtype=np.int64)
    np.add.at(covered, hit, 1)
    np.add.at(covered, hit + size, -1)
    covered = np.concatenate([[False], np.cumsum(covered[:-1]) > 0, [False]])
    edges = np.flatnonzero(np.diff(covered.astype(np.int8)))
    pieces, last = [], 0
    for first, final in zip(edges[::2], edges[1::2] - 1):  # word runs to cut, inclusive
        start, end = starts[first], ends[final]
        pieces.append(body[last:start])
        pieces.append("\n" if "\n" in body[start:end] else " ")
        last = end
    pieces.append(body[last:])
    return "".join(pieces)


@dataclass(frozen=True)
class BodyCleaner:
    """Learned boilerplate, applied to one body at a time (picklable: it runs in the
    counting worker processes)."""

    lines: frozenset[str] = frozenset()
    runs: np.ndarray | None = None
    run_words: int | None = None
    run_sites: frozenset[str] = frozenset()  # the sites that have runs: others are skipped

    def __call__(self, body: str, site: str | None) -> str:
        body = remove_lines(body, self.lines)
        if self.runs is not None and self.run_words and site in self.run_sites:
            body = remove_site_runs(body, site, self.runs, self.run_words)
        return body
