"""Forward and backward passes over a network's layers: the network's math.

Conventions: ``coefs[l]`` has shape ``(fan_in, fan_out)`` and a layer computes
``Z = A_prev @ W + b`` (scikit-learn's); each layer's weights with its bias
are one ``(fan_in + 1, fan_out)`` block ``[W; b]`` of theta (see
:mod:`._layout`).

The passes work on that block and on *transposed* activations, one column per
sample: ``Z.T = [W; b].T @ [A_prev.T; 1]``. Every layer's input carries a row
of ones, so the bias is added inside the matrix product and its gradient comes
out of ``[A_prev.T; 1] @ delta``, in the same product as ``dW``; the softmax
and ReLU run over contiguous memory. :class:`Activations` holds the buffers:
``inputs`` (the batch, rows are samples, plus a column of ones),
``acts[l]`` the (dropped-out) output of hidden layer ``l`` that feeds layer
``l + 1`` with its row of ones, ``acts[L]`` the output *pre-activation*
``Z[L].T`` (the losses in :mod:`._losses` work from it), and ``hidden[l]`` the
output of hidden layer ``l`` before dropout (a view of ``acts[l]`` without
dropout).

Dropout is inverted dropout: ``keep_masks[l - 1]`` holds ``1 / keep_prob`` for
kept units and ``0`` for dropped ones, so the expected activation is unchanged.
Masks are ``(n_samples, units)``, rows are samples, like ``X``.

One implementation for every array namespace: the buffers know their
namespace (:attr:`Activations.xp`), every pass is written with the standard's
operators, in-place ones included, and NumPy writes its matrix products
straight into the buffers (``out=``, a branch inside
:func:`~sk_dlsetup._namespaces.into`). Only a sparse first layer is
NumPy's alone (scipy's sparse matrices live there).
"""

from typing import NamedTuple

import numpy as np
from scipy import sparse
from sklearn import get_config
from sklearn.utils import gen_batches

from .._namespaces import as_scalar, copy_array, empty, into, is_numpy, itemsize
from ._activations import ACTIVATIONS
from ._layout import layer_views, pack, parameter_blocks
from ._losses import inplace_data_loss_and_delta

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


class Activations(NamedTuple):
    """Buffers of one batch, of namespace ``xp``: see the module docstring for
    the layout."""

    inputs: object
    acts: list
    hidden: list
    deltas: list
    xp: object = np

    def rows(self, n_samples):
        """The same buffers restricted to the first ``n_samples`` samples."""
        if self.inputs.shape[0] == n_samples:
            return self

        def columns(buffers):
            return [None if a is None else a[:, :n_samples] for a in buffers]

        inputs = self.inputs[:n_samples, ...]
        acts = [inputs.T, *columns(self.acts[1:])]
        return Activations(
            inputs, acts, columns(self.hidden), columns(self.deltas), self.xp
        )

    def batch(self, n_samples):
        """The ``(n_samples, n_features)`` view the input batch is written into.

        Passing this view itself as ``X`` to :func:`backprop` spares a copy.
        """
        return self.inputs[:n_samples, :-1]

    def load(self, X):
        """Write ``X`` into :meth:`batch`, unless ``X`` is that view already."""
        if is_numpy(self.xp):
            owner = self.inputs if self.inputs.base is None else self.inputs.base
            # Only batch() hands out views of these buffers, so a view of them
            # is the batch view itself (a cheap test, paid on every mini-batch).
            if X.base is owner:
                return
        self.batch(X.shape[0])[...] = X


def allocate_activations(
    n_samples,
    layer_units,
    dtype,
    dropout=False,
    backward=True,
    sparse_input=False,
    xp=np,
    device=None,
):
    """:class:`Activations` for a batch of up to ``n_samples`` samples.

    ``backward=False`` leaves out the buffers only backpropagation needs;
    ``sparse_input=True`` the dense copy of the input batch (a sparse ``X``
    enters the first layer as a sparse-dense product). The buffers are arrays
    of namespace ``xp`` on ``device``.

    Examples
    --------
    >>> buffers = allocate_activations(5, [3, 4, 2], np.float64)
    >>> buffers.inputs.shape, buffers.acts[1].shape, buffers.acts[2].shape
    ((5, 4), (5, 5), (2, 5))
    >>> buffers.hidden[1].shape, bool(np.all(buffers.acts[1][-1] == 1))
    ((4, 5), True)
    """
    n_inputs = 0 if sparse_input else layer_units[0]
    inputs = empty(xp, (n_samples, n_inputs + 1), dtype, device)
    inputs[:, -1] = 1
    acts = [inputs.T]
    for units in layer_units[1:-1]:
        A = empty(xp, (units + 1, n_samples), dtype, device)
        A[-1, :] = 1
        acts.append(A)
    acts.append(empty(xp, (layer_units[-1], n_samples), dtype, device))
    hidden = [None] + [
        empty(xp, (units, n_samples), dtype, device) if dropout else A[:-1, :]
        for units, A in zip(layer_units[1:-1], acts[1:-1])
    ]
    deltas = [None] + [
        empty(xp, (units, n_samples), dtype, device) if backward else None
        for units in layer_units[1:-1]
    ]
    return Activations(inputs, acts, hidden, deltas, xp)


def forward(X, layers, activation, buffers, keep_masks=None, preactivations=None):
    """Fill ``buffers`` for input ``X``; return the output pre-activation ``Z[L].T``.

    The network's one forward pass: training, prediction, the layer
    statistics and the fast gradient check all run it. ``layers`` are the
    ``[W; b]`` blocks of :func:`layer_views`; ``buffers`` an
    :class:`Activations` for at least ``len(X)`` samples. If
    ``preactivations`` is a list, a copy of each hidden layer's
    pre-activation ``Z[l].T`` (units x samples) is appended to it before the
    activation overwrites it.

    Examples
    --------
    >>> theta = np.arange(26.0) / 26
    >>> layers = layer_views(theta, parameter_blocks([3, 4, 2]))
    >>> X = np.ones((5, 3))
    >>> kept = []
    >>> buffers = allocate_activations(5, [3, 4, 2], np.float64)
    >>> Z = forward(X, layers, "relu", buffers, preactivations=kept)
    >>> Z.shape, kept[0].shape  # one column per sample
    ((2, 5), (4, 5))
    >>> W1, b1 = theta[:12].reshape(3, 4), theta[12:16]
    >>> bool(np.allclose(kept[0].T, X @ W1 + b1))
    True
    """
    g = ACTIVATIONS[activation].forward
    xp = buffers.xp
    buffers = buffers.rows(X.shape[0])
    sparse_input = sparse.issparse(X)
    if not sparse_input:
        buffers.load(X)
    acts, hidden = buffers.acts, buffers.hidden
    n_layers = len(layers)
    for layer in range(n_layers):
        last = layer == n_layers - 1
        Z = acts[layer + 1] if last else hidden[layer + 1]
        if layer == 0 and sparse_input:
            _sparse_first_layer(X, layers[0], Z)
        else:
            into(xp, xp.matmul, layers[layer].T, acts[layer], out=Z)
        if last:
            break
        if preactivations is not None:
            preactivations.append(copy_array(Z))
        g(Z, xp)  # Z becomes A = g(Z), in place
        if keep_masks is not None:
            dropped_out = acts[layer + 1][:-1, :]
            into(xp, xp.multiply, Z, keep_masks[layer].T, out=dropped_out)
    return acts[n_layers]


def _sparse_first_layer(X, Wb, out):
    """``out = ([X, 1] @ [W; b]).T`` for a sparse ``X``: a sparse-dense product."""
    out[...] = (X @ Wb[:-1]).T
    out += Wb[-1][:, None]


def backward(
    delta,
    layers,
    activation,
    buffers,
    grad_layers,
    l2_scale=0.0,
    keep_masks=None,
    X=None,
):
    """Backpropagate the output delta ``(dJ/dZ[L]).T`` into ``grad_layers``.

    ``grad_layers[l] = [A[l].T; 1] @ delta[l + 1].T`` plus ``l2_scale * W[l]``
    in its ``W`` rows, that is ``[dW; db]``, where ``l2_scale`` is
    ``alpha / sum(sample_weight)`` and ``delta`` already carries the
    per-sample ``1 / n`` (or weight) scaling. ``buffers`` are the
    :class:`Activations` of the forward pass, restricted to the batch; a sparse
    input batch ``X`` is passed along (it is not in the buffers).
    """
    derivative = ACTIVATIONS[activation].derivative
    xp = buffers.xp
    sparse_input = X is not None and sparse.issparse(X)
    acts, hidden, deltas = buffers.acts, buffers.hidden, buffers.deltas
    for layer in range(len(layers) - 1, -1, -1):
        grad = grad_layers[layer]
        if layer == 0 and sparse_input:  # scipy's sparse X: NumPy only
            grad[:-1] = X.T @ delta.T
            np.add.reduce(delta, axis=1, out=grad[-1])
        else:
            into(xp, xp.matmul, acts[layer], delta.T, out=grad)
        inplace_add_l2_gradient(grad, layers[layer], l2_scale)
        W = layers[layer][:-1, :]
        if layer:
            upstream = into(xp, xp.matmul, W, delta, out=deltas[layer])
            if keep_masks is not None:
                upstream *= keep_masks[layer - 1].T
            delta = derivative(hidden[layer], upstream, xp)


def l2_penalty(layers, alpha, sw_sum, xp=np):
    """``0.5 * alpha * sum_l ||W[l]||_F^2 / sw_sum`` over the ``[W; b]`` blocks.

    Examples
    --------
    >>> l2_penalty([np.ones((3, 2))], alpha=2.0, sw_sum=4.0)  # W is 2 x 2
    1.0
    """
    if not alpha:
        return 0.0
    squares = 0.0
    for Wb in layers:
        W = Wb[:-1, :]
        # vdot: one BLAS pass, no temporary (NumPy); it conjugates, so not
        # for the complex step.
        real = is_numpy(xp) and not np.iscomplexobj(W)
        squares += as_scalar(np.vdot(W, W) if real else xp.sum(W * W))
    return 0.5 * alpha * squares / sw_sum


def inplace_add_l2_gradient(grad, Wb, l2_scale):
    """Add the gradient of :func:`l2_penalty`, ``l2_scale * W``, to ``grad``'s W rows.

    ``grad`` and ``Wb`` are one layer's ``[dW; db]`` and ``[W; b]`` blocks;
    ``l2_scale`` is ``alpha / sum(sample_weight)``. The bias is not penalized.

    Examples
    --------
    >>> grad, Wb = np.zeros((3, 2)), np.ones((3, 2))
    >>> inplace_add_l2_gradient(grad, Wb, 0.5)
    >>> grad
    array([[0.5, 0.5],
           [0.5, 0.5],
           [0. , 0. ]])
    """
    if l2_scale:
        grad[:-1, :] += l2_scale * Wb[:-1, :]


def backprop(
    X,
    Y,
    layers,
    grad_layers,
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
    written into ``grad_layers``, the ``[dW; db]`` blocks matching ``layers``
    (see :func:`layer_views`). ``buffers`` come from
    :func:`allocate_activations` for at least ``len(X)`` samples; ``X`` is
    copied into them unless it is their own ``buffers.batch(len(X))`` view.

    Returns
    -------
    loss : float
    """
    # A Python float: a numpy float64 alpha would run float32 passes in float64.
    alpha = float(alpha)
    xp = buffers.xp
    n_samples = X.shape[0]
    buffers = buffers.rows(n_samples)
    Z = forward(X, layers, activation, buffers, keep_masks)
    # The losses take samples as rows: Z.T is a view, no copy.
    value = inplace_data_loss_and_delta(Z.T, Y, loss, sample_weight, xp)
    sw_sum = n_samples if sample_weight is None else float(xp.sum(sample_weight))
    value += l2_penalty(layers, alpha, sw_sum, xp)
    if gradient:
        backward(
            Z,
            layers,
            activation,
            buffers,
            grad_layers,
            l2_scale=alpha / sw_sum,
            keep_masks=keep_masks,
            X=X,
        )
    return value


def predict_output(X, coefs, intercepts, activation, xp=np, device=None):
    """Output pre-activation ``Z[L]`` (samples as rows) for ``X``, by :func:`forward`.

    Runs in chunks of rows whose activations stay within :func:`rows_per_chunk`,
    in the wider of ``X``'s and the weights' dtypes, in namespace ``xp`` on
    ``device`` (X's and the weights').

    Examples
    --------
    >>> coefs, intercepts = [np.eye(2), np.ones((2, 1))], [np.zeros(2), np.zeros(1)]
    >>> predict_output(np.array([[1.0, -2.0]]), coefs, intercepts, "relu")
    array([[1.]])
    """
    units = [X.shape[1], *(W.shape[1] for W in coefs)]
    dtype = xp.result_type(X.dtype, coefs[0].dtype)
    theta = pack(coefs, intercepts, dtype=dtype, xp=xp, device=device)
    layers = layer_views(theta, parameter_blocks(units), xp)
    sparse_input = sparse.issparse(X)
    stored = sum(units[1:]) if sparse_input else sum(units)
    row_bytes = itemsize(xp, dtype) * (stored + len(units))
    chunk = max(1, min(X.shape[0], rows_per_chunk(row_bytes)))
    buffers = allocate_activations(
        chunk,
        units,
        dtype,
        backward=False,
        sparse_input=sparse_input,
        xp=xp,
        device=device,
    )
    out = empty(xp, (X.shape[0], units[-1]), dtype, device)
    for rows in gen_batches(X.shape[0], chunk):
        X_rows = X[rows] if sparse_input else X[rows, ...]
        out[rows, ...] = forward(X_rows, layers, activation, buffers).T
    return out


def draw_keep_masks(rng, n_samples, hidden_units, keep_prob, dtype, xp=np, device=None):
    """Inverted-dropout masks: ``1 / keep_prob`` with probability keep_prob, else 0.

    Drawn by NumPy's ``rng`` in every namespace (the same draws as on NumPy
    arrays), then moved to ``xp`` on ``device``; ``dtype`` is a NumPy dtype.

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> draw_keep_masks(rng, 2, [3], 0.5, np.dtype(np.float64))
    [array([[0., 0., 0.],
           [0., 2., 0.]])]
    """
    dtype = np.dtype(dtype)
    masks = []
    for units in hidden_units:
        kept = rng.random_sample((n_samples, units)) < keep_prob
        mask = kept.astype(dtype) / dtype.type(keep_prob)
        masks.append(mask if is_numpy(xp) else xp.asarray(mask, device=device))
    return masks
