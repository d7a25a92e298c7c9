"""Metrics against scikit-learn and hand-computed values; the evaluate command and report."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score, ndcg_score
from typer.testing import CliRunner

from cli import app
from recsys import NewsModel
from recsys.evaluation import (evaluate_model, flag_metrics, graded_metrics, ndcg_at_k,
                               precision_at_k, read_gold, read_related_gold, reciprocal_rank,
                               recall_at_k, related_metrics, topic_metrics)

runner = CliRunner()


def test_topic_metrics_match_sklearn() -> None:
    y_true = ["combat", "combat", "prisoners", "other", "humanitarian", "other", "prisoners"]
    y_pred = ["combat", "other", "prisoners", "other", "combat", "other", "humanitarian"]
    m = topic_metrics(y_true, y_pred)
    assert m["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert m["accuracy"] == pytest.approx(4 / 7)
    assert m["per_topic"]["combat"]["precision"] == pytest.approx(0.5)
    assert m["confusion"][0] == [1, 0, 0, 1]  # combat row: one right, one called other


def test_flag_metrics_by_hand() -> None:
    y_true = ["combat", "other", "other", "prisoners", "combat"]
    y_pred = ["combat", "combat", "other", "other", "combat"]   # two errors
    flags = flag_metrics(y_true, y_pred, [False, True, True, False, False])
    assert flags["share"] == pytest.approx(2 / 5)
    assert flags["accuracy_flagged"] == pytest.approx(1 / 2)    # "other" right, "combat" not
    assert flags["accuracy_unflagged"] == pytest.approx(2 / 3)  # "other" for prisoners wrong
    assert flags["errors_flagged"] == pytest.approx(1 / 2)
    assert math.isnan(flag_metrics(["other"], ["other"], [False])["errors_flagged"])


def test_ranking_metrics_by_hand() -> None:
    ranked = ["a", "x", "b", "y", "z"]
    assert precision_at_k(ranked, {"a", "b"}, 5) == pytest.approx(0.4)
    assert recall_at_k(ranked, {"a", "b", "c"}, 10) == pytest.approx(2 / 3)
    assert reciprocal_rank(["x", "a"], {"a"}) == pytest.approx(0.5)
    dcg = 1 + 1 / math.log2(4)
    idcg = 1 + 1 / math.log2(3)
    assert ndcg_at_k(ranked, {"a", "b"}, 10) == pytest.approx(dcg / idcg)


def test_graded_ndcg_matches_sklearn() -> None:
    grades = {"a": 2, "b": 1, "c": 0, "d": 2}
    ranked = ["b", "c", "a", "d"]
    gains = [[2 ** grades[i] - 1 for i in ranked]]
    # sklearn's ndcg_score takes relevance in the given order and scores in descending order.
    expected = ndcg_score(np.array(gains), np.array([[4, 3, 2, 1]]), k=4)
    assert ndcg_at_k(ranked, grades, 4) == pytest.approx(expected)


def test_graded_metrics_condense_unjudged_away() -> None:
    judgments = {"q": {"a": 2, "b": 0}}
    with_unjudged = graded_metrics({"q": ["u1", "a", "u2", "b"]}, judgments)
    assert with_unjudged["ndcg@10"] == pytest.approx(1.0)
    assert with_unjudged["p@5"] == pytest.approx(0.2)


def test_related_metrics_ignore_self() -> None:
    metrics = related_metrics({"q": ["q", "a", "b"]}, {"q": {"a"}})
    assert metrics["mrr"] == 1.0 and metrics["queries"] == 1


def test_gold_readers(tmp_path: Path) -> None:
    claims = tmp_path / "claims.jsonl"
    claims.write_text("\n".join(json.dumps(r) for r in [
        {"id": "p1", "claims": [{"claim": "c1", "stance": "agree"}]},
        {"id": "p2", "claims": "[{'claim': 'c1', 'stance': 'discuss'}]"},
        {"id": "p3", "claims": [{"claim": "c1", "stance": "unrelated"}]},
    ]), encoding="utf-8")
    assert read_related_gold(claims) == {"p1": {"p2"}, "p2": {"p1"}}
    graded = tmp_path / "graded.jsonl"
    graded.write_text(json.dumps({"query": "p1", "judgments": {"p2": 2, "p3": 0}}), encoding="utf-8")
    assert read_gold(graded) == ({}, {"p1": {"p2": 2, "p3": 0}})


@pytest.fixture(scope="module")
def fixture_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("eval") / "model"
    assert runner.invoke(app, ["train", "--out", str(out)]).exit_code == 0
    return out


def test_evaluate_command_and_report(fixture_model: Path, tmp_path: Path, corpus: list) -> None:
    labels = tmp_path / "labelled.jsonl"
    labels.write_text("\n".join(json.dumps(a.to_record(), ensure_ascii=False) for a in corpus[::10]),
                      encoding="utf-8")
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(r) for r in [
        {"id": "cmb-001", "related_ids": ["cmb-002", "hum-001"]},  # both follow the strike
        {"id": "missing-id", "related_ids": ["cmb-002"]},
    ]), encoding="utf-8")
    report = tmp_path / "report"
    result = runner.invoke(app, ["evaluate", "--model", str(fixture_model), "--labels", str(labels),
                                 "--related-gold", str(gold), "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.stdout and "nDCG@10 1.000" in result.stdout
    assert "1 gold queries not in the model's archive" in result.stdout
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    assert data["topics"]["n"] == len(corpus[::10]) and data["related"]["mrr"] == 1.0
    flags = data["topics"]["low_confidence"]
    assert set(flags) == {"share", "accuracy_flagged", "accuracy_unflagged", "errors_flagged"}
    assert f"{flags['share']:.1%} low-confidence" in result.stdout
    assert "## Topics" in (report / "report.md").read_text(encoding="utf-8")
    for png in ("confusion_matrix.png", "per_topic_f1.png", "ndcg_by_k.png"):
        assert (report / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_scores_the_lists_that_its_options_shape(fixture_model: Path, tmp_path: Path,
                                                          corpus: list) -> None:
    stories: dict[str, set[str]] = {}
    for article in corpus:
        stories.setdefault(article.extra["story"], set()).add(article.id)
    gold = tmp_path / "stories.jsonl"
    queries = [(a, sorted(ids - {a})) for ids in stories.values() if len(ids) > 1
               for a in sorted(ids)][::4]  # a hundred: MMR re-ranks 100 deep in Python
    gold.write_text("\n".join(json.dumps({"id": a, "related_ids": r}) for a, r in queries),
                    encoding="utf-8")

    def ndcg(*options: str) -> float:
        result = runner.invoke(app, ["evaluate", "--model", str(fixture_model), "--related-gold",
                                     str(gold), *options])
        assert result.exit_code == 0, result.output
        return float(re.search(r"nDCG@10 ([0-9.]+)", result.stdout).group(1))  # 3 decimals

    model = NewsModel.load(fixture_model)
    shaped = ndcg("--mmr", "0.5", "--half-life", "0", "--copy-overlap", "0", "--no-collapse")
    expected = evaluate_model(model, groups=read_related_gold(gold), mmr_lambda=0.5,
                              half_life_days=None, copy_overlap=None,
                              duplicate_threshold=None)["related"]["ndcg@10"]
    assert shaped == pytest.approx(expected, abs=5e-4)
    assert abs(shaped - ndcg()) > 0.001
    assert ndcg("--min-score", "0.99") == 0.0  # no suggestion is that close


def test_evaluate_needs_something_to_score(fixture_model: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--model", str(fixture_model)])
    assert result.exit_code == 1 and "give --labels and/or --related-gold" in result.stderr
