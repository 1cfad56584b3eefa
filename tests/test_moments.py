"""Streaming moments: RunningMoments against the moments of the concatenation."""

import numpy as np
import pytest

from sk_dlsetup.preprocessing._moments import RunningMoments


def test_running_moments_equal_those_of_the_concatenation():
    """Arrays of any shape, merged in turn, give the mean and std of all values."""
    rng = np.random.RandomState(0)
    parts = [rng.normal(3.0, 2.0, size) for size in [(10, 4), (7,), (1, 1), (3, 5, 2)]]
    moments = RunningMoments()
    for part in parts:
        moments.add(part)
    values = np.concatenate([p.ravel() for p in parts])
    assert moments.mean == pytest.approx(values.mean(), rel=1e-14)
    assert moments.std == pytest.approx(values.std(), rel=1e-13)


def test_running_moments_keep_a_small_spread_under_a_large_offset():
    """Values 1e9 + {0, 1, 2, 3} (exact in float64): variance 1.25, mean exact."""
    moments = RunningMoments()
    for value in [1e9, 1e9 + 1.0, 1e9 + 2.0, 1e9 + 3.0]:
        moments.add(np.array([value]))
    assert moments.mean == 1e9 + 1.5
    assert moments.std**2 == pytest.approx(1.25, rel=1e-12)


def test_running_moments_empty():
    """No value yet: NaN; an empty array changes nothing."""
    moments = RunningMoments()
    assert np.isnan(moments.mean) and np.isnan(moments.std)
    moments.add(np.array([2.0, 4.0]))
    moments.add(np.empty(0))
    assert (moments.mean, moments.std) == (3.0, 1.0)
