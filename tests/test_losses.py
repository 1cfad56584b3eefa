"""Losses and output deltas vs scikit-learn, closed forms and finite differences."""

import warnings

import numpy as np
import pytest
from _versions import SKLEARN_1_7, skip_unless_sklearn_1_7
from numpy.testing import assert_allclose
from scipy.special import expit
from sklearn.neural_network._base import ACTIVATIONS as SK_ACTIVATIONS
from sklearn.neural_network._base import LOSS_FUNCTIONS as SK_LOSSES

from sk_dlsetup.neural_network._losses import LOSSES, inplace_data_loss_and_delta

N_SAMPLES = 12


def _targets(loss, rng, n_outputs):
    """Targets for ``loss``: one-hot (log_loss), 0/1 (binary) or real."""
    if loss == "log_loss":
        return np.eye(n_outputs)[rng.randint(n_outputs, size=N_SAMPLES)]
    if loss == "binary_log_loss":
        return rng.randint(2, size=(N_SAMPLES, n_outputs)).astype(float)
    return rng.standard_normal((N_SAMPLES, n_outputs))


# (loss, n_outputs): binary, multilabel, multiclass, single and multi-output regression
CASES = [
    ("binary_log_loss", 1),
    ("binary_log_loss", 3),
    ("log_loss", 4),
    ("log_loss", 40),  # wide rows: the softmax reduces along them, not across
    ("squared_error", 1),
    ("squared_error", 3),
]
IDS = [
    "binary",
    "multilabel",
    "multiclass",
    "multiclass-wide",
    "regression",
    "multioutput",
]


def _sklearn_output(loss, Z):
    """scikit-learn's output activation for ``loss`` applied to a copy of Z."""
    if LOSSES[loss].output_name not in SK_ACTIVATIONS:
        skip_unless_sklearn_1_7(f"{LOSSES[loss].output_name!r} output activation")
    out = Z.copy()
    SK_ACTIVATIONS[LOSSES[loss].output_name](out)
    return out


def _closed_form(loss, Z, Y):
    """Per-sample loss from its textbook formula, written out in numpy."""
    if loss == "binary_log_loss":
        p = expit(Z)
        return -(Y * np.log(p) + (1 - Y) * np.log(1 - p)).sum(axis=1)
    if loss == "log_loss":
        p = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
        return -np.log((p * Y).sum(axis=1))
    return ((Z - Y) ** 2).sum(axis=1) / (2 * Z.shape[1])


@pytest.mark.parametrize("loss, n_outputs", CASES, ids=IDS)
def test_loss_per_sample_matches_sklearn_and_closed_form(loss, n_outputs, rng):
    """Each sample's loss equals scikit-learn's loss of that row and the formula."""
    Z = rng.uniform(-3, 3, size=(N_SAMPLES, n_outputs))
    Y = _targets(loss, rng, n_outputs)
    P = _sklearn_output(loss, Z)
    sk_per_sample = [SK_LOSSES[loss](Y[i : i + 1], P[i : i + 1]) for i in range(len(Z))]
    per_sample = LOSSES[loss].per_sample(Z.copy(), Y)
    assert per_sample.shape == (N_SAMPLES,)
    assert_allclose(per_sample, sk_per_sample, rtol=1e-12)
    assert_allclose(per_sample, _closed_form(loss, Z, Y), rtol=1e-12)


def _sklearn_loss(loss, Y, P, sample_weight):
    """scikit-learn's LOSS_FUNCTIONS value (sample weights since 1.7)."""
    if SKLEARN_1_7:
        return SK_LOSSES[loss](Y, P, sample_weight)
    if sample_weight is not None:
        skip_unless_sklearn_1_7("sample_weight in its loss functions")
    return SK_LOSSES[loss](Y, P)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("loss, n_outputs", CASES, ids=IDS)
def test_loss_data_loss_matches_sklearn(loss, n_outputs, weighted, rng):
    """The (weighted) mean loss equals scikit-learn's LOSS_FUNCTIONS value."""
    Z = rng.uniform(-3, 3, size=(N_SAMPLES, n_outputs))
    Y = _targets(loss, rng, n_outputs)
    sw = rng.uniform(0, 3, size=N_SAMPLES) if weighted else None
    expected = _sklearn_loss(loss, Y, _sklearn_output(loss, Z), sw)
    value = inplace_data_loss_and_delta(Z.copy(), Y, loss, sw)
    assert isinstance(value, float)
    assert_allclose(value, expected, rtol=1e-12)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("loss, n_outputs", CASES, ids=IDS)
def test_loss_delta_matches_finite_difference(loss, n_outputs, weighted, rng):
    """The output delta dJ/dZ equals the central difference of the mean loss."""
    Z = rng.uniform(-3, 3, size=(N_SAMPLES, n_outputs))
    Y = _targets(loss, rng, n_outputs)
    sw = rng.uniform(0, 3, size=N_SAMPLES) if weighted else None
    delta = Z.copy()
    inplace_data_loss_and_delta(delta, Y, loss, sw)

    h = 1e-5
    numeric = np.empty_like(Z)
    for index in np.ndindex(Z.shape):
        plus, minus = Z.copy(), Z.copy()
        plus[index] += h
        minus[index] -= h
        numeric[index] = (
            inplace_data_loss_and_delta(plus, Y, loss, sw)
            - inplace_data_loss_and_delta(minus, Y, loss, sw)
        ) / (2 * h)
    assert_allclose(delta, numeric, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("loss, n_outputs", CASES, ids=IDS)
def test_loss_delta_is_output_minus_target(loss, n_outputs, order, rng):
    """Unweighted delta is (g_out(Z) - Y) / n, divided by k for squared error.

    In both memory layouts: the network hands Z and Y over column-major.
    """
    Z = rng.uniform(-3, 3, size=(N_SAMPLES, n_outputs))
    Y = np.asarray(_targets(loss, rng, n_outputs), order=order)
    delta = np.array(Z, order=order)
    value = inplace_data_loss_and_delta(delta, Y, loss)
    assert_allclose(value, SK_LOSSES[loss](Y, _sklearn_output(loss, Z)), rtol=1e-12)
    expected = (_sklearn_output(loss, Z) - Y) / N_SAMPLES
    if loss == "squared_error":
        expected /= n_outputs
    assert_allclose(delta, expected, rtol=1e-12, atol=1e-17)


@pytest.mark.parametrize("loss, n_outputs", CASES[:3], ids=IDS[:3])
def test_loss_saturated_logits_give_finite_loss_and_delta(loss, n_outputs):
    """Logits of +-1e4 and 1e150 give finite (exact) losses and deltas, no warnings."""
    logits = np.array([1e150, 1e4, -1e4, -1e150])
    if loss == "log_loss":  # every class is the target once, the argmax included
        Z, Y = np.tile(logits, (4, 1)), np.eye(4)
    elif n_outputs == 1:  # every logit with both targets
        Z, Y = (
            np.concatenate([logits, logits])[:, None],
            np.repeat([[0.0], [1.0]], 4, 0),
        )
    else:
        Z = np.array([[1e150, -1e4, 1e4], [-1e150, 1e4, -1e4]] * 2)
        Y = np.array([[0.0, 1, 1], [1, 0, 1], [1, 0, 0], [0, 1, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        per_sample = LOSSES[loss].per_sample(Z.copy(), Y)
        delta = Z.copy()
        value = inplace_data_loss_and_delta(delta, Y, loss)
    assert np.all(np.isfinite(per_sample)) and np.isfinite(value)
    assert np.all(np.isfinite(delta))
    if loss == "binary_log_loss":
        # softplus(z) - y z, asymptotically max(z, 0) - y z, exact at these scales.
        expected = (np.maximum(Z, 0) - Y * Z).sum(axis=1)
        expected_delta = ((Z > 0) - Y) / len(Z)
    else:
        # logsumexp(z) - z_y, asymptotically max(z) - z_y.
        expected = Z.max(axis=1) - (Y * Z).sum(axis=1)
        expected_delta = ((Z.max(axis=1, keepdims=True) == Z) - Y) / len(Z)
    assert_allclose(per_sample, expected, rtol=1e-12)
    assert_allclose(delta, expected_delta, atol=1e-12)


def test_loss_softmax_output_of_saturated_logits_is_a_distribution():
    """Softmax of +-1e150 logits is finite, sums to 1 and equals scikit-learn's."""
    Z = np.array([[1e150, 0.0, -1e150], [-1e4, 1e4, 1e4 - 1.0]])
    P = LOSSES["log_loss"].output(Z.copy())
    assert np.all(np.isfinite(P))
    assert_allclose(P.sum(axis=1), 1.0)
    assert_allclose(P, _sklearn_output("log_loss", Z), rtol=1e-15)


@pytest.mark.parametrize("n_outputs", [3, 40])
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_loss_output_activation_matches_sklearn(loss, n_outputs, rng):
    """Each loss's output function equals scikit-learn's activation of that name."""
    Z = rng.uniform(-5, 5, size=(N_SAMPLES, n_outputs))
    assert_allclose(LOSSES[loss].output(Z.copy()), _sklearn_output(loss, Z), rtol=1e-15)


@pytest.mark.parametrize("loss, n_outputs", CASES, ids=IDS)
def test_loss_float32_delta_stays_float32(loss, n_outputs, rng):
    """float32 logits: float32 delta, loss within float32 accuracy of scikit-learn."""
    Z = rng.uniform(-3, 3, size=(N_SAMPLES, n_outputs))
    Y = _targets(loss, rng, n_outputs)
    sw = rng.uniform(0.5, 2, size=N_SAMPLES)
    Z32 = Z.astype(np.float32)
    value32 = inplace_data_loss_and_delta(
        Z32, Y.astype(np.float32), loss, sw.astype(np.float32)
    )
    assert Z32.dtype == np.float32
    expected = _sklearn_loss(loss, Y, _sklearn_output(loss, Z), sw)
    assert_allclose(value32, expected, rtol=1e-5)


# ------------------------------------------------------------------- Poisson


def _poisson_data(n_outputs=1, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(40, 3)
    rate = np.exp(0.5 * X[:, :n_outputs])
    return X, rng.poisson(rate).astype(float).reshape(40, -1).squeeze()


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("n_outputs", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_poisson_objective_matches_sklearn_backprop(
    activation, n_outputs, weighted, sklearn_twin, sklearn_backprop
):
    """For identical weights: scikit-learn's loss and gradients (loss='poisson')."""
    from sk_dlsetup import MLPFromScratchRegressor

    X, y = _poisson_data(n_outputs)
    sw = np.random.RandomState(1).uniform(0.5, 2, len(X)) if weighted else None
    model = MLPFromScratchRegressor(
        loss="poisson", hidden_layer_sizes=(5,), activation=activation, alpha=0.3,
        random_state=0,
    ).initialize(X, y)  # fmt: skip
    twin = sklearn_twin(model, X, y)
    assert model.out_activation_ == twin.out_activation_ == "exp"
    loss, coef_grads, intercept_grads = sklearn_backprop(twin, X, y, sw)
    objective = model.objective(X, y, sample_weight=sw)
    assert objective.loss(objective.theta0) == pytest.approx(loss, rel=1e-12)
    expected = [g for pair in zip(coef_grads, intercept_grads) for g in pair]
    grad = objective.gradient(objective.theta0)
    for (_, sl, shape), theirs in zip(objective.blocks, expected):
        assert_allclose(grad[sl].reshape(shape), theirs, rtol=1e-11, atol=1e-14)
    assert_allclose(model.predict(X), twin.predict(X), rtol=1e-12)


def test_poisson_mlp_without_hidden_nonlinearity_equals_the_glm():
    """scikit-learn's test_mlp_vs_poisson_glm_equivalent, ported."""
    from sklearn.linear_model import PoissonRegressor

    from sk_dlsetup import MLPFromScratchRegressor

    n = 100
    rng = np.random.default_rng(42)
    X = np.linspace(0, 1, n)
    y = rng.poisson(np.exp(X + 1))
    X = X.reshape(n, -1)
    glm = PoissonRegressor(alpha=0, tol=1e-7).fit(X, y)
    params = dict(
        hidden_layer_sizes=(1,), activation="identity", alpha=0, solver="lbfgs",
        tol=1e-7, random_state=43,
    )  # fmt: skip
    mlp = MLPFromScratchRegressor(loss="poisson", **params).fit(X, y)
    assert_allclose(mlp.predict(X), glm.predict(X), rtol=1e-4)
    mlp = MLPFromScratchRegressor(loss="squared_error", **params).fit(X, y)
    assert not np.allclose(mlp.predict(X), glm.predict(X), rtol=1e-4)


def test_poisson_rejects_negative_targets():
    """A negative count is a clear error naming the loss and the smallest value."""
    from sk_dlsetup import MLPFromScratchRegressor

    X, y = _poisson_data()
    y[3] = -2.5
    with pytest.raises(ValueError, match=r"valid range of the loss 'poisson'.*-2\.5"):
        MLPFromScratchRegressor(loss="poisson").fit(X, y)


def test_poisson_per_sample_loss_is_half_the_deviance():
    """Hand-computed: y = 2, z = log 4: 2 log(2 / 4) - 2 + 4."""
    Z, Y = np.array([[np.log(4.0)]]), np.array([[2.0]])
    per_sample = LOSSES["poisson"].per_sample(Z, Y)
    assert per_sample[0] == pytest.approx(2 * np.log(0.5) + 2, rel=1e-14)
    assert Z[0, 0] == pytest.approx(2.0, rel=1e-14)  # the delta exp(z) - y


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_loss_same_rule_in_array_api_strict(loss, rng):
    """The one rule, run in array-api-strict, equals its NumPy run: the weighted
    mean loss, the output delta written in place, and the output activation."""
    xp = pytest.importorskip("array_api_strict")
    from sk_dlsetup.gradcheck._rules import LOSS_CHECK_RULES

    assert set(LOSS_CHECK_RULES) == set(LOSSES)
    Z = rng.standard_normal((9, 3))
    Y = (
        np.abs(rng.standard_normal((9, 3)))
        if loss != "log_loss"
        else np.eye(3)[rng.randint(0, 3, 9)]
    )
    if loss == "binary_log_loss":
        Y = (Y > 0.5).astype(float)
    sw = rng.uniform(0.5, 2.0, 9)
    for weights in (None, sw):
        delta = Z.copy()
        expected = inplace_data_loss_and_delta(delta, Y, loss, weights)
        Z_xp = xp.asarray(Z.copy())  # asarray may share memory
        value = inplace_data_loss_and_delta(
            Z_xp, xp.asarray(Y), loss, None if weights is None else xp.asarray(sw), xp
        )
        assert_allclose(value, expected, rtol=1e-14)
        assert_allclose(np.asarray(Z_xp), delta, rtol=1e-13, atol=1e-16)
    output = LOSSES[loss].output(xp.asarray(Z.copy()), xp)
    assert_allclose(np.asarray(output), LOSSES[loss].output(Z.copy()), rtol=1e-14)
