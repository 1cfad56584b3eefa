"""Losses paired with their canonical output activations, in one table.

Each loss works from the output *pre-activation* ``Z`` (log-sum-exp and softplus
forms, so saturated outputs give finite values) and, in the same pass, turns
``Z`` into the output delta ``dJ/dZ``. With the canonical pairing the delta is
simply ``g_out(Z) - Y`` (divided by the number of outputs for the squared error,
whose value averages over outputs; scikit-learn's MLP omits that division, its
issue #8349), times the per-sample averaging weight.

The data term is scikit-learn's:

.. math::

    J_{data} = \\frac{\\sum_i s_i \\ell_i}{\\sum_i s_i}

with ``s_i = 1`` when there are no sample weights.

Functions that overwrite an argument carry the ``inplace_`` prefix
(scikit-learn's convention). Beside each loss sit the rules the fast gradient
check (:mod:`sk_dlsetup.gradcheck._fast`) needs: the per-sample *change* of
the loss when the output pre-activation moves by ``dZ``, written without
cancellation (``log1p`` / ``expm1``), the same when one output column alone
moves, its Taylor coefficients (a jet, see :mod:`._series`), and the size of
the terms of the output delta (for round-off bounds). They take the output
``P = output(Z)`` precomputed.

Beside each in-place NumPy loss sits its Array API twin (``xp_``): the same
per-sample losses and output delta, as new arrays of namespace ``xp``.
"""

from typing import NamedTuple

import numpy as np
from scipy.special import expit, xlogy

from ._series import (
    EXPM1,
    LOG1P,
    jet_add,
    jet_map,
    jet_mul,
    jet_powers,
    jet_series,
    jet_sub,
    small_expm1,
)


def inplace_binary_log_loss(Z, Y):
    """Logistic outputs: per-sample ``sum_k softplus(z) - y z``; ``Z <- expit(Z) - Y``.

    ``softplus(z) - y z`` equals ``-[y log p + (1 - y) log(1 - p)]`` for
    ``p = expit(z)`` without overflow or ``log(0)``.

    Examples
    --------
    >>> import numpy as np
    >>> Z, Y = np.array([[0.0], [2.0]]), np.array([[1.0], [0.0]])
    >>> per_sample = inplace_binary_log_loss(Z, Y)
    >>> bool(np.allclose(per_sample, [np.log(2), 2 + np.log1p(np.exp(-2))]))
    True
    >>> bool(np.allclose(Z, [[0.5 - 1], [1 / (1 + np.exp(-2))]]))
    True
    """
    per_sample = np.logaddexp(0.0, Z)
    per_sample -= Y * Z
    expit(Z, out=Z)
    Z -= Y
    return per_sample.sum(axis=1)


def xp_binary_log_loss(xp, Z, Y):
    """:func:`inplace_binary_log_loss` in ``xp``: ``(per_sample, delta)``."""
    per_sample = xp.sum(xp.logaddexp(xp.zeros_like(Z), Z) - Y * Z, axis=1)
    return per_sample, xp_logistic_output(xp, Z) - Y


def xp_logistic_output(xp, Z):
    return 1.0 / (1.0 + xp.exp(-Z))


def inplace_softmax_log_loss(Z, Y):
    """Softmax outputs: per-sample ``logsumexp(z) - sum(y z)``; ``Z <- softmax(Z) - Y``.

    Examples
    --------
    >>> import numpy as np
    >>> Z, Y = np.zeros((2, 4)), np.eye(4)[:2]
    >>> bool(np.allclose(inplace_softmax_log_loss(Z, Y), np.log(4)))
    True
    >>> Z[0]
    array([-0.75,  0.25,  0.25,  0.25])
    """
    Z -= _row_max(Z)
    target_logit = np.einsum("ij,ij->i", Y, Z)
    np.exp(Z, out=Z)
    normalizer = _row_sum(Z)
    Z /= normalizer
    Z -= Y
    return np.log(normalizer[:, 0]) - target_logit


def xp_softmax_log_loss(xp, Z, Y):
    """:func:`inplace_softmax_log_loss` in ``xp``: ``(per_sample, delta)``."""
    Z = Z - xp.max(Z, axis=1, keepdims=True)
    exp_Z = xp.exp(Z)
    normalizer = xp.sum(exp_Z, axis=1, keepdims=True)
    per_sample = xp.log(normalizer[:, 0]) - xp.sum(Y * Z, axis=1)
    return per_sample, exp_Z / normalizer - Y


def xp_softmax_output(xp, Z):
    exp_Z = xp.exp(Z - xp.max(Z, axis=1, keepdims=True))
    return exp_Z / xp.sum(exp_Z, axis=1, keepdims=True)


def inplace_half_squared_error(Z, Y):
    """Identity outputs: per-sample ``sum_k (z - y)^2 / (2 k)``; ``Z <- (Z - Y) / k``.

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.array([[1.0, 3.0]])
    >>> inplace_half_squared_error(Z, np.zeros((1, 2))), Z
    (array([2.5]), array([[0.5, 1.5]]))
    """
    Z -= Y
    n_outputs = Z.shape[1]
    per_sample = np.einsum("ij,ij->i", Z, Z)
    per_sample /= 2 * n_outputs
    if n_outputs > 1:
        Z /= n_outputs
    return per_sample


def xp_half_squared_error(xp, Z, Y):
    """:func:`inplace_half_squared_error` in ``xp``: ``(per_sample, delta)``."""
    D = Z - Y
    n_outputs = Z.shape[1]
    return xp.sum(D * D, axis=1) / (2 * n_outputs), D / n_outputs


def xp_identity_output(xp, Z):
    return Z


def inplace_half_poisson_deviance(Z, Y):
    """Exp outputs: per-sample ``sum_k y log y - y z - y + e^z``; ``Z <- e^Z - Y``.

    scikit-learn's half Poisson deviance ``xlogy(y, y / p) - y + p`` with
    ``p = exp(z)``, its constant ``y log y - y`` included, written in ``z`` so
    that no ``log(p)`` is taken.

    Examples
    --------
    >>> import numpy as np
    >>> Z, Y = np.array([[0.0], [np.log(2.0)]]), np.array([[1.0], [0.0]])
    >>> inplace_half_poisson_deviance(Z, Y), Z
    (array([0., 2.]), array([[0.], [2.]]))
    """
    per_sample = xlogy(Y, Y).sum(axis=1)
    per_sample -= np.einsum("ij,ij->i", Y, Z)
    per_sample -= Y.sum(axis=1)
    np.exp(Z, out=Z)
    per_sample += Z.sum(axis=1)
    Z -= Y
    return per_sample


def xp_half_poisson_deviance(xp, Z, Y):
    """:func:`inplace_half_poisson_deviance` in ``xp``: ``(per_sample, delta)``."""
    positive = Y > 0
    safe_Y = xp.where(positive, Y, xp.ones_like(Y))  # log(1) = 0 where y = 0
    y_log_y = Y * xp.log(safe_Y)
    exp_Z = xp.exp(Z)
    per_sample = xp.sum(y_log_y - Y * Z - Y + exp_Z, axis=1)
    return per_sample, exp_Z - Y


def xp_exp_output(xp, Z):
    return xp.exp(Z)


def inplace_exp_output(Z):
    """``exp`` of each output unit (Poisson regression), in place."""
    return np.exp(Z, out=Z)


def inplace_logistic_output(Z):
    """Sigmoid of each output unit (binary and multilabel), in place."""
    return expit(Z, out=Z)


def inplace_softmax_output(Z):
    """Row-wise softmax (multiclass), in place, shifted by the row maximum."""
    Z -= _row_max(Z)
    np.exp(Z, out=Z)
    Z /= _row_sum(Z)
    return Z


# A few classes make short rows, across which numpy reduces slowly: these two
# run once per mini-batch, so they take the faster of equivalent routes.
def _row_max(Z):
    """Row maxima of ``Z`` as a column (via a transposed copy for short C rows).

    The network hands over ``Z`` column-major, where numpy's row reduction is
    already vectorized across rows; a row-major ``Z`` with short rows is
    reduced faster through a transposed copy.
    """
    if Z.shape[1] < 32 and Z.flags.c_contiguous:
        return Z.T.copy().max(axis=0)[:, None]
    return Z.max(axis=1, keepdims=True)


def _row_sum(Z):
    """Row sums of ``Z`` as a column.

    Column-major (the network's layout): a reduction across its contiguous
    columns; row-major short rows: a BLAS matrix-vector product.
    """
    if Z.flags.f_contiguous:
        return np.add.reduce(Z, axis=1, keepdims=True)
    return (Z @ np.ones(Z.shape[1], Z.dtype))[:, None]


def identity_output(Z):
    """Identity output (regression)."""
    return Z


# --------------------------------------------------------------------------
# The fast gradient check's rules, per loss (see the module docstring).


def _linear_jet(Y, dZ):
    """The jet of ``sum_k y_k dz_k``, the part every log-loss change shares."""
    return jet_map(lambda term: (Y * term).sum(axis=-1), dZ)


def _logistic_change(Z, Y, P, dZ):
    """``sum_k log(1 + p_k expm1(dz_k)) - y_k dz_k`` per sample."""
    return np.log1p(P * small_expm1(dZ)).sum(axis=-1) - (Y * dZ).sum(axis=-1)


def _log_column_change(Zj, Yj, Pj, t, n_outputs):
    """One output column moved by ``t``: ``log(1 + p_j expm1(t)) - y_j t``.

    The same for softmax and logistic outputs when one logit alone moves.
    """
    return np.log1p(Pj * small_expm1(t)) - Yj * t


def _logistic_jet(Z, Y, P, dZ):
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


class Loss(NamedTuple):
    """A loss, its canonical output activation and its expansions.

    ``per_sample(Z, Y)`` returns the per-sample losses and turns ``Z`` into
    the output delta in place; ``output(Z)`` is the output activation (in
    place). ``change``, ``column_change``, ``jet`` and ``delta_size`` are the
    fast gradient check's rules (see the module docstring).
    """

    per_sample: object
    output: object
    output_name: str
    change: object  # (Z, Y, P, dZ) -> per-sample loss change
    column_change: object  # (Zj, Yj, Pj, t, n_outputs) -> the same, one column
    jet: object  # (Z, Y, P, dZ jet) -> jet of the per-sample loss change
    delta_size: object  # (Z, Y, P) -> sizes of the output delta's terms
    xp_per_sample: object  # (xp, Z, Y) -> (per-sample losses, output delta)
    xp_output: object  # (xp, Z) -> output activation, a new array


LOSSES = {
    "binary_log_loss": Loss(
        inplace_binary_log_loss, inplace_logistic_output, "logistic",
        _logistic_change, _log_column_change, _logistic_jet, _log_delta_size,
        xp_binary_log_loss, xp_logistic_output,
    ),
    "log_loss": Loss(
        inplace_softmax_log_loss, inplace_softmax_output, "softmax",
        _softmax_change, _log_column_change, _softmax_jet, _log_delta_size,
        xp_softmax_log_loss, xp_softmax_output,
    ),
    "squared_error": Loss(
        inplace_half_squared_error, identity_output, "identity",
        _squared_change, _squared_column_change, _squared_jet, _squared_delta_size,
        xp_half_squared_error, xp_identity_output,
    ),
    "poisson": Loss(
        inplace_half_poisson_deviance, inplace_exp_output, "exp",
        _poisson_change, _poisson_column_change, _poisson_jet, _log_delta_size,
        xp_half_poisson_deviance, xp_exp_output,
    ),
}  # fmt: skip

#: The output activations by name, as estimators report them (``out_activation_``).
OUTPUTS = {loss.output_name: loss.output for loss in LOSSES.values()}


def inplace_data_loss_and_delta(Z, Y, loss, sample_weight=None):
    """Weighted mean loss of output pre-activation ``Z``; turns ``Z`` into ``dJ/dZ``.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_outputs)
        Output pre-activation, overwritten by the output delta.
    Y : ndarray of shape (n_samples, n_outputs)
        Encoded targets.
    loss : str
        A key of :data:`LOSSES`.
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    loss : float
        ``sum_i s_i l_i / sum_i s_i``.
    """
    per_sample = LOSSES[loss].per_sample(Z, Y)
    if sample_weight is None:
        Z /= Z.shape[0]
        # np.add.reduce rather than np.mean: the same pairwise float64 sum
        # without np.mean's Python-level overhead, paid on every mini-batch.
        return float(np.add.reduce(per_sample, dtype=np.float64)) / Z.shape[0]
    sw_sum = sample_weight.sum(dtype=np.float64)
    Z *= (sample_weight / sw_sum).astype(Z.dtype, copy=False)[:, None]
    return float(np.dot(per_sample, sample_weight) / sw_sum)
