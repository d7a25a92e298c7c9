"""Measuring topics and related lists: metric functions and gold-standard readers.

Metrics are pure functions of ranked ids and gold sets, checked in the tests against
scikit-learn and hand-computed values.

>>> ndcg_at_k(["a", "x", "b"], {"a": 1, "b": 1}, k=3)
0.9197...
"""

from __future__ import annotations

import ast
import gzip
import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from .corpus import TOPICS
from .errors import CorpusError

__all__ = [
    "topic_metrics",
    "flag_metrics",
    "precision_at_k",
    "recall_at_k",
    "ndcg_at_k",
    "reciprocal_rank",
    "related_metrics",
    "graded_metrics",
    "read_related_gold",
    "read_graded_judgments",
    "read_gold",
    "evaluate_model",
    "RELATED_STANCES",
]

RELATED_STANCES = frozenset({"agree", "disagree", "discuss"})
"""Stances that make a fact-check page about its claim (``unrelated`` does not)."""


# --- topics -----------------------------------------------------------------------------------

def topic_metrics(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, Any]:
    """Macro-F1, accuracy, per-topic precision/recall/F1/support and the confusion matrix
    (rows true, columns predicted, both in :data:`TOPICS` order)."""
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=list(TOPICS),
                                                 zero_division=0)
    return {
        "n": len(y_true),
        "macro_f1": float(np.mean(f)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "per_topic": {t: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                          "support": int(s[i])} for i, t in enumerate(TOPICS)},
        "confusion": confusion_matrix(y_true, y_pred, labels=list(TOPICS)).tolist(),
        "labels": list(TOPICS),
    }


def flag_metrics(y_true: Sequence[str], y_pred: Sequence[str], flagged: Sequence[bool]) -> dict[str, Any]:
    """How well the low-confidence flag marks the errors: the share of predictions
    flagged, the accuracy of the flagged and of the other ones, and the share of the
    errors that are flagged (``nan`` where there is nothing to count).

    >>> flag_metrics(["combat", "other", "other", "combat"], ["combat", "combat", "other", "other"],
    ...              [False, True, False, True])["errors_flagged"]
    1.0
    """
    right = np.asarray(y_true, dtype=object) == np.asarray(y_pred, dtype=object)
    flagged = np.asarray(flagged, dtype=bool)

    def share(values: np.ndarray) -> float:
        return float(values.mean()) if len(values) else float("nan")

    return {"share": share(flagged), "accuracy_flagged": share(right[flagged]),
            "accuracy_unflagged": share(right[~flagged]), "errors_flagged": share(flagged[~right])}


# --- ranked lists -------------------------------------------------------------------------------

def precision_at_k(ranked: Sequence[str], relevant: set[str] | Mapping[str, int], k: int) -> float:
    """Share of the first ``k`` slots holding a relevant id (missing slots count as misses).

    >>> precision_at_k(["a", "x", "b"], {"a", "b"}, k=5)
    0.4
    """
    return sum(1 for i in ranked[:k] if _gain_grade(relevant, i) > 0) / k


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the relevant ids found in the first ``k``.

    >>> recall_at_k(["a", "x"], {"a", "b"}, k=10)
    0.5
    """
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def _gain_grade(relevant: set[str] | Mapping[str, int], item: str) -> int:
    if isinstance(relevant, Mapping):
        return int(relevant.get(item, 0))
    return 1 if item in relevant else 0


def ndcg_at_k(ranked: Sequence[str], relevant: set[str] | Mapping[str, int], k: int = 10) -> float:
    """nDCG@k with gain ``2**grade - 1`` (a set means grade 1 for each member).

    >>> round(ndcg_at_k(["b", "a"], {"a": 2, "b": 1}, k=2), 4)
    0.7967
    """
    grades = relevant if isinstance(relevant, Mapping) else dict.fromkeys(relevant, 1)
    dcg = sum((2 ** _gain_grade(grades, item) - 1) / math.log2(rank + 2)
              for rank, item in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2 ** g - 1) / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: set[str]) -> float:
    """1 / rank of the first relevant id, or 0.

    >>> reciprocal_rank(["x", "y", "a"], {"a"})
    0.3333333333333333
    """
    for rank, item in enumerate(ranked, 1):
        if item in relevant:
            return 1.0 / rank
    return 0.0


def related_metrics(results: Mapping[str, Sequence[str]], gold: Mapping[str, set[str]]) -> dict[str, float]:
    """Mean P@5, R@10, nDCG@10 and MRR over the gold queries (a query with no result
    list scores zero)."""
    rows = []
    for query, relevant in gold.items():
        ranked = [r for r in results.get(query, []) if r != query]
        rows.append((precision_at_k(ranked, relevant, 5), recall_at_k(ranked, relevant, 10),
                     ndcg_at_k(ranked, relevant, 10), reciprocal_rank(ranked, relevant)))
    means = np.mean(rows, axis=0) if rows else np.zeros(4)
    return {"queries": len(rows), "p@5": float(means[0]), "r@10": float(means[1]),
            "ndcg@10": float(means[2]), "mrr": float(means[3])}


def graded_metrics(results: Mapping[str, Sequence[str]], judgments: Mapping[str, Mapping[str, int]],
                   ks: Sequence[int] = (1, 3, 5, 10)) -> dict[str, float]:
    """Graded nDCG@k over condensed lists (unjudged suggestions removed before cutting
    at k, so give lists deeper than k), and P@5 counting unjudged suggestions as not
    related. Queries with no positive judgment have no ideal ranking; leave them out
    (as :func:`evaluate_model` does) rather than count them as zero."""
    ndcg = {k: [] for k in ks}
    p5 = []
    for query, grades in judgments.items():
        ranked = [r for r in results.get(query, []) if r != query]
        p5.append(precision_at_k(ranked, grades, 5))
        condensed = [r for r in ranked if r in grades]
        for k in ks:
            ndcg[k].append(ndcg_at_k(condensed, grades, k))
    out = {"queries": len(p5), "p@5": float(np.mean(p5)) if p5 else 0.0}
    out |= {f"ndcg@{k}": float(np.mean(v)) if v else 0.0 for k, v in ndcg.items()}
    return out


# --- gold readers -----------------------------------------------------------------------------------

def _json_lines(path: Path) -> list[tuple[int, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            lines = handle.read().split("\n")
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise CorpusError(f"cannot read: {exc}", path=path) from None
    rows = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                rows.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise CorpusError(f"malformed JSON ({exc.msg})", path=path, line=number) from None
    return rows


def _listish(value: Any) -> Any:
    # Some exports keep nested fields as their Python repr; read those safely.
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    return value


def read_related_gold(path: str | Path) -> dict[str, set[str]]:
    """Groups of related articles, as ``{query id: set of related ids}``.

    Accepts lines of ``{"id", "related_ids": [...]}``, or fact-check records with
    ``claims: [{"claim", "stance"}]``: articles sharing a claim with a stance in
    :data:`RELATED_STANCES` are related to each other.
    """
    path = Path(path)
    gold: dict[str, set[str]] = {}
    by_claim: dict[str, set[str]] = defaultdict(set)
    for number, record in _json_lines(path):
        if not isinstance(record, dict) or "id" not in record:
            raise CorpusError("expected an object with an id", path=path, line=number, field="id")
        article_id = str(record["id"])
        if "related_ids" in record:
            related = _listish(record["related_ids"])
            if not isinstance(related, list):
                raise CorpusError("expected a list", path=path, line=number, field="related_ids")
            gold[article_id] = {str(r) for r in related} - {article_id}
        elif "claims" in record:
            claims = _listish(record["claims"])
            if not isinstance(claims, list):
                raise CorpusError("expected a list", path=path, line=number, field="claims")
            for claim in claims:
                if isinstance(claim, dict) and claim.get("stance") in RELATED_STANCES:
                    by_claim[str(claim.get("claim"))].add(article_id)
        else:
            raise CorpusError("needs related_ids or claims", path=path, line=number)
    for members in by_claim.values():
        for member in members:
            gold.setdefault(member, set()).update(members - {member})
    return {q: r for q, r in gold.items() if r}


def read_graded_judgments(path: str | Path) -> dict[str, dict[str, int]]:
    """Graded judgments, ``{query id: {candidate id: grade}}``, from lines of
    ``{"query", "judgments": {id: grade}}``."""
    path = Path(path)
    out: dict[str, dict[str, int]] = {}
    for number, record in _json_lines(path):
        judgments = _listish(record.get("judgments")) if isinstance(record, dict) else None
        if not isinstance(judgments, dict) or "query" not in record:
            raise CorpusError("expected {query, judgments}", path=path, line=number)
        try:
            out[str(record["query"])] = {str(c): int(g) for c, g in judgments.items()}
        except (TypeError, ValueError):
            raise CorpusError("grades must be integers", path=path, line=number,
                              field="judgments") from None
    return out


# --- whole-model evaluation ----------------------------------------------------------------------

def read_gold(path: str | Path) -> tuple[dict[str, set[str]], dict[str, dict[str, int]]]:
    """Read a related-articles gold file of any supported format.

    Returns ``(groups, graded)``: one of them is empty. Graded files hold
    ``{"query", "judgments"}`` lines; group files ``{"id", "related_ids"}`` or
    fact-check ``claims`` (see :func:`read_related_gold`).
    """
    rows = _json_lines(Path(path))
    if rows and isinstance(rows[0][1], dict) and "query" in rows[0][1]:
        return {}, read_graded_judgments(path)
    return read_related_gold(path), {}


def evaluate_model(model: Any, *, labelled: Sequence[Any] = (),
                   groups: Mapping[str, set[str]] | None = None,
                   graded: Mapping[str, Mapping[str, int]] | None = None,
                   depth: int = 100, **settings: Any) -> dict[str, Any]:
    """Score a :class:`~recsys.NewsModel` on labelled articles and related-articles gold.

    Related lists are asked ``depth`` deep so that graded scoring can drop unjudged
    suggestions and still fill ten places; queries missing from the archive are
    counted and skipped. ``settings`` are related-list settings (e.g. ``half_life_days``).
    """
    report: dict[str, Any] = {}
    if labelled:
        predictions = model.classify(list(labelled))
        y_true, y_pred = [a.topic for a in labelled], [p.topic for p in predictions]
        report["topics"] = topic_metrics(y_true, y_pred)
        report["topics"]["low_confidence"] = flag_metrics(y_true, y_pred,
                                                          [p.low_confidence for p in predictions])
    archived = set(model.archive["ids"])
    for name, gold in (("related", groups), ("graded", graded)):
        if not gold:
            continue
        queries = [q for q in gold if q in archived]
        lists = {q: [str(i) for i in related.ids]
                 for q, related in model.related_batch(queries, k=depth, **settings)}
        if name == "related":
            metrics = related_metrics(lists, {q: gold[q] for q in queries})
            metrics["ndcg_by_k"] = [float(np.mean([ndcg_at_k(lists[q], gold[q], k) for q in queries]))
                                    for k in range(1, 11)] if queries else []
        else:
            judged = {q: gold[q] for q in queries if max(gold[q].values(), default=0) > 0}
            metrics = graded_metrics(lists, judged, ks=range(1, 11))
            metrics["ndcg_by_k"] = [metrics.pop(f"ndcg@{k}") for k in range(1, 11)]
            metrics["ndcg@10"] = metrics["ndcg_by_k"][-1]
            metrics["queries_without_relevant"] = len(queries) - len(judged)
        metrics["queries_not_in_archive"] = len(gold) - len(queries)
        report[name] = metrics
    return report
