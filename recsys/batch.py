"""Related lists for a whole archive, chunk by chunk, locally or on a Dask cluster.

Chunks are independent, so they run through joblib: in this process, in local worker
processes (``n_jobs``), or on an existing Dask cluster through joblib's Dask backend.
Only querying is distributed; the model is trained on one machine and shipped to the
workers once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
from joblib import Parallel, delayed, parallel_config

from .model import NewsModel
from .related import Related, RelatedIndex

__all__ = ["export_related"]


def _chunk(index: RelatedIndex, rows: np.ndarray, settings: dict[str, Any]) -> list[tuple[str, Related]]:
    return [(str(i), r) for i, r in index.finish_chunk(rows, **settings)]


def export_related(model: NewsModel, *, chunk_size: int = 2000, n_jobs: int = 1,
                   dask: bool = False, scheduler: str | None = None,
                   **settings: Any) -> Iterator[tuple[str, Related]]:
    """Yield ``(id, Related)`` for every archived article, in archive order.

    Parameters
    ----------
    chunk_size
        Articles per task.
    n_jobs
        Local worker processes (ignored with Dask, which uses the cluster's workers).
    dask, scheduler
        Run the chunks on Dask: on the cluster at ``scheduler`` (``tcp://host:8786``),
        or, with no address, on the client already current in this process.
    settings
        :class:`~recsys.RelatedSettings` overrides, e.g. ``k=10``.
    """
    index = model.index
    rows = np.arange(len(index))
    chunks = [rows[start:start + chunk_size] for start in range(0, len(rows), chunk_size)]
    with contextlib.ExitStack() as stack:
        if dask:
            from distributed import Client, get_client

            client = Client(scheduler) if scheduler else get_client()
            if scheduler:
                stack.callback(client.close)
            stack.enter_context(parallel_config(backend="dask", scatter=[index]))
            parallel = Parallel(n_jobs=-1, return_as="generator")
        else:
            parallel = Parallel(n_jobs=n_jobs, return_as="generator")
        for results in parallel(delayed(_chunk)(index, chunk, settings) for chunk in chunks):
            yield from results
