"""Arrays of any Array API library (PyTorch, CuPy, array-api-strict).

With ``sklearn.set_config(array_api_dispatch=True)``, an estimator finds the
namespace and device of ``X`` (:func:`namespace_of`), works there, and returns
its results there. What has to run in NumPy (the normalizer's compensated
statistics, L-BFGS through scipy, gradient checks) moves the arrays to the
host (:func:`to_numpy`) and its results back (:func:`to_namespace`). Without
dispatch every input is a NumPy array, and these helpers change nothing.

:func:`namespace_of` always returns a namespace, ``numpy`` itself for NumPy
arrays: the network's rules are written once, for every namespace, with the
standard's operators; a NumPy-only speed trick (``out=``) is a branch inside
the one function (:func:`is_numpy`, :func:`inplace`), as in scikit-learn's
``_modify_in_place_if_numpy``.
"""

import numpy as np
from scipy import sparse

from ._compat import (
    _max_precision_float_dtype,
    get_namespace_and_device,
    move_to,
)

#: The namespaces that are NumPy itself (or a thin wrapper returning ndarrays).
_NUMPY_NAMES = {"numpy", "array_api_compat.numpy"}


def namespace_of(*arrays):
    """``(xp, device)`` of the arrays: ``(numpy, 'cpu')`` for NumPy arrays, sparse
    matrices, lists and frames, or whenever array_api_dispatch is off.

    Examples
    --------
    >>> namespace_of(np.zeros(2))[0] is np
    True
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
        return np, "cpu"
    try:
        xp, is_array_api, device = get_namespace_and_device(*arrays)
    except TypeError:  # e.g. a pandas Series: converted by validation
        return np, "cpu"
    if not is_array_api or xp.__name__ in _NUMPY_NAMES:
        return np, "cpu"
    return xp, device


def is_numpy(xp):
    """Whether ``xp`` is NumPy, where the ``out=`` speed branches apply.

    Examples
    --------
    >>> is_numpy(np)
    True
    """
    return xp is np or xp.__name__ in _NUMPY_NAMES


def into(xp, func, *args, out):
    """``out <- func(*args)``: NumPy writes straight into ``out`` (``out=``), other
    namespaces assign the result.

    scikit-learn's ``_modify_in_place_if_numpy``: one line of math for every
    namespace, no temporary in NumPy.

    Examples
    --------
    >>> out = np.empty((1, 1))
    >>> into(np, np.matmul, np.ones((1, 2)), np.ones((2, 1)), out=out)
    array([[2.]])
    """
    if is_numpy(xp):
        return func(*args, out=out)
    out[...] = func(*args)
    return out


def inplace(xp, func, X):
    """``X <- func(X)`` in place (:func:`into` with ``out=X``).

    Examples
    --------
    >>> X = np.array([0.0, 1.0])
    >>> inplace(np, np.exp, X) is X, X
    (True, array([1.        , 2.71828183]))
    """
    return into(xp, func, X, out=X)


def astype(xp, array, dtype):
    """``array`` in ``dtype`` (itself if it already is; NumPy < 2 has no
    ``np.astype``)."""
    if is_numpy(xp):
        return array.astype(dtype, copy=False)
    return xp.astype(array, dtype, copy=False)


def itemsize(xp, dtype):
    """Bytes per element of a float ``dtype`` of namespace ``xp``."""
    return 4 if dtype == xp.float32 else 8


def empty(xp, shape, dtype, device):
    """``xp.empty`` on ``device`` (NumPy < 2 takes no ``device``)."""
    if is_numpy(xp):
        return np.empty(shape, dtype)
    return xp.empty(shape, dtype=dtype, device=device)


def zeros(xp, shape, dtype, device):
    """``xp.zeros`` on ``device`` (NumPy < 2 takes no ``device``)."""
    if is_numpy(xp):
        return np.zeros(shape, dtype)
    return xp.zeros(shape, dtype=dtype, device=device)


def lent_to_numpy(*arrays):
    """NumPy arrays sharing each array's memory (None stays None), or None.

    Host (CPU) arrays of a library that lends its memory through DLPack
    (PyTorch on CPU) run through NumPy's kernels on that very memory: OpenBLAS
    and ``out=`` buffers beat per-operation allocations, and PyTorch's CPU
    GEMMs (MKL, on this project's AMD machines 1.5-1.8x slower than OpenBLAS).
    The arrays stay the library's; only the arithmetic is NumPy's. None when
    one cannot be lent (a GPU array, read-only memory) and for
    array-api-strict, which exists to run the standard's own code path.

    Examples
    --------
    >>> import array_api_strict as xp
    >>> lent_to_numpy(xp.zeros(3)) is None
    True
    """
    views = []
    for array in arrays:
        if array is None:
            views.append(None)
            continue
        if type(array).__module__.startswith("array_api_strict"):
            return None
        try:
            view = np.from_dlpack(array)
        except (TypeError, RuntimeError, BufferError, ValueError, AttributeError):
            return None
        if not view.flags.writeable:
            return None
        views.append(view)
    return views


def _foreign(array):
    """True for an array of another namespace than NumPy (under dispatch)."""
    return not is_numpy(namespace_of(array)[0])


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
    if is_numpy(xp) or array is None:
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


def as_scalar(value):
    """A Python number from a scalar or 0-d array of any namespace: a float,
    or a complex for NumPy's complex values (the complex-step gradient check).

    Examples
    --------
    >>> as_scalar(np.float32(0.5)), as_scalar(np.array(1 + 2j))
    (0.5, (1+2j))
    """
    if isinstance(value, (complex, np.complexfloating)) or (
        isinstance(value, np.ndarray) and value.dtype.kind == "c"
    ):
        return complex(value)
    return float(value)


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
    if is_numpy(xp):
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
    name = lambda xp: "numpy" if is_numpy(xp) else xp.__name__  # noqa: E731
    if name(fitted_xp) != name(X_xp) or fitted_device != X_device:
        raise ValueError(
            "Inputs passed to fit() and the fitted attributes must use the same "
            f"namespace and device: {type(estimator).__name__}.{method}() got X "
            f"from {name(X_xp)} (device {X_device}) but the model was fitted on "
            f"{name(fitted_xp)} (device {fitted_device})."
        )
