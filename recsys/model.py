"""The trained model a site uses: vectorizer, topic classifier and related-articles index
over one archive, with the archive's titles, dates and topics.

>>> from recsys import NewsModel, read_articles, default_corpus_path
>>> model = NewsModel.train(read_articles(default_corpus_path()).articles)
>>> model.classify(["قصفت طائرات حربية ريف إدلب الجنوبي"])[0].topic
'combat'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .allocator import freed_memory_kept
from .arabic import clean
from .corpus import TOPICS, Article, CorpusError, read_articles, default_corpus_path
from .related import EditorRules, Related, RelatedIndex, RelatedSettings, _row_of

if TYPE_CHECKING:  # imported where used: serving related lists needs no scikit-learn
    import scipy.sparse as sp

    from .features import ArticleLike, ArticleVectorizer
    from .phrases import PhraseRows
    from .topics import TopicClassifier, TopicFeatures, TopicPrediction

__all__ = ["NewsModel", "apply_labels", "training_data_hash"]

Progress = Callable[[str], None]

# Texts with fewer known terms than this, or mostly non-Arabic letters, get their topic
# flagged as low-confidence whatever the probabilities say: too little evidence.
MIN_KNOWN_TERMS = 5
MIN_ARABIC_SHARE = 0.5


def apply_labels(archive: Sequence[Article], labels: Sequence[Article], *,
                 on_error: str = "fail") -> tuple[list[Article], list[CorpusError]]:
    """Label archive articles by id; full labelled articles missing from the archive
    are added to it. Label-only records for unknown ids are errors (or skipped)."""
    by_id = {a.id: i for i, a in enumerate(archive)}
    merged = list(archive)
    problems: list[CorpusError] = []
    for label in labels:
        row = by_id.get(label.id)
        if row is not None:
            old = merged[row]
            merged[row] = Article(old.id, old.title, old.body, old.date, old.url, old.source,
                                  label.topic, old.extra)
        elif label.body:
            by_id[label.id] = len(merged)
            merged.append(label)
        else:
            error = CorpusError(f"label for id {label.id!r}, which is not in the archive and "
                                "has no body to add", field="id")
            if on_error == "fail":
                raise error
            problems.append(error)
    return merged, problems


def training_data_hash(articles: Sequence[Article]) -> str:
    """SHA-256 of the articles' ids, texts, dates and topics, in id order: each field
    followed by a unit separator (``\\x1f``)."""
    digest = hashlib.sha256()
    ordered = sorted(articles, key=lambda a: a.id)
    for start in range(0, len(ordered), _HASHED_TOGETHER):
        # Big updates: hashlib lets other threads run while it hashes them.
        digest.update("".join(f"{a.id}\x1f{a.title}\x1f{a.body}\x1f{a.date}\x1f{a.topic or ''}\x1f"
                              for a in ordered[start:start + _HASHED_TOGETHER]).encode("utf-8"))
    return digest.hexdigest()


_HASHED_TOGETHER = 1000  # articles per update: a few megabytes


def _n_phrases(vectorizer: ArticleVectorizer) -> int:
    """How many rare phrases the fit kept (0: none)."""
    table = vectorizer.words_.selected_phrases()[0]
    return 0 if table is None else len(table.keys)


def _arabic_share(text: str) -> float:
    letters = [ch for ch in clean(text) if ch.isalpha()]
    if not letters:
        return 0.0
    return sum("\u0600" <= ch <= "\u06ff" for ch in letters) / len(letters)


class BundleParts(Protocol):
    """Where a lazily loaded model reads its parts (see :func:`recsys.load_bundle`)."""

    def load(self, name: str) -> Any:
        """``vectorizer``, ``topic_features``, ``classifier`` or ``archive``."""

    def article(self, row: int) -> dict[str, Any]:
        """One row of the archive table, without reading the whole table."""


class _FromBundle:
    """A model part read from the bundle on first use, then kept like any attribute."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, model: NewsModel | None, owner: type | None = None) -> Any:
        if model is None:
            return self
        if model._parts is None:
            raise AttributeError(self.name)
        value = model._parts.load(self.name)
        model.__dict__[self.name] = value
        return value


class NewsModel:
    """Topics and related articles for one news archive.

    Build one with :meth:`train`, keep it with :meth:`save`, and bring it back in a web
    worker with :meth:`load` (or :class:`recsys.LiveModel`, which follows retraining).
    """

    vectorizer = _FromBundle()
    topic_features = _FromBundle()
    classifier = _FromBundle()
    archive = _FromBundle()
    _parts: BundleParts | None = None

    def __init__(self, vectorizer: ArticleVectorizer, topic_features: TopicFeatures,
                 classifier: TopicClassifier, index: RelatedIndex, archive: dict[str, list],
                 info: dict[str, Any]) -> None:
        self.vectorizer = vectorizer
        self.topic_features = topic_features
        self.classifier = classifier
        self.index = index
        self.archive = archive
        self.info = info

    @classmethod
    def from_bundle_parts(cls, index: RelatedIndex, info: dict[str, Any],
                          parts: BundleParts) -> NewsModel:
        """A model whose vectorizer, classifier and archive table are read from ``parts``
        when first used: a command that only asks for related lists by id never
        unpickles the classifier (nor imports scikit-learn)."""
        model = cls.__new__(cls)
        model.index, model.info, model._parts = index, info, parts
        return model

    # -- training ----------------------------------------------------------------------------

    @classmethod
    def train(cls, archive: Sequence[Article], *, labelled: Sequence[Article] | None = None,
              vectorizer: ArticleVectorizer | None = None,
              topic_features: TopicFeatures | None = None,
              classifier: TopicClassifier | None = None,
              settings: RelatedSettings | None = None,
              add_default_corpus: bool = True,
              progress: Progress | None = None) -> NewsModel:
        """Fit everything on ``archive``.

        Every archive article enters the vocabulary and the related-articles index;
        those with a ``topic`` (plus ``labelled``, if given) train the classifier.
        The shipped default corpus is added to the classifier's training articles
        (``add_default_corpus``): on real news it lifted macro-F1 by 0.02, mostly on
        the rare topics. With no labelled article at all it is the only training set.

        While it runs, the process's C allocator keeps freed memory for reuse
        (:mod:`recsys.allocator`), and gives it back at the end.
        """
        with freed_memory_kept():
            return cls._fit(archive, labelled, vectorizer, topic_features, classifier, settings,
                            add_default_corpus, progress)

    @classmethod
    def _fit(cls, archive: Sequence[Article], labelled: Sequence[Article] | None,
             vectorizer: ArticleVectorizer | None, topic_features: TopicFeatures | None,
             classifier: TopicClassifier | None, settings: RelatedSettings | None,
             add_default_corpus: bool, progress: Progress | None) -> NewsModel:
        """:meth:`train`'s work."""
        from .features import ArticleVectorizer
        from .topics import TopicClassifier, TopicFeatures

        say = progress or (lambda message: None)
        started = time.perf_counter()
        archive = list(archive)
        if not archive:
            raise ValueError("cannot train on an empty archive")
        say(f"vectorizing {len(archive):,} articles")
        vectorizer = vectorizer if vectorizer is not None else ArticleVectorizer()
        features = topic_features if topic_features is not None else TopicFeatures()
        X, X_lead = vectorizer.fit_transform_lead(archive, features.body_chars)

        # Two side jobs run on threads while the steps below keep one core busy (0.6 s of
        # hashing and 0.4 s of cross-validation at 60k articles). Not earlier: during the
        # counting both cores are taken.
        side = ThreadPoolExecutor(2)
        data_hash = side.submit(training_data_hash, archive + list(labelled or []))
        say("learning topic features (title, lead, LSA)")
        features.fit_prefit(vectorizer, X)
        own = {a.id: a for a in archive if a.topic} | {a.id: a for a in labelled or []}
        extra = []
        if add_default_corpus or not own:
            extra = [a for a in read_articles(default_corpus_path()).articles if a.id not in own]
        label_source = "archive" if own else "default corpus"
        say(f"training the topic classifier on {len(own):,} labelled articles"
            + (f" and {len(extra):,} of the default corpus" if own and extra else f" ({label_source})"))
        classifier = classifier if classifier is not None else TopicClassifier()
        train_articles = list(own.values()) + extra
        X_train, y_train = features.transform(train_articles), [a.topic for a in train_articles]
        metrics = side.submit(cls._cross_validate, classifier, X_train, y_train, len(own))
        side.shutdown(wait=False)
        classifier.fit(X_train, y_train)

        say("building the related-articles index")
        predicted = classifier.predict(features.from_lead_rows(X_lead if X_lead is not None else X))
        topics = [a.topic or str(p) for a, p in zip(archive, predicted)]
        index = RelatedIndex(settings).fit(X, [a.id for a in archive],
                                           dates=[a.date for a in archive], topics=topics,
                                           themes=features.themes(X),
                                           signatures=vectorizer.fitted_signatures(),
                                           phrases=vectorizer.fitted_phrases())
        index.set_theme_projection(features.theme_projection())
        counts = Counter(a.topic for a in own.values())
        metrics, data_hash = metrics.result(), data_hash.result()
        info = {
            "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "training_seconds": round(time.perf_counter() - started, 2),
            "training_data_sha256": data_hash,
            "counts": {"archive": len(archive), "labelled": len(own),
                       "labelled_by_topic": {t: counts.get(t, 0) for t in TOPICS},
                       "default_corpus_added": len(extra) if own else 0,
                       "vocabulary": vectorizer.n_word_features,
                       "features": X.shape[1],
                       "phrases": _n_phrases(vectorizer)},
            "labels_from": label_source,
            "metrics": metrics,
        }
        return cls(vectorizer, features, classifier, index, cls._archive_table(archive, topics), info)

    @staticmethod
    def _cross_validate(classifier: TopicClassifier, X: sp.csr_matrix, topics: list[str],
                        n_labelled: int) -> dict:
        """Macro-F1 of the classifier on the user's labelled articles (the first
        ``n_labelled`` rows), 5-fold, with the default corpus (the other rows) always on
        the training side; with no labelled article, on the default corpus alone."""
        import scipy.sparse as sp
        from sklearn.base import clone
        from sklearn.metrics import f1_score
        from sklearn.model_selection import StratifiedKFold

        scored = slice(0, n_labelled) if n_labelled else slice(0, X.shape[0])
        always = slice(n_labelled, X.shape[0]) if n_labelled else slice(0, 0)
        y = np.array(topics[scored], dtype=object)
        counts = Counter(y)
        folds = min(5, min(counts.values())) if counts else 0
        if folds < 2 or len(counts) < 2:
            return {}
        X, X_always, y_always = X[scored], X[always], topics[always]
        predicted = np.empty(len(y), dtype=object)
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(X, y):
            X_train = sp.vstack([X[train], X_always]) if y_always else X[train]
            model = clone(classifier).fit(X_train, list(y[train]) + y_always)
            predicted[test] = model.predict(X[test])
        return {"classifier_cv_macro_f1": round(float(f1_score(y, predicted, average="macro")), 4),
                "classifier_cv_folds": folds}

    @staticmethod
    def _archive_table(articles: Sequence[Article], topics: Sequence[str]) -> dict[str, list]:
        return {
            "ids": [a.id for a in articles],
            "titles": [a.title for a in articles],
            "dates": [a.date.isoformat() if a.date else None for a in articles],
            "sources": [a.source for a in articles],
            "urls": [a.url for a in articles],
            "topics": list(topics),
            "labelled": [bool(a.topic) for a in articles],
        }

    # -- topics ------------------------------------------------------------------------------

    def classify(self, articles: Sequence[ArticleLike]) -> list[TopicPrediction]:
        """Topic probabilities for articles (``Article``, ``(title, body)`` or a text)."""
        articles = list(articles)
        if not articles:
            return []
        X = self.topic_features.transform(articles)
        known = np.diff(X[:, : self.vectorizer.n_word_features].tocsr().indptr)
        texts = [a.text if isinstance(a, Article) else a if isinstance(a, str) else " ".join(a)
                 for a in articles]
        unsure = (known < MIN_KNOWN_TERMS) | np.array(
            [_arabic_share(t) < MIN_ARABIC_SHARE for t in texts], dtype=bool)
        return self.classifier.predict_topics(X, unsure=unsure)

    def explain_topics(self, articles: Sequence[ArticleLike], n: int = 5) -> list[list[str]]:
        """For each article, the ``n`` words of its title and lead that weigh most for the
        topic :meth:`classify` gives it, most first, as the article writes them."""
        from .features import article_fields

        articles = list(articles)
        if not articles:
            return []
        X = self.topic_features.transform(articles)
        found = self.classifier.evidence(X, n, columns=self.vectorizer.n_word_features)
        titles, bodies = article_fields(articles)
        words = self.vectorizer.display_terms_
        return [[written.get(c) or str(words[c]) for c in columns]
                for columns, written in zip(found, (self.vectorizer.written_forms(f"{t}\n{b}")
                                                    for t, b in zip(titles, bodies)))]

    # -- related articles --------------------------------------------------------------------

    @staticmethod
    def _rules(pin_ids: Sequence[str], exclude_ids: Sequence[str], exclude_topics: Sequence[str],
               require_topics: Sequence[str]) -> EditorRules | None:
        if not (pin_ids or exclude_ids or exclude_topics or require_topics):
            return None  # no editor's rule: the common case
        for topic in [*exclude_topics, *require_topics]:
            if topic not in TOPICS:
                raise ValueError(f"unknown topic {topic!r}; expected one of {', '.join(TOPICS)}")
        return EditorRules(tuple(pin_ids), frozenset(exclude_ids), frozenset(exclude_topics),
                           frozenset(require_topics))

    def related(self, article_id: str, k: int | None = None, *, pin_ids: Sequence[str] = (),
                exclude_ids: Sequence[str] = (), exclude_topics: Sequence[str] = (),
                require_topics: Sequence[str] = (), **settings: Any) -> Related:
        """Related articles for an archived article, best first, never itself.

        ``settings`` override :class:`~recsys.RelatedSettings` fields for this call
        (``half_life_days=30``, ``min_score=0.1``, ...).
        """
        rules = self._rules(pin_ids, exclude_ids, exclude_topics, require_topics)
        return self.index.similar(article_id, k, rules=rules, **settings)

    def related_to(self, article: ArticleLike, k: int | None = None, *,
                   date: dt.date | None = None, pin_ids: Sequence[str] = (),
                   exclude_ids: Sequence[str] = (), exclude_topics: Sequence[str] = (),
                   require_topics: Sequence[str] = (), **settings: Any) -> Related:
        """Related archive articles for a new article or text (dated ``date``, the
        article's own date, or today)."""
        if date is None and isinstance(article, Article):
            date = article.date
        rules = self._rules(pin_ids, exclude_ids, exclude_topics, require_topics)
        vector, signatures, phrases = self._rows_and_marks([article])
        signature = None if signatures is None else (signatures[0][0], int(signatures[1][0]))
        if self.index.themes_ is not None and self.index.theme_projection_ is None:
            self.index.set_theme_projection(self.topic_features.theme_projection())
        return self.index.similar_to_vector(vector, k, date=date, rules=rules,
                                            signature=signature,
                                            phrases=None if phrases is None else phrases.row(0),
                                            **settings)

    def _rows_and_marks(self, articles: Sequence[ArticleLike],
                        ) -> tuple[sp.csr_matrix, tuple[np.ndarray, np.ndarray] | None,
                                   PhraseRows | None]:
        """New articles' rows and, if the index keeps them, their signatures (copies told
        by their text) and phrase rows, from one cleaning of the text."""
        if self.index.signatures_ is None and self.index.phrases_ is None:
            return self.vectorizer.transform(articles), None, None
        rows, signatures, phrases = self.vectorizer.transform_marked(articles)
        return (rows, None if self.index.signatures_ is None else signatures,
                None if self.index.phrases_ is None else phrases)

    def related_batch(self, article_ids: Sequence[str] | None = None, k: int | None = None,
                      **settings: Any) -> Iterator[tuple[str, Related]]:
        """``(id, Related)`` for many archived articles (default: all), as ``related``."""
        return self.index.similar_batch(article_ids, k, **settings)

    def explain(self, query: str | ArticleLike, related_ids: Sequence[str], n: int = 5) -> list[list[str]]:
        """For each suggestion, the ``n`` shared terms that weigh most in its score, as
        readable words: as the query writes them where it can (a new article's text, an
        archived one's title: the archive keeps no bodies), else as the suggestion's title
        does, else in the archive's usual spelling. ``query`` is an archived id or a new
        article."""
        from .features import article_fields

        if isinstance(query, str) and query in self.index.row_of_:
            vector = self.index.matrix_[self.index.row(query)]
            text = self.article(query)["title"]
        else:
            vector = self.vectorizer.transform([query])
            (title,), (body,) = article_fields([query])
            text = f"{title}\n{body}"
        written = self.vectorizer.written_forms(text)
        words = self.vectorizer.display_terms_
        limit = self.vectorizer.n_word_features
        explained = []
        for rid in related_ids:
            columns = self.index.shared_terms(vector, rid, n, max_column=limit)
            # Next best: as the suggestion's title, printed beside them, writes them.
            theirs = (self.vectorizer.written_forms(self.article(rid)["title"])
                      if any(c not in written for c in columns) else {})
            explained.append([written.get(c) or theirs.get(c) or str(words[c]) for c in columns])
        return explained

    def explain_phrases(self, query: str | ArticleLike, related_ids: Sequence[str],
                        n: int = 3) -> list[list[str]]:
        """For each suggestion, up to ``n`` of the rare phrases it shares with the query
        (``phrase_weight`` in :class:`~recsys.RelatedSettings`), those that weigh most in
        its score first, as the query writes them (a new article's text; an archived
        one's title, since the archive keeps no bodies) or else as the suggestion's title
        does. A shared phrase written in neither is not shown; a bundle without phrases
        gives empty lists. ``query`` is an archived id or a new article."""
        from .arabic import raw_word_table
        from .phrases import text_rows, written_phrases
        from .wordhash import JoinedWords

        rows, table = self.index.phrases_, self.vectorizer.words_.selected_phrases()[0]
        if rows is None or table is None:
            return [[] for _ in related_ids]

        def written(words: JoinedWords) -> dict[int, str]:
            return written_phrases(words.joined, words.hashes, words.starts, words.ends, table)

        def words_of(text: str) -> JoinedWords:
            return JoinedWords.of([text], raw_word_table())

        if isinstance(query, str) and query in self.index.row_of_:
            ids, weights = rows.row(self.index.row(query))
            ours = written(words_of(self.article(query)["title"]))
        else:  # the text as vectorized, hashed once for its phrase row and their words
            (title,), (body,) = self.vectorizer.clean_bodies([query])
            words = words_of(f"{title}\n{body}")
            ids, weights = text_rows(words.hashes, words.text_of, 1, table).row(0)
            ours = written(words)
        explained = []
        for rid in related_ids:
            theirs, their_weights = rows.row(self.index.row(rid))
            shared, a, b = np.intersect1d(ids, theirs, assume_unique=True, return_indices=True)
            order = np.argsort(-(weights[a] * their_weights[b]), kind="stable")
            titled = None  # the suggestion's title, read only if the query lacks a phrase
            found = []
            for phrase in shared[order].tolist():
                if phrase not in ours and titled is None:
                    titled = written(words_of(self.article(rid)["title"]))
                text = ours.get(phrase) or (titled or {}).get(phrase)
                if text:
                    found.append(text)
                if len(found) == n:
                    break
            explained.append(found)
        return explained

    # -- archive -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.index)

    def article(self, article_id: str) -> dict[str, Any]:
        """An archived article's id, title, date, source, url and topic."""
        row = self.index.row(article_id)
        if "archive" not in self.__dict__ and self._parts is not None:
            return self._parts.article(row)
        return {name.removesuffix("s"): column[row] for name, column in self.archive.items()
                if name != "labelled"} | {"labelled": self.archive["labelled"][row]}

    def add(self, articles: Sequence[Article], *, replace: bool = False) -> NewsModel:
        """Add new articles to the archive with the fitted vocabulary and classifier.

        They can be recommended, and get related lists, at once. The vocabulary and IDF
        weights stay those of the last full training: retrain when the archive has grown
        by more than about a tenth, or when new stories bring words the model never saw.
        An id already in the archive is an error, unless ``replace``: then the new
        version (a corrected or updated article) takes the old one's place.
        """
        articles = list(articles)
        if not articles:
            return self
        new_ids = [a.id for a in articles]
        _row_of(new_ids)  # a repeated id is refused before anything changes
        X, signatures, phrases = self._rows_and_marks(articles)
        predicted = self.classifier.predict(self.topic_features.transform(articles))
        topics = [a.topic or str(p) for a, p in zip(articles, predicted)]
        themes = self.topic_features.themes(X) if self.index.themes_ is not None else None
        # Everything that can fail on the new articles has run: only now is the archive changed.
        replaced = self._drop([i for i in new_ids if i in self.index.row_of_] if replace else [])
        self.index.add(X, new_ids, dates=[a.date for a in articles], topics=topics,
                       themes=themes, signatures=signatures, phrases=phrases)
        table = self._archive_table(articles, topics)
        for name, column in table.items():
            self.archive[name].extend(column)
        self._count("added_since_training", len(articles) - replaced)
        self._count("replaced_since_training", replaced)
        return self

    def withdraw(self, article_ids: Sequence[str]) -> NewsModel:
        """Take articles out of the archive (unpublished or retracted): they are never
        suggested again, and asking for their related list is an unknown-article error.
        The vocabulary and the classifier stay as trained. An unknown id is an error,
        raised before anything changes."""
        self._count("withdrawn_since_training", self._drop(article_ids))
        return self

    def _drop(self, article_ids: Sequence[str]) -> int:
        """Remove archived articles from the index and the archive table; how many."""
        rows = {self.index.row(i) for i in article_ids}
        if not rows:
            return 0
        table = self.archive  # a lazily loaded bundle reads it now, while rows still match
        self.index.remove(article_ids)
        for name, column in table.items():
            table[name] = [value for row, value in enumerate(column) if row not in rows]
        return len(rows)

    def _count(self, name: str, n: int) -> None:
        """Keep the archive's size, and how much it changed since training, in ``info``."""
        self.info["counts"]["archive"] = len(self)
        if n:
            self.info[name] = self.info.get(name, 0) + n

    # -- persistence -------------------------------------------------------------------------

    def save(self, path: str) -> str:
        """Write the model as a bundle directory, atomically; see :func:`recsys.save_bundle`."""
        from .bundle import save_bundle

        return str(save_bundle(self, path))

    @classmethod
    def load(cls, path: str) -> NewsModel:
        """Load a bundle we wrote; see :func:`recsys.load_bundle` for the checks made."""
        from .bundle import load_bundle

        return load_bundle(path)
