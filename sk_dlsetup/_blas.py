"""One-pass in-place vector updates through BLAS."""

import numpy as np
from scipy.linalg import blas

_AXPY = {np.dtype(np.float64): blas.daxpy, np.dtype(np.float32): blas.saxpy}


def axpy(a, x, y):
    """``y += a * x`` in place, in one pass when both are contiguous and alike.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.ones(3)
    >>> axpy(2.0, np.arange(3.0), y)
    array([1., 3., 5.])
    """
    routine = _AXPY.get(y.dtype)
    if (
        routine is not None
        and x.dtype == y.dtype
        and x.flags.c_contiguous
        and y.flags.c_contiguous
    ):
        routine(x.reshape(-1), y.reshape(-1), a=a)
    else:
        y += a * x
    return y
