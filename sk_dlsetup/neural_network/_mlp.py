"""MLPFromScratch and MLPFromScratchRegressor: validation, state and training loops.

The math lives in :mod:`._network` (forward / backward), :mod:`._losses`,
:mod:`._activations`, :mod:`._initializers` and :mod:`._optimizers`; this module
validates input, holds the fitted state and runs the epochs.
"""

import contextlib
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .._compat import Interval, Options, StrOptions, _check_sample_weight, _fit_context
from ._activations import ACTIVATIONS
from ._initializers import INITIALIZERS, initialize_weights
from ._losses import LOSSES
from ._network import (
    allocate_activations,
    backprop,
    block_norms,
    draw_keep_masks,
    layer_views,
    pack,
    parameter_blocks,
    predict_output,
    transposed_rows,
    unpack,
)
from ._objective import MLPObjective
from ._optimizers import OPTIMIZERS

_STOCHASTIC_SOLVERS = set(OPTIMIZERS)
# A batch loss this many times the starting loss (or 1, if larger) means the
# optimization diverged, even while it is still finite.
_EXPLOSION_FACTOR = 1e4
_DIVERGENCE_ADVICE = (
    "Try a lower learning_rate_init, normalize the inputs (InputNormalizer) "
    "or a smaller init scale."
)


@contextlib.contextmanager
def _unchanged_on_error(estimator):
    """Restore the estimator's attributes if the block raises: a rejected call
    changes nothing in a fitted model.

    Lists (``loss_curve_``, ``validation_scores_``, ``coefs_``) are copied since
    training appends to or rebinds them; weight arrays need no copy, as training
    works on a fresh theta (:meth:`_bind_parameters`).
    """
    state = {
        key: list(value) if isinstance(value, list) else value
        for key, value in estimator.__dict__.items()
    }
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(state)
        raise


class _BaseMLPFromScratch(BaseEstimator):
    """Shared validation, state and training of the two estimators."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "init": [StrOptions(set(INITIALIZERS)), callable],
        "solver": [StrOptions(_STOCHASTIC_SOLVERS | {"lbfgs"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "record_layer_stats": ["boolean"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        init="he",
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        record_layer_stats=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.init = init
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.record_layer_stats = record_layer_stats

    # ------------------------------------------------------------------ public

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        If :meth:`initialize` was the last call, training starts from exactly
        the weights it drew.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification, real numbers in
            regression).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The trained model.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def initialize(self, X, y, sample_weight=None):
        """Set classes, shapes and initial weights from ``init`` without training.

        The next :meth:`fit` on the same data starts from exactly these weights
        (also when ``random_state`` is None), so a gradient check at
        initialization sees the weights training starts from.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Accepted for symmetry with :meth:`fit`; validated, not used.

        Returns
        -------
        self : object
            The initialized, untrained model.
        """
        with _unchanged_on_error(self):
            X, Y, _ = self._validate_training_data(
                X, y, sample_weight, incremental=False, reset=True
            )
            self._random_state = check_random_state(self.random_state)
            self._initialize(X, Y)
            self._publish_layer_stats()
        self._pending_init = True
        return self

    def objective(self, X, y, sample_weight=None, *, dropout="frozen", dropout_seed=0):
        """The deterministic objective ``J(theta)`` at the current weights.

        Returns an object with ``theta0``, ``blocks``, ``loss(theta)`` and
        ``gradient(theta)`` (the objective protocol), suitable for
        :func:`sk_dlsetup.check_gradients`, ``scipy.optimize.check_grad`` and
        ``scipy.optimize.minimize``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data. The network is evaluated in X's dtype (float32 or
            float64), so float64 X gives a float64 evaluation of a float32 model.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets, encoded as in :meth:`fit`.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights of the weighted mean loss.
        dropout : {'frozen', 'off'}, default='frozen'
            With ``dropout > 0``: 'frozen' draws one inverted-dropout mask per
            hidden layer (seeded by ``dropout_seed``) and keeps it, so ``J`` is a
            fixed function and the dropout backward pass is checked too; 'off'
            evaluates with keep_prob = 1.
        dropout_seed : int, RandomState instance or None, default=0
            Seed of the frozen dropout masks.

        Returns
        -------
        objective : MLPObjective
        """
        check_is_fitted(self)
        if dropout not in ("frozen", "off"):
            raise ValueError(
                f"dropout must be 'frozen' or 'off'; got {dropout!r} instead."
            )
        X, Y = self._validate_objective_data(X, y)
        self._check_n_outputs(Y)
        sample_weight = self._check_sample_weight(sample_weight, X)
        keep_masks = None
        if self.dropout > 0 and dropout == "frozen":
            keep_masks = draw_keep_masks(
                check_random_state(dropout_seed),
                X.shape[0],
                self._layer_units[1:-1],
                1.0 - self.dropout,
                X.dtype,
            )
        return MLPObjective(
            self.coefs_,
            self.intercepts_,
            X,
            Y,
            activation=self.activation,
            loss=self._loss_name,
            alpha=self.alpha,
            sample_weight=sample_weight,
            keep_masks=keep_masks,
        )

    # -------------------------------------------------------------- validation

    def _hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if any(int(size) != size or size <= 0 for size in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {sizes}."
            )
        return [int(size) for size in sizes]

    def _check_sample_weight(self, sample_weight, X):
        if sample_weight is None:
            return None
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        if np.any(sample_weight < 0):
            raise ValueError("Negative values in data passed to `sample_weight`.")
        if not sample_weight.sum() > 0:
            raise ValueError("The sum of `sample_weight` must be positive.")
        return sample_weight

    def _validate_training_data(self, X, y, sample_weight, incremental, reset):
        if self.dropout > 0 and self.solver == "lbfgs":
            raise ValueError(
                "dropout > 0 needs a stochastic solver ('sgd' or 'adam'): L-BFGS "
                "requires a deterministic objective."
            )
        self._hidden_layer_sizes()
        X, Y = self._validate_input(X, y, incremental, reset)
        if not reset:
            self._check_n_outputs(Y)
            if X.dtype != self.coefs_[0].dtype:
                X = X.astype(self.coefs_[0].dtype)
                Y = Y.astype(X.dtype)
        return X, Y, self._check_sample_weight(sample_weight, X)

    def _check_n_outputs(self, Y):
        """Encoded targets must match the output layer (else numpy broadcasts)."""
        if Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} output(s) but the model has {self.n_outputs_}: "
                "continued training and objective() need the targets it was "
                "initialized for."
            )

    def _layer_units_for(self, X, Y):
        return [X.shape[1], *self._hidden_layer_sizes(), Y.shape[1]]

    # -------------------------------------------------------------- state

    def _initialize(self, X, Y):
        """Fresh weights from ``init`` and fresh training bookkeeping."""
        self._layer_units = self._layer_units_for(X, Y)
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(self._layer_units)
        self.out_activation_ = LOSSES[self._loss_name].output_name
        self.coefs_, self.intercepts_ = initialize_weights(
            self.init, self._layer_units, self._random_state, X.dtype
        )
        self._reset_bookkeeping()

    def _reset_bookkeeping(self):
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_ = None
        self.loss_curve_ = []
        self._layer_stats_rows = []
        self._no_improvement_count = 0
        self._optimizer = None
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

    def _bind_parameters(self, dtype):
        """Copy the weights into one flat theta; coefs_/intercepts_ become views."""
        blocks = parameter_blocks(self._layer_units)
        theta = pack(self.coefs_, self.intercepts_, dtype=dtype)
        self.coefs_, self.intercepts_ = unpack(theta, blocks)
        return theta, blocks

    # -------------------------------------------------------------- fitting

    def _fit(self, X, y, sample_weight, incremental):
        pending = getattr(self, "_pending_init", False)
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        with _unchanged_on_error(self):
            X, Y, sample_weight = self._validate_training_data(
                X, y, sample_weight, incremental, reset=first_pass
            )
            reuse_init = pending and self._layer_units == self._layer_units_for(X, Y)
            if reuse_init:
                pass  # keep the weights and random stream `initialize` set up
            elif first_pass:
                self._random_state = check_random_state(self.random_state)
                self._initialize(X, Y)
            elif not incremental or not hasattr(self, "_random_state"):
                self._random_state = check_random_state(self.random_state)
            if self.early_stopping and incremental:
                raise ValueError("partial_fit does not support early_stopping=True")
            self._pending_init = False
            # Training can still reject the data (e.g. a validation split too
            # small to hold out): the guard then restores the fitted model.
            if self.solver == "lbfgs":
                self._fit_lbfgs(X, Y, sample_weight)
            else:
                self._fit_stochastic(X, Y, sample_weight, incremental)
            self._publish_layer_stats()
        return self

    def _fit_lbfgs(self, X, Y, sample_weight):
        objective = MLPObjective(
            self.coefs_,
            self.intercepts_,
            X,
            Y,
            activation=self.activation,
            loss=self._loss_name,
            alpha=self.alpha,
            sample_weight=sample_weight,
        )
        self.loss_curve_ = []
        self._layer_stats_rows = []
        blocks = parameter_blocks(self._layer_units)

        def record(intermediate_result):
            self.loss_curve_.append(float(intermediate_result.fun))
            if self.record_layer_stats:
                theta = intermediate_result.x
                # The objective caches its last evaluation: this iterate's.
                grad = objective.gradient(theta)
                self._record_layer_stats(
                    block_norms(layer_views(grad, blocks)),
                    block_norms(layer_views(theta, blocks))[0],
                )
            if self.verbose:
                print(
                    "Iteration %d, loss = %.8f"
                    % (len(self.loss_curve_), self.loss_curve_[-1])
                )

        result = scipy.optimize.minimize(
            objective.loss,
            objective.theta0,
            jac=objective.gradient,
            method="L-BFGS-B",
            callback=record,
            options={
                "maxfun": self.max_fun,
                "maxiter": self.max_iter,
                "gtol": self.tol,
            },
        )
        if not np.isfinite(result.fun) or not np.all(np.isfinite(result.x)):
            warnings.warn(
                "L-BFGS diverged (non-finite loss or weights); kept the initial "
                "weights. " + _DIVERGENCE_ADVICE,
                ConvergenceWarning,
            )
            return
        if result.status != 0:
            warnings.warn(
                f"lbfgs failed to converge (status={result.status}): "
                f"{result.message}. Increase the number of iterations (max_iter) "
                "or normalize the data (InputNormalizer).",
                ConvergenceWarning,
            )
        self.n_iter_ = int(result.nit)
        self.loss_ = float(result.fun)
        self.best_loss_ = min(self.loss_curve_, default=self.loss_)
        theta, _ = self._bind_parameters(X.dtype)
        theta[...] = result.x

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is "
                "going to be clipped"
            )
        return int(np.clip(self.batch_size, 1, n_samples))

    def _make_optimizer(self, n_params, dtype):
        if self.solver == "sgd":
            return OPTIMIZERS["sgd"](
                n_params,
                dtype,
                self.learning_rate_init,
                self.learning_rate,
                self.momentum,
                self.nesterovs_momentum,
                self.power_t,
            )
        return OPTIMIZERS["adam"](
            n_params,
            dtype,
            self.learning_rate_init,
            self.beta_1,
            self.beta_2,
            self.epsilon,
        )

    def _split_validation(self, X, Y, sample_weight):
        """Hold out ``validation_fraction`` of the data for early stopping."""
        stratify = Y if is_classifier(self) and self.n_outputs_ == 1 else None
        arrays = (X, Y) if sample_weight is None else (X, Y, sample_weight)
        split = train_test_split(
            *arrays,
            random_state=self._random_state,
            test_size=self.validation_fraction,
            stratify=stratify,
        )
        train, val = split[0::2], split[1::2]
        if val[0].shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        if sample_weight is None:
            train, val = (*train, None), (*val, None)
        return train, val

    def _fit_stochastic(self, X, Y, sample_weight, incremental):
        theta, _ = self._bind_parameters(X.dtype)
        grad = np.empty_like(theta)
        if not incremental or self._optimizer is None:
            self._optimizer = self._make_optimizer(theta.size, theta.dtype)
        if self.early_stopping:
            if self.validation_scores_ is None:  # warm start turned it on
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
            (X, Y, sample_weight), validation = self._split_validation(
                X, Y, sample_weight
            )
            self._best_theta = theta.copy()
        else:
            if self.best_loss_ is None:  # warm start turned early stopping off
                self.best_loss_ = min(self.loss_curve_, default=np.inf)
            validation = None
        epoch = _Epoch(self, X, Y, sample_weight, theta, grad)
        snapshot = theta.copy()
        # As scikit-learn: n_iter_ counts this call's epochs (t_ and loss_curve_
        # accumulate), so a warm-started fit reaching max_iter still warns.
        self.n_iter_ = 0
        try:
            for _ in range(self.max_iter):
                np.copyto(snapshot, theta)
                loss = epoch.run()
                if not (np.isfinite(loss) and np.all(np.isfinite(theta))):
                    theta[...] = snapshot
                    self._optimizer = None  # its moments saw the diverged steps
                    warnings.warn(
                        f"Training diverged in epoch {self.n_iter_ + 1}: the loss "
                        f"exploded (over {_EXPLOSION_FACTOR:g} times its starting "
                        "value) or the weights became non-finite. Kept the weights "
                        f"of the last completed epoch (n_iter_={self.n_iter_}). "
                        + _DIVERGENCE_ADVICE,
                        ConvergenceWarning,
                    )
                    break
                if self._end_epoch(loss, X.shape[0], validation, theta, epoch):
                    break
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) reached and "
                        "the optimization hasn't converged yet." % self.max_iter,
                        ConvergenceWarning,
                    )
        except KeyboardInterrupt:
            theta[...] = snapshot
            self._optimizer = None  # its state is mid-epoch; the weights are not
            warnings.warn(
                "Training interrupted by user; kept the weights of the last "
                f"completed epoch (n_iter_={self.n_iter_})."
            )
        if self.early_stopping:
            theta[...] = self._best_theta

    def _end_epoch(self, loss, n_samples, validation, theta, epoch):
        """Record the epoch; return True when training should stop."""
        self.n_iter_ += 1
        self.t_ += n_samples
        self.loss_ = loss
        self.loss_curve_.append(loss)
        if epoch.grad_norms is not None:
            self._record_layer_stats(epoch.grad_norms, block_norms(epoch.layers)[0])
        if self.verbose:
            print("Iteration %d, loss = %.8f" % (self.n_iter_, loss))
        self._update_no_improvement_count(validation, theta)
        self._optimizer.iteration_ends(self.t_)
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        if self.early_stopping:
            msg = (
                "Validation score did not improve more than tol=%f for %d "
                "consecutive epochs." % (self.tol, self.n_iter_no_change)
            )
        else:
            msg = (
                "Training loss did not improve more than tol=%f for %d "
                "consecutive epochs." % (self.tol, self.n_iter_no_change)
            )
        if self._optimizer.trigger_stopping(msg, self.verbose):
            return True
        self._no_improvement_count = 0
        return False

    def _update_no_improvement_count(self, validation, theta):
        if validation is None:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])
            return
        X_val, Y_val, sample_weight_val = validation
        score = self._score_encoded(X_val, Y_val, sample_weight_val)
        self.validation_scores_.append(score)
        if self.verbose:
            print("Validation score: %f" % score)
        if score < self.best_validation_score_ + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            self._best_theta = theta.copy()

    def _record_layer_stats(self, grad_norms, weight_norms):
        """Append the row (dW, db, W norms per layer) of the last loss_curve_ entry."""
        self._pad_layer_stats(len(self.loss_curve_) - 1)
        self._layer_stats_rows.append(np.vstack([grad_norms, weight_norms]))

    def _pad_layer_stats(self, n_rows):
        """Rows of NaN up to ``n_rows``: for epochs trained with recording off
        (warm start), so that row i always belongs to loss_curve_[i]."""
        missing = n_rows - len(self._layer_stats_rows)
        n_layers = len(self._layer_units) - 1
        self._layer_stats_rows += [np.full((3, n_layers), np.nan)] * missing

    def _publish_layer_stats(self):
        """``layer_stats_`` from the recorded rows (None when not recording)."""
        if not self.record_layer_stats:
            self.layer_stats_ = None
            return
        n_rows = len(self.loss_curve_)
        self._pad_layer_stats(n_rows)
        n_layers = len(self._layer_units) - 1
        rows = self._layer_stats_rows[:n_rows]
        table = np.array(rows).reshape(n_rows, 3, n_layers)
        self.layer_stats_ = {
            key: table[:, i].copy()
            for i, key in enumerate(("dW_norm", "db_norm", "W_norm"))
        }

    # -------------------------------------------------------------- predicting

    def _decision(self, X):
        """Output pre-activation for validated X, in bounded-memory chunks."""
        return predict_output(X, self.coefs_, self.intercepts_, self.activation)

    def _output(self, X):
        """Output-layer activations for validated X."""
        return LOSSES[self._loss_name].output(self._decision(X))

    def _validate_X(self, X):
        check_is_fitted(self)
        return validate_data(self, X, dtype=(np.float64, np.float32), reset=False)


class _Epoch:
    """One pass over the training data in mini-batches, with reusable buffers.

    Holds everything a batch step needs, allocated once per ``fit`` call, so
    the batch loop itself allocates (almost) nothing.
    """

    def __init__(self, model, X, Y, sample_weight, theta, grad):
        self.model = model
        self.X, self.sample_weight = X, sample_weight
        # Targets one column per sample, as the network's outputs.
        self.Y_columns = transposed_rows(Y).T
        self.theta, self.grad = theta, grad
        blocks = parameter_blocks(model._layer_units)
        self.layers = layer_views(theta, blocks)
        self.grad_layers = layer_views(grad, blocks)
        self.batch_size = model._batch_size(X.shape[0])
        self.keep_prob = 1.0 - model.dropout
        self.buffers = allocate_activations(
            self.batch_size, model._layer_units, X.dtype, dropout=self.keep_prob < 1
        )
        self.sample_idx = np.arange(X.shape[0])
        # Loss of the first batch, at the starting weights: the scale against
        # which an exploding loss is recognised.
        self.first_loss = None
        # Mean (over the last epoch's batches) gradient norms, when recording.
        self.grad_norms = None
        if model.shuffle:
            self.X_batch = np.empty((self.batch_size, X.shape[1]), X.dtype)
            self.Y_batch = np.empty((Y.shape[1], self.batch_size), Y.dtype)

    def run(self):
        """Train one epoch; return the sample-mean batch loss, NaN if it diverged."""
        model, n_samples = self.model, self.X.shape[0]
        rng = model._random_state
        if model.shuffle:
            rng.shuffle(self.sample_idx)
        accumulated = 0.0
        grad_norms = (
            np.zeros((2, len(self.layers))) if model.record_layer_stats else None
        )
        for rows in gen_batches(n_samples, self.batch_size):
            X_batch, Y_batch, sw_batch = self._batch(rows)
            keep_masks = None
            if self.keep_prob < 1:
                keep_masks = draw_keep_masks(
                    rng,
                    X_batch.shape[0],
                    model._layer_units[1:-1],
                    self.keep_prob,
                    X_batch.dtype,
                )
            loss = backprop(
                X_batch,
                Y_batch,
                self.layers,
                self.grad_layers,
                self.buffers,
                activation=model.activation,
                loss=model._loss_name,
                alpha=model.alpha,
                sample_weight=sw_batch,
                keep_masks=keep_masks,
            )
            if self.first_loss is None:
                self.first_loss = max(loss, 1.0)
            if not loss < _EXPLOSION_FACTOR * self.first_loss:  # NaN included
                return np.nan
            if grad_norms is not None:
                grad_norms += X_batch.shape[0] * block_norms(self.grad_layers)
            model._optimizer.update(self.theta, self.grad)
            accumulated += loss * X_batch.shape[0]
        if grad_norms is not None:
            self.grad_norms = grad_norms / n_samples
        return accumulated / n_samples

    def _batch(self, rows):
        """``(X, Y, sample_weight)`` of a batch; X and Y in the network's buffers."""
        sw = self.sample_weight
        if not self.model.shuffle:
            Y_batch = self.Y_columns[:, rows].T
            return self.X[rows], Y_batch, None if sw is None else sw[rows]
        idx = self.sample_idx[rows]
        n_rows = idx.shape[0]
        # The indices are a permutation of range(n_samples), always in bounds;
        # mode='clip' spares numpy's bounds-checked, buffered copy (2.5x faster).
        # Gathering into contiguous rows and letting backprop copy them into
        # its buffers beats gathering into those (strided) buffers directly.
        X_batch = self.X.take(idx, axis=0, out=self.X_batch[:n_rows], mode="clip")
        Y_batch = self.Y_batch[:, :n_rows]
        self.Y_columns.take(idx, axis=1, out=Y_batch, mode="clip")
        return X_batch, Y_batch.T, None if sw is None else sw[idx]


def _encode_targets(binarizer, y, dtype):
    """``binarizer.transform(y).astype(dtype)``, built directly in ``dtype``.

    ``LabelBinarizer`` returns int64 indicators, so casting them briefly holds
    two copies of the targets, the largest training allocation after ``X``
    itself (n_samples x n_classes). Single-label targets are encoded straight
    into the float array instead; ``y`` must only hold ``binarizer.classes_``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import LabelBinarizer
    >>> y = np.array(["b", "a", "c"])
    >>> _encode_targets(LabelBinarizer().fit(y), y, np.float32)
    array([[0., 1., 0.],
           [1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    classes = binarizer.classes_
    # Column-major, one class per contiguous row of Y.T: the layout the
    # network's losses work in (see _network.transposed_rows).
    if binarizer.y_type_ == "multilabel-indicator" or len(classes) < 2:
        return binarizer.transform(y).astype(dtype, order="F")
    codes = np.searchsorted(classes, y)
    if len(classes) == 2:
        return (codes == 1).astype(dtype)[:, None]
    Y = np.zeros((len(classes), len(codes)), dtype).T
    Y[np.arange(len(codes)), codes] = 1
    return Y


class MLPFromScratch(ClassifierMixin, _BaseMLPFromScratch):
    """Multilayer perceptron classifier in plain numpy, with He/Xavier/small init.

    The same objective and parameter names as scikit-learn's
    :class:`~sklearn.neural_network.MLPClassifier` (mean log-loss plus
    ``0.5 * alpha * sum ||W||_F^2 / n_samples``; logistic output for binary and
    multilabel targets, softmax for multiclass), plus the weight initialization
    scheme ``init`` and inverted ``dropout``. For identical weights its loss,
    gradients and ``predict_proba`` equal scikit-learn's to floating-point
    accuracy.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units in the ith hidden layer.
    activation : {'relu', 'tanh', 'logistic', 'identity'}, default='relu'
        Activation of the hidden layers.
    init : {'he', 'xavier', 'random'} or callable, default='he'
        Weight initialization of every layer, output layer included; biases
        start at 0. With ``n_in`` the layer's fan-in:

        - 'he': ``W ~ N(0, 2 / n_in)``, for ReLU (He et al., 2015);
        - 'xavier': ``W ~ N(0, 1 / n_in)``, for tanh. Naming trap: this is the
          lecture's rule, also called *LeCun normal*; Glorot and Bengio's own
          variant uses ``2 / (n_in + n_out)``, and scikit-learn's MLP uses
          Glorot-*uniform* for every activation;
        - 'random': ``W ~ N(0, 0.01^2)``: small random numbers, fine for
          shallow nets, vanishing signal in deep ones;
        - a callable ``init(fan_in, fan_out, rng) -> ndarray`` of shape
          ``(fan_in, fan_out)``, ``rng`` being the ``numpy.random.RandomState``
          that ``check_random_state(random_state)`` gives.
    solver : {'sgd', 'adam', 'lbfgs'}, default='adam'
        'lbfgs' minimizes :meth:`objective` with ``scipy.optimize.minimize``.
    alpha : float, default=1e-4
        Strength of the L2 penalty, divided by the sample size (or weight sum).
    batch_size : int or 'auto', default='auto'
        Mini-batch size of the stochastic solvers; 'auto' is ``min(200, n)``.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning-rate schedule of 'sgd', as in scikit-learn.
    learning_rate_init : float, default=1e-3
        Initial learning rate of 'sgd' and 'adam'.
    power_t : float, default=0.5
        Exponent of 'invscaling'.
    max_iter : int, default=200
        Maximum number of epochs (stochastic solvers) or iterations (lbfgs).
    shuffle : bool, default=True
        Whether to shuffle the samples in each epoch.
    random_state : int, RandomState instance or None, default=None
        The only source of randomness: weights, shuffling, dropout masks and
        the early-stopping split.
    tol : float, default=1e-4
        Improvement below which an epoch counts as no improvement.
    verbose : bool, default=False
        Print one line per epoch.
    warm_start : bool, default=False
        Reuse the previous solution as initialization.
    momentum : float, default=0.9
        Momentum of 'sgd'.
    nesterovs_momentum : bool, default=True
        Whether 'sgd' uses Nesterov's momentum.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when its score
        stops improving; the best weights are restored.
    validation_fraction : float, default=0.1
        Held-out fraction for early stopping.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's parameters.
    n_iter_no_change : int, default=10
        Epochs without improvement of more than ``tol`` before stopping.
    max_fun : int, default=15000
        Maximum number of loss evaluations of 'lbfgs'.
    dropout : float in [0, 1), default=0.0
        Fraction of hidden units dropped during training (inverted dropout:
        kept units are scaled by ``1 / keep_prob``, ``keep_prob = 1 - dropout``).
        Never applied at prediction. Requires a stochastic solver.
    record_layer_stats : bool, default=False
        Record every layer's gradient and weight norms per epoch (per
        iteration with 'lbfgs') in ``layer_stats_``, to watch gradients vanish
        or explode during training. Costs two norms per layer and mini-batch
        (with 'lbfgs', none: the objective's last gradient is reused); the
        training itself is unchanged.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coefs_ : list of ndarray of shape (fan_in, fan_out)
        The live weight matrices ``W[l]``: writing into them changes
        predictions and the next ``objective(...).theta0``.
    intercepts_ : list of ndarray of shape (fan_out,)
        The live bias vectors ``b[l]``.
    loss_ : float
        Loss at the last epoch / iteration.
    best_loss_ : float or None
        Lowest training loss reached (None with early stopping).
    loss_curve_ : list of float
        Loss at each epoch (stochastic solvers) or iteration (lbfgs).
    validation_scores_ : list of float or None
        Validation accuracy per epoch with early stopping, else None.
    layer_stats_ : dict of ndarray or None
        With ``record_layer_stats=True``, arrays of shape
        ``(len(loss_curve_), n_layers_ - 1)``: one row per entry of
        ``loss_curve_`` and one column per weight layer ``l = 1 .. L``:

        - 'dW_norm', 'db_norm': Frobenius norms of ``dJ/dW[l]`` (L2 term
          included) and ``dJ/db[l]``, averaged over the epoch's mini-batches
          weighted by their size ('lbfgs': at each iterate);
        - 'W_norm': the norm of ``W[l]`` at the end of the epoch.

        Epochs trained with recording off (``warm_start``) have rows of NaN.
        None when not recording.
    best_validation_score_ : float or None
        Best validation accuracy with early stopping, else None.
    n_iter_ : int
        Number of epochs / iterations run.
    t_ : int
        Number of training samples seen by the stochastic solver.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of output units.
    out_activation_ : str
        'logistic' (binary, multilabel) or 'softmax' (multiclass).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    MLPFromScratchRegressor : The same network for regression.
    sklearn.neural_network.MLPClassifier : scikit-learn's MLP (Glorot-uniform init).
    sk_dlsetup.GradientChecker : Checks this model's backprop around a fit.

    Notes
    -----
    float32 input trains in float32 (float32 weights); anything else in
    float64. If the loss or the weights become non-finite, training stops,
    the weights of the last finite epoch are kept, and a ``ConvergenceWarning``
    says what to try.

    References
    ----------
    He, K., Zhang, X., Ren, S. and Sun, J. (2015). Delving deep into
    rectifiers. ICCV.

    Glorot, X. and Bengio, Y. (2010). Understanding the difficulty of training
    deep feedforward neural networks. AISTATS.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from sk_dlsetup import InputNormalizer, MLPFromScratch
    >>> X, y = load_iris(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> model = make_pipeline(
    ...     InputNormalizer(),
    ...     MLPFromScratch((16,), init="he", solver="lbfgs", alpha=1.0, random_state=0),
    ... ).fit(X_train, y_train)
    >>> round(model.score(X_test, y_test), 2)
    0.97

    Each layer's gradient norm, per epoch (rows) and layer (columns):

    >>> recorded = make_pipeline(
    ...     InputNormalizer(),
    ...     MLPFromScratch((16,), solver="lbfgs", alpha=1.0, random_state=0,
    ...                    record_layer_stats=True),
    ... ).fit(X_train, y_train)[-1]
    >>> recorded.layer_stats_["dW_norm"].shape == (recorded.n_iter_, 2)
    True
    """

    @property
    def _loss_name(self):
        multiclass = self._label_binarizer.y_type_ == "multiclass"
        return "log_loss" if multiclass else "binary_log_loss"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            binarizer = LabelBinarizer().fit(y)
            if (
                binarizer.y_type_ != "multilabel-indicator"
                and len(binarizer.classes_) < 2
            ):
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in "
                    "the data, but the data contains only one class: "
                    f"{binarizer.classes_[0].item()!r}."
                )
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        return X, _encode_targets(self._label_binarizer, y, X.dtype)

    def _validate_objective_data(self, X, y):
        X, y = validate_data(
            self, X, y, multi_output=True, dtype=(np.float64, np.float32), reset=False
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y)
        unseen = np.setdiff1d(unique_labels(y), self.classes_)
        if unseen.size:
            raise ValueError(
                f"`y` has classes not in `self.classes_`: {unseen}. "
                f"`self.classes_` has {self.classes_}."
            )
        return X, _encode_targets(self._label_binarizer, y, X.dtype)

    def _decode(self, proba):
        if self.n_outputs_ == 1:
            proba = proba.ravel()
        return self._label_binarizer.inverse_transform(proba)

    def _score_encoded(self, X, Y, sample_weight):
        y_pred = self._decode(self._output(X))
        y_true = self._decode(Y)
        return accuracy_score(y_true, y_pred, sample_weight=sample_weight)

    @available_if(lambda est: est.solver in _STOCHASTIC_SOLVERS)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array-like of shape (n_classes,), default=None
            All the classes across calls; required on the first call.

        Returns
        -------
        self : object
            The updated model.
        """
        first_call = getattr(self, "classes_", None) is None
        if first_call and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if (
            classes is not None
            and not first_call
            and not np.array_equal(self.classes_, unique_labels(classes))
        ):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on last call to "
                f"partial_fit, was: {self.classes_!r}"
            )
        if first_call:
            with _unchanged_on_error(self):
                binarizer = LabelBinarizer()
                multilabel = type_of_target(y).startswith("multilabel")
                binarizer.fit(y if multilabel else classes)
                self._label_binarizer = binarizer
                self.classes_ = binarizer.classes_
                return self._fit(X, y, sample_weight, incremental=True)
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        return self._decode(self._output(self._validate_X(X)))

    def predict_proba(self, X):
        """Probability estimates, classes ordered as in ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Predicted probabilities.
        """
        proba = self._output(self._validate_X(X))
        if (
            self.n_outputs_ == 1
            and self._label_binarizer.y_type_ != "multilabel-indicator"
        ):
            return np.hstack([1 - proba, proba])
        return proba

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        As scikit-learn's: ``log(predict_proba(X))``, so a probability that
        underflows to 0 has log-probability ``-inf``. scikit-learn's estimator
        checks require exactly this transformation, ``-inf`` included, so the
        log-softmax of the logits, finite there, is not used.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log of the predicted probabilities.
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPFromScratchRegressor(RegressorMixin, _BaseMLPFromScratch):
    """Multilayer perceptron regressor in plain numpy: identity output, squared error.

    The network, parameters and initialization of :class:`MLPFromScratch`
    with an identity output layer and half the mean squared error (averaged
    over outputs), as scikit-learn's
    :class:`~sklearn.neural_network.MLPRegressor`. One deliberate difference:
    for several outputs scikit-learn's gradient is ``n_outputs`` times too large
    (its issue #8349); ours is the true gradient of the loss.

    Parameters
    ----------
    loss : {'squared_error'}, default='squared_error'
        Half the mean squared error.
    hidden_layer_sizes, activation, init, solver, alpha, batch_size, \
learning_rate, learning_rate_init, power_t, max_iter, shuffle, random_state, \
tol, verbose, warm_start, momentum, nesterovs_momentum, early_stopping, \
validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change, max_fun, dropout, \
record_layer_stats
        As in :class:`MLPFromScratch`.

    Attributes
    ----------
    coefs_, intercepts_, loss_, best_loss_, loss_curve_, validation_scores_, \
layer_stats_, best_validation_score_, n_iter_, t_, n_layers_, n_outputs_, \
out_activation_, n_features_in_, feature_names_in_
        As in :class:`MLPFromScratch`; ``out_activation_`` is 'identity' and
        the validation score is R^2.

    See Also
    --------
    MLPFromScratch : The same network for classification.
    sklearn.neural_network.MLPRegressor : scikit-learn's MLP regressor.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sk_dlsetup import InputNormalizer, MLPFromScratchRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-2, 2, size=(200, 1))
    >>> y = np.sin(2 * X[:, 0])
    >>> model = make_pipeline(
    ...     InputNormalizer(),
    ...     MLPFromScratchRegressor(hidden_layer_sizes=(32,), activation="tanh",
    ...                             init="xavier", solver="lbfgs", random_state=0),
    ... ).fit(X, y)
    >>> bool(model.score(X, y) > 0.99)
    True
    """

    _parameter_constraints: dict = {
        **_BaseMLPFromScratch._parameter_constraints,
        "loss": [StrOptions({"squared_error"})],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        init="he",
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        record_layer_stats=False,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            init=init,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dropout=dropout,
            record_layer_stats=record_layer_stats,
        )
        self.loss = loss

    @property
    def _loss_name(self):
        return self.loss

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, np.asarray(y, dtype=X.dtype).reshape(X.shape[0], -1)

    def _validate_objective_data(self, X, y):
        return self._validate_input(X, y, incremental=True, reset=False)

    def _score_encoded(self, X, Y, sample_weight):
        y_pred = self._output(X)
        if Y.shape[1] == 1:
            Y, y_pred = Y.ravel(), y_pred.ravel()
        return r2_score(Y, y_pred, sample_weight=sample_weight)

    @available_if(lambda est: est.solver in _STOCHASTIC_SOLVERS)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The updated model.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict using the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        y_pred = self._output(self._validate_X(X))
        return y_pred.ravel() if y_pred.shape[1] == 1 else y_pred
