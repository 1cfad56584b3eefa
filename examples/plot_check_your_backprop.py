"""
Check the backprop you wrote
============================

The lecture's exercise: a 3-layer network (LINEAR -> RELU -> LINEAR -> RELU ->
LINEAR -> SIGMOID) whose parameters live in a dict ``W1, b1, ..., W3, b3``, a
``forward_propagation_n`` returning the cost, and a hand-written
``backward_propagation_n`` returning ``dW1, db1, ...``. The exercise's advice is
to "reshape into a big vector theta" and "look at the components to find the
bug". :func:`~sk_dlsetup.make_objective` does the reshaping, and
:func:`~sk_dlsetup.check_gradients` looks at the components for you: one row per
array of yours, with its own difference, its worst entry in the array's own
shape, and the ratio of your gradient to the numerical one.
"""

# %%
# The exercise
# ------------
# Four features, three examples; the parameters in the exercise's shapes, with
# column biases.
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import check_grad

from sk_dlsetup import check_gradients, make_objective
from sk_dlsetup.diagnostics import GradientCheckDisplay

rng = np.random.RandomState(1)
X = rng.randn(4, 3)
Y = np.array([[1, 1, 0]])
parameters = {
    "W1": rng.randn(5, 4), "b1": rng.randn(5, 1),
    "W2": rng.randn(3, 5), "b2": rng.randn(3, 1),
    "W3": rng.randn(1, 3), "b3": rng.randn(1, 1),
}  # fmt: skip


def relu(Z):
    return np.maximum(0, Z)


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def forward_propagation_n(X, Y, parameters):
    m = X.shape[1]
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]
    Z1 = W1 @ X + b1
    A1 = relu(Z1)
    Z2 = W2 @ A1 + b2
    A2 = relu(Z2)
    Z3 = W3 @ A2 + b3
    A3 = sigmoid(Z3)
    cost = np.sum(-np.log(A3) * Y - np.log(1 - A3) * (1 - Y)) / m
    return cost, (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)


def backward_propagation_n(X, Y, cache, buggy=False):
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = dZ3 @ A2.T / m
    db3 = np.sum(dZ3, axis=1, keepdims=True) / m
    dA2 = W3.T @ dZ3
    dZ2 = dA2 * (A2 > 0)
    dW2 = dZ2 @ A1.T / m * (2 if buggy else 1)  # the exercise's first bug
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dA1 = W2.T @ dZ2
    dZ1 = dA1 * (A1 > 0)
    dW1 = dZ1 @ X.T / m
    db1 = (4 if buggy else 1) / m * np.sum(dZ1, axis=1, keepdims=True)  # the second
    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2,
            "dW2": dW2, "db2": db2, "dA1": dA1, "dZ1": dZ1, "dW1": dW1,
            "db1": db1}  # fmt: skip


# %%
# The correct backprop
# --------------------
# Two lambdas are all the glue: ``make_objective`` calls them with fresh copies
# of your parameters (your dict is never modified), takes the gradient dict's
# ``'d' + name`` entries and ignores the others (``dZ3``, ``dA2``, ...).
objective = make_objective(
    lambda p: forward_propagation_n(X, Y, p)[0],
    lambda p: backward_propagation_n(X, Y, forward_propagation_n(X, Y, p)[1]),
    parameters,
)
correct = check_gradients(objective)
print(correct)

# %%
# scipy's ``check_grad`` agrees, as one absolute number for the whole vector
# (forward differences, so larger):
scipy_error = check_grad(objective.loss, objective.gradient, objective.theta0)
print(f"scipy check_grad: {scipy_error:.1e}")

# %%
# The buggy backprop
# ------------------
# The exercise plants two bugs: ``dW2`` doubled and ``db1`` computed with
# ``4 / m``. The report fails exactly those two arrays; the ratio column says
# by how much (2 and 4): a constant ratio is a scaling bug, not noise.
buggy = check_gradients(
    lambda p: forward_propagation_n(X, Y, p)[0],
    lambda p: backward_propagation_n(
        X, Y, forward_propagation_n(X, Y, p)[1], buggy=True
    ),
    parameters,
)
print(buggy)
failing = [row.name for row in buggy.blocks if row.verdict == "fail"]
print(f"failing blocks: {failing}; W2 ratio {buggy['W2'].ratio:.3g}, "
      f"b1 ratio {buggy['b1'].ratio:.3g}")  # fmt: skip

# %%
# The two checks side by side: each array's difference on the verdict scale.
fig, ax = plt.subplots(figsize=(7, 3.5))
display = GradientCheckDisplay({"correct": correct, "buggy": buggy}).plot(ax=ax)
ax.set_title("The lecture's exercise: which array is wrong")
fig.tight_layout()

# %%
# A flat function, scipy style
# ----------------------------
# One array is one block, ``theta``. The same call shape as
# ``scipy.optimize.check_grad(f, fprime, x0)``:
rosen = check_gradients(
    lambda x: float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)),
    lambda x: np.concatenate([
        -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1]), [0.0]
    ]) + np.concatenate([[0.0], 200 * (x[1:] - x[:-1] ** 2)]),
    np.array([1.3, 0.7, 0.8, 1.9, 1.2]),
)  # fmt: skip
print(rosen.verdict, f"{rosen.difference:.1e}")
