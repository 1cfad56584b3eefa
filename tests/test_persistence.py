"""Determinism and persistence: same seed, same bits; pickle, joblib and skops."""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sk_dlsetup import InputNormalizer, MLPFromScratch, MLPFromScratchRegressor


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400], y[:400]


def _fitted_estimators(X, y):
    """One fitted instance of every public estimator (and a pipeline)."""
    X_reg, y_reg = make_regression(120, 6, n_targets=2, random_state=0)
    return {
        "normalizer": (InputNormalizer().fit(X), X),
        "adam": (
            MLPFromScratch((16,), max_iter=5, random_state=0).fit(X / 16, y),
            X / 16,
        ),
        "lbfgs-dropout-free": (
            MLPFromScratch((8,), solver="lbfgs", max_iter=20, random_state=0).fit(
                X / 16, y
            ),
            X / 16,
        ),
        "regressor": (
            MLPFromScratchRegressor(
                hidden_layer_sizes=(8,), max_iter=5, dropout=0.2, random_state=0
            ).fit(X_reg, y_reg),
            X_reg,
        ),
        "pipeline": (
            make_pipeline(
                InputNormalizer(), MLPFromScratch((8,), max_iter=5, random_state=0)
            ).fit(X, y),
            X,
        ),
    }


def _output(estimator, X):
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    if hasattr(estimator, "transform"):
        return estimator.transform(X)
    return estimator.predict(X)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_estimators_round_trip_gives_identical_outputs(digits, tmp_path, dump):
    """pickle / joblib round-trips of fitted estimators reproduce outputs exactly."""
    for name, (estimator, X) in _fitted_estimators(*digits).items():
        if dump == "pickle":
            restored = pickle.loads(pickle.dumps(estimator))
        else:
            path = tmp_path / f"{name}.joblib"
            joblib.dump(estimator, path)
            restored = joblib.load(path)
        np.testing.assert_array_equal(_output(restored, X), _output(estimator, X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_restored_model_keeps_training(digits):
    """A pickled MLP resumes partial_fit exactly like the original."""
    X, y = digits
    model = MLPFromScratch((16,), random_state=0).partial_fit(
        X / 16, y, classes=np.unique(y)
    )
    restored = pickle.loads(pickle.dumps(model))
    model.partial_fit(X / 16, y)
    restored.partial_fit(X / 16, y)
    for W, W_restored in zip(model.coefs_, restored.coefs_):
        np.testing.assert_array_equal(W, W_restored)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_skops_round_trip_with_trusted_types(digits, tmp_path):
    """skops.io loads a fitted pipeline once its (listed) types are trusted."""
    sio = pytest.importorskip("skops.io")
    X, y = digits
    model = make_pipeline(
        InputNormalizer(), MLPFromScratch((8,), max_iter=5, random_state=0)
    ).fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert "sk_dlsetup.neural_network._classifier.MLPFromScratch" in untrusted
    assert "sk_dlsetup.preprocessing._normalizer.InputNormalizer" in untrusted
    restored = sio.load(path, trusted=untrusted)
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_same_random_state_gives_bit_identical_models(digits, dropout):
    """Two fits with the same random_state agree bit for bit (weights, outputs)."""
    X, y = digits
    model = MLPFromScratch((16,), max_iter=3, dropout=dropout, random_state=42)
    first = clone(model).fit(X / 16, y)
    second = clone(model).fit(X / 16, y)
    for W1, W2 in zip(
        first.coefs_ + first.intercepts_, second.coefs_ + second.intercepts_
    ):
        np.testing.assert_array_equal(W1, W2)
    assert first.loss_curve_ == second.loss_curve_
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_results_do_not_depend_on_n_jobs(digits):
    """GridSearchCV over init schemes gives the same log-losses with 1 or 2 workers.

    A worker runs its BLAS on fewer threads, which may sum in another order, so the
    scores agree to round-off (a continuous score, so a difference would show).
    """
    X, y = digits
    pipe = make_pipeline(
        InputNormalizer(), MLPFromScratch((16,), max_iter=5, random_state=0)
    )
    grid = {"mlpfromscratch__init": ["he", "xavier", "random"]}
    scores = []
    for n_jobs in (1, 2):
        search = GridSearchCV(pipe, grid, cv=3, n_jobs=n_jobs, scoring="neg_log_loss")
        search.fit(X, y)
        scores.append([search.cv_results_[f"split{k}_test_score"] for k in range(3)])
    np.testing.assert_allclose(scores[1], scores[0], rtol=1e-9)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_checked_pipeline_round_trip_and_bit_identical_reports(digits, tmp_path):
    """A Pipeline ending in GradientChecker pickles; refits give identical reports."""
    from sk_dlsetup import GradientChecker

    X, y = digits
    pipe = make_pipeline(
        InputNormalizer(),
        GradientChecker(MLPFromScratch((8,), max_iter=5, random_state=0)),
    )
    first = clone(pipe).fit(X, y)
    second = clone(pipe).fit(X, y)
    checker, again = first[-1], second[-1]
    # repr: floats in shortest round-trip form (equal reprs = equal bits), and
    # NaN (a kink-free block's one-sided re-check) equal to itself.
    for stage in ("init", "fitted"):
        assert repr(checker.reports_[stage].to_dict()) == repr(
            again.reports_[stage].to_dict()
        )
    path = tmp_path / "checked.joblib"
    joblib.dump(first, path)
    restored = joblib.load(path)
    np.testing.assert_array_equal(restored.predict_proba(X), first.predict_proba(X))
    assert repr(restored[-1].report_.to_dict()) == repr(checker.report_.to_dict())
