#!/usr/bin/env python
"""Where recsys spends its time: cProfile of one benchmark step on the real corpora.

    python benchmarks/profile_recsys.py --size 60000 --what train
    python benchmarks/profile_recsys.py --size 60000 --what count     # what the fit workers do
    python benchmarks/profile_recsys.py --size 60000 --what query --model /tmp/m   # reuse a bundle
    python benchmarks/profile_recsys.py --size 60000 --what batch --rows 5000
    python benchmarks/profile_recsys.py --size 60000 --what load      # cold `recommend` pieces
    python benchmarks/profile_recsys.py --size 60000 --what memory    # peak RSS per training stage

Archives are built as in run.py (same seed, same sizes). Without ``--model``, steps
other than ``train`` and ``count`` first train a model (not profiled) and save it under
the system temporary directory, printing its path for reuse with ``--model``. Prints
the top functions by cumulative and by own time; ``--save FILE`` keeps the raw stats
for snakeviz or pstats.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (benchmarks/run.py)


def show(profile: cProfile.Profile, top: int, save: Path | None) -> None:
    if save:
        profile.dump_stats(save)
    for key in ("cumulative", "tottime"):
        buffer = io.StringIO()
        stats = pstats.Stats(profile, stream=buffer).strip_dirs().sort_stats(key)
        stats.print_stats(top)
        print(f"\n===== by {key} =====")
        print("\n".join(line for line in buffer.getvalue().splitlines() if line.strip())[:20000])


def profile_calls(profile: cProfile.Profile, call, queries: list, warmup: int = 30) -> None:
    """``call(query, k=10)`` for each query, profiling all but the first ``warmup``."""
    for query in queries[:warmup]:
        call(query, k=10)
    profile.enable()
    for query in queries[warmup:]:
        call(query, k=10)
    profile.disable()


def memory_by_stage(archive: list) -> int:
    """Peak resident memory (this process and its workers) during each stage that
    ``NewsModel.train`` announces through its progress callback."""
    import gc

    import recsys

    gc.collect()
    sampler = bench.TreeSampler(os.getpid(), interval=0.01)
    sampler.start()
    stages: list[list] = []

    def stage(name: str) -> None:
        if stages:
            stages[-1][2] = sampler.peak
            stages[-1][3] = time.perf_counter() - stages[-1][3]
        sampler.start_measuring()
        stages.append([name, sampler.peak, 0, time.perf_counter()])

    base = bench._rss()
    stage("start (input held)")
    model = recsys.NewsModel.train(archive, progress=stage)
    stage("done")
    stages.pop()
    sampler.halt.set()
    print(f"input articles held: {base / 1e6:,.0f} MB")
    print("| stage | peak RSS MB | seconds |\n|---|---:|---:|")
    for name, _, peak, seconds in stages:
        print(f"| {name} | {peak / 1e6:,.0f} | {seconds:.1f} |")
    X = model.index.matrix_
    print(f"TF-IDF matrix {X.shape}, nnz {X.nnz:,}: {(X.data.nbytes + X.indices.nbytes) / 1e6:,.0f} MB; "
          f"postings (CSC copy) {(model.index.postings_.data.nbytes + model.index.postings_.indices.nbytes) / 1e6:,.0f} MB")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=60_000)
    parser.add_argument("--what", choices=("train", "count", "query", "text", "batch", "load", "memory"),
                        default="train")
    parser.add_argument("--model", type=Path, help="an existing bundle of this archive")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rows", type=int, default=5000, help="query rows for --what batch")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", type=Path)
    args = parser.parse_args()

    import numpy as np

    import recsys

    data_dir = bench.find_data()
    need_articles = args.what in ("train", "count", "memory") or args.model is None
    if need_articles:
        real = bench.read_real(data_dir)
        archive, _, _ = bench.build_archive(real, args.size, args.seed)
        print(f"{len(archive):,} articles", file=sys.stderr)
    profile = cProfile.Profile()

    if args.what == "train":
        profile.enable()
        recsys.NewsModel.train(archive)
        profile.disable()
        return show(profile, args.top, args.save) or 0
    if args.what == "memory":
        return memory_by_stage(archive)
    if args.what == "count":
        # What one counting process does with its shares: clean bodies (prepare), cut
        # the heads, analyse and count; here on one process, over the whole archive.
        from recsys.counting import CountedArticle
        from recsys.features import ArticleVectorizer, TermCounter, article_fields, site_of

        vectorizer = ArticleVectorizer()
        titles, bodies = article_fields(archive)
        sites = [site_of(a) for a in archive]
        vectorizer._learn_boilerplate(bodies, sites)
        levels = (vectorizer.lead_blend_chars, 1200)
        counter = TermCounter(vectorizer.analyzer or recsys.ArabicAnalyzer(), n_jobs=1)
        profile.enable()
        counter._counter().count_part(list(zip(titles, bodies, sites)), None, True,
                                      CountedArticle(vectorizer._cleaner(), levels), "profile")
        profile.disable()
        return show(profile, args.top, args.save) or 0

    bundle = args.model
    if bundle is None:
        bundle = Path(tempfile.mkdtemp(prefix="recsys-profile-")) / "model"
        started = time.perf_counter()
        recsys.NewsModel.train(archive).save(bundle)
        print(f"trained in {time.perf_counter() - started:.0f} s; bundle {bundle} "
              "(reuse with --model)", file=sys.stderr)
    if args.what == "load":
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import cli"],
                              capture_output=True, text=True, cwd=tempfile.gettempdir())
        lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")][1:]
        rows = sorted(((int(line.split("|")[1]), line.split("|")[2].rstrip()) for line in lines),
                      reverse=True)
        print("===== slowest imports of `import cli` (cumulative µs) =====")
        for micros, name in rows[:25]:
            print(f"{micros:>10,}  {name}")
        profile.enable()
        model = recsys.load_bundle(bundle, lazy=True)  # as `recsys recommend` loads it
        model.related(str(model.index.ids_[0]), k=10)
        profile.disable()
        return show(profile, args.top, args.save) or 0

    model = recsys.load_bundle(bundle)
    rng = np.random.default_rng(args.seed)
    ids = model.index.ids_
    if args.what == "query":
        picks = [str(ids[r]) for r in rng.choice(len(ids), size=args.queries + 30, replace=False)]
        profile_calls(profile, model.related, picks)
    elif args.what == "text":
        if not need_articles:
            real = bench.read_real(data_dir)
        profile_calls(profile, model.related_to, bench.make_query_texts(real, args.queries + 30, args.seed))
    else:  # batch
        rows = np.sort(rng.choice(len(ids), size=min(args.rows, len(ids)), replace=False))
        picks = [str(ids[r]) for r in rows]
        started = time.perf_counter()
        profile.enable()
        list(model.related_batch(picks, k=10))
        profile.disable()
        print(f"{len(picks) / (time.perf_counter() - started):,.0f} articles/s under the profiler",
              file=sys.stderr)
    show(profile, args.top, args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
