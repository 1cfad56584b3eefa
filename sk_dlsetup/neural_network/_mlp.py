"""What both MLP estimators share: parameters, validation, state, orchestration.

The math lives in :mod:`._network` (forward / backward), :mod:`._losses`,
:mod:`._activations`, :mod:`._initializers` and :mod:`._optimizers`; the
training loops in :mod:`._training`. This module validates input, holds the
fitted state and calls them; :mod:`._classifier` and :mod:`._regressor` add
what differs between the two tasks (target encoding, outputs, scores).
"""

import contextlib
import copy
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._callbacks import CALLBACK_ATTRIBUTES, CallbackSupportMixin, IterationTasks
from .._compat import (
    Interval,
    Options,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    supported_float_dtypes,
    validate_parameter_constraints,
)
from .._namespaces import (
    check_same_namespace_as,
    namespace_of,
    numpy_dtype,
    to_namespace,
    to_numpy,
)
from ._activations import ACTIVATIONS
from ._initializers import INITIALIZERS, initialize_weights
from ._losses import LOSSES
from ._network import (
    draw_keep_masks,
    pack,
    parameter_blocks,
    predict_output,
    unpack,
)
from ._objective import MLPObjective
from ._optimizers import OPTIMIZERS
from ._training import DivergenceError, TrainingState, fit_lbfgs, fit_stochastic
from ._xp_network import xp_pack, xp_predict_output, xp_unpack

_STOCHASTIC_SOLVERS = set(OPTIMIZERS)

#: Sparse X as scikit-learn's MLP takes it; the network works on CSR rows.
SPARSE_FORMATS = ("csr", "csc")


def as_csr(X):
    """A sparse X as CSR (mini-batches are rows), dense X as it is.

    Examples
    --------
    >>> from scipy import sparse
    >>> as_csr(sparse.csc_matrix(np.eye(2))).format
    'csr'
    """
    return X.tocsr() if sparse.issparse(X) and X.format != "csr" else X


def float_dtypes(X):
    """The float dtypes validation may keep X in: NumPy's, or its namespace's."""
    xp, device = namespace_of(X)
    return (
        (np.float64, np.float32) if xp is None else supported_float_dtypes(xp, device)
    )


def arrays_in(arrays, xp, device, dtype):
    """NumPy arrays (weights) moved to ``xp`` on ``device`` in ``dtype``; the
    list itself when ``xp`` is None (NumPy)."""
    if xp is None:
        return list(arrays)
    return [to_namespace(a, xp, device, dtype=dtype) for a in arrays]


def _has_stochastic_solver(estimator):
    """``partial_fit`` exists for the stochastic solvers only (as scikit-learn's)."""
    return estimator.solver in _STOCHASTIC_SOLVERS


@contextlib.contextmanager
def _unchanged_on_error(estimator, keep_on=None):
    """Restore the estimator's attributes if the block raises: a rejected call
    changes nothing in a fitted model.

    Lists (``loss_curve_``, ``validation_scores_``, ``coefs_``) are copied since
    training appends to or rebinds them, and the training state (optimizer
    moments, random stream, layer history) is deep-copied; weight arrays need no
    copy, as training works on a fresh theta (:meth:`_bind_parameters`). An
    exception of type ``keep_on`` leaves the attributes as the block left them.
    The callback bookkeeping is left as it is: ``_fit_context`` still has to
    tear down the callbacks the failed fit set up.
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


class _BaseMLPFromScratch(CallbackSupportMixin, BaseEstimator):
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
            self._initialize(X, Y)
            self._training.fresh_init = True
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
        if namespace_of(X)[0] is not None:
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
        xp, device = namespace_of(X)
        # Checked on the host (a vector), then moved to where X lives.
        host_X = X if xp is None else np.empty((X.shape[0], 0), numpy_dtype(X))
        sample_weight = _check_sample_weight(
            to_numpy(sample_weight), host_X, dtype=host_X.dtype
        )
        if np.any(sample_weight < 0):
            raise ValueError("Negative values in data passed to `sample_weight`.")
        if not sample_weight.sum() > 0:
            raise ValueError("The sum of `sample_weight` must be positive.")
        return to_namespace(sample_weight, xp, device, dtype=X.dtype)

    def _validate_training_data(self, X, y, sample_weight, incremental, reset):
        if self.dropout > 0 and self.solver == "lbfgs":
            raise ValueError(
                "dropout > 0 needs a stochastic solver ('sgd' or 'adam'): L-BFGS "
                "requires a deterministic objective."
            )
        self._hidden_layer_sizes()
        X, Y = self._validate_input(X, to_numpy(y), incremental, reset)
        xp, device = namespace_of(X)
        if xp is not None:  # targets are encoded on the host, trained on X's device
            Y = to_namespace(Y, xp, device, dtype=X.dtype)
        if not reset:
            self._check_n_outputs(Y)
            if xp is not None:
                check_same_namespace_as(X, self.coefs_[0], self, "fit")
                X = xp.astype(X, self.coefs_[0].dtype)
                Y = xp.astype(Y, X.dtype)
            elif X.dtype != self.coefs_[0].dtype:
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

    @property
    def _layer_units(self):
        """``[n_features, hidden..., n_outputs]`` of the current weights."""
        return [self.coefs_[0].shape[0], *(W.shape[1] for W in self.coefs_)]

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
            self.init, layer_units, rng, np.dtype(numpy_dtype(X))
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

    def _bind_parameters(self, dtype):
        """Copy the weights into one flat theta; coefs_/intercepts_ become views.

        For arrays of another namespace the weights are read back from theta
        after training (:meth:`_unbind_parameters`): views are not promised
        by the standard.
        """
        xp, _ = namespace_of(self.coefs_[0])
        if xp is not None:
            return xp.astype(xp_pack(xp, self.coefs_, self.intercepts_), dtype)
        blocks = parameter_blocks(self._layer_units)
        theta = pack(self.coefs_, self.intercepts_, dtype=dtype)
        self.coefs_, self.intercepts_ = unpack(theta, blocks)
        return theta

    def _unbind_parameters(self, theta):
        """Weights from a theta of another namespace (no-op for NumPy's views)."""
        xp, _ = namespace_of(theta)
        if xp is not None:
            self.coefs_, self.intercepts_ = xp_unpack(xp, theta, self._layer_units)

    # -------------------------------------------------------------- fitting

    def _fit(self, X, y, sample_weight, incremental):
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        # A fresh fit that diverges keeps its last finite weights and its
        # loss_curve_; partial_fit and warm_start keep those from before the call.
        keep_on = DivergenceError if first_pass else None
        with _unchanged_on_error(self, keep_on=keep_on):
            X, Y, sample_weight = self._validate_training_data(
                X, y, sample_weight, incremental, reset=first_pass
            )
            state = getattr(self, "_training", None)
            from_initialize = (
                state is not None
                and state.fresh_init
                and state.layer_units == self._layer_units_for(X, Y)
            )
            if from_initialize:
                pass  # keep the weights and random stream `initialize` set up
            elif first_pass:
                self._initialize(X, Y)
            elif state is None:  # weights set by hand: a training state for them
                state = self._training = TrainingState(
                    check_random_state(self.random_state), self._layer_units
                )
            elif not incremental:
                state.rng = check_random_state(self.random_state)
            if self.early_stopping and incremental:
                raise ValueError("partial_fit does not support early_stopping=True")
            self._training.fresh_init = False
            metadata = (
                None if sample_weight is None else {"sample_weight": sample_weight}
            )
            context = self._init_callback_context(
                max_subtasks=self._n_iteration_tasks(incremental)
            )
            context.call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)
            tasks = IterationTasks(
                context,
                self,
                X,
                y,
                metadata,
                lambda theta: self._weights_at(theta, X),
                task_name="iteration" if self.solver == "lbfgs" else "epoch",
            )
            # Training can still reject the data (e.g. a validation split too
            # small to hold out): the guard then restores the fitted model.
            try:
                if self.solver == "lbfgs":
                    self._fit_lbfgs(X, Y, sample_weight, tasks)
                else:
                    theta = self._bind_parameters(X.dtype)
                    try:
                        fit_stochastic(
                            self,
                            self._training,
                            X,
                            Y,
                            sample_weight,
                            theta,
                            incremental,
                            tasks,
                        )
                    finally:
                        self._unbind_parameters(theta)
            finally:
                self._publish_layer_stats()
            context.call_on_fit_task_end(
                estimator=self,
                X=X,
                y=y,
                metadata=metadata,
                reconstruction_attributes={},
            )
        return self

    def _n_iteration_tasks(self, incremental):
        """Subtasks of one fit: an epoch each (one per ``partial_fit``); L-BFGS
        opens one more that never runs, as in scikit-learn's LogisticRegression."""
        if incremental:
            return 1
        return self.max_iter + 1 if self.solver == "lbfgs" else self.max_iter

    def _weights_at(self, theta, X):
        """Fresh ``coefs_`` and ``intercepts_`` holding ``theta``: what a copy of
        the estimator needs to predict as at the end of an iteration, in the
        namespace, device and dtype of the training data ``X`` (L-BFGS's theta
        lives on the host whatever X's namespace)."""
        theta_xp, _ = namespace_of(theta)
        if theta_xp is not None:
            coefs, intercepts = xp_unpack(theta_xp, theta, self._layer_units)
        else:
            blocks = parameter_blocks(self._layer_units)
            coefs, intercepts = unpack(theta.copy(), blocks)
            xp, device = namespace_of(X)
            coefs = arrays_in(coefs, xp, device, X.dtype)
            intercepts = arrays_in(intercepts, xp, device, X.dtype)
        return {"coefs_": list(coefs), "intercepts_": list(intercepts)}

    def _fit_lbfgs(self, X, Y, sample_weight, tasks):
        xp, device = namespace_of(X)
        if xp is not None:
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
            self._bind_parameters(X.dtype)[...] = error.theta
            raise
        self._bind_parameters(X.dtype)[...] = theta_final

    def _publish_layer_stats(self):
        """``layer_stats_`` from the recorded rows (None when not recording)."""
        if not self.record_layer_stats:
            self.layer_stats_ = None
            return
        self.layer_stats_ = self._training.layer_history.table(len(self.loss_curve_))

    # -------------------------------------------------------------- predicting

    def _decision(self, X):
        """Output pre-activation for validated X, in bounded-memory chunks."""
        xp, _ = namespace_of(X)
        if xp is not None:
            return xp_predict_output(
                xp, X, self.coefs_, self.intercepts_, self.activation
            )
        return predict_output(X, self.coefs_, self.intercepts_, self.activation)

    def _output(self, X):
        """Output-layer activations for validated X (in its namespace)."""
        xp, _ = namespace_of(X)
        if xp is not None:
            return LOSSES[self._loss_name].xp_output(xp, self._decision(X))
        return LOSSES[self._loss_name].output(self._decision(X))

    def _validate_X(self, X, method="predict"):
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            dtype=float_dtypes(X),
            accept_sparse=SPARSE_FORMATS,
            reset=False,
        )
        check_same_namespace_as(X, self.coefs_[0], self, method)
        return as_csr(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = True
        return tags
