"""Corpus readers: formats, validation, and errors that name file, line and field."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

from recsys import CorpusError, read_articles, read_labels, read_text_file
from recsys.corpus import MAX_BODY_CHARS

GOOD = [
    {"id": "a1", "title": "قصف مدفعي على ريف حلب", "body": "تعرضت قرى في ريف حلب لقصف مدفعي عنيف صباح اليوم.",
     "date": "2023-05-01", "source": "وكالة تجريبية", "topic": "combat", "story": "s1"},
    {"id": "a2", "title": "الإفراج عن معتقلين", "body": "أفرجت السلطات عن عشرين معتقلاً بموجب مرسوم عفو.",
     "date": "2023-05-02"},
]


def write_jsonl(path: Path, records: list, *, raw_lines: list[str] = ()) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in records] + list(raw_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_round_trip_keeps_fields_and_extras(tmp_path: Path) -> None:
    result = read_articles(write_jsonl(tmp_path / "a.jsonl", GOOD))
    first = result.articles[0]
    assert [a.id for a in result.articles] == ["a1", "a2"]
    assert first.topic == "combat" and first.date.isoformat() == "2023-05-01"
    assert first.extra == {"story": "s1"}
    assert result.articles[1].topic is None
    assert first.to_record()["story"] == "s1"


def test_gzipped_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(json.dumps(r, ensure_ascii=False) for r in GOOD).encode()))
    assert len(read_articles(path).articles) == 2


def test_csv(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "title", "body", "date", "topic"])
        writer.writeheader()
        for r in GOOD:
            writer.writerow({k: r.get(k, "") for k in writer.fieldnames})
    articles = read_articles(path).articles
    assert articles[0].title == "قصف مدفعي على ريف حلب" and articles[1].topic is None


def test_csv_missing_column_names_it(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,title\n1,عنوان\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"a\.csv, line 1: CSV header lacks column\(s\) body"):
        read_articles(path)


def test_folder_of_txt_and_html(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("عنوان الخبر\nنص الخبر عن النازحين في المخيمات", encoding="utf-8")
    (tmp_path / "two.html").write_text("<html><title>غارة جوية</title><p>نفذت طائرات غارة</p></html>",
                                       encoding="utf-8")
    articles = {a.id: a for a in read_articles(tmp_path).articles}
    assert articles["one"].title == "عنوان الخبر"
    assert articles["two"].title == "غارة جوية"


def test_read_text_file_uses_first_line_as_title(tmp_path: Path) -> None:
    path = tmp_path / "new.txt"
    path.write_text("قصف على درعا\nقصفت قوات النظام بلدات في ريف درعا", encoding="utf-8")
    article = read_text_file(path)
    assert (article.id, article.title) == ("new", "قصف على درعا")


@pytest.mark.parametrize("line, message", [
    ('{"id": "x", "title": "t", "body": ', r"b\.jsonl, line 3: malformed JSON"),
    ('{"id": "", "title": "t", "body": "نص"}', r"b\.jsonl, line 3, field 'id': missing or empty"),
    ('{"id": "x", "title": "t"}', r"b\.jsonl, line 3, field 'body': missing or empty"),
    ('{"id": "a1", "title": "t", "body": "نص"}', r"line 3, field 'id': duplicate id 'a1' \(first on line 1\)"),
    ('{"id": "x", "body": "نص", "topic": "sports"}', r"line 3, field 'topic': unknown topic 'sports'"),
    ('{"id": "x", "body": "نص", "date": "2023-13-45"}', r"line 3, field 'date': invalid date"),
    ('{"id": "x", "body": "<div><br></div> ... !!!"}', r"line 3, field 'body': no words left"),
    ('{"id": "x", "body": ["a", "b"]}', r"line 3, field 'body': expected text, got list"),
    ('["not", "an", "object"]', r"line 3: expected a JSON object"),
])
def test_bad_records_are_named(tmp_path: Path, line: str, message: str) -> None:
    path = write_jsonl(tmp_path / "b.jsonl", GOOD, raw_lines=[line])
    with pytest.raises(CorpusError, match=message):
        read_articles(path)


def test_skip_mode_counts_bad_records(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "b.jsonl", GOOD, raw_lines=["{oops", '{"id": "z"}'])
    result = read_articles(path, on_error="skip")
    assert len(result.articles) == 2
    assert [e.line for e in result.skipped] == [3, 4]


def test_cp1256_file_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "legacy.jsonl"
    path.write_bytes(json.dumps(GOOD[0], ensure_ascii=False).encode("cp1256"))
    with pytest.raises(CorpusError, match=r"legacy\.jsonl, line 1: not valid UTF-8.*cp1256"):
        read_articles(path)


def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "u16.jsonl"
    path.write_bytes("\n".join(json.dumps(r, ensure_ascii=False) for r in GOOD).encode("utf-16"))
    assert len(read_articles(path).articles) == 2


@pytest.mark.parametrize("content, message", [
    (b"", "file is empty"),
    (b"\x00\x01\x02\xff\xfe\x00garbage\x00", "not valid UTF-8|NUL"),
])
def test_empty_and_binary_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=message):
        read_articles(path)


def test_missing_path_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no such file"):
        read_articles(tmp_path / "nope.jsonl")
    (tmp_path / "a.xml").write_text("<a/>", encoding="utf-8")
    with pytest.raises(CorpusError, match="unknown format"):
        read_articles(tmp_path / "a.xml")


def test_huge_body_is_cut_and_reported(tmp_path: Path) -> None:
    huge = dict(GOOD[0], body="قصف " * (MAX_BODY_CHARS // 2))
    result = read_articles(write_jsonl(tmp_path / "h.jsonl", [huge]))
    assert len(result.articles[0].body) == MAX_BODY_CHARS
    assert result.truncated == ["a1"]


def test_labels_file_accepts_id_topic_lines(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "labels.jsonl", [{"id": "a2", "topic": "prisoners"}, GOOD[0]])
    labels = read_labels(path).articles
    assert [(a.id, a.topic, bool(a.body)) for a in labels] == [("a2", "prisoners", False), ("a1", "combat", True)]
    write_jsonl(path, [{"id": "a2"}])
    with pytest.raises(CorpusError, match="line 1, field 'topic': missing or empty"):
        read_labels(path)
