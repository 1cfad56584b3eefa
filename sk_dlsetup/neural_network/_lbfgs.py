"""L-BFGS: scipy's minimizer on the MLP objective, one pass per evaluation."""

import warnings

import numpy as np
import scipy
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from .._callbacks import NO_TASKS
from ._blas import blas_threads_for, scipy_blas_on_one_thread
from ._divergence import divergence_error
from ._layout import block_norms, layer_views, parameter_blocks


def fit_lbfgs(model, state, objective, tasks=NO_TASKS):
    """Minimize ``objective`` with scipy's L-BFGS-B from its ``theta0``.

    Updates ``loss_curve_`` (one entry per iteration), ``n_iter_``, ``loss_``
    and ``best_loss_`` of ``model``; returns the final theta. On divergence,
    raises :class:`DivergenceError` whose ``theta`` is the last finite iterate.
    Each iteration is reported to the callbacks through ``tasks``
    (:class:`~sk_dlsetup._callbacks.IterationTasks`); one of them may stop it.
    """
    model.loss_curve_ = []
    state.layer_history.clear()
    blocks = parameter_blocks(state.layer_units)

    last_finite = [objective.theta0.copy()]

    def record(intermediate_result):
        theta, loss = _iterate(intermediate_result, objective)
        if np.isfinite(loss) and np.all(np.isfinite(theta)):
            last_finite[0] = theta.copy()
        model.loss_curve_.append(float(loss))
        if model.record_layer_stats:
            # The objective caches its last evaluation: this iterate's.
            grad = objective.gradient(theta)
            state.layer_history.record(
                block_norms(layer_views(grad, blocks)),
                block_norms(layer_views(theta, blocks))[0],
                n_before=len(model.loss_curve_) - 1,
            )
        if model.verbose:
            print(
                "Iteration %d, loss = %.8f"
                % (len(model.loss_curve_), model.loss_curve_[-1])
            )
        stop = tasks.end(theta)
        tasks.begin()
        if stop:
            stopped_by_callback[0] = True
            raise StopIteration

    stopped_by_callback = [False]
    tasks.begin()
    try:
        with (
            scipy_blas_on_one_thread(),
            blas_threads_for(objective.X.shape[0], state.layer_units),
        ):
            # One forward and one backward pass per evaluation: L-BFGS-B needs
            # both at every point it tries.
            result = scipy.optimize.minimize(
                objective.loss_and_gradient,
                objective.theta0,
                jac=True,
                method="L-BFGS-B",
                callback=record,
                options={
                    "maxfun": model.max_fun,
                    "maxiter": model.max_iter,
                    "gtol": model.tol,
                },
            )
    finally:
        tasks.close()
    if not np.isfinite(result.fun) or not np.all(np.isfinite(result.x)):
        model.loss_curve_ = [loss for loss in model.loss_curve_ if np.isfinite(loss)]
        model.n_iter_ = len(model.loss_curve_)
        error = divergence_error(model, objective.X, "L-BFGS")
        error.theta = last_finite[0]
        raise error
    if result.status != 0 and not stopped_by_callback[0]:
        warnings.warn(
            f"lbfgs failed to converge (status={result.status}): "
            f"{result.message}. Increase the number of iterations (max_iter) "
            "or normalize the data (InputNormalizer).",
            ConvergenceWarning,
        )
    model.n_iter_ = int(result.nit)
    model.loss_ = float(result.fun)
    model.best_loss_ = min(model.loss_curve_, default=model.loss_)
    return result.x


def _iterate(intermediate_result, objective):
    """``(theta, J(theta))`` of the iterate scipy hands the callback.

    scipy >= 1.11 passes an ``OptimizeResult`` to a callback whose argument is
    named ``intermediate_result``; older scipy passes the iterate alone, whose
    loss the objective has cached (L-BFGS-B's last evaluation is the iterate
    it accepts).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> objective = SimpleNamespace(loss=lambda theta: float(theta.sum()))
    >>> _iterate(np.array([1.0, 2.0]), objective)
    (array([1., 2.]), 3.0)
    """
    if isinstance(intermediate_result, np.ndarray):
        return intermediate_result, objective.loss(intermediate_result)
    return intermediate_result.x, intermediate_result.fun
