"""Training keeps freed memory for reuse (recsys.allocator), and only while it runs."""

from __future__ import annotations

import resource

import numpy as np
import pytest

from recsys import NewsModel
from recsys.allocator import _glibc, freed_memory_kept

pytestmark = pytest.mark.skipif(_glibc() is None, reason="only glibc's allocator has the settings")


def _faults_of_second_array() -> int:
    """Page faults in making a 48 MB array after one was made and freed (above the 32 MB
    up to which glibc's own thresholds may rise, under the free memory training keeps)."""
    np.ones(6 << 20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    np.ones(6 << 20)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_freed_memory_is_reused_inside_the_block_and_given_back_after(corpus) -> None:
    with freed_memory_kept():
        assert _faults_of_second_array() == 0
    assert _faults_of_second_array() > 0
    NewsModel.train(corpus[:60])  # sets and restores the thresholds around its work
    assert _faults_of_second_array() > 0
