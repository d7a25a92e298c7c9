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

A site is the URL's host, else the article's ``source``. Word hashes are those of
:mod:`recsys.wordhash` (not Python's per-process ``hash``), so every process finds the
same runs.
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
from .wordhash import JoinedWords, batches, char_table, distinct_hashes

__all__ = ["site_of", "learn_lines", "remove_lines", "learn_site_runs", "remove_site_runs",
           "remove_site_runs_all", "BodyCleaner"]

_MIX = np.uint64(0x9E3779B97F4A7C15)


def site_of(item: object) -> str | None:
    """The site an article was published on: its URL's host (without ``www.``), else its
    ``source``; ``None`` for plain texts and articles with neither.

    >>> site_of(Article("1", "", "نص", url="https://www.Example.com/a/1"))
    'example.com'
    """
    if not isinstance(item, Article):
        return None
    url = item.url
    if url and not ("\t" in url or "\r" in url or "\n" in url):  # urlsplit drops those
        # Parsing once per site, not per article: training reads 60k URLs of a few
        # dozen sites (0.24 s parsing each of them).
        url = _AUTHORITY.match(url).group()
    return (_host(url) if url else "") or item.source.strip() or None


_AUTHORITY = re.compile(r"[^/?#]*(?://[^/?#]*)?")  # the scheme and host: all the host needs


@functools.lru_cache(maxsize=1024)
def _host(url: str) -> str:
    host = urlsplit(url).netloc.lower()
    host = host.split("@")[-1].split(":")[0]
    return host.removeprefix("www.")


# --- lines -------------------------------------------------------------------------------

# Boilerplate repeats byte for byte on one site; stripping is all the matching needs.
_line_key = str.strip


def learn_lines(bodies: Sequence[str], min_docs: int, min_chars: int) -> frozenset[str]:
    """Lines (stripped, at least ``min_chars`` long) found in at least ``min_docs`` bodies.

    Lines are counted by their hashes, then the frequent ones collected in a second pass:
    counting the lines themselves held a copy of the archive's text (400 MB at 60k
    articles) for the training's peak memory.
    """
    def keys(body: str) -> Iterable[str]:
        return (key for key in map(_line_key, body.split("\n")) if len(key) >= min_chars)

    found: list[int] = []  # the distinct hashes of each body in turn
    sizes = []
    for body in bodies:
        before = len(found)
        found.extend({hash(k) for k in keys(body)})
        sizes.append(len(found) - before)
    if not sizes:
        return frozenset()
    owner = np.repeat(np.arange(len(sizes)), sizes)
    every = np.array(found, dtype=np.int64)
    del found
    hashes, counts = np.unique(every, return_counts=True)
    frequent = hashes[counts >= min_docs]
    if not len(frequent):
        return frozenset()
    # Count the candidate lines themselves (few), so that a rare line sharing a hash with
    # a frequent one by chance is not taken for boilerplate; only the bodies that have
    # one are read again (a twelfth of the 60k real articles).
    with_frequent = np.unique(owner[np.isin(every, frequent)])
    frequent = set(frequent.tolist())
    tally: Counter[str] = Counter()
    for i in with_frequent.tolist():
        tally.update({k for k in keys(bodies[i]) if hash(k) in frequent})
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


def _run_keys(hashes: np.ndarray, size: int) -> np.ndarray:
    """Order-sensitive hashes of every run of ``size`` consecutive word ``hashes``, in
    text order (mixed with the site by the caller)."""
    n = len(hashes) - size + 1
    if n <= 0:
        return np.empty(0, dtype=np.uint64)
    keys = np.zeros(n, dtype=np.uint64)
    for j in range(size):
        keys = (keys * np.uint64(1000003)) ^ (hashes[j:j + n] * (_MIX + np.uint64(2 * j + 1)))
    return keys


_BATCH_CHARS = 1 << 18
_FILTER_SLOTS = 1 << 18


@dataclass(frozen=True)
class _Runs:
    """The ``size``-word runs of several texts (:class:`~recsys.wordhash.JoinedWords`): on
    the 60,502 real articles, hashing batches of texts rather than one text at a time cut
    cleaning from 4.4 to 1.6 s and learning the runs from 1.9 to 1.0 s, to the same
    results. Batches of ``_BATCH_CHARS`` bound the power tables that hashing keeps."""

    words: JoinedWords
    keys: np.ndarray  # of the run from each word on, mixed with its text's site
    whole: np.ndarray  # whether that run ends in the text it starts in

    @classmethod
    def of(cls, texts: Sequence[str], sites: Sequence[str], size: int) -> _Runs:
        words = JoinedWords.of(texts, char_table(r"\w"))
        keys = _run_keys(words.hashes, size)
        site_keys = np.array([_site_key(site) for site in sites], dtype=np.uint64)
        starting = words.text_of[: len(keys)]
        keys ^= site_keys[starting]
        return cls(words, keys, starting == words.text_of[size - 1:])


def _pages_with_run(site: str, pages: list[str], size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct keys of the ``size``-word runs of a site's ``pages``, and on how
    many pages each is."""
    found = []
    for span in batches(pages, _BATCH_CHARS):
        runs = _Runs.of(pages[span], [site] * len(pages[span]), size)
        keys, page = runs.keys[runs.whole], runs.words.text_of[: len(runs.keys)][runs.whole]
        # A run counts once per page: one key per distinct (run, page) pair.
        _, first, _ = distinct_hashes(keys ^ (page.astype(np.uint64) * _MIX))
        found.append(keys[first])
    return np.unique(np.concatenate(found) if found else np.empty(0, dtype=np.uint64),
                     return_counts=True)


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
        unique, counts = _pages_with_run(site, [remove_lines(bodies[i], lines) for i in rows],
                                         size)
        if (counts >= need).any():
            found.append(unique[counts >= need])
            with_runs.add(site)
    runs = np.sort(np.concatenate(found)) if found else np.empty(0, dtype=np.uint64)
    return runs, frozenset(with_runs)


def remove_site_runs(body: str, site: str | None, runs: np.ndarray, size: int) -> str:
    """Cut out of ``body`` every run of ``size`` words whose key is in ``runs`` (see
    :func:`learn_site_runs`); text between kept words stays, a cut becomes a space (a
    newline if it spanned one)."""
    return remove_site_runs_all([body], [site], runs, size)[0]


def remove_site_runs_all(bodies: Sequence[str], sites: Sequence[str | None], runs: np.ndarray,
                         size: int) -> list[str]:
    """:func:`remove_site_runs` of each body on its site, in batches."""
    out = list(bodies)
    chosen = [i for i, site in enumerate(sites) if site is not None] if len(runs) else []
    if chosen:
        # Few runs of a text are boilerplate: a table of the keys' low bits settles most
        # of them at a lookup each, before a binary search settles the rest.
        maybe = np.zeros(_FILTER_SLOTS, dtype=bool)
        maybe[runs & np.uint64(_FILTER_SLOTS - 1)] = True
    for span in batches([bodies[i] for i in chosen], _BATCH_CHARS):
        rows = chosen[span]
        found = _Runs.of([bodies[i] for i in rows], [sites[i] for i in rows], size)
        hit = np.flatnonzero(maybe[found.keys & np.uint64(_FILTER_SLOTS - 1)] & found.whole)
        pos = np.minimum(np.searchsorted(runs, found.keys[hit]), len(runs) - 1)
        hit = hit[runs[pos] == found.keys[hit]]
        if len(hit) == 0:
            continue
        words = found.words
        covered = np.zeros(len(words.starts) + 1, dtype=np.int64)
        np.add.at(covered, hit, 1)
        np.add.at(covered, hit + size, -1)
        covered = np.cumsum(covered[:-1]) > 0
        # Word runs to cut (first and last word), never running on into the next text.
        breaks = np.ones(len(covered) + 1, dtype=bool)
        breaks[1:-1] = ~covered[1:] | ~covered[:-1] | (words.text_of[1:] != words.text_of[:-1])
        firsts = np.flatnonzero(covered & breaks[:-1])
        finals = np.flatnonzero(covered & breaks[1:])
        pieces: dict[int, list[str]] = {}
        last: dict[int, int] = {}
        joined = words.joined
        for j, start, end in zip(words.text_of[firsts].tolist(), words.starts[firsts].tolist(),
                                 words.ends[finals].tolist()):
            text = pieces.setdefault(j, [])
            text.append(joined[last.get(j, words.offsets[j]):start])
            text.append("\n" if "\n" in joined[start:end] else " ")
            last[j] = end
        for j, text in pieces.items():
            text.append(joined[last[j]:words.offsets[j + 1] - 1])
            out[rows[j]] = "".join(text)
    return out


@dataclass(frozen=True)
class BodyCleaner:
    """Learned boilerplate, applied to bodies (picklable: it runs in the counting worker
    processes)."""

    lines: frozenset[str] = frozenset()
    runs: np.ndarray | None = None
    run_words: int | None = None
    run_sites: frozenset[str] = frozenset()  # the sites that have runs: others are skipped

    def __call__(self, body: str, site: str | None) -> str:
        return self.clean_all([body], [site])[0]

    def clean_all(self, bodies: Sequence[str], sites: Sequence[str | None]) -> list[str]:
        """Each body cleaned as its site's (``[self(b, s) for b, s in zip(bodies, sites)]``,
        in batches)."""
        bodies = [remove_lines(body, self.lines) for body in bodies]
        if self.runs is None or not self.run_words:
            return bodies
        sites = [site if site in self.run_sites else None for site in sites]
        return remove_site_runs_all(bodies, sites, self.runs, self.run_words)
