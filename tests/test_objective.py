"""The objective protocol: scikit-learn's loss and gradients, check_grad, minimize."""

import numpy as np
import pytest
import scipy.optimize
from _versions import check_grad_random
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError

from sk_dlsetup import MLPFromScratch, MLPFromScratchRegressor

ACTIVATION_NAMES = ["identity", "relu", "tanh", "logistic"]
TASKS = ["binary", "multiclass", "multilabel", "regression"]
HIDDEN = (6, 4)


def _model(task, **params):
    regression = task in ("regression", "multioutput")
    estimator = MLPFromScratchRegressor if regression else MLPFromScratch
    return estimator(hidden_layer_sizes=HIDDEN, random_state=0, **params)


def _initialized(request, task, rng, **params):
    """Data and an initialized model whose biases are moved off zero."""
    X, y = request.getfixturevalue(f"{task}_data")
    model = _model(task, **params).initialize(X, y)
    for b in model.intercepts_:
        b[...] = rng.uniform(-0.5, 0.5, size=b.shape)
    return X, y, model


def _blocks(obj, vector):
    return [vector[sl].reshape(shape) for _, sl, shape in obj.blocks]


def _central_difference(f, theta, h=1e-6):
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = h
        numeric[i] = (f(theta + step) - f(theta - step)) / (2 * h)
    return numeric


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_objective_matches_sklearn_backprop(
    request, activation, task, weighted, rng, sklearn_twin, sklearn_backprop, rel_error
):
    """For the same weights J and dJ/dtheta equal scikit-learn's _backprop (1e-12)."""
    X, y, model = _initialized(request, task, rng, activation=activation, alpha=0.3)
    sw = rng.uniform(0, 2, size=len(X)) if weighted else None
    twin = sklearn_twin(model, X, y)
    expected_loss, expected_dW, expected_db = sklearn_backprop(twin, X, y, sw)

    obj = model.objective(X, y, sample_weight=sw)
    assert_allclose(obj.loss(obj.theta0), expected_loss, rtol=1e-12)
    grads = _blocks(obj, obj.gradient(obj.theta0))
    expected = [g for pair in zip(expected_dW, expected_db) for g in pair]
    for (name, _, _), ours, theirs in zip(obj.blocks, grads, expected):
        assert rel_error(ours, theirs) < 1e-12, name


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_objective_predictions_match_sklearn(
    request, activation, task, rng, sklearn_twin
):
    """For the same weights predict_proba / predict equal scikit-learn's (1e-12)."""
    X, y, model = _initialized(request, task, rng, activation=activation, alpha=0.3)
    twin = sklearn_twin(model, X, y)
    if task == "regression":
        assert_allclose(model.predict(X), twin.predict(X), rtol=1e-12, atol=1e-14)
    else:
        assert_allclose(model.predict_proba(X), twin.predict_proba(X), rtol=1e-12)
        assert_array_equal(model.predict(X), twin.predict(X))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_objective_multioutput_loss_matches_sklearn(
    multioutput_data, weighted, rng, sklearn_twin, sklearn_backprop
):
    """Multi-output squared error: J equals scikit-learn's loss (mean over outputs)."""
    X, y = multioutput_data
    model = _model("multioutput", activation="tanh", alpha=0.3).initialize(X, y)
    sw = rng.uniform(0, 2, size=len(X)) if weighted else None
    expected_loss, _, _ = sklearn_backprop(sklearn_twin(model, X, y), X, y, sw)
    obj = model.objective(X, y, sample_weight=sw)
    assert_allclose(obj.loss(obj.theta0), expected_loss, rtol=1e-12)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_objective_multioutput_gradient_is_true_gradient(
    request, weighted, rng, rel_error
):
    """Multi-output squared error: our gradient equals a central difference of J."""
    X, y, model = _initialized(
        request, "multioutput", rng, activation="tanh", alpha=0.3
    )
    sw = rng.uniform(0, 2, size=len(X)) if weighted else None
    obj = model.objective(X, y, sample_weight=sw)
    numeric = _central_difference(obj.loss, obj.theta0)
    assert rel_error(obj.gradient(obj.theta0), numeric) < 1e-7


def test_objective_multioutput_sklearn_gradient_is_n_outputs_times_ours(
    request, rng, sklearn_twin, sklearn_backprop, rel_error
):
    """scikit-learn's squared-error data gradient is n_outputs x ours (its #8349)."""
    X, y, model = _initialized(request, "multioutput", rng, activation="relu", alpha=0)
    n_outputs = y.shape[1]
    assert n_outputs == 3
    _, expected_dW, expected_db = sklearn_backprop(sklearn_twin(model, X, y), X, y)
    obj = model.objective(X, y)
    grads = _blocks(obj, obj.gradient(obj.theta0))
    expected = [g for pair in zip(expected_dW, expected_db) for g in pair]
    for ours, theirs in zip(grads, expected):
        assert rel_error(n_outputs * ours, theirs) < 1e-12


@pytest.mark.parametrize("task", [*TASKS, "multioutput"])
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_objective_passes_scipy_check_grad(request, activation, task, rng):
    """check_grad (all coordinates and a random direction) is tiny vs ||gradient||."""
    X, y, model = _initialized(request, task, rng, activation=activation, alpha=0.3)
    obj = model.objective(X, y)
    grad_norm = np.linalg.norm(obj.gradient(obj.theta0))
    error = scipy.optimize.check_grad(obj.loss, obj.gradient, obj.theta0)
    assert error / grad_norm < 1e-5
    error = scipy.optimize.check_grad(
        obj.loss, obj.gradient, obj.theta0, direction="random", **check_grad_random(0)
    )
    assert error / grad_norm < 1e-5


def test_objective_minimize_works_as_is(multiclass_data):
    """scipy.optimize.minimize(obj.loss, theta0, jac=obj.gradient) lowers J."""
    X, y = multiclass_data
    model = _model("multiclass", activation="tanh", alpha=0.1).initialize(X, y)
    obj = model.objective(X, y)
    start_loss = obj.loss(obj.theta0)
    start_grad_norm = np.linalg.norm(obj.gradient(obj.theta0))
    result = scipy.optimize.minimize(obj.loss, obj.theta0, jac=obj.gradient)
    assert result.fun < 0.5 * start_loss
    assert obj.loss(result.x) == result.fun
    assert np.linalg.norm(obj.gradient(result.x)) < 1e-4 * start_grad_norm


def test_objective_cache_never_returns_stale_values(multiclass_data, rng):
    """Interleaved loss / gradient / loss_and_gradient calls match fresh objectives."""
    X, y = multiclass_data
    model = _model("multiclass", activation="tanh").initialize(X, y)
    obj = model.objective(X, y)
    thetas = [obj.theta0, obj.theta0 + 0.1 * rng.standard_normal(obj.n_params)]
    fresh = []
    for theta in thetas:  # a new objective per point: no cache history
        reference = model.objective(X, y)
        fresh.append((reference.loss(theta), model.objective(X, y).gradient(theta)))
    assert fresh[0][0] != fresh[1][0]
    for i in (0, 1, 1, 0, 0, 1):
        theta = thetas[i].copy()
        assert obj.loss(theta) == fresh[i][0]
        obj.gradient(theta)[:] = 0.0  # a returned gradient is the caller's copy
        assert_array_equal(obj.gradient(theta), fresh[i][1])
        loss, grad = obj.loss_and_gradient(theta)
        assert loss == fresh[i][0]
        assert_array_equal(grad, fresh[i][1])
        theta += 1.0  # mutating the caller's array must not poison the cache
        assert obj.loss(thetas[i]) == fresh[i][0]


@pytest.mark.parametrize("task", [*TASKS, "multioutput"])
def test_objective_theta0_layout_matches_coefs(request, task):
    """theta0[sl].reshape(shape) is coefs_[l-1] / intercepts_[l-1], block by block."""
    X, y = request.getfixturevalue(f"{task}_data")
    model = _model(task, solver="lbfgs", max_iter=5)
    with pytest.warns(Warning):
        model.fit(X, y)
    obj = model.objective(X, y)
    assert obj.theta0.dtype == np.float64 and obj.theta0.ndim == 1
    n_layers = len(model.coefs_)
    names = [f"{kind}{layer}" for layer in range(1, n_layers + 1) for kind in "Wb"]
    assert [name for name, _, _ in obj.blocks] == names
    total = sum(W.size + b.size for W, b in zip(model.coefs_, model.intercepts_))
    assert obj.theta0.size == total
    for name, sl, shape in obj.blocks:
        layer = int(name[1:]) - 1
        param = model.coefs_[layer] if name[0] == "W" else model.intercepts_[layer]
        assert shape == param.shape
        assert_array_equal(obj.theta0[sl].reshape(shape), param)


def test_objective_theta0_is_a_copy_and_coefs_are_live(multiclass_data):
    """Editing theta0 leaves the model; writing into coefs_ moves the next theta0."""
    X, y = multiclass_data
    model = _model("multiclass").initialize(X, y)
    obj = model.objective(X, y)
    before = model.coefs_[0].copy()
    obj.theta0[:] = 0.0
    obj.loss(obj.theta0 + 1.0)
    assert_array_equal(model.coefs_[0], before)
    proba = model.predict_proba(X)

    model.coefs_[0][0, 0] += 1.0
    model.intercepts_[1][0] = 0.25
    new = model.objective(X, y)
    name_sl = {name: sl for name, sl, _ in new.blocks}
    assert new.theta0[name_sl["W1"]][0] == before[0, 0] + 1.0
    assert new.theta0[name_sl["b2"]][0] == 0.25
    assert not np.allclose(model.predict_proba(X), proba)


def test_objective_frozen_dropout_is_deterministic(request, rng):
    """With dropout > 0 the frozen J is a fixed function, set by dropout_seed."""
    X, y, model = _initialized(request, "multiclass", rng, dropout=0.4, solver="sgd")
    obj, again = model.objective(X, y), model.objective(X, y)
    theta = obj.theta0 + 0.05 * rng.standard_normal(obj.n_params)
    assert obj.loss(theta) == obj.loss(theta) == again.loss(theta)
    assert_array_equal(obj.gradient(theta), again.gradient(theta))
    other_seed = model.objective(X, y, dropout_seed=1)
    assert other_seed.loss(theta) != obj.loss(theta)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_objective_frozen_dropout_passes_check_grad(request, activation, rng):
    """The frozen-dropout gradient passes check_grad and a central difference."""
    X, y, model = _initialized(
        request, "multiclass", rng, activation=activation, dropout=0.4, solver="sgd"
    )
    obj = model.objective(X, y, dropout_seed=3)
    grad = obj.gradient(obj.theta0)
    error = scipy.optimize.check_grad(obj.loss, obj.gradient, obj.theta0)
    assert error / np.linalg.norm(grad) < 1e-5
    numeric = _central_difference(obj.loss, obj.theta0)
    assert np.linalg.norm(grad - numeric) < 1e-7 * np.linalg.norm(numeric)


def test_objective_dropout_off_equals_model_without_dropout(request, rng):
    """dropout='off' gives exactly the objective of the same weights without dropout."""
    X, y, model = _initialized(request, "multiclass", rng, dropout=0.4, solver="sgd")
    off = model.objective(X, y, dropout="off")
    frozen = model.objective(X, y)
    model.set_params(dropout=0.0)
    plain = model.objective(X, y)
    theta = plain.theta0
    assert off.loss(theta) == plain.loss(theta)
    assert_array_equal(off.gradient(theta), plain.gradient(theta))
    assert frozen.loss(theta) != plain.loss(theta)


def test_objective_float32_model_evaluates_in_input_dtype(
    multiclass_data, sklearn_twin, sklearn_backprop, rel_error
):
    """A float32 model: float32 X is float32-accurate, float64 X exact vs sklearn."""
    X, y = multiclass_data
    model = _model("multiclass", activation="tanh").initialize(X.astype(np.float32), y)
    expected_loss, expected_dW, expected_db = sklearn_backprop(
        sklearn_twin(model, X, y), X, y
    )
    expected = [g for pair in zip(expected_dW, expected_db) for g in pair]
    for X_eval, rtol in ((X.astype(np.float32), 1e-5), (X, 1e-12)):
        obj = model.objective(X_eval, y)
        assert obj.theta0.dtype == np.float64
        assert_allclose(obj.loss(obj.theta0), expected_loss, rtol=rtol)
        grad = obj.gradient(obj.theta0)
        assert grad.dtype == np.float64
        for ours, theirs in zip(_blocks(obj, grad), expected):
            assert rel_error(ours, theirs) < rtol


def test_objective_rejects_bad_requests(multiclass_data):
    """Unfitted model, bad dropout mode, unseen class, wrong shapes: clear errors."""
    X, y = multiclass_data
    model = _model("multiclass")
    with pytest.raises(NotFittedError):
        model.objective(X, y)
    model.initialize(X, y)
    with pytest.raises(ValueError, match="'dropout' parameter"):
        model.objective(X, y, dropout="on")
    with pytest.raises(ValueError, match="classes"):
        model.objective(X, np.where(y == 2, 9, y))
    with pytest.raises(ValueError, match="features"):
        model.objective(X[:, :3], y)
    obj = model.objective(X, y)
    with pytest.raises(ValueError, match="shape"):
        obj.loss(obj.theta0[:-1])
