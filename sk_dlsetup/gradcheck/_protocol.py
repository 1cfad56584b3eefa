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
    """The blocks as ``(name, slice, shape)`` with plain slices, if they tile theta0.

    The protocol's rules, checked before any difference is taken so that a
    malformed objective is an error, never a pass: every block is a
    ``(name, slice, shape)`` triple with a distinct name and a step-1 slice
    holding ``prod(shape)`` values, and the blocks cover ``theta0`` exactly, in
    order, with no gap and no overlap.

    Examples
    --------
    >>> validate_blocks([("w", slice(0, 6), (2, 3)), ("b", slice(6, 8), (2,))], 8)
    [('w', slice(0, 6, None), (2, 3)), ('b', slice(6, 8, None), (2,))]
    >>> validate_blocks([("w", slice(0, 6), (2, 3))], 8)
    Traceback (most recent call last):
    ...
    ValueError: theta0[6:8] is covered by no block (after 'w', at the end of \
theta0): every parameter must belong to exactly one block.
    """
    if isinstance(blocks, (str, bytes)) or not hasattr(blocks, "__iter__"):
        raise TypeError(
            "objective.blocks must be a sequence of (name, slice, shape) triples; "
            f"got {type(blocks).__name__}."
        )
    out, names = [], set()
    for index, block in enumerate(blocks):
        name, sl, shape = _block_triple(index, block)
        if name in names:
            raise ValueError(f"block name {name!r} appears twice in objective.blocks.")
        names.add(name)
        start, stop, step = sl.indices(n_params)
        size = int(np.prod(shape))
        if step != 1 or stop - start != size or sl.stop is None or sl.stop > n_params:
            raise ValueError(
                f"block {name!r}: slice {sl} does not hold an array of shape {shape} "
                f"({size} values) within theta0's {n_params}."
            )
        out.append((name, slice(start, stop), shape))
    _check_tiling(out, n_params)
    return out


def _block_triple(index, block):
    try:
        name, sl, shape = block
    except (TypeError, ValueError):
        got = (
            f"a {type(block).__name__} of {len(block)} items"
            if hasattr(block, "__len__")
            else f"a {type(block).__name__}"
        )
        raise TypeError(
            f"objective.blocks[{index}] must be a (name, slice, shape) triple; "
            f"got {got}: {block!r:.80}"
        ) from None
    if not isinstance(sl, slice):
        raise TypeError(
            f"block {name!r}: expected a slice of theta0 (start:stop), got "
            f"{type(sl).__name__}."
        )
    try:
        shape = () if shape == () else tuple(int(s) for s in np.atleast_1d(shape))
    except (TypeError, ValueError):
        raise TypeError(
            f"block {name!r}: shape must be a tuple of integers, got {shape!r}."
        ) from None
    return str(name), sl, shape


def _check_tiling(blocks, n_params):
    """Gaps and overlaps, named by the range of theta0 and the blocks around it."""
    for (before, sl_before, _), (name, sl, _) in zip(blocks, blocks[1:]):
        if sl.start < sl_before.start:
            raise ValueError(
                f"blocks must follow theta0's order: {name!r} starts at {sl.start}, "
                f"before {before!r} (at {sl_before.start})."
            )
    position, previous = 0, None
    for name, sl, _ in blocks:
        if sl.start > position:
            where = f"after {previous[0]!r}, " if previous else ""
            raise ValueError(
                f"theta0[{position}:{sl.start}] is covered by no block ({where}"
                f"before {name!r}): every parameter must belong to exactly one block."
            )
        if sl.start < position:
            raise ValueError(
                f"theta0[{sl.start}:{min(position, sl.stop)}] is covered by both "
                f"{previous[0]!r} and {name!r}: blocks must not overlap."
            )
        position, previous = sl.stop, (name, sl)
    if position < n_params:
        where = f"after {previous[0]!r}, at" if previous else "at"
        raise ValueError(
            f"theta0[{position}:{n_params}] is covered by no block ({where} the end "
            f"of theta0): every parameter must belong to exactly one block."
        )


def scalar_loss(value):
    """``loss(theta)``'s value as a float: a real scalar, 0-d or one-element array.

    Examples
    --------
    >>> scalar_loss(np.array([[2.5]]))
    2.5
    >>> scalar_loss(np.ones(3))
    Traceback (most recent call last):
    ...
    ValueError: loss(theta) must return a real scalar; got an array of shape (3,).
    """
    if type(value) is float:  # the common case, checked on every evaluation
        return value
    array = _real_array(value, "loss(theta) must return a real scalar")
    if array.size != 1:
        raise ValueError(
            f"loss(theta) must return a real scalar; got an array of shape "
            f"{array.shape}."
        )
    return float(array.reshape(()))


def _real_array(value, rule):
    """``value`` as an array of real numbers, or a TypeError stating ``rule``."""
    array = np.asarray(value)
    if array.dtype.kind == "c":
        raise TypeError(f"{rule}; got a complex value.")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{rule}; got {type(value).__name__}.")
    return array


def gradient_vector(value, n_params):
    """``gradient(theta)``'s value as a flat float64 array of ``n_params`` values.

    A row or column vector is accepted; anything else of another size is an
    error naming both sizes.

    Examples
    --------
    >>> gradient_vector(np.ones((3, 1)), 3)
    array([1., 1., 1.])
    """
    array = _real_array(value, "gradient(theta) must return real numbers")
    vector_shape = array.ndim == 1 or (array.ndim == 2 and 1 in array.shape)
    if array.size != n_params or not vector_shape:
        raise ValueError(
            f"gradient(theta) returned {array.size} values (shape {array.shape}); "
            f"theta0 has {n_params}: one value per parameter is needed."
        )
    return array.astype(np.float64).ravel()
