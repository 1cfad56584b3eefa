"""The stochastic solvers' loop: epochs, early stopping, divergence, Ctrl-C.

:func:`fit_stochastic` takes the estimator (its hyperparameters, and the
fitted attributes it updates: ``loss_curve_``, ``n_iter_``, ...) and its
:class:`~._state.TrainingState`, and runs :class:`~._epoch.Epoch` after
epoch, in the namespace of the training arrays (host arrays that lend their
memory run through NumPy's kernels: :func:`~sk_dlsetup._namespaces.lent_to_numpy`).
"""

import warnings

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing

from .._callbacks import NO_TASKS
from .._namespaces import (
    all_finite,
    copy_array,
    is_numpy,
    lent_to_numpy,
    namespace_of,
    to_numpy,
)
from ._divergence import DivergenceError, divergence_error, warn_if_loss_grew
from ._epoch import Epoch
from ._optimizers import OPTIMIZERS
from ._parameters import read_back_parameters


def batch_size_for(batch_size, n_samples):
    """The mini-batch size: 'auto' is ``min(200, n_samples)``; clipped to the data."""
    if batch_size == "auto":
        return min(200, n_samples)
    if batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is "
            "going to be clipped"
        )
    return int(np.clip(batch_size, 1, n_samples))


def make_optimizer(model, n_params, dtype, xp=np, device=None):
    """The estimator's ``solver`` ('sgd' or 'adam') with its hyperparameters,
    its state in namespace ``xp`` on ``device``."""
    if model.solver == "sgd":
        return OPTIMIZERS["sgd"](
            n_params,
            dtype,
            model.learning_rate_init,
            model.learning_rate,
            model.momentum,
            model.nesterovs_momentum,
            model.power_t,
            xp=xp,
            device=device,
        )
    return OPTIMIZERS["adam"](
        n_params,
        dtype,
        model.learning_rate_init,
        model.beta_1,
        model.beta_2,
        model.epsilon,
        xp=xp,
        device=device,
    )


def split_validation(model, rng, X, Y, sample_weight):
    """Hold out ``validation_fraction`` of the data for early stopping."""
    # Stratify by the user's labels (the same groups as the encoded targets), so
    # that an error names them as the user knows them.
    single = is_classifier(model) and model.n_outputs_ == 1
    stratify = model._decode(to_numpy(Y)) if single else None
    train, val = train_test_split(
        np.arange(X.shape[0]),
        random_state=rng,
        test_size=model.validation_fraction,
        stratify=stratify,
    )
    if val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset."
        )
    return _rows(X, Y, sample_weight, train), _rows(X, Y, sample_weight, val)


def _rows(X, Y, sample_weight, rows):
    """``(X, Y, sample_weight)`` at ``rows`` (NumPy indices), in their namespace."""
    xp, device = namespace_of(X)
    if is_numpy(xp):
        take = lambda a: None if a is None else _safe_indexing(a, rows)  # noqa: E731
    else:
        rows = xp.asarray(rows, device=device)
        take = lambda a: None if a is None else xp.take(a, rows, axis=0)  # noqa: E731
    return take(X), take(Y), take(sample_weight)


def fit_stochastic(
    model, state, X, Y, sample_weight, theta, incremental, tasks=NO_TASKS
):
    """Train ``theta`` in place with SGD or Adam: up to ``max_iter`` epochs.

    One epoch when ``incremental`` (``partial_fit``). A non-finite loss or weight
    restores the weights of the last completed epoch and raises
    :class:`DivergenceError`; Ctrl-C keeps them too, with a warning; early
    stopping restores the best validation weights. Each epoch is reported to
    the callbacks through ``tasks``; one of them may stop training.
    """
    xp, device = namespace_of(theta)
    owner = theta  # the estimator's theta, in X's namespace
    if model.early_stopping:
        if model.validation_scores_ is None:  # warm start turned it on
            model.validation_scores_, model.best_validation_score_ = [], -np.inf
        (X, Y, sample_weight), validation = split_validation(
            model, state.rng, X, Y, sample_weight
        )
    else:
        if model.best_loss_ is None:  # warm start turned early stopping off
            model.best_loss_ = min(model.loss_curve_, default=np.inf)
        validation = None
    # Host arrays that lend their memory run through NumPy's kernels on it.
    views = None if is_numpy(xp) else lent_to_numpy(theta, X, Y, sample_weight)
    if views is not None:
        theta, X, Y, sample_weight = views
        xp, device = np, "cpu"
    if not incremental or state.optimizer is None:
        state.optimizer = make_optimizer(
            model, theta.shape[0], theta.dtype, xp=xp, device=device
        )
    if model.early_stopping:
        state.best_theta = copy_array(theta)
    settings = dict(
        layer_units=state.layer_units,
        activation=model.activation,
        loss=model._loss_name,
        alpha=model.alpha,
        batch_size=batch_size_for(model.batch_size, X.shape[0]),
        shuffle=model.shuffle,
        keep_prob=1.0 - model.dropout,
        rng=state.rng,
        optimizer=state.optimizer,
        record_norms=model.record_layer_stats,
    )
    epoch = Epoch(X, Y, sample_weight, theta, xp=xp, device=device, **settings)
    snapshot = copy_array(theta)
    # As scikit-learn: n_iter_ counts this call's epochs (t_ and loss_curve_
    # accumulate), so a warm-started fit reaching max_iter still warns.
    model.n_iter_ = 0
    try:
        for _ in range(model.max_iter):
            snapshot[...] = theta
            tasks.begin()
            with np.errstate(over="ignore", invalid="ignore"):
                loss = epoch.run()
            if not (np.isfinite(loss) and all_finite(theta)):
                theta[...] = snapshot
                state.optimizer = None  # its moments saw the diverged steps
                raise divergence_error(model, X, f"epoch {model.n_iter_ + 1}")
            if validation is not None:
                # The validation score predicts with coefs_: views of theta
                # where the library gives them, so read them back first.
                read_back_parameters(model, owner)
            try:
                stop = _end_epoch(
                    model, state, loss, X.shape[0], validation, theta, epoch
                )
            except DivergenceError:  # non-finite predictions on the validation set
                theta[...] = snapshot
                state.optimizer = None
                raise
            if tasks.end(theta) or stop:  # a callback may ask to stop, too
                break
            if incremental:
                break
            if model.n_iter_ == model.max_iter:
                warnings.warn(
                    "Stochastic Optimizer: Maximum iterations (%d) reached and "
                    "the optimization hasn't converged yet." % model.max_iter,
                    ConvergenceWarning,
                )
        warn_if_loss_grew(model, incremental)
    except KeyboardInterrupt:
        theta[...] = snapshot
        state.optimizer = None  # its state is mid-epoch; the weights are not
        warnings.warn(
            "Training interrupted by user; kept the weights of the last "
            f"completed epoch (n_iter_={model.n_iter_})."
        )
    if model.early_stopping:
        theta[...] = state.best_theta


def _end_epoch(model, state, loss, n_samples, validation, theta, epoch):
    """Record the epoch; return True when training should stop.

    With early stopping, the validation score is taken first: finite weights can
    still give non-finite predictions (overflow), which is divergence too.
    """
    score = None
    if validation is not None:
        with np.errstate(all="ignore"):
            score = model._score_encoded(*validation)
        if not np.isfinite(score):
            raise divergence_error(
                model, validation[0], f"epoch {model.n_iter_ + 1}: the validation "
                "predictions are not finite"
            )  # fmt: skip
    model.n_iter_ += 1
    model.t_ += n_samples
    model.loss_ = loss
    model.loss_curve_.append(loss)
    if epoch.grad_norms is not None:
        state.layer_history.record(
            epoch.grad_norms,
            epoch.weight_norms(),
            n_before=len(model.loss_curve_) - 1,
        )
    if model.verbose:
        print("Iteration %d, loss = %.8f" % (model.n_iter_, loss))
    _update_no_improvement_count(model, state, score, theta)
    state.optimizer.iteration_ends(model.t_)
    if state.no_improvement_count <= model.n_iter_no_change:
        return False
    what = "Validation score" if model.early_stopping else "Training loss"
    msg = "%s did not improve more than tol=%f for %d consecutive epochs." % (
        what,
        model.tol,
        model.n_iter_no_change,
    )
    if state.optimizer.trigger_stopping(msg, model.verbose):
        return True
    state.no_improvement_count = 0
    return False


def _update_no_improvement_count(model, state, score, theta):
    if score is None:
        if model.loss_curve_[-1] > model.best_loss_ - model.tol:
            state.no_improvement_count += 1
        else:
            state.no_improvement_count = 0
        model.best_loss_ = min(model.best_loss_, model.loss_curve_[-1])
        return
    model.validation_scores_.append(score)
    if model.verbose:
        print("Validation score: %f" % score)
    if score < model.best_validation_score_ + model.tol:
        state.no_improvement_count += 1
    else:
        state.no_improvement_count = 0
    if score > model.best_validation_score_:
        model.best_validation_score_ = score
        state.best_theta = copy_array(theta)
