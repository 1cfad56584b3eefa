"""What both MLP estimators share: parameters, validation, state, orchestration.

The math lives in :mod:`._network` (forward / backward), :mod:`._losses`,
:mod:`._activations`, :mod:`._initializers` and :mod:`._optimizers`; the
solvers in :mod:`._stochastic` (with :mod:`._epoch`) and :mod:`._lbfgs`; the
parameter vector in :mod:`._parameters`. This module validates input, holds
the fitted state and calls them; :mod:`._classifier` and :mod:`._regressor`
add what differs between the two tasks (target encoding, outputs, scores).

What ``fit`` starts from is decided by the parameters and the data alone
(:meth:`_BaseMLPFromScratch._starts_from_initialize`), never by a flag an
earlier call left behind.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._callbacks import CallbackSupportMixin, IterationTasks, fit_task
from .._compat import (
    Interval,
    Options,
    StrOptions,
    _fit_context,
    validate_parameter_constraints,
)
from .._namespaces import (
    is_numpy,
    lent_to_numpy,
    namespace_of,
    numpy_dtype,
    to_namespace,
    to_numpy,
)
from ._activations import ACTIVATIONS
from ._divergence import DivergenceError
from ._initializers import INITIALIZERS, initialize_weights
from ._lbfgs import fit_lbfgs
from ._losses import LOSSES
from ._network import draw_keep_masks, predict_output
from ._objective import MLPObjective
from ._optimizers import OPTIMIZERS
from ._parameters import (
    bind_parameters,
    layer_units_of,
    parameters_at,
    read_back_parameters,
)
from ._rollback import unchanged_on_error
from ._state import TrainingState, same_params
from ._stochastic import fit_stochastic
from ._validation import MLPValidationMixin

_STOCHASTIC_SOLVERS = set(OPTIMIZERS)


def arrays_in(arrays, xp, device, dtype):
    """NumPy arrays (weights) moved to ``xp`` on ``device`` in ``dtype``; the
    list itself when ``xp`` is NumPy."""
    if is_numpy(xp):
        return list(arrays)
    return [to_namespace(a, xp, device, dtype=dtype) for a in arrays]


def _has_stochastic_solver(estimator):
    """``partial_fit`` exists for the stochastic solvers only (as scikit-learn's)."""
    return estimator.solver in _STOCHASTIC_SOLVERS


class _BaseMLPFromScratch(MLPValidationMixin, CallbackSupportMixin, BaseEstimator):
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

        If the weights were drawn by :meth:`initialize` and are untrained, and
        the parameters (``get_params()``) and data shapes are still those
        :meth:`initialize` used, training starts from exactly those weights;
        otherwise (``warm_start`` aside) from fresh ones.

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
        initialization sees the weights training starts from, unless
        ``set_params`` changed a parameter in between: then ``fit`` starts
        afresh, from the new parameters.

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
        with unchanged_on_error(self):
            X, Y, _ = self._validate_training_data(
                X, y, sample_weight, incremental=False, reset=True
            )
            self._initialize(X, Y)
            self._training.initialized_with = self.get_params(deep=False)
            self._publish_layer_stats()
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
            The input data. A NumPy or sparse X is evaluated in its dtype
            (float32 or float64), so float64 X gives a float64 evaluation of a
            float32 model; arrays of other libraries come to the host in
            float64 NumPy (gradient checks run there).
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
        check_is_fitted(
            self,
            msg=(
                f"This {type(self).__name__} instance has no weights yet. Call "
                "'initialize(X, y)' (enough for an objective or a gradient check) "
                "or 'fit' first."
            ),
        )
        validate_parameter_constraints(
            {
                "dropout": [StrOptions({"frozen", "off"})],
                "dropout_seed": ["random_state"],
            },
            {"dropout": dropout, "dropout_seed": dropout_seed},
            caller_name=f"{type(self).__name__}.objective",
        )
        if not is_numpy(namespace_of(X)[0]):
            # Gradient checks run in float64 NumPy: arrays of other libraries
            # (and the weights, if they live there) come to the host.
            X, y, sample_weight = (
                to_numpy(X).astype(np.float64),
                to_numpy(y),
                to_numpy(sample_weight),
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
        return self._objective_on(X, Y, sample_weight, keep_masks)

    def _objective_on(self, X, Y, sample_weight, keep_masks=None):
        """The :class:`MLPObjective` of validated, encoded data at the weights."""
        return MLPObjective(
            [to_numpy(W) for W in self.coefs_],
            [to_numpy(b) for b in self.intercepts_],
            X,
            Y,
            activation=self.activation,
            loss=self._loss_name,
            alpha=self.alpha,
            sample_weight=sample_weight,
            keep_masks=keep_masks,
        )

    # -------------------------------------------------------------- state

    @property
    def _layer_units(self):
        """``[n_features, hidden..., n_outputs]`` of the current weights."""
        return layer_units_of(self.coefs_)

    def _initialize(self, X, Y):
        """Fresh weights from ``init``, fresh training state and bookkeeping."""
        layer_units = self._layer_units_for(X, Y)
        rng = check_random_state(self.random_state)
        self._training = TrainingState(rng, layer_units)
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = LOSSES[self._loss_name].output_name
        # Drawn by NumPy in every namespace: the same random_state gives the
        # same initial weights on any library and device.
        coefs, intercepts = initialize_weights(
            self.init,
            layer_units,
            rng,
            np.dtype(numpy_dtype(X)),
            activation=self.activation,
            # LSUV measures on the host (a NumPy copy of at most 1,024 rows).
            X=to_numpy(X) if self.init == "lsuv" else None,
        )
        xp, device = namespace_of(X)
        self.coefs_ = arrays_in(coefs, xp, device, X.dtype)
        self.intercepts_ = arrays_in(intercepts, xp, device, X.dtype)
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_ = None
        self.loss_curve_ = []
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

    # -------------------------------------------------------------- fitting

    def _fit(self, X, y, sample_weight, incremental):
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        # A fresh fit that diverges keeps its last finite weights and its
        # loss_curve_; partial_fit and warm_start keep those from before the call.
        keep_on = DivergenceError if first_pass else None
        with unchanged_on_error(self, keep_on=keep_on):
            X, Y, sample_weight = self._validate_training_data(
                X, y, sample_weight, incremental, reset=first_pass
            )
            if first_pass and not self._starts_from_initialize(X, Y):
                self._initialize(X, Y)
            elif getattr(self, "_training", None) is None:
                # weights set by hand: a training state for them
                self._training = TrainingState(
                    check_random_state(self.random_state), self._layer_units
                )
            elif not first_pass and not incremental:  # warm start
                self._training.rng = check_random_state(self.random_state)
            if self.early_stopping and incremental:
                raise ValueError("partial_fit does not support early_stopping=True")
            metadata = (
                None if sample_weight is None else {"sample_weight": sample_weight}
            )
            with fit_task(
                self,
                X,
                y,
                metadata,
                max_subtasks=self._n_iteration_tasks(incremental),
            ) as context:
                tasks = IterationTasks(
                    context,
                    self,
                    X,
                    y,
                    metadata,
                    lambda theta: parameters_at(theta, self._layer_units, X),
                    task_name="iteration" if self.solver == "lbfgs" else "epoch",
                )
                # Training can still reject the data (e.g. a validation split
                # too small to hold out): the guard then restores the model.
                try:
                    self._run_solver(X, Y, sample_weight, incremental, tasks)
                finally:
                    self._publish_layer_stats()
        return self

    def _starts_from_initialize(self, X, Y):
        """Whether a fresh ``fit`` starts from the weights :meth:`initialize` drew.

        Decided by the parameters and the data alone: the weights are untrained
        (``loss_curve_`` is empty), the parameters equal those ``initialize``
        drew them with, and the data have the same shapes. Then the weights and
        the random stream ``initialize`` set up are kept.
        """
        state = getattr(self, "_training", None)
        return (
            state is not None
            and state.initialized_with is not None
            and not self.loss_curve_
            and same_params(state.initialized_with, self.get_params(deep=False))
            and state.layer_units == self._layer_units_for(X, Y)
        )

    def _run_solver(self, X, Y, sample_weight, incremental, tasks):
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, sample_weight, tasks)
            return
        theta = bind_parameters(self, X.dtype)
        try:
            fit_stochastic(
                self, self._training, X, Y, sample_weight, theta, incremental, tasks
            )
        finally:
            read_back_parameters(self, theta)

    def _n_iteration_tasks(self, incremental):
        """Subtasks of one fit: an epoch each (one per ``partial_fit``); L-BFGS
        opens one more that never runs, as in scikit-learn's LogisticRegression."""
        if incremental:
            return 1
        return self.max_iter + 1 if self.solver == "lbfgs" else self.max_iter

    def _fit_lbfgs(self, X, Y, sample_weight, tasks):
        xp, device = namespace_of(X)
        if not is_numpy(xp):
            # L-BFGS is scipy's: it runs in float64 NumPy on the host, and the
            # trained weights go back to X's namespace, device and dtype.
            dtype = X.dtype
            host = [to_numpy(a) for a in (X, Y, sample_weight)]
            host = [None if a is None else a.astype(np.float64) for a in host]
            self.coefs_ = [to_numpy(W).astype(np.float64) for W in self.coefs_]
            self.intercepts_ = [
                to_numpy(b).astype(np.float64) for b in self.intercepts_
            ]
            try:
                self._fit_lbfgs(*host, tasks)
            finally:
                self.coefs_ = arrays_in(self.coefs_, xp, device, dtype)
                self.intercepts_ = arrays_in(self.intercepts_, xp, device, dtype)
            return
        objective = self._objective_on(X, Y, sample_weight)
        try:
            theta_final = fit_lbfgs(self, self._training, objective, tasks)
        except DivergenceError as error:
            bind_parameters(self, X.dtype)[...] = error.theta
            raise
        bind_parameters(self, X.dtype)[...] = theta_final

    def _publish_layer_stats(self):
        """``layer_stats_`` from the recorded rows (None when not recording)."""
        if not self.record_layer_stats:
            self.layer_stats_ = None
            return
        self.layer_stats_ = self._training.layer_history.table(len(self.loss_curve_))

    # -------------------------------------------------------------- predicting

    def _output(self, X):
        """Output-layer activations for validated X, in its namespace and on its
        device; host arrays that lend their memory run through NumPy's kernels,
        as in training."""
        xp, device = namespace_of(X)
        arrays = [X, *self.coefs_, *self.intercepts_]
        lent = None if is_numpy(xp) else lent_to_numpy(*arrays)
        work_xp, work_device = (np, "cpu") if lent is not None else (xp, device)
        X_, *weights = arrays if lent is None else lent
        n_layers = len(self.coefs_)
        coefs, intercepts = weights[:n_layers], weights[n_layers:]
        Z = predict_output(X_, coefs, intercepts, self.activation, work_xp, work_device)
        output = LOSSES[self._loss_name].output(Z, work_xp)
        if lent is None:
            return output
        return to_namespace(output, xp, device, dtype=X.dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = True
        return tags
