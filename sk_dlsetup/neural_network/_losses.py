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

Every rule is written once for every array namespace ``xp``, in place (the
``inplace_`` prefix, scikit-learn's convention), a NumPy-only speed trick
being a branch inside it. The rules only the fast gradient check needs (the
loss's change without cancellation, its jet) live in
:mod:`sk_dlsetup.gradcheck._rules`.
"""

from typing import NamedTuple

import numpy as np
from scipy.special import xlogy

from .._namespaces import as_scalar, inplace, is_numpy
from ._activations import expit_of


def _rowwise_dot(xp, A, B):
    """``sum_k A[i, k] B[i, k]`` per row (einsum in NumPy: no temporary)."""
    if is_numpy(xp):
        return np.einsum("ij,ij->i", A, B)
    return xp.sum(A * B, axis=1)


def inplace_binary_log_loss(Z, Y, xp=np):
    """Logistic outputs: per-sample ``sum_k softplus(z) - y z``; ``Z <- expit(Z) - Y``.

    ``softplus(z) - y z`` equals ``-[y log p + (1 - y) log(1 - p)]`` for
    ``p = expit(z)`` without overflow or ``log(0)``.

    Examples
    --------
    >>> Z, Y = np.array([[0.0], [2.0]]), np.array([[1.0], [0.0]])
    >>> per_sample = inplace_binary_log_loss(Z, Y)
    >>> bool(np.allclose(per_sample, [np.log(2), 2 + np.log1p(np.exp(-2))]))
    True
    >>> bool(np.allclose(Z, [[0.5 - 1], [1 / (1 + np.exp(-2))]]))
    True
    """
    if is_numpy(xp) and np.iscomplexobj(Z):  # the complex step: no complex logaddexp
        shift = np.maximum(Z.real, 0.0)
        softplus = shift + np.log(np.exp(-shift) + np.exp(Z - shift))
    elif is_numpy(xp):
        softplus = np.logaddexp(0.0, Z)
    else:  # the standard's logaddexp takes two arrays
        softplus = xp.logaddexp(xp.zeros_like(Z), Z)
    softplus -= Y * Z
    per_sample = xp.sum(softplus, axis=1)
    inplace_logistic_output(Z, xp)
    Z -= Y
    return per_sample


def inplace_softmax_log_loss(Z, Y, xp=np):
    """Softmax outputs: per-sample ``logsumexp(z) - sum(y z)``; ``Z <- softmax(Z) - Y``.

    Examples
    --------
    >>> Z, Y = np.zeros((2, 4)), np.eye(4)[:2]
    >>> bool(np.allclose(inplace_softmax_log_loss(Z, Y), np.log(4)))
    True
    >>> Z[0]
    array([-0.75,  0.25,  0.25,  0.25])
    """
    Z -= _row_max(Z, xp)
    target_logit = _rowwise_dot(xp, Y, Z)
    inplace(xp, xp.exp, Z)
    normalizer = _row_sum(Z, xp)
    Z /= normalizer
    Z -= Y
    return xp.log(normalizer[:, 0]) - target_logit


def inplace_half_squared_error(Z, Y, xp=np):
    """Identity outputs: per-sample ``sum_k (z - y)^2 / (2 k)``; ``Z <- (Z - Y) / k``.

    Examples
    --------
    >>> Z = np.array([[1.0, 3.0]])
    >>> inplace_half_squared_error(Z, np.zeros((1, 2))), Z
    (array([2.5]), array([[0.5, 1.5]]))
    """
    Z -= Y
    n_outputs = Z.shape[1]
    per_sample = _rowwise_dot(xp, Z, Z)
    per_sample /= 2 * n_outputs
    if n_outputs > 1:
        Z /= n_outputs
    return per_sample


def inplace_half_poisson_deviance(Z, Y, xp=np):
    """Exp outputs: per-sample ``sum_k y log y - y z - y + e^z``; ``Z <- e^Z - Y``.

    scikit-learn's half Poisson deviance ``xlogy(y, y / p) - y + p`` with
    ``p = exp(z)``, its constant ``y log y - y`` included, written in ``z`` so
    that no ``log(p)`` is taken.

    Examples
    --------
    >>> Z, Y = np.array([[0.0], [np.log(2.0)]]), np.array([[1.0], [0.0]])
    >>> inplace_half_poisson_deviance(Z, Y), Z
    (array([0., 2.]), array([[0.], [2.]]))
    """
    if is_numpy(xp):
        y_log_y = xlogy(Y, Y)
    else:  # y log y with 0 log 0 = 0: log(1) = 0 where y = 0
        y_log_y = Y * xp.log(xp.where(Y > 0, Y, xp.ones_like(Y)))
    per_sample = xp.sum(y_log_y, axis=1)
    per_sample -= _rowwise_dot(xp, Y, Z)
    per_sample -= xp.sum(Y, axis=1)
    inplace(xp, xp.exp, Z)
    per_sample += xp.sum(Z, axis=1)
    Z -= Y
    return per_sample


def inplace_exp_output(Z, xp=np):
    """``exp`` of each output unit (Poisson regression), in place."""
    return inplace(xp, xp.exp, Z)


def inplace_logistic_output(Z, xp=np):
    """Sigmoid of each output unit (binary and multilabel), in place."""
    return inplace(xp, expit_of(xp), Z)


def inplace_softmax_output(Z, xp=np):
    """Row-wise softmax (multiclass), in place, shifted by the row maximum."""
    Z -= _row_max(Z, xp)
    inplace(xp, xp.exp, Z)
    Z /= _row_sum(Z, xp)
    return Z


def identity_output(Z, xp=np):
    """Identity output (regression)."""
    return Z


# A few classes make short rows, across which numpy reduces slowly: these two
# run once per mini-batch, so they take the faster of equivalent routes there.
def _row_max(Z, xp):
    """Row maxima of ``Z`` as a column (NumPy: via a transposed copy for short
    C rows).

    The network hands over ``Z`` column-major, where numpy's row reduction is
    already vectorized across rows; a row-major ``Z`` with short rows is
    reduced faster through a transposed copy.
    """
    if is_numpy(xp) and Z.shape[1] < 32 and Z.flags.c_contiguous:
        return Z.T.copy().max(axis=0)[:, None]
    return xp.max(Z, axis=1, keepdims=True)


def _row_sum(Z, xp):
    """Row sums of ``Z`` as a column.

    NumPy, column-major (the network's layout): a reduction across its
    contiguous columns; row-major short rows: a BLAS matrix-vector product.
    """
    if not is_numpy(xp) or Z.flags.f_contiguous:
        return xp.sum(Z, axis=1, keepdims=True)
    return (Z @ np.ones(Z.shape[1], Z.dtype))[:, None]


def _sum_dtype(Z):
    """float64 sums, complex128 for the complex-step gradient check."""
    return np.complex128 if np.iscomplexobj(Z) else np.float64


class Loss(NamedTuple):
    """A loss and its canonical output activation.

    ``per_sample(Z, Y, xp)`` returns the per-sample losses and turns ``Z``
    into the output delta in place; ``output(Z, xp)`` is the output
    activation (in place); ``output_name`` names it (``out_activation_``).
    """

    per_sample: object
    output: object
    output_name: str


LOSSES = {
    "binary_log_loss": Loss(
        per_sample=inplace_binary_log_loss,
        output=inplace_logistic_output,
        output_name="logistic",
    ),
    "log_loss": Loss(
        per_sample=inplace_softmax_log_loss,
        output=inplace_softmax_output,
        output_name="softmax",
    ),
    "squared_error": Loss(
        per_sample=inplace_half_squared_error,
        output=identity_output,
        output_name="identity",
    ),
    "poisson": Loss(
        per_sample=inplace_half_poisson_deviance,
        output=inplace_exp_output,
        output_name="exp",
    ),
}

#: The output activations by name, as estimators report them (``out_activation_``).
OUTPUTS = {loss.output_name: loss.output for loss in LOSSES.values()}


def inplace_data_loss_and_delta(Z, Y, loss, sample_weight=None, xp=np):
    """Weighted mean loss of output pre-activation ``Z``; turns ``Z`` into ``dJ/dZ``.

    Parameters
    ----------
    Z : array of shape (n_samples, n_outputs)
        Output pre-activation, overwritten by the output delta.
    Y : array of shape (n_samples, n_outputs)
        Encoded targets.
    loss : str
        A key of :data:`LOSSES`.
    sample_weight : array of shape (n_samples,) or None
    xp : namespace, default=numpy
        The arrays' namespace.

    Returns
    -------
    loss : float
        ``sum_i s_i l_i / sum_i s_i``, a Python float (one transfer from a
        device per call).
    """
    per_sample = LOSSES[loss].per_sample(Z, Y, xp)
    n_samples = Z.shape[0]
    if sample_weight is None:
        Z /= n_samples
        if is_numpy(xp):
            # np.add.reduce rather than np.mean: the same pairwise float64 sum
            # without np.mean's Python-level overhead, paid on every mini-batch.
            return as_scalar(np.add.reduce(per_sample, dtype=_sum_dtype(Z))) / n_samples
        return float(xp.sum(per_sample)) / n_samples
    if is_numpy(xp):
        sw_sum = sample_weight.sum(dtype=np.float64)
        Z *= (sample_weight / sw_sum).astype(Z.dtype, copy=False)[:, None]
        return as_scalar(np.dot(per_sample, sample_weight) / sw_sum)
    sw_sum = xp.sum(sample_weight)
    Z *= xp.reshape(sample_weight / sw_sum, (-1, 1))
    return float(xp.sum(per_sample * sample_weight) / sw_sum)
