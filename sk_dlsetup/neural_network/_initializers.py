"""Weight initializers ``init(fan_in, fan_out, rng) -> W`` and their table.

.. math::

    \\text{he}:\\; W \\sim \\mathcal N(0, 2 / n_{in}) \\qquad
    \\text{xavier}:\\; W \\sim \\mathcal N(0, 1 / n_{in}) \\qquad
    \\text{random}:\\; W \\sim \\mathcal N(0, 0.01^2)

For depth, ``'orthogonal'`` (Saxe et al. 2014): ``W = gain * Q``, ``Q`` with
orthonormal columns (``fan_in >= fan_out``) or rows, from the QR decomposition
of a Gaussian draw with the signs of ``R``'s diagonal fixed (so ``Q`` is
uniformly distributed); the gain keeps the forward signal (``sqrt(2)`` for
ReLU, 1 otherwise, and 1 for the output layer). ``'lsuv'`` (Mishkin and Matas
2016) starts orthogonal with gain 1 and rescales each layer, from the input,
until its pre-activation variance on (at most 1,024) training rows is 1: it
needs the data (:func:`lsuv_rescale`).

Naming traps: this ``'xavier'`` is the lecture's ``sqrt(1 / n[l-1])`` rule, known
elsewhere as *LeCun normal*; Glorot and Bengio's own variant uses
``2 / (fan_in + fan_out)``, and scikit-learn's MLP uses Glorot-*uniform* for every
activation. Biases always start at zero (weights break the symmetry).

For depth, ``'orthogonal'`` (Saxe et al. 2014): ``W = gain * Q``, ``Q`` with
orthonormal columns (``fan_in >= fan_out``) or rows, from the QR decomposition
of a Gaussian draw with the signs of ``R``'s diagonal fixed (``Q`` then is
uniformly distributed); the gain keeps the forward signal (``sqrt(2)`` for
ReLU, 1 otherwise, and 1 for the output layer). ``'lsuv'`` (Mishkin and Matas
2016) starts orthogonal with gain 1 and rescales each layer, from the input,
until its pre-activation variance on (at most 1,024) training rows is 1: it
needs the data (:func:`lsuv_rescale`).
"""

import numpy as np
from scipy import sparse

from ._activations import ACTIVATIONS


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


def orthogonal(fan_in, fan_out, rng, gain=1.0):
    """``gain * Q``: orthonormal columns (``fan_in >= fan_out``) or rows.

    ``Q`` comes from the QR decomposition of a standard Gaussian draw, each
    column multiplied by the sign of ``R``'s diagonal entry, which makes ``Q``
    uniformly (Haar) distributed; ``W.T @ W = gain^2 I`` (or ``W @ W.T``).

    Examples
    --------
    >>> import numpy as np
    >>> W = orthogonal(5, 3, np.random.RandomState(0), gain=2.0)
    >>> bool(np.allclose(W.T @ W, 4.0 * np.eye(3)))
    True
    >>> W = orthogonal(3, 5, np.random.RandomState(0))
    >>> bool(np.allclose(W @ W.T, np.eye(3)))
    True
    """
    tall = fan_in >= fan_out
    A = rng.standard_normal((fan_in, fan_out) if tall else (fan_out, fan_in))
    Q, R = np.linalg.qr(A)
    Q *= np.where(np.diag(R) < 0, -1.0, 1.0)
    return gain * (Q if tall else Q.T)


#: Orthogonal gains that keep the forward signal through an activation: ReLU
#: halves the second moment, so sqrt(2); tanh is the critical point at 1 (the
#: input-output Jacobian stays near-isometric with depth).
ORTHOGONAL_GAINS = {
    "relu": np.sqrt(2.0),
    "tanh": 1.0,
    "logistic": 1.0,
    "identity": 1.0,
}

#: The named schemes, each drawing one layer's weights ``(fan_in, fan_out,
#: rng)``; 'orthogonal' is then multiplied by its layer's gain, and 'lsuv'
#: draws as 'orthogonal' (gain 1), then rescales with the data.
INITIALIZERS = {
    "he": he,
    "xavier": xavier,
    "random": small_random,
    "orthogonal": orthogonal,
    "lsuv": orthogonal,
}

#: LSUV's tolerance on each layer's pre-activation variance, its passes per
#: layer, and the rows it measures on.
LSUV_TOL, LSUV_MAX_PASSES, LSUV_MAX_ROWS = 0.05, 10, 1024


def _gains(init, activation, n_layers):
    """Each layer's gain: for 'orthogonal' the activation's in hidden layers and
    1 in the output layer; 1 for every other scheme."""
    if init == "orthogonal":
        return [ORTHOGONAL_GAINS[activation]] * (n_layers - 1) + [1.0]
    return [1.0] * n_layers


def initialize_weights(init, layer_units, rng, dtype, activation="relu", X=None):
    """Draw ``(coefs, intercepts)`` for consecutive layer sizes ``layer_units``.

    Parameters
    ----------
    init : {'he', 'xavier', 'random', 'orthogonal', 'lsuv'} or callable
        A name from :data:`INITIALIZERS` or ``init(fan_in, fan_out, rng)``
        returning an array of shape ``(fan_in, fan_out)``.
    layer_units : sequence of int
        ``[n_features, hidden_1, ..., n_outputs]``.
    rng : numpy.random.RandomState
        The only source of randomness.
    dtype : numpy dtype
        dtype of the returned arrays.
    activation : str, default='relu'
        The hidden activation: the orthogonal gain, and LSUV's forward pass.
    X : ndarray or sparse matrix of shape (n_samples, n_features), default=None
        The training data: 'lsuv' needs it (at most 1,024 rows drawn with
        ``rng``, after the weights).

    Returns
    -------
    coefs : list of ndarray of shape (fan_in, fan_out)
    intercepts : list of ndarray of shape (fan_out,), all zeros

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> coefs, _ = initialize_weights("orthogonal", [4, 3, 2], rng, np.float64,
    ...                               activation="relu")
    >>> bool(np.allclose(coefs[0].T @ coefs[0], 2.0 * np.eye(3)))
    True
    """
    if init == "lsuv" and X is None:
        raise ValueError(
            "init='lsuv' is data-dependent: it scales each layer on the training "
            "rows, so it needs X (fit(X, y) or initialize(X, y))."
        )
    draw = INITIALIZERS[init] if isinstance(init, str) else init
    gains = _gains(init, activation, len(layer_units) - 1)
    coefs, intercepts = [], []
    for gain, fan_in, fan_out in zip(gains, layer_units[:-1], layer_units[1:]):
        W = np.asarray(draw(fan_in, fan_out, rng))
        if W.shape != (fan_in, fan_out):
            raise ValueError(
                f"init returned an array of shape {W.shape}; expected "
                f"(fan_in, fan_out) = ({fan_in}, {fan_out})."
            )
        if not np.all(np.isfinite(W)):
            raise ValueError("init returned non-finite weights.")
        coefs.append(W * gain if gain != 1.0 else W)
        intercepts.append(np.zeros(fan_out))
    if init == "lsuv":
        lsuv_rescale(coefs, intercepts, _lsuv_rows(X, rng), activation)
    coefs = [W.astype(dtype, copy=False) for W in coefs]
    intercepts = [b.astype(dtype, copy=False) for b in intercepts]
    return coefs, intercepts


def _lsuv_rows(X, rng):
    """At most ``LSUV_MAX_ROWS`` rows of X (in their order), dense float64."""
    n_samples = X.shape[0]
    if n_samples > LSUV_MAX_ROWS:
        X = X[np.sort(rng.choice(n_samples, LSUV_MAX_ROWS, replace=False))]
    X = X.toarray() if sparse.issparse(X) else X
    return np.asarray(X, dtype=np.float64)


def lsuv_rescale(coefs, intercepts, X, activation):
    """Layer-sequential unit variance (Mishkin and Matas 2016), in place.

    From the input up, each ``W`` is divided by the standard deviation of its
    layer's pre-activation ``Z = A @ W + b`` on ``X`` (over the whole rows x
    units matrix, as :func:`~sk_dlsetup.diagnostics.layer_statistics` computes
    it) until that variance is 1 within ``LSUV_TOL`` (at most
    ``LSUV_MAX_PASSES`` passes; one is enough while the biases are 0); the
    next layer sees ``g(Z)``. The output layer is scaled too.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> X = rng.standard_normal((200, 4)) * 5.0
    >>> coefs = [orthogonal(4, 3, rng), orthogonal(3, 2, rng)]
    >>> lsuv_rescale(coefs, [np.zeros(3), np.zeros(2)], X, "tanh")
    >>> round(float((X @ coefs[0]).var()), 2)
    1.0
    """
    forward = ACTIVATIONS[activation].forward
    A = X
    for layer, (W, b) in enumerate(zip(coefs, intercepts)):
        for _ in range(LSUV_MAX_PASSES):
            variance = float(np.var(A @ W + b))
            if not variance > 0 or abs(variance - 1.0) <= LSUV_TOL:
                break
            W /= np.sqrt(variance)
        if layer < len(coefs) - 1:
            A = forward(A @ W + b)
