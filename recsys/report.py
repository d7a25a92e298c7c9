"""Evaluation reports: a compact text table, and a report folder with JSON, Markdown and
PNG plots (matplotlib, installed with ``pip install 'recsys[report]'``)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["format_report", "write_report"]


def format_report(report: dict[str, Any]) -> str:
    """The evaluation as a few lines of plain text (what the CLI prints).

    >>> print(format_report({"related": {"queries": 2, "p@5": 0.5, "r@10": 0.75,
    ...                                  "ndcg@10": 0.6, "mrr": 1.0}}))
    related lists  queries 2   P@5 0.500  R@10 0.750  nDCG@10 0.600  MRR 1.000
    """
    lines = []
    topics = report.get("topics")
    if topics:
        lines.append(f"topics         articles {topics['n']:<4}  macro-F1 {topics['macro_f1']:.3f}  "
                     f"accuracy {topics['accuracy']:.3f}")
        for topic, m in topics["per_topic"].items():
            lines.append(f"  {topic:<13} P {m['precision']:.3f}  R {m['recall']:.3f}  "
                         f"F1 {m['f1']:.3f}  n {m['support']}")
        if "low_confidence" in topics:
            lines.append(f"  {'flagged':<13} {_flags(topics['low_confidence'])}")
    related = report.get("related")
    if related:
        lines.append(f"related lists  queries {related['queries']:<3} P@5 {related['p@5']:.3f}  "
                     f"R@10 {related['r@10']:.3f}  nDCG@10 {related['ndcg@10']:.3f}  "
                     f"MRR {related['mrr']:.3f}" + _missing(related))
    graded = report.get("graded")
    if graded:
        lines.append(f"graded lists   queries {graded['queries']:<3} P@5 {graded['p@5']:.3f}  "
                     f"nDCG@10 {graded['ndcg@10']:.3f}" + _missing(graded))
    return "\n".join(lines) if lines else "nothing to evaluate: give --labels or --related-gold"


def _flags(flags: dict[str, float]) -> str:
    """The low-confidence flag's figures in a sentence."""
    return (f"{flags['share']:.1%} low-confidence, right {flags['accuracy_flagged']:.3f} "
            f"(the others {flags['accuracy_unflagged']:.3f}); {flags['errors_flagged']:.1%} "
            "of the errors")


def _missing(metrics: dict[str, Any]) -> str:
    missing = metrics.get("queries_not_in_archive", 0)
    return f"  ({missing} gold queries not in the model's archive)" if missing else ""


def _markdown(report: dict[str, Any], model_info: dict[str, Any]) -> str:
    out = ["# recsys evaluation report", ""]
    counts = model_info.get("counts", {})
    out += [f"Model: {counts.get('archive', '?')} archived articles, trained "
            f"{model_info.get('trained_at', '?')}.", ""]
    topics = report.get("topics")
    if topics:
        out += ["## Topics", "", f"{topics['n']} articles; macro-F1 **{topics['macro_f1']:.3f}**, "
                f"accuracy {topics['accuracy']:.3f}.", "",
                "| topic | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        out += [f"| {t} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
                for t, m in topics["per_topic"].items()]
        if "low_confidence" in topics:
            out += ["", f"Flagged: {_flags(topics['low_confidence'])}."]
        out += ["", "Confusion matrix (rows true, columns predicted):", "",
                "| | " + " | ".join(topics["labels"]) + " |",
                "|---|" + "---|" * len(topics["labels"])]
        out += [f"| {t} | " + " | ".join(str(v) for v in row) + " |"
                for t, row in zip(topics["labels"], topics["confusion"])]
        out += ["", "![confusion matrix](confusion_matrix.png) ![per-topic F1](per_topic_f1.png)", ""]
    for name, title in (("related", "Related lists (groups)"), ("graded", "Related lists (graded)")):
        metrics = report.get(name)
        if metrics:
            out += [f"## {title}", "", "| metric | value |", "|---|---|"]
            out += [f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |"
                    for k, v in metrics.items() if k != "ndcg_by_k"]
            out += ["", "![nDCG by k](ndcg_by_k.png)", ""]
    return "\n".join(out) + "\n"


def _plots(report: dict[str, Any], folder: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("plots need matplotlib: pip install 'recsys[report]'") from None
    written = []
    topics = report.get("topics")
    if topics:
        fig, ax = plt.subplots(figsize=(5, 4.5))
        ax.imshow(topics["confusion"], cmap="Blues")
        ax.set_xticks(range(len(topics["labels"])), topics["labels"], rotation=30)
        ax.set_yticks(range(len(topics["labels"])), topics["labels"])
        darkest = max(max(row) for row in topics["confusion"]) or 1
        for i, row in enumerate(topics["confusion"]):
            for j, value in enumerate(row):
                ax.text(j, i, str(value), ha="center", va="center",
                        color="white" if value > darkest / 2 else "black")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title("Topic confusion matrix")
        fig.tight_layout()
        fig.savefig(folder / "confusion_matrix.png", dpi=100)
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(5, 3.5))
        names = list(topics["per_topic"])
        ax.bar(names, [topics["per_topic"][t]["f1"] for t in names], color="#4c72b0")
        ax.set_ylim(0, 1)
        ax.set_ylabel("F1")
        ax.set_title(f"Per-topic F1 (macro {topics['macro_f1']:.3f})")
        fig.tight_layout()
        fig.savefig(folder / "per_topic_f1.png", dpi=100)
        plt.close(fig)
        written += ["confusion_matrix.png", "per_topic_f1.png"]
    curves = {name: report[name]["ndcg_by_k"] for name in ("related", "graded")
              if report.get(name, {}).get("ndcg_by_k")}
    if curves:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for name, values in curves.items():
            ax.plot(range(1, len(values) + 1), values, marker="o", label=name)
        ax.set_xlabel("k")
        ax.set_ylabel("nDCG@k")
        ax.set_ylim(0, 1)
        ax.legend()
        ax.set_title("nDCG by k")
        fig.tight_layout()
        fig.savefig(folder / "ndcg_by_k.png", dpi=100)
        plt.close(fig)
        written.append("ndcg_by_k.png")
    return written


def write_report(report: dict[str, Any], folder: str | os.PathLike,
                 model_info: dict[str, Any] | None = None) -> list[Path]:
    """Write ``report.json``, ``report.md`` and the PNG plots into ``folder``; return
    the paths. Files are written through temporary names and renamed into place."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".report-") as staging:
        stage = Path(staging)
        (stage / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2),
                                           encoding="utf-8")
        (stage / "report.md").write_text(_markdown(report, model_info or {}), encoding="utf-8")
        names = ["report.json", "report.md", *_plots(report, stage)]
        for name in names:
            os.replace(stage / name, folder / name)
    return [folder / name for name in names]
