"""The rules only the fast gradient check needs, per activation and per loss.

The network's own rules (forward, derivative, loss and output delta) live in
:mod:`sk_dlsetup.neural_network._activations` and ``._losses``; the fast
gradient check (:mod:`._fast`, :mod:`._expansion`) needs more about each, kept
here beside the checker, in tables with the same keys (a test keeps them so):

* per activation: whether it has a kink (at ``z = 0``), ``base(Z)`` (what the
  other rules need to know about ``Z``, computed once per layer), the *change*
  ``g(z + d) - g(z)`` written without cancellation, the Taylor coefficients
  ``g^(q)(z) / q!`` (q = 1 .. ``ORDER``) and a bound on ``|g'(z)|`` used to
  size round-off;
* per loss: the per-sample *change* of the loss when the output
  pre-activation moves by ``dZ`` (``log1p`` / ``expm1``, no cancellation), the
  same when one output column alone moves, its Taylor coefficients (a jet, see
  :mod:`sk_dlsetup.neural_network._series`) and the sizes of the terms of the
  output delta (for round-off bounds). They take the output ``P = output(Z)``
  precomputed.

All of them run in float64 NumPy: gradient checks do.
"""

from typing import NamedTuple

import numpy as np
from scipy.special import expit

from ..neural_network._series import (
    EXPM1,
    LOG1P,
    jet_add,
    jet_map,
    jet_mul,
    jet_powers,
    jet_series,
    jet_sub,
    small_expm1,
    small_tanh,
)

# --------------------------------------------------------------- activations


def _identity_base(Z):
    return None


def _identity_change(Z, base, D):
    return D


def _identity_taylor(Z, base):
    return [np.ones_like(Z), None, None, None]


def _identity_bound(base):
    return None


def _relu_base(Z):
    return Z > 0


def _relu_change(Z, base, D):
    """``relu(z + d) - relu(z)``: exactly ``d`` while both sides are positive."""
    moved = Z + D
    return np.where(base, np.where(moved > 0, D, -Z), np.maximum(moved, 0.0))


def _relu_taylor(Z, base):
    return [base.astype(np.float64), None, None, None]


def _relu_bound(base):
    """``|relu'(z)| = 1[z > 0]``."""
    return base


def _tanh_base(Z):
    with np.errstate(over="ignore"):
        cosh = np.cosh(Z)
        return np.tanh(Z), 1.0 / (cosh * cosh)


def _tanh_change(Z, base, D):
    """``tanh(z + d) - tanh(z) = tanh(d) sech(z)^2 / (1 + tanh(z) tanh(d))``."""
    T, S = base
    t = small_tanh(D)
    return t * S / (1.0 + T * t)


def _tanh_taylor(Z, base):
    T, S = base
    T2 = T * T
    return [S, -T * S, -S * (1.0 - 3.0 * T2) / 3.0, T * S * (2.0 - 3.0 * T2) / 3.0]


def _tanh_bound(base):
    """``|1 - tanh^2| + 1``: the ``+ 1`` covers ``1 - A^2`` computed from A.

    A derivative computed from the activation's output is exact to an
    absolute, not a relative, round-off, which matters for saturated units.
    """
    return np.abs(base[1]) + 1.0


def _logistic_base(Z):
    return expit(Z), expit(-Z)


def _logistic_change(Z, base, D):
    """``s(z + d) - s(z) = -s(z) s(-z) expm1(-d) / (1 + s(-z) expm1(-d))``."""
    s, q = base
    em = small_expm1(-D)
    return -(s * q) * em / (1.0 + q * em)


def _logistic_taylor(Z, base):
    s, q = base
    u = s * q
    return [u, u * (q - s) / 2.0, u * (1.0 - 6.0 * u) / 6.0,
            u * (q - s) * (1.0 - 12.0 * u) / 24.0]  # fmt: skip


def _logistic_bound(base):
    """``|s (1 - s)| + 1``, for the same reason as :func:`_tanh_bound`."""
    return np.abs(base[0] * base[1]) + 1.0


class ActivationCheckRules(NamedTuple):
    """What the fast gradient check needs of a hidden activation."""

    has_kink: bool
    base: object  # Z -> what change and taylor need to know about Z
    change: object  # (Z, base, D) -> g(Z + D) - g(Z), without cancellation
    taylor: object  # (Z, base) -> [g'(Z), g''(Z) / 2, ...], None for zero
    derivative_bound: object  # base -> bound on |g'(Z)| (None: 1)


ACTIVATION_CHECK_RULES = {
    "identity": ActivationCheckRules(
        has_kink=False, base=_identity_base, change=_identity_change,
        taylor=_identity_taylor, derivative_bound=_identity_bound,
    ),
    "relu": ActivationCheckRules(
        has_kink=True, base=_relu_base, change=_relu_change,
        taylor=_relu_taylor, derivative_bound=_relu_bound,
    ),
    "tanh": ActivationCheckRules(
        has_kink=False, base=_tanh_base, change=_tanh_change,
        taylor=_tanh_taylor, derivative_bound=_tanh_bound,
    ),
    "logistic": ActivationCheckRules(
        has_kink=False, base=_logistic_base, change=_logistic_change,
        taylor=_logistic_taylor, derivative_bound=_logistic_bound,
    ),
}  # fmt: skip

# -------------------------------------------------------------------- losses


def _linear_jet(Y, dZ):
    """The jet of ``sum_k y_k dz_k``, the part every log-loss change shares."""
    return jet_map(lambda term: (Y * term).sum(axis=-1), dZ)


def _binary_log_change(Z, Y, P, dZ):
    """``sum_k log(1 + p_k expm1(dz_k)) - y_k dz_k`` per sample."""
    return np.log1p(P * small_expm1(dZ)).sum(axis=-1) - (Y * dZ).sum(axis=-1)


def _log_column_change(Zj, Yj, Pj, t, n_outputs):
    """One output column moved by ``t``: ``log(1 + p_j expm1(t)) - y_j t``.

    The same for softmax and logistic outputs when one logit alone moves.
    """
    return np.log1p(Pj * small_expm1(t)) - Yj * t


def _binary_log_jet(Z, Y, P, dZ):
    inner = jet_map(lambda term: P * term, jet_series(EXPM1, jet_powers(dZ)))
    change = jet_map(
        lambda term: term.sum(axis=-1), jet_series(LOG1P, jet_powers(inner))
    )
    return jet_sub(change, _linear_jet(Y, dZ))


def _log_delta_size(Z, Y, P):
    """Sizes of the output delta's terms ``p - y``: ``|p| + |y|`` (Poisson too)."""
    return P + np.abs(Y)


def _softmax_change(Z, Y, P, dZ):
    """``log(sum_k p_k exp(dz_k)) - sum_k y_k dz_k`` per sample."""
    return np.log1p((P * small_expm1(dZ)).sum(axis=-1)) - (Y * dZ).sum(axis=-1)


def _softmax_jet(Z, Y, P, dZ):
    expm1 = jet_series(EXPM1, jet_powers(dZ))
    inner = jet_map(lambda term: (P * term).sum(axis=-1), expm1)
    return jet_sub(jet_series(LOG1P, jet_powers(inner)), _linear_jet(Y, dZ))


def _squared_change(Z, Y, P, dZ):
    """``sum_k (2 (z_k - y_k) + dz_k) dz_k / (2 k)`` per sample."""
    per_unit = (2.0 * (Z - Y) + dZ) * dZ
    return per_unit.sum(axis=-1) / (2.0 * Z.shape[1])


def _squared_column_change(Zj, Yj, Pj, t, n_outputs):
    return (2.0 * (Zj - Yj) + t) * t / (2.0 * n_outputs)


def _squared_jet(Z, Y, P, dZ):
    residual = 2.0 * (Z - Y)
    terms = jet_add(jet_map(lambda term: residual * term, dZ), jet_mul(dZ, dZ))
    return jet_map(lambda term: term.sum(axis=-1) / (2.0 * Z.shape[1]), terms)


def _squared_delta_size(Z, Y, P):
    """Sizes of the output delta's terms ``(z - y) / k``."""
    return (np.abs(Z) + np.abs(Y)) / Z.shape[1]


def _poisson_change(Z, Y, P, dZ):
    """``sum_k p_k expm1(dz_k) - y_k dz_k`` per sample."""
    return (P * small_expm1(dZ)).sum(axis=-1) - (Y * dZ).sum(axis=-1)


def _poisson_column_change(Zj, Yj, Pj, t, n_outputs):
    return Pj * small_expm1(t) - Yj * t


def _poisson_jet(Z, Y, P, dZ):
    change = jet_map(
        lambda term: (P * term).sum(axis=-1), jet_series(EXPM1, jet_powers(dZ))
    )
    return jet_sub(change, _linear_jet(Y, dZ))


class LossCheckRules(NamedTuple):
    """What the fast gradient check needs of a loss (with its output)."""

    change: object  # (Z, Y, P, dZ) -> per-sample loss change
    column_change: object  # (Zj, Yj, Pj, t, n_outputs) -> the same, one column
    jet: object  # (Z, Y, P, dZ jet) -> jet of the per-sample loss change
    delta_size: object  # (Z, Y, P) -> sizes of the output delta's terms


LOSS_CHECK_RULES = {
    "binary_log_loss": LossCheckRules(
        change=_binary_log_change, column_change=_log_column_change,
        jet=_binary_log_jet, delta_size=_log_delta_size,
    ),
    "log_loss": LossCheckRules(
        change=_softmax_change, column_change=_log_column_change,
        jet=_softmax_jet, delta_size=_log_delta_size,
    ),
    "squared_error": LossCheckRules(
        change=_squared_change, column_change=_squared_column_change,
        jet=_squared_jet, delta_size=_squared_delta_size,
    ),
    "poisson": LossCheckRules(
        change=_poisson_change, column_change=_poisson_column_change,
        jet=_poisson_jet, delta_size=_log_delta_size,
    ),
}  # fmt: skip
