"""Shared fixtures: the shipped default corpus, a model trained on it, and the path to
the real data in ../shared/data (tests needing it skip, saying why, when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

import recsys

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


# Words a missing space glues in news text (after ة): each pair is two known words, and
# glued, a word the archive never had, which the vectorizer analyses when it meets it.
GLUED_FIRSTS = ["مدينة", "قرية", "جبهة", "منطقة", "حكومة", "قافلة", "مدرسة", "جامعة", "ساحة"]
GLUED_SECONDS = ["قصف", "نزوح", "اعتقال", "سجن", "مساعدات", "مخيم", "جرحى", "معارك", "حصار"]


def shared_file(name: str) -> Path:
    """A file of ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"real data not available: {path} is absent (CI has it)")
    return path


@pytest.fixture(scope="session")
def corpus() -> list[recsys.Article]:
    return recsys.read_articles(recsys.default_corpus_path()).articles


@pytest.fixture(scope="session")
def model(corpus: list[recsys.Article]) -> recsys.NewsModel:
    return recsys.NewsModel.train(corpus)


@pytest.fixture(scope="session")
def phrased_model(corpus: list[recsys.Article]) -> recsys.NewsModel:
    """A model whose index also scores rare phrases, as ``recsys train`` makes by default
    (named for what the tests that take it need, whatever the default)."""
    return recsys.NewsModel.train(corpus, vectorizer=recsys.ArticleVectorizer(phrase_docs=(3, 30)))


@pytest.fixture(scope="session")
def bundle(model: recsys.NewsModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bundle") / "model"
    model.save(str(path))
    return path


@pytest.fixture(scope="session")
def stories(corpus: list[recsys.Article]) -> dict[str, list[str]]:
    """Story id -> ids of its articles, for the default corpus."""
    out: dict[str, list[str]] = {}
    for article in corpus:
        out.setdefault(article.extra["story"], []).append(article.id)
    return out
