"""Hidden-layer activations, each rule beside its derivative, in one table.

Every rule is written once for every array namespace ``xp`` (NumPy, PyTorch,
CuPy, array-api-strict) and works in place on the array it is given (hence
the ``inplace_`` names, scikit-learn's convention), so the training loop
allocates nothing per batch in NumPy; a NumPy-only speed trick (``out=``) is a
branch inside the rule (:func:`~sk_dlsetup._namespaces.inplace`).
Derivatives are written in terms of the activation's *output* ``A = g(Z)``
(which the forward pass keeps anyway), as in scikit-learn's
``sklearn.neural_network._base``.

A new activation goes here, and nowhere else in the network: a forward rule,
its derivative and a row of :data:`ACTIVATIONS`. The rules only the fast
gradient check needs (its kink, its Taylor terms, the change ``g(z + d) -
g(z)`` without cancellation) live beside the checker, in
:mod:`sk_dlsetup.gradcheck._rules`.
"""

from typing import NamedTuple

import numpy as np
from scipy.special import expit

from .._namespaces import inplace, is_numpy


def identity(Z, xp=np):
    """Leave ``Z`` unchanged: :math:`g(z) = z`."""
    return Z


def identity_derivative(A, delta, xp=np):
    """:math:`g'(z) = 1`: ``delta`` is already ``dJ/dZ``."""
    return delta


def inplace_relu(Z, xp=np):
    """:math:`g(z) = \\max(0, z)`, in place.

    Examples
    --------
    >>> inplace_relu(np.array([[-1.0, 2.0]]), np)
    array([[0., 2.]])
    """
    if is_numpy(xp) and np.iscomplexobj(Z):
        # The complex step: on the real part's sign (numpy orders complex
        # numbers by their imaginary part too, which would take z = 0 + ih).
        return np.multiply(Z, Z.real > 0, out=Z)
    if is_numpy(xp):
        # A row of zeros rather than the scalar 0: numpy's SIMD loop for two
        # arrays is about twice as fast as its array-scalar loop (float32).
        return np.maximum(Z, np.zeros(Z.shape[-1], Z.dtype), out=Z)
    # zeros_like rather than the scalar 0: scalars in where are 2024.12's.
    Z[...] = xp.where(Z > 0, Z, xp.zeros_like(Z))
    return Z


def inplace_relu_derivative(A, delta, xp=np):
    """:math:`g'(z) = 1[z > 0]`, i.e. ``A > 0``; multiplies ``delta`` in place."""
    if is_numpy(xp):
        return np.multiply(delta, A > 0, out=delta)
    delta[...] = xp.where(A > 0, delta, xp.zeros_like(delta))
    return delta


def inplace_tanh(Z, xp=np):
    """:math:`g(z) = \\tanh z`, in place."""
    return inplace(xp, xp.tanh, Z)


def inplace_tanh_derivative(A, delta, xp=np):
    """:math:`g'(z) = 1 - \\tanh^2 z = 1 - A^2`; multiplies ``delta`` in place."""
    delta -= delta * A * A
    return delta


def expit_of(xp):
    """The logistic sigmoid of namespace ``xp`` (scipy's ``expit`` in NumPy).

    Examples
    --------
    >>> float(expit_of(np)(np.array(0.0)))
    0.5
    """
    if is_numpy(xp):
        return _expit
    return lambda Z: 1.0 / (1.0 + xp.exp(-Z))


def _expit(Z, out=None):
    """scipy's ``expit``; on complex ``Z`` (the complex-step gradient check,
    for which scipy has no loop) the same function continued analytically."""
    if np.iscomplexobj(Z):
        return np.divide(1.0, 1.0 + np.exp(-Z), out=out)
    return expit(Z, out=out)


def inplace_logistic(Z, xp=np):
    """:math:`g(z) = 1 / (1 + e^{-z})`, in place."""
    return inplace(xp, expit_of(xp), Z)


def inplace_logistic_derivative(A, delta, xp=np):
    """:math:`g'(z) = g(z) (1 - g(z)) = A (1 - A)`; multiplies ``delta`` in place."""
    delta *= A
    delta -= delta * A
    return delta


class Activation(NamedTuple):
    """A hidden-layer activation: ``forward(Z, xp)`` turns ``Z`` into ``g(Z)``
    and ``derivative(A, delta, xp)`` multiplies ``delta`` by ``g'(Z)``, both in
    place and both returning the array they wrote."""

    forward: object
    derivative: object


ACTIVATIONS = {
    "identity": Activation(forward=identity, derivative=identity_derivative),
    "relu": Activation(forward=inplace_relu, derivative=inplace_relu_derivative),
    "tanh": Activation(forward=inplace_tanh, derivative=inplace_tanh_derivative),
    "logistic": Activation(
        forward=inplace_logistic, derivative=inplace_logistic_derivative
    ),
}
