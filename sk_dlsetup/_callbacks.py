"""scikit-learn's callbacks (``sklearn.callback``, >= 1.9) where they exist.

Our estimators open and close callback contexts the way scikit-learn's own do
(``StandardScaler.partial_fit``, ``LogisticRegression.fit``): ``_fit_context``
tears the callbacks down, the estimator opens its root context after validating
its input and reports each unit of work as a subtask. On an older
scikit-learn, :class:`CallbackSupportMixin` is a stand-in without
``set_callbacks`` whose contexts do nothing, so the estimators are written once
and behave exactly as before.
"""

import contextlib

try:
    from sklearn.callback import CallbackSupportMixin

    HAS_CALLBACKS = True
except ImportError:  # scikit-learn < 1.9
    HAS_CALLBACKS = False

    class _NoContext:
        """A callback context with no callbacks: every hook does nothing."""

        def subcontext(self, **kwargs):
            return self

        def call_on_fit_task_begin(self, **kwargs):
            return self

        def call_on_fit_task_end(self, **kwargs):
            return False

        @contextlib.contextmanager
        def propagate_callback_context(self, sub_estimator):
            yield

    class CallbackSupportMixin:
        """Stand-in for scikit-learn's mixin where ``sklearn.callback`` is missing."""

        def _init_callback_context(self, **kwargs):
            return _NoContext()


#: Attributes the callback machinery sets on an estimator during ``fit``; a fit
#: that restores the estimator after an error must leave them as they are, so
#: that ``_fit_context`` still finds the context it has to tear down.
CALLBACK_ATTRIBUTES = frozenset(
    {
        "_skl_callbacks",
        "_callback_fit_ctx",
        "_skl_callbacks_to_teardown",
        "_parent_callback_ctx",
    }
)


def has_callbacks(estimator):
    """Whether any callback (set or propagated) listens to ``estimator``'s fit."""
    return bool(getattr(estimator, "_skl_callbacks", None))


class IterationTasks:
    """One callback subtask per iteration (epoch, L-BFGS step) of a fit.

    ``begin()`` opens the next iteration's subtask; ``end(theta)`` closes it
    with the weights ``theta`` it ended at (copied only if a callback asks for
    a ``fitted_estimator``) and returns True when a callback asks to stop.
    ``close()`` ends a subtask that was opened but never ran (L-BFGS opens the
    next one before it knows there is none, as scikit-learn's
    ``LogisticRegression`` does). Without callbacks every call returns at once
    and nothing is created: a fit without callbacks runs exactly as before.

    Parameters
    ----------
    context : CallbackContext
        The root context of the fit (from ``_init_callback_context``).
    estimator : estimator instance
        The estimator being fitted.
    X, y : array-like
        The training data as the callbacks should see it (``y`` in the user's
        labels, so that a scorer can compare predictions with it).
    metadata : dict or None
        E.g. ``{"sample_weight": w}``.
    weights : callable
        ``weights(theta) -> dict`` of the fitted attributes (fresh arrays)
        that make a copy of ``estimator`` predict with ``theta``.
    task_name : str, default="epoch"
        The name of each subtask.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> tasks = IterationTasks(None, LinearRegression(), None, None, None, dict)
    >>> tasks.begin()
    >>> tasks.active, tasks.end(theta=None)
    (False, False)
    """

    def __init__(self, context, estimator, X, y, metadata, weights, task_name="epoch"):
        self.active = context is not None and has_callbacks(estimator)
        self._context = context
        self._estimator = estimator
        self._data = {"X": X, "y": y, "metadata": metadata}
        self._weights = weights
        self._task_name = task_name
        self._task = None

    def begin(self):
        """Open the subtask of the next iteration."""
        if not self.active:
            return
        self._task = self._context.subcontext(task_name=self._task_name)
        self._task.call_on_fit_task_begin(estimator=self._estimator, **self._data)

    def end(self, theta):
        """Close the open subtask at weights ``theta``; True if asked to stop."""
        if self._task is None:
            return False
        task, self._task = self._task, None
        return bool(
            task.call_on_fit_task_end(
                estimator=self._estimator,
                reconstruction_attributes=lambda: self._weights(theta),
                **self._data,
            )
        )

    def close(self):
        """End a subtask that was opened but never ran, reporting nothing."""
        if self._task is not None:
            self._task.call_on_fit_task_end(estimator=self._estimator)
            self._task = None


@contextlib.contextmanager
def fit_task(estimator, X, y, metadata=None, **context_kwargs):
    """The root callback task of ``estimator``'s fit: opened on entry, closed
    when the block ends normally; yields the context (for subtasks).

    The block sets the fitted attributes before it ends: callbacks read them
    at the end of the root task (``ScoringMonitor`` predicts with a copy of
    the estimator). ``context_kwargs`` go to ``_init_callback_context`` (e.g.
    ``max_subtasks``). On an error the task is left open, for
    ``_fit_context`` to tear down, as scikit-learn's estimators do.

    Examples
    --------
    >>> from sk_dlsetup import InputNormalizer
    >>> normalizer = InputNormalizer()
    >>> with fit_task(normalizer, X=None, y=None) as context:
    ...     pass
    """
    context = estimator._init_callback_context(**context_kwargs)
    data = {"X": X, "y": y, "metadata": metadata}
    context.call_on_fit_task_begin(estimator=estimator, **data)
    yield context
    context.call_on_fit_task_end(
        estimator=estimator, reconstruction_attributes={}, **data
    )


#: Reports nothing: for training driven without an estimator's fit context.
NO_TASKS = IterationTasks(None, None, None, None, None, None)


def run_task(context, name, estimator, work, *, propagate_to=None, **data):
    """Run ``work()`` as the subtask ``name`` of ``context``; return its result.

    With ``propagate_to``, the auto-propagated callbacks (``ProgressBar``,
    ``ScoringMonitor``) follow into that sub-estimator for the duration, as a
    scikit-learn meta-estimator passes them to the estimator it fits.
    """
    task = context.subcontext(task_name=name)
    propagation = (
        task.propagate_callback_context(propagate_to)
        if propagate_to is not None
        else contextlib.nullcontext()
    )
    with propagation:
        task.call_on_fit_task_begin(estimator=estimator, **data)
        result = work()
        task.call_on_fit_task_end(estimator=estimator, **data)
    return result
