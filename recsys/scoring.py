"""The scoring steps of a related-articles query, in plain NumPy.

These are the reference implementations of the compiled loops in
:mod:`recsys.kernels`: same arguments, same results to the last bit (the same products
summed in the same order, in float64). The index answers with them when compiling would
cost more than it saves: numba needs about a second to start, which a command that asks
one question cannot afford (``recsys recommend`` answers in well under a second this
way). A process that serves many queries uses the kernels, about three times faster per
query. Tests check that both agree.

Scratch arrays (``scores``, ``dense``) are passed as in the kernels and left zeroed.
"""

from __future__ import annotations

import numpy as np

from .copies import SIGNATURE_SIZE, overlap
from .phrases import PhraseRows

__all__ = ["gather_pools", "exact_scores", "first_distinct", "row_similarities",
           "ranked", "finish_plain", "related_query", "related_rows", "decay_table",
           "theme_similarities", "row_theme", "projected_theme", "no_close_match", "NO_THEMES",
           "BIN_SHIFT", "LOWEST_BIN", "N_BINS", "NO_DATE", "score_bins", "is_copy",
           "copy_arguments", "rows_copy", "NO_COPIES", "phrase_arguments", "phrase_scores",
           "NO_PHRASES"]

NO_DATE = np.iinfo(np.int32).min
"""Day number stored for articles without a date."""

BIN_SHIFT = 16
"""Candidate cut histogram: a non-negative float32's exponent and top 7 mantissa bits,
so bins are about 1% wide and ordered like the scores."""
LOWEST_BIN = (97 << 7) - 1
"""Scores under 2**-30 fall in bin 0 with the zeros and never make the cut: results need
a cosine of at least 1e-9 anyway. Only the 3,970 bins from there to 2.0 are counted, a
histogram that stays in cache; the whole float range (32,769 bins of int64) made the
histogram and the cut cost about as much as the scatter itself."""
N_BINS = (128 << 7) - LOWEST_BIN + 1
"""Bin ``N_BINS - 1`` holds scores of 2.0 and above (cosines stay under it)."""


NO_THEMES = (np.zeros((0, 0), dtype=np.int8), np.zeros(0, dtype=np.float32), 0.0, 0.0, 0,
             np.zeros((0, 0), dtype=np.float32))
"""The theme arguments of an index without themes: ``(themes, scales, weight, below, pool,
projection)`` (see :func:`ranked` and :func:`related_query`)."""


def copy_arguments(values: np.ndarray, counts: np.ndarray, least: float,
                   query_values: np.ndarray | None = None, query_count: int = -1) -> tuple:
    """The copy arguments of the scoring functions: ``(values, counts, least,
    query_values, query_count)``, the archive's text signatures (:mod:`recsys.copies`;
    none: copies are told by the cosine alone), the least text overlap of a copy, and the
    query's signature (count -1: unknown, the cosine alone decides for the query)."""
    if query_values is None:
        query_values = np.zeros(SIGNATURE_SIZE, dtype=np.uint16)
    return (np.ascontiguousarray(values, dtype=np.uint16),
            np.ascontiguousarray(counts, dtype=np.int64), float(least),
            np.ascontiguousarray(query_values, dtype=np.uint16), np.int64(query_count))


NO_COPIES = copy_arguments(np.zeros((0, SIGNATURE_SIZE), dtype=np.uint16), np.zeros(0), 0.0)
"""The copy arguments of an index without signatures: copies told by the cosine alone."""


def is_copy(cosine, copy_at, copies, first_values, first_count, second) -> bool:
    """Whether a pair at ``cosine`` is a copy (the query and a candidate, or two
    candidates): its cosine reaches ``copy_at`` and, where the index keeps signatures
    and the first's is known (count -1: unknown), the estimated share of the shorter
    text's five-word runs that the other holds reaches ``copies[2]``. Same words at 0.8
    are often other outlets' write-ups of a story, which readers want; a repost repeats
    the text."""
    if cosine < copy_at:
        return False
    values, counts, least = copies[:3]
    if not len(values) or first_count < 0:
        return True
    return overlap(first_values, first_count, values[second], counts[second]) >= least


def rows_copy(cosine, copy_at, copies, first, second) -> bool:
    """:func:`is_copy` of two archived rows."""
    if not len(copies[0]):  # no signatures to take the first row's from
        return cosine >= copy_at
    return is_copy(cosine, copy_at, copies, copies[0][first], copies[1][first], second)


def _of_row(copies, row):
    """``copies`` with archived row ``row`` as the query."""
    if not len(copies[0]):
        return copies
    return (*copies[:3], copies[0][row], copies[1][row])


def phrase_arguments(indptr: np.ndarray, ids: np.ndarray, levels: np.ndarray,
                     scales: np.ndarray, weight: float, query_ids: np.ndarray | None = None,
                     query_weights: np.ndarray | None = None) -> tuple:
    """The phrase arguments of the scoring functions: ``(indptr, ids, levels, scales,
    weight, query_ids, query_weights)``, the archive's phrase rows
    (:class:`recsys.phrases.PhraseRows`), the weight of the phrase cosine in a score,
    and the query's phrases (ascending ids, float64 weights; none: no phrase scores)."""
    return (np.ascontiguousarray(indptr, dtype=np.int64),
            np.ascontiguousarray(ids, dtype=np.uint32),
            np.ascontiguousarray(levels, dtype=np.uint8),
            np.ascontiguousarray(scales, dtype=np.float32), float(weight),
            np.ascontiguousarray(np.zeros(0) if query_ids is None else query_ids, dtype=np.uint32),
            np.ascontiguousarray(np.zeros(0) if query_weights is None else query_weights,
                                 dtype=np.float64))


NO_PHRASES = phrase_arguments(np.zeros(1), np.zeros(0), np.zeros(0), np.zeros(0), 0.0)
"""The phrase arguments of an index without phrases (or with their weight 0)."""


def _phrases_of_row(phrases, row):
    """``phrases`` with archived row ``row``'s phrases as the query's."""
    if phrases[4] == 0.0:
        return phrases
    return (*phrases[:5], *PhraseRows(*phrases[:4]).row(row))


def phrase_scores(phrases, rows) -> np.ndarray:
    """Each of ``rows``' phrase cosine with the query's phrases (``phrases``, see
    :func:`phrase_arguments`): the products of their common phrases' weights, in
    ascending id order, summed in float64."""
    indptr, ids, levels, scales, _, query_ids, query_weights = phrases
    out = np.zeros(len(rows))
    if not len(query_ids):
        return out
    for i, row in enumerate(rows):
        span = slice(indptr[row], indptr[row + 1])
        _, mine, theirs = np.intersect1d(query_ids, ids[span], assume_unique=True,
                                         return_indices=True)
        if len(mine):
            products = query_weights[mine] * (levels[span][theirs].astype(np.float64)
                                              * np.float64(scales[row]))
            out[i] = products.cumsum()[-1]
    return out


def score_bins(bits: np.ndarray) -> np.ndarray:
    """Histogram bin of each non-negative float32 score, given as its int32 bits."""
    return np.clip((bits >> BIN_SHIFT) - LOWEST_BIN, 0, N_BINS - 1)


def entries(indptr: np.ndarray, majors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every stored entry of the given rows (CSR) or columns (CSC), in order: the
    index of its row within ``majors`` and its position in the data/indices arrays."""
    majors = np.asarray(majors, dtype=np.int64)
    starts = indptr[majors].astype(np.int64)
    lengths = indptr[majors + 1].astype(np.int64) - starts
    owner = np.repeat(np.arange(len(majors)), lengths)
    offsets = np.cumsum(lengths) - lengths
    positions = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(offsets - starts, lengths)
    return owner, positions


def gather_pools(indptr, indices, data, terms, weights, exclude, pool, wide, scores):
    """See :func:`recsys.kernels.gather_pools` (``scores`` gives the row count)."""
    owner, positions = entries(indptr, terms)
    products = data[positions] * np.asarray(weights, dtype=np.float32)[owner]
    summed = np.zeros(len(scores), dtype=np.float32)
    np.add.at(summed, indices[positions], products)  # in order, in float32: as the kernel
    if exclude >= 0:
        summed[exclude] = 0.0
    bins = score_bins(summed.view(np.int32))
    counts = np.bincount(bins, minlength=N_BINS)
    from_top = np.cumsum(counts[::-1])[::-1]  # from_top[b] = articles in bins >= b

    def best(wanted: int) -> np.ndarray:
        reaching = np.flatnonzero(from_top[2:] >= wanted)
        return np.flatnonzero(bins >= (int(reaching[-1]) + 2 if len(reaching) else 1))

    return best(pool), best(wide)


def exact_scores(indptr, indices, data, rows, terms, weights, dense):
    """See :func:`recsys.kernels.exact_scores`."""
    dense[terms] = weights
    owner, positions = entries(indptr, rows)
    out = np.bincount(owner, weights=data[positions] * dense[indices[positions]],
                      minlength=len(rows))
    dense[terms] = 0.0
    return out


def decay_table(half_life_days: float, span: int, undated_weight: float = 1.0) -> np.ndarray:
    """The recency factors: ``0.5 ** (age / half_life_days)`` for whole ages 0 ..
    ``span - 1`` days, then, last, ``undated_weight``, the factor of an undated candidate.
    Computed once per setting so that every path multiplies by the very same numbers
    (ages are whole days)."""
    ages = np.arange(max(span, 1), dtype=np.float64)
    return np.append(0.5 ** (ages / half_life_days), undated_weight)


def theme_similarities(themes, scales, rows, query_theme):
    """Each row's theme similarity with the query: ``max(0, themes[row] · query_theme)``
    with the row's 8-bit theme scaled back (``scales[row]``), summed in order in float64."""
    products = themes[rows].astype(np.float64) * query_theme
    sums = products.cumsum(axis=1)[:, -1] if products.shape[1] else np.zeros(len(rows))
    return np.maximum(sums * scales[rows].astype(np.float64), 0.0)


def row_theme(themes, scales, row):
    """Row ``row``'s theme as a query theme (float64), as :func:`theme_similarities`
    reads it."""
    return themes[row].astype(np.float64) * np.float64(scales[row])


def ranked(indptr, indices, data, cands, terms, weights, dense, floor, copy_at, days, day, decay,
           themes, query_theme, copies, phrases):
    """The candidates ``cands`` (rows, ascending) as a ranked list: exact cosines, those
    under ``floor`` or copies of the query (:func:`is_copy`) dropped, the rest
    multiplied by ``decay[age]`` (age in days from the freshest dated candidate; undated
    ones by ``decay[-1]`` if any candidate is dated; an empty ``decay`` turns recency
    off), best first, ties by row. Returns (rows, scores).

    Ages count from the freshest candidate, not from the query's date: the order is the
    same, but a new text dated today over an older archive keeps readable scores instead
    of all of them shrinking towards zero.

    ``themes`` is ``(theme rows, their scales, weight, below, pool, projection)``: when
    the best cosine left is under ``below`` (the query has no close match), each cosine
    first becomes
    ``(1 - weight) * cosine + weight * theme similarity`` (:func:`theme_similarities`
    with ``query_theme``; an empty ``query_theme`` or a weight of 0 leaves cosines as
    they are).

    ``phrases`` (:func:`phrase_arguments`): each cosine (themes mixed in) gains, before
    recency, the phrases' weight times the candidate's phrase cosine with the query
    (:func:`phrase_scores`)."""
    return _ranked_scored(cands, exact_scores(indptr, indices, data, cands, terms, weights, dense),
                          floor, copy_at, days, day, decay, themes, query_theme, copies, phrases)


def _not_copies(raw, cands, floor, copy_at, copies) -> np.ndarray:
    """Which candidates reach ``floor`` and are not copies of the query."""
    keep = (raw >= floor) & (raw < copy_at)
    for i in np.flatnonzero((raw >= floor) & (raw >= copy_at)):
        keep[i] = not is_copy(raw[i], copy_at, copies, copies[3], copies[4], cands[i])
    return keep


def _ranked_scored(cands, raw, floor, copy_at, days, day, decay, themes, query_theme, copies,
                   phrases):
    """:func:`ranked` once the candidates' exact cosines ``raw`` are known."""
    keep = _not_copies(raw, cands, floor, copy_at, copies)
    cands, raw = cands[keep], raw[keep]
    theme_rows, scales, weight, below = themes[:4]
    if weight > 0 and len(query_theme) and len(raw) and raw.max() < below:
        raw = ((1.0 - weight) * raw
               + weight * theme_similarities(theme_rows, scales, cands, query_theme))
    if phrases[4] > 0.0:
        raw = raw + phrases[4] * phrase_scores(phrases, cands)
    scores = raw.copy()
    if len(decay) and day != NO_DATE:
        ages = np.abs(days[cands].astype(np.int64) - day)
        dated = days[cands] != NO_DATE
        if dated.any():
            scores[dated] = raw[dated] * decay[ages[dated] - ages[dated].min()]
            scores[~dated] = raw[~dated] * decay[-1]
    order = np.argsort(-scores, kind="stable")  # ties keep the rows' ascending order
    return cands[order], scores[order]


def finish_plain(indptr, indices, data, cands, terms, weights, dense, floor, copy_at, days,
                 day, decay, k, threshold, themes, query_theme, copies, phrases):
    """See :func:`recsys.kernels.finish_plain`."""
    raw = exact_scores(indptr, indices, data, cands, terms, weights, dense)
    return _finish_scored(indptr, indices, data, cands, raw, dense, floor, copy_at, days, day,
                          decay, k, threshold, themes, query_theme, copies, phrases)


def _finish_scored(indptr, indices, data, cands, raw, dense, floor, copy_at, days, day, decay,
                   k, threshold, themes, query_theme, copies, phrases):
    """:func:`finish_plain` once the candidates' exact cosines ``raw`` are known."""
    cands, scores = _ranked_scored(cands, raw, floor, copy_at, days, day, decay, themes,
                                   query_theme, copies, phrases)
    limit = min(len(cands), max(3 * k, k + 20))
    if threshold == np.inf:
        chosen = np.arange(min(k, limit))
    else:
        chosen = first_distinct(indptr, indices, data, cands[:limit], k, threshold, dense, copies)
    return cands[chosen], scores[chosen]


def related_query(indptr, indices, data, postings_indptr, postings_indices, postings_data,
                  common, terms, weights, exclude, day, query_theme, pool, floor, copy_at, days,
                  decay, k, threshold, themes, scores, dense, copies, phrases):
    """See :func:`recsys.kernels.related_query`."""
    rare = ~common[terms]
    gather = (terms[rare], weights[rare]) if rare.any() else (terms, weights)
    # One accumulation for both pools, as the kernel takes its wide pool from the same scores.
    cands, wide = gather_pools(postings_indptr, postings_indices, postings_data, *gather, exclude,
                               pool, max(pool, themes[4]), scores)
    exact_weights = weights.astype(np.float64)
    raw = exact_scores(indptr, indices, data, cands, terms, exact_weights, dense)
    if (themes[2] > 0 and (len(query_theme) or len(themes[5]))
            and _best_kept_under(raw, cands, floor, copy_at, themes[3], copies)):
        if not len(query_theme):
            query_theme = projected_theme(themes[5], terms, exact_weights)
        if themes[4] > pool:
            cands = wide
            raw = exact_scores(indptr, indices, data, cands, terms, exact_weights, dense)
    return _finish_scored(indptr, indices, data, cands, raw, dense, floor, copy_at, days, day,
                          decay, k, threshold, themes, query_theme, copies, phrases)


def projected_theme(projection, terms, weights):
    """A new text's theme from its terms: ``weights @ projection[terms]`` (the projection
    is the topic features' LSA, term by term), summed term after term in float64, then
    unit length; empty if all zero. Computed only for a query with no close match: for
    the others it would cost a tenth of a query (its rows of a 40 MB array are never in
    cache)."""
    out = (projection[terms].astype(np.float64) * np.asarray(weights, dtype=np.float64)[:, None])
    out = out.cumsum(axis=0)[-1] if len(terms) else np.zeros(projection.shape[1])
    total = (out * out).cumsum()[-1] if len(out) else 0.0
    return out / np.sqrt(total) if total > 0 else np.zeros(0)


def no_close_match(indptr, indices, data, cands, terms, weights, dense, floor, copy_at, below,
                   copies):
    """Whether the best exact cosine among ``cands`` (from ``floor``, copies left out) is
    under ``below``: then themes are mixed in, and a query gathers ``pool`` candidates
    of the theme arguments instead (the ones themes lift are often further down)."""
    return _best_kept_under(exact_scores(indptr, indices, data, cands, terms, weights, dense),
                            cands, floor, copy_at, below, copies)


def _best_kept_under(raw, cands, floor, copy_at, below, copies):
    """Whether the best of the cosines ``raw`` of ``cands`` from ``floor`` that are not
    copies of the query is under ``below`` (none: no)."""
    raw = raw[_not_copies(raw, cands, floor, copy_at, copies)]
    return bool(len(raw)) and raw.max() < below


def related_rows(indptr, indices, data, postings_indptr, postings_indices, postings_data,
                 common, rows, pool, floor, copy_at, days, decay, k, threshold, themes, scores,
                 dense, copies, phrases):
    """See :func:`recsys.kernels.related_rows`."""
    found = np.full((len(rows), k), -1, dtype=np.int64)
    found_scores = np.zeros((len(rows), k), dtype=np.float64)
    counts = np.zeros(len(rows), dtype=np.int64)
    for q, row in enumerate(rows):
        span = slice(indptr[row], indptr[row + 1])
        query_theme = row_theme(themes[0], themes[1], row) if themes[2] > 0 else np.zeros(0)
        chosen, chosen_scores = related_query(
            indptr, indices, data, postings_indptr, postings_indices, postings_data, common,
            indices[span], data[span], row, int(days[row]), query_theme, pool, floor, copy_at,
            days, decay, k, threshold, themes, scores, dense, _of_row(copies, row),
            _phrases_of_row(phrases, row))
        counts[q] = len(chosen)
        found[q, :len(chosen)] = chosen
        found_scores[q, :len(chosen)] = chosen_scores
    return found, found_scores, counts


def _dots_with(indptr, indices, data, row, others, dense) -> np.ndarray:
    """Cosines of one row with each of ``others``: that row is the query."""
    span = slice(indptr[row], indptr[row + 1])
    return exact_scores(indptr, indices, data, others, indices[span], data[span], dense)


def first_distinct(indptr, indices, data, rows, k, threshold, dense, copies):
    """See :func:`recsys.kernels.first_distinct`."""
    chosen: list[int] = []
    for i, row in enumerate(rows):
        if len(chosen) == min(k, len(rows)):
            break
        sims = _dots_with(indptr, indices, data, row, rows[chosen], dense)
        if not any(rows_copy(sim, threshold, copies, rows[c], row)
                   for sim, c in zip(sims, chosen) if sim >= threshold):
            chosen.append(i)
    return np.array(chosen, dtype=np.int64)


def row_similarities(indptr, indices, data, rows, dense):
    """See :func:`recsys.kernels.row_similarities`."""
    sims = np.zeros((len(rows), len(rows)))
    for i, row in enumerate(rows):
        sims[i, i:] = _dots_with(indptr, indices, data, row, rows[i:], dense)
        sims[i:, i] = sims[i, i:]
    return sims


def column_postings(indptr, indices, data, columns, n_columns):
    """The postings of a few ``columns`` of a row-major matrix: (offsets, rows, values),
    ``columns[j]``'s entries at ``offsets[j]:offsets[j+1]``, rows ascending, exactly as
    the full term-major transpose holds them. A process that asks one question pays
    one pass over the matrix instead of transposing the whole archive."""
    slot = np.full(n_columns, -1, dtype=np.int64)
    slot[columns] = np.arange(len(columns))
    positions = np.flatnonzero(slot[indices] >= 0)
    rows = np.searchsorted(indptr, positions, side="right") - 1
    owner = slot[indices[positions]]
    order = np.argsort(owner, kind="stable")  # stable: rows stay ascending per column
    offsets = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=len(columns)))])
    return offsets, rows[order].astype(np.int32), data[positions][order]
