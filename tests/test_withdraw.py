"""Articles that change after training: withdrawn (unpublished, retracted) or replaced by a
corrected version, from the library and the command line, on the default corpus."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli import app
from recsys import Article, NewsModel, RelatedIndex, UnknownArticleError, load_bundle

runner = CliRunner()


@pytest.fixture()
def saved(model: NewsModel, tmp_path: Path) -> Path:
    """A bundle of the session's model that a test may change."""
    path = tmp_path / "model"
    model.save(str(path))
    return path


def all_lists(model: NewsModel, k: int = 10) -> dict[str, tuple[list[str], np.ndarray]]:
    return {q: (r.ids.tolist(), r.scores) for q, r in model.related_batch(k=k)}


def test_withdrawing_what_was_added_gives_back_every_list(corpus: list, saved: Path) -> None:
    # Added, then withdrawn: every list (ids and scores, copies, themes and phrases
    # included) and every archive record must be the model's own again.
    model = load_bundle(saved)
    before = all_lists(model)
    records = {i: model.article(i) for i in before}
    added = [Article(id=f"new-{a.id}", title=a.title, body=a.body, date=a.date, source=a.source)
             for a in corpus if a.extra["story"] in {corpus[0].extra["story"], corpus[-1].extra["story"]}]
    model.add(added)  # copies of archived articles: shown only when copies are not hidden
    assert any(r.startswith("new-")
               for r in model.related(corpus[0].id, k=10, duplicate_threshold=None).ids)
    model.withdraw([a.id for a in added])
    after = all_lists(model)
    assert after.keys() == before.keys()
    for query, (ids, scores) in before.items():
        assert after[query][0] == ids, query
        np.testing.assert_array_equal(after[query][1], scores)
    assert {i: model.article(i) for i in before} == records
    assert model.info["added_since_training"] == model.info["withdrawn_since_training"] == len(added)


def test_an_index_less_some_rows_scores_as_one_built_without_them(model: NewsModel, corpus: list,
                                                                  stories: dict) -> None:
    # Rows taken from the middle: the rest must score exactly as in an index fitted on
    # them alone (common terms, copies' signatures, themes and phrases re-sliced right).
    vectorizer, features = model.vectorizer, model.topic_features

    def index(articles: list) -> RelatedIndex:
        X, signatures, phrases = vectorizer.transform_marked(articles)
        return RelatedIndex(candidate_max_df=0.05).fit(
            X, [a.id for a in articles], dates=[a.date for a in articles],
            themes=features.themes(X), signatures=signatures, phrases=phrases)

    gone = {a.id for a in corpus if a.extra["story"] in list(stories)[3:8]}
    less = index(corpus).remove(sorted(gone))
    kept = index([a for a in corpus if a.id not in gone])
    assert len(less) == len(kept) == len(corpus) - len(gone)
    for (query, found), (_, expected) in zip(less.similar_batch(None, 10),
                                             kept.similar_batch(None, 10)):
        assert found.ids.tolist() == expected.ids.tolist(), query
        np.testing.assert_array_equal(found.scores, expected.scores)


def test_withdrawn_articles_are_never_suggested_nor_asked_about(stories: dict, saved: Path) -> None:
    model = load_bundle(saved)
    story = next(ids for ids in stories.values() if len(ids) >= 4)
    gone = story[1:3]
    assert set(gone) <= set(model.related(story[0], k=5).ids)
    titles = {i: model.article(i)["title"] for i in story}
    model.withdraw(gone)
    assert len(model) == model.info["counts"]["archive"]
    for query, found in model.related_batch(k=20):
        assert not set(gone) & set(found.ids), query
    for article_id in gone:
        with pytest.raises(UnknownArticleError):
            model.related(article_id)
    assert {i: model.article(i)["title"] for i in story if i not in gone} == \
        {i: t for i, t in titles.items() if i not in gone}
    reloaded = load_bundle(model.save(str(saved)))
    assert reloaded.related(story[0], k=5).ids.tolist() == model.related(story[0], k=5).ids.tolist()
    with pytest.raises(UnknownArticleError):
        model.withdraw([story[0], "no-such-id"])  # refused whole: nothing withdrawn
    assert story[0] in model.index.row_of_


def test_a_corrected_version_replaces_the_archived_one(corpus: list, stories: dict,
                                                       saved: Path) -> None:
    model = load_bundle(saved)
    combat = next(a for a in corpus if a.topic == "combat")
    aid_story = next(ids for s, ids in stories.items()
                     if len(ids) >= 3 and all(model.article(i)["topic"] == "humanitarian" for i in ids))
    source = next(a for a in corpus if a.id == aid_story[0])
    # The article was rewritten into another story: its list must follow its new text.
    corrected = Article(id=combat.id, title=source.title + " (محدث)", body=source.body,
                        date=combat.date, source=combat.source)
    with pytest.raises(ValueError, match="already in the archive"):
        model.add([corrected])
    n = len(model)
    model.add([corrected], replace=True)
    assert len(model) == n and model.info["replaced_since_training"] == 1
    assert model.article(combat.id)["title"].endswith("(محدث)")
    assert model.article(combat.id)["topic"] == "humanitarian"
    assert set(aid_story[1:]) & set(model.related(combat.id, k=5).ids)


def test_cli_withdraw_by_id_and_file(stories: dict, saved: Path, tmp_path: Path) -> None:
    story = next(ids for ids in stories.values() if len(ids) >= 4)
    listed = tmp_path / "gone.txt"
    listed.write_text(f"{story[2]}\n\n{story[3]}\n", encoding="utf-8")
    result = runner.invoke(app, ["withdraw", "--model", str(saved), "--id", story[1],
                                 "--ids-file", str(listed)])
    assert result.exit_code == 0, result.output
    assert "withdrew 3 articles" in result.stdout
    shown = runner.invoke(app, ["recommend", "--model", str(saved), "--id", story[0],
                                "--format", "json", "-k", "20"])
    assert shown.exit_code == 0, shown.output
    assert not {r["id"] for r in json.loads(shown.stdout)} & set(story[1:4])
    asked = runner.invoke(app, ["recommend", "--model", str(saved), "--id", story[1]])
    assert asked.exit_code == 1 and "no article with id" in asked.stderr
    info = runner.invoke(app, ["info", "--model", str(saved)])
    assert json.loads(info.stdout)["withdrawn_since_training"] == 3


def test_cli_withdraw_refuses_unknown_ids_and_keeps_the_bundle(stories: dict, saved: Path,
                                                               tmp_path: Path) -> None:
    story = next(ids for ids in stories.values() if len(ids) >= 3)
    listed = tmp_path / "gone.txt"
    listed.write_text(f"{story[1]}\nمعرف-غير-موجود\n", encoding="utf-8")
    version = os.readlink(saved)
    result = runner.invoke(app, ["withdraw", "--model", str(saved), "--ids-file", str(listed)])
    assert result.exit_code == 1
    assert "gone.txt, line 2: no article with id 'معرف-غير-موجود'" in result.stderr
    assert os.readlink(saved) == version  # nothing saved
    nothing = runner.invoke(app, ["withdraw", "--model", str(saved)])
    assert nothing.exit_code == 1 and "--ids-file" in nothing.stderr
    windows = tmp_path / "ids-cp1256.txt"
    windows.write_bytes("معرف-غير-موجود\n".encode("cp1256"))
    garbled = runner.invoke(app, ["withdraw", "--model", str(saved), "--ids-file", str(windows)])
    assert garbled.exit_code == 1 and "ids-cp1256.txt: not UTF-8 text" in garbled.stderr
    assert "Traceback" not in garbled.output
    skipped = runner.invoke(app, ["withdraw", "--model", str(saved), "--ids-file", str(listed),
                                  "--on-error", "skip"])
    assert skipped.exit_code == 0, skipped.output
    assert "skipped 1 id(s)" in skipped.stderr and "withdrew 1 article;" in skipped.stdout
    assert story[1] not in load_bundle(saved).index.row_of_


def test_cli_add_replace(corpus: list, saved: Path, tmp_path: Path) -> None:
    article = corpus[5]
    updated = tmp_path / "updated.jsonl"
    record = article.to_record() | {"title": article.title + " (تحديث)"}
    updated.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    refused = runner.invoke(app, ["add", "--model", str(saved), "--corpus", str(updated)])
    assert refused.exit_code == 1 and "--replace" in refused.stderr
    result = runner.invoke(app, ["add", "--model", str(saved), "--corpus", str(updated), "--replace"])
    assert result.exit_code == 0, result.output
    assert "1 replacing" in result.stdout
    model = load_bundle(saved)
    assert model.article(article.id)["title"].endswith("(تحديث)")
    assert len(model) == len(corpus)
