"""The shipped default corpus: schema, coverage, and what a model trained on it does."""

from __future__ import annotations

import json
from collections import Counter

from recsys import NewsModel, default_corpus_path, parse_article
from recsys.evaluation import related_metrics

REQUIRED = ("id", "title", "body", "date", "url", "source", "topic", "story")


def test_every_record_validates_against_the_input_schema() -> None:
    lines = default_corpus_path().read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        record = json.loads(line)
        for field in REQUIRED:
            assert isinstance(record.get(field), str) and record[field], (number, field)
        article = parse_article(record, path="default_corpus.jsonl", line=number)
        words = len(article.body.split())
        assert 60 <= words <= 320, (article.id, words)  # 80-300 words of text, plus markup


def test_topic_and_story_coverage(corpus: list) -> None:
    topics = Counter(a.topic for a in corpus)
    assert min(topics["combat"], topics["prisoners"], topics["humanitarian"]) >= 70
    assert topics["other"] >= 90
    sizes = Counter(a.extra["story"] for a in corpus)
    assert sum(3 <= n <= 8 for n in sizes.values()) >= 60
    reposts = [a for a in corpus if "repost_of" in a.extra]
    assert len(reposts) >= 10
    by_id = {a.id: a for a in corpus}
    assert all(by_id[r.extra["repost_of"]].extra["story"] == r.extra["story"] for r in reposts)


def story_gold(corpus: list) -> dict[str, set[str]]:
    """Same-story articles are the related ones, except copies of the query itself."""
    members: dict[str, set[str]] = {}
    for a in corpus:
        members.setdefault(a.extra["story"], set()).add(a.id)
    copies: dict[str, set[str]] = {a.id: set() for a in corpus}
    for a in corpus:
        if "repost_of" in a.extra:
            copies[a.id].add(a.extra["repost_of"])
            copies[a.extra["repost_of"]].add(a.id)
    gold = {a.id: members[a.extra["story"]] - {a.id} - copies[a.id] for a in corpus}
    return {q: g for q, g in gold.items() if g}


def test_same_story_articles_rank_first(model: NewsModel, corpus: list) -> None:
    gold = story_gold(corpus)
    results = {q: list(r.ids) for q, r in model.related_batch(list(gold), k=10)}
    metrics = related_metrics(results, gold)
    assert metrics["mrr"] >= 0.85 and metrics["ndcg@10"] >= 0.8, metrics


def test_reposts_are_not_suggested_for_their_original(model: NewsModel, corpus: list) -> None:
    for repost in (a for a in corpus if "repost_of" in a.extra):
        assert repost.id not in model.related(repost.extra["repost_of"], k=10).ids
        assert repost.extra["repost_of"] not in model.related(repost.id, k=10).ids
