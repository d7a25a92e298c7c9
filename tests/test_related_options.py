"""Related lists readers can trust: copies, recency, floors, diversity, editors, explanations,
adding articles. Fixtures are the default corpus's stories and reposts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from cli import app
from recsys import Article, NewsModel, RelatedIndex, load_bundle
from recsys.arabic import raw_words
from recsys.features import unit_rows

runner = CliRunner()


def dates(model: NewsModel, ids) -> list[dt.date | None]:
    return [dt.date.fromisoformat(d) if d else None for d in (model.article(str(i))["date"] for i in ids)]


def test_reposts_collapse_and_plain_cosine_keeps_them(model: NewsModel, corpus: list) -> None:
    repost = next(a for a in corpus if a.extra.get("repost_of"))
    original = repost.extra["repost_of"]
    assert repost.id in model.related(original, k=10, duplicate_threshold=None).ids[:1]
    assert repost.id not in model.related(original, k=10).ids


def test_a_copy_of_two_candidates_is_shown_once(model: NewsModel, corpus: list) -> None:
    """A query related to an original and its repost sees only one of them."""
    repost = next(a for a in corpus if a.extra.get("repost_of") == "cmb-009")
    sibling = "cmb-011"  # same story as the original and its repost
    plain = model.related(sibling, k=10, duplicate_threshold=None).ids.tolist()
    assert {"cmb-009", repost.id} <= set(plain)
    collapsed = model.related(sibling, k=10).ids.tolist()
    assert len({"cmb-009", repost.id} & set(collapsed)) == 1


def test_new_text_that_copies_an_archived_article_does_not_get_it_back(model: NewsModel, corpus: list) -> None:
    source = corpus[0]
    copy = Article("new", source.title, "(وكالات) – " + source.body, source.date)
    assert source.id not in model.related_to(copy, k=10).ids


def test_recency_half_life_prefers_recent_pieces(model: NewsModel) -> None:
    query = "hum-008"
    query_date = dt.date.fromisoformat(model.article(query)["date"])
    plain = model.related(query, k=6)
    decayed = model.related(query, k=6, half_life_days=14)
    ages = lambda ids: np.mean([abs((d - query_date).days) for d in dates(model, ids)])
    assert ages(decayed.ids) < ages(plain.ids)
    assert np.all(np.diff(decayed.scores) <= 1e-6)


def test_max_age_and_before_only(model: NewsModel) -> None:
    query = "cmb-001"
    query_date = dt.date.fromisoformat(model.article(query)["date"])
    recent = model.related(query, k=10, max_age_days=30)
    assert len(recent.ids) and all(abs((d - query_date).days) <= 30 for d in dates(model, recent.ids))
    earlier = model.related(query, k=10, before_only=True)
    assert all(d <= query_date for d in dates(model, earlier.ids))
    assert "cmb-002" not in earlier.ids  # the follow-up came two days later


def test_new_text_is_dated_today_unless_told(model: NewsModel) -> None:
    text = ("غارة على سوق أريحا", "استهدفت غارة جوية السوق الشعبي في مدينة أريحا جنوبي إدلب")
    assert len(model.related_to(text, k=5, max_age_days=30).ids) == 0  # the archive is older
    dated = model.related_to(text, k=5, max_age_days=30, date=dt.date(2024, 2, 20))
    assert "cmb-001" in dated.ids


def test_score_floor_and_minimum_count(model: NewsModel) -> None:
    floored = model.related("prs-001", k=10, min_score=0.15)
    index = model.index
    cosines = (index.matrix_[[index.row(str(i)) for i in floored.ids]]
               @ index.matrix_[index.row("prs-001")].T).toarray().ravel()
    # The floor is on cosine, before recency: an old but close article stays, shown lower.
    assert len(floored.ids) >= 1 and cosines.min() >= 0.15
    assert len(model.related("prs-001", k=10).ids) > len(floored.ids)
    assert len(model.related("prs-001", k=10, min_score=0.15, min_count=5).ids) == 0
    assert len(model.related("prs-001", k=10, min_score=0.99).ids) == 0


def test_mmr_diversifies_the_list(model: NewsModel) -> None:
    def mean_pairwise(ids) -> float:
        rows = [model.index.row(str(i)) for i in ids]
        sims = (model.index.matrix_[rows] @ model.index.matrix_[rows].T).toarray()
        return float(sims[np.triu_indices(len(rows), 1)].mean())

    plain = model.related("hum-008", k=6).ids
    diverse = model.related("hum-008", k=6, mmr_lambda=0.5).ids
    assert set(plain) != set(diverse)
    assert mean_pairwise(diverse) < mean_pairwise(plain)


def test_editor_pins_excludes_and_topics(model: NewsModel) -> None:
    plain = model.related("cmb-001", k=5)
    pinned = model.related("cmb-001", k=5, pin_ids=["soc-001", "cmb-001"], exclude_ids=["cmb-002"])
    assert pinned.ids[0] == "soc-001"              # pinned first, even if unrelated
    assert "cmb-001" not in pinned.ids              # never the query, pinned or not
    assert "cmb-002" not in pinned.ids and "cmb-002" in plain.ids
    only_hum = model.related("cmb-001", k=5, require_topics=["humanitarian"])
    assert {model.article(str(i))["topic"] for i in only_hum.ids} == {"humanitarian"}
    no_combat = model.related("cmb-001", k=5, exclude_topics=["combat"])
    assert "combat" not in {model.article(str(i))["topic"] for i in no_combat.ids}


def test_explanations_are_readable_shared_words(model: NewsModel) -> None:
    related = model.related("cmb-001", k=3)
    terms = model.explain("cmb-001", related.ids)
    assert len(terms) == 3 and all(1 <= len(t) <= 5 for t in terms)
    assert "أريحا" in terms[0]                      # the town, spelt as written, not "اريح"
    assert all(word.strip() for t in terms for word in t)
    # Words the query's title lacks are shown as the suggestion's title writes them.
    query_title = set(raw_words(model.article("cmb-001")["title"]))
    usual = set(model.vectorizer.display_terms_)
    from_titles = [word for rid, words in zip(related.ids, terms) for word in words
                   if word not in query_title and word not in usual]
    assert from_titles
    assert all(any(word in raw_words(model.article(rid)["title"]) for rid in related.ids)
               for word in from_titles)


def test_explanations_of_a_new_text_are_in_its_own_words(model: NewsModel) -> None:
    # An editor's draft is explained with the words it writes, not the archive's usual
    # spelling of each term (its shortest: "قذائف" where the draft says "القذائف").
    draft = Article("draft", "القذائف تسقط على أحياء المدينة",
                    "سقطت القذائف صباح اليوم على أحياء المدينة الشرقية، وأصيب عدد من "
                    "المدنيين بجروح. وقال مسعفون إن القذائف أصابت منازل المدنيين ومدرسة "
                    "في الحي، وإن فرق الإسعاف نقلت الجرحى إلى المستشفى.")
    related = model.related_to(draft, k=3)
    terms = model.explain(draft, related.ids)
    assert len(terms) == 3 and all(terms)
    written = set(raw_words(draft.title + " " + draft.body))
    # as written, or without a leading one-letter conjunction or preposition
    assert all(word in written or any(w[1:] == word for w in written)
               for words in terms for word in words), terms
    assert "القذائف" in terms[0] + terms[1] + terms[2]
    archive_spelling = model.vectorizer.display_terms_[model.vectorizer.words_.vocabulary_["قذائف"]]
    assert archive_spelling == "قذائف"
    # "and displacement" shows as "displacement"; Baghdad's ب is no preposition
    assert set(model.vectorizer.written_forms("ونزوح وبغداد").values()) == {"نزوح", "بغداد"}


def test_options_survive_save_and_load(model: NewsModel, bundle: Path) -> None:
    loaded = load_bundle(bundle)
    options = {"k": 6, "half_life_days": 30, "mmr_lambda": 0.7, "min_score": 0.05,
               "exclude_topics": ["other"], "pin_ids": ["hum-002"]}
    for query in ("cmb-001", "prs-004", "hum-010"):
        a, b = model.related(query, **options), loaded.related(query, **options)
        assert a.ids.tolist() == b.ids.tolist()
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6)


def test_add_makes_new_articles_recommendable_at_once(corpus: list, tmp_path: Path) -> None:
    model = NewsModel.train([a for a in corpus if a.id not in ("cmb-002", "hum-001")])
    model.save(str(tmp_path / "m"))
    new = tmp_path / "new.jsonl"
    new.write_text("\n".join(json.dumps(a.to_record(), ensure_ascii=False)
                             for a in corpus if a.id in ("cmb-002", "hum-001")), encoding="utf-8")
    result = runner.invoke(app, ["add", "--model", str(tmp_path / "m"), "--corpus", str(new)])
    assert result.exit_code == 0, result.output
    assert "added 2 articles" in result.stdout
    updated = load_bundle(tmp_path / "m")
    assert "cmb-002" in updated.related("cmb-001", k=3).ids     # recommendable
    assert "cmb-001" in updated.related("cmb-002", k=3).ids     # and gets its own list
    assert updated.article("hum-001")["topic"] == "humanitarian"
    again = runner.invoke(app, ["add", "--model", str(tmp_path / "m"), "--corpus", str(new)])
    assert again.exit_code == 1 and "already in the archive" in again.stderr


def test_cli_options_and_overrides_file(bundle: Path, tmp_path: Path) -> None:
    overrides = tmp_path / "overrides.json"
    overrides.write_text(json.dumps({"pin_ids": ["soc-001"], "exclude_topics": ["other"]}),
                         encoding="utf-8")
    result = runner.invoke(app, ["recommend", "--model", str(bundle), "--id", "cmb-001", "-k", "4",
                                 "--format", "json", "--explain", "--half-life", "30",
                                 "--undated-weight", "0.5", "--overrides", str(overrides)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0]["id"] == "soc-001" and all("terms" in r for r in rows)
    assert all(r["topic"] != "other" for r in rows[1:])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"pin": ["x"]}), encoding="utf-8")
    result = runner.invoke(app, ["recommend", "--model", str(bundle), "--id", "cmb-001",
                                 "--overrides", str(bad)])
    assert result.exit_code == 1 and "bad.json, field 'pin': unknown key" in result.stderr
    result = runner.invoke(app, ["recommend", "--model", str(bundle), "--id", "cmb-001",
                                 "--undated-weight", "0"])
    assert result.exit_code == 1 and "undated_weight must be in (0, 1]" in result.stderr
    repost = "cmb-009"  # a repost of it is in the archive: hidden by text, shown by neither test
    lists = {}
    for overlap in ("0.6", "0", "1"):
        result = runner.invoke(app, ["recommend", "--model", str(bundle), "--id", repost,
                                     "--format", "json", "--copy-overlap", overlap])
        assert result.exit_code == 0, result.output
        lists[overlap] = [r["id"] for r in json.loads(result.stdout)]
    assert lists["0.6"] == lists["0"]  # the repost hidden both ways
    assert set(lists["1"]) - set(lists["0"])  # an overlap of 1: only exact copies hidden


def test_recency_on_an_old_archive_keeps_readable_scores(model: NewsModel) -> None:
    """Ages count from the freshest candidate: a text dated years after the archive is
    ranked as by its distance in time, but its best suggestion keeps its cosine."""
    text = ("غارة على سوق أريحا", "استهدفت غارة جوية السوق الشعبي في مدينة أريحا جنوبي إدلب")
    far = model.related_to(text, k=5, date=dt.date(2031, 1, 1), half_life_days=180)
    plain = model.related_to(text, k=5, date=dt.date(2031, 1, 1), half_life_days=None)
    assert far.scores[0] > 0.2 and plain.scores[0] > 0.2
    assert np.all(np.diff(far.scores) <= 1e-6)
    freshest = max(dates(model, far.ids))
    assert freshest >= max(dates(model, plain.ids))  # recency moved newer pieces up


def test_undated_candidates_are_not_taken_as_fresh() -> None:
    """A dated query: an undated candidate is weighed by ``undated_weight`` (its age is
    unknown), so a dated one almost as close goes first; an undated query weighs none."""
    X = unit_rows(sp.csr_matrix(np.array([[1.0, 0.0, 0.0], [0.7, 0.7, 0.0], [0.65, 0.0, 0.76]],
                                         dtype=np.float32)))
    index = RelatedIndex().fit(X, ["query", "undated", "dated"],
                               dates=[dt.date(2024, 3, 1), None, dt.date(2024, 3, 1)])
    assert index.similar("query").ids.tolist() == ["dated", "undated"]
    cosines = index.matrix_[1:] @ index.matrix_[0].T  # X in half precision, as kept
    np.testing.assert_allclose(index.similar("query").scores,
                               [cosines[1, 0], cosines[0, 0] * 0.85], rtol=1e-6)
    assert index.similar("query", undated_weight=1.0).ids.tolist() == ["undated", "dated"]
    assert index.similar("query", half_life_days=None).ids.tolist() == ["undated", "dated"]
    undated_query = RelatedIndex().fit(X, ["query", "undated", "dated"],
                                       dates=[None, None, dt.date(2024, 3, 1)])
    assert undated_query.similar("query").ids.tolist() == ["undated", "dated"]
    with pytest.raises(ValueError, match="undated_weight"):
        index.similar("query", undated_weight=0)


def _themed_index(close_match: bool) -> RelatedIndex:
    """A query sharing a few words with each candidate (cosines 0.25 and 0.2, and 0.5 for
    "close" if ``close_match``); "same-theme" shares its theme, "other-theme" does not."""
    rows = [[1.0, 0.0, 0.0, 0.0], [0.25, np.sqrt(1 - 0.25**2), 0.0, 0.0],
            [0.2, 0.0, np.sqrt(1 - 0.2**2), 0.0]]
    themes = [[1.0, 0.0], [0.0, 1.0], [0.8, 0.6]]
    ids = ["query", "other-theme", "same-theme"]
    if close_match:
        rows.append([0.5, 0.0, 0.0, np.sqrt(0.75)])
        themes.append([0.0, 1.0])
        ids.append("close")
    X = sp.csr_matrix(np.array(rows, dtype=np.float32))
    return RelatedIndex().fit(X, ids, themes=np.array(themes))


def test_themes_rank_a_query_without_close_matches() -> None:
    index = _themed_index(close_match=False)
    themed = index.similar("query")
    assert themed.ids.tolist() == ["same-theme", "other-theme"]
    # 0.85 x cosine + 0.15 x theme similarity (0.8 and 0, to within the 8-bit themes)
    np.testing.assert_allclose(themed.scores, [0.85 * 0.2 + 0.15 * 0.8, 0.85 * 0.25], atol=2e-3)
    words_only = index.similar("query", theme_weight=0)
    assert words_only.ids.tolist() == ["other-theme", "same-theme"]
    np.testing.assert_allclose(words_only.scores, [0.25, 0.2], rtol=1e-3)  # half precision
    # A new text (here the query's own words, dropped as its copy) gets the same list when
    # given the same theme, and the words-only one without a theme.
    vector = index.matrix_[0]
    assert index.similar_to_vector(vector, theme=np.array([1.0, 0.0])).ids.tolist() == \
        ["same-theme", "other-theme"]
    assert index.similar_to_vector(vector).ids.tolist() == ["other-theme", "same-theme"]


def test_themes_leave_a_query_with_a_close_match_alone() -> None:
    index = _themed_index(close_match=True)
    assert index.similar("query").ids.tolist() == ["close", "other-theme", "same-theme"]
    np.testing.assert_allclose(index.similar("query").scores, [0.5, 0.25, 0.2],
                               rtol=1e-3)  # the index's rows are in half precision
    # Below 0.6 the best cosine (0.5) no longer counts as close: themes come in.
    assert index.similar("query", theme_below=0.6).ids.tolist()[:2] == ["close", "same-theme"]
    with pytest.raises(ValueError, match="theme_weight"):
        index.similar("query", theme_weight=1.5)
    with pytest.raises(ValueError, match="theme_pool"):
        index.similar("query", theme_pool=0)
    with pytest.raises(ValueError, match="give theirs"):
        index.add(index.matrix_[:1], ["new"])


def test_model_mixes_themes_only_into_lists_without_close_matches(model: NewsModel, bundle: Path,
                                                                    corpus: list) -> None:
    index = model.index
    assert index.themes_.shape == (len(model), 100) and index.themes_.dtype == np.int8
    mixed = unchanged = 0
    for article in corpus[::4]:
        best = model.related(article.id, k=1, half_life_days=None, theme_weight=0,
                             phrase_weight=0).scores  # the cosine alone
        themed, plain = model.related(article.id), model.related(article.id, theme_weight=0)
        if len(best) and best[0] >= 0.3:
            assert themed.ids.tolist() == plain.ids.tolist()
            np.testing.assert_array_equal(themed.scores, plain.scores)
            unchanged += 1
        elif themed.ids.tolist() != plain.ids.tolist():
            mixed += 1
    assert mixed and unchanged  # the written corpus has both kinds of article
    # A new text: its theme from the topic features, kept through a saved bundle.
    text = (corpus[5].title, corpus[5].body + " " + corpus[40].body)
    vector = model.vectorizer.transform([text])
    expected = index.similar_to_vector(vector, theme=model.topic_features.themes(vector))
    # (The vector alone carries no phrases: the model's lists are compared without them.)
    assert model.related_to(text, phrase_weight=0).ids.tolist() == expected.ids.tolist()
    loaded = load_bundle(bundle)
    assert loaded.related_to(text, phrase_weight=0).ids.tolist() == expected.ids.tolist()
    np.testing.assert_array_equal(loaded.index.themes_, index.themes_)


# A story and its versions, written for this test: an agency report, its repost with a
# line added, and another outlet's write-up of the same facts in its own words.
_REPORT = ("قصفت المدفعية صباح اليوم أطراف بلدة كفرنبل في ريف إدلب الجنوبي، ما أدى إلى "
           "مقتل ثلاثة مدنيين وإصابة سبعة آخرين بينهم طفلان. وقال الدفاع المدني إن فرقه "
           "نقلت الجرحى إلى مستشفى المدينة، وإن القصف طال منازل وسوقاً شعبياً. وأفاد "
           "ناشطون بأن عشرات العائلات غادرت البلدة باتجاه المخيمات القريبة من الحدود.")
_REPOST = "(وكالات) – " + _REPORT + " وأضافت المصادر أن الطريق إلى البلدة ما زال مقطوعاً."
_REWRITE = ("ثلاثة قتلى مدنيين وسبعة جرحى، بينهم طفلان، حصيلة قصف مدفعي استهدف صباح اليوم "
            "بلدة كفرنبل جنوب إدلب. الدفاع المدني أكد نقل المصابين إلى المستشفى، مشيراً إلى "
            "أن القذائف أصابت السوق الشعبي وعدداً من المنازل، في حين نزحت عشرات العائلات "
            "نحو مخيمات الحدود بحسب ناشطين.")


def test_a_rewrite_by_another_outlet_is_suggested_a_repost_is_not(model: NewsModel) -> None:
    """At a cosine of 0.9 both the repost and another outlet's write-up use the same
    words; only the repost repeats the text, so only it is hidden as a copy (with
    ``copy_overlap`` None, the cosine alone hides both)."""
    texts = [("", _REPORT), ("", _REPOST), ("", _REWRITE), ("", "مباراة كرة القدم انتهت بالتعادل")]
    values, counts = model.vectorizer.signatures(texts)
    X = unit_rows(sp.csr_matrix(np.array([[1.0, 0.0, 0.0], [0.98, 0.2, 0.0], [0.9, 0.0, 0.44],
                                          [0.3, 0.0, 0.95]], dtype=np.float32)))
    ids = ["report", "repost", "rewrite", "other"]
    index = RelatedIndex().fit(X, ids, signatures=(values, counts))
    cosines = (X @ X[0].T).toarray().ravel()
    assert cosines[1] >= 0.8 and cosines[2] >= 0.8  # both copies by their words
    assert index.similar("report").ids.tolist() == ["rewrite", "other"]
    assert index.similar("report", copy_overlap=None).ids.tolist() == ["other"]
    assert index.similar("rewrite").ids.tolist() == ["report", "other"]  # the repost: one of two
    # A new text: with its signature the text decides, without it the cosine alone.
    assert index.similar_to_vector(X[0], signature=(values[1], int(counts[1]))).ids.tolist() \
        == ["rewrite", "other"]
    assert index.similar_to_vector(X[0], signature=(values[2], int(counts[2]))).ids.tolist() \
        == ["report", "other"]  # the text's own words, another's text: the report, once
    assert index.similar_to_vector(X[0]).ids.tolist() == ["other"]
    # Saved and loaded, and grown, the index keeps one signature per article.
    again = RelatedIndex.from_arrays(index.to_arrays())
    assert again.similar("report").ids.tolist() == ["rewrite", "other"]
    with pytest.raises(ValueError, match="keeps articles' signatures"):
        again.add(X[:1], ["late"])
    again.add(X[:1], ["late"], signatures=(values[:1], counts[:1]))
    assert "late" not in again.similar("report").ids  # a copy of the report
    assert "late" in again.similar("report", copy_overlap=None, duplicate_threshold=None).ids


def test_trained_models_keep_signatures_through_save_add_and_load(corpus: list,
                                                                   tmp_path: Path) -> None:
    model = NewsModel.train(corpus[:300])
    assert model.index.signatures_[0].shape == (300, 32)
    model.add([Article("new-1", "قصف على كفرنبل", _REPORT), Article("new-2", "", _REWRITE)])
    model.save(str(tmp_path / "m"))
    loaded = load_bundle(tmp_path / "m")
    for a, b in zip(loaded.index.signatures_, model.index.signatures_):
        np.testing.assert_array_equal(a, b)
    assert len(loaded.index.signatures_[1]) == len(loaded) == 302
    assert "new-1" in loaded.related_to(("", _REWRITE), k=5).ids
    assert "new-1" not in loaded.related_to(("قصف على كفرنبل", _REPORT), k=5).ids  # itself
