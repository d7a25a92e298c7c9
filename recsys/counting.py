"""Counting terms: what fitting's counting processes run, free of scikit-learn.

:class:`~recsys.features.TermCounter` fits on shares of the archive in worker processes.
They receive a :class:`WordCounter` (the analysis as a plain value, not the estimator)
and import only this module and NumPy/SciPy: 0.4 s to start instead of 1.45 s with
scikit-learn, CPU time they took from the parent while it learns the boilerplate (on
the 60,502 real articles, 1.25-1.45 s beside two processes importing this module,
1.8-2.3 s beside two importing scikit-learn).

The same :class:`WordCounter` counts new articles' words for ``transform``: with a
``Counter`` and a dict of known words (:meth:`WordCounter.entries`), or, in a warmed
process (a web worker), in a compiled pass over a table of the known words' hashes
(:meth:`WordCounter.table_entries`; the kernels are :mod:`recsys.kernels`', passed in,
so that this module never imports numba).
"""

from __future__ import annotations

import itertools
import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from . import copies, phrases
from .arabic import display_key, raw_word_table, strip_html
from .boilerplate import BodyCleaner
from .wordhash import NOT_FOUND, JoinedWords, batches, distinct_hashes

__all__ = ["WordCounter", "CountedArticle", "Share", "lead_of", "lead_end", "joined", "loaded",
           "forget", "spread_glued"]

Document = str | tuple[str, ...]  # a text, or its parts (title, body) joined by newlines
# Records to documents and their cuts, a share at a time (see TermCounter.fit_transform_split).
Prepare = Callable[[Sequence[Any]], tuple[list[Document], list[tuple[int, ...]]]]

_BATCH_CHARS = 1 << 19  # text hashed at once while counting: bounds the arrays (20 MB)
# Held while the words a vectorizer meets after fitting are analysed and remembered: a
# server's threads share them, and a glued word's number is its place in a shared list,
# which another thread's append must not take. One for the process: new words are rare.
NEW_WORDS_LOCK = threading.Lock()


def joined(document: Document) -> str:
    return document if isinstance(document, str) else "\n".join(document)


def lead_of(body: str, chars: int | None) -> str:
    """The first ``chars`` characters of ``body``, cut back to a word boundary.

    >>> lead_of("قصف مدفعي على حلب", 12)
    'قصف مدفعي'
    """
    return body[:lead_end(body, chars)]


def lead_end(body: str, chars: int | None) -> int:
    """Where :func:`lead_of` cuts ``body``."""
    if chars is None or len(body) <= chars:
        return len(body)
    cut = max(body.rfind(" ", 0, chars + 1), body.rfind("\n", 0, chars + 1))
    return cut if cut > 0 else chars


def spread_glued(text_of: np.ndarray, columns: np.ndarray, multi: list[tuple[int, ...]],
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Token occurrences (text, column) with each glued token's terms added: a glued
    token, column ``c`` below -1 (see :meth:`WordCounter.columns_of`), counts once for
    each of its terms ``multi[-2 - c]``; its own entry stays, for callers to drop with
    the other negative columns."""
    glued = np.flatnonzero(columns < -1)
    if not len(glued):
        return text_of, columns
    spread = [multi[-2 - c] for c in columns[glued].tolist()]
    return (np.concatenate([text_of, np.repeat(text_of[glued], [len(m) for m in spread])]),
            np.concatenate([columns, np.fromiter(itertools.chain.from_iterable(spread),
                                                 dtype=np.int64)]))


def loaded() -> None:
    """Nothing: a counting process that runs it has imported this module."""


@dataclass
class _Vocabulary:
    """One process's vocabulary during one fit. It grows share by share, so that a
    process analyses and numbers a distinct token once, not once per share."""

    terms: dict[str, int] = field(default_factory=dict)
    columns: dict[str, int] = field(default_factory=dict)  # token -> column (see columns_of)
    multi: list[tuple[int, ...]] = field(default_factory=list)
    shown: list[tuple | None] = field(default_factory=list)  # column -> display_key of its word
    # The tokens' hashes (recsys.wordhash), sorted, and their columns as in ``columns``.
    hashes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    hashed_columns: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


_PROCESS = uuid.uuid4().hex  # names this process's vocabularies to the merging parent
_FITS: dict[str, _Vocabulary] = {}  # fit id -> this process's vocabulary for that fit


def forget(fit: str) -> None:
    """Drop this process's vocabulary for ``fit`` (a fit counted here, without processes)."""
    _FITS.pop(fit, None)


def _piece_major(texts: np.ndarray, n_documents: int, n_pieces: int) -> np.ndarray:
    """The rows of article-major texts (piece ``j`` of document ``i`` at
    ``i * n_pieces + j``) in a share's counts, which come piece-major (``j * n_documents
    + i``: each piece a block, as the parent stacks them); later texts keep their place.
    In place."""
    pieces = texts < n_documents * n_pieces
    document, piece = np.divmod(texts[pieces], n_pieces)
    texts[pieces] = piece * n_documents + document
    return texts


@dataclass
class Share:
    """A share's counts, on the columns of the vocabulary of the process that counted
    it, and what that vocabulary gained meanwhile: the parent needs only the news."""

    counts: sp.csr_matrix
    vocabulary: str  # which process's vocabulary
    first_term: int  # how many terms it had before
    new_terms: list[str]
    shown: list[tuple[int, tuple]]  # (column, display_key of its word) where that improved
    words: list[str]  # the distinct words first met in this share, but glued ones
    word_columns: np.ndarray  # and their columns (-1: none)
    # The documents' text signatures (recsys.copies: values, counts); None when the
    # analyzer finds words its own way (no hashes to make them from).
    signatures: tuple[np.ndarray, np.ndarray] | None = None
    # Its documents' phrase entries (recsys.phrases.text_entries), or the file they
    # were spilled to (WordCounter.spill); None unless the counter finds phrases.
    phrases: np.ndarray | str | None = None


@dataclass(frozen=True)
class WordCounter:
    """Term counting with one analyzer, on a vocabulary the caller holds (or, fitting,
    on this process's vocabulary for the fit: :meth:`count_part`).

    ``analyzer`` supplies ``raw_words(text)`` and ``terms_of(words, remember=...)``
    (a :class:`recsys.arabic.WordAnalysis`, or any analyzer of the user's); ``hashed``
    says whether fitting may find its raw words by hashing code points
    (:meth:`count_hashed`), which holds when they are those of
    :func:`recsys.arabic.raw_words`; ``phrases``, whether fitting also finds the
    documents' phrases (:mod:`recsys.phrases`), which it can only when ``hashed``;
    ``spill``, a directory where a counting process writes a share's phrase entries,
    to send the parent the file's name rather than the entries through the pipe.
    """

    analyzer: Any
    hashed: bool = False
    phrases: bool = False
    spill: str | None = None

    def columns_of(self, tokens: list[str], vocabulary: dict[str, int], grow: bool,
                    multi: list[tuple[int, ...]]) -> list[int]:
        """Each token's column: -1 for none; for a glued token of several terms,
        ``-2 - i`` where ``multi[i]`` holds their columns."""
        found = []
        # Callers cache each token's column: caching its terms as well would hold every
        # distinct word twice.
        for terms in self.analyzer.terms_of(tokens, remember=False):
            # Most words have one term: no list built for them halves this loop's own time
            # (0.44 -> 0.22 s over the 455,000 words of the 60k articles).
            if grow and len(terms) == 1:
                found.append(vocabulary.setdefault(terms[0], len(vocabulary)))
                continue
            if grow:
                cols = [vocabulary.setdefault(term, len(vocabulary)) for term in terms]
            else:
                cols = [col for term in terms if (col := vocabulary.get(term, -1)) >= 0]
            if len(cols) > 1:
                multi.append(tuple(cols))
            found.append(-1 - len(multi) if len(cols) > 1 else cols[0] if cols else -1)
        return found

    def entries(self, texts: Iterable[str], vocabulary: dict[str, int], cache: dict[str, int],
                 multi: list[tuple[int, ...]], grow: bool) -> Iterator[tuple[list[int], list[int]]]:
        """Each text's columns and counts, one entry per distinct token: a column may
        come more than once (two spellings of one term), and -1 stands for no column."""
        surface = self.analyzer.raw_words
        for text in texts:
            counts = Counter(surface(text))
            cols = list(map(cache.get, counts))  # C-level lookups: the hot loop
            if None in cols:
                new = [t for t, c in zip(counts, cols) if c is None]
                with NEW_WORDS_LOCK:
                    cache.update(zip(new, self.columns_of(new, vocabulary, grow, multi)))
                cols = list(map(cache.get, counts))
            vals = list(counts.values())
            if min(cols, default=0) < -1:  # glued words: spread over their terms
                pairs = [(c, v) for col, v in zip(cols, vals)
                         for c in (multi[-2 - col] if col < -1 else (col,))]
                cols, vals = [c for c, _ in pairs], [v for _, v in pairs]
            yield cols, vals

    def table_entries(self, texts: Sequence[str], table: tuple[Callable, np.ndarray, np.ndarray],
                      vocabulary: dict[str, int], unseen: dict[int, int],
                      multi: list[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
        """Each token occurrence of ``texts`` as (text, column) arrays (glued tokens'
        terms added, see :func:`spread_glued`), the tokens found and looked up by the
        compiled ``table``, ``(recsys.kernels.text_words, keys, values)`` over the hashes
        of known words; a token the table lacks is looked up in ``unseen`` (hash ->
        column), where it is added when first analysed (holding :data:`NEW_WORDS_LOCK`)."""
        find, keys, values = table
        if self.analyzer.strip_markup:
            texts = [strip_html(t) for t in texts]
        text_of, columns = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)]
        for span in batches(texts, _BATCH_CHARS):
            text = "\n".join(texts[span])
            codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
            starts, ends, hashes, found = find(codes, raw_word_table(), keys, values)
            new = np.flatnonzero(found == NOT_FOUND)
            if len(new):
                found[new] = self._unseen_columns(text, starts[new], ends[new], hashes[new],
                                                  vocabulary, unseen, multi)
            offsets = np.cumsum([0] + [len(t) + 1 for t in texts[span]])
            text_of.append(np.searchsorted(offsets, starts, side="right") - 1 + span.start)
            columns.append(found)
        return spread_glued(np.concatenate(text_of), np.concatenate(columns), multi)

    def _unseen_columns(self, text: str, starts: np.ndarray, ends: np.ndarray,
                        hashes: np.ndarray, vocabulary: dict[str, int], unseen: dict[int, int],
                        multi: list[tuple[int, ...]]) -> list[int]:
        missing: dict[int, str] = {}
        for key, start, end in zip(hashes.tolist(), starts.tolist(), ends.tolist()):
            if key not in unseen:
                missing.setdefault(key, text[start:end])
        if missing:
            with NEW_WORDS_LOCK:
                unseen.update(zip(missing, self.columns_of(list(missing.values()), vocabulary,
                                                           False, multi)))
        return [unseen[key] for key in hashes.tolist()]

    def count(self, texts: Iterable[str], vocabulary: dict[str, int], cache: dict[str, int],
               multi: list[tuple[int, ...]], grow: bool) -> sp.csr_matrix:
        indices: list[int] = []
        values: list[int] = []
        indptr = [0]
        for cols, vals in self.entries(texts, vocabulary, cache, multi, grow):
            indices.extend(cols)
            values.extend(vals)
            indptr.append(len(indices))
        cols = np.array(indices, dtype=np.int64)
        rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        keep = cols >= 0
        # COO to CSR sums the entries of glued-word terms that repeat a column.
        return sp.csr_matrix((np.array(values, dtype=np.float32)[keep], (rows[keep], cols[keep])),
                             shape=(len(indptr) - 1, len(vocabulary)))

    def count_hashed(self, texts: list[str], vocab: _Vocabulary, n_documents: int,
                     n_pieces: int = 1,
                     ) -> tuple[sp.csr_matrix, tuple[np.ndarray, np.ndarray],
                                np.ndarray | None]:
        """``count(texts, ...)`` while fitting, to the same matrix and vocabulary, with
        the tokens found and told apart by their hashes (:mod:`recsys.wordhash`): a
        string object per token cost more than all the rest of counting. Only the
        tokens new to ``vocab`` are cut out as strings, in the order first met.

        The first ``n_documents * n_pieces`` texts are the documents' pieces, article-major
        (piece ``j`` of document ``i`` is text ``i * n_pieces + j``); any texts after them
        (titles counted again) are only counted. From the same hashes come the
        documents' signatures (:func:`recsys.copies.signatures`) and, if the counter finds
        phrases (else ``None``), their phrase entries (:func:`recsys.phrases.text_entries`),
        each of a document's pieces read on into the next as in its whole text.
        """
        if self.analyzer.strip_markup:
            texts = [strip_html(t) for t in texts]
        rows, columns, values, counts = [], [], [], []
        entries = [np.empty(0, dtype=np.uint64)]
        n_texts = n_documents * n_pieces
        for span in batches(texts, _BATCH_CHARS, n_pieces):
            text_of, found, words = self.count_batch(texts[span], vocab)
            rows.append(text_of + span.start)
            columns.append(found)
            if span.start < n_texts:  # the batch's documents, each as one text
                first = span.start // n_pieces
                end = np.searchsorted(words.text_of, n_texts - span.start)
                value, count = copies.signatures(
                    words.hashes[:end], (words.text_of[:end] + span.start) // n_pieces - first,
                    min(span.stop, n_texts) // n_pieces - first)
                values.append(value)
                counts.append(count)
            if self.phrases:
                entries.append(phrases.text_entries(words.hashes, words.text_of, span.start,
                                                    n_documents, n_pieces))
        rows = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
        columns = np.concatenate(columns) if columns else np.empty(0, dtype=np.int64)
        signed = ((np.concatenate(values), np.concatenate(counts)) if values
                  else copies.signatures(np.empty(0), np.empty(0), 0))
        rows = _piece_major(rows, n_documents, n_pieces)
        return (sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, columns)),
                              shape=(len(texts), len(vocab.terms))), signed,
                np.concatenate(entries) if self.phrases else None)

    def count_batch(self, texts: list[str], vocab: _Vocabulary,
                    ) -> tuple[np.ndarray, np.ndarray, JoinedWords]:
        """The text and column of each term occurrence of ``texts``, and their words."""
        words = JoinedWords.of(texts, raw_word_table())
        starts, text_of = words.starts, words.text_of
        distinct, first, inverse = distinct_hashes(words.hashes)
        at = np.searchsorted(vocab.hashes, distinct)
        known = at < len(vocab.hashes)
        known[known] = vocab.hashes[at[known]] == distinct[known]
        columns = np.zeros(len(distinct), dtype=np.int64)
        columns[known] = vocab.hashed_columns[at[known]]
        new = np.flatnonzero(~known)
        if len(new):
            in_order = new[np.argsort(first[new], kind="stable")]
            tokens = [words.joined[a:b] for a, b in zip(starts[first[in_order]].tolist(),
                                                         words.ends[first[in_order]].tolist())]
            found = self.columns_of(tokens, vocab.terms, True, vocab.multi)
            vocab.columns.update(zip(tokens, found))
            columns[in_order] = found
            # ``new`` ascends by hash, as the table: inserting keeps it sorted.
            vocab.hashes = np.insert(vocab.hashes, at[new], distinct[new])
            vocab.hashed_columns = np.insert(vocab.hashed_columns, at[new], columns[new])
        text_of, columns = spread_glued(text_of, columns[inverse], vocab.multi)
        keep = columns >= 0
        return text_of[keep], columns[keep], words

    def count_part(self, documents: Sequence[Any], cuts: Sequence[tuple[int, ...]] | None,
                    firsts: bool, prepare: Prepare | None, fit: str) -> Share:
        """Count a share of the documents on this process's vocabulary for ``fit``.
        Rows come in blocks of one row per document: the pieces between consecutive
        cuts (one block, the whole texts, without ``cuts``), then the documents' first
        parts (with ``firsts``)."""
        if prepare is not None:
            documents, cuts = prepare(documents)
        texts = [joined(d) for d in documents]
        n_pieces = 1
        if cuts is not None and documents:
            bounds = [(0, *c, len(t)) for t, c in zip(texts, cuts)]
            n_pieces = len(bounds[0]) - 1
            # Article-major, an article's pieces side by side: its words then run on across
            # the cuts as in its whole text, which its copy signature and phrases are of.
            texts = [t[b[j]:b[j + 1]] for t, b in zip(texts, bounds) for j in range(n_pieces)]
        if firsts:
            texts += [d if isinstance(d, str) else d[0] for d in documents]
        if fit not in _FITS:
            _FITS.clear()  # an earlier fit's vocabulary is of no further use
        vocab = _FITS.setdefault(fit, _Vocabulary())
        first_term, first_token = len(vocab.terms), len(vocab.columns)
        signed = found = None
        if self.hashed:
            counts, signed, found = self.count_hashed(texts, vocab, len(documents), n_pieces)
            if found is not None and self.spill is not None:
                # 150 MB at 60k articles: through the pipe, the parent's unpickling held
                # the GIL its merging needs, and the counting took 0.6 s longer.
                path = os.path.join(self.spill, f"{uuid.uuid4().hex}.u64")
                found.tofile(path)  # raw: the parent reads it into place (features._selected)
                found = path
        else:  # an analyzer of other words: find them its way
            counts = self.count(texts, vocab.terms, vocab.columns, vocab.multi, grow=True)
            counts = counts[np.argsort(_piece_major(np.arange(len(texts)), len(documents),
                                                    n_pieces))]
        # A term shows as its most readable word (see display_key) among its tokens.
        vocab.shown.extend([None] * (len(vocab.terms) - len(vocab.shown)))
        improved = {}
        words, word_columns = [], []
        for token, col in itertools.islice(vocab.columns.items(), first_token, None):  # the new
            if col >= -1:
                words.append(token)
                word_columns.append(col)
            if col >= 0:
                key = display_key(token)
                if vocab.shown[col] is None or key < vocab.shown[col]:
                    vocab.shown[col] = improved[col] = key
        return Share(counts, f"{_PROCESS}-{fit}", first_term,
                      list(itertools.islice(vocab.terms, first_term, None)), list(improved.items()),
                      words, np.array(word_columns, dtype=np.int64), signed, found)


@dataclass(frozen=True)
class CountedArticle:
    """What the counting processes make of an archived article: its title and cleaned
    body, cut after the title plus the first ``levels[j]`` body characters."""

    clean_body: BodyCleaner
    levels: tuple[int, ...]

    def __call__(self, records: Sequence[tuple[str, str, str | None]],
                 ) -> tuple[list[Document], list[tuple[int, ...]]]:
        if not records:
            return [], []
        titles, bodies, sites = zip(*records)
        bodies = self.clean_body.clean_all(bodies, sites)
        return (list(zip(titles, bodies)),
                [tuple(len(t) + 1 + lead_end(b, c) for c in self.levels)
                 for t, b in zip(titles, bodies)])
