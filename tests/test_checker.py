"""GradientChecker: checks in fit, failure policy, delegation, Pipeline and search."""

import warnings

import numpy as np
import pytest
from _toy_models import ToyNet
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sk_dlsetup import (
    GradientChecker,
    GradientCheckError,
    GradientCheckWarning,
    InputNormalizer,
    MLPFromScratch,
    MLPFromScratchRegressor,
)
from sk_dlsetup.neural_network._layout import pack

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def data():
    """60 rows of 4 features, three classes."""
    rng = np.random.RandomState(0)
    X = rng.randn(60, 4)
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)


def small_mlp(**params):
    """A quick MLPFromScratch."""
    return MLPFromScratch(hidden_layer_sizes=(6,), max_iter=60, **params)


class SpyMLP(MLPFromScratch):
    """Records the weights each objective was built at and fit started from."""

    def objective(self, X, y, sample_weight=None, **kwargs):
        objective = super().objective(X, y, sample_weight, **kwargs)
        self.__dict__.setdefault("spy_thetas", []).append(objective.theta0.copy())
        self.__dict__.setdefault("spy_rows", []).append(len(X))
        return objective

    def fit(self, X, y, sample_weight=None):
        self.__dict__["spy_start"] = pack(self.coefs_, self.intercepts_, dtype=float)
        return super().fit(X, y, sample_weight)


def test_gradient_checker_reports_init_and_fitted(data):
    """fit stores one passing report per stage, report_ being the last."""
    X, y = data
    checker = GradientChecker(small_mlp(random_state=0)).fit(X, y)
    assert list(checker.reports_) == ["init", "fitted"]
    assert checker.report_ is checker.reports_["fitted"]
    assert [r.stage for r in checker.reports_.values()] == ["init", "fitted"]
    assert all(r.verdict == "pass" for r in checker.reports_.values())
    assert "at 'fitted'" in str(checker.report_)


@pytest.mark.parametrize("random_state", [None, 3])
def test_gradient_checker_trains_from_the_checked_weights(random_state, data):
    """The init check sees exactly the weights training starts from."""
    X, y = data
    checker = GradientChecker(
        SpyMLP(hidden_layer_sizes=(5,), max_iter=20, random_state=random_state)
    )
    checker.fit(X, y)
    spy = checker.estimator_
    np.testing.assert_array_equal(spy.spy_thetas[0], spy.spy_start)
    assert not np.array_equal(spy.spy_thetas[1], spy.spy_start)  # trained after


def test_gradient_checker_matches_a_plain_fit(data):
    """With a fixed random_state, the checked model equals a plain fit."""
    X, y = data
    checker = GradientChecker(small_mlp(random_state=0)).fit(X, y)
    plain = small_mlp(random_state=0).fit(X, y)
    for W, W_plain in zip(checker.estimator_.coefs_, plain.coefs_):
        np.testing.assert_array_equal(W, W_plain)


def test_gradient_checker_checks_a_bounded_subsample(data):
    """Checks run on max_samples rows; all rows when max_samples is None."""
    X, y = data
    checker = GradientChecker(SpyMLP(max_iter=5, random_state=0), max_samples=10)
    checker.fit(X, y)
    assert checker.estimator_.spy_rows == [10, 10]
    checker.set_params(max_samples=None).fit(X, y)
    assert checker.estimator_.spy_rows == [60, 60]


def test_gradient_checker_subsample_skips_zero_weights(data):
    """Rows of zero weight are not drawn into the check sample."""
    X, y = data
    weights = np.r_[np.zeros(50), np.ones(10)]
    checker = GradientChecker(SpyMLP(max_iter=5, random_state=0), max_samples=20)
    checker.fit(X, y, sample_weight=weights)
    assert checker.estimator_.spy_rows == [10, 10]
    assert checker.report_.passed


def test_gradient_checker_on_failure_raise(data):
    """A planted bug raises GradientCheckError naming the block, reports_ kept."""
    X, y = data
    y = (y > 0).astype(int)
    checker = GradientChecker(ToyNet(bug="db1_4_over_m", random_state=0))
    with pytest.raises(GradientCheckError, match=r"worst block b1.*ratio 4") as info:
        checker.fit(X, y)
    assert info.value.report.stage == "init"
    assert checker.reports_["fitted"].verdict == "fail"


def test_gradient_checker_on_failure_warn_and_ignore(data):
    """'warn' warns with GradientCheckWarning; 'ignore' is silent."""
    X, y = data
    y = (y > 0).astype(int)
    buggy = ToyNet(bug="dW2_doubled", random_state=0)
    with pytest.warns(GradientCheckWarning, match="W2"):
        GradientChecker(buggy, on_failure="warn").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradientCheckWarning)
        checker = GradientChecker(buggy, on_failure="ignore").fit(X, y)
    assert not checker.report_.passed
    assert checker.predict(X).shape == (60,)


def test_gradient_checker_check_at(data):
    """check_at selects the stages; an empty one checks nothing."""
    X, y = data
    checker = GradientChecker(small_mlp(random_state=0), check_at=("fitted",))
    assert list(checker.fit(X, y).reports_) == ["fitted"]
    checker.set_params(check_at="init").fit(X, y)
    assert list(checker.reports_) == ["init"]
    checker.set_params(check_at=()).fit(X, y)
    assert checker.reports_ == {} and checker.report_ is None
    with pytest.raises(ValueError, match="check_at"):
        checker.set_params(check_at=("later",)).fit(X, y)


def test_gradient_checker_delegates(data):
    """predict, predict_proba, score, classes_ and n_features_in_ delegate."""
    X, y = data
    checker = GradientChecker(small_mlp(random_state=0))
    with pytest.raises(NotFittedError):
        checker.predict(X)
    assert not hasattr(checker, "classes_") and not hasattr(checker, "n_features_in_")
    checker.fit(X, y)
    inner = checker.estimator_
    np.testing.assert_array_equal(checker.predict(X), inner.predict(X))
    np.testing.assert_array_equal(checker.predict_proba(X), inner.predict_proba(X))
    np.testing.assert_array_equal(
        checker.predict_log_proba(X), inner.predict_log_proba(X)
    )
    assert checker.score(X, y) == inner.score(X, y)
    np.testing.assert_array_equal(checker.classes_, [0, 1, 2])
    assert checker.n_features_in_ == 4
    assert is_classifier(checker)


def test_gradient_checker_regressor(data):
    """A wrapped regressor is a regressor without predict_proba, float32 too."""
    X, _ = data
    y = X[:, 0] * X[:, 1]
    regressor = MLPFromScratchRegressor(
        hidden_layer_sizes=(6,), max_iter=50, random_state=0
    )
    checker = GradientChecker(regressor).fit(X.astype(np.float32), y)
    assert is_regressor(checker) and not hasattr(checker, "predict_proba")
    assert checker.estimator_.coefs_[0].dtype == np.float32
    assert all(r.passed for r in checker.reports_.values())


def test_gradient_checker_needs_the_objective_protocol(data):
    """A plain scikit-learn estimator is refused, naming the missing methods."""
    X, y = data
    with pytest.raises(
        TypeError, match="LogisticRegression has no initialize or objective"
    ):
        GradientChecker(LogisticRegression()).fit(X, y)


def test_gradient_checker_validates_parameters(data):
    """epsilon <= 0 and unknown options are ValueErrors."""
    X, y = data
    for params in ({"epsilon": 0.0}, {"on_failure": "shout"}, {"max_samples": 0}):
        with pytest.raises(ValueError):
            GradientChecker(small_mlp(), **params).fit(X, y)


def test_gradient_checker_in_pipeline_and_grid_search(data):
    """Last step of a Pipeline, searched over the wrapped estimator's init."""
    X, y = data
    pipeline = make_pipeline(
        InputNormalizer(), GradientChecker(small_mlp(random_state=0))
    )
    search = GridSearchCV(
        pipeline,
        {"gradientchecker__estimator__init": ["he", "xavier"]},
        cv=2,
        n_jobs=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert search.best_params_["gradientchecker__estimator__init"] in {"he", "xavier"}
    checker = search.best_estimator_[-1]
    assert all(r.passed for r in checker.reports_.values())
    assert clone(checker).get_params()["estimator__init"] == checker.estimator.init
