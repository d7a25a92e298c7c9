"""Articles and the readers that bring them in from JSON Lines, CSV and folders of files.

This is the only place where corpus files are opened. Every record is validated and a
bad one raises :class:`~recsys.errors.CorpusError` naming the file, the line and the
field, or, with ``on_error="skip"``, is left out and reported in
:attr:`ReadResult.skipped`.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, NamedTuple

from .arabic import clean, strip_html
from .errors import CorpusError

__all__ = [
    "TOPICS",
    "Article",
    "ReadResult",
    "read_articles",
    "read_labels",
    "read_text_file",
    "parse_article",
    "default_corpus_path",
    "MAX_BODY_CHARS",
]

TOPICS: tuple[str, ...] = ("combat", "prisoners", "humanitarian", "other")
"""The topics, in the order used for probability columns everywhere."""

MAX_BODY_CHARS = 100_000
"""Bodies are cut to this many characters (about 15,000 words, far above any news
article) so one runaway record cannot exhaust memory; cut articles are reported."""

OnError = Literal["fail", "skip"]
_KNOWN_FIELDS = ("id", "title", "body", "date", "url", "source", "topic")
_WORD = re.compile(r"[^\W_]", re.U)
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Article:
    """One news article.

    ``extra`` keeps any other fields of the record (e.g. ``story``) untouched.

    >>> a = Article(id="a1", title="قصف على حلب", body="قصفت الطائرات ...")
    >>> a.text
    'قصف على حلب\\nقصفت الطائرات ...'
    """

    id: str
    title: str
    body: str
    date: dt.date | None = None
    url: str = ""
    source: str = ""
    topic: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """Title and body as one text."""
        return f"{self.title}\n{self.body}" if self.title else self.body

    def to_record(self) -> dict[str, Any]:
        """The article as a JSON-ready dict in the input format."""
        record = {"id": self.id, "title": self.title, "body": self.body,
                  "date": self.date.isoformat() if self.date else None,
                  "url": self.url, "source": self.source}
        if self.topic:
            record["topic"] = self.topic
        return record | dict(self.extra)


class ReadResult(NamedTuple):
    """What a reader returns: the good articles and what it left out or changed."""

    articles: list[Article]
    skipped: list[CorpusError]
    truncated: list[str]


def default_corpus_path() -> Path:
    """The default corpus shipped inside the package."""
    return Path(str(resources.files("recsys").joinpath("data/default_corpus.jsonl")))


# --- Record validation -------------------------------------------------------------------

def _text_field(record: Mapping[str, Any], name: str, where: dict, *, required: bool) -> str:
    value = record.get(name)
    if value is None or (isinstance(value, float) and value != value):  # JSON null, CSV NaN
        value = ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise CorpusError(f"expected text, got {type(value).__name__}", field=name, **where)
    if "\x00" in value:
        raise CorpusError("contains NUL bytes: binary data, not text", field=name, **where)
    if _SURROGATE.search(value):
        raise CorpusError("holds a lone surrogate (an invalid \\ud800-style escape): not "
                          "valid Unicode text", field=name, **where)
    value = value.strip()
    if required and not value:
        raise CorpusError("missing or empty", field=name, **where)
    return value


def _date_field(record: Mapping[str, Any], where: dict) -> dt.date | None:
    value = record.get("date")
    if value in (None, "", "None", "null"):
        return None
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise CorpusError(f"invalid date {str(value)[:40]!r}; expected YYYY-MM-DD",
                          field="date", **where) from None


def _topic_field(record: Mapping[str, Any], where: dict) -> str | None:
    value = record.get("topic")
    if value in (None, ""):
        return None
    topic = str(value).strip().lower()
    if topic not in TOPICS:
        raise CorpusError(f"unknown topic {str(value)[:40]!r}; expected one of {', '.join(TOPICS)}",
                          field="topic", **where)
    return topic


def parse_article(record: Mapping[str, Any], *, path: object = None, line: int | None = None,
                  truncated: list[str] | None = None) -> Article:
    """Validate one input record and build its :class:`Article`.

    Raises
    ------
    CorpusError
        Naming ``path``, ``line`` and the offending field.

    >>> parse_article({"id": 7, "title": "عنوان", "body": "نص الخبر", "topic": "Other"}).topic
    'other'
    """
    where = {"path": path, "line": line}
    if not isinstance(record, Mapping):
        raise CorpusError(f"expected a JSON object, got {type(record).__name__}", **where)
    article_id = _text_field(record, "id", where, required=True)
    title = _text_field(record, "title", where, required=False)
    body = _text_field(record, "body", where, required=True)
    was_cut = len(body) > MAX_BODY_CHARS
    body = body[:MAX_BODY_CHARS]
    if not _WORD.search(clean(strip_html(title + " " + body))):
        raise CorpusError("no words left once HTML and punctuation are removed",
                          field="body", **where)
    article = Article(
        id=article_id, title=title, body=body, date=_date_field(record, where),
        url=_text_field(record, "url", where, required=False),
        source=_text_field(record, "source", where, required=False),
        topic=_topic_field(record, where),
        extra={k: v for k, v in record.items() if k not in _KNOWN_FIELDS},
    )
    if was_cut and truncated is not None:  # only once the record passed every check
        truncated.append(article_id)
    return article


# --- Files ---------------------------------------------------------------------------------

def _decode(data: bytes, path: Path) -> str:
    """Decode UTF-8 (with or without BOM) or BOM-marked UTF-16; refuse anything else."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    head = data[:4096]
    if head.count(b"\x00") > len(head) // 100:  # UTF-16 or binary; a stray NUL is the record's problem
        raise CorpusError("holds NUL bytes: binary data, or UTF-16 without a byte-order "
                          "mark (convert it to UTF-8, e.g. iconv -f utf-16le -t utf-8)",
                          path=path, line=data.count(b"\n", 0, data.index(b"\x00")) + 1)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        hint = ""
        if sum(0xC1 <= b <= 0xFE for b in data[:4096]) > 0:
            hint = " (it looks like a legacy code page such as cp1256: convert it, " \
                   "e.g. iconv -f cp1256 -t utf-8)"
        raise CorpusError(f"not valid UTF-8 at byte {exc.start}{hint}", path=path,
                          line=line) from None


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise CorpusError(f"cannot read: {exc}", path=path) from None
    return _decode(data, path)


def _jsonl_records(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    # Only "\n" ends a record: str.splitlines() would also split at U+2028 and other
    # separators that JSON strings may legally hold raw.
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, CorpusError(f"malformed JSON ({exc.msg} at column {exc.colno})",
                                      path=path, line=number)
        except (RecursionError, ValueError) as exc:  # absurd nesting, 5,000-digit numbers
            yield number, CorpusError(f"unreadable JSON ({type(exc).__name__}: "
                                      f"{str(exc)[:80]})", path=path, line=number)


def _csv_records(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    # The csv module refuses fields over 131,072 characters; bodies are cut later, at
    # MAX_BODY_CHARS, like those of any other format.
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [name for name in ("id", "body") if name not in (reader.fieldnames or [])]
    if missing:
        raise CorpusError(f"CSV header lacks column(s) {', '.join(missing)}; "
                          f"found {', '.join(reader.fieldnames or []) or 'no header'}",
                          path=path, line=1)
    for row in reader:
        if None in row:  # more cells than header columns
            yield reader.line_num, CorpusError("more cells than header columns", path=path,
                                               line=reader.line_num)
            continue
        yield reader.line_num, row


_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>|<h1[^>]*>(.*?)</h1>", re.I | re.S)


def _file_record(file: Path, article_id: str) -> dict[str, str]:
    text = _read_text(file)
    if file.suffix.lower() in (".html", ".htm"):
        match = _HTML_TITLE.search(text)
        title = strip_html(next(g for g in match.groups() if g is not None)) if match else ""
        body = text
    else:
        title, _, body = text.strip().partition("\n")
    return {"id": article_id, "title": " ".join(title.split()), "body": body}


def _folder_records(folder: Path) -> Iterator[tuple[Path, Any]]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".txt", ".html", ".htm")
                   and p.is_file())
    if not files:
        raise CorpusError("folder holds no .txt or .html files", path=folder)
    for file in files:
        try:
            yield file, _file_record(file, file.relative_to(folder).with_suffix("").as_posix())
        except CorpusError as exc:
            yield file, exc


def read_text_file(path: str | Path, *, truncated: list[str] | None = None) -> Article:
    """One article from a text file (first line the title, the rest the body) or an
    HTML page (``<title>`` or ``<h1>`` the title); its id is the file name. A body
    longer than :data:`MAX_BODY_CHARS` is cut, and its id appended to ``truncated``.

    Raises
    ------
    CorpusError
        If the file is missing, not UTF-8, or holds no words.
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusError("no such file", path=path)
    record = _file_record(path, path.stem)
    if not record["body"].strip():
        record["body"], record["title"] = record["title"], ""
    return parse_article(record, path=path, truncated=truncated)


def _records(path: Path) -> Iterator[tuple[Path, int | None, Any]]:
    if path.is_dir():
        for file, record in _folder_records(path):
            yield file, None, record
        return
    if not path.exists():
        raise CorpusError("no such file or folder", path=path)
    name = path.name.lower().removesuffix(".gz")
    text = _read_text(path)
    if not text.strip():
        raise CorpusError("file is empty", path=path)
    if name.endswith(".csv"):
        rows = _csv_records(path, text)
    elif name.endswith((".jsonl", ".json", ".ndjson")):
        rows = _jsonl_records(path, text)
    else:
        raise CorpusError("unknown format: expected .jsonl, .csv (optionally .gz) or a folder",
                          path=path)
    for number, record in rows:
        yield path, number, record


def read_articles(path: str | Path, *, on_error: OnError = "fail",
                  require_body: bool = True, require_topic: bool = False,
                  earlier_ids: dict[str, str] | None = None) -> ReadResult:
    """Read and validate articles from a JSON Lines or CSV file (optionally gzipped) or a
    folder of ``.txt``/``.html`` files.

    Parameters
    ----------
    path
        The file or folder.
    on_error
        ``"fail"`` raises on the first bad record; ``"skip"`` leaves bad records out and
        lists them in :attr:`ReadResult.skipped`. Problems with the file as a whole (it
        is missing, empty, not UTF-8, has no usable header) always raise.
    require_body
        With ``False``, records of only ``id`` and ``topic`` come back as label-only
        articles with an empty body (see :func:`read_labels`).
    require_topic
        Every record must carry a ``topic``.
    earlier_ids
        Ids already read from other files, each mapped to where it was read; a record
        repeating one is a duplicate. This call's ids are added to it.

    Raises
    ------
    CorpusError
        Naming the file, line and field.
    """
    if on_error not in ("fail", "skip"):
        raise ValueError(f"on_error must be 'fail' or 'skip', got {on_error!r}")
    path = Path(path)
    articles: list[Article] = []
    skipped: list[CorpusError] = []
    truncated: list[str] = []
    seen: dict[str, int | None] = {}
    for file, line, record in _records(path):
        try:
            if isinstance(record, CorpusError):
                raise record
            cut: list[str] = []
            if not require_body and isinstance(record, Mapping) and not record.get("body"):
                article = _label_only(record, file, line)
            else:
                article = parse_article(record, path=file, line=line, truncated=cut)
            if require_topic and article.topic is None:
                raise CorpusError("missing or empty", path=file, line=line, field="topic")
            if article.id in seen:
                first = seen[article.id]
                raise CorpusError(f"duplicate id {article.id!r}"
                                  + (f" (first on line {first})" if first else ""),
                                  path=file, line=line, field="id")
            if earlier_ids is not None and article.id in earlier_ids:
                raise CorpusError(f"duplicate id {article.id!r} (first in "
                                  f"{earlier_ids[article.id]})", path=file, line=line, field="id")
        except CorpusError as exc:
            if on_error == "fail":
                raise
            skipped.append(exc)
            continue
        seen[article.id] = line
        articles.append(article)
        truncated.extend(cut)
        if earlier_ids is not None:
            earlier_ids[article.id] = f"{file}, line {line}" if line else str(file)
    if not articles:
        raise CorpusError("no usable articles" + (f" ({len(skipped)} skipped)" if skipped else ""),
                          path=path)
    return ReadResult(articles, skipped, truncated)


def _label_only(record: Mapping[str, Any], path: Path, line: int | None) -> Article:
    where = {"path": path, "line": line}
    topic = _topic_field(record, where)
    if topic is None:
        raise CorpusError("missing or empty", field="topic", **where)
    return Article(id=_text_field(record, "id", where, required=True), title="", body="",
                   topic=topic)


def read_labels(path: str | Path, *, on_error: OnError = "fail") -> ReadResult:
    """Read editors' labels: lines of ``{"id", "topic"}``, or full articles with ``topic``.

    Label-only records come back as articles with an empty body; full records as
    ordinary articles. Every record must carry a known ``topic``.
    """
    return read_articles(path, on_error=on_error, require_body=False, require_topic=True)
