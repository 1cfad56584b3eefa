"""Initializers: empirical statistics against the documented formulas.

The tolerance of every statistical check comes from the sampling distribution:
for ``n`` i.i.d. N(0, sigma^2) draws the sample mean has standard error
``sigma / sqrt(n)`` and the sample standard deviation ``sigma / sqrt(2 n)``
(asymptotically); the checks allow 5 standard errors (false-alarm rate < 1e-6).
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.utils import check_random_state

from sk_dlsetup import MLPFromScratch
from sk_dlsetup.neural_network._initializers import INITIALIZERS, initialize_weights

N_SE = 5

EXPECTED_STD = {
    "he": lambda fan_in: np.sqrt(2.0 / fan_in),
    "xavier": lambda fan_in: np.sqrt(1.0 / fan_in),
    "random": lambda fan_in: 0.01,
}


def _assert_normal_sample(W, sigma):
    """Mean ~ 0 and std ~ sigma within N_SE standard errors of the estimators."""
    n = W.size
    assert abs(W.mean()) < N_SE * sigma / np.sqrt(n)
    assert abs(W.std() - sigma) < N_SE * sigma / np.sqrt(2 * n)


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
@pytest.mark.parametrize("fan_in", [50, 2000])
def test_initializer_std_matches_formula(name, fan_in):
    """Wide layers: empirical std of W within 5 standard errors of the formula."""
    W = INITIALIZERS[name](fan_in, 200_000 // fan_in, np.random.RandomState(fan_in))
    assert W.shape == (fan_in, 200_000 // fan_in)
    _assert_normal_sample(W, EXPECTED_STD[name](fan_in))


def test_initializer_tolerance_separates_the_schemes():
    """The 5-SE band is narrow enough that he and xavier samples are told apart."""
    fan_in, fan_out = 500, 400
    W_he = INITIALIZERS["he"](fan_in, fan_out, np.random.RandomState(0))
    with pytest.raises(AssertionError):
        _assert_normal_sample(W_he, EXPECTED_STD["xavier"](fan_in))


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_initializer_layers_follow_their_own_fan_in(name):
    """initialize_weights scales every layer, output included, by its own fan-in."""
    layer_units = [3000, 60, 2]
    coefs, intercepts = initialize_weights(
        name, layer_units, np.random.RandomState(0), np.float64
    )
    assert [W.shape for W in coefs] == [(3000, 60), (60, 2)]
    for W, fan_in in zip(coefs, layer_units[:-1]):
        _assert_normal_sample(W, EXPECTED_STD[name](fan_in))
    for b, fan_out in zip(intercepts, layer_units[1:]):
        assert_array_equal(b, np.zeros(fan_out))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_initializer_returns_requested_dtype(dtype):
    """Weights and biases come back in the requested dtype."""
    coefs, intercepts = initialize_weights(
        "he", [4, 3, 2], np.random.RandomState(0), dtype
    )
    assert all(a.dtype == dtype for a in coefs + intercepts)


def test_initializer_is_deterministic_given_random_state():
    """The same seed gives identical weights; another seed different ones."""

    def draw(seed):
        return initialize_weights(
            "xavier", [6, 5, 3], np.random.RandomState(seed), float
        )

    first, again, other = draw(0), draw(0), draw(1)
    for W, W_again, W_other in zip(first[0], again[0], other[0]):
        assert_array_equal(W, W_again)
        assert not np.array_equal(W, W_other)


def test_initializer_callable_receives_fans_and_random_state():
    """A callable init is called once per layer with (fan_in, fan_out, rng)."""
    calls = []

    def init(fan_in, fan_out, rng):
        calls.append((fan_in, fan_out, type(rng)))
        return np.full((fan_in, fan_out), 0.5)

    coefs, intercepts = initialize_weights(
        init, [4, 3, 2], np.random.RandomState(0), np.float64
    )
    assert calls == [(4, 3, np.random.RandomState), (3, 2, np.random.RandomState)]
    assert_array_equal(coefs[1], np.full((3, 2), 0.5))
    assert_array_equal(intercepts[0], np.zeros(3))


@pytest.mark.parametrize(
    "bad_init, match",
    [
        (lambda fan_in, fan_out, rng: np.zeros((fan_out, fan_in)), r"shape \(3, 4\)"),
        (lambda fan_in, fan_out, rng: np.zeros(fan_in * fan_out), "shape"),
        (lambda fan_in, fan_out, rng: np.full((fan_in, fan_out), np.nan), "non-finite"),
    ],
    ids=["transposed", "flat", "nan"],
)
def test_initializer_callable_bad_output_raises(bad_init, match):
    """A callable returning the wrong shape or non-finite weights is a ValueError."""
    with pytest.raises(ValueError, match=match):
        initialize_weights(bad_init, [4, 3], np.random.RandomState(0), np.float64)


def test_initializer_callable_wrong_shape_rejected_by_estimator(binary_data):
    """The estimator's initialize reports a callable's wrong shape as ValueError."""
    X, y = binary_data
    model = MLPFromScratch((3,), init=lambda fan_in, fan_out, rng: np.ones((2, 2)))
    with pytest.raises(ValueError, match="expected"):
        model.initialize(X, y)


@pytest.mark.parametrize("random_state", [0, 42])
def test_initializer_callable_gets_check_random_state_stream(binary_data, random_state):
    """The callable's rng starts exactly where check_random_state(seed) starts."""
    X, y = binary_data
    first_state = []

    def init(fan_in, fan_out, rng):
        if not first_state:
            _, key, pos, *_ = rng.get_state()
            first_state.append((key.copy(), pos))
        return rng.standard_normal((fan_in, fan_out))

    MLPFromScratch((3,), init=init, random_state=random_state).initialize(X, y)
    _, key, pos, *_ = check_random_state(random_state).get_state()
    assert_array_equal(first_state[0][0], key)
    assert first_state[0][1] == pos


@pytest.mark.parametrize("init", sorted(INITIALIZERS))
def test_initializer_estimator_weights_reproducible_from_random_state(
    binary_data, init
):
    """Two estimators with the same random_state draw identical weights."""
    X, y = binary_data
    a = MLPFromScratch((4, 3), init=init, random_state=0).initialize(X, y)
    b = MLPFromScratch((4, 3), init=init, random_state=0).initialize(X, y)
    for W_a, W_b in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_array_equal(W_a, W_b)
