#!/usr/bin/env python
"""Speed and memory of recsys against named baselines, on the real Arabic news corpora.

    python benchmarks/run.py                      # 15k, 60k (= all 60,502 real) and 240k articles
    python benchmarks/run.py --quick              # 15k only, a few minutes, for development
    python benchmarks/run.py --sizes 15000,60000  # choose the sizes

Every recsys figure is printed beside the same figure for a baseline measured in the
same run on the same articles, with the ratio. See benchmarks/README.md for what each
figure means and how it is measured.

The corpora are read in place from ``../shared/data`` (relative to the repository root)
and nothing from them is written into the repository: RESULTS.md holds numbers only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import multiprocessing as mp
import os
import pickle
import platform
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA_DIR = (ROOT / ".." / "shared" / "data").resolve()
CORPORA = ("ant_news_2018.jsonl.gz", "saudinewsnet_2015.jsonl.gz", "syria_factcheck.jsonl.gz")
RESULTS = HERE / "RESULTS.md"

K = 10
NN_QUERIES, NN_WARMUP = 60, 5  # sklearn NearestNeighbors is ~100x slower: fewer queries
MB = 1e6  # decimal megabytes throughout (1 GB = 1000 MB)

# The project's targets, for 60k articles on a 2-core machine.
TARGETS = {
    "train_vs_tfidf": "training no slower than plain TfidfVectorizer().fit_transform",
    "query_p50_ms": 1.0,
    "batch_per_s": 2000.0,
    "cli_s": 1.0,
    "train_peak_mb": 2000.0,
    "bundle_mb": 150.0,
}


def say(message: str) -> None:
    """Progress on stderr, so stdout holds only the report."""
    print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.2f}] {message}",
          file=sys.stderr, flush=True)


# --- data -------------------------------------------------------------------------------

def snapshot_library(work: Path) -> dict:
    """Copy recsys/ and cli.py into the work directory and import them from there, in this
    process, its children and the `recsys` command: the library may be edited while a
    long run goes on, and every figure must come from the same code."""
    target = work / "code"
    shutil.copytree(ROOT / "recsys", target / "recsys",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(ROOT / "cli.py", target / "cli.py")
    sys.path.insert(0, str(target))
    os.chdir(work)  # workers started with `python -m` put the current directory first on sys.path
    os.environ["PYTHONPATH"] = os.pathsep.join([str(target), *filter(None, [os.environ.get("PYTHONPATH")])])
    def git(*cmd: str) -> str:
        done = subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else "?"
    commit = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--", "recsys", "cli.py")
    return {"commit": commit, "dirty": bool(dirty and dirty != "?"), "path": str(target)}


def find_data() -> Path:
    missing = [name for name in CORPORA if not (DATA_DIR / name).is_file()]
    if missing:
        sys.exit(f"benchmarks/run.py: the real corpora are not available: expected "
                 f"{', '.join(missing)} in {DATA_DIR} (../shared/data relative to the "
                 "repository root). Nothing to measure without them.")
    return DATA_DIR


def read_real(data_dir: Path) -> list:
    import recsys

    articles: list = []
    for name in CORPORA:
        result = recsys.read_articles(data_dir / name)
        articles.extend(result.articles)
    ids = [a.id for a in articles]
    if len(set(ids)) != len(ids):
        raise SystemExit("duplicate ids across the corpora; cannot build one archive")
    return articles


_SENTENCE = re.compile(r"[^.!?؟\n]+[.!?؟]*")


def sentences(body: str) -> list[str]:
    return [s for s in (m.group().strip() for m in _SENTENCE.finditer(body)) if len(s) >= 15]


class Recombiner:
    """New, distinct articles made of real ones: the title of one article and sentences
    sampled from 2-3 random articles of the same source (same corpus file when the
    source has fewer than 3 articles), with a fresh id and the title article's date."""

    def __init__(self, articles: list) -> None:
        self.articles = articles
        by_source: dict[str, list[int]] = {}
        for i, a in enumerate(articles):
            by_source.setdefault(a.source or "", []).append(i)
        by_prefix: dict[str, list[int]] = {}
        for i, a in enumerate(articles):
            by_prefix.setdefault(a.id.split("-")[0].split("_")[0], []).append(i)
        self.group_of = []
        for i, a in enumerate(articles):
            group = by_source[a.source or ""]
            if len(group) < 3:
                group = by_prefix[a.id.split("-")[0].split("_")[0]]
            if len(group) < 3:
                group = list(range(len(articles)))
            self.group_of.append(group)
        self._sentences: dict[int, list[str]] = {}

    def _sents(self, i: int) -> list[str]:
        if i not in self._sentences:
            self._sentences[i] = sentences(self.articles[i].body) or [self.articles[i].body]
        return self._sentences[i]

    def make(self, rng: random.Random, new_id: str):
        from recsys import Article

        base = rng.randrange(len(self.articles))
        head = self.articles[base]
        group = self.group_of[base]
        donors = [group[rng.randrange(len(group))] for _ in range(rng.choice((2, 3)))]
        pool = [s for d in donors for s in self._sents(d)]
        want = max(1, round(statistics.mean(len(self._sents(d)) for d in donors)))
        chosen = sorted(rng.sample(range(len(pool)), min(want, len(pool))))
        # A few sentences per line: lines repeated across many documents count as site
        # boilerplate in recsys, and single-sentence lines would be repeated by design.
        parts = [pool[j] for j in chosen]
        body = "\n".join(" ".join(parts[i:i + 4]) for i in range(0, len(parts), 4))
        return Article(new_id, head.title, body, head.date, "", head.source)


def build_archive(real: list, size: int, seed: int) -> tuple[list, int, int]:
    """``size`` articles: a random sample of the real ones, all of them (a size within 2%
    of the real count), or all of them plus recombined ones. Returns (articles, real,
    recombined)."""
    n_real = len(real)
    rng = random.Random(seed + size)
    if size < 0.98 * n_real:
        rows = sorted(rng.sample(range(n_real), size))
        return [real[i] for i in rows], size, 0
    if size <= 1.02 * n_real:
        return list(real), n_real, 0
    maker = Recombiner(real)
    extra = [maker.make(rng, f"bench-synth-{i:07d}") for i in range(size - n_real)]
    return list(real) + extra, n_real, len(extra)


NEW_WORDS_PER_TEXT = 3
_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"


def make_query_texts(real: list, n: int, seed: int) -> list[tuple[str, str]]:
    """New texts (not in any archive) for by-text queries, recombined from real ones,
    each with ``NEW_WORDS_PER_TEXT`` invented words that no archive holds. Recombined
    sentences bring only words the archive has, but real new articles bring a few it
    never saw: a median of 2 (of 180 distinct words) for the ANT articles of the last
    5% of dates (2018-10-05 on) against every earlier article."""
    maker = Recombiner(real)
    rng = random.Random(seed * 7919 + 1)
    return [_with_new_words(maker.make(rng, f"bench-query-{i}"), rng) for i in range(n)]


def real_query_texts(real: list, n: int, seed: int) -> list[tuple[str, str]]:
    """Real articles' texts, each with ``NEW_WORDS_PER_TEXT`` invented words, for
    by-text queries with a real article's make-up. A recombined text mixes two or three
    articles' sentences and so holds more distinct terms than an article does (a
    median of 146 against 114 at 60k articles) and touches a third more postings."""
    rng = random.Random(seed * 7919 + 2)
    return [_with_new_words(real[i], rng) for i in rng.sample(range(len(real)), min(n, len(real)))]


def _with_new_words(article: Any, rng: random.Random) -> tuple[str, str]:
    words = article.body.split(" ")
    for _ in range(NEW_WORDS_PER_TEXT):
        invented = "".join(rng.choice(_LETTERS) for _ in range(rng.randint(5, 8)))
        words.insert(rng.randrange(len(words) + 1), invented)
    return article.title, " ".join(words)


# --- measuring in a fresh process -----------------------------------------------------------

class TreeSampler(threading.Thread):
    """Samples the RSS and CPU time of a process and all its descendants (joblib/loky
    workers included) every ``interval`` seconds; tracks the peak RSS sum while
    ``measuring`` is set."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.root = psutil.Process(pid)
        self.interval = interval
        self.halt = threading.Event()
        self.measuring = False
        self.peak = 0
        self.cpu: dict[int, float] = {}
        self.cpu_at_start: dict[int, float] = {}

    def start_measuring(self) -> None:
        self.cpu_at_start = dict(self.cpu)
        self.peak = 0
        self.measuring = True

    def stop_measuring(self) -> float:
        """Stop; return the CPU seconds the tree used while measuring."""
        self._sample(self._procs())
        self.measuring = False
        return sum(v - self.cpu_at_start.get(pid, 0.0) for pid, v in self.cpu.items())

    def _procs(self) -> list:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except self.psutil.NoSuchProcess:
            return []

    def _sample(self, procs: list) -> None:
        total = 0
        for proc in procs:
            try:
                with proc.oneshot():
                    total += proc.memory_info().rss
                    times = proc.cpu_times()
                self.cpu[proc.pid] = times.user + times.system
            except (self.psutil.NoSuchProcess, self.psutil.AccessDenied):
                continue
        if self.measuring:
            self.peak = max(self.peak, total)

    def run(self) -> None:
        procs, refreshed = self._procs(), time.monotonic()
        while not self.halt.is_set() and procs:
            if time.monotonic() - refreshed > 0.25:  # new workers appear; scanning /proc costs
                procs, refreshed = self._procs(), time.monotonic()
            self._sample(procs)
            self.halt.wait(self.interval)


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _step_tfidf(data: Any) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer

    X = TfidfVectorizer().fit_transform(data)
    return {"shape": X.shape, "nnz": int(X.nnz)}


def _step_vectorize(data: Any) -> dict:
    from recsys import ArticleVectorizer

    X = ArticleVectorizer().fit_transform(data)
    return {"shape": X.shape, "nnz": int(X.nnz)}


def _step_train(data: Any) -> dict:
    from recsys import NewsModel

    model = NewsModel.train(data)
    _step_train.model = model  # saved after the measurement window
    X = model.index.matrix_
    return {"shape": X.shape, "nnz": int(X.nnz), "vocabulary": model.info["counts"]["vocabulary"]}


STEPS: dict[str, Callable[[Any], dict]] = {
    "tfidf": _step_tfidf, "vectorize": _step_vectorize, "train": _step_train,
}


def _child(step: str, input_path: str, bundle_path: str | None, conn) -> None:
    """A fresh process: load the input, tell the parent, run one step, report, and
    (for training) save the bundle once the measurement window is closed."""
    try:
        if step != "tfidf":
            # Imports are not the step being measured. recsys imports its modules on
            # first use, so import what training uses here (1-1.7 s, once timed).
            import sklearn.metrics  # noqa: F401
            import sklearn.model_selection  # noqa: F401

            import recsys.model  # noqa: F401
            import recsys.topics  # noqa: F401
        else:
            import sklearn.feature_extraction.text  # noqa: F401
        with open(input_path, "rb") as handle:
            data = pickle.load(handle)
        gc.collect()
        conn.send(("ready", _rss()))
        started, cpu0 = time.perf_counter(), time.process_time()
        info = STEPS[step](data)
        elapsed = time.perf_counter() - started
        info.update(seconds=elapsed, main_cpu=time.process_time() - cpu0,
                    module=sys.modules["recsys"].__file__ if "recsys" in sys.modules else None,
                    main_maxrss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        conn.send(("done", info))
        if bundle_path:
            _step_train.model.save(bundle_path)
            conn.send(("saved", bundle_path))
    except BaseException:  # noqa: BLE001 - reported to the parent, which fails loudly
        conn.send(("error", traceback.format_exc()))
    finally:
        _quit(conn)


def _quit(conn) -> None:
    """Leave at once. A multiprocessing child joins, at exit, every process it started,
    including joblib's idle loky workers, which only leave after a 300 s idle timeout;
    they notice their parent is gone and the parent process kills any that linger."""
    conn.close()
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    if loky is not None and loky._executor is not None:
        try:
            loky._executor.shutdown(wait=True, kill_workers=True)
        except Exception:  # noqa: BLE001 - the parent kills whatever is left
            pass
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _finish_child(proc) -> None:
    import psutil

    try:
        kids = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        kids = []
    proc.join(timeout=60)
    if proc.is_alive():
        proc.kill()
        proc.join()
    _, kids = psutil.wait_procs(kids, timeout=3)
    for kid in kids:  # idle workers and trackers of the finished step: nothing left to do
        try:
            kid.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(kids, timeout=5)
    for kid in alive:
        try:
            kid.kill()
        except psutil.NoSuchProcess:
            pass


def run_in_child(step: str, input_path: Path, bundle_path: Path | None = None) -> dict:
    ctx = mp.get_context("spawn")
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=_child, args=(step, str(input_path), str(bundle_path) if bundle_path else None, theirs))
    load_before = os.getloadavg()[0]
    proc.start()
    theirs.close()
    sampler = TreeSampler(proc.pid)
    sampler.start()
    result: dict = {"load1": load_before}
    try:
        while True:
            if not ours.poll(1.0):
                if not proc.is_alive():
                    raise RuntimeError(f"{step}: child exited with code {proc.exitcode} without reporting")
                continue
            kind, payload = ours.recv()
            if kind == "ready":
                result["input_rss"] = payload
                sampler.start_measuring()
            elif kind == "done":
                result["cpu"] = sampler.stop_measuring()
                result.update(payload)
                result["peak_rss"] = max(sampler.peak, payload["main_maxrss"])
                if not bundle_path:
                    break
            elif kind == "saved":
                break
            elif kind == "error":
                raise RuntimeError(f"{step} failed in its child process:\n{payload}")
    finally:
        sampler.halt.set()
        _finish_child(proc)
    return result


# --- serving: latency and throughput, in one warm process ----------------------------------

def _percentiles(samples: list[float]) -> dict:
    import numpy as np

    arr = np.array(samples) * 1e3
    return {"p50": float(np.percentile(arr, 50)), "p99": float(np.percentile(arr, 99)),
            "mean": float(arr.mean())}


def _latency(fn: Callable[[Any], Any], items: list, warmup: int) -> dict:
    for item in items[:warmup]:
        fn(item)
    times, cpu = [], []
    clock, cpu_clock = time.perf_counter, time.thread_time
    for item in items[warmup:]:
        c0 = cpu_clock()
        t0 = clock()
        fn(item)
        times.append(clock() - t0)
        cpu.append(cpu_clock() - c0)
    out = _percentiles(times)
    out["cpu_p50"] = _percentiles(cpu)["p50"]  # this thread's CPU: what contention does not inflate
    return out


def _serve_child(bundle: str, texts_path: str, n_queries: int, warmup: int, seed: int,
                 batch_rows: int, conn) -> None:
    try:
        conn.send(("result", _serve(bundle, texts_path, n_queries, warmup, seed, batch_rows)))
    except BaseException:  # noqa: BLE001
        conn.send(("error", traceback.format_exc()))
    finally:
        _quit(conn)


def _scipy_topk(scores, exclude: int | None, k: int = K):
    import numpy as np

    if exclude is not None:
        scores[exclude] = -np.inf
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top], kind="stable")]


def _serve(bundle: str, texts_path: str, n_queries: int, warmup: int, seed: int,
           batch_rows: int) -> dict:
    def note(message: str) -> None:
        say(f"    serving: {message}")

    import numpy as np
    from sklearn.neighbors import NearestNeighbors
    from sparse_dot_topn import sp_matmul_topn

    import recsys

    out: dict[str, Any] = {}
    rss0 = _rss()
    t0 = time.perf_counter()
    model = recsys.load_bundle(bundle)
    out["load_s"] = time.perf_counter() - t0
    out["serving_rss"] = _rss()
    out["model_rss"] = out["serving_rss"] - rss0
    X = model.index.matrix_
    ids = model.index.ids_
    n = len(ids)
    rng = np.random.default_rng(seed)
    rows = [int(r) for r in rng.choice(n, size=warmup + n_queries, replace=False)]
    with open(texts_path, "rb") as handle:
        texts, real_texts = (t[: warmup + n_queries] for t in pickle.load(handle))
    threads = os.cpu_count() or 1

    # Baselines share the index's own TF-IDF matrix; their set-up is not timed per query.
    t0 = time.perf_counter()
    Xt = X.T.tocsr()  # term-major: row t lists the articles holding term t
    out["termmajor_prep_s"] = time.perf_counter() - t0
    nn = NearestNeighbors(metric="cosine", algorithm="brute").fit(X)

    def scipy_row(r: int):
        q = X[r]
        return _scipy_topk(np.asarray(Xt[q.indices].T @ q.data).ravel(), r)

    def scipy_vec(q):
        return _scipy_topk(np.asarray(Xt[q.indices].T @ q.data).ravel(), None)

    lat: dict[str, dict] = {}
    note(f"loaded in {out['load_s']:.2f} s; single queries")
    lat["id/recsys"] = _latency(lambda r: model.related(ids[r], k=K), rows, warmup)
    lat["id/scipy"] = _latency(scipy_row, rows, warmup)
    # NearestNeighbors re-normalises the whole matrix on every call: fewer queries for it.
    nn_rows, nn_texts = rows[:NN_WARMUP + NN_QUERIES], texts[:NN_WARMUP + NN_QUERIES]
    lat["id/nn"] = _latency(lambda r: nn.kneighbors(X[r], n_neighbors=K + 1), nn_rows, NN_WARMUP)
    vectorize = model.vectorizer.transform

    def words_unseen() -> None:
        # The vectorizer keeps, per process, the column of every word it has met: the
        # archive's (shipped in the bundle) and those it analysed since. Each by-text
        # series starts as after loading: otherwise the series measured first pays for
        # analysing the texts' new words and leaves the others a warm cache (this once
        # made "vectorize + scipy" look as fast as recsys).
        model.vectorizer.warm()

    for key, ask, items, first in (
            ("text/recsys", lambda t: model.related_to(t, k=K), texts, warmup),
            ("text/real", lambda t: model.related_to(t, k=K), real_texts, warmup),
            ("text/vectorize", lambda t: vectorize([t]), texts, warmup),
            ("text/scipy", lambda t: scipy_vec(vectorize([t])), texts, warmup),
            ("text/nn", lambda t: nn.kneighbors(vectorize([t]), n_neighbors=K), nn_texts,
             NN_WARMUP)):
        words_unseen()
        lat[key] = _latency(ask, items, first)
    # Once more with every word of the texts already seen: a long-running worker.
    for text in texts:
        vectorize([text])
    lat["text/seen"] = _latency(lambda t: model.related_to(t, k=K), texts, warmup)
    out["latency"] = lat
    note(f"p50 by id {lat['id/recsys']['p50']:.2f} ms (scipy {lat['id/scipy']['p50']:.2f}, "
         f"nn {lat['id/nn']['p50']:.2f}), by text {lat['text/recsys']['p50']:.2f} ms")
    del nn
    gc.collect()

    # All-pairs top-10: every archived article (or a random sample of query rows against
    # the whole archive, when batch_rows < n; the per-row work does not depend on which
    # rows are asked, so the rate is comparable).
    brows = (np.arange(n) if batch_rows >= n
             else np.sort(rng.choice(n, size=batch_rows, replace=False)))
    m = len(brows)
    chunk = 2000 if n <= 30_000 else 1000 if n <= 120_000 else 500
    index = model.index
    threads_before = index.n_threads
    mean_len: list[int] = []

    def recsys_rows(part: np.ndarray, n_threads: int | None = threads_before) -> None:
        index.n_threads = n_threads
        results = list(model.related_batch([str(ids[r]) for r in part], k=K))
        index.n_threads = threads_before
        mean_len.extend(len(r.ids) for _, r in results)

    def scipy_rows(part: np.ndarray) -> None:
        for start in range(0, len(part), chunk):
            c = part[start:start + chunk]
            P = (X[c] @ XT).toarray()
            P[np.arange(len(c)), c] = -np.inf
            top = np.argpartition(-P, K, axis=1)[:, :K]
            order = np.argsort(-np.take_along_axis(P, top, axis=1), axis=1, kind="stable")
            np.take_along_axis(top, order, axis=1)
            del P

    def topn_rows(part: np.ndarray) -> None:
        for start in range(0, len(part), 2000):
            sp_matmul_topn(X[part[start:start + 2000]], XT, top_n=K + 1,
                           n_threads=None if threads == 1 else threads)

    # The machine's speed drifts by tens of percent within minutes: each method runs on
    # its share of the rows in every round, in a rotating order, so that all of them
    # meet the same drift and their ratio is fair. The baselines' term-major copy of the
    # archive is made once and counted in their time.
    t0, c0 = time.perf_counter(), time.process_time()
    XT = X.T.tocsr()
    prep = (time.perf_counter() - t0, time.process_time() - c0)
    methods: dict[str, Callable[[np.ndarray], None]] = {
        "recsys": recsys_rows, "scipy": scipy_rows, "topn11": topn_rows,
        "one_thread": lambda part: recsys_rows(part, 1)}
    batch: dict[str, dict] = {key: {"seconds": 0.0, "cpu": 0.0, "rows": m, "rounds": []}
                              for key in methods}
    for key in ("scipy", "topn11"):
        batch[key]["seconds"], batch[key]["cpu"] = prep
    batch["scipy"]["chunk"], batch["topn11"]["chunk"] = chunk, 2000
    note(f"all-pairs over {m:,} rows in {BATCH_ROUNDS} rounds: recsys and baselines")
    for round_no, part in enumerate(np.array_split(brows, BATCH_ROUNDS)):
        order = list(methods)[round_no % len(methods):] + list(methods)[:round_no % len(methods)]
        for key in order:
            t0, c0 = time.perf_counter(), time.process_time()
            methods[key](part)
            seconds = time.perf_counter() - t0
            batch[key]["seconds"] += seconds
            batch[key]["cpu"] += time.process_time() - c0
            batch[key]["rounds"].append(len(part) / seconds)
            gc.collect()
    batch["recsys"]["mean_len"] = float(np.mean(mean_len[:m]))
    rates = {key: m / figures["seconds"] for key, figures in batch.items()}
    note(f"recsys {rates['recsys']:,.0f}/s, scipy {rates['scipy']:,.0f}/s, "
         f"sparse_dot_topn {rates['topn11']:,.0f}/s")
    out["batch"] = batch
    out["n"] = n
    out["module"] = recsys.__file__
    out["serve_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out


def _first_load_child(bundle: str, conn) -> None:
    try:
        t0 = time.perf_counter()
        import recsys

        recsys.load_bundle(bundle)
        conn.send(("result", time.perf_counter() - t0))
    except BaseException:  # noqa: BLE001
        conn.send(("error", traceback.format_exc()))
    finally:
        _quit(conn)


def run_serve(bundle: Path, texts_path: Path, n_queries: int, warmup: int, seed: int,
              batch_rows: int) -> dict:
    ctx = mp.get_context("spawn")
    # A first process loads the bundle and so compiles the kernels into numba's cache
    # beside this run's copy of the code, as the first load after installing recsys
    # does; the serving process then loads as every later worker does.
    first_load = _await_child(ctx, _first_load_child, (str(bundle),))
    load_before = os.getloadavg()[0]
    payload = _await_child(ctx, _serve_child, (str(bundle), str(texts_path), n_queries, warmup,
                                               seed, batch_rows))
    payload["load1"] = (load_before + os.getloadavg()[0]) / 2
    payload["first_load_s"] = first_load
    return payload


def _await_child(ctx, target: Callable, args: tuple) -> Any:
    """Run ``target(*args, conn)`` in a fresh process and return what it reports."""
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=target, args=(*args, theirs))
    proc.start()
    theirs.close()
    try:
        while not ours.poll(1.0):
            if not proc.is_alive():
                raise RuntimeError(f"{target.__name__} exited with code {proc.exitcode}")
        kind, payload = ours.recv()
    finally:
        _finish_child(proc)
    if kind == "error":
        raise RuntimeError(f"{target.__name__} failed:\n{payload}")
    return payload


# --- cold command line ----------------------------------------------------------------------

def _recsys_command() -> list[str]:
    script = Path(sys.executable).parent / "recsys"
    if script.is_file():
        return [str(script)]
    found = shutil.which("recsys")
    if not found:
        raise SystemExit("the `recsys` command is not installed (pip install -e .)")
    return [found]


def _wall(cmd: list[str], runs: int, cwd: Path) -> dict:
    subprocess.run(cmd, capture_output=True, cwd=cwd)  # page cache warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, cwd=cwd)
        times.append(time.perf_counter() - t0)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.decode(errors='replace')[-2000:]}")
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def measure_cli(bundle: Path, ids: list[str], runs: int) -> dict:
    base = [*_recsys_command(), "recommend", "--model", str(bundle), "-k", str(K)]
    subprocess.run([*base, "--id", ids[0]], capture_output=True, cwd=bundle.parent)  # warm-up
    times = []
    for article_id in ids[:runs]:
        t0 = time.perf_counter()
        done = subprocess.run([*base, "--id", article_id], capture_output=True, cwd=bundle.parent)
        times.append(time.perf_counter() - t0)
        if done.returncode != 0 or not done.stdout.strip():
            raise RuntimeError(f"recsys recommend failed: {done.stderr.decode(errors='replace')[-2000:]}")
    out = {"recsys": {"median": statistics.median(times), "min": min(times), "max": max(times)}}
    py = sys.executable
    cwd = bundle.parent
    out["python -c 'import sklearn'"] = _wall([py, "-c", "import sklearn"], runs, cwd)
    out["python -c 'import recsys'"] = _wall([py, "-c", "import recsys"], runs, cwd)
    out["python -c pass"] = _wall([py, "-c", "pass"], runs, cwd)
    return out


def bundle_size(bundle: Path) -> dict:
    folder = Path(os.path.realpath(bundle))
    files = {p.name: p.stat().st_size for p in folder.iterdir() if p.is_file()}
    du = subprocess.run(["du", "-sk", str(folder)], capture_output=True, text=True)
    disk = int(du.stdout.split()[0]) * 1024 if du.returncode == 0 else sum(files.values())
    return {"apparent": sum(files.values()), "disk": disk, "files": files}


# --- report ---------------------------------------------------------------------------------

def machine() -> dict:
    import numpy
    import psutil
    import scipy
    import sklearn
    import sparse_dot_topn

    import recsys

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        sdt = sparse_dot_topn.__version__
    except AttributeError:
        from importlib.metadata import version

        sdt = version("sparse-dot-topn")
    return {"cpu": cpu, "cores": os.cpu_count(), "ram": psutil.virtual_memory().total,
            "python": platform.python_version(), "numpy": numpy.__version__,
            "scipy": scipy.__version__, "sklearn": sklearn.__version__, "recsys": recsys.__version__,
            "sparse_dot_topn": sdt, "platform": platform.platform()}


def table(header: list[str], rows: list[list[Any]]) -> str:
    def numeric(i: int) -> bool:
        return bool(rows) and all(re.match(r"^[\d.,\-–()×\s]+[a-zA-Z/% ]*$", str(r[i]).strip() or "0")
                                  for r in rows)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if numeric(i) else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def f(value: float, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def ratio(a: float, b: float) -> str:
    return "n/a" if not b else f"{a / b:.2f}×"


def paired_ratios(walls: list[float], base_walls: list[float]) -> str:
    """Each round's wall ratio, their mean and its 95% interval (Student's t), or "" for
    fewer than three rounds: the machine's pace drifts, and a round's two steps run
    minutes apart at most, so the paired ratios measure the speed difference better than
    either step's fastest run."""
    if len(walls) < 3 or len(walls) != len(base_walls):
        return ""
    import numpy as np
    from scipy import stats

    ratios = np.array(walls) / np.array(base_walls)
    half = stats.t.ppf(0.975, len(ratios) - 1) * ratios.std(ddof=1) / np.sqrt(len(ratios))
    return (", ".join(f"{v:.3f}" for v in ratios) + f"; mean {ratios.mean():.3f} "
            f"(95% interval {ratios.mean() - half:.3f}-{ratios.mean() + half:.3f}), "
            f"{int((ratios < 1).sum())} of {len(ratios)} rounds under 1")


def slope(xs: list[float], ys: list[float]) -> float | None:
    import numpy as np

    pts = [(x, y) for x, y in zip(xs, ys) if x and y and y > 0]
    if len(pts) < 2:
        return None
    lx, ly = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(lx, ly, 1)[0])


LATENCY_BASELINES = {
    "id": [("scipy", "scipy term-major product + argpartition"),
           ("nn", "sklearn NearestNeighbors(cosine, brute).kneighbors")],
    "text": [("scipy", "recsys vectorize + scipy term-major product + argpartition"),
             ("nn", "recsys vectorize + sklearn NearestNeighbors.kneighbors"),
             ("vectorize", "recsys vectorizer.transform alone (no search)"),
             ("seen", "recsys itself, every word of the texts seen before (a long-running "
                      "worker; attribution, not a baseline)"),
             ("real", "recsys itself on real articles' texts, each with the invented words "
                      "(a real article's make-up; attribution, not a baseline)")],
}
BATCH_ROUNDS = 4  # all-pairs methods alternate over this many shares of the rows
BATCH_BASELINES = [("scipy", "scipy X[chunk] @ X.T + argpartition (1 thread)"),
                   ("topn11", "sparse_dot_topn sp_matmul_topn top-11 (all cores)"),
                   ("one_thread", "recsys itself on 1 thread (attribution, not a baseline)")]


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def report(args: argparse.Namespace, info: dict, runs: list[dict], started: float,
           loads: tuple, date: str) -> str:
    out: list[str] = []
    add = out.append
    add("# recsys benchmarks\n")
    add(f"Command: `{' '.join(['python', 'benchmarks/run.py', *sys.argv[1:]])}`  ")
    add(f"Date: {date}  ")
    add(f"Duration: {(time.perf_counter() - started) / 60:.1f} min  ")
    add(f"Load average (1/5/15 min) at start: {loads[0]}, at end: {loads[1]}  ")
    add("Data: the 60,502 real articles of ../shared/data (" + ", ".join(CORPORA) + "); sizes below "
        "60,502 are random samples of them, larger sizes add articles recombined from real "
        "ones (title of one + sentences of 2-3 articles of the same source).\n")
    add("## Machine\n")
    add(table(["item", "value"], [
        ["CPU", info["cpu"]], ["cores (os.cpu_count)", info["cores"]],
        ["RAM", f"{info['ram'] / 1e9:.1f} GB"], ["platform", info["platform"]],
        ["Python", info["python"]], ["numpy", info["numpy"]], ["scipy", info["scipy"]],
        ["scikit-learn", info["sklearn"]], ["sparse-dot-topn", info["sparse_dot_topn"]],
        ["recsys", f"{info['recsys']} (commit {info['code']['commit']}"
                   f"{', with uncommitted changes to recsys/ or cli.py' if info['code']['dirty'] else ''}; "
                   "measured from a copy taken at the start of the run)"],
    ]))
    add("\nOther jobs may share the machine: the `load` columns give the 1-minute load "
        "average when each measurement started (2 cores: a load above ~1 means contention).\n")

    add("## Data\n")
    add(table(["size", "real", "recombined", "vocabulary (recsys)", "nnz (recsys)", "nnz/article",
               "nnz (sklearn TF-IDF)"],
              [[f"{r['n']:,}", f"{r['real']:,}", f"{r['synthetic']:,}",
                f"{r['train']['vocabulary']:,}", f"{r['train']['nnz']:,}",
                f"{r['train']['nnz'] / r['n']:.0f}", f"{r['tfidf']['nnz']:,}"] for r in runs]))

    add("\n## Training: time and peak memory (each step in a fresh process)\n")
    add("Peak RSS is the largest sum of resident memory over the step's process and all its "
        "worker processes, sampled every 20 ms (and never below the main process's "
        "ru_maxrss); it includes the input articles already in memory (\"input\"). CPU is "
        "user+system seconds of the whole process tree during the step. Ratios are "
        "recsys ÷ baseline (below 1× = recsys faster / smaller)."
        + (f" Each step ran {args.train_repeats} times, the steps taking turns; the figures "
           "are each step's fastest run, and \"all walls\" lists every run."
           if getattr(args, "train_repeats", 1) > 1 else "") + "\n")
    rows = []

    def wall(step: dict) -> str:
        walls = step.get("walls", [])
        return f(step["seconds"]) + (f" (all walls {', '.join(f(w) for w in walls)})"
                                     if len(walls) > 1 else "")

    for r in runs:
        base = r["tfidf"]
        for key, label in (("train", "recsys NewsModel.train"),
                           ("vectorize", "recsys ArticleVectorizer.fit_transform")):
            m = r[key]
            rows.append([f"{r['n']:,}", label, wall(m), f(m["cpu"]),
                         f(m["peak_rss"] / MB, 0), f(m["input_rss"] / MB, 0),
                         "sklearn TfidfVectorizer.fit_transform", wall(base), f(base["cpu"]),
                         f(base["peak_rss"] / MB, 0), f(base["input_rss"] / MB, 0),
                         ratio(m["seconds"], base["seconds"]), ratio(m["cpu"], base["cpu"]),
                         ratio(m["peak_rss"], base["peak_rss"]), f(m["load1"]), f(base["load1"])])
    add(table(["size", "recsys step", "wall s", "CPU s", "peak RSS MB", "input MB", "baseline",
               "baseline wall s", "baseline CPU s", "baseline peak MB", "baseline input MB",
               "wall ratio", "CPU ratio", "memory ratio", "load", "baseline load"], rows))
    for r in runs:
        paired = paired_ratios(r["train"].get("walls", []), r["tfidf"].get("walls", []))
        if paired:
            add(f"\n{r['n']:,} articles, `NewsModel.train` ÷ baseline in each round: {paired}\n")

    add("\n## Single-query latency (warm, in-process, k=10)\n")
    add(f"{args.queries} random queries after {args.warmup} warm-up queries ({NN_QUERIES} after "
        f"{NN_WARMUP} for NearestNeighbors), on the bundle "
        "loaded with recsys.load_bundle (the TF-IDF matrix memory-mapped, as in a web worker). "
        "By id: `model.related(id, k=10)`; by text: `model.related_to((title, body), k=10)` "
        "on new texts recombined from real ones (and, in the row so marked, on real articles' texts, "
        "which hold fewer distinct terms). Baselines search the same TF-IDF matrix "
        "(model.index.matrix_) and return a plain top-10; recsys also re-scores, drops copies "
        "and de-duplicates. Ratio = recsys p50 ÷ baseline p50. \"CPU p50\" is the median CPU time of "
        "the querying thread per query, which other jobs on the machine do not inflate. Each "
        "by-text series starts with the vectorizer's word table as after loading (the archive's "
        f"words), so it includes analysing the {NEW_WORDS_PER_TEXT} invented words of each text.\n")
    rows = []
    for r in runs:
        lat = r["serve"]["latency"]
        for kind in ("id", "text"):
            mine = lat[f"{kind}/recsys"]
            for key, label in LATENCY_BASELINES[kind]:
                if f"{kind}/{key}" not in lat:
                    continue  # a run from before this figure was measured (--from-json)
                b = lat[f"{kind}/{key}"]
                rows.append([f"{r['n']:,}", kind, f(mine["p50"], 3), f(mine["p99"], 3),
                             f(mine.get("cpu_p50"), 3), label, f(b["p50"], 3), f(b["p99"], 3),
                             f(b.get("cpu_p50"), 3), ratio(mine["p50"], b["p50"]),
                             f(r["serve"]["load1"])])
    add(table(["size", "query by", "recsys p50 ms", "recsys p99 ms", "recsys CPU p50 ms", "baseline",
               "baseline p50 ms", "baseline p99 ms", "baseline CPU p50 ms", "ratio p50", "load"], rows))

    add("\n## All-pairs top-10 throughput\n")
    add("recsys: `list(model.related_batch(k=10))` (the single-query code, compiled kernels, "
        "rows spread over threads on all cores). Articles/s = query rows ÷ wall "
        "seconds; where \"rows\" is below the size, that many random archive rows were "
        "queried against the whole archive. The rows are split into "
        f"{BATCH_ROUNDS} shares and every method runs on each share in turn, in a rotating "
        "order, so that all meet the machine's drift alike; the brackets give the range over "
        "the shares. CPU s: process CPU seconds (all threads) for those "
        "rows. Ratio = recsys ÷ baseline articles/s (above 1× = recsys faster).\n")
    rows = []

    def rate(figures: dict) -> str:
        rounds = figures.get("rounds")  # runs before the rounds were introduced have none
        spread = f" ({f(min(rounds), 0)}–{f(max(rounds), 0)})" if rounds else ""
        return f(figures["rows"] / figures["seconds"], 0) + spread

    for r in runs:
        b = r["serve"]["batch"]
        mine = b["recsys"]["rows"] / b["recsys"]["seconds"]
        for key, label in BATCH_BASELINES:
            theirs = b[key]["rows"] / b[key]["seconds"]
            extra = f" (chunk {b[key]['chunk']})" if key == "scipy" else ""
            rows.append([f"{r['n']:,}", f"{b['recsys']['rows']:,}", rate(b["recsys"]),
                         f(b["recsys"].get("cpu", math.nan)), label + extra, rate(b[key]),
                         f(b[key].get("cpu", math.nan)), ratio(mine, theirs), f(r["serve"]["load1"])])
    add(table(["size", "rows", "recsys articles/s (per round)", "recsys CPU s", "baseline",
               "baseline articles/s (per round)", "baseline CPU s", "ratio", "load"], rows))

    add("\n## Cold command line and bundle\n")
    add(f"Wall time of a whole process, median of {args.cli_runs} runs (min–max), after one "
        "untimed run so the files are in the page cache: `recsys recommend --model DIR --id ID "
        "-k 10` against baselines that only start Python and import. load_bundle is the "
        "in-process load time of a web worker (manifest, checksums, unpickling, index, word "
        "table, kernels loaded from numba's cache); first load is the same in the first "
        "process after installing recsys, which compiles the kernels into that cache. "
        "Bundle size: the versioned bundle directory (apparent bytes; du in brackets).\n")
    rows = []
    for r in runs:
        cli = r["cli"]
        # The columns that do not depend on the baseline: loading, bundle, memory.
        serving = [f(r["serve"]["load_s"], 3), f(r["serve"].get("first_load_s", math.nan), 3),
                   f"{f(r['bundle']['apparent'] / MB, 1)} ({f(r['bundle']['disk'] / MB, 1)})",
                   f(r["serve"]["serving_rss"] / MB, 0)]
        if "error" in cli:
            rows.append([f"{r['n']:,}", "failed: " + cli["error"], "", "", "", *serving])
            continue
        mine = cli["recsys"]
        for key in ("python -c 'import sklearn'", "python -c 'import recsys'", "python -c pass"):
            b = cli[key]
            rows.append([f"{r['n']:,}", f"{f(mine['median'], 3)} ({f(mine['min'], 3)}–{f(mine['max'], 3)})",
                         f"`{key}`", f"{f(b['median'], 3)} ({f(b['min'], 3)}–{f(b['max'], 3)})",
                         ratio(mine["median"], b["median"]), *serving])
    add(table(["size", "recsys recommend s", "baseline", "baseline s", "ratio", "load_bundle s",
               "first load s", "bundle MB", "serving RSS MB"], rows))
    shown = {min(runs, key=lambda r: abs(r["n"] - 60_000))["n"], runs[-1]["n"]}
    for r in runs:
        if r["n"] in shown:
            files = r["bundle"]["files"]
            add(f"\nBundle files at {r['n']:,} articles (MB): " + ", ".join(
                f"{name} {size / MB:.1f}" for name, size in sorted(files.items(), key=lambda kv: -kv[1])
                if size >= 0.05 * MB) + ".")

    add("\n## Growth\n")
    ns = [r["n"] for r in runs]
    if len(runs) < 2:
        add("One size only: no growth exponent (run without --quick).")
    else:
        add("Exponent b of a least-squares fit time ∝ size^b (log-log) over the sizes "
            f"{', '.join(f'{n:,}' for n in ns)}. b = 1 is linear; for throughput, b = 0 means the "
            "rate holds as the archive grows and b = -1 means each article costs time "
            "proportional to the archive.\n")
        def series(get: Callable[[dict], float]) -> list[float]:
            return [get(r) for r in runs]
        rows = []
        metrics = [
            ("training time", lambda r: r["train"]["seconds"], "TfidfVectorizer.fit_transform",
             lambda r: r["tfidf"]["seconds"]),
            ("training CPU s", lambda r: r["train"]["cpu"], "TfidfVectorizer.fit_transform",
             lambda r: r["tfidf"]["cpu"]),
            ("query p50 by id", lambda r: r["serve"]["latency"]["id/recsys"]["p50"], "scipy term-major",
             lambda r: r["serve"]["latency"]["id/scipy"]["p50"]),
            ("query CPU p50 by id", lambda r: r["serve"]["latency"]["id/recsys"].get("cpu_p50"),
             "scipy term-major", lambda r: r["serve"]["latency"]["id/scipy"].get("cpu_p50")),
            ("query p50 by text", lambda r: r["serve"]["latency"]["text/recsys"]["p50"],
             "vectorize + scipy", lambda r: r["serve"]["latency"]["text/scipy"]["p50"]),
            ("all-pairs articles/s", lambda r: r["serve"]["batch"]["recsys"]["rows"] / r["serve"]["batch"]["recsys"]["seconds"],
             "scipy X[chunk] @ X.T", lambda r: r["serve"]["batch"]["scipy"]["rows"] / r["serve"]["batch"]["scipy"]["seconds"]),
            ("peak training RSS", lambda r: r["train"]["peak_rss"], "TfidfVectorizer",
             lambda r: r["tfidf"]["peak_rss"]),
            ("bundle size", lambda r: r["bundle"]["apparent"], "—", lambda r: None),
        ]
        for name, mine, label, theirs in metrics:
            values = series(mine)
            others = series(theirs)
            if any(v is None for v in values):
                continue
            b_mine = slope(ns, values)
            b_theirs = slope(ns, others) if all(o is not None for o in others) else None
            rows.append([name, " → ".join(f(v if name not in ("peak training RSS", "bundle size") else v / MB)
                                          for v in values),
                         f(b_mine) if b_mine is not None else "n/a", label,
                         f(b_theirs) if b_theirs is not None else "n/a"])
        add(table(["figure", "recsys values (s, ms, /s or MB)", "recsys exponent", "baseline",
                   "baseline exponent"], rows))

    add("\n## Targets (2-core machine, 60k articles)\n")
    target_run = min(runs, key=lambda r: abs(r["n"] - 60_000))
    if abs(target_run["n"] - 60_000) > 6000:
        add(f"**No 60k run here: targets checked at {target_run['n']:,} articles, which says "
            "little about 60k.**\n")
    t = target_run
    lat = t["serve"]["latency"]
    batch_rate = t["serve"]["batch"]["recsys"]["rows"] / t["serve"]["batch"]["recsys"]["seconds"]
    checks = [
        ("training no slower than TfidfVectorizer().fit_transform",
         f"{f(t['train']['seconds'])} s vs {f(t['tfidf']['seconds'])} s wall "
         f"({ratio(t['train']['seconds'], t['tfidf']['seconds'])}); CPU {f(t['train']['cpu'])} s vs "
         f"{f(t['tfidf']['cpu'])} s",
         t["train"]["seconds"] <= t["tfidf"]["seconds"]),
        ("single query p50 ≤ 1 ms (by id)", f"{f(lat['id/recsys']['p50'], 3)} ms "
         f"(CPU {f(lat['id/recsys'].get('cpu_p50'), 3)} ms)",
         lat["id/recsys"]["p50"] <= TARGETS["query_p50_ms"]),
        ("single query p50 ≤ 1 ms (by new text)", f"{f(lat['text/recsys']['p50'], 3)} ms "
         f"(CPU {f(lat['text/recsys'].get('cpu_p50'), 3)} ms)",
         lat["text/recsys"]["p50"] <= TARGETS["query_p50_ms"]),
        ("all-pairs top-10 ≥ 2,000 articles/s", f"{f(batch_rate, 0)} articles/s",
         batch_rate >= TARGETS["batch_per_s"]),
        ("cold `recommend` ≤ 1 s",
         f"{f(t['cli']['recsys']['median'], 3)} s" if "recsys" in t["cli"] else "failed",
         "recsys" in t["cli"] and t["cli"]["recsys"]["median"] <= TARGETS["cli_s"]),
        ("peak training memory ≤ 2 GB", f"{f(t['train']['peak_rss'] / MB, 0)} MB",
         t["train"]["peak_rss"] <= TARGETS["train_peak_mb"] * MB),
        ("bundle ≤ 150 MB", f"{f(t['bundle']['apparent'] / MB, 1)} MB",
         t["bundle"]["apparent"] <= TARGETS["bundle_mb"] * MB),
    ]
    add(table(["target", f"measured at {t['n']:,}", "met"],
              [[name, value, "**yes**" if ok else "**NO**"] for name, value, ok in checks]))
    return "\n".join(out) + "\n"


# --- main -------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="15000,60000,240000",
                        help="comma-separated archive sizes (default: %(default)s); a size "
                             "within 2%% of 60,502 means all real articles")
    parser.add_argument("--quick", action="store_true",
                        help="15k articles only, for development (a few minutes)")
    parser.add_argument("--queries", type=int, default=300, help="timed single queries per kind")
    parser.add_argument("--warmup", type=int, default=30, help="untimed warm-up queries per kind")
    parser.add_argument("--cli-runs", type=int, default=5, help="timed cold `recommend` runs")
    parser.add_argument("--batch-rows", type=int, default=None,
                        help="query rows for all-pairs throughput, random rows against the whole "
                             "archive (default: 20,000 up to 60,502 articles, 10,000 above; "
                             "capped at the archive size)")
    parser.add_argument("--train-repeats", type=int, default=1,
                        help="run the training steps (baseline included) this many times each, "
                             "taking turns, and keep each one's fastest (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None,
                        help=f"markdown report file (default: {RESULTS.relative_to(ROOT)}; "
                             "with --quick, none unless given)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (bundles)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw figures as JSON")
    parser.add_argument("--from-json", type=Path, default=None,
                        help="render the report of an earlier --json file (no measuring)")
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(args.from_json.read_text("utf-8"))
        sys.argv = saved["argv"]
        text = report(argparse.Namespace(**saved["args"]), saved["info"], saved["runs"],
                      time.perf_counter() - saved["seconds"], tuple(saved["loads"]),
                      saved["date"])
        print(text)
        if args.out:
            args.out.write_text(text, encoding="utf-8")
        return 0
    sizes = [15_000] if args.quick else [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if not sizes or min(sizes) < 100:
        parser.error("sizes must be at least 100 articles")
    out_path = args.out.resolve() if args.out is not None else (None if args.quick else RESULTS)
    if args.json is not None:
        args.json = args.json.resolve()

    data_dir = find_data()
    started = time.perf_counter()
    load_start = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    work = Path(tempfile.mkdtemp(prefix="recsys-bench-"))
    say(f"work directory {work}")
    runs = []
    try:
        code = snapshot_library(work)
        info = machine() | {"code": code}
        say("reading the real corpora")
        real = read_real(data_dir)
        say(f"{len(real):,} real articles")
        n_texts = args.queries + args.warmup
        texts = (make_query_texts(real, n_texts, args.seed), real_query_texts(real, n_texts, args.seed))
        texts_path = work / "query_texts.pkl"
        with open(texts_path, "wb") as handle:
            pickle.dump(texts, handle, protocol=pickle.HIGHEST_PROTOCOL)
        for size in sorted(sizes):
            archive, n_real, n_synth = build_archive(real, size, args.seed)
            n = len(archive)
            say(f"size {n:,} ({n_real:,} real + {n_synth:,} recombined)")
            art_path, txt_path = work / f"articles_{n}.pkl", work / f"texts_{n}.pkl"
            with open(art_path, "wb") as handle:
                pickle.dump(archive, handle, protocol=pickle.HIGHEST_PROTOCOL)
            with open(txt_path, "wb") as handle:
                pickle.dump([f"{a.title}\n{a.body}" for a in archive], handle,
                            protocol=pickle.HIGHEST_PROTOCOL)
            cli_ids = [a.id for a in random.Random(args.seed).sample(archive, args.cli_runs)]
            del archive
            gc.collect()
            run: dict[str, Any] = {"n": n, "real": n_real, "synthetic": n_synth}
            bundle = work / f"model_{n}"
            steps = {"tfidf": ("baseline: sklearn TfidfVectorizer().fit_transform", txt_path, None),
                     "vectorize": ("recsys ArticleVectorizer().fit_transform", art_path, None),
                     "train": ("recsys NewsModel.train (then save)", art_path, bundle)}
            # With repeats, the steps take turns (in a rotating order) and each keeps its
            # fastest run: the machine's drift then slows baseline and recsys alike.
            tries: dict[str, list[dict]] = {key: [] for key in steps}
            for repeat in range(args.train_repeats):
                order = list(steps)[repeat % 3:] + list(steps)[:repeat % 3]
                for key in order:
                    label, path, out = steps[key]
                    say(f"  {label}" + (f" (run {repeat + 1})" if args.train_repeats > 1 else ""))
                    tries[key].append(run_in_child(key, path, out))
                    say(f"    {tries[key][-1]['seconds']:.1f} s, peak "
                        f"{tries[key][-1]['peak_rss'] / MB:,.0f} MB")
            for key, results in tries.items():
                run[key] = min(results, key=lambda r: r["seconds"]) | {
                    "walls": [r["seconds"] for r in results]}
            run["bundle"] = bundle_size(bundle)
            batch_rows = args.batch_rows if args.batch_rows is not None else (20_000 if n <= 61_800 else 10_000)
            say(f"  serving: latency and all-pairs throughput ({min(batch_rows, n):,} rows)")
            run["serve"] = run_serve(bundle, texts_path, args.queries, args.warmup, args.seed,
                                     min(batch_rows, n))
            lat = run["serve"]["latency"]
            say(f"    p50 by id {lat['id/recsys']['p50']:.3f} ms, by text {lat['text/recsys']['p50']:.3f} ms, "
                f"batch {run['serve']['batch']['recsys']['rows'] / run['serve']['batch']['recsys']['seconds']:,.0f}/s")
            say("  cold command line")
            try:
                run["cli"] = measure_cli(bundle, cli_ids, args.cli_runs)
                say(f"    recommend {run['cli']['recsys']['median']:.3f} s")
            except RuntimeError as exc:
                say(f"    FAILED: {exc}")
                run["cli"] = {"error": str(exc).splitlines()[-1][:200]}
            for path in (art_path, txt_path):
                path.unlink()
            if not args.keep:
                for p in bundle.parent.glob(f"{bundle.name}*"):
                    shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
                for p in bundle.parent.glob(f".{bundle.name}.*"):
                    shutil.rmtree(p, ignore_errors=True)
            for part in ("vectorize", "train", "serve"):
                module = run[part].get("module") or ""
                if not module.startswith(code["path"]):
                    say(f"  WARNING: {part} imported recsys from {module}, not the snapshot")
            runs.append(run)
    finally:
        os.chdir(ROOT)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"kept {work}")
    load_end = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    date = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    text = report(args, info, runs, started, (load_start, load_end), date)
    print(text)
    if args.json:
        plain = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        args.json.write_text(json.dumps({"argv": sys.argv, "args": plain, "info": info, "runs": runs,
                                         "seconds": time.perf_counter() - started,
                                         "loads": [load_start, load_end], "date": date},
                                        default=_plain), encoding="utf-8")
    if out_path is not None:
        out_path.write_text(text, encoding="utf-8")
        say(f"wrote {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
