"""
Gradient checking: find the bug, not a false alarm
===================================================

Backpropagation can be wrong and still train, just worse. Gradient checking
compares it with two-sided finite differences of the cost,

.. math::

    d\\theta_{approx}[i] = \\frac{J(\\theta + \\varepsilon e_i)
        - J(\\theta - \\varepsilon e_i)}{2 \\varepsilon},
    \\qquad
    \\text{difference} = \\frac{\\lVert d\\theta_{approx} - d\\theta \\rVert_2}
        {\\lVert d\\theta_{approx} \\rVert_2 + \\lVert d\\theta \\rVert_2},

about 1e-7 being great, 1e-5 worth a close look and 1e-3 or more very likely
a bug. This example shows what :func:`~sk_dlsetup.check_gradients` adds to
that number: where a bug is (block, entry, ratio), kinks that are not bugs,
the check at initialization *and* after training, and a real bug it catches
in scikit-learn.
"""

# %%
# A report
# --------
# One row per parameter block ``W1, b1, W2, b2``: its own difference, the
# entry with the largest error, how many entries were checked, how many
# crossed a ReLU kink, and the median ratio analytic / numeric.
import inspect
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline

from sk_dlsetup import (
    GradientChecker,
    InputNormalizer,
    MLPFromScratch,
    check_gradients,
)
from sk_dlsetup.diagnostics import GradientCheckDisplay

X, y = make_classification(200, 6, n_informative=4, random_state=0)
X = InputNormalizer().fit_transform(X)
net = MLPFromScratch((8,), activation="tanh", random_state=0).initialize(X, y)
report = check_gradients(net, X, y)
print(report)


# %%
# A planted bug, located
# ----------------------
# A network written the course's way (samples in columns, ``W1`` of shape
# ``(n_hidden, n_features)``), with the course's classic mistake in
# backpropagation: ``db1 = 4 / m * sum(dZ1)`` instead of ``1 / m``. Any model
# whose ``objective(X, y)`` returns ``theta0``, ``blocks``, ``loss(theta)``
# and ``gradient(theta)`` can be checked.
class CourseNetObjective:
    """Two-layer tanh / sigmoid network on fixed data, with a backprop bug."""

    def __init__(self, X, y, n_hidden=5, seed=0):
        self.X, self.Y = X.T, y.reshape(1, -1)
        n_x, rng = X.shape[1], np.random.RandomState(seed)
        shapes = [("W1", (n_hidden, n_x)), ("b1", (n_hidden,))]
        shapes += [("W2", (1, n_hidden)), ("b2", (1,))]
        self.blocks, start = [], 0
        for name, shape in shapes:
            size = int(np.prod(shape))
            self.blocks.append((name, slice(start, start + size), shape))
            start += size
        self.theta0 = rng.standard_normal(start) * 0.5

    def _forward(self, theta):
        W1, b1, W2, b2 = (theta[sl].reshape(shape) for _, sl, shape in self.blocks)
        A1 = np.tanh(W1 @ self.X + b1[:, None])
        Z2 = W2 @ A1 + b2[:, None]
        return W1, W2, A1, Z2

    def loss(self, theta):
        _, _, _, Z2 = self._forward(theta)
        return float(np.mean(np.logaddexp(0, Z2) - self.Y * Z2))

    def gradient(self, theta):
        _, W2, A1, Z2 = self._forward(theta)
        m = self.X.shape[1]
        dZ2 = 1 / (1 + np.exp(-Z2)) - self.Y
        dW2, db2 = dZ2 @ A1.T / m, dZ2.sum(axis=1) / m
        dZ1 = (W2.T @ dZ2) * (1 - A1**2)
        dW1 = dZ1 @ self.X.T / m
        db1 = 4 / m * dZ1.sum(axis=1)  # the bug: 4 / m instead of 1 / m
        return np.concatenate([g.ravel() for g in (dW1, db1, dW2, db2)])


buggy = check_gradients(CourseNetObjective(X, y))
print(buggy)
print("\nworst block:", buggy.worst_block)
row = buggy["b1"]
print(f"b1: worst entry {row.worst_index}, analytic / numeric = {row.ratio:.3g}")

# %%
# The bars: every block but ``b1`` agrees within its finite-difference noise
# (the black ticks, about 1e-8 for this plain numpy objective); ``b1`` stands
# far above the fail threshold, and its ratio 4 says by how much.
display = GradientCheckDisplay.from_report(buggy, name="course net")
display.ax_.set_title("A planted bug in db1: only b1 fails, with ratio 4")

# %%
# A kink is not a bug
# -------------------
# ReLU has no derivative at 0. If a pre-activation lies within
# :math:`\varepsilon` of 0, the two evaluations :math:`J(\theta \pm
# \varepsilon e_i)` straddle the kink and the finite difference averages two
# slopes: a naive check reports a large difference for a correct network. We
# put one pre-activation at 1e-9 on purpose.
X_small, y_small = X[:8], y[:8]
relu_net = MLPFromScratch((5,), random_state=0).initialize(X_small, y_small)
W1, b1 = relu_net.coefs_[0], relu_net.intercepts_[0]
b1[0] = 1e-9 - X_small[0] @ W1[:, 0]  # Z1[0, 0] = 1e-9


def naive_difference(objective, eps=1e-7):
    """The lecture's loop over every entry, without any kink handling."""
    theta = objective.theta0
    grad, approx = objective.gradient(theta.copy()), np.empty_like(theta)
    for i in range(theta.size):
        plus, minus = theta.copy(), theta.copy()
        plus[i] += eps
        minus[i] -= eps
        approx[i] = (objective.loss(plus) - objective.loss(minus)) / (2 * eps)
    return np.linalg.norm(approx - grad) / (
        np.linalg.norm(approx) + np.linalg.norm(grad)
    )


naive = naive_difference(relu_net.objective(X_small, y_small))
kinked = check_gradients(relu_net, X_small, y_small)
print(f"naive difference: {naive:.2e}  (a false failure)")
print(f"check_gradients:  {kinked.verdict}, difference {kinked.difference:.2e}")
print(f"kinks flagged and left out: {kinked.n_kinks}")
for note in kinked.notes:
    print("note:", note)

# %%
# At initialization and after training
# ------------------------------------
# Backprop can be right for small weights and wrong once they grow, so check
# at initialization, train, and check again. :class:`~sk_dlsetup.GradientChecker`
# does exactly that inside ``fit``, training from the very weights it
# checked, and can be the last step of a pipeline. After training, gradients
# are small and round-off weighs more: the checker estimates the
# finite-difference noise (the black ticks) so a correct model is not failed.
X_raw, y_raw = make_classification(300, 10, n_informative=6, random_state=1)
checker = GradientChecker(
    MLPFromScratch((16, 16), max_iter=50, learning_rate_init=0.01, random_state=0)
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    model = make_pipeline(InputNormalizer(), checker).fit(X_raw, y_raw)
for stage, stage_report in checker.reports_.items():
    print(
        f"{stage:>7}: {stage_report.verdict}, difference {stage_report.difference:.1e}"
    )
display = GradientCheckDisplay.from_checker(checker)
display.ax_.set_title("The same network checked at initialization and after training")


# %%
# A real bug: scikit-learn's multi-output squared error
# -----------------------------------------------------
# scikit-learn's :class:`~sklearn.neural_network.MLPRegressor` averages the
# squared error over samples *and* outputs, but its backpropagation divides by
# the number of samples only: with 3 outputs its gradient is 3 times too large
# (scikit-learn issue #8349). Adam hides a constant factor, which is why it
# went unnoticed. Wrapped as an objective, the check finds it at once, and the
# ratio column says "3".
class SklearnRegressorObjective:
    """scikit-learn's own loss and _backprop gradient as an objective."""

    def __init__(self, regressor, X, Y):
        self.regressor, self.X, self.Y = regressor, X, Y
        self.blocks, start = [], 0
        for layer, (W, b) in enumerate(
            zip(regressor.coefs_, regressor.intercepts_), start=1
        ):
            for name, shape in ((f"W{layer}", W.shape), (f"b{layer}", b.shape)):
                size = int(np.prod(shape))
                self.blocks.append((name, slice(start, start + size), shape))
                start += size
        self.theta0 = np.concatenate(
            [
                p.ravel()
                for pair in zip(regressor.coefs_, regressor.intercepts_)
                for p in pair
            ]
        )

    def _backprop(self, theta):
        reg = self.regressor
        params = [theta[sl].reshape(shape) for _, sl, shape in self.blocks]
        reg.coefs_, reg.intercepts_ = params[0::2], params[1::2]
        n_layers = len(reg.coefs_) + 1
        activations = [self.X] + [None] * (n_layers - 1)
        coef_grads = [np.empty_like(W) for W in reg.coefs_]
        intercept_grads = [np.empty_like(b) for b in reg.intercepts_]
        arguments = {
            "X": self.X,
            "y": self.Y,
            "activations": activations,
            "deltas": [None] * (n_layers - 1),
            "coef_grads": coef_grads,
            "intercept_grads": intercept_grads,
        }
        # A private method: scikit-learn >= 1.7 added a sample_weight argument.
        if "sample_weight" in inspect.signature(reg._backprop).parameters:
            arguments["sample_weight"] = None
        return reg._backprop(**arguments)

    def loss(self, theta):
        return self._backprop(theta)[0]

    def gradient(self, theta):
        _, coef_grads, intercept_grads = self._backprop(theta)
        return np.concatenate(
            [g.ravel() for pair in zip(coef_grads, intercept_grads) for g in pair]
        )


rng = np.random.RandomState(0)
X_reg = rng.standard_normal((50, 4))
Y_reg = X_reg @ rng.standard_normal((4, 3))  # 3 outputs
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    regressor = MLPRegressor(
        hidden_layer_sizes=(6,), alpha=0.0, max_iter=5, random_state=0
    )
    regressor.fit(X_reg, Y_reg)
sklearn_report = check_gradients(SklearnRegressorObjective(regressor, X_reg, Y_reg))
print(sklearn_report)
print("ratios:", [round(row.ratio, 6) for row in sklearn_report.blocks])
plt.show()
