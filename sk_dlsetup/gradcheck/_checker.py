"""GradientChecker: check backprop at initialization and after training, in fit."""

import copy
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._callbacks import CallbackSupportMixin, fit_task, run_task
from .._compat import Interval, StrOptions, _fit_context, _safe_indexing
from ._check import CHECK_CONSTRAINTS, DEFAULT_EPSILON, check_gradients
from ._protocol import missing_protocol
from ._report import GradientCheckError, GradientCheckWarning

STAGES = ("init", "fitted")
_ESTIMATOR_PROTOCOL = ("initialize", "fit", "objective")


def _estimator_has(attr):
    """``available_if`` check: the fitted (else the unfitted) estimator has attr."""

    def check(self):
        estimator = getattr(self, "estimator_", self.estimator)
        return hasattr(estimator, attr)

    return check


class GradientChecker(CallbackSupportMixin, MetaEstimatorMixin, BaseEstimator):
    """Check backpropagation at initialization and after training, then delegate.

    ``fit`` clones ``estimator`` into ``estimator_``, initializes it (weights
    drawn, nothing trained), checks its gradient, trains it from exactly those
    weights, checks again, and then raises :class:`GradientCheckError` (or
    warns, or stays silent) if a check failed. Prediction is delegated to
    ``estimator_``, so the checker can be the last step of a Pipeline or the
    estimator of a grid search. Checks run on at most ``max_samples`` rows:
    gradient correctness does not need all the data, so a checked fit costs
    little more than a plain fit.

    Parameters
    ----------
    estimator : estimator object
        Follows the objective protocol: ``initialize(X, y)``, ``fit(X, y)`` and
        ``objective(X, y)``, e.g. :class:`~sk_dlsetup.MLPFromScratch`.
    epsilon : float > 0 or 'auto', default=1e-7
        Finite-difference step, see :func:`check_gradients`. With 'richardson'
        or 'complex', 1e-7 (the default, a plain float for scikit-learn's
        parameter rules) means the method's own step.
    method : {'central', 'richardson', 'complex'}, default='central'
        Which differences, see :func:`check_gradients`.
    mode : {'auto', 'full', 'sampled', 'directional'}, default='auto'
        Which entries are checked, see :func:`check_gradients`.
    check_at : tuple of {'init', 'fitted'}, default=('init', 'fitted')
        When to check: at initialization, after training, or both.
    on_failure : {'raise', 'warn', 'ignore'}, default='raise'
        What a failed check does at the end of ``fit``: raise
        :class:`GradientCheckError`, warn with :class:`GradientCheckWarning`, or
        nothing (read ``reports_``).
    max_samples : int or None, default=256
        Check on a random subsample of at most this many rows (rows with zero
        sample weight left out); None checks on every row.
    n_entries : int, default=2000
        Budget of the 'sampled' mode.
    n_directions : int, default=2
        Directions per block of the 'directional' mode.
    detect : float > 0 or None, default=None
        Directional mode: as many directions per block as it takes to catch
        an error of this size relative to the block's gradient norm with
        probability 0.999 (see :func:`check_gradients`).
    pass_threshold, fail_threshold : float, default=1e-6, 1e-3
        The verdict scale.
    noise_aware : bool, default=True
        Judge blocks against the estimated finite-difference noise too.
    dropout : {'frozen', 'off'}, default='frozen'
        Check dropout models with one frozen mask, or with keep_prob = 1.
    fast : bool, default=True
        Use the fast path for sk_dlsetup's MLPs.
    random_state : int, RandomState instance or None, default=0
        Seeds the row subsample and the checks (not the estimator).

    Attributes
    ----------
    estimator_ : estimator object
        The trained clone of ``estimator``.
    reports_ : dict of {str: GradientCheckReport}
        One report per stage of ``check_at``.
    report_ : GradientCheckReport or None
        The last report (None if ``check_at`` is empty).
    classes_ : ndarray of shape (n_classes,)
        The classes, for a classifier.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen in ``fit``, when they are all strings.

    See Also
    --------
    check_gradients : The check itself, as a function.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sk_dlsetup import GradientChecker, InputNormalizer, MLPFromScratch
    >>> X, y = load_iris(return_X_y=True)
    >>> mlp = MLPFromScratch(hidden_layer_sizes=(8,), learning_rate_init=0.01,
    ...                      max_iter=300, random_state=0)
    >>> checked = GradientChecker(mlp)
    >>> model = make_pipeline(InputNormalizer(), checked).fit(X, y)
    >>> {stage: r.verdict for stage, r in checked.reports_.items()}
    {'init': 'pass', 'fitted': 'pass'}
    >>> bool(model.score(X, y) > 0.9)
    True
    """

    _parameter_constraints = {
        "estimator": "no_validation",  # checked in fit, naming what is missing
        "check_at": [tuple, list, StrOptions(set(STAGES))],
        "on_failure": [StrOptions({"raise", "warn", "ignore"})],
        "max_samples": [Interval(Integral, 1, None, closed="left"), None],
        **CHECK_CONSTRAINTS,
    }

    def __init__(
        self,
        estimator,
        *,
        epsilon=1e-7,
        method="central",
        mode="auto",
        check_at=STAGES,
        on_failure="raise",
        max_samples=256,
        n_entries=2000,
        n_directions=2,
        detect=None,
        pass_threshold=1e-6,
        fail_threshold=1e-3,
        noise_aware=True,
        dropout="frozen",
        fast=True,
        random_state=0,
    ):
        self.estimator = estimator
        self.epsilon = epsilon
        self.method = method
        self.mode = mode
        self.check_at = check_at
        self.on_failure = on_failure
        self.max_samples = max_samples
        self.n_entries = n_entries
        self.n_directions = n_directions
        self.detect = detect
        self.pass_threshold = pass_threshold
        self.fail_threshold = fail_threshold
        self.noise_aware = noise_aware
        self.dropout = dropout
        self.fast = fast
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Initialize, check, train from the same weights, check again.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the estimator's ``initialize``, ``fit`` and ``objective``.

        Returns
        -------
        self : object
            The fitted checker.

        Raises
        ------
        GradientCheckError
            With ``on_failure='raise'``, if a check failed (after both checks,
            with ``reports_`` set).
        TypeError
            If ``estimator`` lacks part of the objective protocol.
        """
        stages = self._stages()
        missing = missing_protocol(self.estimator, _ESTIMATOR_PROTOCOL)
        if missing:
            raise TypeError(
                f"GradientChecker needs an estimator with "
                f"{', '.join(_ESTIMATOR_PROTOCOL)} (the objective protocol); "
                f"{type(self.estimator).__name__} has no {' or '.join(missing)}."
            )
        fit_params = {} if sample_weight is None else {"sample_weight": sample_weight}
        estimator = clone(self.estimator)
        estimator.initialize(X, y, **fit_params)
        rng = check_random_state(self.random_state)
        rows = self._subsample(X, y, sample_weight, rng)
        # Callbacks see three tasks: the check at init, the training (the
        # estimator's epochs below it) and the check after training; the
        # fitted attributes exist before the root task ends (a ScoringMonitor
        # predicts with them there).
        data = {"X": X, "y": y, "metadata": fit_params or None}
        reports = {}
        with fit_task(self, **data, max_subtasks=len(stages) + 1) as context:

            def check(stage):
                if stage in stages:
                    reports[stage] = run_task(
                        context,
                        f"check-{stage}",
                        self,
                        lambda: self._check(estimator, rows, stage, rng),
                        **data,
                    )

            check("init")
            run_task(
                context,
                "train",
                self,
                lambda: estimator.fit(X, y, **fit_params),
                propagate_to=estimator,
                **data,
            )
            check("fitted")
            self.estimator_ = estimator
            self.reports_ = reports
            self.report_ = reports[list(reports)[-1]] if reports else None
        self._on_failure(reports)
        return self

    # ------------------------------------------------------------- fit steps

    def _stages(self):
        stages = (self.check_at,) if isinstance(self.check_at, str) else self.check_at
        unknown = [stage for stage in stages if stage not in STAGES]
        if unknown:
            raise ValueError(
                f"check_at must hold stages among {STAGES}; got {unknown!r}."
            )
        return tuple(stages)

    def _subsample(self, X, y, sample_weight, rng):
        """At most ``max_samples`` rows with positive weight, in their order."""
        X, y = _indexable(X), _indexable(y)
        n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
        candidates = np.arange(n_samples)
        if sample_weight is not None:
            weights = np.broadcast_to(np.asarray(sample_weight, float), n_samples)
            candidates = np.flatnonzero(weights > 0)
        if self.max_samples is not None and candidates.size > self.max_samples:
            candidates = np.sort(
                rng.choice(candidates, self.max_samples, replace=False)
            )
        elif candidates.size == n_samples:
            return X, y, sample_weight
        weights = None
        if sample_weight is not None:
            weights = np.broadcast_to(np.asarray(sample_weight, float), n_samples)
            weights = weights[candidates]
        return _safe_indexing(X, candidates), _safe_indexing(y, candidates), weights

    def _check(self, estimator, rows, stage, rng):
        X, y, sample_weight = rows
        report = check_gradients(
            estimator,
            X,
            y,
            sample_weight=sample_weight,
            epsilon=_default_as_such(self.epsilon),
            method=self.method,
            mode=self.mode,
            n_entries=self.n_entries,
            n_directions=self.n_directions,
            detect=self.detect,
            pass_threshold=self.pass_threshold,
            fail_threshold=self.fail_threshold,
            noise_aware=self.noise_aware,
            dropout=self.dropout,
            fast=self.fast,
            random_state=rng,
        )
        report.stage = stage
        return report

    def _on_failure(self, reports):
        failed = {stage: r for stage, r in reports.items() if not r.passed}
        if not failed or self.on_failure == "ignore":
            return
        message = "; ".join(_describe(stage, r) for stage, r in failed.items())
        message = f"Gradient check failed {message}. See reports_ for the tables."
        if self.on_failure == "raise":
            raise GradientCheckError(message, report=next(iter(failed.values())))
        warnings.warn(message, GradientCheckWarning, stacklevel=3)

    # ------------------------------------------------------------- delegation

    def __sklearn_is_fitted__(self):
        return hasattr(self, "estimator_")

    @property
    def classes_(self):
        """The classes of the fitted classifier."""
        return self.estimator_.classes_

    @property
    def n_features_in_(self):
        """Number of features seen in ``fit``."""
        return self.estimator_.n_features_in_

    @property
    def feature_names_in_(self):
        """Names of the features seen in ``fit``."""
        return self.estimator_.feature_names_in_

    def predict(self, X):
        """Predict with the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray
            The estimator's predictions.
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from the fitted classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The estimator's probabilities.
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities from the fitted classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The estimator's log-probabilities.
        """
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(X)

    def score(self, X, y, sample_weight=None):
        """The fitted estimator's score (accuracy or R^2).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            ``estimator_.score(X, y, sample_weight)``.
        """
        check_is_fitted(self)
        return self.estimator_.score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.target_tags = copy.deepcopy(inner.target_tags)
        tags.input_tags = copy.deepcopy(inner.input_tags)
        tags.classifier_tags = copy.deepcopy(inner.classifier_tags)
        tags.regressor_tags = copy.deepcopy(inner.regressor_tags)
        tags.non_deterministic = inner.non_deterministic
        return tags


def _indexable(data):
    """Arrays, sparse matrices, DataFrames and sequences as they are; else an array."""
    if hasattr(data, "shape") or isinstance(data, (list, tuple)):
        return data
    return np.asarray(data)


def _describe(stage, report):
    row = report[report.worst_block] if report.worst_block else None
    where = ""
    if row is not None:
        where = f", worst block {row.name}"
        if row.worst_index is not None:
            where += (
                f" at {row.worst_index} (analytic {row.analytic:.6g} vs numeric "
                f"{row.numeric:.6g})"
            )
        if np.isfinite(row.ratio):
            where += f", analytic/numeric ratio {row.ratio:.4g}"
    return f"at {stage!r}: difference {report.difference:.2e}{where}"


def _default_as_such(epsilon):
    """1e-7, the default (a plain float, as scikit-learn's parameter rules
    want), as check_gradients' own default: each method takes its own step."""
    return DEFAULT_EPSILON if epsilon == DEFAULT_EPSILON else epsilon
