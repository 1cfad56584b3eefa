"""jax_objective: a JAX function of a pytree of parameters, with ``jax.grad``."""

import contextlib

import numpy as np

from ..gradcheck._protocol import scalar_loss


def _import_jax():
    try:
        import jax
    except ImportError as exc:
        raise ImportError(
            "jax_objective requires JAX: pip install jax jaxlib (or the [jax] extra "
            "of sk_dlsetup)."
        ) from exc
    return jax


def jax_objective(fun, params, *args, **kwargs):
    """The objective of a JAX function ``fun(params, *args, **kwargs) -> scalar``.

    ``params`` is any pytree of arrays (dicts, lists, tuples, nested, such as
    a Flax- or Equinox-style ``{'dense1': {'kernel': ..., 'bias': ...}}``);
    each leaf is one block, named by its path (``'dense1/kernel'``, ``'0/1'``
    in a list of pairs). ``loss(theta)`` is ``fun`` at the parameters theta
    holds and ``gradient(theta)`` is ``jax.grad(fun)``: a ``jax.custom_vjp``
    or ``jax.custom_jvp`` with a wrong rule is what gets checked, and
    :func:`~sk_dlsetup.check_gradients` names the leaf its error lands in.

    Every call runs in float64 (``jax_enable_x64`` inside the call only, so
    JAX's global configuration is unchanged afterwards), on float64 copies of
    ``params`` and of the floating-point arrays in ``args`` and ``kwargs``:
    the user's arrays are never modified. On complex ``theta`` (the complex
    step, ``method='complex'``) ``fun`` is called with complex128 leaves.

    Parameters
    ----------
    fun : callable
        ``fun(params, *args, **kwargs)`` returning a scalar.
    params : pytree of arrays
        The point at which the gradient is checked; every leaf a
        floating-point array (or a Python float).
    *args, **kwargs
        Passed to ``fun`` after ``params`` (data, targets, settings).

    Returns
    -------
    objective : object
        ``theta0``, ``blocks``, ``loss(theta)``, ``gradient(theta)`` and
        ``loss_and_gradient(theta)`` (the objective protocol).

    Examples
    --------
    >>> import jax, jax.numpy as jnp  # doctest: +SKIP
    >>> from sk_dlsetup import check_gradients  # doctest: +SKIP
    >>> from sk_dlsetup.interop import jax_objective  # doctest: +SKIP
    >>> def loss(p, X, y):
    ...     hidden = jnp.tanh(X @ p["dense1"]["kernel"] + p["dense1"]["bias"])
    ...     return jnp.mean((hidden @ p["out"] - y) ** 2)  # doctest: +SKIP
    >>> key = jax.random.PRNGKey(0)  # doctest: +SKIP
    >>> params = {"dense1": {"kernel": jax.random.normal(key, (3, 4)),
    ...                      "bias": jnp.zeros(4)},
    ...           "out": jnp.ones(4)}  # doctest: +SKIP
    >>> X, y = jax.random.normal(key, (10, 3)), jnp.ones(10)  # doctest: +SKIP
    >>> objective = jax_objective(loss, params, X, y)  # doctest: +SKIP
    >>> [name for name, _, _ in objective.blocks]  # doctest: +SKIP
    ['dense1/bias', 'dense1/kernel', 'out']
    >>> check_gradients(objective).verdict  # doctest: +SKIP
    'pass'
    """
    jax = _import_jax()
    if not callable(fun):
        raise TypeError(f"fun must be a function of params; got {type(fun).__name__}.")
    return JaxObjective(jax, fun, params, args, kwargs)


def _key_name(key):
    """One step of a pytree path as a name: a dict key, an index, an attribute."""
    for attribute in ("key", "idx", "name"):
        if hasattr(key, attribute):
            return str(getattr(key, attribute))
    return str(key)


class JaxObjective:
    """The objective of :func:`jax_objective` (see there)."""

    def __init__(self, jax, fun, params, args, kwargs):
        self._jax = jax
        self._fun = fun
        with self._float64():
            leaves, self._treedef = jax.tree_util.tree_flatten_with_path(params)
            if not leaves:
                raise ValueError("params has no leaves: there is nothing to check.")
            self.blocks, arrays, start = [], [], 0
            for path, leaf in leaves:
                name = "/".join(_key_name(key) for key in path) or "params"
                array = np.array(leaf)  # a copy: the user's arrays stay theirs
                if array.dtype.kind != "f" and not isinstance(leaf, float):
                    raise TypeError(
                        f"params leaf {name!r} has dtype {array.dtype}: every leaf "
                        "must hold floating-point parameters (pass integer data "
                        "through args instead)."
                    )
                arrays.append(array.astype(np.float64))
                stop = start + array.size
                self.blocks.append((name, slice(start, stop), array.shape))
                start = stop
            self._args = jax.tree_util.tree_map(self._as_float64, (args, kwargs))
        self.theta0 = np.concatenate([array.ravel() for array in arrays])
        # Compiled once per dtype (a check evaluates J thousands of times);
        # a function jit cannot trace (Python control flow on values) runs as is.
        self._compiled = {
            "loss": jax.jit(self._call),
            "value_and_grad": jax.jit(jax.value_and_grad(self._call)),
        }
        self._eager = {
            "loss": self._call,
            "value_and_grad": jax.value_and_grad(self._call),
        }

    @staticmethod
    def _as_float64(leaf):
        array = np.asarray(leaf)
        return array.astype(np.float64) if array.dtype.kind == "f" else leaf

    @contextlib.contextmanager
    def _float64(self):
        """``jax_enable_x64`` inside the block only (JAX's own context manager)."""
        jax = self._jax
        enable = getattr(jax, "enable_x64", None)
        if enable is None:  # JAX before 0.4.30 kept it in jax.experimental
            from jax.experimental import enable_x64 as enable
        with enable(True):
            yield

    def _tree(self, theta):
        theta = np.asarray(theta)
        if theta.shape != self.theta0.shape:
            raise ValueError(
                f"theta has shape {theta.shape}; expected {self.theta0.shape}."
            )
        dtype = np.complex128 if np.iscomplexobj(theta) else np.float64
        leaves = [
            self._jax.numpy.asarray(np.array(theta[sl], dtype=dtype).reshape(shape))
            for _, sl, shape in self.blocks
        ]
        return self._jax.tree_util.tree_unflatten(self._treedef, leaves)

    def _call(self, params):
        args, kwargs = self._args
        return self._fun(params, *args, **kwargs)

    def _run(self, name, theta):
        """``fun`` (or its value and gradient) at ``theta``, compiled if it can be."""
        tree = self._tree(theta)
        compiled = self._compiled.get(name)
        if compiled is not None:
            try:
                return compiled(tree)
            except self._jax.errors.JAXTypeError:  # not traceable: run it as is
                self._compiled.pop(name)
        return self._eager[name](tree)

    def loss(self, theta):
        """``fun`` at ``theta``, a float (a complex on complex ``theta``)."""
        with self._float64():
            value = np.asarray(self._run("loss", theta))
        return value if np.iscomplexobj(theta) else scalar_loss(value)

    def gradient(self, theta):
        """``jax.grad(fun)`` at ``theta``, in theta's layout (float64)."""
        return self.loss_and_gradient(theta)[1]

    def loss_and_gradient(self, theta):
        """``(fun(theta), jax.grad(fun)(theta))`` from ``jax.value_and_grad``."""
        with self._float64():
            value, grads = self._run("value_and_grad", theta)
            leaves = self._jax.tree_util.tree_leaves(grads)
            flat = np.concatenate([np.asarray(g, np.float64).ravel() for g in leaves])
        return scalar_loss(np.asarray(value)), flat
