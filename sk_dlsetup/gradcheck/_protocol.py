"""The objective protocol: building an objective from an estimator, and its rules.

An objective has ``theta0``, ``blocks`` (name, slice, shape), ``loss(theta)``
and ``gradient(theta)``; optional hooks are ``kink_signature(theta)``,
``penalty_gradient(theta)``, ``loss_and_gradient(theta)`` and
``astype(dtype)`` (a lower-precision objective is then checked in float64).
"""

import inspect

import numpy as np
from scipy import sparse

#: The objective protocol: what ``estimator.objective(X, y)`` must return.
PROTOCOL = ("theta0", "blocks", "loss", "gradient")


def missing_protocol(obj, names=PROTOCOL):
    """The names of ``names`` that ``obj`` lacks."""
    return [name for name in names if not hasattr(obj, name)]


def build_objective(estimator, X, y, sample_weight, dropout):
    name = type(estimator).__name__
    if X is None and y is None:
        if not missing_protocol(estimator):
            return estimator
        raise TypeError(
            f"check_gradients needs X and y to build {name}'s objective, unless "
            f"it is given an objective (with {', '.join(PROTOCOL)}) directly."
        )
    if not callable(getattr(estimator, "objective", None)):
        raise TypeError(
            f"{name} has no objective(X, y) method: check_gradients needs an "
            f"estimator following the objective protocol."
        )
    kwargs = {}
    accepts = _accepted_keywords(estimator.objective)
    if sample_weight is not None:
        if not accepts("sample_weight"):
            raise TypeError(f"{name}.objective does not accept sample_weight.")
        kwargs["sample_weight"] = sample_weight
    if accepts("dropout"):
        kwargs["dropout"] = dropout
    elif dropout != "frozen":
        raise ValueError(
            f"{name}.objective does not accept dropout={dropout!r}; only the "
            f"default 'frozen' can be used with it."
        )
    objective = estimator.objective(_as_float64(X), y, **kwargs)
    missing = missing_protocol(objective)
    if missing:
        raise TypeError(
            f"{name}.objective(X, y) returned a {type(objective).__name__} "
            f"without {', '.join(missing)} (the objective protocol needs "
            f"{', '.join(PROTOCOL)})."
        )
    return objective


def _accepted_keywords(method):
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return lambda keyword: False
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return lambda keyword: True
    names = {p.name for p in parameters}
    return lambda keyword: keyword in names


def _as_float64(X):
    """Floating-point X as float64 (other inputs are left to the model)."""
    dtype = getattr(X, "dtype", None)
    if sparse.issparse(X) or isinstance(X, np.ndarray):
        if dtype.kind == "f" and dtype != np.float64:
            return X.astype(np.float64)
        return X
    dtypes = getattr(X, "dtypes", None)
    if hasattr(dtypes, "items") and hasattr(X, "astype"):  # a pandas DataFrame
        low = {c: np.float64 for c, dt in dtypes.items() if str(dt) == "float32"}
        return X.astype(low) if low else X
    return X


def as_float64_objective(objective):
    """``(objective, upcast)``: a float64 twin of a lower-precision objective.

    Objectives that evaluate in another floating dtype (a ``dtype`` attribute)
    and offer ``astype(dtype)`` are checked through their float64 twin.
    """
    dtype = getattr(objective, "dtype", None)
    if (
        dtype is None
        or not callable(getattr(objective, "astype", None))
        or np.dtype(dtype) == np.float64
        or np.dtype(dtype).kind != "f"
    ):
        return objective, False
    return objective.astype(np.float64), True


def validate_blocks(blocks, n_params):
    out = []
    for name, sl, shape in blocks:
        start, stop, step = sl.indices(n_params)
        shape = tuple(int(s) for s in np.atleast_1d(shape)) if shape != () else ()
        if step != 1 or stop - start != int(np.prod(shape)):
            raise ValueError(
                f"block {name!r}: slice {sl} does not hold an array of shape {shape}."
            )
        out.append((str(name), slice(start, stop), shape))
    return out
