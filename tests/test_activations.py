"""Hidden activations against scikit-learn's and against finite differences."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.neural_network._base import ACTIVATIONS as SK_ACTIVATIONS
from sklearn.neural_network._base import DERIVATIVES as SK_DERIVATIVES

from sk_dlsetup.gradcheck._rules import ACTIVATION_CHECK_RULES
from sk_dlsetup.neural_network._activations import ACTIVATIONS

NAMES = ["identity", "relu", "tanh", "logistic"]


def _preactivations(rng, dtype=np.float64):
    """Pre-activations spanning both signs, kept 1e-3 away from ReLU's kink."""
    Z = rng.uniform(-4, 4, size=(30, 7))
    Z[np.abs(Z) < 1e-3] = 0.5
    return Z.astype(dtype)


def test_activation_table_has_the_four_documented_names():
    """The table offers exactly identity, relu, tanh and logistic; the checker's
    rules have the same keys, and only relu kinks."""
    assert set(ACTIVATIONS) == set(NAMES)
    assert set(ACTIVATION_CHECK_RULES) == set(ACTIVATIONS)
    kinked = {name for name, rule in ACTIVATION_CHECK_RULES.items() if rule.has_kink}
    assert kinked == {"relu"}


@pytest.mark.parametrize("name", NAMES)
def test_activation_same_rule_in_array_api_strict(name, rng):
    """The one rule, run in array-api-strict, equals its NumPy run (forward and
    derivative, both in place)."""
    xp = pytest.importorskip("array_api_strict")
    Z = _preactivations(rng)
    A = ACTIVATIONS[name].forward(Z.copy())
    delta = rng.standard_normal(A.shape)
    expected = ACTIVATIONS[name].derivative(A, delta.copy())
    Z_xp = xp.asarray(Z.copy())  # asarray may share memory
    A_xp = ACTIVATIONS[name].forward(Z_xp, xp)
    assert_allclose(np.asarray(Z_xp), A, rtol=1e-15)  # in place
    actual = ACTIVATIONS[name].derivative(A_xp, xp.asarray(delta), xp)
    assert_allclose(np.asarray(actual), expected, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("name", NAMES)
def test_activation_forward_matches_sklearn(name, rng):
    """g(Z) equals scikit-learn's in-place activation of the same Z."""
    Z = _preactivations(rng)
    expected = Z.copy()
    SK_ACTIVATIONS[name](expected)
    assert_allclose(ACTIVATIONS[name].forward(Z.copy()), expected, rtol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_activation_derivative_matches_sklearn(name, rng):
    """delta * g'(z), computed from A = g(Z), equals scikit-learn's derivative."""
    A = ACTIVATIONS[name].forward(_preactivations(rng))
    delta = rng.standard_normal(A.shape)
    expected = delta.copy()
    SK_DERIVATIVES[name](A, expected)
    actual = ACTIVATIONS[name].derivative(A, delta.copy())
    assert_allclose(actual, expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_activation_derivative_matches_finite_difference(name, rng):
    """g'(z) equals the central difference (g(z + h) - g(z - h)) / 2h."""
    Z = _preactivations(rng)
    h = 1e-6
    g = ACTIVATIONS[name].forward
    numeric = (g(Z + h) - g(Z - h)) / (2 * h)
    analytic = ACTIVATIONS[name].derivative(g(Z.copy()), np.ones_like(Z))
    assert_allclose(analytic, numeric, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_activation_keeps_float32(name, rng):
    """float32 stays float32, within float32 accuracy of scikit-learn's float64."""
    Z = _preactivations(rng, np.float32)
    A = ACTIVATIONS[name].forward(Z.copy())
    delta = ACTIVATIONS[name].derivative(A, np.ones_like(A))
    assert A.dtype == np.float32 and delta.dtype == np.float32
    A64 = Z.astype(np.float64)
    SK_ACTIVATIONS[name](A64)
    expected_delta = np.ones_like(A64)
    SK_DERIVATIVES[name](A64, expected_delta)
    assert_allclose(A, A64, rtol=1e-6, atol=1e-7)
    assert_allclose(delta, expected_delta, rtol=1e-5, atol=1e-6)


def test_activation_relu_derivative_is_zero_at_and_below_zero():
    """ReLU's derivative is 1 for z > 0 and 0 for z <= 0 (scikit-learn's convention)."""
    Z = np.array([[-2.0, -0.0, 0.0, 1e-300, 3.0]])
    A = ACTIVATIONS["relu"].forward(Z.copy())
    assert_array_equal(
        ACTIVATIONS["relu"].derivative(A, np.ones_like(A)), [[0, 0, 0, 1, 1]]
    )


def test_activation_saturated_inputs_stay_finite():
    """tanh and logistic of +-1e4 and 1e150 are finite with finite derivatives."""
    Z = np.array([[-1e150, -1e4, 1e4, 1e150]])
    for name in ("tanh", "logistic"):
        A = ACTIVATIONS[name].forward(Z.copy())
        delta = ACTIVATIONS[name].derivative(A, np.ones_like(A))
        assert np.all(np.isfinite(A)) and np.all(np.isfinite(delta))
        assert_allclose(delta, 0, atol=1e-300)
