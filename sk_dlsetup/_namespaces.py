"""Arrays of any Array API library (PyTorch, CuPy, array-api-strict).

With ``sklearn.set_config(array_api_dispatch=True)``, an estimator finds the
namespace and device of ``X`` (:func:`namespace_of`), works there, and returns
its results there. What has to run in NumPy (the normalizer's compensated
statistics, L-BFGS through scipy, gradient checks) moves the arrays to the
host (:func:`to_numpy`) and its results back (:func:`to_namespace`). Without
dispatch every input is a NumPy array, and these helpers change nothing.
"""

import numpy as np
from scipy import sparse

from ._compat import (
    _max_precision_float_dtype,
    get_namespace_and_device,
    move_to,
)


def namespace_of(*arrays):
    """``(xp, device)`` of the arrays; ``(None, None)`` for NumPy arrays, sparse
    matrices, lists and frames, or whenever array_api_dispatch is off.

    Examples
    --------
    >>> namespace_of(np.zeros(2))
    (None, None)
    """
    arrays = [
        a
        for a in arrays
        if hasattr(a, "shape")
        and hasattr(a, "dtype")
        and not isinstance(a, np.ndarray)
        and not sparse.issparse(a)
    ]
    if not arrays:
        return None, None
    try:
        xp, is_array_api, device = get_namespace_and_device(*arrays)
    except TypeError:  # e.g. a pandas Series: converted by validation
        return None, None
    if not is_array_api or xp.__name__ in {"numpy", "array_api_compat.numpy"}:
        return None, None
    return xp, device


def _foreign(array):
    """True for an array of another namespace than NumPy (under dispatch)."""
    return namespace_of(array)[0] is not None


def to_numpy(array):
    """A NumPy copy (or the array itself) of an array of any namespace, on the host.

    Examples
    --------
    >>> to_numpy(None) is None, to_numpy([1, 2])
    (True, [1, 2])
    """
    if not _foreign(array):
        return array
    return move_to(array, xp=np, device="cpu")


def to_namespace(array, xp, device, dtype=None):
    """``array`` (NumPy) in ``xp`` on ``device``; floats in ``dtype``, or float64
    where the device has it (float32 where it does not, e.g. Apple's MPS)."""
    if xp is None or array is None:
        return array
    array = np.asarray(array)
    if dtype is None and np.issubdtype(array.dtype, np.floating):
        widest = _max_precision_float_dtype(xp, device)
        dtype = widest if array.dtype == np.float64 else xp.float32
    return xp.asarray(array, dtype=dtype, device=device)


def attributes_to_numpy(estimator):
    """Move the estimator's fitted array attributes to NumPy, in place."""
    for key, value in list(vars(estimator).items()):
        if _foreign(value):
            setattr(estimator, key, to_numpy(value))


def attributes_to_namespace(estimator, xp, device):
    """Move the estimator's fitted NumPy array attributes to ``xp`` on ``device``."""
    for key, value in list(vars(estimator).items()):
        if isinstance(value, np.ndarray):
            setattr(estimator, key, to_namespace(value, xp, device))


def copy_array(array):
    """A copy of an array of any namespace, in that namespace."""
    if isinstance(array, np.ndarray):
        return array.copy()
    xp, _ = namespace_of(array)
    return xp.asarray(array, copy=True)


def all_finite(array):
    """Whether every entry of an array of any namespace is finite (a Python bool)."""
    if isinstance(array, np.ndarray):
        return bool(np.all(np.isfinite(array)))
    xp, _ = namespace_of(array)
    return bool(xp.all(xp.isfinite(array)))


def max_abs(array):
    """The largest magnitude in an array of any namespace (a Python float; NaN
    if any entry is NaN, 0 for an empty array)."""
    if sparse.issparse(array):
        array = array.data
    xp, _ = namespace_of(array)
    if xp is None:
        array = np.asarray(array)
        with np.errstate(all="ignore"):
            return float(np.max(np.abs(array))) if array.size else 0.0
    return float(xp.max(xp.abs(array))) if array.shape[0] else 0.0


def numpy_dtype(array):
    """The NumPy float dtype matching an array's (float32 or float64)."""
    if isinstance(array, np.ndarray) or sparse.issparse(array):
        return array.dtype
    xp, _ = namespace_of(array)
    return np.float32 if array.dtype == xp.float32 else np.float64


def check_same_namespace_as(X, fitted, estimator, method):
    """X must live where the fitted array ``fitted`` does (scikit-learn's
    message: "... must use the same namespace ... Estimator.method()")."""
    fitted_xp, fitted_device = namespace_of(fitted)
    X_xp, X_device = namespace_of(X)
    name = lambda xp: "numpy" if xp is None else xp.__name__  # noqa: E731
    if name(fitted_xp) != name(X_xp) or fitted_device != X_device:
        raise ValueError(
            "Inputs passed to fit() and the fitted attributes must use the same "
            f"namespace and device: {type(estimator).__name__}.{method}() got X "
            f"from {name(X_xp)} (device {X_device}) but the model was fitted on "
            f"{name(fitted_xp)} (device {fitted_device})."
        )
