"""MLPFromScratch: the network as a classifier (binary, multiclass, multilabel)."""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d, validate_data

from .._compat import _fit_context
from .._namespaces import is_numpy, namespace_of, numpy_dtype, to_numpy
from ._mlp import _BaseMLPFromScratch, _has_stochastic_solver
from ._rollback import unchanged_on_error
from ._validation import SPARSE_FORMATS, as_csr, float_dtypes


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
    init : {'he', 'xavier', 'random', 'orthogonal', 'lsuv'} or callable, \
            default='he'
        Weight initialization of every layer, output layer included; biases
        start at 0. With ``n_in`` the layer's fan-in:

        - 'he': ``W ~ N(0, 2 / n_in)``, for ReLU (He et al., 2015);
        - 'xavier': ``W ~ N(0, 1 / n_in)``, for tanh. Naming trap: this is the
          lecture's rule, also called *LeCun normal*; Glorot and Bengio's own
          variant uses ``2 / (n_in + n_out)``, and scikit-learn's MLP uses
          Glorot-*uniform* for every activation;
        - 'random': ``W ~ N(0, 0.01^2)``: small random numbers, fine for
          shallow nets, vanishing signal in deep ones;
        - 'orthogonal' (Saxe et al., 2014), for depth: ``W = gain * Q`` with
          orthonormal columns or rows (QR of a Gaussian draw, signs fixed),
          gain ``sqrt(2)`` for relu and 1 otherwise, 1 for the output layer;
          with tanh the input-output Jacobian stays near-isometric with depth;
        - 'lsuv' (Mishkin and Matas, 2016): orthogonal with gain 1, then each
          layer from the input rescaled until its pre-activation variance on
          (at most 1,024, drawn with ``random_state``) training rows is 1
          within 0.05, for any activation; data-dependent;
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
    float64. If the loss, a gradient or the weights become non-finite
    (divergence, and nothing else: a finite loss that grows never stops
    training), ``fit`` raises ``ValueError`` ("Solver produced non-finite
    parameter weights", as scikit-learn) saying what to try; the weights of
    the last finite epoch are kept (``partial_fit`` and ``warm_start`` keep
    those from before the call).

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

    def _check_X_y(self, X, y, reset, warn):
        """Validated X (dense, or sparse as CSR) and labels (1-D if one column)."""
        X, y = validate_data(
            self,
            X,
            to_numpy(y),  # labels are encoded on the host
            multi_output=True,
            dtype=float_dtypes(X),
            accept_sparse=SPARSE_FORMATS,
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=warn)
        return as_csr(X), y

    def _validate_input(self, X, y, incremental, reset):
        X, y = self._check_X_y(X, y, reset=reset, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            # One class is fitted as scikit-learn's MLP fits it: one logistic
            # output trained towards "not the other class", predicting it always.
            binarizer = LabelBinarizer().fit(y)
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
        return X, _encode_targets(self._label_binarizer, y, numpy_dtype(X))

    def _validate_objective_data(self, X, y):
        X, y = self._check_X_y(X, y, reset=False, warn=False)
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
        y_pred = self._decode(to_numpy(self._output(X)))
        y_true = self._decode(to_numpy(Y))
        return accuracy_score(y_true, y_pred, sample_weight=to_numpy(sample_weight))

    @available_if(_has_stochastic_solver)
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
        if classes is not None:  # labels are encoded on the host, any namespace
            classes = to_numpy(classes)
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
            with unchanged_on_error(self):
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
        X = self._validate_X(X)
        labels = self._decode(to_numpy(self._output(X)))
        xp, device = namespace_of(X)
        if is_numpy(xp) or labels.dtype.kind not in "biuf":
            return labels  # labels no array library holds (strings) stay NumPy
        return xp.asarray(labels, device=device)

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
        return self._proba(X, "predict_proba")

    def _proba(self, X, method):
        X = self._validate_X(X, method)
        proba = self._output(X)
        if (
            self.n_outputs_ == 1
            and self._label_binarizer.y_type_ != "multilabel-indicator"
        ):
            xp, _ = namespace_of(proba)
            if not is_numpy(xp):
                return xp.concat([1 - proba, proba], axis=1)
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
        proba = self._proba(X, "predict_log_proba")
        xp, _ = namespace_of(proba)
        if not is_numpy(xp):
            return xp.log(proba)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
