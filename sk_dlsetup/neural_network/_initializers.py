"""Weight initializers ``init(fan_in, fan_out, rng) -> W`` and their table.

.. math::

    \\text{he}:\\; W \\sim \\mathcal N(0, 2 / n_{in}) \\qquad
    \\text{xavier}:\\; W \\sim \\mathcal N(0, 1 / n_{in}) \\qquad
    \\text{random}:\\; W \\sim \\mathcal N(0, 0.01^2)

Naming traps: this ``'xavier'`` is the lecture's ``sqrt(1 / n[l-1])`` rule, known
elsewhere as *LeCun normal*; Glorot and Bengio's own variant uses
``2 / (fan_in + fan_out)``, and scikit-learn's MLP uses Glorot-*uniform* for every
activation. Biases always start at zero (weights break the symmetry).
"""

import numpy as np


def he(fan_in, fan_out, rng):
    """He initialization for ReLU: ``randn(fan_in, fan_out) * sqrt(2 / fan_in)``.

    Examples
    --------
    >>> import numpy as np
    >>> W = he(4000, 50, np.random.RandomState(0))
    >>> W.shape, round(float(W.std() ** 2 * 4000), 1)
    ((4000, 50), 2.0)
    """
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)


def xavier(fan_in, fan_out, rng):
    """Xavier (LeCun-normal) initialization for tanh: ``sqrt(1 / fan_in)`` scale.

    Keeps ``Var(z[l]) = Var(a[l-1])`` for a unit-slope activation around 0, since
    ``fan_in * Var(W) = 1``.

    Examples
    --------
    >>> import numpy as np
    >>> W = xavier(4000, 50, np.random.RandomState(0))
    >>> round(float(W.std() ** 2 * 4000), 1)
    1.0
    """
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(1.0 / fan_in)


def small_random(fan_in, fan_out, rng):
    """Small random numbers ``randn(fan_in, fan_out) * 0.01``, whatever the fan-in.

    Fine for shallow networks; in a deep one the signal shrinks layer by layer.

    Examples
    --------
    >>> import numpy as np
    >>> W = small_random(4000, 50, np.random.RandomState(0))
    >>> round(float(W.std()), 3)
    0.01
    """
    return rng.standard_normal((fan_in, fan_out)) * 0.01


INITIALIZERS = {"he": he, "xavier": xavier, "random": small_random}


def initialize_weights(init, layer_units, rng, dtype):
    """Draw ``(coefs, intercepts)`` for consecutive layer sizes ``layer_units``.

    Parameters
    ----------
    init : {'he', 'xavier', 'random'} or callable
        A name from :data:`INITIALIZERS` or ``init(fan_in, fan_out, rng)``
        returning an array of shape ``(fan_in, fan_out)``.
    layer_units : sequence of int
        ``[n_features, hidden_1, ..., n_outputs]``.
    rng : numpy.random.RandomState
        The only source of randomness.
    dtype : numpy dtype
        dtype of the returned arrays.

    Returns
    -------
    coefs : list of ndarray of shape (fan_in, fan_out)
    intercepts : list of ndarray of shape (fan_out,), all zeros
    """
    draw = INITIALIZERS[init] if isinstance(init, str) else init
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        W = np.asarray(draw(fan_in, fan_out, rng))
        if W.shape != (fan_in, fan_out):
            raise ValueError(
                f"init returned an array of shape {W.shape}; expected "
                f"(fan_in, fan_out) = ({fan_in}, {fan_out})."
            )
        if not np.all(np.isfinite(W)):
            raise ValueError("init returned non-finite weights.")
        coefs.append(W.astype(dtype, copy=False))
        intercepts.append(np.zeros(fan_out, dtype=dtype))
    return coefs, intercepts
