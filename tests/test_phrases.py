"""Rare phrases (recsys.phrases): what fitting finds, what a new text gets, how the index
scores them, and ``recsys train`` (``--phrases``, the default) end to end."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from typer.testing import CliRunner

from cli import app
from recsys import Article, ArticleVectorizer, NewsModel, RelatedIndex, load_bundle, phrases
from recsys.arabic import raw_word_table, raw_words
from recsys.kernels import kept_phrases
from recsys.wordhash import JoinedWords

runner = CliRunner()


def _texts(corpus: list) -> list[str]:
    return [f"{a.title}\n{a.body}" for a in corpus]


def test_fitting_keeps_exactly_the_pairs_in_least_to_most_articles(corpus: list) -> None:
    texts = _texts(corpus)
    # Each article in two pieces, cut at the first space after 300 characters, side by
    # side, counted in two shares as two counting processes would: a pair across the
    # cut is the article's, as in its whole text.
    cuts = [t.find(" ", 300) if t.find(" ", 300) > 0 else len(t) for t in texts]
    pieces = [piece for t, c in zip(texts, cuts) for piece in (t[:c], t[c:])]
    half = len(texts) // 2
    shares = []
    for start, end in ((0, half), (half, len(texts))):
        counted = pieces[2 * start:2 * end] + texts[start:end]  # titles after them: ignored
        words = JoinedWords.of(counted, raw_word_table())
        shares.append(phrases.numbered(phrases.text_entries(
            words.hashes, words.text_of, 0, end - start, 2), start))
    table, rows = phrases.select(np.concatenate(shares), len(texts), 3, 30)
    # Counted by hand: each whole text's distinct pairs, then the articles of each pair.
    words = JoinedWords.of(texts, raw_word_table())
    text, key = phrases.pair_keys(words.hashes, words.text_of)
    own = [set(key[text == t].tolist()) for t in range(len(texts))]
    df = Counter(k for keys in own for k in keys)
    assert sorted(table.keys.tolist()) == sorted(k for k, n in df.items() if 3 <= n <= 30)
    assert len(table.keys) > 100  # the written corpus has stories told several times
    compiled = phrases.select(np.concatenate(shares), len(texts), 3, 30, kept_phrases)
    for mine, theirs in zip((*table, *rows), (*compiled[0], *compiled[1])):
        np.testing.assert_array_equal(mine, theirs)
    # Unit rows, ids ascending within each, each article's own phrases.
    weights = [rows.row(r)[1] for r in range(len(texts))]
    assert all(abs(np.sum(w * w) - 1) < 1e-5 for w in weights if len(w))
    for r in range(0, len(texts), 37):
        ids = rows.row(r)[0]
        assert np.all(np.diff(ids.astype(np.int64)) > 0)
        assert set(table.keys[ids].tolist()) == {k for k in own[r] if 3 <= df[k] <= 30}


def test_a_new_text_gets_the_marks_its_fitted_row_has(phrased_model: NewsModel,
                                                        corpus: list) -> None:
    # Fitting counts the title and lead apart from the rest of the body, but reads each
    # article's pieces on across the cuts: a fitted article's marks are its text's.
    _, signatures, new = phrased_model.vectorizer.transform_marked(corpus)
    for fitted, asked in zip(phrased_model.index.signatures_, signatures):
        np.testing.assert_array_equal(fitted, asked)
    for name in phrases.PhraseRows._fields:
        np.testing.assert_array_equal(getattr(phrased_model.index.phrases_, name),
                                      getattr(new, name))
    # A warmed vectorizer (a server's) makes a single text's marks compiled: the same.
    served = copy.copy(phrased_model.vectorizer).warm()
    assert "_one_text" in vars(served) and "_one_text" not in vars(phrased_model.vectorizer)
    for article in corpus[::7]:
        cold, warm = (v.transform_marked([article]) for v in (phrased_model.vectorizer, served))
        for a, b in zip(cold[1], warm[1]):
            np.testing.assert_array_equal(a, b)
        for name in phrases.PhraseRows._fields:
            np.testing.assert_array_equal(getattr(warm[2], name), getattr(cold[2], name))


def test_a_shared_rare_phrase_lifts_a_candidate_above_an_equal_cosine() -> None:
    # The query and two candidates at the same cosine; only the second shares a phrase.
    X = sp.csr_matrix(np.array([[1, 0, 0], [0.6, 0.8, 0], [0.6, 0, 0.8]], dtype=np.float32))
    rows = phrases.PhraseRows(np.array([0, 2, 3, 5]), np.array([0, 1, 2, 0, 3], dtype=np.uint32),
                              np.full(5, 255, dtype=np.uint8),
                              np.array([1, np.sqrt(2), 1], dtype=np.float32) / (255 * np.sqrt(2)))
    index = RelatedIndex().fit(X, ["query", "same-words", "same-story"], phrases=rows)
    lifted = index.similar("query")
    assert lifted.ids.tolist() == ["same-story", "same-words"]
    # The index keeps its rows in half precision: 0.6 is 0.60009765625 there.
    np.testing.assert_allclose(lifted.scores, [0.6 + 0.8 * 0.5, 0.6], rtol=2e-4)
    assert index.similar("query", phrase_weight=0).ids.tolist() == ["same-words", "same-story"]
    new = index.similar_to_vector(X[0], phrases=rows.row(0))
    assert new.ids.tolist()[0] == "same-story"


def test_a_phrased_bundle_answers_as_the_trained_model(phrased_model: NewsModel, corpus: list,
                                                       tmp_path: Path) -> None:
    path = tmp_path / "phrased"
    phrased_model.save(str(path))
    loaded = load_bundle(path)
    for name in phrases.PhraseRows._fields:
        np.testing.assert_array_equal(getattr(loaded.index.phrases_, name),
                                      getattr(phrased_model.index.phrases_, name))
    text = (corpus[3].title, corpus[3].body + " " + corpus[70].body)
    for article in corpus[::53]:
        assert loaded.related(article.id).ids.tolist() == \
            phrased_model.related(article.id).ids.tolist()
    assert loaded.related_to(text).ids.tolist() == phrased_model.related_to(text).ids.tolist()
    # The phrases change lists: the same model without them answers otherwise somewhere.
    assert any(phrased_model.related(a.id).ids.tolist()
               != phrased_model.related(a.id, phrase_weight=0).ids.tolist() for a in corpus[::5])
    # Articles added later get their phrase rows too.
    added = loaded.add([corpus[0].__class__("added-1", corpus[3].title, corpus[3].body)])
    assert added.index.phrases_.row(len(added) - 1)[0].tolist() == \
        loaded.vectorizer.transform_marked([corpus[3]])[2].row(0)[0].tolist()


def test_train_with_and_without_phrases_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "model"
    result = runner.invoke(app, ["train", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "phrase_ids.npy").exists()  # the default
    plain = tmp_path / "plain"
    assert runner.invoke(app, ["train", "--no-phrases", "--out", str(plain)]).exit_code == 0
    assert not (plain / "phrase_ids.npy").exists()
    # `info` tells ops which kind a bundle is.
    for bundle, has in ((out, True), (plain, False)):
        shown = json.loads(runner.invoke(app, ["info", "--model", str(bundle)]).output)
        assert (shown["counts"]["phrases"] > 100) is has
    text = tmp_path / "new.txt"
    text.write_text("قصف مدفعي على ريف إدلب الجنوبي\nقتلى مدنيون في قصف مدفعي طال قرى ريف "
                    "إدلب الجنوبي صباح اليوم", encoding="utf-8")
    listed = runner.invoke(app, ["recommend", "--model", str(out), "--text-file", str(text)])
    assert listed.exit_code == 0, listed.output
    assert listed.output.count("\n") > 3  # a list, not an empty answer
    plain_lists = runner.invoke(app, ["recommend", "--model", str(out), "--text-file", str(text),
                                      "--phrase-weight", "0", "--format", "json"])
    phrased_lists = runner.invoke(app, ["recommend", "--model", str(out), "--text-file",
                                        str(text), "--format", "json"])
    assert plain_lists.exit_code == phrased_lists.exit_code == 0
    assert plain_lists.output != phrased_lists.output  # the scores at least differ


def _pairs(text: str) -> set[tuple[str, str]]:
    words = raw_words(text)
    return set(zip(words, words[1:]))


def test_explanations_show_the_shared_rare_phrases_as_written(phrased_model: NewsModel,
                                                              corpus: list) -> None:
    model, by_id = phrased_model, {a.id: a for a in corpus}
    table = model.vectorizer.words_.selected_phrases()[0]
    query = next(a for a in corpus if a.extra["story"] == corpus[0].extra["story"])
    draft = Article(id="draft", title=query.title, body=query.body)  # an editor's new text
    shown = 0
    for asked, text in ((query.id, query.title), (draft, f"{query.title}\n{query.body}")):
        related = model.related(asked, k=8) if isinstance(asked, str) else model.related_to(asked, k=8)
        ours = (model.index.phrases_.row(model.index.row(asked)) if isinstance(asked, str)
                else model.vectorizer.transform_marked([asked])[2].row(0))
        for rid, found in zip(related.ids, model.explain_phrases(asked, related.ids, n=3)):
            theirs = model.index.phrases_.row(model.index.row(rid))
            weights = []
            for phrase in found:
                first, second = phrase.split(" ")
                # As the query writes it, or the suggestion's title.
                assert (first, second) in _pairs(text) | _pairs(by_id[rid].title), phrase
                words = JoinedWords.of([phrase], raw_word_table())
                key = phrases.pair_keys(words.hashes, words.text_of)[1]
                at = int(np.searchsorted(table.keys, key[0]))
                assert table.keys[at] == key[0] and at in ours[0] and at in theirs[0]  # shared
                weights.append(ours[1][ours[0] == at][0] * theirs[1][theirs[0] == at][0])
            assert weights == sorted(weights, reverse=True) and len(found) <= 3
            shown += bool(found)
    assert shown >= 4  # same-story suggestions share rare phrases


def test_explanations_without_phrases_are_empty(corpus: list) -> None:
    plain = NewsModel.train(corpus[:120], vectorizer=ArticleVectorizer(phrase_docs=None))
    related = plain.related(corpus[0].id, k=5)
    assert plain.explain_phrases(corpus[0].id, related.ids) == [[]] * len(related.ids)
