"""Why-numbers: vanishing / exploding signals per layer, and input conditioning.

- :func:`layer_statistics` shows, layer by layer, the scale of the
  pre-activations, activations and gradients of a network at its current
  weights: the numbers in which vanishing and exploding signals show.
- :func:`linear_conditioning` measures why normalizing inputs helps: the
  condition number of the Hessian of a linear model's squared loss, which
  bounds both the largest stable gradient-descent step and the number of steps.
- :class:`LayerStatisticsDisplay` and :class:`GradientCheckDisplay` draw them,
  and :class:`LayerHistoryDisplay` the per-layer norms an MLP recorded during
  training (``record_layer_stats=True``); matplotlib is optional:
  ``pip install 'sk_dlsetup[plot]'``.
"""

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils import gen_batches
from sklearn.utils.validation import check_array, check_is_fitted

from ._activations import ACTIVATIONS
from ._display import GradientCheckDisplay, LayerHistoryDisplay, LayerStatisticsDisplay
from ._losses import LOSSES
from ._network import (
    allocate_activations,
    backprop,
    block_norms,
    layer_views,
    pack,
    parameter_blocks,
    rows_per_chunk,
    transposed_rows,
)

__all__ = [
    "GradientCheckDisplay",
    "LayerHistoryDisplay",
    "LayerStatisticsDisplay",
    "layer_statistics",
    "linear_conditioning",
]


class _RunningMoments:
    """Count, mean and sum of squared deviations, merged chunk by chunk.

    Chan et al.'s pairwise update keeps the variance accurate when the mean is
    large compared with the spread.
    """

    def __init__(self):
        self.count, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, values):
        values = np.asarray(values, dtype=np.float64)
        count = values.size
        if not count:
            return
        mean = float(values.mean())
        m2 = float(np.sum((values - mean) ** 2))
        total = self.count + count
        delta = mean - self.mean
        self.mean += delta * count / total
        self.m2 += m2 + delta**2 * self.count * count / total
        self.count = total

    @property
    def std(self):
        return float(np.sqrt(self.m2 / self.count)) if self.count else float("nan")


def _final_estimator(estimator, X):
    """The network at the end of ``estimator`` and X transformed up to it."""
    if isinstance(estimator, Pipeline):
        check_is_fitted(estimator)
        for _, step in estimator.steps[:-1]:
            if step not in (None, "passthrough"):
                X = step.transform(X)
        estimator = estimator.steps[-1][1]
    check_is_fitted(estimator, "coefs_")
    return estimator, X


def _chunk_rows(estimator, X):
    row_bytes = X.dtype.itemsize * 2 * sum(W.shape[1] for W in estimator.coefs_)
    return rows_per_chunk(row_bytes)


def _weighted_gradient(estimator, X, Y, rows, dtype):
    """Data-term gradient over X in bounded chunks, as float64 ``[dW; db]`` blocks.

    The L2 term is added by the caller.
    """
    units = [X.shape[1], *(W.shape[1] for W in estimator.coefs_)]
    blocks = parameter_blocks(units)
    buffers = allocate_activations(min(rows, X.shape[0]), units, dtype)
    layers = layer_views(
        pack(estimator.coefs_, estimator.intercepts_, dtype=dtype), blocks
    )
    chunk_grad = np.empty(blocks[-1][1].stop, dtype)
    chunk_layers = layer_views(chunk_grad, blocks)
    grad = np.zeros(chunk_grad.size)
    Y = transposed_rows(Y)  # the network's column-per-sample layout
    for chunk in gen_batches(X.shape[0], rows):
        share = (chunk.stop - chunk.start) / X.shape[0]
        backprop(
            X[chunk],
            Y[chunk],
            layers,
            chunk_layers,
            buffers,
            activation=estimator.activation,
            loss=estimator._loss_name,
            alpha=0.0,
        )
        grad += share * chunk_grad
    return layer_views(grad, blocks)


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
    estimator : MLPFromScratch, MLPFromScratchRegressor or Pipeline
        An initialized or fitted network (``initialize`` is enough), or a
        fitted Pipeline ending in one: X then goes through the earlier steps.
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
    estimator, X = _final_estimator(estimator, X)
    X = check_array(X, dtype=(np.float64, np.float32))
    if X.shape[1] != estimator.coefs_[0].shape[0]:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} is "
            f"expecting {estimator.coefs_[0].shape[0]} features as input."
        )
    dtype = estimator.coefs_[0].dtype
    X = X.astype(dtype, copy=False)
    g = ACTIVATIONS[estimator.activation].forward
    output = LOSSES[estimator._loss_name].output
    n_layers = len(estimator.coefs_)
    pre = [_RunningMoments() for _ in range(n_layers)]
    post = [_RunningMoments() for _ in range(n_layers)]
    alive = [np.zeros(W.shape[1], dtype=bool) for W in estimator.coefs_]
    rows = _chunk_rows(estimator, X)
    for chunk in gen_batches(X.shape[0], rows):
        A = X[chunk]
        for layer, (W, b) in enumerate(zip(estimator.coefs_, estimator.intercepts_)):
            Z = A @ W
            Z += b
            pre[layer].add(Z)
            # Z's statistics are taken: the activation may overwrite it.
            A = g(Z) if layer < n_layers - 1 else output(Z)
            post[layer].add(A)
            alive[layer] |= np.any(A != 0, axis=0)
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
        _, Y = estimator._validate_objective_data(X, y)
        grad_layers = _weighted_gradient(estimator, X, Y, rows, dtype)
        for grad, W in zip(grad_layers, estimator.coefs_):
            grad[:-1] += (estimator.alpha / X.shape[0]) * W
        for row, dW_norm, db_norm in zip(stats, *block_norms(grad_layers)):
            row["dW_norm"], row["db_norm"] = float(dW_norm), float(db_norm)
    return stats


def linear_conditioning(X, *, alpha=0.0, fit_intercept=True, tol=1e-6):
    """How hard gradient descent finds a linear least-squares fit on ``X``.

    The loss ``J(w, b) = ||X w + b - y||^2 / (2 n) + alpha ||w||^2 / 2`` is a
    quadratic whose Hessian is ``H = [X, 1]^T [X, 1] / n + alpha I`` (the
    intercept column only when ``fit_intercept``). Its condition number
    ``kappa = lambda_max / lambda_min`` is the elongation of the cost bowl:
    gradient descent diverges for steps above ``2 / lambda_max`` and, at the
    best fixed step ``2 / (lambda_max + lambda_min)``, shrinks the error by
    ``(kappa - 1) / (kappa + 1)`` per step. Normalizing the inputs makes the
    bowl round (kappa near 1): larger stable steps, far fewer of them.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Input data (raw or normalized).
    alpha : float, default=0.0
        L2 penalty; keeps ``lambda_min`` positive for rank-deficient X.
    fit_intercept : bool, default=True
        Whether the model has an (unpenalized) intercept.
    tol : float, default=1e-6
        Relative error for ``steps_to_tolerance``.

    Returns
    -------
    report : dict
        ``condition_number``, ``max_eigenvalue``, ``min_eigenvalue``,
        ``max_stable_learning_rate`` (``2 / lambda_max``), ``best_learning_rate``
        (``2 / (lambda_max + lambda_min)``) and ``steps_to_tolerance`` (steps at
        the best rate to shrink the error by ``tol``; inf when singular).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sk_dlsetup import InputNormalizer
    >>> from sk_dlsetup.diagnostics import linear_conditioning
    >>> X, _ = load_diabetes(return_X_y=True, scaled=False)
    >>> raw = linear_conditioning(X)
    >>> normalized = linear_conditioning(InputNormalizer().fit_transform(X))
    >>> print(f"{raw['condition_number']:.1e} -> {normalized['condition_number']:.0f}")
    5.2e+07 -> 470
    >>> raw["steps_to_tolerance"] > 10_000 * normalized["steps_to_tolerance"]
    True
    """
    X = check_array(X, dtype=np.float64)
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0; got {alpha}.")
    n_samples = X.shape[0]
    design = np.hstack([X, np.ones((n_samples, 1))]) if fit_intercept else X
    hessian = design.T @ design / n_samples
    penalty = np.full(design.shape[1], float(alpha))
    if fit_intercept:
        penalty[-1] = 0.0
    hessian[np.diag_indices_from(hessian)] += penalty
    eigenvalues = np.linalg.eigvalsh(hessian)
    largest = float(eigenvalues[-1])
    smallest = float(eigenvalues[0])
    if smallest <= largest * hessian.shape[0] * np.finfo(np.float64).eps:
        smallest = 0.0  # singular up to round-off (as numpy's matrix_rank decides)
    kappa = largest / smallest if smallest > 0 else np.inf
    if kappa == 1:
        steps = 1
    elif np.isfinite(kappa):
        # log1p keeps the per-step rate (kappa - 1) / (kappa + 1) exact for large kappa
        steps = int(np.ceil(np.log(1 / tol) / np.log1p(2 / (kappa - 1))))
    else:
        steps = np.inf
    return {
        "condition_number": kappa,
        "max_eigenvalue": largest,
        "min_eigenvalue": smallest,
        "max_stable_learning_rate": 2.0 / largest,
        "best_learning_rate": 2.0 / (largest + smallest),
        "steps_to_tolerance": steps,
    }
