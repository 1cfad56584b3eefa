"""The normalizer's transform: ``(X - mean) / scale`` and back, blockwise.

One implementation for every array namespace (NumPy writes each block in
place with the statistics tiled to it; other namespaces use the standard's
operators), run by :meth:`InputNormalizer.transform` and
:meth:`InputNormalizer.inverse_transform` alike.
"""

import math

import numpy as np
from sklearn import get_config
from sklearn.utils import assert_all_finite

from .._namespaces import copy_array, into, is_numpy
from ._moments import _block_rows, _row_operand


def _affine_dense(X, mean, scale, *, copy, inverse, xp=np):
    """``(X - mean) / scale``, or ``X * scale + mean`` if ``inverse``, blockwise.

    ``mean`` or ``scale`` may be None (step skipped). Works in X's dtype and
    namespace ``xp``, the statistics being cast to them first. Writes into a
    new array if ``copy``, else into X. Raises scikit-learn's error if X
    contains infinity; X is left untouched then. One implementation for every
    namespace: NumPy writes each block in place (``out=``) with the statistics
    tiled to the block (one flat loop instead of one per row).

    Examples
    --------
    >>> X = np.array([[1.0, 4.0], [3.0, 8.0]])
    >>> _affine_dense(X, np.array([2.0, 6.0]), np.array([1.0, 2.0]), copy=True,
    ...               inverse=False)
    array([[-1., -1.],
           [ 1.,  1.]])
    """
    if (mean is None and scale is None) or not copy:
        # Check everything before writing into X (one cheap pass: a sum).
        assert_all_finite(X, allow_nan=True, input_name="X")
        if mean is None and scale is None:
            return copy_array(X) if copy else X
        check_blocks = False
    else:
        check_blocks = not get_config()["assume_finite"]
    out = xp.empty_like(X) if copy else X
    n_rows, n_cols = X.shape
    step = _block_rows(n_rows, n_cols)
    mean, scale = (
        None if v is None else _block_operand(xp, v, X.dtype, step, out)
        for v in (mean, scale)
    )
    for start in range(0, n_rows, step):
        src = X[start : start + step, ...]
        dst = out[start : start + step, ...]
        rows = src.shape[0]
        if inverse:
            if scale is not None:
                src = into(xp, xp.multiply, src, scale[:rows, ...], out=dst)
            if mean is not None:
                into(xp, xp.add, src, mean[:rows, ...], out=dst)
        else:
            if mean is not None:
                src = into(xp, xp.subtract, src, mean[:rows, ...], out=dst)
            if scale is not None:
                into(xp, xp.divide, src, scale[:rows, ...], out=dst)
        # An infinity in the input makes the output block non-finite: check
        # the output block, still in cache, and the input only if that fails.
        if check_blocks:
            with np.errstate(over="ignore", invalid="ignore"):
                finite = math.isfinite(float(xp.sum(dst)))
            if not finite:
                assert_all_finite(
                    X[start : start + step, ...], allow_nan=True, input_name="X"
                )
    return out


def _block_operand(xp, vector, dtype, step, like):
    """A statistic (float64 NumPy) as the operand of a block of ``step`` rows:
    in X's namespace, device and dtype, of shape ``(step or 1, n_features)``."""
    if is_numpy(xp):
        return _row_operand(vector.astype(dtype), step, like)
    vector = xp.astype(vector, dtype)
    return xp.broadcast_to(vector, (step, vector.shape[0]))
