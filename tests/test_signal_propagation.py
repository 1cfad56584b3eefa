"""signal_propagation and SignalPropagationDisplay.

References: the Jacobian of each row built by hand (a loop over rows and
layers), its central finite differences, the backpropagated gradient's finite
differences, and the textbook depth behaviour of orthogonal and Gaussian tanh
networks.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

from sk_dlsetup import GradientChecker, InputNormalizer, MLPFromScratch
from sk_dlsetup.diagnostics import SignalPropagationDisplay, signal_propagation

G = {
    "tanh": (np.tanh, lambda Z: 1 - np.tanh(Z) ** 2),
    "relu": (lambda Z: np.maximum(Z, 0), lambda Z: (Z > 0).astype(float)),
    "logistic": (
        lambda Z: 1 / (1 + np.exp(-Z)),
        lambda Z: np.exp(-Z) / (1 + np.exp(-Z)) ** 2,
    ),
}


def _net(activation, sizes=(5, 4), n_features=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((7, n_features))
    y = np.arange(7) % 2
    net = MLPFromScratch(sizes, activation=activation, random_state=seed)
    return net.initialize(X, y), X


def _hidden(net, x):
    """Each hidden layer's activation at one row x, by a plain forward pass."""
    g, _ = G[net.activation]
    out, a = [], x
    for W, b in zip(net.coefs_[:-1], net.intercepts_[:-1]):
        a = g(a @ W + b)
        out.append(a)
    return out


@pytest.mark.parametrize("activation", sorted(G))
def test_singular_values_match_a_hand_computed_jacobian(activation):
    """Per row J[l] = diag(g'(z)) W^T J[l-1], J[0] = I, by a plain loop; the
    statistics are the row means of its singular values."""
    net, X = _net(activation)
    g, dg = G[activation]
    per_layer = [[] for _ in net.coefs_[:-1]]
    for x in X:
        J, a = np.eye(X.shape[1]), x
        for layer, (W, b) in enumerate(zip(net.coefs_[:-1], net.intercepts_[:-1])):
            z = a @ W + b
            J = np.diag(dg(z)) @ W.T @ J
            a = g(z)
            per_layer[layer].append(np.linalg.svd(J, compute_uv=False))
    stats = signal_propagation(net, X)
    for row, values in zip(stats, per_layer):
        s = np.array(values)
        assert_allclose(row["singular_max"], s[:, 0].mean(), rtol=1e-12)
        assert_allclose(row["singular_median"], np.median(s, 1).mean(), rtol=1e-12)
        assert_allclose(row["singular_min"], s[:, -1].mean(), rtol=1e-12)
        assert row["spread"] == row["singular_max"] / row["singular_median"]
    A = X
    for row, (W, b) in zip(stats, zip(net.coefs_[:-1], net.intercepts_[:-1])):
        A = g(A @ W + b)
        assert_allclose(row["activation_std"], A.std(), rtol=1e-12)


def test_singular_values_match_finite_differences():
    """The Jacobian's singular values equal those of central differences of the
    forward pass (tanh: smooth), to the differences' accuracy."""
    net, X = _net("tanh", sizes=(6, 5, 4), n_features=4)
    h = 1e-6
    for layer, row in enumerate(signal_propagation(net, X[:1])):
        x = X[0]
        columns = [
            (_hidden(net, x + h * e)[layer] - _hidden(net, x - h * e)[layer]) / (2 * h)
            for e in np.eye(x.size)
        ]
        s = np.linalg.svd(np.column_stack(columns), compute_uv=False)
        assert_allclose(row["singular_max"], s[0], rtol=1e-8)
        # the differences' error is absolute, of the size of h^2 s_max
        assert_allclose(row["singular_min"], s[-1], rtol=1e-6, atol=1e-9)


def test_gradient_ratio_matches_finite_differences():
    """||dJ/dA[l-1]|| / ||dJ/dA[l]|| for J = u . Z[L] summed over rows, with u
    the unit direction drawn from random_state: by central differences."""
    net, X = _net("tanh", sizes=(5, 4, 3), n_features=3)
    stats = signal_propagation(net, X, random_state=4)
    rng = np.random.RandomState(4)
    u = rng.standard_normal(net.coefs_[-1].shape[1])
    u /= np.linalg.norm(u)
    g, _ = G["tanh"]

    def from_layer(layer, A):  # u . Z[L] from the activations of layer `layer`
        for W, b in zip(net.coefs_[layer:-1], net.intercepts_[layer:-1]):
            A = g(A @ W + b)
        return float(((A @ net.coefs_[-1] + net.intercepts_[-1]) @ u).sum())

    def gradient(layer):  # dJ/dA[layer] (layer 0: the input)
        A = X if layer == 0 else np.array([_hidden(net, x)[layer - 1] for x in X])
        grad = np.zeros_like(A)
        for idx in np.ndindex(A.shape):
            step = np.zeros_like(A)
            step[idx] = 1e-6
            grad[idx] = (
                from_layer(layer, A + step) - from_layer(layer, A - step)
            ) / 2e-6
        return np.linalg.norm(grad)

    norms = [gradient(layer) for layer in range(len(net.coefs_))]
    for row in stats:
        layer = row["layer"]
        expected = norms[layer - 1] / norms[layer]
        assert_allclose(row["gradient_ratio"], expected, rtol=1e-6)


def test_orthogonal_tanh_stays_isometric_where_gaussian_does_not():
    """Depth 40, width 32, tanh: orthogonal (gain 1) keeps the spread near 1 at
    every depth; Gaussian 'xavier' weights spread it by orders of magnitude."""
    rng = np.random.RandomState(0)
    X = 0.3 * rng.standard_normal((32, 32))
    y = np.arange(32) % 2
    spreads = {}
    for init in ("orthogonal", "xavier"):
        net = MLPFromScratch([32] * 40, activation="tanh", init=init, random_state=0)
        stats = signal_propagation(net.initialize(X, y), X)
        spreads[init] = [row["spread"] for row in stats]
    assert max(spreads["orthogonal"]) < 3
    assert spreads["xavier"][-1] > 1e3 > spreads["xavier"][0]


def test_rows_are_capped_and_drawn_with_random_state():
    """More rows than max_rows: the same max_rows rows, drawn with random_state."""
    net, _ = _net("tanh")
    X = np.random.RandomState(1).standard_normal((50, 3))
    rows = np.sort(np.random.RandomState(5).choice(50, 8, replace=False))
    assert signal_propagation(net, X, max_rows=8, random_state=5) == (
        signal_propagation(net, X[rows], max_rows=8, random_state=5)
    )


def test_signal_propagation_on_what_users_fit(binary_data):
    """A fitted Pipeline ending in a GradientChecker: the network inside, on X
    through the normalizer."""
    X, y = binary_data
    model = make_pipeline(
        InputNormalizer(), GradientChecker(MLPFromScratch((6, 5), max_iter=3))
    )
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    expected = signal_propagation(model[-1].estimator_, model[0].transform(X))
    assert signal_propagation(model, X) == expected
    with pytest.raises(ValueError, match="X has 2 features"):
        signal_propagation(model[-1], X[:, :2])


def test_display_draws_spread_and_signal_per_network():
    """Two networks on one pair of axes: one colour each, log axes, the values."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    net, X = _net("tanh")
    first = SignalPropagationDisplay.from_estimator(net, X, name="a")
    second = SignalPropagationDisplay.from_estimator(net, X, name="b", axes=first.axes_)
    spread_ax, std_ax = first.axes_
    assert len(spread_ax.get_lines()) == 2 and spread_ax.get_yscale() == "log"
    assert_allclose(
        second.lines_["spread"].get_ydata(), [r["spread"] for r in second.stats]
    )
    assert (
        second.lines_["spread"].get_color()
        == second.lines_["activation_std"].get_color()
    )
    matplotlib.pyplot.close("all")
