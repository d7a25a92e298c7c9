#!/usr/bin/env python
"""Compare recsys defaults with baselines and one-change ablations on the real data.

    python training/experiments.py            # full run, writes training/RESULTS.md (about 1.5 h)
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


def fitted(corpus_name: str, spec: dict) -> tuple[ArticleVectorizer, sp.csr_matrix]:
    """A vectorizer fitted on a corpus ("factcheck" or "archive") and its matrix."""
    articles = corpus("syria_factcheck") if corpus_name == "factcheck" else archive()

    def fit():
        say(f"  fitting {make_vectorizer(spec)!r} on {len(articles):,} articles")
        vectorizer = make_vectorizer(spec)
        return vectorizer, vectorizer.fit_transform(articles)
    return disk_cached(f"fit {corpus_name} {json.dumps(spec, sort_keys=True)}", fit)


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
    ("duplicate_threshold None", "recsys", {}, {"duplicate_threshold": None}),
    ("duplicate_threshold 0.9", "recsys", {}, {"duplicate_threshold": 0.9}),
    ("duplicate_threshold 0.9 between suggestions, copies of the query (≥ 0.8) still dropped",
     "recsys", {}, {"duplicate_threshold": 0.9, "query_copies": 0.8}),
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
    vectorizer, X = fitted("archive", json.loads(spec_json))
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
        ("C 1", "archive", lambda: on_archive(clf={"C": 1})),
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
    vectorizer and RelatedIndex, without the topic classifier."""

    def __init__(self, articles, vectorizer_and_matrix) -> None:
        _, X = vectorizer_and_matrix
        ids = [a.id for a in articles]
        self.index = RelatedIndex().fit(X, ids, dates=[a.date for a in articles])
        self.archive = {"ids": ids}

    def related_batch(self, article_ids=None, k=None, **settings):
        return self.index.similar_batch(article_ids, k, **settings)


def recsys_lists(model, queries, settings) -> dict[str, list[str]]:
    """Related lists; the pseudo-setting ``query_copies`` drops suggestions at least this
    similar to the query (to tell copies of the query from copies among suggestions)."""
    settings = dict(settings)
    copies = settings.pop("query_copies", math.inf)
    return {q: [str(i) for i, score in zip(r.ids, r.scores) if score < copies]
            for q, r in model.related_batch(queries, k=DEPTH, **settings)}


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


def targets(groups: dict, graded: list[dict]) -> list[str]:
    lines = []
    fc = default_row(groups["factcheck"])["ndcg@10"]
    lines.append(f"- B, fact-check index nDCG@10 ≥ 0.50: **{'met' if fc >= 0.50 else 'NOT met'}** ({fc:.3f})")
    if "archive" in groups:
        drop = fc - default_row(groups["archive"])["ndcg@10"]
        lines.append(f"- B, with 57k distractors no more than 0.03 lower: "
                     f"**{'met' if drop <= 0.03 else 'NOT met'}** (−{drop:.3f})")
    if graded:
        g = default_row(graded)["ndcg@10"]
        lines.append(f"- C, graded nDCG@10 ≥ 0.85: **{'met' if g >= 0.85 else 'NOT met'}** ({g:.3f})")
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


# Written after reading the full run of 2026-11-29 (numbers rounded; the tables above are
# regenerated on every run and are the reference).
WHY = """
### Reading of the full run

**Defaults kept** (no change beat the default by more than its paired spread in a way that held
across families):

- *Topics: title + first 1,200 body characters, 100 LSA dimensions fitted on the archive,
  calibrated LinearSVC C=0.3 balanced, default corpus added.* The product setting
  (vocabulary and LSA from the 60k unlabelled archive) beats the same pipeline fitted on
  the labelled fold alone by about 0.02 macro-F1 and the plain TF-IDF + LinearSVC baseline
  by about 0.21 (prisoners F1 0.66 against 0.23). The whole body (about −0.03), no LSA
  (about −0.03), no stemming (about −0.03) and no default corpus (about −0.05, prisoners
  0.55) each lose more than their paired spread. Classifier variants (logistic regression,
  C 0.1 or 1, no class weights) and self-training on pseudo-labelled archive articles are
  all within noise and never better; character n-grams add nothing and cost a lot.
- *Arabic processing.* Light stemming is the one step that matters for topics; for
  related lists it is slightly negative on the fact-check pages (+0.006 to +0.009 without
  it) and slightly positive on the graded news judgments, so the shared vectorizer keeps
  it. Stop words, letter foldings, glued-word splitting are within ±0.007 everywhere
  (taa-marbuta folding is a no-op when light stemming already strips the final ة/ه); they
  are cheap and keep the vocabulary clean, so they stay.
- *Related lists: sublinear TF, boilerplate removal at 5 documents, title weight 2, no lead
  boost, min_df 2, no max_df, no MMR.* Boilerplate removal is worth about +0.065 nDCG@10 on
  the noisy fact-check pages (10 documents loses 0.015; 3 is within noise); sublinear TF is
  worth 0.03-0.05; MMR at 0.7 costs about 0.06 everywhere; a lead boost costs about 0.013;
  title weight 1-3, min_df 1 and max_df 0.5 are within noise. Character n-grams add
  nothing on the fact-check index, where glued and misspelt words should help most.
- *duplicate_threshold 0.8.* 0.9 or None scores about +0.01 on B and C, but that gain is
  the metric rewarding near-copies: part of it comes from suggestions ≥ 0.8 similar to
  each other (two outlets' copies of one agency story, both judged "same story"; see the
  row that keeps dropping copies of the query), the rest from copies of the query itself,
  which the product promises to hide (the shipped corpus's reposts sit at cosine
  0.85-0.95, a third of them under 0.9). Readers are better served by one copy.

**Change worth making:** `half_life_days` 365 (a gentle recency prior) is the only change
that is non-negative in every family: about +0.011 graded nDCG@10 (18 queries better, 8
worse), +0.003 ± 0.002 on the claim groups with distractors, 0 on the fact-check pages
(few dates). 30 days is too strong (graded P@5 falls from 0.85 to 0.68). Part of the gain
is this data's shape (2015 and 2018 corpora), so treat it as a mild prior, not a tuned value.

**Targets not met:** fact-check nDCG@10 is about 0.45 (target 0.50) and graded nDCG@10
about 0.80 (target 0.85); the distractor drop (0.030) is on the 0.03 limit. No single
setting closes either gap (best: about 0.46 and 0.81), so they need a modelling change,
not a default.

**Since this run** (measured with `training/check_defaults.py` on the same data, splits and
metrics; its table is `training/DEFAULTS.md`): three modelling changes became defaults:
site word-run boilerplate (8-word runs on at least max(3, 1%) of a site's pages; claims
+0.036), the lead blend (each row 0.7 × whole article + 0.3 × title and first 400
characters; graded +0.022) and recency on at 180 days (graded +0.015). They lifted the
fact-check claims to 0.481 (0.451 with distractors, a 0.029 drop) and graded nDCG@10 to
0.830. The ablation tables above predate them: rerun this script to refresh them.

**Tried after that, and not adopted** (an ad hoc grid built on `check_defaults.py`'s
functions, same splits; paired differences from the defaults, mean ± std over folds for
topics, ± standard error over queries for lists):
- topics: per-class decision biases chosen by inner cross-validation on each training
  fold +0.003 ± 0.020; ComplementNB −0.17 to −0.35; NB-SVM (log-count ratios, logistic
  regression) −0.04 to −0.09, and −0.04 averaged with the default; default corpus at
  half weight −0.007 ± 0.007; 36 settings of classifier (SVM or logistic regression),
  C (0.3-3), LSA weight (0.25-1) and dimensions (100, 200): the best, logistic
  regression C=1 with LSA weight 0.25, +0.014 ± 0.021, within noise and the best of 36;
- lead blend 0.2-0.5 × 300-600 characters: more blend lifts graded nDCG@10 by at most
  +0.008 (about 1 SE) and costs the claims 0.009-0.031 (3-7 SE); 0.2 × 300 moves all
  three by +0.002 to +0.004, each within one SE.
The defaults stay. The topic targets (0.85, prisoners 0.80) look out of reach for a
linear model over these features and 601 labelled articles: no variant passed 0.79.

**More written training text** (same splits). The default corpus grew from 332 to 572
articles: 240 written from the labelling guide's definitions, one topic boundary per
writer (security or political detention against ordinary crime; migration and
displacement against labour migration and tourism; aid and health in crisis against
routine services; the less obvious forms of combat against accidents, protests and
parades; war news against the diplomacy of the same wars), over the Gulf 2015 and
pan-Arab 2018 styles the archive has. Cross-validated with it added to every training
fold, macro-F1 is 0.777 ± 0.055 (was 0.776 ± 0.046; prisoners 0.693, was 0.679): the
labelled folds already teach what it teaches. A model trained on the shipped corpus
alone (what a fresh clone trains, before any labels) scores 0.698 on all 601 labelled
articles, against 0.682 with the 332 (prisoners 0.630 against 0.624, humanitarian 0.611
against 0.552). It ships, for the second figure.

Also tried on the same folds, not adopted: a separate title-only TF-IDF block beside the
features (weight 0.3-0.8: 0.776-0.781, paired within noise); low-confidence labels
(152 of 601) weighted 0.5 or 0.25 in training (−0.002 ± 0.013, −0.020 ± 0.023).

**Related lists, tried and not adopted** (same gold sets; lists 100 deep unless said):
- pseudo-relevance feedback (Rocchio: the query plus β × the mean of its top m
  results, run again): m 3, β 0.3-0.5 lifts graded nDCG@10 by 0.005-0.012 and the
  fact-check claims by up to 0.011 when the expanded query keeps its 100 heaviest terms,
  but the claims with distractors move by at most 0.003, so the distractor drop widens to
  0.037 (limit 0.03), and every query costs two;
- a same-story time prior (scores × (1 + b × 0.5 ** (days apart / h)) on top of the
  180-day decay): graded nDCG@10 up 0.010-0.019 (b 0.2-0.5, h 7-14 days) on 100-deep
  condensed lists, but on 10-deep lists, which are what readers see, it moves graded
  nDCG@10 by +0.005 to −0.021, worse as b grows (each ± 0.010-0.015): the prior lifts
  unjudged same-week articles into the top 10, and condensing hides them. A gain that
  only the condensed metric shows is not a gain; the claims do not move (the fact-check
  pages have few dates).

**Boilerplate settings, checked again** (the fact-check index, nDCG@10 over the claim
groups, paired over the claim folds, mean ± std): the site word-run rule sits on a
plateau. Run length 5, 6, 10 or 12 words moves it by −0.002 to +0.002 (each within
0.004), a share of 0.5% or 2% of a site's pages instead of 1% by nothing, line
boilerplate at 3 documents or lines from 10 or 40 characters by under 0.001. Runs on only
2 pages of a site cost 0.011-0.015 ± 0.01 at every length: 2 pages is too few to tell a
site's furniture from two articles quoting one statement. The defaults (8 words, at
least max(3, 1%) of the pages) stay.

**Semantic re-ranking of related lists, tried and not adopted.** Each list's candidates
re-ranked by `(1 − γ) × score + γ × LSA cosine` (100 or 200 LSA dimensions fitted on
20,000 rows of the index's own TF-IDF matrix; γ 0.1-0.5; re-ranking all 100 candidates,
the top 50 only, or with the LSA term scaled by the candidate's score relative to the
best, or only for candidates at least half the best score). Every variant lifts the
graded judgments (condensed nDCG@10 +0.005 to +0.020; on 10-deep lists +0.007 to
+0.037, best 200 dimensions, γ 0.3) and the fact-check claims a little (+0.001 to +0.007,
paired over claim folds, each within about one std), but never the claims with the 57k
distractors (−0.0004 to −0.020): the LSA neighbours it promotes are topical neighbours,
which is what a distractor is. The distractor drop widens from 0.029 to 0.030-0.052, past
the 0.03 limit, in every setting, and no setting meets the graded or claims target. A
multiplicative boost (`score × (1 + γ × LSA cosine)`) moves everything less and fails
the same way. Like pseudo-relevance feedback above, it trades the distractor guarantee
for topical breadth; the defaults keep the guarantee.

**Where the topic errors are** (the default's pooled out-of-fold predictions on
`topics_dev`, same folds). On the 456 articles whose label is marked high-confidence,
macro-F1 is 0.878 (accuracy 92%; combat 0.925, prisoners 0.767, humanitarian 0.868,
other 0.951); on the 145 low-confidence ones it is 0.481 (accuracy 59%). Most errors are
prisoners (20 of 59) and humanitarian (19 of 61) articles predicted other, and they sit
on the guide's own boundaries: arrests, sentences and disappearances outside war that the
annotators read as political or security cases (an opposition leader arrested at a
protest, a prison term for a protest act, suspects of an attack on a parade rounded up)
against "ordinary crime and policing is other", and civilian crises outside war
(migrants at sea, asylum policy, a cyclone or a fire reaching villages) against politics.
The words of these articles are the words of their "other" neighbours (arrest, court,
ministry, government); what separates them is who is held and why, which a bag of
words sees only faintly. Word bigrams beside the features (TF-IDF of title + lead
bigrams fitted on the archive, weight 0.3-1.0, C 0.3 or 1) moved macro-F1 by +0.000 to
+0.005 (paired std 0.003-0.015): noise, not adopted.

**Word bigrams beside the word terms, and IDF powers, for related lists: tried, not
adopted** (`python training/related_trials.py`, 10 min; same gold sets, claim folds and
metrics as `check_defaults.py`). Bigrams are pairs of consecutive terms of the cleaned
title and body (stop words out, stemmed), in a sublinear TF-IDF block beside the
default rows, as the character n-gram block is added:

| variant | claims nDCG@10, fact-check index | Δ (paired folds) | claims, +57k | Δ | drop | graded nDCG@10 | Δ | nnz of the 60,502 rows |
|---|---|---|---|---|---|---|---|---|
| **defaults** | 0.4814 | | 0.4520 | | 0.0295 | 0.8299 | | 9,513,522 |
| IDF power 0.5 | 0.4714 | -0.0100 ± 0.0026 | 0.4437 | -0.0082 ± 0.0030 | 0.0277 | 0.8328 | +0.0029 | 9,513,522 |
| IDF power 1.5 | 0.4801 | -0.0013 ± 0.0045 | 0.4441 | -0.0079 ± 0.0055 | 0.0360 | 0.8167 | -0.0132 | 9,513,522 |
| IDF power 2.0 | 0.4698 | -0.0117 ± 0.0104 | 0.4263 | -0.0256 ± 0.0075 | 0.0434 | 0.8076 | -0.0224 | 9,513,522 |
| bigrams, min_df 3, weight 0.8 | 0.4953 | +0.0139 ± 0.0070 | 0.4745 | +0.0225 ± 0.0080 | 0.0208 | 0.8361 | +0.0062 | 17,368,016 |
| bigrams, min_df 3, weight 1.0 | 0.5010 | +0.0196 ± 0.0078 | 0.4767 | +0.0247 ± 0.0086 | 0.0243 | 0.8293 | -0.0007 | 17,368,016 |
| bigrams, min_df 3, weight 1.2 | 0.5019 | +0.0205 ± 0.0093 | 0.4793 | +0.0274 ± 0.0088 | 0.0226 | 0.8220 | -0.0080 | 17,368,016 |
| bigrams, min_df 10, weight 0.8 | 0.4953 | +0.0139 ± 0.0070 | 0.4732 | +0.0213 ± 0.0115 | 0.0220 | 0.8246 | -0.0053 | 14,204,460 |
| bigrams, min_df 10, weight 1.2 | 0.5019 | +0.0205 ± 0.0093 | 0.4805 | +0.0285 ± 0.0073 | 0.0215 | 0.8123 | -0.0176 | 14,204,460 |
| bigrams, min_df 3, weight 0.8, top 40 per article | 0.4882 | +0.0068 ± 0.0073 | 0.4596 | +0.0076 ± 0.0094 | 0.0287 | 0.8377 | +0.0078 | 12,138,542 |
| bigrams, min_df 3, weight 0.8, top 20 per article | 0.4841 | +0.0026 ± 0.0052 | 0.4532 | +0.0012 ± 0.0077 | 0.0309 | 0.8339 | +0.0040 | 11,023,899 |

The IDF as it is (power 1) is best for the claims; 0.5 moves graded by +0.003 only.
Bigrams are the first change found that lifts the claims on both indexes at once and
narrows the distractor drop (a shared phrase, such as a place and its district or an
office and its holder, is the mark of one story on noisy pages that a shared word is
not): at weight 1.2 they meet the claims target (0.502, with the 57k distractors 0.479,
a drop of 0.023), but graded nDCG@10 falls by 0.008 (0.018 with min_df 10); at 0.8 all
three rise (claims +0.014, with distractors +0.022, graded +0.006) and none reaches its
target; at 1.0 (the seventh stop's row) they meet both claim targets (0.501, with the
distractors 0.477, a drop of 0.024) and leave graded nDCG@10 where it was (0.829). They
are not adopted because of their cost, not their quality: they add 70-80%
to the index's entries (a bundle of about 200 MB at 60k articles against the 150 MB
limit, and all-pairs queries touch more postings), the bigram vocabulary is as large as
the word one's (869,000 bigrams at min_df 3), and keeping only each article's 20 or 40
heaviest bigrams loses most of the gain (the distractor drop returns to 0.029-0.031):
the gain is spread over the many rare phrases. Counting them with scikit-learn's
`CountVectorizer` took about 90 s at 60k articles on one process; done for real they
would be counted in the counting processes, as pairs of the word columns they already
find. That, and a more compact index (the matrix stored as 16-bit values), is the
next step for the claims target.

*Seventh stop, on the cost.* The bigrams need not enter the postings that gather
candidates: re-ranking the default lists (the top 30 or 100 gathered on words) by the
cosine with bigrams at weight 1.0 gives the same claims gain as indexing them (0.498 and
0.502 on the fact-check index, 0.471 and 0.473 with the distractors; graded cannot be read
from this simulation, because re-ranking by cosine also undoes the recency decay, which
alone costs graded 0.018). Queries would then touch no more postings. But the row-major
matrix, which re-scoring reads and the bundle ships, would still hold 17.4 million entries
instead of 9.5 million. Even with 16-bit values (6 bytes an entry instead of 8) that is
104 MB against 76 MB now, and with the bigram vocabulary (869,000 keys as pairs of word
columns, 7 MB) a 60k bundle of about 168 MB, over the 150 MB limit. Storing the LSA
components in 16 bits as well (40 → 20 MB) would bring it to about 148 MB: the one layout
found that fits, at 60k articles only and with no room left.

*Eighth stop, on the LSA's cost.* One power iteration of the randomized SVD instead of
two (`TopicFeatures(lsa_iterations=1)`, the default since) scored as well on `topics_dev`,
over three 5-fold splits (seeds 0, 1, 2): macro-F1 0.776 ± 0.037 against 0.769 ± 0.042,
paired +0.007 ± 0.011; none scored 0.765 (−0.004 ± 0.018), fitting 20,000 rows instead of
10,000 or 5,000 was worth +0.013 and +0.010, and 150 dimensions instead of 100 −0.004.
At 60k articles the LSA fits in 1.6 s instead of 1.9 s.

**Also tried, ad hoc on the same splits, not adopted:** capping the bigrams at 100, 500
or 2,000 articles keeps 82%, 94% or 99% of their entries (the rare ones are most of
them) and scores about as the uncapped bigrams do (claims +0.008 to +0.022). Keeping only the bigrams of two
words that are each in at most 0.2%, 0.5% or 2% of the articles (1-7% more index
entries instead of 70-80%) loses everywhere (claims −0.007 to −0.116, with distractors
−0.02 to −0.15): a block of a few bigrams, normalised on its own, outweighs the words.
Topics: the labelled articles' secondary topics (`also` in `topics_dev`) as extra
training examples of those topics moved macro-F1 by +0.006 ± 0.039 (all of them) and
+0.001 ± 0.010 (high-confidence articles only): noise.
"""


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
        *targets(groups, graded),
        "",
        "## A. Topics: 5-fold cross-validation on topics_dev (601 articles)",
        "",
        "StratifiedKFold(5, shuffle=True, random_state=0). Macro-F1 is per fold; per-topic F1 is of "
        "the pooled out-of-fold predictions. recsys rows add the default corpus (332 articles) to "
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
            f"## C. Graded judgments (related_judged_dev): index of all 60,502 articles",
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
        parts += [WHY.strip(), ""]
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
