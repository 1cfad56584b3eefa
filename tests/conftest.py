"""Seeded fixtures shared by the test modules: small datasets for every task.

Every fixture builds its data afresh from a fixed seed, so a test may modify
what it receives without affecting any other test.
"""

import warnings

import numpy as np
import pytest
from _versions import SKLEARN_1_7, skip_unless_sklearn_1_7
from sklearn.base import is_classifier
from sklearn.datasets import (
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

N_SAMPLES = 48
N_FEATURES = 5


def _standardize(X):
    return (X - X.mean(axis=0)) / X.std(axis=0)


def _binary():
    X, y = make_classification(
        N_SAMPLES, N_FEATURES, n_informative=3, n_redundant=0, random_state=0
    )
    return _standardize(X), y


def _multiclass():
    X, y = make_classification(
        N_SAMPLES,
        N_FEATURES,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        n_clusters_per_class=1,
        random_state=1,
    )
    return _standardize(X), y


def _multilabel():
    X, Y = make_multilabel_classification(
        N_SAMPLES, N_FEATURES, n_classes=3, allow_unlabeled=True, random_state=2
    )
    return _standardize(X.astype(np.float64)), Y


def _regression():
    X, y = make_regression(N_SAMPLES, N_FEATURES, noise=0.1, random_state=3)
    return _standardize(X), y / y.std()


def _multioutput_regression():
    X, Y = make_regression(
        N_SAMPLES, N_FEATURES, n_targets=3, noise=0.1, random_state=4
    )
    return _standardize(X), Y / Y.std(axis=0)


DATASETS = {
    "binary": _binary,
    "multiclass": _multiclass,
    "multilabel": _multilabel,
    "regression": _regression,
    "multioutput": _multioutput_regression,
}
"""Task name -> function returning a fresh ``(X, y)``, X standardized."""

CLASSIFICATION_TASKS = ("binary", "multiclass", "multilabel")
REGRESSION_TASKS = ("regression", "multioutput")


@pytest.fixture
def binary_data():
    """Two classes, 48 x 5."""
    return _binary()


@pytest.fixture
def multiclass_data():
    """Three classes, 48 x 5."""
    return _multiclass()


@pytest.fixture
def multilabel_data():
    """Three labels (indicator matrix), 48 x 5."""
    return _multilabel()


@pytest.fixture
def regression_data():
    """One real target, 48 x 5."""
    return _regression()


@pytest.fixture
def multioutput_data():
    """Three real targets, 48 x 5."""
    return _multioutput_regression()


@pytest.fixture
def rng():
    """A seeded RandomState for test-local random numbers."""
    return np.random.RandomState(0)


def _sklearn_twin(model, X, y):
    """scikit-learn MLP with ``model``'s architecture, activation, alpha and weights.

    The twin is fitted for one epoch to build its bookkeeping (classes, output
    activation, layer count), then its weights are overwritten with float64
    copies of ``model``'s.
    """
    estimator = MLPClassifier if is_classifier(model) else MLPRegressor
    loss = {}
    if not is_classifier(model):
        if SKLEARN_1_7:
            loss = {"loss": model.loss}
        elif model.loss != "squared_error":
            skip_unless_sklearn_1_7(f"MLPRegressor(loss={model.loss!r})")
    twin = estimator(
        hidden_layer_sizes=model.hidden_layer_sizes,
        activation=model.activation,
        alpha=model.alpha,
        max_iter=1,
        random_state=0,
        **loss,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        twin.fit(X, y)
    twin.coefs_ = [np.array(W, dtype=np.float64) for W in model.coefs_]
    twin.intercepts_ = [np.array(b, dtype=np.float64) for b in model.intercepts_]
    return twin


def _sklearn_backprop(twin, X, y, sample_weight=None):
    """scikit-learn's own ``(loss, coef_grads, intercept_grads)`` at its weights."""
    if hasattr(twin, "_label_binarizer"):
        Y = twin._label_binarizer.transform(y).astype(bool)
    else:
        Y = np.asarray(y, dtype=np.float64).reshape(len(X), -1)
    n_layers = twin.n_layers_
    activations = [X] + [None] * (n_layers - 1)
    deltas = [None] * (n_layers - 1)
    coef_grads = [np.empty_like(W) for W in twin.coefs_]
    intercept_grads = [np.empty_like(b) for b in twin.intercepts_]
    if not SKLEARN_1_7:
        if sample_weight is not None:
            skip_unless_sklearn_1_7("sample_weight in MLP._backprop")
        return twin._backprop(X, Y, activations, deltas, coef_grads, intercept_grads)
    return twin._backprop(
        X, Y, sample_weight, activations, deltas, coef_grads, intercept_grads
    )


@pytest.fixture
def sklearn_twin():
    """Builds a scikit-learn MLP carrying a given model's weights."""
    return _sklearn_twin


@pytest.fixture
def sklearn_backprop():
    """Runs scikit-learn's private ``_backprop`` on a twin."""
    return _sklearn_backprop


def _relative_error(actual, desired):
    """``||actual - desired|| / ||desired||`` (absolute when ``desired`` is 0)."""
    actual, desired = np.asarray(actual), np.asarray(desired)
    scale = np.linalg.norm(desired)
    diff = np.linalg.norm(actual - desired)
    return diff / scale if scale else diff


@pytest.fixture
def rel_error():
    """The norm-relative error helper."""
    return _relative_error


@pytest.fixture
def global_random_seed():
    """scikit-learn's test seed fixture (its default value), for its ported tests."""
    return 42
