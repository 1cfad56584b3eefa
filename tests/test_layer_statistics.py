"""layer_statistics against independent references (numpy, scikit-learn)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import expit, softmax
from sklearn import config_context
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.pipeline import make_pipeline

from sk_dlsetup import InputNormalizer, MLPFromScratch, MLPFromScratchRegressor
from sk_dlsetup.diagnostics import layer_statistics

HIDDEN = (7, 5, 3)
NUMPY_ACTIVATIONS = {
    "identity": lambda Z: Z,
    "relu": lambda Z: np.maximum(Z, 0),
    "tanh": np.tanh,
    "logistic": expit,
}
OUTPUTS = {
    "binary": expit,
    "multilabel": expit,
    "multiclass": lambda Z: softmax(Z, axis=1),
    "regression": lambda Z: Z,
}
STAT_KEYS = (
    "preactivation_mean",
    "preactivation_std",
    "activation_mean",
    "activation_std",
    "dead_fraction",
)


def _model(task, **params):
    params = {"hidden_layer_sizes": HIDDEN, "random_state": 0, **params}
    if task == "regression":
        return MLPFromScratchRegressor(**params)
    return MLPFromScratch(**params)


def _numpy_forward(X, coefs, intercepts, activation, output):
    """``(Z[l], A[l])`` for l = 1..L, written out with plain numpy."""
    layers, A = [], X
    for layer, (W, b) in enumerate(zip(coefs, intercepts)):
        Z = A @ W + b
        last = layer == len(coefs) - 1
        A = output(Z) if last else NUMPY_ACTIVATIONS[activation](Z)
        layers.append((Z, A))
    return layers


def _fitted(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


# ---------------------------------------------------------------- layer_statistics


@pytest.mark.parametrize("activation", sorted(NUMPY_ACTIVATIONS))
@pytest.mark.parametrize("task", sorted(OUTPUTS))
def test_layer_statistics_matches_numpy_forward(request, task, activation):
    """Means and stds over samples x units equal a hand-written forward pass."""
    X, y = request.getfixturevalue(f"{task}_data")
    model = _model(task, activation=activation, init="xavier").initialize(X, y)
    stats = layer_statistics(model, X)
    layers = _numpy_forward(
        X, model.coefs_, model.intercepts_, activation, OUTPUTS[task]
    )
    assert [row["layer"] for row in stats] == [1, 2, 3, 4]
    assert [row["units"] for row in stats] == [W.shape[1] for W in model.coefs_]
    for row, (Z, A) in zip(stats, layers):
        assert_allclose(row["preactivation_mean"], Z.mean(), rtol=1e-10, atol=1e-14)
        assert_allclose(row["preactivation_std"], Z.std(), rtol=1e-10)
        assert_allclose(row["activation_mean"], A.mean(), rtol=1e-10, atol=1e-14)
        assert_allclose(row["activation_std"], A.std(), rtol=1e-10, atol=1e-14)
        dead = np.mean(np.all(A == 0, axis=0))
        assert row["dead_fraction"] == dead
        assert "dW_norm" not in row and "db_norm" not in row


def test_layer_statistics_on_a_fitted_model(multiclass_data):
    """After training the statistics describe the trained weights."""
    X, y = multiclass_data
    model = _fitted(_model("multiclass", max_iter=30), X, y)
    layers = _numpy_forward(
        X, model.coefs_, model.intercepts_, "relu", OUTPUTS["multiclass"]
    )
    stats = layer_statistics(model, X)
    assert_allclose(
        [row["activation_std"] for row in stats], [A.std() for _, A in layers]
    )


def test_layer_statistics_dead_fraction_hand_built():
    """Units that are 0 for every sample count as dead; others do not."""
    X = np.array([[1.0, 2.0], [3.0, 0.5], [0.0, 1.0]])  # non-negative inputs
    y = np.array([0, 1, 0])
    model = MLPFromScratch(hidden_layer_sizes=(4, 2), random_state=0)
    model.initialize(X, y)
    # Layer 1: units 0 and 2 have negative weights only -> always 0 under relu;
    # unit 1 is positive for every sample; unit 3 is 0 for sample 3 only (alive).
    model.coefs_[0][...] = [[-1.0, 1.0, -2.0, 1.0], [-1.0, 1.0, -0.5, -1.5]]
    model.intercepts_[0][...] = [0.0, 0.0, 0.0, 0.0]
    # Layer 2: unit 0 reads only dead units with a negative bias -> dead.
    model.coefs_[1][...] = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
    model.intercepts_[1][...] = [-0.1, 0.0]
    stats = layer_statistics(model, X)
    assert stats[0]["dead_fraction"] == 0.5
    assert stats[1]["dead_fraction"] == 0.5
    assert stats[2]["dead_fraction"] == 0.0  # logistic output is never exactly 0


@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_layer_statistics_gradient_norms_match_sklearn_backprop(
    request, sklearn_twin, sklearn_backprop, task, alpha
):
    """dW_norm / db_norm equal the norms of scikit-learn's _backprop gradient."""
    X, y = request.getfixturevalue(f"{task}_data")
    model = _model(task, activation="tanh", alpha=alpha).initialize(X, y)
    twin = sklearn_twin(model, X, y)
    _, coef_grads, intercept_grads = sklearn_backprop(twin, X, y)
    stats = layer_statistics(model, X, y)
    assert_allclose(
        [row["dW_norm"] for row in stats],
        [np.linalg.norm(g) for g in coef_grads],
        rtol=1e-10,
    )
    assert_allclose(
        [row["db_norm"] for row in stats],
        [np.linalg.norm(g) for g in intercept_grads],
        rtol=1e-10,
    )


def test_layer_statistics_multioutput_gradient_is_the_true_one(
    multioutput_data, sklearn_twin, sklearn_backprop
):
    """For 3 outputs scikit-learn's gradient is 3 times ours (its issue #8349)."""
    X, Y = multioutput_data
    model = _model("regression", alpha=0.0).initialize(X, Y)
    twin = sklearn_twin(model, X, Y)
    _, coef_grads, intercept_grads = sklearn_backprop(twin, X, Y)
    stats = layer_statistics(model, X, Y)
    assert_allclose(
        [3 * row["dW_norm"] for row in stats],
        [np.linalg.norm(g) for g in coef_grads],
        rtol=1e-10,
    )
    assert_allclose(
        [3 * row["db_norm"] for row in stats],
        [np.linalg.norm(g) for g in intercept_grads],
        rtol=1e-10,
    )


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression"])
def test_layer_statistics_chunked_equals_unchunked(request, task):
    """A tiny working_memory (many chunks) gives the same numbers as one chunk."""
    X, y = request.getfixturevalue(f"{task}_data")
    model = _model(task, alpha=0.1).initialize(X, y)
    whole = layer_statistics(model, X, y)
    with config_context(working_memory=1e-4):  # ~100 bytes: a few rows per chunk
        chunked = layer_statistics(model, X, y)
    assert len(whole) == len(chunked)
    for full_row, chunk_row in zip(whole, chunked):
        assert full_row.keys() == chunk_row.keys()
        for key in full_row:
            assert_allclose(chunk_row[key], full_row[key], rtol=1e-12, atol=1e-15)


def test_layer_statistics_through_a_pipeline(binary_data):
    """A fitted Pipeline: X goes through the earlier steps first."""
    X, y = binary_data
    X_raw = X * [1.0, 10.0, 100.0, 1e3, 1e4] + 5.0
    pipe = _fitted(
        make_pipeline(InputNormalizer(), _model("binary", max_iter=5)), X_raw, y
    )
    direct = layer_statistics(pipe[-1], pipe[0].transform(X_raw), y)
    through = layer_statistics(pipe, X_raw, y)
    assert direct == through


def test_layer_statistics_float32_model(binary_data):
    """A float32 model is evaluated in float32: close to its float64 twin."""
    X, y = binary_data
    model32 = _model("binary").initialize(X.astype(np.float32), y)
    model64 = _model("binary").initialize(X, y)
    assert model32.coefs_[0].dtype == np.float32
    for row32, row64 in zip(
        layer_statistics(model32, X, y), layer_statistics(model64, X, y)
    ):
        for key in row64:
            assert_allclose(row32[key], row64[key], rtol=1e-4, atol=1e-6)


def test_layer_statistics_shows_vanishing_and_exploding_signals():
    """'random' shrinks the signal with depth, a 1.5 x identity init grows it."""
    X = np.random.RandomState(0).standard_normal((200, 20))
    y = (X[:, 0] > 0).astype(int)

    def growth(init):
        net = MLPFromScratch([20] * 12, activation="identity", init=init)
        stats = layer_statistics(net.set_params(random_state=0).initialize(X, y), X)
        return stats[10]["activation_std"] / stats[0]["activation_std"]

    assert growth("random") < 1e-8
    assert 0.1 < growth("xavier") < 10
    assert growth(lambda fan_in, fan_out, rng: 1.5 * np.eye(fan_in, fan_out)) > 1e1


def test_layer_statistics_unfitted_raises(binary_data):
    """An estimator without weights (or an unfitted Pipeline) is NotFittedError."""
    X, y = binary_data
    with pytest.raises(NotFittedError):
        layer_statistics(MLPFromScratch(), X)
    with pytest.raises(NotFittedError):
        layer_statistics(make_pipeline(InputNormalizer(), MLPFromScratch()), X)


def test_layer_statistics_wrong_number_of_features_raises(binary_data):
    """X with a different number of columns than the network's input is rejected."""
    X, y = binary_data
    model = _model("binary").initialize(X, y)
    with pytest.raises(ValueError, match="X has 4 features, but MLPFromScratch"):
        layer_statistics(model, X[:, :4])


def test_layer_statistics_unseen_class_raises(binary_data):
    """y with a class the network was not initialized with is rejected."""
    X, y = binary_data
    model = _model("binary").initialize(X, y)
    with pytest.raises(ValueError, match="classes not in"):
        layer_statistics(model, X, y + 5)
