"""Every CLI command through typer's CliRunner, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from recsys import TOPICS

runner = CliRunner()


def invoke(*args: str) -> object:
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, corpus: list) -> Path:
    out = tmp_path_factory.mktemp("cli") / "model"
    result = invoke("train", "--out", out)
    assert result.exit_code == 0, result.output
    assert f"trained on {len(corpus)} articles" in result.stdout
    return out


@pytest.fixture()
def article_file(tmp_path: Path) -> Path:
    path = tmp_path / "new.txt"
    path.write_text("غارات جوية على ريف إدلب\nشنت طائرات حربية غارات على قرى جبل الزاوية "
                    "جنوبي إدلب وقصفت المدفعية أطراف مدينة أريحا.", encoding="utf-8")
    return path


def test_train_reports_counts_and_saves(trained: Path) -> None:
    assert (trained / "manifest.json").is_file()


def test_train_on_given_corpus_with_labels(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    rows = [{"id": f"d{i}", "title": t, "body": b} for i, (t, b) in enumerate([
        ("غارة على إدلب", "قصفت الطائرات الحربية مواقع في إدلب"),
        ("معتقلون", "أفرجت السلطات عن معتقلين من سجن صيدنايا"),
        ("نازحون", "وصلت قوافل المساعدات إلى مخيمات النازحين"),
        ("الدوري", "انتهت مباراة الدوري بالتعادل")])]
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join(json.dumps({"id": f"d{i}", "topic": t}) for i, t in enumerate(TOPICS)),
                      encoding="utf-8")
    out = tmp_path / "m"
    result = invoke("train", "--corpus", corpus, "--labels", labels, "--out", out)
    assert result.exit_code == 0, result.output
    assert "trained on 4 articles (4 labelled: combat 1, prisoners 1" in result.stdout
    unlabelled = invoke("train", "--corpus", corpus, "--out", tmp_path / "m2")
    assert "trained on 4 articles, none labelled: the topics are learnt from the default corpus" \
        in unlabelled.stdout
    # The written corpus's own cross-validation is not what real news will score.
    assert "on the default corpus's written articles; real news scores lower" in unlabelled.stdout
    shipped = invoke("train", "--out", tmp_path / "m3")
    assert shipped.exit_code == 0, shipped.output
    assert "on the default corpus's written articles; real news scores lower" in shipped.stdout


def test_recommend_by_id_json(trained: Path) -> None:
    result = invoke("recommend", "--model", trained, "--id", "cmb-001", "-k", "4", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert 0 < len(rows) <= 4
    assert set(rows[0]) == {"id", "score", "title", "topic"}
    assert "cmb-001" not in [r["id"] for r in rows]
    # the follow-ups of the same strike: the fighting after it, the families fleeing it
    assert {rows[0]["id"], rows[1]["id"]} == {"cmb-002", "hum-001"}


def test_recommend_text_file_table_with_explanations(trained: Path, article_file: Path) -> None:
    result = invoke("recommend", "--model", trained, "--text-file", article_file, "--explain")
    assert result.exit_code == 0, result.output
    assert "  1. " in result.stdout and "shared:" in result.stdout
    assert "أريحا" in result.stdout


def test_classify_jsonl_and_table(trained: Path, article_file: Path, tmp_path: Path) -> None:
    result = invoke("classify", "--model", trained, "--text-file", article_file, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert set(record) == {"id", "topic", "scores", "low_confidence"}
    assert record["topic"] == "combat" and list(record["scores"]) == list(TOPICS)
    table = invoke("classify", "--model", trained, "--input", article_file.parent)
    assert table.exit_code == 0 and "combat" in table.stdout


def test_classify_explains_a_topic_in_the_articles_words(trained: Path, article_file: Path) -> None:
    result = invoke("classify", "--model", trained, "--text-file", article_file, "--format",
                    "jsonl", "--explain")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["topic"] == "combat" and 0 < len(record["words"]) <= 5
    text = article_file.read_text(encoding="utf-8")
    assert all(word in text for word in record["words"])
    assert {"غارات", "طائرات", "المدفعية"} & set(record["words"])
    table = invoke("classify", "--model", trained, "--text-file", article_file, "--explain")
    assert table.exit_code == 0 and "words: " in table.stdout and record["words"][0] in table.stdout


def test_export_writes_one_line_per_article(trained: Path, tmp_path: Path, corpus: list) -> None:
    out = tmp_path / "related.jsonl"
    result = invoke("export", "--model", trained, "--out", out, "-k", "3")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(corpus)
    assert set(lines[0]) == {"id", "topic", "related"}
    assert all(len(line["related"]) <= 3 and line["id"] not in {r["id"] for r in line["related"]}
               for line in lines)


def test_export_explains_each_suggestion_as_recommend_does(trained: Path, tmp_path: Path) -> None:
    out = tmp_path / "related.jsonl"
    result = invoke("export", "--model", trained, "--out", out, "-k", "3", "--explain")
    assert result.exit_code == 0, result.output
    lines = {line["id"]: line for line in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert all(0 < len(r["terms"]) <= 5 for line in lines.values() for r in line["related"])
    shown = invoke("recommend", "--model", trained, "--id", "cmb-001", "-k", "3", "--format", "json",
                   "--explain")
    assert [(r["id"], r["terms"], r["phrases"]) for r in json.loads(shown.stdout)] == \
        [(r["id"], r["terms"], r["phrases"]) for r in lines["cmb-001"]["related"]]
    assert "أريحا" in lines["cmb-001"]["related"][0]["terms"]  # the strike's town, as written
    # The rare phrases it shares, where its title or the suggestion's writes them.
    assert any(r["phrases"] for line in lines.values() for r in line["related"])
    table = invoke("recommend", "--model", trained, "--id", "cmb-001", "-k", "3", "--explain")
    assert table.stdout.count("shared: ") == 3
    assert table.stdout.count("phrases: ") == sum(bool(r["phrases"]) for r in json.loads(shown.stdout))


def test_info_prints_the_manifest(trained: Path) -> None:
    result = invoke("info", "--model", trained)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["format"] == "recsys-bundle"


@pytest.mark.parametrize("args, message", [
    (["recommend", "--model", "{model}", "--id", "no-such-id"], "no article with id 'no-such-id'"),
    (["recommend", "--model", "{tmp}/absent", "--id", "x"], "no such model directory"),
    (["recommend", "--model", "{tmp}", "--id", "x"], "not a recsys bundle"),
    (["recommend", "--model", "{model}"], "give exactly one of --id or --text-file"),
    (["classify", "--model", "{model}", "--input", "{tmp}/bad.jsonl"], "bad.jsonl, line 2: malformed JSON"),
    (["train", "--corpus", "{tmp}/bad.jsonl", "--out", "{tmp}/m"], "bad.jsonl, line 2: malformed JSON"),
    (["train", "--corpus", "{tmp}/nothing.jsonl", "--out", "{tmp}/m"], "no such file or folder"),
    (["recommend", "--model", "{model}", "--id", "cmb-001", "--require-topic", "sport"], "unknown topic 'sport'"),
])
def test_errors_are_one_line_without_traceback(trained: Path, tmp_path: Path, args: list[str],
                                               message: str) -> None:
    (tmp_path / "bad.jsonl").write_text('{"id": "1", "body": "نص"}\n{broken\n', encoding="utf-8")
    result = invoke(*[a.format(model=trained, tmp=tmp_path) for a in args])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_reader_that_goes_away_is_not_an_error(trained: Path) -> None:
    """`recsys recommend ... | head`: once the reader has closed the pipe, the command
    stops quietly with the status of a writer cut off by SIGPIPE, not an error line."""
    import subprocess
    import sys

    cli = Path(__file__).resolve().parent.parent / "cli.py"
    child = subprocess.Popen([sys.executable, str(cli), "recommend", "--model", str(trained),
                              "--id", "cmb-001", "--k", "10"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # before the child has written anything: its first write fails
    stderr = child.stderr.read().decode()
    assert child.wait(timeout=60) == 141
    assert stderr == ""
