"""theta's layout: the flat parameter vector and its per-layer views.

theta is the flat vector ``W1, b1, W2, b2, ..., WL, bL``, each block
flattened in C order (:func:`parameter_blocks`; ``coefs[l]`` has shape
``(fan_in, fan_out)``, scikit-learn's convention), so each layer's ``W``
followed by its ``b`` is one contiguous ``(fan_in + 1, fan_out)`` block,
``[W; b]`` (:func:`layer_views`), which the network's passes
(:mod:`._network`) multiply in one product. Every function takes the arrays'
namespace ``xp`` (NumPy by default).
"""

import math

import numpy as np

from .._namespaces import astype, empty, is_numpy


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


def block_layer(block):
    """``(layer, is_bias)`` of the ``block``-th block of theta (0-based layer).

    Blocks alternate ``W1, b1, W2, b2, ...`` (:func:`parameter_blocks`).

    Examples
    --------
    >>> [block_layer(b) for b in range(4)]
    [(0, False), (0, True), (1, False), (1, True)]
    """
    return block // 2, block % 2 == 1


def unpack(theta, blocks, xp=np):
    """Views ``(coefs, intercepts)`` into ``theta``: writing one writes the other.

    Views where the library gives them (NumPy, PyTorch, CuPy and
    array-api-strict do; the standard does not promise it, so weights are read
    back from theta after training anyway).

    Examples
    --------
    >>> theta = np.arange(4.0)
    >>> coefs, intercepts = unpack(theta, parameter_blocks([1, 2]))
    >>> coefs[0][0, 0] = 7.0
    >>> theta
    array([7., 1., 2., 3.])
    """
    views = [xp.reshape(theta[sl.start : sl.stop], shape) for _, sl, shape in blocks]
    return views[0::2], views[1::2]


def layer_views(theta, blocks, xp=np):
    """Views ``[W; b]`` of shape ``(fan_in + 1, fan_out)`` into ``theta``, per layer.

    ``W[l]`` and ``b[l]`` are adjacent in theta, so each layer's weights with
    its bias appended as a last row are one C-contiguous block.

    Examples
    --------
    >>> theta = np.arange(26.0)
    >>> layers = layer_views(theta, parameter_blocks([3, 4, 2]))
    >>> [Wb.shape for Wb in layers]
    [(4, 4), (5, 2)]
    >>> layers[0][-1]  # b1
    array([12., 13., 14., 15.])
    """
    layers = []
    for (_, W_slice, (fan_in, fan_out)), (_, b_slice, _) in zip(
        blocks[0::2], blocks[1::2]
    ):
        layer = theta[W_slice.start : b_slice.stop]
        layers.append(xp.reshape(layer, (fan_in + 1, fan_out)))
    return layers


def block_norms(layers, xp=np):
    """Frobenius norms of each layer's ``W`` (row 0) and ``b`` (row 1).

    ``layers`` are ``[W; b]`` blocks (:func:`layer_views`) of theta or of a
    gradient, in namespace ``xp``; the norms are returned as float64 NumPy.

    Examples
    --------
    >>> theta = np.zeros(26)
    >>> theta[:2] = 3.0, 4.0  # two entries of W1
    >>> block_norms(layer_views(theta, parameter_blocks([3, 4, 2])))
    array([[5., 0.],
           [0., 0.]])
    """

    def norm(a):
        if is_numpy(xp):
            return np.linalg.norm(a)  # BLAS's nrm2: no temporary
        return math.sqrt(float(xp.sum(a * a)))

    return np.array(
        [
            [norm(Wb[:-1, ...]) for Wb in layers],
            [norm(Wb[-1, ...]) for Wb in layers],
        ],
        dtype=np.float64,
    )


def pack(coefs, intercepts, dtype=None, xp=np, device=None):
    """Copy ``coefs`` and ``intercepts`` into one flat theta (W1, b1, W2, b2, ...).

    The arrays are of namespace ``xp`` (on ``device``); theta is too.

    Examples
    --------
    >>> pack([np.ones((2, 1))], [np.zeros(1)])
    array([1., 1., 0.])
    """
    dtype = coefs[0].dtype if dtype is None else dtype
    sizes = [math.prod(W.shape) for W in coefs]
    out = empty(xp, (sum(sizes) + sum(b.shape[0] for b in intercepts),), dtype, device)
    start = 0
    for W, b, size in zip(coefs, intercepts, sizes):
        out[start : start + size] = astype(xp, xp.reshape(W, (-1,)), dtype)
        start += size
        out[start : start + b.shape[0]] = astype(xp, b, dtype)
        start += b.shape[0]
    return out


def transposed_rows(Y, xp=np):
    """``Y`` (samples as rows) as the transpose of a C-contiguous array.

    The network keeps its outputs one column per sample; targets in the same
    layout make the losses' elementwise work contiguous. A copy only if needed;
    ``Y`` itself outside NumPy (the standard leaves memory layout to the
    library).

    Examples
    --------
    >>> Y = transposed_rows(np.eye(3)[[0, 2]])
    >>> Y.shape, Y.T.flags.c_contiguous
    ((2, 3), True)
    """
    if not is_numpy(xp):
        return Y
    return np.ascontiguousarray(Y.T).T
