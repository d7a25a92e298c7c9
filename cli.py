"""recsys command line: train, classify, recommend, export, add, evaluate, info.

A thin layer: parse options, call the library, print. Expected failures (bad input, a
missing bundle, an unknown id) print one line on stderr and exit with code 1.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

import recsys
from recsys import Article, NewsModel, RecsysError

if TYPE_CHECKING:  # the evaluation and topic modules import scikit-learn: only where used
    from recsys import TopicPrediction

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Topics and related articles for Arabic news.")

DEFAULT_OUT = Path("artifacts/model")


class OnError(str, Enum):
    fail = "fail"
    skip = "skip"


class TableOrJson(str, Enum):
    table = "table"
    json = "json"


class TableOrJsonl(str, Enum):
    table = "table"
    jsonl = "jsonl"


class Backend(str, Enum):
    local = "local"
    dask = "dask"


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


def friendly_errors(command: Callable) -> Callable:
    """Turn the library's expected errors into one line on stderr and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except typer.Exit:  # click's Exit is a RuntimeError: let it through untouched
            raise
        except BrokenPipeError:
            # The reader went away (`recsys recommend ... | head`): nothing to report. Point
            # stdout at /dev/null so that the interpreter's last flush does not fail again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(code=141) from None  # a shell's status for a writer cut off by SIGPIPE
        except (RecsysError, ValueError, OSError, RuntimeError) as exc:
            _fail(str(exc) or type(exc).__name__)
        except KeyboardInterrupt:
            typer.echo("interrupted; nothing was saved", err=True)
            raise typer.Exit(code=130) from None

    return wrapper


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _stage_printer() -> Callable[[str], None]:
    started = time.perf_counter()

    def say(message: str) -> None:
        _say(f"[{time.perf_counter() - started:6.1f}s] {message}")

    return say


def _report_skips(path: Path, result: recsys.ReadResult) -> None:
    if result.skipped:
        _say(f"{path}: skipped {len(result.skipped)} bad record(s); first: {result.skipped[0]}")
    if result.truncated:
        _say(f"{path}: {len(result.truncated)} article(s) longer than "
             f"{recsys.corpus.MAX_BODY_CHARS:,} characters were cut (first: {result.truncated[0]})")


def _read_corpora(paths: Iterable[Path], on_error: OnError) -> list[Article]:
    articles: list[Article] = []
    earlier: dict[str, str] = {}  # ids across files: a repeat is a duplicate, named with both places
    for path in paths:
        result = recsys.read_articles(path, on_error=on_error.value, earlier_ids=earlier)
        _report_skips(path, result)
        articles.extend(result.articles)
    return articles


def _read_text_file(path: Path) -> Article:
    cut: list[str] = []
    article = recsys.read_text_file(path, truncated=cut)
    if cut:
        _say(f"{path}: the article is longer than {recsys.corpus.MAX_BODY_CHARS:,} characters "
             "and was cut")
    return article


def _articles(n: int) -> str:
    return f"{n:,} article" if n == 1 else f"{n:,} articles"


def _load(model_dir: Path, *, lazy: bool = False) -> NewsModel:
    return recsys.load_bundle(model_dir, lazy=lazy)


# --- train / add ---------------------------------------------------------------------------

@app.command()
@friendly_errors
def train(
    corpus: Annotated[Optional[list[Path]], typer.Option(
        "--corpus", help="JSON Lines / CSV file (optionally .gz) or folder of .txt/.html; "
                         "repeatable. Default: the shipped corpus.")] = None,
    labels: Annotated[Optional[Path], typer.Option(
        help="Editors' labels: {id, topic} lines, or full articles with topic.")] = None,
    out: Annotated[Path, typer.Option(help="Bundle directory to write.")] = DEFAULT_OUT,
    on_error: Annotated[OnError, typer.Option(help="Bad records: fail, or skip and count.")] = OnError.fail,
    phrases: Annotated[bool, typer.Option(
        "--phrases/--no-phrases", help="Also score related lists by rare phrases: better "
                                       "same-story lists on real news; without them training "
                                       "is 2-4% shorter and the bundle a fifth smaller.")] = True,
) -> None:
    """Train topics and the related-articles index on a corpus and save a bundle."""
    say = _stage_printer()
    paths = corpus or [recsys.default_corpus_path()]
    archive = _read_corpora(paths, on_error)
    if labels is not None:  # read every input before saying anything: an error is one line
        result = recsys.read_labels(labels, on_error=on_error.value)
        _report_skips(labels, result)
        archive, problems = recsys.apply_labels(archive, result.articles, on_error=on_error.value)
        for problem in problems:
            _say(f"skipped: {labels}: {problem}")
    say(f"read {len(archive):,} articles from {len(paths)} corpus file(s)"
        + (f" and labels from {labels}" if labels is not None else ""))
    # With phrases, the vectorizer's defaults (NewsModel.train's own): not restated here.
    vectorizer = None if phrases else recsys.ArticleVectorizer(phrase_docs=None)
    model = NewsModel.train(archive, vectorizer=vectorizer, progress=say)
    say(f"saving bundle to {out}")
    version = model.save(str(out))
    counts = model.info["counts"]
    metrics = model.info["metrics"]
    written = not counts["labelled"] or (corpus is None and labels is None)  # default corpus alone
    if counts["labelled"]:
        by_topic = ", ".join(f"{t} {n}" for t, n in counts["labelled_by_topic"].items())
        typer.echo(f"trained on {counts['archive']:,} articles ({counts['labelled']:,} labelled: "
                   f"{by_topic}); vocabulary {counts['vocabulary']:,} terms")
        if counts.get("default_corpus_added"):
            typer.echo(f"the classifier also learnt from {counts['default_corpus_added']:,} "
                       "articles of the default corpus")
    else:
        typer.echo(f"trained on {counts['archive']:,} articles, none labelled: the topics are "
                   f"learnt from the default corpus; vocabulary {counts['vocabulary']:,} terms")
    if metrics:
        f1 = f"classifier cross-validated macro-F1 {metrics['classifier_cv_macro_f1']:.3f}"
        # The written corpus is easier than real news: say so, or the figure misleads.
        typer.echo(f"{f1} on the default corpus's written articles; real news scores lower "
                   "(about 0.70-0.77 measured), see the README's \"What to expect\"" if written else
                   f"{f1} on the labelled articles ({metrics['classifier_cv_folds']}-fold)")
    typer.echo(f"saved {out} -> {Path(version).name} in {model.info['training_seconds']:.1f}s")


@app.command()
@friendly_errors
def add(
    model: Annotated[Path, typer.Option(help="Bundle directory to update.")],
    corpus: Annotated[list[Path], typer.Option("--corpus", help="Articles to add.")],
    on_error: Annotated[OnError, typer.Option(help="Bad records: fail, or skip and count.")] = OnError.fail,
    replace: Annotated[bool, typer.Option(
        "--replace", help="An article whose id is archived replaces it (a corrected version).")] = False,
) -> None:
    """Add new articles to a trained bundle without retraining (saved atomically)."""
    news = _load(model)
    articles = _read_corpora(corpus, on_error)
    known = [a.id for a in articles if a.id in news.index.row_of_]
    if known and not replace:
        if on_error is OnError.fail:
            _fail(f"{len(known)} article id(s) already in the archive, e.g. {known[0]!r}; "
                  "use --replace to update them, or --on-error skip to add only the new ones")
        articles = [a for a in articles if a.id not in news.index.row_of_]
        _say(f"skipped {len(known)} article(s) already in the archive")
    news.add(articles, replace=replace)
    version = news.save(str(model))
    replaced = f" ({len(known):,} replacing earlier versions)" if replace and known else ""
    typer.echo(f"added {_articles(len(articles))}{replaced}; archive now {len(news):,}; "
               f"saved {model} -> {Path(version).name}")


def _listed_ids(ids: list[str], ids_file: Optional[Path]) -> list[tuple[str, str]]:
    """The ids given, each with where it was given (for errors)."""
    listed = [(i, "--id") for i in ids]
    if ids_file is not None:
        try:
            lines = ids_file.read_text(encoding="utf-8-sig").splitlines()
        except UnicodeDecodeError as exc:
            _fail(f"{ids_file}: not UTF-8 text ({exc.reason} at byte {exc.start})")
        listed += [(line.strip(), f"{ids_file}, line {n}") for n, line in enumerate(lines, 1)
                   if line.strip()]
    return listed


@app.command()
@friendly_errors
def withdraw(
    model: Annotated[Path, typer.Option(help="Bundle directory to update.")],
    id: Annotated[Optional[list[str]], typer.Option(
        "--id", help="Id of an article to take out; repeatable.")] = None,
    ids_file: Annotated[Optional[Path], typer.Option(help="File of ids to take out, one per line.")] = None,
    on_error: Annotated[OnError, typer.Option(help="Unknown ids: fail, or skip and count.")] = OnError.fail,
) -> None:
    """Take unpublished or retracted articles out of a bundle: never suggested again (saved atomically)."""
    listed = _listed_ids(id or [], ids_file)
    if not listed:
        _fail("name the articles to withdraw: --id ID (repeatable) or --ids-file PATH")
    news = _load(model)
    unknown = [(i, where) for i, where in listed if i not in news.index.row_of_]
    if unknown:
        if on_error is OnError.fail:
            article_id, where = unknown[0]
            _fail(f"{where}: no article with id {article_id!r} in the archive ({len(unknown)} "
                  "unknown id(s) in all); use --on-error skip to withdraw the others")
        _say(f"skipped {len(unknown)} id(s) not in the archive")
    ids = list(dict.fromkeys(i for i, _ in listed if i in news.index.row_of_))
    if not ids:
        typer.echo(f"nothing to withdraw; {model} unchanged")
        return
    news.withdraw(ids)
    version = news.save(str(model))
    typer.echo(f"withdrew {_articles(len(ids))}; archive now {len(news):,}; "
               f"saved {model} -> {Path(version).name}")


# --- classify ------------------------------------------------------------------------------

def _query_articles(input_path: Optional[Path], text_file: Optional[Path],
                    on_error: OnError) -> list[Article]:
    if (input_path is None) == (text_file is None):
        _fail("give exactly one of --input or --text-file")
    if text_file is not None:
        return [_read_text_file(text_file)]
    return _read_corpora([input_path], on_error)


def _prediction_record(article_id: str, prediction: TopicPrediction,
                       words: list[str] | None) -> dict[str, Any]:
    record = {"id": article_id, "topic": prediction.topic, "scores": prediction.scores,
              "low_confidence": prediction.low_confidence}
    if words is not None:
        record["words"] = words
    return record


@app.command()
@friendly_errors
def classify(
    model: Annotated[Path, typer.Option(help="Bundle directory.")],
    input: Annotated[Optional[Path], typer.Option(help="Corpus file or folder to classify.")] = None,
    text_file: Annotated[Optional[Path], typer.Option(help="One article: title line, then body.")] = None,
    format: Annotated[TableOrJsonl, typer.Option(help="Output format.")] = TableOrJsonl.table,
    on_error: Annotated[OnError, typer.Option(help="Bad records: fail, or skip and count.")] = OnError.fail,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Also give the words that weigh most for each topic.")] = False,
) -> None:
    """Topic of each article, with every topic's probability."""
    news = _load(model, lazy=True)  # neither the archive table nor the query kernels needed
    articles = _query_articles(input, text_file, on_error)
    predictions = news.classify(articles)
    words = news.explain_topics(articles) if explain else [None] * len(articles)
    if format is TableOrJsonl.jsonl:
        for article, prediction, found in zip(articles, predictions, words):
            typer.echo(json.dumps(_prediction_record(article.id, prediction, found),
                                  ensure_ascii=False))
        return
    topics = recsys.TOPICS
    typer.echo(f"{'id':<24} {'topic':<13} " + " ".join(f"{t[:12]:>12}" for t in topics) + "  note")
    for article, prediction, found in zip(articles, predictions, words):
        note = "low confidence" if prediction.low_confidence else ""
        typer.echo(f"{article.id[:24]:<24} {prediction.topic:<13} "
                   + " ".join(f"{prediction.scores[t]:>12.3f}" for t in topics) + f"  {note}")
        if found is not None:
            typer.echo(f"{'':<24} words: {'، '.join(found) or '(none it knows)'}")


# --- recommend / export ----------------------------------------------------------------------

def _editor_overrides(path: Optional[Path]) -> dict[str, list[str]]:
    """Editors' overrides file: JSON with optional pin_ids, exclude_ids, exclude_topics,
    require_topics (lists of strings)."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise recsys.CorpusError(f"unreadable overrides file ({exc})", path=path) from None
    allowed = ("pin_ids", "exclude_ids", "exclude_topics", "require_topics")
    if not isinstance(data, dict):
        raise recsys.CorpusError("expected a JSON object", path=path)
    for key, value in data.items():
        if key not in allowed:
            raise recsys.CorpusError(f"unknown key; expected {', '.join(allowed)}", path=path,
                                     field=key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise recsys.CorpusError("expected a list of strings", path=path, field=key)
    return data


def _related_options(k: int, half_life: Optional[float], max_age: Optional[float],
                     before_only: bool, min_score: Optional[float], min_count: Optional[int],
                     mmr: Optional[float], duplicate_threshold: Optional[float],
                     no_collapse: bool, undated_weight: Optional[float],
                     theme_weight: Optional[float],
                     copy_overlap: Optional[float],
                     phrase_weight: Optional[float]) -> dict[str, Any]:
    given = {"k": k, "half_life_days": half_life, "max_age_days": max_age, "min_score": min_score,
             "min_count": min_count, "mmr_lambda": mmr, "duplicate_threshold": duplicate_threshold,
             "before_only": before_only or None, "undated_weight": undated_weight,
             "theme_weight": theme_weight, "copy_overlap": copy_overlap,
             "phrase_weight": phrase_weight}
    options = {name: value for name, value in given.items() if value is not None}
    if half_life == 0:
        options["half_life_days"] = None  # recency off
    if copy_overlap == 0:
        options["copy_overlap"] = None  # copies told by the cosine alone
    return options | ({"duplicate_threshold": None} if no_collapse else {})


# Options shared by recommend, export and evaluate, declared once.
KOpt = Annotated[int, typer.Option("-k", "--k", min=1, max=1000, help="How many related articles.")]
HalfLifeOpt = Annotated[Optional[float], typer.Option(
    min=0, help="Recency half-life in days (default 180; 0 turns recency off).")]
UndatedOpt = Annotated[Optional[float], typer.Option(
    min=0, max=1, help="Recency weight of undated articles, in (0, 1] (default 0.85).")]
ThemeOpt = Annotated[Optional[float], typer.Option(
    min=0, max=1, help="Weight of articles' themes in lists without a close match (default "
    "0.15; 0 turns it off).")]
PhraseOpt = Annotated[Optional[float], typer.Option(
    min=0, help="Weight of the rare phrases' cosine in a score, for a bundle trained with "
    "phrases, as by default (default 0.8; 0 turns it off).")]
MaxAgeOpt = Annotated[Optional[float], typer.Option(help="Drop articles older than this many days.")]
BeforeOpt = Annotated[bool, typer.Option("--before-only",
                                         help="Only articles published up to the query's date.")]
MinScoreOpt = Annotated[Optional[float], typer.Option(help="Hide suggestions under this cosine.")]
MinCountOpt = Annotated[Optional[int], typer.Option(help="Show none if fewer than this many remain.")]
MmrOpt = Annotated[Optional[float], typer.Option(help="Diversify with MMR, lambda in [0, 1].")]
DupOpt = Annotated[Optional[float], typer.Option(help="Cosine at which two articles are copies.")]
NoCollapseOpt = Annotated[bool, typer.Option("--no-collapse", help="Keep reposted copies in the list.")]
CopyOpt = Annotated[Optional[float], typer.Option(
    min=0, max=1, help="Share of the shorter text's five-word runs that two articles that "
    "close must share to be copies (default 0.6; 0: the cosine alone decides).")]
OverridesOpt = Annotated[Optional[Path], typer.Option(
    help="JSON: pin_ids, exclude_ids, exclude_topics, require_topics.")]


@app.command()
@friendly_errors
def recommend(
    model: Annotated[Path, typer.Option(help="Bundle directory.")],
    id: Annotated[Optional[str], typer.Option("--id", help="An archived article's id.")] = None,
    text_file: Annotated[Optional[Path], typer.Option(help="A new article: title line, then body.")] = None,
    k: KOpt = 10,
    format: Annotated[TableOrJson, typer.Option(help="Output format.")] = TableOrJson.table,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Show the shared words and rare phrases behind each suggestion.")] = False,
    half_life: HalfLifeOpt = None, undated_weight: UndatedOpt = None,
    theme_weight: ThemeOpt = None, max_age: MaxAgeOpt = None, before_only: BeforeOpt = False,
    phrase_weight: PhraseOpt = None,
    min_score: MinScoreOpt = None, min_count: MinCountOpt = None, mmr: MmrOpt = None,
    duplicate_threshold: DupOpt = None, no_collapse: NoCollapseOpt = False,
    copy_overlap: CopyOpt = None, overrides: OverridesOpt = None,
    pin: Annotated[Optional[list[str]], typer.Option(help="Pin this id first (repeatable).")] = None,
    exclude: Annotated[Optional[list[str]], typer.Option(help="Never suggest this id.")] = None,
    exclude_topic: Annotated[Optional[list[str]], typer.Option(help="Never suggest this topic.")] = None,
    require_topic: Annotated[Optional[list[str]], typer.Option(help="Only suggest this topic.")] = None,
) -> None:
    """Related articles for an archived article (--id) or a new text (--text-file)."""
    if (id is None) == (text_file is None):
        _fail("give exactly one of --id or --text-file")
    news = _load(model, lazy=True)  # by id, nothing is unpickled: a fast cold start
    editor = _editor_overrides(overrides)
    rules = {"pin_ids": [*editor.get("pin_ids", []), *(pin or [])],
             "exclude_ids": [*editor.get("exclude_ids", []), *(exclude or [])],
             "exclude_topics": [*editor.get("exclude_topics", []), *(exclude_topic or [])],
             "require_topics": [*editor.get("require_topics", []), *(require_topic or [])]}
    options = _related_options(k, half_life, max_age, before_only, min_score, min_count, mmr,
                               duplicate_threshold, no_collapse, undated_weight, theme_weight,
                               copy_overlap, phrase_weight)
    if id is not None:
        query: Any = id
        related = news.related(id, **rules, **options)
    else:
        query = _read_text_file(text_file)
        related = news.related_to(query, **rules, **options)
    terms = news.explain(query, related.ids) if explain else None
    shared_phrases = news.explain_phrases(query, related.ids) if explain else None
    rows = []
    for rank, (rid, score) in enumerate(zip(related.ids, related.scores)):
        meta = news.article(str(rid))
        row = {"id": str(rid), "score": round(float(score), 4), "title": meta["title"],
               "topic": meta["topic"]}
        if terms is not None:
            row["terms"], row["phrases"] = terms[rank], shared_phrases[rank]
        rows.append((row, meta))
    if format is TableOrJson.json:
        typer.echo(json.dumps([row for row, _ in rows], ensure_ascii=False, indent=1))
        return
    if not rows:
        typer.echo("no related articles above the score floor")
    for rank, (row, meta) in enumerate(rows, 1):
        line = (f"{rank:>3}. {row['score']:.3f}  {row['id']:<20} {row['topic']:<13} "
                f"{meta['date'] or '':<10}  {row['title']}")
        typer.echo(line)
        if terms is not None:
            typer.echo(f"       shared: {'، '.join(row['terms'])}")
            if row["phrases"]:
                typer.echo(f"       phrases: {'، '.join(row['phrases'])}")


def _write_atomically(path: Path, lines: Iterable[str]) -> int:
    """Write lines to ``path`` through a temporary file and a rename; return the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(line + "\n")
                count += 1
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


@app.command()
@friendly_errors
def export(
    model: Annotated[Path, typer.Option(help="Bundle directory.")],
    out: Annotated[Path, typer.Option(help="JSON Lines file to write.")],
    k: KOpt = 10,
    half_life: HalfLifeOpt = None, undated_weight: UndatedOpt = None,
    theme_weight: ThemeOpt = None, max_age: MaxAgeOpt = None, before_only: BeforeOpt = False,
    phrase_weight: PhraseOpt = None,
    min_score: MinScoreOpt = None, min_count: MinCountOpt = None, mmr: MmrOpt = None,
    duplicate_threshold: DupOpt = None, no_collapse: NoCollapseOpt = False,
    copy_overlap: CopyOpt = None,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Give each suggestion its shared words and phrases too (about 2 ms "
                          "an article, in this process).")] = False,
    backend: Annotated[Backend, typer.Option(help="Run chunks locally or on Dask.")] = Backend.local,
    scheduler: Annotated[Optional[str], typer.Option(
        help="Dask scheduler address (implies --backend dask).")] = None,
    chunk_size: Annotated[int, typer.Option(min=1, help="Articles per task.")] = 2000,
    n_jobs: Annotated[int, typer.Option(help="Local parallel jobs.")] = 1,
) -> None:
    """Related lists for every archived article, one JSON line each."""
    news = _load(model)
    options = _related_options(k, half_life, max_age, before_only, min_score, min_count, mmr,
                               duplicate_threshold, no_collapse, undated_weight, theme_weight,
                               copy_overlap, phrase_weight)
    use_dask = backend is Backend.dask or scheduler is not None
    say = _stage_printer()
    total = len(news)
    done = 0

    def records() -> Iterable[str]:
        nonlocal done
        for article_id, related in recsys.export_related(
                news, chunk_size=chunk_size, n_jobs=n_jobs,
                scheduler=scheduler if use_dask else None, dask=use_dask, **options):
            done += 1
            if done % chunk_size == 0 or done == total:
                say(f"exported {done:,}/{total:,}")
            suggestions = [{"id": str(i), "score": round(float(s), 4)}
                           for i, s in zip(related.ids, related.scores)]
            if explain:
                for suggestion, terms, shared in zip(suggestions, news.explain(article_id, related.ids),
                                                     news.explain_phrases(article_id, related.ids)):
                    suggestion["terms"], suggestion["phrases"] = terms, shared
            yield json.dumps({"id": article_id, "topic": news.archive["topics"][news.index.row(article_id)],
                              "related": suggestions}, ensure_ascii=False)

    count = _write_atomically(out, records())
    typer.echo(f"wrote related lists for {count:,} articles to {out}")


# --- evaluate --------------------------------------------------------------------------------

@app.command()
@friendly_errors
def evaluate(
    model: Annotated[Path, typer.Option(help="Bundle directory.")],
    labels: Annotated[Optional[Path], typer.Option(
        help="Articles with a topic (full text), to score the classifier.")] = None,
    related_gold: Annotated[Optional[list[Path]], typer.Option(
        help="Related-articles gold: {id, related_ids} lines, fact-check claims, or graded "
             "{query, judgments} lines (repeatable).")] = None,
    report: Annotated[Optional[Path], typer.Option(
        help="Folder for report.json, report.md and PNG plots.")] = None,
    half_life: HalfLifeOpt = None, undated_weight: UndatedOpt = None,
    theme_weight: ThemeOpt = None, max_age: MaxAgeOpt = None, before_only: BeforeOpt = False,
    phrase_weight: PhraseOpt = None,
    min_score: MinScoreOpt = None, min_count: MinCountOpt = None, mmr: MmrOpt = None,
    duplicate_threshold: DupOpt = None, no_collapse: NoCollapseOpt = False,
    copy_overlap: CopyOpt = None,
) -> None:
    """Score topics and related lists against gold standards; print a compact table."""
    from recsys.evaluation import evaluate_model, read_gold
    from recsys.report import format_report, write_report

    if labels is None and not related_gold:
        _fail("give --labels and/or --related-gold")
    news = _load(model)
    labelled = []
    if labels is not None:
        labelled = [a for a in recsys.read_articles(labels).articles if a.topic]
        if not labelled:
            _fail(f"{labels}: no article carries a topic")
    groups: dict = {}
    graded: dict = {}
    for path in related_gold or []:
        more_groups, more_graded = read_gold(path)
        groups |= more_groups
        graded |= more_graded
    options = _related_options(10, half_life, max_age, before_only, min_score, min_count, mmr,
                               duplicate_threshold, no_collapse, undated_weight, theme_weight,
                               copy_overlap, phrase_weight)
    options.pop("k")
    results = evaluate_model(news, labelled=labelled, groups=groups, graded=graded, **options)
    typer.echo(format_report(results))
    if report is not None:
        written = write_report(results, report, news.info)
        typer.echo(f"wrote {', '.join(p.name for p in written)} to {report}")


# --- info ------------------------------------------------------------------------------------

@app.command()
@friendly_errors
def info(model: Annotated[Path, typer.Option(help="Bundle directory.")]) -> None:
    """Show a bundle's manifest (versions, counts, metrics) after checking it."""
    _load(model)  # verifies checksums and versions
    manifest = recsys.read_manifest(model)
    manifest.pop("files", None)
    typer.echo(json.dumps(manifest, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    app()
