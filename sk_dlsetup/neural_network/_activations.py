"""Hidden-layer activations, each forward rule beside its derivative.

Every function works in place on a preallocated array so the training loop
allocates nothing per batch. Derivatives are written in terms of the
activation's *output* ``A = g(Z)`` (which the forward pass keeps anyway), as in
scikit-learn's ``sklearn.neural_network._base``.
"""

from typing import NamedTuple

import numpy as np
from scipy.special import expit


def identity(Z):
    """Leave ``Z`` unchanged: :math:`g(z) = z`."""
    return Z


def identity_derivative(A, delta):
    """:math:`g'(z) = 1`: ``delta`` is already ``dJ/dZ``."""
    return delta


def relu(Z):
    """:math:`g(z) = \\max(0, z)`, in place."""
    # A row of zeros rather than the scalar 0: numpy's SIMD loop for two
    # arrays is about twice as fast as its array-scalar loop (float32).
    return np.maximum(Z, np.zeros(Z.shape[-1], Z.dtype), out=Z)


def relu_derivative(A, delta):
    """:math:`g'(z) = 1[z > 0]`, i.e. ``A > 0``; multiplies ``delta`` in place."""
    return np.multiply(delta, A > 0, out=delta)


def tanh(Z):
    """:math:`g(z) = \\tanh z`, in place."""
    return np.tanh(Z, out=Z)


def tanh_derivative(A, delta):
    """:math:`g'(z) = 1 - \\tanh^2 z = 1 - A^2`; multiplies ``delta`` in place."""
    delta -= delta * A * A
    return delta


def logistic(Z):
    """:math:`g(z) = 1 / (1 + e^{-z})`, in place."""
    return expit(Z, out=Z)


def logistic_derivative(A, delta):
    """:math:`g'(z) = g(z) (1 - g(z)) = A (1 - A)`; multiplies ``delta`` in place."""
    delta *= A
    delta -= delta * A
    return delta


class Activation(NamedTuple):
    """A hidden-layer activation: the forward rule and its derivative."""

    forward: object
    derivative: object
    has_kink: bool


ACTIVATIONS = {
    "identity": Activation(identity, identity_derivative, has_kink=False),
    "relu": Activation(relu, relu_derivative, has_kink=True),
    "tanh": Activation(tanh, tanh_derivative, has_kink=False),
    "logistic": Activation(logistic, logistic_derivative, has_kink=False),
}
