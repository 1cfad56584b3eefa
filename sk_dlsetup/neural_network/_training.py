"""Training loops: mini-batch epochs, L-BFGS, early stopping, layer statistics.

The estimators in :mod:`._mlp` validate input and hold the fitted state; the
functions here run the optimization on it. :func:`fit_stochastic` and
:func:`fit_lbfgs` take the estimator (its hyperparameters, and the fitted
attributes they update: ``loss_curve_``, ``n_iter_``, ...) and its
:class:`TrainingState`, the one object that carries what training needs from
one call to the next. :class:`Epoch` is handed everything a batch step needs
explicitly.
"""

import contextlib
import functools
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy
import scipy.optimize
from scipy import sparse
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing, gen_batches
from threadpoolctl import ThreadpoolController

from .._callbacks import NO_TASKS
from .._namespaces import all_finite, copy_array, max_abs, namespace_of, to_numpy
from ._network import (
    allocate_activations,
    backprop,
    block_norms,
    draw_keep_masks,
    layer_views,
    parameter_blocks,
    transposed_rows,
)
from ._optimizers import OPTIMIZERS
from ._xp_network import XpEpoch, host_views

# Inputs whose largest magnitude exceeds this are "far from unit scale".
_LARGE_INPUT = 1e3
# A last epoch's loss this many times the first's gets a warning (not an error).
_LOSS_GROWTH = 10.0


class DivergenceError(ValueError):
    """Training produced a non-finite loss, gradient or weight (a ValueError).

    Only this is divergence: a finite loss that grows (an outlier target, a
    large step) never stops training.
    """


def divergence_error(model, X, where):
    """The error for a divergence ``where`` it happened, with advice fitting X."""
    scale = max_abs(X)
    if not np.isfinite(scale) or scale > _LARGE_INPUT:
        advice = (
            "The input data may contain large values and need to be preprocessed: "
            f"they reach {scale:.1e}, far from unit scale. Normalize them first, "
            "e.g. make_pipeline(InputNormalizer(), model)."
        )
    else:
        advice = (
            f"Try a lower learning_rate_init (now {model.learning_rate_init:g}) or "
            "a smaller init scale (init='xavier' or a callable)."
        )
    # scikit-learn's first sentence, word for word, then where and what to try.
    return DivergenceError(
        f"Solver produced non-finite parameter weights. {advice} (Diverged in {where}.)"
    )


@dataclass
class TrainingState:
    """What training carries from one call to the next, besides the weights.

    Attributes
    ----------
    rng : numpy.random.RandomState
        The stream of shuffles, dropout masks and the early-stopping split,
        from ``check_random_state(random_state)``.
    layer_units : list of int
        ``[n_features, hidden..., n_outputs]``.
    fresh_init : bool
        The weights were drawn by ``initialize`` and not trained yet: the next
        ``fit`` starts from them (and from this ``rng``).
    optimizer : SGD, Adam or None
        The stochastic optimizer, kept across ``partial_fit`` calls.
    no_improvement_count : int
        Epochs since the loss (or validation score) last improved by ``tol``.
    best_theta : ndarray or None
        The weights of the best validation score (early stopping).
    layer_history : LayerStatsHistory
        Per-epoch layer norms (``record_layer_stats=True``).
    """

    rng: object
    layer_units: list
    fresh_init: bool = False
    optimizer: object = None
    no_improvement_count: int = 0
    best_theta: object = None
    layer_history: object = field(default=None)

    def __post_init__(self):
        if self.layer_history is None:
            self.layer_history = LayerStatsHistory(len(self.layer_units) - 1)


class LayerStatsHistory:
    """Rows ``(dW_norm, db_norm, W_norm)`` per layer, one per ``loss_curve_`` entry.

    Examples
    --------
    >>> history = LayerStatsHistory(n_layers=2)
    >>> history.record(np.ones((2, 2)), np.full(2, 3.0), n_before=1)
    >>> table = history.table(n_rows=2)
    >>> table["W_norm"]  # row 0: an epoch trained without recording
    array([[nan, nan],
           [ 3.,  3.]])
    """

    KEYS = ("dW_norm", "db_norm", "W_norm")

    def __init__(self, n_layers):
        self.n_layers = n_layers
        self.rows = []

    def clear(self):
        self.rows = []

    def record(self, grad_norms, weight_norms, n_before):
        """Append the row of ``loss_curve_[n_before]`` (earlier rows padded)."""
        self._pad(n_before)
        self.rows.append(np.vstack([grad_norms, weight_norms]))

    def _pad(self, n_rows):
        """Rows of NaN up to ``n_rows``: for epochs trained with recording off
        (warm start), so that row i always belongs to loss_curve_[i]."""
        missing = n_rows - len(self.rows)
        self.rows += [np.full((3, self.n_layers), np.nan)] * missing

    def table(self, n_rows):
        """``{'dW_norm', 'db_norm', 'W_norm'}``: arrays of shape (n_rows, n_layers)."""
        self._pad(n_rows)
        table = np.array(self.rows[:n_rows]).reshape(n_rows, 3, self.n_layers)
        return {key: table[:, i].copy() for i, key in enumerate(self.KEYS)}


# ----------------------------------------------------------------- L-BFGS


@functools.lru_cache(maxsize=1)
def _thread_pools():
    """The process's thread pools (listing them costs 4 ms: once per process)."""
    return ThreadpoolController()


@functools.lru_cache(maxsize=1)
def _scipy_blas_pools():
    scipy_dir = Path(scipy.__file__).parent
    vendored = {scipy_dir, scipy_dir.with_name("scipy.libs")}
    return [
        pool
        for pool in _thread_pools().lib_controllers
        if pool.user_api == "blas" and vendored & set(Path(pool.filepath).parents)
    ]


@contextlib.contextmanager
def _scipy_blas_on_one_thread():
    """scipy's own BLAS (vendored in its wheel, apart from numpy's) on one thread.

    L-BFGS-B's BLAS calls are vector operations on theta, too small to share;
    with numpy's thread pool and scipy's both spinning on the same cores, a
    5-target regression on 2 cores took 2.2 s instead of 0.10 s (issue 16),
    and a 20,000 x 100 fit 7.6 s instead of 4.5 s. numpy's GEMMs keep their
    threads. Where numpy and scipy share one BLAS, nothing changes.
    """
    pools = _scipy_blas_pools()
    saved = [pool.num_threads for pool in pools]
    try:
        for pool in pools:
            pool.set_num_threads(1)
        yield
    finally:
        for pool, n_threads in zip(pools, saved):
            pool.set_num_threads(n_threads)


# Below this many multiply-adds in a network's largest matrix product, one
# BLAS thread is faster than several: waking the others costs more than they
# share (a 5-target L-BFGS on 1,000 x 20, largest product 1M: 0.092 s on one
# thread against 0.157 s on two; Adam's 200 x 100 x 256 products, 5M, gain
# from two threads: 0.42 s against 0.58 s).
_SMALL_PRODUCT = 2**21


def blas_threads_for(n_rows, layer_units):
    """One BLAS thread for small matrix products, the default otherwise.

    Examples
    --------
    >>> blas_threads_for(1000, [20, 50, 5]) is not None
    True
    """
    largest = max(a * b for a, b in zip(layer_units[:-1], layer_units[1:]))
    if n_rows * largest >= _SMALL_PRODUCT:
        return contextlib.nullcontext()
    return _thread_pools().limit(limits=1, user_api="blas")


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
        if np.isfinite(intermediate_result.fun) and np.all(
            np.isfinite(intermediate_result.x)
        ):
            last_finite[0] = intermediate_result.x.copy()
        model.loss_curve_.append(float(intermediate_result.fun))
        if model.record_layer_stats:
            theta = intermediate_result.x
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
        stop = tasks.end(intermediate_result.x)
        tasks.begin()
        if stop:
            stopped_by_callback[0] = True
            raise StopIteration

    stopped_by_callback = [False]
    tasks.begin()
    try:
        with (
            _scipy_blas_on_one_thread(),
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


# ------------------------------------------------------------- stochastic


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


def make_optimizer(model, n_params, dtype, xp=None, device=None):
    """The estimator's ``solver`` ('sgd' or 'adam') with its hyperparameters,
    its state in namespace ``xp`` on ``device`` (NumPy when None)."""
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
    if xp is None:
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
    # Host arrays NumPy can read in place run through NumPy's kernels, on
    # their memory; other arrays (a GPU's) through the Array API engine.
    views = None if xp is None else host_views(theta, X, Y, sample_weight)
    if views is not None:
        theta, X, Y, sample_weight = views
    engine_xp = xp if views is None else None
    if not incremental or state.optimizer is None:
        state.optimizer = make_optimizer(
            model, theta.shape[0], theta.dtype, xp=engine_xp, device=device
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
    if engine_xp is None:
        epoch = Epoch(X, Y, sample_weight, theta, np.empty_like(theta), **settings)
    else:
        epoch = XpEpoch(xp, device, X, Y, sample_weight, theta, **settings)
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
            if validation is not None and xp is not None:
                # The validation score predicts with coefs_, views of theta
                # only in NumPy: read the epoch's weights back first.
                model._unbind_parameters(owner)
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
        _warn_if_loss_grew(model, incremental)
    except KeyboardInterrupt:
        theta[...] = snapshot
        state.optimizer = None  # its state is mid-epoch; the weights are not
        warnings.warn(
            "Training interrupted by user; kept the weights of the last "
            f"completed epoch (n_iter_={model.n_iter_})."
        )
    if model.early_stopping:
        theta[...] = state.best_theta


def _warn_if_loss_grew(model, incremental):
    """A finite loss that grew is no divergence, but worth a word at the end."""
    curve = model.loss_curve_[-model.n_iter_ :] if model.n_iter_ else []
    if incremental or len(curve) < 2 or not curve[-1] > _LOSS_GROWTH * curve[0]:
        return
    warnings.warn(
        f"The training loss grew from {curve[0]:.3g} to {curve[-1]:.3g} over "
        f"{len(curve)} epochs: try a lower learning_rate_init (now "
        f"{model.learning_rate_init:g}) or normalized inputs (InputNormalizer).",
        ConvergenceWarning,
    )


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


class Epoch:
    """One pass over the training data in mini-batches, with reusable buffers.

    Holds everything a batch step needs, allocated once per ``fit`` call, so
    the batch loop itself allocates (almost) nothing. ``theta`` is updated in
    place by ``optimizer``; ``rng`` shuffles and draws the dropout masks.
    """

    def __init__(
        self,
        X,
        Y,
        sample_weight,
        theta,
        grad,
        *,
        layer_units,
        activation,
        loss,
        alpha,
        batch_size,
        shuffle,
        keep_prob,
        rng,
        optimizer,
        record_norms,
    ):
        self.X, self.sample_weight = X, sample_weight
        # Targets one column per sample, as the network's outputs.
        self.Y_columns = transposed_rows(Y).T
        self.theta, self.grad = theta, grad
        blocks = parameter_blocks(layer_units)
        self.layers = layer_views(theta, blocks)
        self.grad_layers = layer_views(grad, blocks)
        self.hidden_units = layer_units[1:-1]
        self.activation, self.loss, self.alpha = activation, loss, alpha
        self.batch_size, self.shuffle = batch_size, shuffle
        self.keep_prob, self.rng, self.optimizer = keep_prob, rng, optimizer
        self.record_norms = record_norms
        self.sparse_input = sparse.issparse(X)
        self.buffers = allocate_activations(
            batch_size,
            layer_units,
            X.dtype,
            dropout=keep_prob < 1,
            sparse_input=self.sparse_input,
        )
        self.sample_idx = np.arange(X.shape[0])
        # Mean (over the last epoch's batches) gradient norms, when recording.
        self.grad_norms = None
        if shuffle:
            if not self.sparse_input:
                self.X_batch = np.empty((batch_size, X.shape[1]), X.dtype)
            self.Y_batch = np.empty((Y.shape[1], batch_size), Y.dtype)

    def weight_norms(self):
        """Frobenius norms of each layer's ``W``."""
        return block_norms(self.layers)[0]

    def run(self):
        """Train one epoch; return the sample-mean batch loss, NaN if it diverged.

        Divergence is a non-finite batch loss (the weights' finiteness is
        checked by the caller, once per epoch).
        """
        n_samples = self.X.shape[0]
        if self.shuffle:
            self.rng.shuffle(self.sample_idx)
        accumulated = 0.0
        grad_norms = np.zeros((2, len(self.layers))) if self.record_norms else None
        for rows in gen_batches(n_samples, self.batch_size):
            X_batch, Y_batch, sw_batch = self._batch(rows)
            keep_masks = None
            if self.keep_prob < 1:
                keep_masks = draw_keep_masks(
                    self.rng,
                    X_batch.shape[0],
                    self.hidden_units,
                    self.keep_prob,
                    X_batch.dtype,
                )
            loss = backprop(
                X_batch,
                Y_batch,
                self.layers,
                self.grad_layers,
                self.buffers,
                activation=self.activation,
                loss=self.loss,
                alpha=self.alpha,
                sample_weight=sw_batch,
                keep_masks=keep_masks,
            )
            if not math.isfinite(loss):  # a Python float: no numpy call per batch
                return np.nan
            if grad_norms is not None:
                grad_norms += X_batch.shape[0] * block_norms(self.grad_layers)
            self.optimizer.update(self.theta, self.grad)
            accumulated += loss * X_batch.shape[0]
        if grad_norms is not None:
            self.grad_norms = grad_norms / n_samples
        return accumulated / n_samples

    def _batch(self, rows):
        """``(X, Y, sample_weight)`` of a batch; X and Y in the network's buffers."""
        sw = self.sample_weight
        if not self.shuffle:
            Y_batch = self.Y_columns[:, rows].T
            return self.X[rows], Y_batch, None if sw is None else sw[rows]
        idx = self.sample_idx[rows]
        n_rows = idx.shape[0]
        # The indices are a permutation of range(n_samples), always in bounds;
        # mode='clip' spares numpy's bounds-checked, buffered copy (2.5x faster).
        # Gathering into contiguous rows and letting backprop copy them into
        # its buffers beats gathering into those (strided) buffers directly.
        if self.sparse_input:  # CSR rows: a gather of the stored entries only
            X_batch = self.X[idx]
        else:
            X_batch = self.X.take(idx, axis=0, out=self.X_batch[:n_rows], mode="clip")
        Y_batch = self.Y_batch[:, :n_rows]
        self.Y_columns.take(idx, axis=1, out=Y_batch, mode="clip")
        return X_batch, Y_batch.T, None if sw is None else sw[idx]
