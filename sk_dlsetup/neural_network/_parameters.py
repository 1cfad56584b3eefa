"""The parameter vector theta: the one owner of the weights during training.

Training works on one flat theta (``W1, b1, ..., WL, bL``, see
:func:`~._network.parameter_blocks`); the estimator's ``coefs_`` and
``intercepts_`` are handed out as views of it (:func:`bind_parameters`), in
every namespace, and read back from it after training or before a validation
score (:func:`read_back_parameters`): views where the library gives them, so
reading back costs nothing there, and a copy where it does not (the standard
does not promise views).
"""

import numpy as np

from .._namespaces import copy_array, namespace_of, to_namespace
from ._layout import pack, parameter_blocks, unpack


def layer_units_of(coefs):
    """``[n_features, hidden..., n_outputs]`` of a list of weight matrices.

    Examples
    --------
    >>> layer_units_of([np.zeros((3, 4)), np.zeros((4, 2))])
    [3, 4, 2]
    """
    return [coefs[0].shape[0], *(W.shape[1] for W in coefs)]


def bind_parameters(model, dtype):
    """Copy ``model``'s weights into a new flat theta (in their namespace and on
    their device, in ``dtype``); ``coefs_`` and ``intercepts_`` become views.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> model = SimpleNamespace(coefs_=[np.ones((2, 1))], intercepts_=[np.zeros(1)])
    >>> theta = bind_parameters(model, np.float64)
    >>> theta[0] = 5.0
    >>> model.coefs_[0].ravel()
    array([5., 1.])
    """
    xp, device = namespace_of(model.coefs_[0])
    theta = pack(model.coefs_, model.intercepts_, dtype=dtype, xp=xp, device=device)
    read_back_parameters(model, theta)
    return theta


def read_back_parameters(model, theta):
    """Set ``coefs_`` and ``intercepts_`` from ``theta`` (views where possible)."""
    xp, _ = namespace_of(theta)
    blocks = parameter_blocks(layer_units_of(model.coefs_))
    model.coefs_, model.intercepts_ = unpack(theta, blocks, xp)


def parameters_at(theta, layer_units, X):
    """Fresh ``coefs_`` and ``intercepts_`` holding ``theta``, in the namespace,
    device and dtype of the training data ``X``.

    What a copy of the estimator needs to predict as at the end of an
    iteration (L-BFGS's theta, and theta lent to NumPy, live on the host
    whatever X's namespace).
    """
    xp, device = namespace_of(X)
    if namespace_of(theta)[0] is not xp:
        theta = to_namespace(np.asarray(theta), xp, device, dtype=X.dtype)
    else:
        theta = copy_array(theta)
    coefs, intercepts = unpack(theta, parameter_blocks(layer_units), xp)
    return {"coefs_": list(coefs), "intercepts_": list(intercepts)}
