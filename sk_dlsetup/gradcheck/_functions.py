"""make_objective: the objective protocol around the loss and backprop a user wrote.

A student's network keeps its parameters in a dict (``W1``, ``b1``, ...), a
list, or one array, and computes the cost and the gradients with functions of
that structure. :func:`make_objective` flattens the structure into ``theta``
(blocks named by the user's keys), and unflattens ``theta`` into fresh float64
arrays for every call, so :func:`~sk_dlsetup.check_gradients` can say which
array, and which entry of it, backprop gets wrong.
"""

from collections.abc import Mapping

import numpy as np

from ._protocol import gradient_vector, scalar_loss


def make_objective(loss, gradient, params):
    """An objective (``theta0``, ``blocks``, ``loss``, ``gradient``) of your functions.

    Parameters
    ----------
    loss : callable
        ``loss(p) -> float``: the cost at parameters ``p``, which have the
        structure of ``params`` (a dict with the same keys, a list or tuple of
        the same length, or one array), holding fresh float64 arrays. A 0-d or
        one-element array is accepted as the value.
    gradient : callable
        ``gradient(p)``: the gradient you computed, as the same structure, or
        as a dict keyed ``'d' + name`` (``'dW1'``, as in the lecture; other keys
        such as ``'dZ3'`` are ignored), or as one flat vector in ``theta``'s
        order (the blocks' order).
    params : dict, list, tuple or array-like
        The parameters at which to check. A dict of arrays of any shapes
        (e.g. ``{'W1': (5, 4), 'b1': (5, 1), ...}``) gives one block per key, in
        the dict's order; a list or tuple of arrays gives blocks ``'p0'``,
        ``'p1'``, ...; one array of any shape, 0-d included, a list of numbers
        or a plain number gives one block ``'theta'``, whose gradient may have
        the array's own shape. They are copied: your arrays are never
        modified.

    Returns
    -------
    objective : object
        Follows the objective protocol: ``theta0`` (float64, the arrays
        flattened in C order, one after the other), ``blocks`` (one
        ``(name, slice, shape)`` per array, in its own shape), ``loss(theta)``
        and ``gradient(theta)``; ``params(theta)`` gives ``theta`` back in your
        structure.

    Raises
    ------
    TypeError
        If ``loss`` or ``gradient`` is not callable, or ``params`` holds
        something other than real numbers.
    ValueError
        If ``params`` is empty, or ``gradient`` returns a structure that does
        not match ``params`` (missing keys, other sizes).

    See Also
    --------
    check_gradients : Check the objective, block by block.
    scipy.optimize.check_grad : The same question for a flat vector, as one number.

    Examples
    --------
    A quadratic whose gradient of ``b`` is twice too large:

    >>> import numpy as np
    >>> from sk_dlsetup import check_gradients, make_objective
    >>> params = {"W": np.ones((2, 3)), "b": np.zeros((2, 1))}
    >>> def loss(p):
    ...     return 0.5 * np.sum(p["W"] ** 2) + np.sum(p["b"] ** 2)
    >>> def gradient(p):
    ...     return {"dW": p["W"], "db": 4 * p["b"]}
    >>> objective = make_objective(loss, gradient, params)
    >>> [(name, shape) for name, _, shape in objective.blocks]
    [('W', (2, 3)), ('b', (2, 1))]
    >>> params["b"][:] = 1.0  # the objective kept its own copy: theta0 is unchanged
    >>> report = check_gradients(make_objective(loss, gradient, params))
    >>> report.verdict, report.worst_block, round(report["b"].ratio, 6)
    ('fail', 'b', 2.0)
    """
    for name, function in (("loss", loss), ("gradient", gradient)):
        if not callable(function):
            raise TypeError(
                f"make_objective's {name} must be a function of the parameters; "
                f"got {type(function).__name__}."
            )
    return FunctionObjective(loss, gradient, params)


class FunctionObjective:
    """The objective of :func:`make_objective` (see there)."""

    def __init__(self, loss, gradient, params):
        self._loss, self._gradient = loss, gradient
        self._kind, self._keys, arrays = _structure(params)
        self.blocks, start = [], 0
        for key, array in zip(self._keys, arrays):
            name = str(key)
            self.blocks.append((name, slice(start, start + array.size), array.shape))
            start += array.size
        self.theta0 = np.concatenate([array.ravel() for array in arrays])

    def params(self, theta):
        """``theta`` as fresh float64 arrays in the structure of ``params``
        (complex128 for the complex step)."""
        dtype = np.complex128 if np.iscomplexobj(theta) else np.float64
        theta = np.array(theta, dtype=dtype)  # a copy: views of it are fresh
        if theta.shape != self.theta0.shape:
            raise ValueError(
                f"theta has shape {theta.shape}; expected {self.theta0.shape}."
            )
        arrays = [theta[sl].reshape(shape) for _, sl, shape in self.blocks]
        if self._kind == "dict":
            return dict(zip(self._keys, arrays))
        if self._kind == "array":
            return arrays[0]
        return tuple(arrays) if self._kind == "tuple" else arrays

    def loss(self, theta):
        """Your ``loss`` at ``theta``, as a float (as it is on complex theta)."""
        value = self._loss(self.params(theta))
        return value if np.iscomplexobj(theta) else scalar_loss(value)

    def gradient(self, theta):
        """Your ``gradient`` at ``theta``, flattened into theta's layout."""
        return self._flatten(self._gradient(self.params(theta)))

    def _flatten(self, grads):
        n_params = self.theta0.size
        if self._kind == "array" and np.shape(grads) == self.blocks[0][2]:
            parts = [grads]  # one array (any shape, 0-d too) and its gradient
        elif self._kind == "dict" and isinstance(grads, Mapping):
            parts = self._dict_parts(grads)
        elif self._kind == "dict" and isinstance(grads, (list, tuple)):
            raise ValueError(
                f"gradient(params) returned a {type(grads).__name__}, but params is "
                f"a dict: return a dict keyed as params ({self._key_list()}) or "
                "'d' + name, or one flat vector in the blocks' order."
            )
        elif self._kind in ("list", "tuple") and isinstance(grads, (list, tuple)):
            if len(grads) != len(self.blocks):
                raise ValueError(
                    f"gradient(params) returned {len(grads)} arrays; params has "
                    f"{len(self.blocks)}."
                )
            parts = grads
        else:
            return gradient_vector(grads, n_params)
        out = np.empty(n_params)
        for (name, sl, shape), part in zip(self.blocks, parts):
            part = np.asarray(part)
            if part.dtype.kind not in "biuf":
                raise TypeError(
                    f"the gradient of {name!r} must hold real numbers; got "
                    f"{part.dtype}."
                )
            if part.size != sl.stop - sl.start:
                raise ValueError(
                    f"the gradient of {name!r} has shape {part.shape}; {name!r} has "
                    f"shape {shape}."
                )
            out[sl] = part.ravel()
        return out

    def _key_list(self):
        return ", ".join(map(repr, self._keys))

    def _dict_parts(self, grads):
        """The gradient arrays keyed by the params' keys, or by 'd' + key."""
        both = [key for key in self._keys if key in grads and f"d{key}" in grads]
        if both:
            key = both[0]
            raise ValueError(
                f"gradient(params) returned both {key!r} and {'d' + key!r}: which "
                f"is the gradient of {key!r}? Return one array per parameter, "
                "keyed as params or 'd' + name, not both."
            )
        if all(key in grads for key in self._keys):
            return [grads[key] for key in self._keys]
        d_keys = [f"d{key}" for key in self._keys]
        missing = [key for key in d_keys if key not in grads]
        if not missing:
            return [grads[key] for key in d_keys]
        raise ValueError(
            f"gradient(params) returned a dict without {', '.join(map(repr, missing))}"
            f": it needs one array per parameter, keyed as params "
            f"({self._key_list()}) or 'd' + name."
        )


def _structure(params):
    """``(kind, keys, float64 arrays)`` of a dict, a sequence or one array."""
    if isinstance(params, Mapping):
        kind, keys, values = "dict", list(params), list(params.values())
    elif isinstance(params, (list, tuple)) and not all(
        np.ndim(value) == 0 and not isinstance(value, (list, tuple)) for value in params
    ):
        kind = "tuple" if isinstance(params, tuple) else "list"
        keys, values = [f"p{i}" for i in range(len(params))], list(params)
    else:
        kind, keys, values = "array", ["theta"], [params]
    if not values:
        raise ValueError("params is empty: there is nothing to check.")
    arrays = []
    for key, value in zip(keys, values):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"params[{key!r}] must be an array of real numbers; got "
                f"{array.dtype} ({type(value).__name__})."
            )
        arrays.append(np.array(array, dtype=np.float64))
    return kind, keys, arrays
