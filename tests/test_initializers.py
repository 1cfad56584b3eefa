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

GAUSSIAN = ["he", "random", "xavier"]

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


@pytest.mark.parametrize("name", GAUSSIAN)
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


@pytest.mark.parametrize("name", GAUSSIAN)
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


# ------------------------------------------------------------ for depth


@pytest.mark.parametrize(
    "activation, gain", [("relu", np.sqrt(2.0)), ("tanh", 1.0), ("logistic", 1.0)]
)
def test_orthogonal_is_gain_times_orthonormal(activation, gain):
    """W.T @ W = gain^2 I (tall), W @ W.T = gain^2 I (wide), the output layer's
    gain 1: the closed form of 'orthogonal', to round-off."""
    layer_units = [20, 12, 30, 5]
    coefs, intercepts = initialize_weights(
        "orthogonal", layer_units, np.random.RandomState(0), np.float64, activation
    )
    gains = [gain, gain, 1.0]
    for W, g in zip(coefs, gains):
        fan_in, fan_out = W.shape
        gram = W.T @ W if fan_in >= fan_out else W @ W.T
        np.testing.assert_allclose(gram, g**2 * np.eye(min(W.shape)), atol=1e-13)
    assert all(not b.any() for b in intercepts)


def test_orthogonal_is_haar_distributed():
    """Signs of R's diagonal fixed: a column's first entry is positive or
    negative alike (unfixed QR would bias it), over many draws."""
    rng = np.random.RandomState(0)
    firsts = [INITIALIZERS["orthogonal"](6, 3, rng)[0, 0] for _ in range(2000)]
    share = np.mean(np.array(firsts) > 0)
    assert abs(share - 0.5) < N_SE * 0.5 / np.sqrt(2000)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_lsuv_gives_unit_preactivation_variance(activation):
    """Each layer's pre-activation variance (over rows x units) is 1 within 0.05
    on the rows used, computed here by a plain forward pass."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, 8)) * [1, 3, 10, 0.1, 1, 1, 2, 5] + 4.0
    y = rng.randint(0, 3, 300)
    model = MLPFromScratch(
        (16, 16, 16), activation=activation, init="lsuv", random_state=0
    ).initialize(X, y)
    g = {
        "relu": lambda Z: np.maximum(Z, 0),
        "tanh": np.tanh,
        "logistic": lambda Z: 1 / (1 + np.exp(-Z)),
        "identity": lambda Z: Z,
    }[activation]
    A = X
    for layer, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        Z = A @ W + b
        assert abs(Z.var() - 1.0) <= 0.05, (layer, Z.var())
        A = g(Z)


def test_lsuv_measures_on_at_most_1024_rows_drawn_with_random_state():
    """On more rows, the variance is 1 on the 1,024 drawn with random_state (the
    same draw after the weights), and the same random_state gives the same W."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((3000, 5)) * np.linspace(0.5, 4, 5)
    y = rng.randint(0, 2, 3000)
    model = MLPFromScratch((8,), init="lsuv", random_state=3).initialize(X, y)
    again = MLPFromScratch((8,), init="lsuv", random_state=3).initialize(X, y)
    assert_array_equal(model.coefs_[0], again.coefs_[0])
    stream = check_random_state(3)
    for fan_in, fan_out in ((5, 8), (8, 1)):
        INITIALIZERS["orthogonal"](fan_in, fan_out, stream)
    rows = np.sort(stream.choice(3000, 1024, replace=False))
    assert abs((X[rows] @ model.coefs_[0]).var() - 1.0) <= 0.05


def test_lsuv_without_data_is_a_clear_error():
    with pytest.raises(ValueError, match="lsuv.*needs X"):
        initialize_weights("lsuv", [3, 2], np.random.RandomState(0), np.float64)
