"""Richardson and complex-step differences (sk_dlsetup.gradcheck._methods)."""

import pickle

import numpy as np
import pytest
from scipy.optimize import check_grad

from sk_dlsetup import (
    GradientChecker,
    MLPFromScratch,
    MLPFromScratchRegressor,
    check_gradients,
    make_objective,
)
from sk_dlsetup.gradcheck._check import DEFAULT_EPSILON
from sk_dlsetup.gradcheck._methods import complex_loss, richardson

METHODS = ["central", "richardson", "complex"]


def _problem(estimator, activation, seed=0, **params):
    rng = np.random.RandomState(seed)
    X = rng.randn(30, 4)
    classes = estimator is MLPFromScratch
    y = rng.randint(0, 3, 30) if classes else rng.rand(30) + 0.1
    model = estimator(
        hidden_layer_sizes=(6, 5), activation=activation, random_state=seed, **params
    ).initialize(X, y)
    return model.objective(X, y)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize(
    "estimator, params",
    [
        (MLPFromScratch, {}),
        (MLPFromScratchRegressor, {}),
        (MLPFromScratchRegressor, {"loss": "poisson"}),
        (MLPFromScratch, {"dropout": 0.3, "alpha": 0.1}),
    ],
)
def test_mlp_objective_complex_step_is_the_gradient(activation, estimator, params):
    objective = _problem(estimator, activation, **params)
    theta = objective.theta0
    h = 1e-20
    eye = np.eye(theta.size)
    complex_step = np.array(
        [objective.loss(theta + 1j * h * eye[i]).imag / h for i in range(theta.size)]
    )
    # Backprop is the independent reference; scipy's check_grad a second opinion
    # that the reference itself is right (away from ReLU's kinks, which its
    # forward differences cross at the zero biases).
    gradient = objective.gradient(theta)
    if activation != "relu":
        assert check_grad(objective.loss, objective.gradient, theta) < 1e-5
    np.testing.assert_allclose(complex_step, gradient, rtol=1e-12, atol=1e-14)
    value = objective.loss(theta.astype(complex))
    assert isinstance(value, complex) and value.imag == 0.0
    assert value.real == pytest.approx(objective.loss(theta), rel=1e-14)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("activation", ["tanh", "logistic", "relu"])
def test_correct_mlp_passes_with_every_method(method, fast, activation):
    objective = _problem(MLPFromScratch, activation, alpha=0.01)
    report = check_gradients(objective, method=method, fast=fast)
    assert report.verdict == "pass"
    assert report.method == method
    assert f"method {method}" in str(report)
    assert report.to_dict()["method"] == method
    if method != "central" and activation != "relu":
        assert report.difference < 1e-10


def test_richardson_and_complex_reach_below_central_floor():
    """The tanh network as a black box: the floors the methods promise."""
    objective = _problem(MLPFromScratch, "tanh", alpha=0.01)
    floors = {
        method: check_gradients(objective, method=method, fast=False).difference
        for method in METHODS
    }
    assert floors["central"] > 1e-10
    assert floors["richardson"] <= 1e-10
    assert floors["complex"] <= 1e-13


def test_a_subtle_bug_is_fail_with_richardson_and_complex():
    objective = _problem(MLPFromScratch, "tanh", alpha=0.01)
    b1 = objective.blocks[1][1]

    class Bug:
        theta0, blocks, loss = objective.theta0, objective.blocks, objective.loss

        def gradient(self, theta):
            grad = objective.gradient(theta)
            grad[b1] *= 1.0 + 1e-4
            return grad

    central = check_gradients(Bug(), fast=False)
    assert central.verdict != "fail"  # below what central differences resolve
    for method in ("richardson", "complex"):
        report = check_gradients(Bug(), method=method)
        assert report.verdict == "fail", method
        assert report.worst_block == "b1"
        assert report["b1"].ratio == pytest.approx(1.0 + 1e-4, rel=1e-6)


def test_richardson_matches_closed_form_and_its_bound():
    """A log barrier near its pole: Richardson's error is within its bound and
    far below the central difference's at the same step."""
    q = np.array([3e-3, 0.5, 2.0])

    def loss(p):
        return -np.sum(np.log(p["q"]))

    def gradient(p):
        return {"q": -1.0 / p["q"]}

    central = check_gradients(loss, gradient, {"q": q}, epsilon=1e-5)
    extrapolated = check_gradients(
        loss, gradient, {"q": q}, epsilon=1e-5, method="richardson"
    )
    row = extrapolated["q"]
    error = np.abs(row.numeric_values - row.analytic_values)
    assert np.all(error <= row.bounds)
    assert extrapolated.verdict == "pass"
    assert extrapolated.difference < central.difference / 100


def test_richardson_function():
    h, x = 0.1, 0.3
    values = np.sin(x + h * np.array([[1.0], [-1.0], [0.5], [-0.5]]))
    steps = np.array([[h], [h], [h / 2], [h / 2]])
    # Error (h/2)^4 |sin'''''| / 4 / ... : below 1e-5 at h = 0.1, 100x the central's.
    central_error = abs((values[0, 0] - values[1, 0]) / (2 * h) - np.cos(x))
    assert abs(richardson(values, steps)[0] - np.cos(x)) < central_error / 100


def test_default_steps_are_each_methods_own():
    objective = _problem(MLPFromScratch, "tanh")
    default = check_gradients(objective, method="richardson", fast=False)
    assert default.epsilon == "default"
    assert all(row.epsilon > 1e-4 for row in default.blocks)  # u^(1/5) * scale
    complex_default = check_gradients(objective, method="complex")
    assert all(row.epsilon < 1e-15 for row in complex_default.blocks)
    given = check_gradients(objective, method="richardson", epsilon=1e-7, fast=False)
    assert given.epsilon == 1e-7 and all(row.epsilon == 1e-7 for row in given.blocks)
    central = check_gradients(objective)
    assert central.epsilon == 1e-7 and type(central.epsilon) is float
    # The default survives copies and pickling as itself.
    assert pickle.loads(pickle.dumps(DEFAULT_EPSILON)) is DEFAULT_EPSILON


def test_gradient_checker_takes_the_method():
    rng = np.random.RandomState(0)
    X, y = rng.randn(40, 3), rng.randint(0, 2, 40)
    mlp = MLPFromScratch(hidden_layer_sizes=(5,), activation="tanh", max_iter=20)
    checker = GradientChecker(mlp, method="complex", random_state=0).fit(X, y)
    assert {r.method for r in checker.reports_.values()} == {"complex"}
    assert all(r.verdict == "pass" for r in checker.reports_.values())
    assert checker.report_.blocks[0].epsilon < 1e-15


def test_functions_that_cannot_take_the_complex_step_are_errors():
    params = {"w": np.array([0.5, -1.5, 2.0])}

    def float_loss(p):
        return float(np.sum(p["w"] ** 2))

    def gradient(p):
        return {"w": 2 * p["w"]}

    with pytest.raises(ValueError, match="method='richardson'"):
        check_gradients(float_loss, gradient, params, method="complex")

    def drops_imaginary(p):
        return np.sum(np.real(p["w"]) ** 2)

    with pytest.raises(ValueError, match="drops the imaginary part"):
        check_gradients(drops_imaginary, gradient, params, method="complex")

    def not_analytic(p):  # |w|^2 through the conjugate: real, smooth, not analytic
        return np.sum(p["w"] * np.conj(p["w"]))

    with pytest.raises(ValueError, match="not complex-analytic"):
        check_gradients(not_analytic, gradient, params, method="complex")

    def not_real(p):
        return np.sum(p["w"] ** 2) + 1j

    with pytest.raises(TypeError, match="must return a real scalar"):
        check_gradients(not_real, gradient, params, method="complex")

    class ComplexOnlyWhenComplex:  # real at theta0, but a complex copy is not
        theta0, blocks = params["w"], [("w", slice(0, 3), (3,))]

        def loss(self, theta):
            return np.sum(theta**2) + (1j if np.iscomplexobj(theta) else 0.0)

        def gradient(self, theta):
            return 2 * theta

    with pytest.raises(ValueError, match="real on real input"):
        check_gradients(ComplexOnlyWhenComplex(), method="complex")
    # Richardson takes any of them.
    report = check_gradients(not_analytic, gradient, params, method="richardson")
    assert report.verdict == "pass"


def test_complex_loss():
    assert complex_loss(np.array([[1.0 + 2j]])) == 1.0 + 2j
    with pytest.raises(ValueError, match="real value on complex theta"):
        complex_loss(np.float64(1.0))
    with pytest.raises(ValueError, match="scalar"):
        complex_loss(np.ones(2, dtype=complex))


def test_complex_step_on_a_lecture_function():
    """make_objective hands complex arrays to a real-analytic user function."""
    rng = np.random.RandomState(0)
    params = {"W1": rng.randn(3, 2), "b1": rng.randn(3, 1)}
    X = rng.randn(2, 5)

    def loss(p):
        return np.sum(np.tanh(p["W1"] @ X + p["b1"]) ** 2)

    def gradient(p):
        A = np.tanh(p["W1"] @ X + p["b1"])
        dZ = 2 * A * (1 - A**2)
        return {"dW1": dZ @ X.T, "db1": dZ.sum(axis=1, keepdims=True)}

    report = check_gradients(make_objective(loss, gradient, params), method="complex")
    assert report.verdict == "pass" and report.difference < 1e-14


def test_torch_model_complex_step():
    torch = pytest.importorskip("torch")
    from sk_dlsetup.interop import torch_objective

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1)
    )
    X, y = torch.randn(20, 4), torch.randn(20, 1)

    def mse(output, target):
        return ((output - target) ** 2).mean()

    objective = torch_objective(model, mse, X, y)
    for method in ("richardson", "complex"):
        report = check_gradients(objective, method=method)
        assert report.verdict == "pass" and report.difference < 1e-10
    objective = torch_objective(model, torch.nn.MSELoss(), X, y)
    with pytest.raises(ValueError, match="method='richardson'"):
        check_gradients(objective, method="complex")


def test_complex_step_reports_a_bug_next_to_relu_kinks():
    """A ReLU network with zero biases has pre-activations exactly at the kink;
    a bug in that block is a 'fail', not taken for a non-analytic loss."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(30, 4), rng.randint(0, 3, 30)
    X[:5] = 0.0  # rows whose hidden pre-activations are the zero biases: kinks
    model = MLPFromScratch((6,), activation="relu", random_state=0).initialize(X, y)
    objective = model.objective(X, y)
    b1 = objective.blocks[1][1]

    class Bug:
        theta0, blocks, loss = objective.theta0, objective.blocks, objective.loss

        def gradient(self, theta):
            grad = objective.gradient(theta)
            grad[b1] *= 1.01
            return grad

    report = check_gradients(Bug(), method="complex")
    assert report.verdict == "fail" and report.worst_block == "b1"
