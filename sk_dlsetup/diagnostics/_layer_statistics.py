"""Vanishing / exploding signals: per-layer statistics of a network."""

import copy

import numpy as np
from sklearn.utils import gen_batches
from sklearn.utils.validation import check_array

from .._compat import _safe_indexing
from .._namespaces import is_numpy, namespace_of, to_numpy
from ..neural_network._layout import block_norms, layer_views, pack, parameter_blocks
from ..neural_network._losses import OUTPUTS
from ..neural_network._network import allocate_activations, forward, rows_per_chunk
from ..preprocessing._moments import RunningMoments
from ._estimators import check_n_features, network_of


def _chunk_rows(estimator, X):
    row_bytes = X.dtype.itemsize * 2 * sum(W.shape[1] for W in estimator.coefs_)
    return rows_per_chunk(row_bytes)


def _gradient_norms(estimator, X, y, rows):
    """Per layer ``||dW||`` and ``||db||`` of the objective on all of ``X``.

    The gradient is accumulated over chunks of ``rows`` rows from the
    estimator's own ``objective`` (dropout off): each chunk's data term
    weighted by its share of the rows, plus the L2 term of the whole data,
    which the objective's ``penalty_gradient`` hook separates (without the
    hook, one pass over all rows).
    """
    n_samples = X.shape[0]
    grad = penalty = None
    for chunk in gen_batches(n_samples, rows):
        # A NumPy y sliced directly: scikit-learn < 1.7 under array API
        # dispatch cannot slice it in _safe_indexing.
        y_chunk = y[chunk] if isinstance(y, np.ndarray) else _safe_indexing(y, chunk)
        objective = estimator.objective(X[chunk], y_chunk, dropout="off")
        theta = objective.theta0
        if not hasattr(objective, "penalty_gradient"):
            if rows < n_samples:
                return _gradient_norms(estimator, X, y, n_samples)
            return block_norms(layer_views(objective.gradient(theta), objective.blocks))
        chunk_penalty = objective.penalty_gradient(theta)
        share = (chunk.stop - chunk.start) / n_samples
        data = share * (objective.gradient(theta) - chunk_penalty)
        grad = data if grad is None else grad + data
        if penalty is None:  # alpha / n_chunk * W, rescaled to alpha / n_samples * W
            penalty = share * chunk_penalty
    return block_norms(layer_views(grad + penalty, objective.blocks))


def layer_statistics(estimator, X, y=None):
    """Per-layer signal and gradient scale of a network at its current weights.

    A forward pass over ``X`` (in bounded-memory chunks) records, for every
    layer ``l = 1..L`` (hidden layers and the output layer; no row for the
    input), statistics over the whole samples x units matrix of the
    pre-activation ``Z[l] = A[l-1] W[l] + b[l]`` and the activation
    ``A[l] = g(Z[l])`` (the output activation for the last layer). Dropout is
    off, as at prediction time. In a deep network with a poor initialization
    these numbers shrink (vanish) or grow (explode) geometrically with depth.

    Parameters
    ----------
    estimator : MLPFromScratch, MLPFromScratchRegressor, GradientChecker or \
Pipeline
        An initialized or fitted network (``initialize`` is enough), a fitted
        GradientChecker (its trained network), or a fitted Pipeline ending in
        either: X then goes through the earlier steps.
    X : array-like of shape (n_samples, n_features)
        Input data.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        Targets. When given, each row also has the Frobenius norms
        ``dW_norm`` and ``db_norm`` of the objective's gradient (L2 term
        included) with respect to that layer's weights and biases.

    Returns
    -------
    stats : list of dict
        One dict per layer, in order, with keys ``layer`` (1-based),
        ``units``, ``preactivation_mean``, ``preactivation_std``,
        ``activation_mean``, ``activation_std``, ``dead_fraction`` (the fraction
        of units that are exactly 0 for every sample) and, with ``y``,
        ``dW_norm`` and ``db_norm``.

    See Also
    --------
    LayerStatisticsDisplay : Plot these numbers across depth.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dlsetup import MLPFromScratch
    >>> from sk_dlsetup.diagnostics import layer_statistics
    >>> X = np.random.RandomState(0).standard_normal((500, 50))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> def std_per_layer(init):
    ...     net = MLPFromScratch([50] * 10, init=init, random_state=0).initialize(X, y)
    ...     stats = layer_statistics(net, X)
    ...     return [f"{row['preactivation_std']:.0e}" for row in stats[:10:3]]
    >>> std_per_layer("he")  # layers 1, 4, 7, 10: the scale is kept
    ['1e+00', '1e+00', '1e+00', '2e+00']
    >>> std_per_layer("random")  # N(0, 0.01^2): the signal vanishes
    ['7e-02', '9e-06', '1e-09', '2e-13']
    """
    estimator, X = network_of(estimator, X, what="layer_statistics")
    if not is_numpy(namespace_of(X, estimator.coefs_[0])[0]):
        # Diagnostics run in NumPy: arrays of other libraries (and weights
        # trained there) are read on the host, as gradient checks are.
        estimator = copy.copy(estimator)
        estimator.coefs_ = [to_numpy(W) for W in estimator.coefs_]
        estimator.intercepts_ = [to_numpy(b) for b in estimator.intercepts_]
        X, y = to_numpy(X), to_numpy(y)
    X = check_array(X, dtype=(np.float64, np.float32))
    check_n_features(estimator, X)
    dtype = estimator.coefs_[0].dtype
    X = X.astype(dtype, copy=False)
    output = OUTPUTS[estimator.out_activation_]
    n_layers = len(estimator.coefs_)
    pre = [RunningMoments() for _ in range(n_layers)]
    post = [RunningMoments() for _ in range(n_layers)]
    alive = [np.zeros(W.shape[1], dtype=bool) for W in estimator.coefs_]
    rows = _chunk_rows(estimator, X)
    units = [X.shape[1], *(W.shape[1] for W in estimator.coefs_)]
    layers = layer_views(
        pack(estimator.coefs_, estimator.intercepts_, dtype=dtype),
        parameter_blocks(units),
    )
    buffers = allocate_activations(min(rows, X.shape[0]), units, dtype, backward=False)
    for chunk in gen_batches(X.shape[0], rows):
        hidden_Z = []
        out_Z = forward(
            X[chunk], layers, estimator.activation, buffers, preactivations=hidden_Z
        )
        # One column per sample: a unit is alive if any column is non-zero.
        hidden = buffers.rows(out_Z.shape[1]).hidden[1:]
        for layer, (Z, A) in enumerate(zip(hidden_Z, hidden)):
            pre[layer].add(Z)
            post[layer].add(A)
            alive[layer] |= np.any(A != 0, axis=1)
        pre[-1].add(out_Z)
        A = output(out_Z.T.copy())  # the output activations take rows of samples
        post[-1].add(A)
        alive[-1] |= np.any(A != 0, axis=0)
    stats = [
        {
            "layer": layer + 1,
            "units": int(alive[layer].size),
            "preactivation_mean": pre[layer].mean,
            "preactivation_std": pre[layer].std,
            "activation_mean": post[layer].mean,
            "activation_std": post[layer].std,
            "dead_fraction": float(1.0 - alive[layer].mean()),
        }
        for layer in range(n_layers)
    ]
    if y is not None:
        norms = _gradient_norms(estimator, X, y, rows)
        for row, dW_norm, db_norm in zip(stats, *norms):
            row["dW_norm"], row["db_norm"] = float(dW_norm), float(db_norm)
    return stats
