"""MLPFromScratchRegressor: the network for real targets (squared error or Poisson)."""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d, validate_data

from .._compat import StrOptions, _fit_context
from .._namespaces import is_numpy, namespace_of, numpy_dtype, to_numpy
from ._mlp import _BaseMLPFromScratch, _has_stochastic_solver
from ._validation import SPARSE_FORMATS, as_csr, float_dtypes


class MLPFromScratchRegressor(RegressorMixin, _BaseMLPFromScratch):
    """Multilayer perceptron regressor in plain numpy: squared error or Poisson.

    The network, parameters and initialization of :class:`MLPFromScratch`
    with an identity output layer and half the mean squared error (averaged
    over outputs), or an exponential output layer and half the Poisson
    deviance (summed over outputs), as scikit-learn's
    :class:`~sklearn.neural_network.MLPRegressor`. One deliberate difference:
    for several outputs scikit-learn's gradient is ``n_outputs`` times too large
    (its issue #8349); ours is the true gradient of the loss.

    Parameters
    ----------
    loss : {'squared_error', 'poisson'}, default='squared_error'
        'squared_error': half the mean squared error, identity outputs.
        'poisson': half the Poisson deviance ``y log(y / p) - y + p`` with
        ``p = exp(z)`` (scikit-learn >= 1.7's), for counts and rates; the
        targets must be >= 0.
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
        "loss": [StrOptions({"squared_error", "poisson"})],
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
            to_numpy(y),  # checked on the host, moved to X's device after
            multi_output=True,
            y_numeric=True,
            dtype=float_dtypes(X),
            accept_sparse=SPARSE_FORMATS,
            reset=reset,
        )
        X = as_csr(X)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "Some value(s) of y are out of the valid range of the loss "
                f"'poisson', which needs y >= 0: {int(np.sum(y < 0))} are negative "
                f"(the smallest is {np.min(y):.6g})."
            )
        return X, np.asarray(y, dtype=numpy_dtype(X)).reshape(X.shape[0], -1)

    def _validate_objective_data(self, X, y):
        return self._validate_input(X, y, incremental=True, reset=False)

    def _score_encoded(self, X, Y, sample_weight):
        y_pred, Y = to_numpy(self._output(X)), to_numpy(Y)
        sample_weight = to_numpy(sample_weight)
        if not np.all(np.isfinite(y_pred)):
            return float("nan")  # r2_score would raise deep inside scikit-learn
        if Y.shape[1] == 1:
            Y, y_pred = Y.ravel(), y_pred.ravel()
        return r2_score(Y, y_pred, sample_weight=sample_weight)

    @available_if(_has_stochastic_solver)
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
        if y_pred.shape[1] != 1:
            return y_pred
        xp, _ = namespace_of(y_pred)
        return y_pred.ravel() if is_numpy(xp) else xp.reshape(y_pred, (-1,))
