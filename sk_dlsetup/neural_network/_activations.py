"""Hidden-layer activations, each rule beside its derivative, in one table.

Every forward rule works in place on a preallocated array (hence the
``inplace_`` names, scikit-learn's convention) so the training loop allocates
nothing per batch. Derivatives are written in terms of the activation's
*output* ``A = g(Z)`` (which the forward pass keeps anyway), as in
scikit-learn's ``sklearn.neural_network._base``.

The fast gradient check (:mod:`sk_dlsetup.gradcheck._fast`) needs three more
rules per activation, kept in the same table beside the forward rule they
mirror: the *change* ``g(z + d) - g(z)`` written without cancellation, the
Taylor coefficients ``g^(q)(z) / q!`` (q = 1 .. ``ORDER``), and a bound on
``|g'(z)|`` used to size round-off. ``base(Z)`` precomputes, once per layer,
what those rules need to know about ``Z``. A kink (``has_kink``) sits at
``z = 0``.

Beside each in-place NumPy rule sits its Array API twin (``xp_``, returning a
new array; no ``out=`` exists in the standard), which training on another
library's arrays runs (:mod:`._xp_network`): the same formula, in ``xp``.
"""

from typing import NamedTuple

import numpy as np
from scipy.special import expit

from ._series import small_expm1, small_tanh

# --------------------------------------------------------------------------
# identity


def identity(Z):
    """Leave ``Z`` unchanged: :math:`g(z) = z`."""
    return Z


def identity_derivative(A, delta):
    """:math:`g'(z) = 1`: ``delta`` is already ``dJ/dZ``."""
    return delta


def xp_identity(xp, Z):
    return Z


def xp_identity_derivative(xp, A, delta):
    return delta


def _identity_base(Z):
    return None


def _identity_change(Z, base, D):
    return D


def _identity_taylor(Z, base):
    return [np.ones_like(Z), None, None, None]


def _identity_bound(base):
    return None


# --------------------------------------------------------------------------
# relu


def inplace_relu(Z):
    """:math:`g(z) = \\max(0, z)`, in place."""
    # A row of zeros rather than the scalar 0: numpy's SIMD loop for two
    # arrays is about twice as fast as its array-scalar loop (float32).
    return np.maximum(Z, np.zeros(Z.shape[-1], Z.dtype), out=Z)


def inplace_relu_derivative(A, delta):
    """:math:`g'(z) = 1[z > 0]`, i.e. ``A > 0``; multiplies ``delta`` in place."""
    return np.multiply(delta, A > 0, out=delta)


def xp_relu(xp, Z):
    return xp.clip(Z, min=0.0)


def xp_relu_derivative(xp, A, delta):
    # zeros_like rather than the scalar 0: scalars in where are 2024.12's.
    return xp.where(A > 0, delta, xp.zeros_like(delta))


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


# --------------------------------------------------------------------------
# tanh


def inplace_tanh(Z):
    """:math:`g(z) = \\tanh z`, in place."""
    return np.tanh(Z, out=Z)


def inplace_tanh_derivative(A, delta):
    """:math:`g'(z) = 1 - \\tanh^2 z = 1 - A^2`; multiplies ``delta`` in place."""
    delta -= delta * A * A
    return delta


def xp_tanh(xp, Z):
    return xp.tanh(Z)


def xp_tanh_derivative(xp, A, delta):
    return delta - delta * A * A


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


# --------------------------------------------------------------------------
# logistic


def inplace_logistic(Z):
    """:math:`g(z) = 1 / (1 + e^{-z})`, in place."""
    return expit(Z, out=Z)


def inplace_logistic_derivative(A, delta):
    """:math:`g'(z) = g(z) (1 - g(z)) = A (1 - A)`; multiplies ``delta`` in place."""
    delta *= A
    delta -= delta * A
    return delta


def xp_logistic(xp, Z):
    return 1.0 / (1.0 + xp.exp(-Z))


def xp_logistic_derivative(xp, A, delta):
    delta = delta * A
    return delta - delta * A


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


# --------------------------------------------------------------------------


class Activation(NamedTuple):
    """A hidden-layer activation: the forward rule, its derivative and expansions.

    ``forward(Z)`` and ``derivative(A, delta)`` (in place) are what training
    runs; ``base``, ``change``, ``taylor`` and ``derivative_bound`` are what
    the fast gradient check runs (see the module docstring).
    """

    forward: object
    derivative: object
    has_kink: bool
    base: object  # Z -> what change and taylor need to know about Z
    change: object  # (Z, base, D) -> g(Z + D) - g(Z), without cancellation
    taylor: object  # (Z, base) -> [g'(Z), g''(Z) / 2, ...], None for zero
    derivative_bound: object  # base -> bound on |g'(Z)| (None: 1)
    xp_forward: object  # (xp, Z) -> g(Z), a new array of namespace xp
    xp_derivative: object  # (xp, A, delta) -> delta * g'(Z), a new array


ACTIVATIONS = {
    "identity": Activation(
        identity, identity_derivative, False,
        _identity_base, _identity_change, _identity_taylor, _identity_bound,
        xp_identity, xp_identity_derivative,
    ),
    "relu": Activation(
        inplace_relu, inplace_relu_derivative, True,
        _relu_base, _relu_change, _relu_taylor, _relu_bound,
        xp_relu, xp_relu_derivative,
    ),
    "tanh": Activation(
        inplace_tanh, inplace_tanh_derivative, False,
        _tanh_base, _tanh_change, _tanh_taylor, _tanh_bound,
        xp_tanh, xp_tanh_derivative,
    ),
    "logistic": Activation(
        inplace_logistic, inplace_logistic_derivative, False,
        _logistic_base, _logistic_change, _logistic_taylor, _logistic_bound,
        xp_logistic, xp_logistic_derivative,
    ),
}  # fmt: skip
