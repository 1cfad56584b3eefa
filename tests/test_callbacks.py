"""scikit-learn callbacks (``sklearn.callback``) on our estimators.

The references are scikit-learn's own: its StandardScaler callback test run
against InputNormalizer, its recording callbacks and ScoringMonitor, and models
trained for exactly k epochs without any callback.
"""

import warnings
from collections import Counter

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_dlsetup import (
    GradientChecker,
    InputNormalizer,
    MLPFromScratch,
    MLPFromScratchRegressor,
)

pytest.importorskip("sklearn.callback", reason="sklearn.callback: scikit-learn >= 1.9")

from sklearn.callback import ProgressBar, ScoringMonitor  # noqa: E402
from sklearn.callback.tests._utils import (  # noqa: E402
    RecordingAutoPropagatedCallback,
    RecordingCallback,
)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _quiet_fit(estimator, X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **params)


def _ended(callback, task_name=None):
    """The on_fit_task_end records, in order, optionally of one task name."""
    return [
        record
        for record in callback.record
        if record["name"] == "on_fit_task_end"
        and (task_name is None or record["context"].task_name == task_name)
    ]


def _tasks(callback):
    return Counter(
        (record["context"].estimator_name, record["context"].task_name)
        for record in _ended(callback)
    )


# ------------------------------------------------------------ InputNormalizer


@pytest.mark.parametrize("fit_method", ["fit", "partial_fit"])
def test_scikit_learn_standard_scaler_callback_test_passes(monkeypatch, fit_method):
    """scikit-learn's own StandardScaler callback test, with InputNormalizer."""
    test_data = pytest.importorskip("sklearn.preprocessing.tests.test_data")
    monkeypatch.setattr(test_data, "StandardScaler", InputNormalizer)
    test_data.test_standard_scaler_callback_support(fit_method)


def test_normalizer_reports_sample_weight():
    X = np.random.RandomState(0).randn(20, 3)
    weights = np.arange(1.0, 21.0)
    callback = RecordingCallback()
    InputNormalizer().set_callbacks(callback).fit(X, sample_weight=weights)
    (record,) = _ended(callback)
    assert_array_equal(record["kwargs"]["metadata"]["sample_weight"], weights)


# ------------------------------------------------------------------ MLPs


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_mlp_reports_one_task_per_iteration(iris, solver):
    X, y = iris
    callback = RecordingCallback()
    mlp = MLPFromScratch((8,), solver=solver, max_iter=7, random_state=0)
    _quiet_fit(mlp.set_callbacks(callback), X, y)
    assert mlp.n_iter_ == 7
    assert callback.count_hooks("setup") == callback.count_hooks("teardown") == 1
    # The root task and one per iteration; L-BFGS opens one more that never
    # runs (as LogisticRegression) and reports nothing at its end.
    extra = 1 if solver == "lbfgs" else 0
    n_tasks = 1 + mlp.n_iter_ + extra
    assert callback.count_hooks("on_fit_task_begin") == n_tasks
    assert callback.count_hooks("on_fit_task_end") == n_tasks
    root = callback.record[1]["context"]
    assert root.max_subtasks == 7 + extra
    name = "iteration" if solver == "lbfgs" else "epoch"
    reported = [r for r in _ended(callback, name) if r["kwargs"]["X"] is not None]
    assert len(reported) == mlp.n_iter_
    # Callbacks no longer hang on the estimator after fit.
    assert not hasattr(mlp, "_callback_fit_ctx")


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_epoch_fitted_estimator_predicts_as_a_model_trained_that_long(iris, solver):
    """Iteration k's fitted_estimator equals a model trained for k iterations."""
    X, y = iris
    callback = RecordingCallback()
    params = dict(solver=solver, max_iter=6, random_state=0, tol=0.0)
    _quiet_fit(MLPFromScratch((8,), **params).set_callbacks(callback), X, y)
    name = "iteration" if solver == "lbfgs" else "epoch"
    fitted = [r["kwargs"]["fitted_estimator"] for r in _ended(callback, name)]
    for k in (1, 3, 6):
        reference = _quiet_fit(MLPFromScratch((8,), **{**params, "max_iter": k}), X, y)
        assert_allclose(
            fitted[k - 1].predict_proba(X),
            reference.predict_proba(X),
            rtol=1e-10,
            atol=1e-12,
        )


def test_fitted_estimators_do_not_share_weights(iris):
    X, y = iris
    callback = RecordingCallback()
    mlp = MLPFromScratch((8,), max_iter=3, random_state=0).set_callbacks(callback)
    _quiet_fit(mlp, X, y)
    first, last = (
        r["kwargs"]["fitted_estimator"] for r in _ended(callback, "epoch")[::2]
    )
    assert not np.shares_memory(first.coefs_[0], mlp.coefs_[0])
    assert not np.allclose(first.coefs_[0], last.coefs_[0])
    assert_array_equal(last.coefs_[0], mlp.coefs_[0])


def test_scoring_monitor_scores_every_epoch(iris):
    X, y = iris
    monitor = ScoringMonitor(scoring="accuracy")
    mlp = MLPFromScratch((8,), max_iter=5, random_state=0, tol=0.0)
    _quiet_fit(mlp.set_callbacks(monitor), X, y)
    rows = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    assert [r["task_id"] for r in rows] == list(range(5))
    for k, row in enumerate(rows, start=1):
        reference = _quiet_fit(
            MLPFromScratch((8,), max_iter=k, random_state=0, tol=0.0), X, y
        )
        assert row["accuracy"] == accuracy_score(y, reference.predict(X))


def test_regressor_reports_epochs_with_its_score():
    X, y = make_regression(n_samples=60, n_features=4, random_state=0)
    monitor = ScoringMonitor(scoring="r2")
    reg = MLPFromScratchRegressor(hidden_layer_sizes=(8,), max_iter=4, random_state=0)
    _quiet_fit(reg.set_callbacks(monitor), X, y / y.std())
    rows = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    assert len(rows) == 4
    assert rows[-1]["r2"] == pytest.approx(reg.score(X, y / y.std()), rel=1e-12)


def test_partial_fit_reports_one_epoch_per_call(iris):
    X, y = iris
    callback = RecordingCallback()
    mlp = MLPFromScratch((8,), random_state=0).set_callbacks(callback)
    for _ in range(3):
        mlp.partial_fit(X, y, classes=np.unique(y))
    assert len(_ended(callback, "epoch")) == 3
    assert callback.count_hooks("setup") == 3


class _StopAfter(RecordingCallback):
    """Asks to stop at the end of the n-th iteration."""

    def __init__(self, n):
        super().__init__()
        self.n = n
        self.seen = 0

    def on_fit_task_end(self, estimator, context, **kwargs):
        super().on_fit_task_end(estimator, context, **kwargs)
        if context.parent is None:
            return False
        self.seen += 1
        return self.seen >= self.n


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_callback_can_stop_training(iris, solver):
    X, y = iris
    mlp = MLPFromScratch((8,), solver=solver, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # no "did not converge"
        mlp.set_callbacks(_StopAfter(3)).fit(X, y)
    assert mlp.n_iter_ == 3
    assert len(mlp.loss_curve_) == 3


def test_fit_without_callbacks_is_unchanged_by_having_had_them(iris):
    """Reporting reads the weights, never changes the computation."""
    X, y = iris
    plain = _quiet_fit(MLPFromScratch((8,), max_iter=5, random_state=0), X, y)
    watched = MLPFromScratch((8,), max_iter=5, random_state=0)
    _quiet_fit(watched.set_callbacks(ScoringMonitor(scoring="accuracy")), X, y)
    for W, W_watched in zip(plain.coefs_, watched.coefs_):
        assert_array_equal(W, W_watched)
    assert plain.loss_curve_ == watched.loss_curve_


def test_divergence_still_tears_callbacks_down():
    rng = np.random.RandomState(0)
    X = np.finfo(float).max * rng.uniform(size=(10, 2))
    callback = RecordingCallback()
    reg = MLPFromScratchRegressor(random_state=0).set_callbacks(callback)
    with pytest.raises(ValueError, match="non-finite"):
        reg.fit(X, rng.randn(10))
    assert callback.count_hooks("teardown") == 1
    assert not hasattr(reg, "_callback_fit_ctx")
    assert reg._skl_callbacks == [callback]


def test_rejected_partial_fit_still_tears_callbacks_down(iris):
    X, y = iris
    callback = RecordingCallback()
    mlp = MLPFromScratch((8,), random_state=0).set_callbacks(callback)
    mlp.partial_fit(X, y, classes=np.unique(y))
    with pytest.raises(ValueError):
        mlp.partial_fit(X[:, :2], y)
    assert callback.count_hooks("teardown") == 1


def test_set_callbacks_rejects_non_callbacks():
    with pytest.raises(TypeError, match="FitCallback protocol"):
        MLPFromScratch().set_callbacks(object())


# ------------------------------------------------ meta-estimators, checker


def test_pipeline_propagates_to_the_mlp_epochs(iris):
    X, y = iris
    callback = RecordingAutoPropagatedCallback()
    model = make_pipeline(
        InputNormalizer(), MLPFromScratch((8,), max_iter=4, random_state=0)
    )
    _quiet_fit(model.set_callbacks(callback), X, y)
    tasks = _tasks(callback)
    assert tasks[("MLPFromScratch", "epoch")] == 4
    assert tasks[("InputNormalizer", "fit")] == 1
    assert callback.count_hooks("setup") == 1  # set up once, by the Pipeline


def test_grid_search_propagates_to_every_fit(iris):
    X, y = iris
    callback = RecordingAutoPropagatedCallback()
    search = GridSearchCV(
        MLPFromScratch((8,), max_iter=3, random_state=0),
        {"alpha": [1e-4, 1e-2]},
        cv=2,
    )
    _quiet_fit(search.set_callbacks(callback), X, y)
    tasks = _tasks(callback)
    # 2 candidates x 2 folds, and the refit: 5 fits of 3 epochs.
    assert tasks[("MLPFromScratch", "fit")] == 5
    assert tasks[("MLPFromScratch", "epoch")] == 15


def test_gradient_checker_reports_check_training_check(iris):
    X, y = iris
    callback = RecordingAutoPropagatedCallback()
    checker = GradientChecker(MLPFromScratch((8,), max_iter=4, random_state=0))
    _quiet_fit(checker.set_callbacks(callback), X, y)
    # The training task is the estimator's own fit (scikit-learn merges the
    # two), named after the checker's task that it fills.
    names = [
        r["context"].source_task_name or r["context"].task_name
        for r in _ended(callback)
        if r["context"].parent is not None
        and r["context"].parent.estimator_name == "GradientChecker"
    ]
    assert names == ["check-init", "train", "check-fitted"]
    assert _tasks(callback)[("MLPFromScratch", "epoch")] == 4
    assert checker.reports_["fitted"].passed


def test_progress_bar_runs_through_a_fit(iris, capsys):
    pytest.importorskip("rich")
    X, y = iris
    mlp = MLPFromScratch((8,), max_iter=3, random_state=0)
    _quiet_fit(mlp.set_callbacks(ProgressBar()), X, y)
    assert "MLPFromScratch - fit" in capsys.readouterr().out


def test_scoring_monitor_on_a_gradient_checker(iris):
    """ScoringMonitor on a GradientChecker (its root task used to end before
    estimator_ existed, an AttributeError): the fit is scored as the fitted
    checker scores."""
    X, y = iris
    monitor = ScoringMonitor(scoring="accuracy")
    checker = GradientChecker(MLPFromScratch((8,), max_iter=3, random_state=0, tol=0))
    _quiet_fit(checker.set_callbacks(monitor), X, y)
    (row,) = monitor.get_logs().data
    assert row["estimator_name"] == "GradientChecker" and row["task_name"] == "fit"
    assert row["accuracy"] == accuracy_score(y, checker.predict(X))
    assert checker.estimator_.n_iter_ == 3


def _checked_pipeline(callback=None):
    checker = GradientChecker(MLPFromScratch((8,), max_iter=2, random_state=0, tol=0))
    if callback is not None:
        checker.set_callbacks(callback)
    return make_pipeline(InputNormalizer(), checker)


def _search(pipeline):
    return GridSearchCV(
        pipeline, {"gradientchecker__estimator__alpha": [1e-4, 1e-2]}, cv=2
    )


def test_scoring_monitor_on_a_checker_in_pipeline_and_grid_search(iris):
    """ScoringMonitor on a checker inside a Pipeline and a GridSearchCV: every
    fit runs to the end and is scored as the fitted checker scores."""
    X, y = iris
    monitor = ScoringMonitor(scoring="accuracy")
    pipeline = _quiet_fit(_checked_pipeline(monitor), X, y)
    search = _quiet_fit(_search(_checked_pipeline(monitor)), X, y)
    assert search.best_estimator_[-1].reports_["fitted"].passed
    pipeline_log, search_log = monitor.get_logs(select="all")
    assert [r["accuracy"] for r in pipeline_log.data] == [pipeline.score(X, y)]
    # 2 candidates x 2 folds, and the refit on all of X
    assert len(search_log.data) == 5
    refit_score = search.best_estimator_.score(X, y)
    assert refit_score in [r["accuracy"] for r in search_log.data]


def test_progress_bar_through_a_checker_in_pipeline_and_grid_search(iris, capsys):
    """ProgressBar (auto-propagated: set on the outermost estimator) follows a
    checker inside a Pipeline and a GridSearchCV: every fit runs to the end."""
    pytest.importorskip("rich")
    X, y = iris
    _quiet_fit(_checked_pipeline().set_callbacks(ProgressBar()), X, y)
    assert "GradientChecker - fit" in capsys.readouterr().out
    search = _search(_checked_pipeline()).set_callbacks(ProgressBar())
    _quiet_fit(search, X, y)
    out = capsys.readouterr().out  # the bar's default depth: the pipelines' fits
    assert out.count("Pipeline - fit #") == 5 and "refit-with-best-params" in out
    assert search.best_estimator_[-1].reports_["fitted"].passed
