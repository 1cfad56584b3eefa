"""A rejected or failed call changes nothing in a fitted model."""

import contextlib
import copy

from .._callbacks import CALLBACK_ATTRIBUTES
from ._state import TrainingState


@contextlib.contextmanager
def unchanged_on_error(estimator, keep_on=None):
    """Restore the estimator's attributes if the block raises: a rejected call
    changes nothing in a fitted model.

    Lists (``loss_curve_``, ``validation_scores_``, ``coefs_``) are copied since
    training appends to or rebinds them, and the training state (optimizer
    moments, random stream, layer history) is deep-copied; weight arrays need no
    copy, as training works on a fresh theta
    (:func:`~._parameters.bind_parameters`). An exception of type ``keep_on``
    leaves the attributes as the block left them. The callback bookkeeping is
    left as it is: ``_fit_context`` still has to tear down the callbacks the
    failed fit set up.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> model = SimpleNamespace(loss_curve_=[1.0])
    >>> try:
    ...     with unchanged_on_error(model):
    ...         model.loss_curve_.append(2.0)
    ...         raise ValueError("rejected")
    ... except ValueError:
    ...     pass
    >>> model.loss_curve_
    [1.0]
    """
    state = {key: _snapshot(value) for key, value in estimator.__dict__.items()}
    try:
        yield
    except BaseException as exc:
        if keep_on is not None and isinstance(exc, keep_on):
            raise
        callbacks = {
            key: value
            for key, value in estimator.__dict__.items()
            if key in CALLBACK_ATTRIBUTES
        }
        estimator.__dict__.clear()
        estimator.__dict__.update(state)
        estimator.__dict__.update(callbacks)
        raise


def _snapshot(value):
    if isinstance(value, list):
        return list(value)
    if isinstance(value, TrainingState):  # mutated in place by training
        return copy.deepcopy(value)
    return value
