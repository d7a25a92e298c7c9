#!/usr/bin/env python
"""Compare recsys defaults with baselines and one-change ablations on the real data.

    python training/experiments.py            # full run, writes training/RESULTS.md (about 15 min)
    python training/experiments.py --quick    # a few configs, fact-check index only (a few minutes)

Three families, each on fixed splits so every row of a table is comparable:

A. topics: 5-fold stratified cross-validation on ``topics_dev`` (macro-F1 per fold,
   per-topic F1 of the pooled out-of-fold predictions);
B. related lists on the fact-check claim groups, on an index of the fact-check pages
   alone and with the other 57k articles as distractors (metrics overall and over the
   corpus's own claim folds);
C. graded related judgments over an index of all 60,502 articles.

The research data is read in place from ``../shared/data`` (relative to the repository
root) and never written into the repository. Parsed corpora and fitted archive
vectorizers are cached under ``/tmp/exp_cache``, keyed by the recsys source code, so a
rerun after a library change refits what changed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import json
import math
import pickle
import platform
import shlex
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FunctionTransformer, Pipeline, make_pipeline
from sklearn.svm import LinearSVC

import recsys
from recsys import (TOPICS, ArabicAnalyzer, ArticleVectorizer, NewsModel, RelatedIndex,
                    TopicClassifier, TopicFeatures, make_topic_pipeline)
from recsys.evaluation import (evaluate_model, graded_metrics, read_graded_judgments,
                               read_related_gold, related_metrics, topic_metrics)

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
CACHE = Path("/tmp/exp_cache")
CORPORA = ("ant_news_2018", "saudinewsnet_2015", "syria_factcheck")
DEPTH = 100          # related lists are asked this deep (graded scoring condenses them)
SEED = 0
STARTED = time.perf_counter()
LAST_RUN = CACHE / "last-run.pkl"


def say(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:7.0f}s] {message}", flush=True)


# --- data and caches -----------------------------------------------------------------------

def package_hash() -> str:
    """Hash of the recsys package as it is on disk now (code and shipped data)."""
    digest = hashlib.sha256()
    root = Path(recsys.__file__).parent
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".txt", ".jsonl"):
            digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def source_hash() -> str:
    """The package hash when this run started (the code it imported): the cache key."""
    return package_hash()


def disk_cached(key: str, make):
    """``make()``, pickled under /tmp/exp_cache by ``key`` and the recsys source hash."""
    path = CACHE / f"{hashlib.sha256((key + source_hash()).encode()).hexdigest()[:24]}.pkl"
    if path.exists():
        with path.open("rb") as handle:
            return pickle.load(handle)
    value = make()
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as handle:
        pickle.dump(value, handle, protocol=5)
    tmp.replace(path)
    return value


@functools.cache
def corpus(name: str) -> list[recsys.Article]:
    path = DATA / f"{name}.jsonl.gz"
    stat = path.stat()
    return disk_cached(f"articles {name} {stat.st_size} {stat.st_mtime_ns}",
                       lambda: recsys.read_articles(path).articles)


@functools.cache
def archive() -> list[recsys.Article]:
    """All 60,502 articles: what a site would index (the labelled ones are among them)."""
    return [a for name in CORPORA for a in corpus(name)]


@functools.cache
def default_articles() -> list[recsys.Article]:
    return recsys.read_articles(recsys.default_corpus_path()).articles


def make_vectorizer(spec: dict) -> ArticleVectorizer:
    """``{"analyzer": {...ArabicAnalyzer params}, ...ArticleVectorizer params}``."""
    spec = dict(spec)
    analyzer = spec.pop("analyzer", None)
    if "char_ngrams" in spec:
        spec["char_ngrams"] = tuple(spec["char_ngrams"])
    return ArticleVectorizer(analyzer=ArabicAnalyzer(**analyzer) if analyzer else None, **spec)


def fitted(corpus_name: str, spec: dict) -> tuple[ArticleVectorizer, sp.csr_matrix, tuple | None,
                                                   tuple | None]:
    """A vectorizer fitted on a corpus ("factcheck" or "archive"), its matrix, and the
    articles' text signatures and rare phrases (which the vectorizer does not keep when
    pickled)."""
    articles = corpus("syria_factcheck") if corpus_name == "factcheck" else archive()

    def fit():
        say(f"  fitting {make_vectorizer(spec)!r} on {len(articles):,} articles")
        vectorizer = make_vectorizer(spec)
        # As NewsModel.train fits it (with the lead rows its topic features read): the same
        # rows, and the same column order, which the randomized LSA of the themes depends on.
        X = vectorizer.fit_transform_lead(articles, TopicFeatures().body_chars)[0]
        return vectorizer, X, vectorizer.fitted_signatures(), vectorizer.fitted_phrases()
    return disk_cached(f"fit-phrased {corpus_name} {json.dumps(spec, sort_keys=True)}", fit)


# --- the configurations ----------------------------------------------------------------------

ARABIC_OFF = [  # each Arabic processing step changed on its own
    ("no light stemming", {"analyzer": {"stem": None}}),
    ("no stop words", {"analyzer": {"stop_words": False}}),
    ("no glued-word split", {"analyzer": {"split_glued": False}}),
    ("no alef folding", {"analyzer": {"alef": False}}),
    ("no taa-marbuta folding", {"analyzer": {"taa_marbuta": False}}),
    ("no alef-maqsura folding", {"analyzer": {"alef_maqsura": False}}),
    ("hamza seats folded too", {"analyzer": {"hamza_seats": True}}),
]

# Related lists: (label, kind, vectorizer spec, related-list settings). "chars" runs on
# the fact-check index only (character n-grams over 60k articles cost too much).
RELATED = [
    ("baseline: plain TfidfVectorizer cosine", "tfidf", {}, {}),
    ("baseline: BM25, top-25 TF-IDF terms", "bm25-terms", {}, {}),
    ("baseline: BM25, title + lead", "bm25-lead", {}, {}),
    ("**recsys default**", "recsys", {}, {}),
    *[(label, "recsys", spec, {}) for label, spec in ARABIC_OFF],
    ("boilerplate removal off", "recsys", {"boilerplate_min_docs": None}, {}),
    ("boilerplate_min_docs 3", "recsys", {"boilerplate_min_docs": 3}, {}),
    ("boilerplate_min_docs 10", "recsys", {"boilerplate_min_docs": 10}, {}),
    ("site word-run boilerplate off", "recsys", {"site_run_words": None}, {}),
    ("lead blend off (whole article only)", "recsys", {"lead_blend": 0}, {}),
    ("title_weight 1", "recsys", {"title_weight": 1}, {}),
    ("title_weight 3", "recsys", {"title_weight": 3}, {}),
    ("lead_chars 300, lead_weight 2", "recsys", {"lead_chars": 300, "lead_weight": 2}, {}),
    ("min_df 1", "recsys", {"min_df": 1}, {}),
    ("max_df 0.5", "recsys", {"max_df": 0.5}, {}),
    ("sublinear_tf False", "recsys", {"sublinear_tf": False}, {}),
    ("char n-grams (2,5) added", "chars", {"char_ngrams": [2, 5]}, {}),
    ("rare phrases off (`recsys train --no-phrases`)", "recsys", {"phrase_docs": None}, {}),
    ("duplicate_threshold None", "recsys", {}, {"duplicate_threshold": None}),
    ("duplicate_threshold 0.9", "recsys", {}, {"duplicate_threshold": 0.9}),
    ("half_life_days None (recency off)", "recsys", {}, {"half_life_days": None}),
    ("half_life_days 30", "recsys", {}, {"half_life_days": 30}),
    ("half_life_days 365", "recsys", {}, {"half_life_days": 365}),
    ("mmr_lambda 0.7", "recsys", {}, {"mmr_lambda": 0.7}),
]
TOPICS_QUICK = ("baseline: keyword rules", "baseline: TfidfVectorizer + LinearSVC",
                "recsys default, features fitted on the fold", "lsa_components 0 (fold)")
RELATED_QUICK = ("tfidf", "bm25-terms", "**recsys default**", "no light stemming",
                 "duplicate_threshold None")


# --- A. topics ---------------------------------------------------------------------------------

KEYWORDS = {  # a deliberately simple rule set: words typical of each topic
    "prisoners": "أسرى أسير معتقلين معتقل معتقلات اعتقال اعتقالات سجن سجون سجناء سجين محتجزين "
                 "احتجاز رهائن رهينة مختطفين اختطاف خطف الإفراج سراح تبادل عفو المخفيين "
                 "المختفين قسريا توقيف مداهمات",
    "humanitarian": "نازحين نزوح النازحون لاجئين لاجئ اللاجئون مخيم مخيمات مساعدات إغاثة إنسانية "
                    "مستشفى مستشفيات الكوليرا وباء المجاعة الجوع نقص الغذاء الأدوية المياه الصليب "
                    "الهلال اليونيسف الألغام الإعمار المدنيين الأطفال",
    "combat": "قصف غارة غارات اشتباكات معارك مواجهات قتال هجوم هجمات صاروخ صواريخ قذيفة قذائف "
              "مدفعية تفجير انفجار مفخخة ناسفة اغتيال مسلحين مسلحون مقاتلين قتلى عسكرية العسكري "
              "القوات الجيش طائرات مسيرة دبابات الجبهة",
}


class KeywordRules:
    """Count each topic's keywords (stemmed) in the title and lead; most matches wins, ties
    to the rarer topic (prisoners, humanitarian, combat), no match is "other"."""

    def __init__(self) -> None:
        self.analyzer = ArabicAnalyzer()
        self.terms = {t: set(self.analyzer(words)) for t, words in KEYWORDS.items()}

    def fit(self, articles, y=None) -> "KeywordRules":
        return self

    def predict(self, articles) -> np.ndarray:
        out = []
        for a in articles:
            terms = Counter(self.analyzer(a.title + "\n" + a.body[:400]))
            hits = {t: sum(terms[w] for w in words) for t, words in self.terms.items()}
            best = max(hits, key=hits.get)  # dict order breaks ties
            out.append(best if hits[best] > 0 else "other")
        return np.array(out, dtype=object)


def full_text(articles) -> list[str]:
    return [a.title + "\n" + a.body for a in articles]


def lead_text(articles) -> list[str]:
    return [a.title + "\n" + a.body[:1200] for a in articles]


@functools.lru_cache(maxsize=1)
def archive_topic_features(spec_json: str, lsa_components: int) -> TopicFeatures:
    """TopicFeatures as the product builds them: vocabulary and LSA from the whole archive."""
    vectorizer, X, *_ = fitted("archive", json.loads(spec_json))
    say(f"  LSA ({lsa_components}) on the archive")
    return TopicFeatures(lsa_components=lsa_components).fit_prefit(vectorizer, X)


@functools.lru_cache(maxsize=1)
def pool_matrix(spec_json: str) -> tuple[sp.csr_matrix, int]:
    """Default topic features of the unlabelled archive (the self-training pool)."""
    features = archive_topic_features(spec_json, 100)
    labelled = {a.id for a in corpus("topics_dev")}
    say("  topic features of the unlabelled archive (self-training pool)")
    return features.transform([a for a in archive() if a.id not in labelled])


def self_train(X: sp.csr_matrix, y: list[str], pool: sp.csr_matrix, per_class: int) -> TopicClassifier:
    """Train, pseudo-label the pool, add the ``per_class`` most confident of each topic, retrain."""
    proba = TopicClassifier().fit(X, y).predict_proba(pool)
    best = proba.argmax(axis=1)
    rows, labels = [], []
    for j, topic in enumerate(TOPICS):
        mine = np.flatnonzero(best == j)
        top = mine[np.argsort(-proba[mine, j], kind="stable")[:per_class]]
        rows.extend(top)
        labels += [topic] * len(top)
    return TopicClassifier().fit(sp.vstack([X, pool[rows]]), y + labels)


def topic_family(quick: bool) -> list[dict]:
    labelled, extra = corpus("topics_dev"), default_articles()
    y = np.array([a.topic for a in labelled], dtype=object)
    y_extra = [a.topic for a in extra]
    folds = list(StratifiedKFold(5, shuffle=True, random_state=SEED).split(np.zeros(len(y)), y))

    def on_folds(make, *, add_default: bool):
        """Estimator on articles, fitted on each training fold (+ the default corpus)."""
        def predict(train, test):
            articles = [labelled[i] for i in train] + (extra if add_default else [])
            model = make().fit(articles, list(y[train]) + (y_extra if add_default else []))
            return model.predict([labelled[i] for i in test])
        return predict

    def on_archive(spec=None, *, body_chars=1200, lsa=100, clf=None, add_default=True, pseudo=0):
        """Product setting: features fitted on the archive, classifier on each fold."""
        spec_json = json.dumps(spec or {}, sort_keys=True)
        features = archive_topic_features(spec_json, lsa)
        features.set_params(body_chars=body_chars)
        F, F_extra = features.transform(labelled), features.transform(extra)
        pool = pool_matrix(spec_json) if pseudo else None

        def predict(train, test):
            X = sp.vstack([F[train], F_extra]) if add_default else F[train]
            labels = list(y[train]) + (y_extra if add_default else [])
            model = (self_train(X, labels, pool, pseudo) if pseudo
                     else TopicClassifier(**(clf or {})).fit(X, labels))
            return model.predict(F[test])
        return predict

    def chars_only():
        return Pipeline([("lead", FunctionTransformer(lead_text)),
                         ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                                   sublinear_tf=True, preprocessor=recsys.normalize)),
                         ("topics", TopicClassifier())])

    configs = [
        ("baseline: keyword rules", "—", lambda: on_folds(KeywordRules, add_default=False)),
        ("baseline: TfidfVectorizer + LinearSVC", "fold", lambda: on_folds(
            lambda: make_pipeline(FunctionTransformer(full_text), TfidfVectorizer(), LinearSVC()),
            add_default=False)),
        ("recsys default, features fitted on the fold", "fold",
         lambda: on_folds(make_topic_pipeline, add_default=True)),
        ("words + char n-grams (2,5)", "fold",
         lambda: on_folds(lambda: make_topic_pipeline(char_ngrams=(2, 5)), add_default=True)),
        ("char n-grams (2,5) only (char_wb TF-IDF of title + lead)", "fold",
         lambda: on_folds(chars_only, add_default=True)),
        ("lsa_components 0 (fold)", "fold", lambda: on_folds(
            lambda: make_topic_pipeline().set_params(features__lsa_components=0), add_default=True)),
        ("**recsys default** (features fitted on the 60k archive)", "archive", lambda: on_archive()),
        ("body_chars None (whole body)", "archive", lambda: on_archive(body_chars=None)),
        ("body_chars 600", "archive", lambda: on_archive(body_chars=600)),
        ("body_chars 2500", "archive", lambda: on_archive(body_chars=2500)),
        ("lsa_components 0", "archive", lambda: on_archive(lsa=0)),
        ("logistic regression C=1", "archive", lambda: on_archive(clf={"model": "logreg", "C": 1})),
        ("class_weight None", "archive", lambda: on_archive(clf={"class_weight": None})),
        ("C 0.1", "archive", lambda: on_archive(clf={"C": 0.1})),
        ("C 0.3", "archive", lambda: on_archive(clf={"C": 0.3})),
        ("other as one class (other_groups 1)", "archive",
         lambda: on_archive(clf={"other_groups": 1})),
        ("self-training, +100 per topic", "archive", lambda: on_archive(pseudo=100)),
        ("self-training, +300 per topic", "archive", lambda: on_archive(pseudo=300)),
        ("default corpus not added", "archive", lambda: on_archive(add_default=False)),
        *[(label, "archive", functools.partial(on_archive, spec)) for label, spec in ARABIC_OFF],
        ("boilerplate removal off", "archive", lambda: on_archive({"boilerplate_min_docs": None})),
        ("site word-run boilerplate off", "archive", lambda: on_archive({"site_run_words": None})),
        ("lead blend off", "archive", lambda: on_archive({"lead_blend": 0})),
        ("title_weight 1", "archive", lambda: on_archive({"title_weight": 1})),
        ("title_weight 4", "archive", lambda: on_archive({"title_weight": 4})),
    ]
    if quick:
        configs = [c for c in configs if c[0] in TOPICS_QUICK]
    rows = []
    for label, fitted_on, make in configs:
        say(f"A. topics: {label}")
        predict = make()
        predicted = np.empty(len(y), dtype=object)
        per_fold = []
        for train, test in folds:
            predicted[test] = predict(train, test)
            per_fold.append(topic_metrics(list(y[test]), list(predicted[test]))["macro_f1"])
        pooled = topic_metrics(list(y), list(predicted))
        rows.append({"config": label, "fitted on": fitted_on, "folds": per_fold,
                     "per_topic": {t: m["f1"] for t, m in pooled["per_topic"].items()},
                     "pooled_macro_f1": pooled["macro_f1"]})
        say(f"   macro-F1 {np.mean(per_fold):.3f} ± {np.std(per_fold):.3f}")
    return rows


# --- B and C. related lists ------------------------------------------------------------------

class IndexOnly:
    """The related-articles part of a NewsModel (what evaluate_model needs): the same
    vectorizer and RelatedIndex (with the articles' themes, copy signatures and rare
    phrases), without the topic classifier."""

    def __init__(self, articles, fit) -> None:
        vectorizer, X, signatures, phrases = fit
        ids = [a.id for a in articles]
        themes = TopicFeatures().fit_prefit(vectorizer, X).themes(X)
        self.index = RelatedIndex().fit(X, ids, dates=[a.date for a in articles], themes=themes,
                                        signatures=signatures, phrases=phrases)
        self.archive = {"ids": ids}

    def related_batch(self, article_ids=None, k=None, **settings):
        return self.index.similar_batch(article_ids, k, **settings)


def recsys_lists(model, queries, settings) -> dict[str, list[str]]:
    """Related lists, ``DEPTH`` deep, as ids."""
    return {q: [str(i) for i in r.ids] for q, r in model.related_batch(queries, k=DEPTH, **settings)}


def tfidf_lists(articles, queries) -> dict[str, list[str]]:
    """Baseline: plain TfidfVectorizer() cosine, brute force, never the query itself."""
    X = TfidfVectorizer(dtype=np.float32).fit_transform(full_text(articles))
    row = {a.id: i for i, a in enumerate(articles)}
    ids = np.array([a.id for a in articles], dtype=object)
    out = {}
    for start in range(0, len(queries), 256):
        chunk = queries[start:start + 256]
        rows = [row[q] for q in chunk]
        S = (X[rows] @ X.T).toarray()
        S[np.arange(len(rows)), rows] = -np.inf
        top = np.argpartition(-S, DEPTH, axis=1)[:, :DEPTH]
        for i, q in enumerate(chunk):
            best = top[i][np.argsort(-S[i, top[i]], kind="stable")]
            out[q] = list(ids[best[S[i, best] > 0]])
    return out


_TOKENS: dict[str, list[str]] = {}


def tokens_of(articles) -> dict[str, list[str]]:
    """Articles as recsys.ArabicAnalyzer() terms (for BM25), analyzed once per run."""
    missing = [a for a in articles if a.id not in _TOKENS]
    if missing:
        say(f"  analyzing {len(missing):,} articles for BM25")
        analyzer = ArabicAnalyzer()
        _TOKENS.update((a.id, analyzer(a.title + "\n" + a.body)) for a in missing)
    return _TOKENS


def bm25_lists(articles, queries, query_mode: str) -> dict[str, list[str]]:
    """BM25 (bm25s, Lucene variant) as a More-Like-This stand-in: the query is the
    article's 25 top TF-IDF terms, or its title + lead terms; never the article itself."""
    import bm25s

    tokens = tokens_of(articles)
    docs = [tokens[a.id] for a in articles]
    retriever = bm25s.BM25()
    retriever.index(docs, show_progress=False)
    by_id = {a.id: a for a in articles}
    if query_mode == "terms":
        df = Counter(t for d in docs for t in set(d))
        n = len(docs)
        query_terms = []
        for q in queries:
            tf = Counter(tokens[q])
            weight = {t: c * math.log(n / df[t]) for t, c in tf.items()}
            query_terms.append(sorted(weight, key=lambda t: (-weight[t], t))[:25])
    else:
        analyzer = ArabicAnalyzer()
        query_terms = [list(dict.fromkeys(analyzer(by_id[q].title + "\n" + by_id[q].body[:400])))
                       for q in queries]
    ids = np.array([a.id for a in articles], dtype=object)
    found, scores = retriever.retrieve(query_terms, k=min(DEPTH + 1, len(docs)), show_progress=False)
    return {q: [i for i in ids[found[r][scores[r] > 0]] if i != q][:DEPTH]
            for r, q in enumerate(queries)}


def related_lists(kind: str, spec: dict, settings: dict, corpus_name: str, queries) -> dict | None:
    articles = corpus("syria_factcheck") if corpus_name == "factcheck" else archive()
    if kind == "tfidf":
        return tfidf_lists(articles, queries)
    if kind.startswith("bm25"):
        return bm25_lists(articles, queries, kind.split("-")[1])
    if kind == "chars" and corpus_name != "factcheck":
        return None
    return recsys_lists(IndexOnly(articles, fitted(corpus_name, spec)), queries, settings)


def related_configs(quick: bool, corpus_name: str):
    configs = [c for c in RELATED if not quick or c[0] in RELATED_QUICK or c[1] in RELATED_QUICK]
    return [c for c in configs if corpus_name == "factcheck" or c[1] != "chars"]


def groups_family(quick: bool) -> dict[str, list[dict]]:
    """B: the fact-check claim groups, fact-check index alone and with 57k distractors."""
    factcheck = corpus("syria_factcheck")
    gold = read_related_gold(DATA / "syria_factcheck.jsonl.gz")
    queries = sorted(gold)
    fold_of = {a.id: a.extra.get("fold") for a in factcheck}
    by_fold = defaultdict(list)
    for q in queries:
        by_fold[fold_of[q]].append(q)

    say("B. check: NewsModel.train on the fact-check pages gives the same lists as IndexOnly")
    model = NewsModel.train(factcheck)
    same = recsys_lists(model, queries, {}) == recsys_lists(
        IndexOnly(factcheck, fitted("factcheck", {})), queries, {})
    if not same:
        raise SystemExit("IndexOnly disagrees with NewsModel.train: fix the experiment script")

    tables = {}
    for corpus_name in ("factcheck",) + (() if quick else ("archive",)):
        rows = []
        for label, kind, spec, settings in related_configs(quick, corpus_name):
            say(f"B. claim groups, {corpus_name} index: {label}")
            lists = related_lists(kind, spec, settings, corpus_name, queries)
            if lists is None:
                continue
            overall = related_metrics(lists, {q: gold[q] for q in queries})
            folds = {f: related_metrics(lists, {q: gold[q] for q in qs})["ndcg@10"]
                     for f, qs in sorted(by_fold.items())}
            rows.append({"config": label, **overall, "folds": folds})
            say(f"   nDCG@10 {overall['ndcg@10']:.3f}")
        tables[corpus_name] = rows
    return tables


def graded_family(quick: bool) -> list[dict]:
    """C: graded judgments over the whole 60,502-article archive."""
    if quick:
        return []
    judgments = read_graded_judgments(DATA / "related_judged_dev.jsonl.gz")
    in_archive = {a.id for a in archive()}
    judged = {q: g for q, g in judgments.items() if q in in_archive and max(g.values(), default=0) > 0}
    queries = sorted(judged)
    rows = []
    for label, kind, spec, settings in related_configs(quick, "archive"):
        say(f"C. graded judgments: {label}")
        lists = related_lists(kind, spec, settings, "archive", queries)
        overall = graded_metrics(lists, judged, ks=(5, 10))
        per_query = {q: graded_metrics({q: lists.get(q, [])}, {q: judged[q]}, ks=(10,))["ndcg@10"]
                     for q in queries}
        if kind == "recsys" and not spec and not settings:  # the library's own evaluation agrees
            model = IndexOnly(archive(), fitted("archive", {}))
            check = evaluate_model(model, graded=judgments, depth=DEPTH)["graded"]["ndcg@10"]
            assert abs(check - overall["ndcg@10"]) < 1e-9, (check, overall)
        rows.append({"config": label, **overall, "per_query": per_query})
        say(f"   nDCG@10 {overall['ndcg@10']:.3f}")
    return rows


# --- report --------------------------------------------------------------------------------------

def pm(values) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def default_row(rows: list[dict]) -> dict:
    """The product default's row (in a quick run of A, the fold-fitted default)."""
    return next((r for r in rows if r["config"].startswith("**recsys default**")),
                next((r for r in rows if "recsys default" in r["config"]), rows[0]))


def topic_table(rows: list[dict]) -> str:
    base = default_row(rows)
    body = []
    for r in rows:
        delta = np.array(r["folds"]) - np.array(base["folds"])
        body.append([r["config"], r["fitted on"], pm(r["folds"]),
                     "—" if r is base else f"{delta.mean():+.3f} ± {delta.std():.3f}",
                     *[f"{r['per_topic'][t]:.3f}" for t in TOPICS]])
    return table(["config", "features fitted on", "macro-F1 (5 folds)", "Δ vs default (paired)",
                  *[f"F1 {t}" for t in TOPICS]], body)


def groups_table(rows: list[dict], reference: list[dict] | None = None) -> str:
    base = default_row(rows)
    ref = {r["config"]: r["ndcg@10"] for r in reference or []}
    body = []
    for r in rows:
        delta = np.array(list(r["folds"].values())) - np.array(list(base["folds"].values()))
        row = [r["config"], f"{r['p@5']:.3f}", f"{r['r@10']:.3f}", f"**{r['ndcg@10']:.3f}**",
               f"{r['mrr']:.3f}", pm(list(r["folds"].values())),
               "—" if r is base else f"{delta.mean():+.3f} ± {delta.std():.3f}"]
        if reference is not None:
            row.append(f"{r['ndcg@10'] - ref[r['config']]:+.3f}" if r["config"] in ref else "")
        body.append(row)
    header = ["config", "P@5", "R@10", "nDCG@10", "MRR", "nDCG@10 over claim folds",
              "Δ nDCG@10 vs default (paired folds)"]
    return table(header + (["vs fact-check-only index"] if reference is not None else []), body)


def graded_table(rows: list[dict]) -> str:
    base = default_row(rows)
    body = []
    for r in rows:
        d = np.array([r["per_query"][q] - base["per_query"][q] for q in base["per_query"]])
        body.append([r["config"], f"{r['p@5']:.3f}", f"{r['ndcg@5']:.3f}", f"**{r['ndcg@10']:.3f}**",
                     "—" if r is base else f"{d.mean():+.3f}",
                     "—" if r is base else f"{(d > 0.01).sum()} / {(d < -0.01).sum()}"])
    return table(["config", "P@5", "nDCG@5", "nDCG@10", "Δ nDCG@10 vs default",
                  "queries better / worse (|Δ| > 0.01)"], body)


def targets(topics: list[dict], groups: dict, graded: list[dict]) -> list[str]:
    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    lines = []
    if topics:
        base = default_row(topics)
        macro, prisoners = float(np.mean(base["folds"])), base["per_topic"]["prisoners"]
        lines.append(f"- A, topics macro-F1 ≥ 0.85: **{met(macro >= 0.85)}** ({macro:.3f})")
        lines.append(f"- A, prisoners F1 ≥ 0.80: **{met(prisoners >= 0.80)}** ({prisoners:.3f})")
    fc = default_row(groups["factcheck"])["ndcg@10"]
    lines.append(f"- B, fact-check index nDCG@10 ≥ 0.50: **{met(fc >= 0.50)}** ({fc:.3f})")
    if "archive" in groups:
        drop = fc - default_row(groups["archive"])["ndcg@10"]
        lines.append(f"- B, with 57k distractors no more than 0.03 lower: "
                     f"**{met(drop <= 0.03)}** (−{drop:.3f})")
    if graded:
        g = default_row(graded)["ndcg@10"]
        lines.append(f"- C, graded nDCG@10 ≥ 0.85: **{met(g >= 0.85)}** ({g:.3f})")
    return lines


def git_state() -> str:
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "recsys"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + (" (recsys/ has uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def paired(rows: list[dict], key) -> dict[str, str]:
    """Each row's paired difference from the default row: ``key(row)`` is a list of scores."""
    base = np.array(key(default_row(rows)))
    out = {}
    for r in rows:
        d = np.array(key(r)) - base
        out[r["config"]] = f"{d.mean():+.3f} ± {d.std():.3f}"
    return out


def summary_table(topics, groups, graded) -> str:
    """One row per change, its paired Δ from the default in every family that ran it."""
    columns = [("A macro-F1", paired(topics, lambda r: r["folds"]))]
    for name, title in (("factcheck", "B nDCG@10 fact-check"), ("archive", "B nDCG@10 +57k")):
        if groups.get(name):
            columns.append((title, paired(groups[name], lambda r: list(r["folds"].values()))))
    if graded:
        base = default_row(graded)["per_query"]
        deltas = {r["config"]: np.array([r["per_query"][q] - base[q] for q in base]) for r in graded}
        columns.append(("C nDCG@10 (queries better/worse)",
                        {c: f"{d.mean():+.3f} ({(d > 0.01).sum()}/{(d < -0.01).sum()})"
                         for c, d in deltas.items()}))
    labels = list(dict.fromkeys(label for _, col in columns for label in col))
    body = [[label] + [col.get(label, "") for _, col in columns] for label in labels
            if "default" not in label and not label.startswith("baseline")]
    return table(["change from the default"] + [t for t, _ in columns], body)


# The hand-written reading of the runs (numbers rounded; the tables are regenerated on
# every run and are the reference), kept in markdown beside this script.
READING = Path(__file__).resolve().parent / "READING.md"


def report(run: dict, topics, groups, graded) -> str:
    parts = [
        "# Experiment results" + (" (quick run: a subset)" if run["quick"] else ""),
        "",
        f"Made by `{run['command']}` on {run['date']} ({run['minutes']:.0f} min; recsys "
        f"{recsys.__version__} at git {run['git']}, package hash {run['hash']}; "
        f"Python {platform.python_version()}, {platform.machine()})."
        + (" **Warning: the recsys source on disk changed during the run; the run used the code "
           "it imported at the start.**" if run["changed"] else ""),
        "",
        "Every row of a table uses the same splits; a ± is the standard deviation over folds. "
        "\"Δ vs default (paired)\" is the mean ± std of the per-fold differences from the default "
        "row, the fairer test of a change: a change whose paired Δ is within about one std of 0 "
        "is noise on this data.",
        "",
        "## Targets",
        "",
        *targets(topics, groups, graded),
        "",
        "## A. Topics: 5-fold cross-validation on topics_dev (601 articles)",
        "",
        "StratifiedKFold(5, shuffle=True, random_state=0). Macro-F1 is per fold; per-topic F1 is of "
        f"the pooled out-of-fold predictions. recsys rows add the default corpus ({len(default_articles())} articles) to "
        "each training fold, as `NewsModel.train` does; baselines do not. \"archive\": the "
        "vocabulary, IDF and LSA are fitted on all 60,502 unlabelled articles (the product setting, "
        "`TopicFeatures().fit_prefit`); \"fold\": on the training fold (+ default corpus) only. "
        "Ablations change one thing from the default of their setting.",
        "",
        topic_table(topics),
        "",
    ]
    if groups:
        parts += [
            "## B. Related lists on the fact-check claim groups",
            "",
            "Gold: `read_related_gold(syria_factcheck)`; queries: the "
            f"{groups['factcheck'][0].get('queries', 0)} pages sharing a claim with an agree/disagree/"
            "discuss stance with another page. Lists are "
            f"`related_batch(queries, k={DEPTH})` (self excluded). Claim folds are the corpus's own "
            "`fold` field (queries grouped by their fold). Bold: the headline metric.",
            "",
            "### Index: the 2,886 fact-check pages",
            "",
            groups_table(groups["factcheck"]),
            "",
        ]
    if groups.get("archive"):
        parts += [
            "### Index: all 60,502 articles (the fact-check pages + 57k news distractors)",
            "",
            groups_table(groups["archive"], reference=groups["factcheck"]),
            "",
        ]
    if graded:
        parts += [
            "## C. Graded judgments (related_judged_dev): index of all 60,502 articles",
            "",
            f"{len(graded[0]['per_query'])} queries with at least one positive judgment. nDCG uses "
            f"condensed lists (unjudged ids removed from depth-{DEPTH} lists), gain 2^grade − 1; "
            "P@5 counts unjudged as not related.",
            "",
            graded_table(graded),
            "",
        ]
    parts += [
        "## Defaults chosen and why",
        "",
        "Paired differences from the default for every change, side by side across families "
        "(A and B: mean ± std over the same folds; C: mean over the queries, and how many "
        "queries gained or lost more than 0.01). Positive is better than the default.",
        "",
        summary_table(topics, groups, graded),
        "",
    ]
    if not run["quick"]:
        reading = READING.read_text(encoding="utf-8")
        parts += [reading[reading.index("###"):].strip(), ""]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a few configs, fact-check index only, for development")
    parser.add_argument("--out", type=Path, default=None,
                        help="markdown report (default training/RESULTS.md; with --quick, "
                             "/tmp/exp_cache/RESULTS-quick.md)")
    parser.add_argument("--render-only", action="store_true",
                        help="rewrite the report from the last run's saved results "
                             f"({LAST_RUN}), e.g. after editing the text; runs nothing")
    args = parser.parse_args(argv)
    if args.render_only:
        with LAST_RUN.open("rb") as handle:
            saved = pickle.load(handle)
        out = args.out or saved["out"]
        out.write_text(report(**saved["results"]), encoding="utf-8")
        say(f"wrote {out} from {LAST_RUN}")
        return 0
    if not DATA.is_dir():
        sys.exit(f"experiments: the research data is not at {DATA} (../shared/data relative to the "
                 "repository root); nothing to run.")
    out = args.out or (CACHE / "RESULTS-quick.md" if args.quick else REPO / "training" / "RESULTS.md")
    run = {"quick": args.quick, "date": dt.date.today().isoformat(), "git": git_state(),
           "hash": source_hash(),
           "command": "python " + shlex.join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])])}
    results = {"topics": topic_family(args.quick), "groups": groups_family(args.quick),
               "graded": graded_family(args.quick)}
    run |= {"minutes": (time.perf_counter() - STARTED) / 60, "changed": package_hash() != run["hash"]}
    results["run"] = run
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report(**results), encoding="utf-8")
    with LAST_RUN.open("wb") as handle:
        pickle.dump({"out": out, "results": results}, handle)
    say(f"wrote {out} (results kept in {LAST_RUN})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
