"""The network on arrays of any Array API library: where the data lives.

Under ``sklearn.set_config(array_api_dispatch=True)``, an MLP given PyTorch,
CuPy or array-api-strict arrays trains ('sgd', 'adam') and predicts in their
namespace ``xp`` and on their device. The math is :mod:`._network`'s, in the
standard's functions: no ``out=`` buffers, so each step allocates its
activations, and samples are rows (``Z = A @ W + b``). theta has NumPy's
layout (:func:`~._network.parameter_blocks`: each layer's ``[W; b]`` one
contiguous block), so the training loop of :mod:`._training` and its
bookkeeping (early stopping, divergence, callbacks) serve both.

On the host CPU, when the library lends its memory (DLPack: PyTorch on CPU,
array-api-strict), the batches run through :mod:`._network`'s NumPy kernels
on views of the very same memory (:func:`host_views`): OpenBLAS and in-place
buffers beat the per-op allocations here, and PyTorch's CPU GEMMs (MKL, on
this project's AMD machines 1.5-1.8x slower than OpenBLAS). The arrays stay
the library's; only the arithmetic is NumPy's. Elsewhere (a GPU), the Array
API engine below runs on the device.

Randomness stays NumPy's: the initial weights, shuffles, dropout masks and the
validation split are drawn by the same ``RandomState`` calls as on NumPy
arrays and moved to the device, so the same ``random_state`` gives the same
weights and batches in every namespace, and results equal the NumPy path's to
floating-point accuracy.
"""

import functools
import math

import numpy as np
from sklearn.utils import gen_batches

from ._activations import ACTIVATIONS
from ._losses import LOSSES
from ._network import draw_keep_masks, parameter_blocks, rows_per_chunk

#: Run host (CPU) arrays through NumPy's kernels on shared memory; tests turn
#: it off to run the Array API engine on CPU libraries too.
HOST_VIEWS = True


def host_views(*arrays):
    """NumPy arrays sharing each array's memory (None stays None), or None if
    one of them cannot be lent (a GPU array) or :data:`HOST_VIEWS` is off.

    Examples
    --------
    >>> import array_api_strict as xp
    >>> theta = xp.zeros(3)
    >>> view, _ = host_views(theta, None)
    >>> view[0] = 1.0
    >>> float(theta[0])
    1.0
    """
    if not HOST_VIEWS:
        return None
    views = []
    for array in arrays:
        if array is None:
            views.append(None)
            continue
        try:
            view = np.from_dlpack(array)
        except (TypeError, RuntimeError, BufferError, ValueError):
            return None
        if not view.flags.writeable and len(views) == 0:
            return None  # theta (the first) must be updated in place
        views.append(view)
    return views


def xp_pack(xp, coefs, intercepts):
    """One flat theta (NumPy's layout) from per-layer arrays of namespace ``xp``.

    Examples
    --------
    >>> import array_api_strict as xp
    >>> theta = xp_pack(xp, [xp.ones((2, 1))], [xp.zeros(1)])
    >>> theta.shape
    (3,)
    """
    return xp.concat(
        [
            xp.reshape(xp.concat([W, xp.reshape(b, (1, -1))], axis=0), (-1,))
            for W, b in zip(coefs, intercepts)
        ]
    )


def xp_layers(xp, theta, layer_units):
    """``[W; b]`` blocks of theta, ``(fan_in + 1, fan_out)`` each (views where
    the library gives them; rebuilt from theta after every update anyway)."""
    return [
        xp.reshape(theta[start:stop], shape)
        for start, stop, shape in _layer_spans(tuple(layer_units))
    ]


@functools.lru_cache(maxsize=32)
def _layer_spans(layer_units):
    """``(start, stop, (fan_in + 1, fan_out))`` of each layer's block of theta."""
    blocks = parameter_blocks(layer_units)
    return [
        (W_slice.start, b_slice.stop, (shape[0] + 1, shape[1]))
        for (_, W_slice, shape), (_, b_slice, _) in zip(blocks[0::2], blocks[1::2])
    ]


def xp_unpack(xp, theta, layer_units):
    """``(coefs, intercepts)`` of theta: fresh arrays of namespace ``xp``."""
    layers = xp_layers(xp, theta, layer_units)
    coefs = [xp.asarray(Wb[:-1, :], copy=True) for Wb in layers]
    intercepts = [xp.asarray(Wb[-1, :], copy=True) for Wb in layers]
    return coefs, intercepts


def xp_forward(xp, X, layers, activation, keep_masks=None):
    """Output pre-activation ``Z[L]`` (samples as rows) and each layer's input.

    ``inputs[l]`` is what layer ``l + 1`` multiplies (``X``, then the
    dropped-out hidden outputs); ``hidden[l]`` the hidden outputs before
    dropout, which the derivatives need.
    """
    g = ACTIVATIONS[activation].xp_forward
    inputs, hidden = [X], [None]
    A = X
    for layer, Wb in enumerate(layers):
        Z = A @ Wb[:-1, :] + Wb[-1, :]
        if layer == len(layers) - 1:
            return Z, inputs, hidden
        A = g(xp, Z)
        hidden.append(A)
        if keep_masks is not None:
            A = A * keep_masks[layer]
        inputs.append(A)


def xp_backprop(
    xp, X, Y, layers, *, activation, loss, alpha, sample_weight=None, keep_masks=None
):
    """``(J, grad)``: the objective of :func:`~._network.backprop` and its flat
    gradient (theta's layout), in namespace ``xp``. ``J`` is a Python float."""
    n_samples = X.shape[0]
    Z, inputs, hidden = xp_forward(xp, X, layers, activation, keep_masks)
    per_sample, delta = LOSSES[loss].xp_per_sample(xp, Z, Y)
    # One device-to-host transfer per batch (the loss), as in a hand-written loop.
    if sample_weight is None:
        sw_sum = float(n_samples)
        total = xp.sum(per_sample)
        delta = delta / sw_sum
    else:
        sw_sum = xp.sum(sample_weight)
        total = xp.sum(per_sample * sample_weight)
        delta = delta * xp.reshape(sample_weight / sw_sum, (-1, 1))
    alpha = float(alpha)
    if alpha:
        squares = xp.sum(xp.stack([xp.sum(Wb[:-1, :] * Wb[:-1, :]) for Wb in layers]))
        total = total + 0.5 * alpha * squares
    value = float(total / sw_sum)
    derivative = ACTIVATIONS[activation].xp_derivative
    grads = [None] * len(layers)
    for layer in range(len(layers) - 1, -1, -1):
        W = layers[layer][:-1, :]
        dW = inputs[layer].T @ delta
        if alpha:
            dW = dW + (alpha / sw_sum) * W
        db = xp.sum(delta, axis=0)
        grads[layer] = xp.reshape(
            xp.concat([dW, xp.reshape(db, (1, -1))], axis=0), (-1,)
        )
        if layer:
            delta = delta @ W.T
            if keep_masks is not None:
                delta = delta * keep_masks[layer - 1]
            delta = derivative(xp, hidden[layer], delta)
    return value, xp.concat(grads)


def xp_predict_output(xp, X, coefs, intercepts, activation):
    """Output pre-activation for ``X``, in chunks of bounded working memory."""
    units = [X.shape[1], *(W.shape[1] for W in coefs)]
    layers = [
        xp.concat([W, xp.reshape(b, (1, -1))], axis=0)
        for W, b in zip(coefs, intercepts)
    ]
    itemsize = 4 if X.dtype == xp.float32 else 8
    chunk = max(1, min(X.shape[0], rows_per_chunk(itemsize * sum(units))))
    if chunk >= X.shape[0]:
        return xp_forward(xp, X, layers, activation)[0]
    return xp.concat(
        [
            xp_forward(xp, X[rows, ...], layers, activation)[0]
            for rows in gen_batches(X.shape[0], chunk)
        ]
    )


class XpEpoch:
    """:class:`~._training.Epoch` for arrays of namespace ``xp``: one pass in
    mini-batches, updating theta in place with ``optimizer``.

    The shuffle permutation and dropout masks come from ``rng`` (NumPy, the
    same draws as the NumPy path) and are moved to the device once per epoch
    (the permutation) or per batch (the masks).
    """

    def __init__(
        self,
        xp,
        device,
        X,
        Y,
        sample_weight,
        theta,
        *,
        layer_units,
        activation,
        loss,
        alpha,
        batch_size,
        shuffle,
        keep_prob,
        rng,
        optimizer,
        record_norms,
    ):
        self.xp, self.device = xp, device
        self.X, self.Y, self.sample_weight = X, Y, sample_weight
        self.theta, self.layer_units = theta, layer_units
        self.hidden_units = layer_units[1:-1]
        self.activation, self.loss, self.alpha = activation, loss, alpha
        self.batch_size, self.shuffle = batch_size, shuffle
        self.keep_prob, self.rng, self.optimizer = keep_prob, rng, optimizer
        self.record_norms = record_norms
        self.sample_idx = np.arange(X.shape[0])
        self.grad_norms = None
        self.np_dtype = np.float32 if X.dtype == xp.float32 else np.float64

    @property
    def layers(self):
        return xp_layers(self.xp, self.theta, self.layer_units)

    def weight_norms(self):
        """Frobenius norms of each layer's ``W``, as NumPy floats."""
        return _layer_norms(self.xp, self.layers)[0]

    def run(self):
        """Train one epoch; return the sample-mean batch loss, NaN if it diverged."""
        xp = self.xp
        n_samples = self.X.shape[0]
        if self.shuffle:
            self.rng.shuffle(self.sample_idx)
            order = xp.asarray(self.sample_idx, device=self.device)
        accumulated = 0.0
        grad_norms = (
            np.zeros((2, len(self.layer_units) - 1)) if self.record_norms else None
        )
        for rows in gen_batches(n_samples, self.batch_size):
            if self.shuffle:
                idx = order[rows]
                X_batch = xp.take(self.X, idx, axis=0)
                Y_batch = xp.take(self.Y, idx, axis=0)
                sw = (
                    None
                    if self.sample_weight is None
                    else xp.take(self.sample_weight, idx)
                )
            else:
                X_batch, Y_batch = self.X[rows, ...], self.Y[rows, ...]
                sw = None if self.sample_weight is None else self.sample_weight[rows]
            keep_masks = None
            if self.keep_prob < 1:
                keep_masks = [
                    xp.asarray(mask, device=self.device)
                    for mask in draw_keep_masks(
                        self.rng,
                        X_batch.shape[0],
                        self.hidden_units,
                        self.keep_prob,
                        np.dtype(self.np_dtype),
                    )
                ]
            layers = xp_layers(xp, self.theta, self.layer_units)
            loss, grad = xp_backprop(
                xp,
                X_batch,
                Y_batch,
                layers,
                activation=self.activation,
                loss=self.loss,
                alpha=self.alpha,
                sample_weight=sw,
                keep_masks=keep_masks,
            )
            if not math.isfinite(loss):
                return np.nan
            if grad_norms is not None:
                grad_layers = xp_layers(xp, grad, self.layer_units)
                grad_norms += X_batch.shape[0] * _layer_norms(xp, grad_layers)
            self.optimizer.update(self.theta, grad)
            accumulated += loss * X_batch.shape[0]
        if grad_norms is not None:
            self.grad_norms = grad_norms / n_samples
        return accumulated / n_samples


def _layer_norms(xp, layers):
    """:func:`~._network.block_norms` in ``xp``: rows ``W`` and ``b``, NumPy floats."""
    return np.array(
        [
            [math.sqrt(float(xp.sum(Wb[:-1, :] * Wb[:-1, :]))) for Wb in layers],
            [math.sqrt(float(xp.sum(Wb[-1, :] * Wb[-1, :]))) for Wb in layers],
        ]
    )
