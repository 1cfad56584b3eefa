"""Sparse X (CSR / CSC): the same network and numbers as dense X, never densified."""

import tracemalloc
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.pipeline import make_pipeline

from sk_dlsetup import (
    GradientChecker,
    InputNormalizer,
    MLPFromScratch,
    MLPFromScratchRegressor,
    check_gradients,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def sparse_data():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 30) * (rng.rand(120, 30) < 0.2)
    return X, rng.randint(0, 3, 120), X @ rng.randn(30)


def _params(model):
    return np.concatenate([W.ravel() for W in model.coefs_ + model.intercepts_])


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize(
    "solver, dropout", [("sgd", 0.0), ("sgd", 0.3), ("adam", 0.0), ("lbfgs", 0.0)]
)
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_sparse_fit_equals_dense_fit(sparse_data, fmt, solver, dropout, task):
    """Every solver, with dropout too: the dense fit's weights and outputs."""
    X, y_class, y_real = sparse_data
    Estimator, y = (
        (MLPFromScratch, y_class) if task == "classification"
        else (MLPFromScratchRegressor, y_real)
    )  # fmt: skip
    params = dict(
        hidden_layer_sizes=(7,), solver=solver, dropout=dropout, max_iter=4,
        random_state=0,
    )  # fmt: skip
    dense = Estimator(**params).fit(X, y)
    sparse_model = Estimator(**params).fit(sparse.csr_matrix(X).asformat(fmt), y)
    assert_allclose(_params(sparse_model), _params(dense), rtol=1e-10, atol=1e-13)
    output = "predict_proba" if task == "classification" else "predict"
    assert_allclose(
        getattr(sparse_model, output)(sparse.csc_matrix(X)),
        getattr(dense, output)(X),
        rtol=1e-10,
        atol=1e-13,
    )


def test_sparse_partial_fit_and_objective(sparse_data):
    """partial_fit and objective(): equal to dense to floating-point accuracy."""
    X, y, _ = sparse_data
    Xs = sparse.csr_matrix(X)
    dense = MLPFromScratch((6,), random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    model = MLPFromScratch((6,), random_state=0).partial_fit(Xs, y, classes=[0, 1, 2])
    assert_allclose(_params(model), _params(dense), rtol=1e-10, atol=1e-13)
    ours, reference = model.objective(Xs, y), dense.objective(X, y)
    theta = reference.theta0
    assert ours.loss(theta) == pytest.approx(reference.loss(theta), rel=1e-13)
    assert_allclose(
        ours.gradient(theta), reference.gradient(theta), rtol=1e-11, atol=1e-15
    )


def test_sparse_gradient_checks(sparse_data):
    """check_gradients and GradientChecker on sparse X pass, as on dense X."""
    X, y, _ = sparse_data
    Xs = sparse.csr_matrix(X)
    model = MLPFromScratch((6,), activation="tanh", random_state=0).initialize(X, y)
    report = check_gradients(model, Xs, y)
    assert report.verdict == "pass" and report.engine == "mlp-fast"
    assert report.difference == pytest.approx(
        check_gradients(model, X, y).difference, abs=1e-12
    )
    checker = GradientChecker(MLPFromScratch((6,), max_iter=3, random_state=0)).fit(
        Xs, y
    )
    assert all(r.verdict == "pass" for r in checker.reports_.values())


def test_sparse_gradient_check_of_a_large_x_stays_sparse(monkeypatch, sparse_data):
    """A sparse X too large to densify is checked with plain evaluations."""
    from sk_dlsetup.gradcheck import _engines

    monkeypatch.setattr(_engines, "DENSE_LIMIT_BYTES", 100)
    X, y, _ = sparse_data
    model = MLPFromScratch((4,), random_state=0).initialize(X, y)
    report = check_gradients(model, sparse.csr_matrix(X), y)
    assert report.engine == "plain" and report.verdict == "pass"
    assert any("too large to densify" in note for note in report.notes)


def test_sparse_training_never_densifies_x():
    """20,000 x 20,000 at density 1e-3 (3.2 GB dense): peak memory a few MB."""
    rng = np.random.RandomState(0)
    n, per_row = 20_000, 20  # density 1e-3, built directly (sparse.random is slow)
    X = sparse.csr_matrix(
        (
            rng.randn(n * per_row),
            rng.randint(0, n, n * per_row),
            np.arange(0, n * per_row + 1, per_row),
        ),
        shape=(n, n),
    )
    y = rng.randint(0, 2, n)
    model = MLPFromScratch((8,), max_iter=1, random_state=0)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        model.predict_proba(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    dense_bytes = 8 * X.shape[0] * X.shape[1]
    assert peak < 30 * 2**20 < dense_bytes / 100, peak


def test_text_pipeline_with_hashing_vectorizer():
    """A HashingVectorizer pipeline (sparse features) trains and predicts."""
    texts = [f"good great fine {i}" for i in range(30)] + [
        f"bad awful poor {i}" for i in range(30)
    ]
    labels = np.repeat(["pos", "neg"], 30)
    pipe = make_pipeline(
        HashingVectorizer(n_features=2**12),
        InputNormalizer(with_mean=False),
        MLPFromScratch((8,), max_iter=50, random_state=0),
    ).fit(texts, labels)
    assert pipe.score(texts, labels) == 1.0
    assert list(pipe.predict(["great fine good", "awful poor bad"])) == ["pos", "neg"]
