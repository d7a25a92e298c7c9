"""Batch export: local processes and a Dask cluster give the single-process output."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def export(bundle: Path, out: Path, *extra: str) -> str:
    result = runner.invoke(app, ["export", "--model", str(bundle), "--out", str(out), "-k", "5",
                                 "--chunk-size", "60", *extra])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_local_jobs_equal_single_process(bundle: Path, tmp_path: Path) -> None:
    single = export(bundle, tmp_path / "single.jsonl")
    assert export(bundle, tmp_path / "jobs.jsonl", "--n-jobs", "2") == single


def test_dask_cluster_equals_single_process(bundle: Path, tmp_path: Path, corpus: list) -> None:
    distributed = pytest.importorskip("distributed", reason="dask.distributed is a test dependency")
    single = export(bundle, tmp_path / "single.jsonl")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        on_dask = export(bundle, tmp_path / "dask.jsonl", "--scheduler", cluster.scheduler_address)
    assert on_dask == single
    assert len(on_dask.splitlines()) == len(corpus)
