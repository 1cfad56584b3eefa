"""One plain-SGD epoch of an MLP, replayed step by step outside the estimator."""

import copy

import numpy as np

from sk_dlsetup.neural_network._layout import unpack
from sk_dlsetup.neural_network._network import draw_keep_masks
from sk_dlsetup.neural_network._objective import MLPObjective


def replay_sgd_epoch(model, X, y):
    """Each step of ``model``'s next epoch, and the weights it ends at.

    ``model`` is an initialized, multiclass ``MLPFromScratch`` with
    ``solver='sgd'`` and ``momentum=0``. Each step is reproduced from the
    model's own random stream (shuffle, then one set of dropout masks per
    batch) as a gradient step on an objective with those masks frozen, whose
    gradient the network tests check by finite differences.

    Returns
    -------
    steps : list of (n_rows, gradient, blocks)
        Each batch's size, the objective's gradient (theta's layout) and its
        blocks, as :func:`sk_dlsetup.neural_network._network.unpack` takes them.
    theta : ndarray
        The weights after the epoch.
    """
    rng = copy.deepcopy(model._training.rng)
    hidden = list(model.hidden_layer_sizes)
    batch_size = model.batch_size
    coefs, intercepts = model.coefs_, model.intercepts_
    Y = (y[:, None] == np.unique(y)).astype(float)
    order = np.arange(len(X))
    if model.shuffle:
        rng.shuffle(order)
    steps = []
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]
        masks = draw_keep_masks(
            rng, len(idx), hidden, 1 - model.dropout, np.dtype(np.float64)
        )
        objective = MLPObjective(
            coefs, intercepts, X[idx], Y[idx], activation=model.activation,
            loss="log_loss", alpha=model.alpha, keep_masks=masks,
        )  # fmt: skip
        grad = objective.gradient(objective.theta0)
        steps.append((len(idx), grad, objective.blocks))
        theta = objective.theta0 - model.learning_rate_init * grad
        coefs, intercepts = unpack(theta, objective.blocks)
    return steps, theta
