"""Truncated Taylor series (jets) against numpy's polynomial arithmetic."""

import numpy as np
import pytest
from numpy.polynomial import polynomial as P

from sk_dlsetup.neural_network._series import (
    EXPM1,
    LOG1P,
    ORDER,
    SMALL,
    jet_add,
    jet_mul,
    jet_powers,
    jet_series,
    jet_sub,
    small_expm1,
    small_tanh,
)


def _as_poly(jet):
    """A jet (no constant term) as numpy polynomial coefficients, c^0 .. c^ORDER."""
    return np.array([0.0] + [0.0 if t is None else float(t) for t in jet])


def _truncate(coefs):
    out = np.zeros(ORDER + 1)
    out[: min(len(coefs), ORDER + 1)] = coefs[: ORDER + 1]
    return out


@pytest.fixture
def jets():
    rng = np.random.RandomState(0)
    x = [rng.randn(), None, rng.randn(), rng.randn()]
    y = [rng.randn(), rng.randn(), None, rng.randn()]
    return x, y


def test_jet_mul_equals_truncated_polynomial_product(jets):
    """jet_mul is the product of the two series, truncated at ORDER."""
    x, y = jets
    expected = _truncate(P.polymul(_as_poly(x), _as_poly(y)))
    np.testing.assert_allclose(_as_poly(jet_mul(x, y)), expected, rtol=1e-15)


def test_jet_add_and_sub_are_coefficientwise(jets):
    """Sums and differences of jets add the coefficients (None is zero)."""
    x, y = jets
    np.testing.assert_array_equal(_as_poly(jet_add(x, y)), _as_poly(x) + _as_poly(y))
    np.testing.assert_array_equal(_as_poly(jet_sub(x, y)), _as_poly(x) - _as_poly(y))


@pytest.mark.parametrize("coefs", [EXPM1, LOG1P], ids=["expm1", "log1p"])
def test_jet_series_is_the_truncated_composition(jets, coefs):
    """sum_q a_q x^q composed with a jet equals numpy's polynomial composition."""
    x, _ = jets
    expected = np.zeros(ORDER + 1)
    power = np.array([1.0])
    for a in coefs:
        power = _truncate(P.polymul(power, _as_poly(x)))
        expected += a * power
    result = _as_poly(jet_series(coefs, jet_powers(x)))
    np.testing.assert_allclose(result, expected, rtol=1e-14, atol=1e-15)


def test_series_coefficients_are_those_of_expm1_and_log1p():
    """EXPM1 and LOG1P are the Taylor coefficients of exp(x) - 1 and log(1 + x)."""
    x = 1e-3  # the first omitted terms are x^5 / 120 and x^5 / 5
    assert sum(a * x ** (q + 1) for q, a in enumerate(EXPM1)) == pytest.approx(
        np.expm1(x), rel=1e-14
    )
    assert sum(a * x ** (q + 1) for q, a in enumerate(LOG1P)) == pytest.approx(
        np.log1p(x), rel=1e-12
    )


@pytest.mark.parametrize(
    "small, reference", [(small_tanh, np.tanh), (small_expm1, np.expm1)]
)
def test_small_argument_functions_match_numpy(small, reference):
    """Below SMALL the series agree with numpy to an ulp; above it they are numpy."""
    x = np.random.RandomState(1).uniform(-SMALL, SMALL, 1000) * 0.999
    np.testing.assert_allclose(small(x), reference(x), rtol=3e-16, atol=0)
    large = np.array([0.5, -2.0, 1e-4])
    np.testing.assert_array_equal(small(large), reference(large))
