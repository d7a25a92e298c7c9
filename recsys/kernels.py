"""Compiled inner loops of the related-articles index (numba).

A related-articles query touches the postings of every query term: about 160,000
(article, weight) pairs for a typical article over 60k archived ones. SciPy walks them
fast but only through a copied column slice plus a product plus a separate top-k
(0.6-0.8 ms measured); one compiled loop that accumulates, selects and resets in place
takes a third of that, and the small per-candidate loops that follow (exact re-scoring,
copy detection) cost microseconds instead of SciPy's per-call overhead.

Every kernel is pure: it reads the index arrays and writes only the scratch buffers it
is handed, which it leaves zeroed on return, so one buffer set serves many queries of
one thread. Kernels release the GIL, so batch queries run on several threads; a plain
query (no editors' rules, date filter or MMR) is one call from gathering to the finished
list (:func:`related_query`), and a batch one call per share of rows
(:func:`related_rows`), so that threads do not queue for the GIL between kernels.

Loops over postings subscript with unsigned integers: given a signed one, numba tests
it for Python's negative wraparound on every access, which took a third of the
gathering's time.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import copies as _copies
from .scoring import BIN_SHIFT, LOWEST_BIN, N_BINS, NO_DATE
from .wordhash import BASE as _BASE
from .wordhash import NOT_FOUND

__all__ = ["gather_pools", "exact_scores", "first_distinct", "row_similarities",
           "no_close_match", "projected_theme", "finish_plain", "related_query", "related_rows",
           "article_row", "word_table", "text_words", "word_hashes", "signature"]

_JIT = {"cache": True, "nogil": True}

_overlap = njit(**_JIT)(_copies.overlap)
_SHINGLE_MIX = _copies._MIX  # signature makes the shingles copies.signatures makes


@njit(**_JIT)
def _is_copy(cosine, copy_at, copies, first_values, first_count, second):
    """Whether a pair at ``cosine`` is a copy: from ``copy_at`` and, where the index
    keeps signatures and the first one's is known (count -1: unknown), an overlap of
    their text from ``copies[2]`` (see :func:`recsys.scoring.is_copy`)."""
    if cosine < copy_at:
        return False
    values, counts, least = copies[0], copies[1], copies[2]
    if values.shape[0] == 0 or first_count < 0:
        return True
    return _overlap(first_values, first_count, values[second], counts[second]) >= least


@njit(**_JIT)
def _rows_copy(cosine, copy_at, copies, first, second):
    """:func:`_is_copy` of two archived rows."""
    if copies[0].shape[0] == 0:  # no signatures to take the first row's from
        return cosine >= copy_at
    return _is_copy(cosine, copy_at, copies, copies[0][first], copies[1][first], second)


@njit(**_JIT)
def _of_row(copies, row):
    """``copies`` with archived row ``row`` as the query (its signature, if kept)."""
    if copies[0].shape[0] == 0:
        return copies
    return (copies[0], copies[1], copies[2], copies[0][row], copies[1][row])


@njit(**_JIT)
def _phrases_of_row(phrases, row):
    """``phrases`` with archived row ``row``'s phrases as the query's (see
    :func:`recsys.scoring.phrase_arguments`)."""
    if phrases[4] == 0.0:
        return phrases
    indptr, ids, levels, scales = phrases[0], phrases[1], phrases[2], phrases[3]
    start, end = indptr[row], indptr[row + 1]
    weights = np.empty(end - start, dtype=np.float64)
    for j in range(start, end):
        weights[j - start] = np.float64(levels[j]) * np.float64(scales[row])
    return (indptr, ids, levels, scales, phrases[4], ids[start:end].copy(), weights)


_NO_PHRASE = np.uint32(0xFFFFFFFF)  # a free slot of a query's phrase table


@njit(**_JIT)
def _phrase_table(query_ids, query_weights):
    """The query's phrases in an open-addressing table, four slots or more a phrase
    (a power of two): ``(ids, weights, shift)``, for :func:`_phrase_score`."""
    size, shift = 16, 60
    while size < 4 * query_ids.shape[0]:
        size, shift = 2 * size, shift - 1
    ids = np.full(size, _NO_PHRASE, dtype=np.uint32)
    weights = np.zeros(size, dtype=np.float64)
    for i in range(query_ids.shape[0]):
        slot = np.int64((np.uint64(query_ids[i]) * _FIBONACCI) >> np.uint64(shift))
        while ids[slot] != _NO_PHRASE:
            slot = (slot + 1) & (size - 1)
        ids[slot] = query_ids[i]
        weights[slot] = query_weights[i]
    return ids, weights, shift


@njit(**_JIT)
def _phrase_score(phrases, row, table):
    """Row ``row``'s phrase cosine with the query's phrases (``table``:
    :func:`_phrase_table`), summed in the row's ascending id order as
    :func:`recsys.scoring.phrase_scores` sums them. Looking each of the row's phrases up
    in the query's table, the phrase scores of a query by new text at 60k articles took
    0.055 ms, against 0.075 ms merging the two id lists."""
    indptr, ids, levels, scales = phrases[0], phrases[1], phrases[2], phrases[3]
    table_ids, table_weights, shift = table
    mask = table_ids.shape[0] - 1
    scale = np.float64(scales[row])
    total = 0.0
    for j in range(indptr[row], indptr[row + 1]):
        phrase = ids[j]
        slot = np.int64((np.uint64(phrase) * _FIBONACCI) >> np.uint64(shift))
        while table_ids[slot] != _NO_PHRASE:
            if table_ids[slot] == phrase:
                total += table_weights[slot] * (np.float64(levels[j]) * scale)
                break
            slot = (slot + 1) & mask
    return total


@njit(**_JIT)
def gather_pools(indptr, indices, data, terms, weights, exclude, pool, wide, scores):
    """At least the ``pool`` articles of highest ``sum(weights[j] * X[article, terms[j]])``
    (fewer if fewer score above 0), in article order, and likewise at least ``wide`` of
    them, from one pass over the postings: ``(narrow, wide)``.

    ``indptr/indices/data`` are the term-major postings; ``scores`` is zeroed float32
    scratch, one slot per article (float32 halves the memory traffic of the scatter).
    The row ``exclude`` (or -1) is never returned. The cut is found on a histogram of the
    scores' float32 bit patterns (:func:`recsys.scoring.score_bins`) rather than by a
    partial sort (3x faster), first guessed from a sample (:func:`_best_rows`): every
    article in the cut's bin is kept, so a few more than ``pool`` may come back.
    """
    bits = _gathered(indptr, indices, data, terms, weights, exclude, scores)
    narrow = _best_rows(bits, pool)
    found = narrow if wide == pool else _best_rows(bits, wide)
    scores[:] = 0.0
    return narrow, found


@njit(**_JIT)
def _gathered(indptr, indices, data, terms, weights, exclude, scores):
    """The scores of :func:`gather_pools`, accumulated in ``scores``, as int32 bits."""
    _accumulate(indptr, indices, data, terms, weights, scores)
    if exclude >= 0:
        scores[exclude] = 0.0
    return scores.view(np.int32)


@njit(**_JIT)
def _accumulate(indptr, indices, data, terms, weights, scores):
    # Unsigned subscripts (the article numbers seen as uint32): numba then drops its test
    # for a negative one (Python's wraparound). With each posting list taken as a slice,
    # a new text's 210,000 postings at 60k articles took 0.23-0.26 ms against 0.31-0.46
    # (in turns, in one process), for the same sums in the same order.
    articles = indices.view(np.uint32)
    for j in range(terms.shape[0]):
        start, end = indptr[terms[j]], indptr[terms[j] + 1]
        weight, rows, values = weights[j], articles[start:end], data[start:end]
        for p in range(rows.shape[0]):
            scores[rows[p]] += weight * values[p]


_SAMPLE_STEP = 16  # every 16th score guesses the cut (see _best_rows)


@njit(**_JIT)
def _best_rows(bits, pool):
    """The rows of the top bins of the scores (as their int32 ``bits``) holding at least
    ``pool`` of them (see :func:`gather_pools`)."""
    # A guess first, from every 16th score: the bins holding about four times ``pool``
    # rows. When the rows in those bins are at least ``pool``, the cut is in one of them,
    # and their own histogram finds the very cut the whole one would: every row of those
    # bins is among them. At 60k articles this step fell from 59 to 35 us per new text:
    # the whole histogram had taken 48 of the 59.
    guess = _top_bins(_bin_counts(bits[::_SAMPLE_STEP]), -(-4 * pool // _SAMPLE_STEP))
    if guess > 1:
        rows = _at_or_above(bits, guess)
        if rows.shape[0] >= pool:
            kept = bits[rows]
            return rows[kept >= _lowest_bits(_top_bins(_bin_counts(kept), pool))]
    return _at_or_above(bits, _top_bins(_bin_counts(bits), pool))


@njit(**_JIT)
def _bin_counts(bits):
    """How many of the float32 bit patterns ``bits`` fall in each bin of
    :func:`recsys.scoring.score_bins`."""
    top = N_BINS - 1
    # Four histograms, filled in turn: neighbours mostly fall in one bin (the zeros'), and
    # increments of one counter wait on each other; four cut the histogram's time by half
    # (0.05 ms of a 0.5 ms query at 60k articles).
    counts = np.zeros((4, N_BINS), dtype=np.int32)
    n = bits.shape[0]
    for i in range(0, n - n % 4, 4):
        counts[0, min(max((bits[i] >> BIN_SHIFT) - LOWEST_BIN, 0), top)] += 1
        counts[1, min(max((bits[i + 1] >> BIN_SHIFT) - LOWEST_BIN, 0), top)] += 1
        counts[2, min(max((bits[i + 2] >> BIN_SHIFT) - LOWEST_BIN, 0), top)] += 1
        counts[3, min(max((bits[i + 3] >> BIN_SHIFT) - LOWEST_BIN, 0), top)] += 1
    for i in range(n - n % 4, n):
        counts[0, min(max((bits[i] >> BIN_SHIFT) - LOWEST_BIN, 0), top)] += 1
    return counts[0] + counts[1] + counts[2] + counts[3]


@njit(**_JIT)
def _top_bins(counts, wanted):
    """The lowest bin such that it and the bins above hold ``wanted`` (bin 1 at most:
    bin 0 holds the zeros)."""
    cut, total = N_BINS - 1, 0
    while cut > 1 and total + counts[cut] < wanted:
        total += counts[cut]
        cut -= 1
    return cut


@njit(**_JIT)
def _lowest_bits(cut):
    """The lowest float32 bit pattern in bin ``cut``: bins are ordered like the bits, so
    being in the cut's bin or above is one comparison."""
    return np.int32((cut + LOWEST_BIN) << BIN_SHIFT)


@njit(**_JIT)
def _at_or_above(bits, cut):
    """The positions of ``bits`` in bin ``cut`` or above, ascending."""
    lowest = _lowest_bits(cut)
    n_found = 0
    for i in range(bits.shape[0]):
        n_found += bits[i] >= lowest
    found = np.empty(n_found, dtype=np.int64)
    n_found = 0
    for i in range(bits.shape[0]):
        if bits[i] >= lowest:
            found[n_found] = i
            n_found += 1
    return found


@njit(**_JIT)
def _scatter(indptr, indices, data, row, dense, scale):
    terms, values = indices[indptr[row]:indptr[row + 1]], data[indptr[row]:indptr[row + 1]]
    for p in range(terms.shape[0]):
        dense[np.uint32(terms[p])] = values[p] * scale  # unsigned: see _accumulate


@njit(**_JIT)
def _dot(indptr, indices, data, row, dense):
    terms, values = indices[indptr[row]:indptr[row + 1]], data[indptr[row]:indptr[row + 1]]
    total = 0.0
    for p in range(terms.shape[0]):
        total += values[p] * dense[np.uint32(terms[p])]
    return total


@njit(**_JIT)
def exact_scores(indptr, indices, data, rows, terms, weights, dense):
    """Cosine of the query ``(terms, weights)`` with each of ``rows`` (row-major arrays),
    summed in float64 in row order, so every caller gets bit-identical scores.
    ``dense`` is zeroed float64 scratch, one slot per term."""
    for j in range(terms.shape[0]):
        dense[terms[j]] = weights[j]
    out = np.empty(rows.shape[0], dtype=np.float64)
    for i in range(rows.shape[0]):
        out[i] = _dot(indptr, indices, data, rows[i], dense)
    for j in range(terms.shape[0]):
        dense[terms[j]] = 0.0
    return out


@njit(**_JIT)
def _theme_similarity(theme_rows, scales, row, query_theme):
    """See :func:`recsys.scoring.theme_similarities` (one row)."""
    total = 0.0
    for j in range(query_theme.shape[0]):
        total += np.float64(theme_rows[row, j]) * query_theme[j]
    total = total * np.float64(scales[row])
    return total if total > 0.0 else 0.0


@njit(**_JIT)
def _row_theme(theme_rows, scales, row):
    """See :func:`recsys.scoring.row_theme`."""
    out = np.empty(theme_rows.shape[1], dtype=np.float64)
    for j in range(out.shape[0]):
        out[j] = np.float64(theme_rows[row, j]) * np.float64(scales[row])
    return out


@njit(**_JIT)
def first_distinct(indptr, indices, data, rows, k, threshold, dense, copies):
    """Positions of the first ``k`` of ``rows`` (best first) that are not copies (cosine
    >= ``threshold``, and text overlap: :func:`_is_copy`) of one taken before them."""
    chosen = np.empty(min(k, rows.shape[0]), dtype=np.int64)
    n_chosen = 0
    for i in range(rows.shape[0]):
        if n_chosen == chosen.shape[0]:
            break
        _scatter(indptr, indices, data, rows[i], dense, 1.0)
        copy = False
        for c in range(n_chosen):
            if _rows_copy(_dot(indptr, indices, data, rows[chosen[c]], dense), threshold, copies,
                          rows[chosen[c]], rows[i]):
                copy = True
                break
        _scatter(indptr, indices, data, rows[i], dense, 0.0)
        if not copy:
            chosen[n_chosen] = i
            n_chosen += 1
    return chosen[:n_chosen]


@njit(**_JIT)
def row_similarities(indptr, indices, data, rows, dense):
    """Cosines between every pair of ``rows`` (a symmetric matrix)."""
    m = rows.shape[0]
    sims = np.zeros((m, m))
    for i in range(m):
        _scatter(indptr, indices, data, rows[i], dense, 1.0)
        for j in range(i, m):
            sims[i, j] = sims[j, i] = _dot(indptr, indices, data, rows[j], dense)
        _scatter(indptr, indices, data, rows[i], dense, 0.0)
    return sims


@njit(**_JIT)
def _best_first(scores):
    """Positions of ``scores`` from highest to lowest, ties in position order: a stable
    insertion sort, as a candidate pool holds tens to a few hundred (numba's own
    ``argsort`` took over two seconds to compile, on every fresh install)."""
    order = np.arange(scores.shape[0])
    for i in range(1, scores.shape[0]):
        current = order[i]
        j = i
        while j > 0 and scores[order[j - 1]] < scores[current]:
            order[j] = order[j - 1]
            j -= 1
        order[j] = current
    return order


@njit(**_JIT)
def finish_plain(indptr, indices, data, cands, terms, weights, dense, floor, copy_at, days,
                 day, decay, k, threshold, themes, query_theme, copies, phrases):
    """The finishing of a query in one call (no MMR): the candidates ``cands`` (rows,
    ascending) re-scored exactly, those under ``floor`` or copies of the query (cosine
    ``>= copy_at`` and, with signatures, sharing their text: ``copies``, see
    :func:`recsys.scoring.is_copy`) dropped, scores times ``decay[age]`` (age in days
    from the freshest dated candidate; undated ones times ``decay[-1]`` if any candidate
    is dated; an empty ``decay`` turns recency off; a query with no close match mixed
    with its theme similarity first, and the phrase weight times the phrase cosine
    added before the decay, see :func:`recsys.scoring.ranked`), best first (ties by row),
    and of the best ``max(3k, k + 20)`` the first ``k`` that are not near-copies (``>=
    threshold``) of one taken before. Returns (rows, scores): what
    :func:`recsys.scoring.finish_plain` returns, to the last bit. In Python between
    kernels these steps cost a fifth of a query."""
    raw = exact_scores(indptr, indices, data, cands, terms, weights, dense)
    return _finish_scored(indptr, indices, data, cands, raw, dense, floor, copy_at, days, day,
                          decay, k, threshold, themes, query_theme, copies, phrases)


@njit(**_JIT)
def _finish_scored(indptr, indices, data, cands, raw, dense, floor, copy_at, days, day, decay,
                   k, threshold, themes, query_theme, copies, phrases):
    """:func:`finish_plain` once the candidates' exact cosines ``raw`` are known."""
    kept = np.empty(cands.shape[0], dtype=np.int64)
    scores = np.empty(cands.shape[0], dtype=np.float64)
    n = 0
    for i in range(cands.shape[0]):
        if raw[i] >= floor and not _is_copy(raw[i], copy_at, copies, copies[3], copies[4],
                                            cands[i]):
            kept[n] = cands[i]
            scores[n] = raw[i]
            n += 1
    kept, scores = kept[:n], scores[:n]
    theme_rows, scales, weight, below = themes[0], themes[1], themes[2], themes[3]
    if weight > 0.0 and query_theme.shape[0] > 0 and n > 0 and scores.max() < below:
        for i in range(n):
            scores[i] = ((1.0 - weight) * scores[i]
                         + weight * _theme_similarity(theme_rows, scales, kept[i], query_theme))
    if phrases[4] > 0.0 and phrases[5].shape[0] > 0:
        table = _phrase_table(phrases[5], phrases[6])
        for i in range(n):
            scores[i] = scores[i] + phrases[4] * _phrase_score(phrases, kept[i], table)
    if decay.shape[0] > 0 and day != NO_DATE:
        nearest = -1
        for i in range(n):
            if days[kept[i]] != NO_DATE:
                age = abs(np.int64(days[kept[i]]) - day)
                if nearest < 0 or age < nearest:
                    nearest = age
        for i in range(n):
            if days[kept[i]] != NO_DATE:
                scores[i] = scores[i] * decay[abs(np.int64(days[kept[i]]) - day) - nearest]
            elif nearest >= 0:
                scores[i] = scores[i] * decay[decay.shape[0] - 1]
    order = _best_first(scores)
    kept, scores = kept[order], scores[order]
    limit = min(n, max(3 * k, k + 20))
    if threshold == np.inf:
        chosen = np.arange(min(k, limit))
    else:
        chosen = first_distinct(indptr, indices, data, kept[:limit], k, threshold, dense, copies)
    return kept[chosen], scores[chosen]


@njit(**_JIT)
def related_query(indptr, indices, data, postings_indptr, postings_indices, postings_data,
                  common, terms, weights, exclude, day, query_theme, pool, floor, copy_at, days,
                  decay, k, threshold, themes, scores, dense, copies, phrases):
    """A plain related list (no editors' rules, no date filter, no MMR) for the query
    ``(terms, weights)`` dated ``day``, of theme ``query_theme`` (empty: projected from
    its terms if it has no close match and the theme arguments hold a projection, see
    :func:`recsys.scoring.related_query`): candidates gathered on its terms that are not
    ``common`` (on all of them if none is rare), never the row ``exclude``, then
    :func:`finish_plain`. Returns (rows, scores). One call per query: the Python between
    kernels cost a tenth of a query, and held the GIL that other threads' queries need."""
    rare = ~common[terms]
    if rare.any():
        gather_terms, gather_weights = terms[rare], weights[rare]
    else:
        gather_terms, gather_weights = terms.copy(), weights.copy()
    # The scores stay in the scratch until it is known whether the query has a close
    # match: without one, it takes a wider pool (``theme_pool``) from the same scores.
    # Gathering again cost a second scatter over every posting (a quarter of a millisecond,
    # for a quarter of real articles); taking both pools up front cost every query 15 us.
    bits = _gathered(postings_indptr, postings_indices, postings_data, gather_terms,
                     gather_weights, exclude, scores)
    cands = _best_rows(bits, pool)
    exact_weights = weights.astype(np.float64)
    raw = exact_scores(indptr, indices, data, cands, terms, exact_weights, dense)
    if (themes[2] > 0.0 and (query_theme.shape[0] > 0 or themes[5].shape[0] > 0)
            and _best_kept_under(raw, cands, floor, copy_at, themes[3], copies)):
        if query_theme.shape[0] == 0:
            query_theme = projected_theme(themes[5], terms, exact_weights)
        if themes[4] > pool:
            cands = _best_rows(bits, themes[4])
            raw = exact_scores(indptr, indices, data, cands, terms, exact_weights, dense)
    scores[:] = 0.0
    return _finish_scored(indptr, indices, data, cands, raw, dense, floor, copy_at, days, day,
                          decay, k, threshold, themes, query_theme, copies, phrases)


@njit(**_JIT)
def projected_theme(projection, terms, weights):
    """See :func:`recsys.scoring.projected_theme`."""
    out = np.zeros(projection.shape[1], dtype=np.float64)
    for j in range(terms.shape[0]):
        row = projection[terms[j]]
        for d in range(out.shape[0]):
            out[d] += weights[j] * np.float64(row[d])
    total = 0.0
    for d in range(out.shape[0]):
        total += out[d] * out[d]
    if total == 0.0:
        return np.zeros(0, dtype=np.float64)
    return out / np.sqrt(total)


@njit(**_JIT)
def no_close_match(indptr, indices, data, cands, terms, weights, dense, floor, copy_at, below,
                   copies):
    """See :func:`recsys.scoring.no_close_match`."""
    return _best_kept_under(exact_scores(indptr, indices, data, cands, terms, weights, dense),
                            cands, floor, copy_at, below, copies)


@njit(**_JIT)
def _best_kept_under(raw, cands, floor, copy_at, below, copies):
    """Whether the best of the cosines ``raw`` of ``cands`` from ``floor`` that are not
    copies of the query is under ``below`` (none: no)."""
    best, found = 0.0, False
    for i in range(raw.shape[0]):
        if (raw[i] >= floor and not _is_copy(raw[i], copy_at, copies, copies[3], copies[4],
                                             cands[i])
                and (not found or raw[i] > best)):
            best, found = raw[i], True
    return found and best < below


@njit(**_JIT)
def related_rows(indptr, indices, data, postings_indptr, postings_indices, postings_data,
                 common, rows, pool, floor, copy_at, days, decay, k, threshold, themes, scores,
                 dense, copies, phrases):
    """:func:`related_query` for each of the archive ``rows``, as a query by its own row.
    Returns ``(found, found_scores, counts)``: row ``q``'s list is
    ``found[q, :counts[q]]``. One call for a whole share of a batch."""
    m = rows.shape[0]
    found = np.full((m, k), -1, dtype=np.int64)
    found_scores = np.zeros((m, k), dtype=np.float64)
    counts = np.zeros(m, dtype=np.int64)
    for q in range(m):
        row = rows[q]
        # Contiguous copies (a row's hundred-odd entries): the query then has the same
        # array types as from Python, and is compiled once rather than twice.
        terms = np.ascontiguousarray(indices[indptr[row]:indptr[row + 1]])
        weights = np.ascontiguousarray(data[indptr[row]:indptr[row + 1]])
        query_theme = (_row_theme(themes[0], themes[1], row) if themes[2] > 0.0
                       else np.zeros(0, dtype=np.float64))
        chosen, chosen_scores = related_query(
            indptr, indices, data, postings_indptr, postings_indices, postings_data, common,
            terms, weights, row, np.int64(days[row]), query_theme, pool, floor, copy_at, days,
            decay, k, threshold, themes, scores, dense, _of_row(copies, row),
            _phrases_of_row(phrases, row))
        n = chosen.shape[0]
        counts[q] = n
        found[q, :n] = chosen
        found_scores[q, :n] = chosen_scores
    return found, found_scores, counts


@njit(**_JIT)
def article_row(columns, counts, pieces, idf, boosts, boost_in_lead, logs, blend):
    """A new article's word row, as :meth:`recsys.features.ArticleVectorizer.transform`
    computes it with NumPy, to the same bits: ``(done, columns, values)``, the columns
    ascending, the values unit length; ``done`` is False when a count has no entry in
    ``logs`` (then nothing is computed and the caller takes the NumPy steps).

    ``columns``, ``counts`` and ``pieces`` are the article's counted entries (column,
    count, which piece of the article: 0 title and lead, 1 the rest of the body, 2 on the
    boosts); ``boosts[j]`` weighs piece ``2 + j``, which counts in the lead too where
    ``boost_in_lead[j]``. ``logs[i]`` is NumPy's float32 ``log(i + 1)``, or ``logs`` is
    empty for raw term frequencies; ``blend`` is the lead blend's ``(1 - share, share)``
    as float32, or empty for none. For one article, these steps took some 30 NumPy calls,
    more time than all the counting before them.
    """
    order = np.argsort(columns)
    first = 0
    while first < order.shape[0] and columns[order[first]] < 0:
        first += 1
    order = order[first:]
    n_pieces = 2 + boosts.shape[0]
    terms = np.empty(order.shape[0], dtype=np.int32)
    sums = np.zeros((order.shape[0], n_pieces))
    n = -1
    for i in range(order.shape[0]):
        e = order[i]
        if n < 0 or columns[e] != terms[n]:
            n += 1
            terms[n] = columns[e]
        sums[n, pieces[e]] += counts[e]  # whole counts: exact in any order
    n += 1
    terms = terms[:n]
    whole = np.empty(n, dtype=np.float32)
    lead = np.empty(n, dtype=np.float32)
    for t in range(n):
        whole[t] = np.float32(sums[t, 0] + sums[t, 1])
        lead[t] = np.float32(sums[t, 0])
        for j in range(boosts.shape[0]):
            extra = np.float32(sums[t, 2 + j]) * boosts[j]
            whole[t] += extra
            if boost_in_lead[j]:
                lead[t] += extra
    if not (_tfidf(whole, terms, idf, logs) and _tfidf(lead, terms, idf, logs)):
        return False, terms[:0], whole[:0]
    if blend.shape[0]:
        _unit(whole)
        _unit(lead)
        for t in range(n):
            whole[t] = whole[t] * blend[0] + lead[t] * blend[1]
    kept = whole != 0
    values = whole[kept]
    _unit(values)
    return True, terms[kept], values


@njit(**_JIT)
def _tfidf(values, terms, idf, logs):
    """``ArticleVectorizer._tfidf`` on the nonzero ``values``, in place; False if a count
    has no entry in ``logs``."""
    for t in range(values.shape[0]):
        v = values[t]
        if v == 0:
            continue
        if logs.shape[0]:
            i = np.int64(v)
            if i != v or i < 1 or i > logs.shape[0]:
                return False
            v = logs[i - 1] + np.float32(1.0)
        values[t] = v * idf[terms[t]]
    return True


@njit(**_JIT)
def _unit(values):
    """``recsys.features._to_unit`` on one row: the squares summed in float64 in order,
    as ``np.bincount`` sums them."""
    total = 0.0
    for t in range(values.shape[0]):
        total += np.float64(values[t] * values[t])
    norm = np.sqrt(total)
    if norm == 0:
        norm = 1.0
    for t in range(values.shape[0]):
        values[t] = np.float32(np.float64(values[t]) / norm)


_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)  # spreads a hash's bits over a slot number


@njit(**_JIT)
def word_table(hashes, columns):
    """An open-addressing hash table of words' hashes (:mod:`recsys.wordhash`) and their
    columns, for :func:`text_words`: ``(keys, values)``, twice as many slots as words (a
    power of two); ``values`` is :data:`NOT_FOUND` in a free slot."""
    size, shift = 2, 63
    while size < 2 * hashes.shape[0]:
        size, shift = 2 * size, shift - 1
    keys = np.zeros(size, dtype=np.uint64)
    values = np.full(size, NOT_FOUND, dtype=np.int64)
    for i in range(hashes.shape[0]):
        slot = _probe(keys, values, hashes[i], shift)
        keys[slot] = hashes[i]
        values[slot] = columns[i]
    return keys, values


@njit(**_JIT)
def _probe(keys, values, key, shift):
    """The slot of :func:`word_table`'s table that holds ``key``, or the free one where it
    goes (``shift``: 64 minus log2 of the table's size)."""
    # The product's top bits (Fibonacci hashing): a polynomial hash's low bits depend
    # only on the code points' low bits.
    slot = np.int64((key * _FIBONACCI) >> np.uint64(shift))
    while values[slot] != NOT_FOUND and keys[slot] != key:
        slot = (slot + 1) & (keys.shape[0] - 1)
    return slot


@njit(**_JIT)
def text_words(codes, word_chars, keys, values):
    """The words of a text given as code points (:func:`word_hashes`), each with its
    column from the table of :func:`word_table`: ``(starts, ends, hashes, columns)``, a
    column :data:`NOT_FOUND` where the table lacks the word. One pass, where finding,
    hashing and looking up words with NumPy took some 15 array steps."""
    starts, ends, hashes = word_hashes(codes, word_chars)
    columns = np.empty(hashes.shape[0], dtype=np.int64)
    shift = 64 - np.int64(np.round(np.log2(keys.shape[0])))
    for m in range(hashes.shape[0]):
        columns[m] = values[_probe(keys, values, hashes[m], shift)]
    return starts, ends, hashes, columns


@njit(**_JIT)
def word_hashes(codes, word_chars):
    """The words of a text given as code points, maximal runs of the code points
    ``word_chars`` marks, and their hashes, as :func:`recsys.wordhash.hashed_words` finds
    them: ``(starts, ends, hashes)``."""
    n = codes.shape[0]
    starts = np.empty(n // 2 + 1, dtype=np.int64)
    ends = np.empty(n // 2 + 1, dtype=np.int64)
    hashes = np.empty(n // 2 + 1, dtype=np.uint64)
    m = 0
    i = 0
    while i < n:
        if not word_chars[codes[i]]:
            i += 1
            continue
        starts[m] = i
        key, power = np.uint64(0), np.uint64(1)
        while i < n and word_chars[codes[i]]:
            key += np.uint64(codes[i]) * power
            power *= _BASE
            i += 1
        ends[m], hashes[m] = i, key
        m += 1
    return starts[:m], ends[:m], hashes[:m]


@njit(**_JIT)
def signature(hashes, size, width, empty):
    """One text's signature from its words' hashes in order, as
    :func:`recsys.copies.signatures` makes it (``size`` bins, shingles of ``width``
    words, ``empty`` in a bin no shingle fell in): ``(values, count)``. Its array steps
    took a tenth of a query by new text."""
    values = np.full(size, empty, dtype=np.uint16)
    n = hashes.shape[0]
    runs = max(n - width + 1, 1 if n > 0 else 0)
    for start in range(runs):
        mixed = np.uint64(0)
        for w in range(min(width, n)):
            mixed = (mixed ^ hashes[start + w]) * _SHINGLE_MIX
        mixed ^= mixed >> np.uint64(29)
        slot = np.int64(mixed % np.uint64(size))
        value = np.uint16((mixed >> np.uint64(40)) % np.uint64(empty))
        if value < values[slot]:
            values[slot] = value
    return values, runs


@njit(**_JIT)
def kept_phrases(entries, least, most):
    """See :func:`recsys.phrases.kept_phrases`: one pass, where its array steps made
    arrays the size of the entries (18 million at 60k articles) a dozen times."""
    n = entries.shape[0]
    out = np.empty(n, dtype=np.uint64)
    keys = np.empty(n, dtype=np.uint64)
    dfs = np.empty(n, dtype=np.int64)
    key_shift = np.uint64(28)
    n_out = 0
    n_kept = 0
    i = 0
    while i < n:
        key = entries[i] >> key_shift
        j = i + 1
        df = 1
        while j < n and (entries[j] >> key_shift) == key:
            if entries[j] != entries[j - 1]:
                df += 1
            j += 1
        if least <= df <= most:
            t = i
            while t < j:  # a run of one article's occurrences
                u = t + 1
                while u < j and entries[u] == entries[t]:
                    u += 1
                doc = (entries[t] >> np.uint64(6)) & np.uint64((1 << 22) - 1)
                out[n_out] = ((doc << np.uint64(38)) | (np.uint64(n_kept) << np.uint64(6))
                              | np.uint64(min(u - t, 63)))
                n_out += 1
                t = u
            keys[n_kept] = key
            dfs[n_kept] = df
            n_kept += 1
        i = j
    return out[:n_out].copy(), keys[:n_kept].copy(), dfs[:n_kept].copy()


@njit(**_JIT)
def phrase_row(hashes, keys, values, shift, idf, logs):
    """One new text's phrase row, from its words' hashes in order: the ids of its pairs
    found in a fit's phrase table (``keys``, ``values``, ``shift``: :func:`word_table`
    of the phrase keys and their ids), their levels and the row's scale, as
    :func:`recsys.phrases.text_rows` makes them to the last bit (``logs``: NumPy's
    ``log`` of the counts 1..63, numba's may differ in the last bit). In NumPy those
    steps took a fifth of a query by new text; a binary search of the 880,000 keys,
    a tenth."""
    n = hashes.shape[0]
    found = np.empty(max(n - 1, 0), dtype=np.int64)
    m = 0
    mix = np.uint64(0x9E3779B97F4A7C15)
    for i in range(n - 1):
        x = hashes[i] * mix
        x ^= hashes[i + 1]
        x *= mix
        x ^= x >> np.uint64(29)
        slot = _probe(keys, values, x >> np.uint64(28), shift)
        if values[slot] != NOT_FOUND:
            found[m] = values[slot]
            m += 1
    found = found[:m]
    for i in range(1, m):  # insertion sort: a text has a hundred-odd phrases at most
        current = found[i]
        j = i
        while j > 0 and found[j - 1] > current:
            found[j] = found[j - 1]
            j -= 1
        found[j] = current
    ids = np.empty(m, dtype=np.uint32)
    weights = np.empty(m, dtype=np.float64)
    k = 0
    i = 0
    while i < m:
        j = i + 1
        while j < m and found[j] == found[i]:
            j += 1
        ids[k] = found[i]
        weights[k] = logs[min(j - i, 63) - 1] * np.float64(idf[found[i]])
        k += 1
        i = j
    ids, weights = ids[:k], weights[:k]
    levels = np.empty(k, dtype=np.uint8)
    if k == 0:
        return ids, levels, np.float32(0.0)
    largest = weights.max()
    total = 0.0
    for i in range(k):
        level = max(np.rint(255.0 * weights[i] / max(largest, 1e-12)), 1.0)
        levels[i] = np.uint8(level)
        total += level * level
    return ids, levels, np.float32(1.0 / max(np.sqrt(total), 1e-12))
