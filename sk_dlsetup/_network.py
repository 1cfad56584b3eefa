"""Forward and backward passes over a list of ``(W, b)``, and theta packing.

Conventions (scikit-learn's): ``coefs[l]`` has shape ``(fan_in, fan_out)`` and a
layer computes ``Z = A_prev @ W + b``. ``acts[0]`` is the input ``X``,
``acts[l]`` the (dropped-out) output of hidden layer ``l`` that feeds layer
``l + 1``, and ``acts[L]`` the output *pre-activation* ``Z[L]`` (the losses in
:mod:`._losses` work from it). ``hidden[l]`` is the output of hidden layer ``l``
before dropout; it is ``acts[l]`` itself when there is no dropout.

Dropout is inverted dropout: ``keep_masks[l - 1]`` holds ``1 / keep_prob`` for
kept units and ``0`` for dropped ones, so the expected activation is unchanged.

theta is the flat vector ``W1, b1, W2, b2, ..., WL, bL``, each block flattened
in C order (see :func:`parameter_blocks`).
"""

import numpy as np
from sklearn import get_config

from ._activations import ACTIVATIONS
from ._losses import data_loss_and_delta

# Cap on the working memory of a chunked forward pass. scikit-learn's
# working_memory (1 GiB by default) bounds it too; past a few thousand rows a
# larger chunk buys no GEMM speed, only memory.
MAX_CHUNK_MIB = 64


def rows_per_chunk(row_bytes):
    """Rows of a chunk whose working memory (``row_bytes`` per row) stays bounded.

    The bound is ``min(working_memory, MAX_CHUNK_MIB)`` MiB, ``working_memory``
    being scikit-learn's configuration.

    Examples
    --------
    >>> rows_per_chunk(8 * 512)
    16384
    """
    budget = min(get_config()["working_memory"], MAX_CHUNK_MIB) * 2**20
    return max(1, int(budget // max(row_bytes, 1)))


def parameter_blocks(layer_units):
    """``(name, slice, shape)`` of each block of theta, in the order W1, b1, W2, ...

    Examples
    --------
    >>> parameter_blocks([3, 4, 2])
    [('W1', slice(0, 12, None), (3, 4)), ('b1', slice(12, 16, None), (4,)), \
('W2', slice(16, 24, None), (4, 2)), ('b2', slice(24, 26, None), (2,))]
    """
    blocks, start = [], 0
    for layer, (fan_in, fan_out) in enumerate(
        zip(layer_units[:-1], layer_units[1:]), start=1
    ):
        for name, shape in (
            (f"W{layer}", (fan_in, fan_out)),
            (f"b{layer}", (fan_out,)),
        ):
            size = int(np.prod(shape))
            blocks.append((name, slice(start, start + size), shape))
            start += size
    return blocks


def unpack(theta, blocks):
    """Views ``(coefs, intercepts)`` into ``theta``: writing one writes the other."""
    views = [theta[sl].reshape(shape) for _, sl, shape in blocks]
    return views[0::2], views[1::2]


def pack(coefs, intercepts, dtype=None):
    """Copy ``coefs`` and ``intercepts`` into one flat theta (W1, b1, W2, b2, ...)."""
    size = sum(W.size + b.size for W, b in zip(coefs, intercepts))
    out = np.empty(size, dtype=dtype or coefs[0].dtype)
    start = 0
    for W, b in zip(coefs, intercepts):
        out[start : start + W.size] = W.ravel()
        start += W.size
        out[start : start + b.size] = b
        start += b.size
    return out


def allocate_activations(n_samples, layer_units, dtype, dropout=False):
    """Buffers ``(acts, hidden, deltas)`` for a batch of ``n_samples`` rows.

    ``acts[0]`` is left as ``None``: it is the input batch itself.
    """
    acts = [None] + [np.empty((n_samples, units), dtype) for units in layer_units[1:]]
    if dropout:
        hidden = [None] + [np.empty_like(a) for a in acts[1:-1]] + [None]
    else:
        hidden = acts
    deltas = [None] + [np.empty_like(a) for a in acts[1:-1]]
    return acts, hidden, deltas


def forward(X, coefs, intercepts, activation, acts, hidden, keep_masks=None):
    """Fill ``acts`` (and ``hidden`` under dropout) for input ``X``; return ``Z[L]``.

    ``acts`` and ``hidden`` come from :func:`allocate_activations` (or are views
    of its first rows, for a shorter batch).
    """
    g = ACTIVATIONS[activation].forward
    acts[0] = X
    n_layers = len(coefs)
    for layer in range(n_layers):
        Z = acts[layer + 1] if layer == n_layers - 1 else hidden[layer + 1]
        np.matmul(acts[layer], coefs[layer], out=Z)
        Z += intercepts[layer]
        if layer < n_layers - 1:
            g(Z)
            if keep_masks is not None:
                np.multiply(Z, keep_masks[layer], out=acts[layer + 1])
    return acts[n_layers]


def backward(
    delta,
    acts,
    hidden,
    coefs,
    activation,
    deltas,
    grad_coefs,
    grad_intercepts,
    l2_scale=0.0,
    keep_masks=None,
):
    """Backpropagate the output delta ``dJ/dZ[L]`` into the gradient buffers.

    ``grad_coefs[l] = acts[l].T @ delta[l + 1] + l2_scale * coefs[l]`` and
    ``grad_intercepts[l] = delta[l + 1].sum(0)``, where ``l2_scale`` is
    ``alpha / sum(sample_weight)`` and ``delta`` already carries the per-sample
    ``1 / n`` (or weight) scaling. ``deltas`` are scratch buffers.
    """
    derivative = ACTIVATIONS[activation].derivative
    # Column sums as a matrix-vector product: BLAS does it twice as fast as
    # numpy's axis-0 reduction.
    ones = np.ones(delta.shape[0], delta.dtype)
    for layer in range(len(coefs) - 1, -1, -1):
        np.matmul(acts[layer].T, delta, out=grad_coefs[layer])
        if l2_scale:
            grad_coefs[layer] += l2_scale * coefs[layer]
        np.matmul(ones, delta, out=grad_intercepts[layer])
        if layer:
            upstream = deltas[layer]
            np.matmul(delta, coefs[layer].T, out=upstream)
            if keep_masks is not None:
                upstream *= keep_masks[layer - 1]
            delta = derivative(hidden[layer], upstream)


def l2_penalty(coefs, alpha, sw_sum):
    """``0.5 * alpha * sum_l ||W[l]||_F^2 / sw_sum``."""
    if not alpha:
        return 0.0
    squares = sum(float(np.vdot(W, W)) for W in coefs)
    return 0.5 * alpha * squares / sw_sum


def backprop(
    X,
    Y,
    coefs,
    intercepts,
    grad_coefs,
    grad_intercepts,
    buffers,
    *,
    activation,
    loss,
    alpha,
    sample_weight=None,
    keep_masks=None,
    gradient=True,
):
    """Objective ``J`` on ``(X, Y)`` and, if ``gradient``, its gradient.

    ``J`` is the (weighted) mean loss plus :func:`l2_penalty`; the gradient is
    written into ``grad_coefs`` / ``grad_intercepts``. ``buffers`` come from
    :func:`allocate_activations` for at least ``len(X)`` rows; only their first
    ``len(X)`` rows are used.

    Returns
    -------
    loss : float
    """
    # A Python float: a numpy float64 alpha would run float32 passes in float64.
    alpha = float(alpha)
    n_samples = X.shape[0]
    acts, hidden, deltas = buffers
    if acts[-1].shape[0] != n_samples:  # a short last batch
        acts, hidden, deltas = (
            [None if a is None else a[:n_samples] for a in buffer] for buffer in buffers
        )
    Z = forward(X, coefs, intercepts, activation, acts, hidden, keep_masks)
    value = data_loss_and_delta(Z, Y, loss, sample_weight)
    sw_sum = n_samples if sample_weight is None else float(sample_weight.sum())
    value += l2_penalty(coefs, alpha, sw_sum)
    if gradient:
        backward(
            Z,
            acts,
            hidden,
            coefs,
            activation,
            deltas,
            grad_coefs,
            grad_intercepts,
            l2_scale=alpha / sw_sum,
            keep_masks=keep_masks,
        )
    return value


def predict_output(X, coefs, intercepts, activation):
    """Output pre-activation ``Z[L]`` for ``X`` without keeping the hidden layers."""
    g = ACTIVATIONS[activation].forward
    A = X
    for layer, (W, b) in enumerate(zip(coefs, intercepts)):
        A = A @ W
        A += b
        if layer < len(coefs) - 1:
            g(A)
    return A


def draw_keep_masks(rng, n_samples, hidden_units, keep_prob, dtype):
    """Inverted-dropout masks: ``1 / keep_prob`` with probability keep_prob, else 0."""
    masks = []
    for units in hidden_units:
        kept = rng.random_sample((n_samples, units)) < keep_prob
        masks.append(kept.astype(dtype) / dtype.type(keep_prob))
    return masks
