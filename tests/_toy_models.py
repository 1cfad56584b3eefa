"""Third-party-style models following the objective protocol, some with planted bugs.

Nothing here comes from sk_dlsetup: these are what an outside user would write,
the deep-learning course's way (samples in columns, ``W1`` of shape
``(n_hidden, n_features)``), so the checker is tested on code it has never seen.

``ToyNet`` is a one-hidden-layer binary classifier. With ``bug=None`` its backprop
is right; each other value of ``bug`` plants one mistake (see ``BUGS``, mapping
each bug to the block it corrupts).

``SklearnMLPObjective`` wraps scikit-learn's own ``MLPRegressor._backprop`` as an
objective, for its multi-output squared-error gradient (scikit-learn issue #8349).
"""

import warnings

import numpy as np
from _versions import SKLEARN_1_7
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.utils import check_random_state

#: Planted bug -> the blocks whose gradient it corrupts.
BUGS = {
    "dW2_doubled": ("W2",),  # the course's own: dW2 = 2 * (1/m) dZ2 A1^T
    "db1_4_over_m": ("b1",),  # the course's own: db1 = 4/m sum(dZ1)
    "missing_l2_dW1": ("W1",),  # dW1 without alpha / m * W1
    "wrong_derivative_layer1": ("W1", "b1"),  # tanh'(z) taken as 1 - a, not 1 - a^2
    "transposed_scale": ("W1",),  # dW1 divided by n_features instead of m
    "dropout_mask_forgotten": ("W1", "b1"),  # dA1 not masked in backward
}


def _activation(name):
    if name == "tanh":
        return np.tanh, lambda A, Z: 1.0 - A**2
    if name == "relu":
        return lambda Z: np.maximum(Z, 0.0), lambda A, Z: (Z > 0).astype(float)
    raise ValueError(name)


class ToyObjective:
    """``J(theta)`` and a (possibly buggy) backprop of a ToyNet on fixed data."""

    def __init__(self, net, X, y):
        self.X = np.asarray(X, dtype=np.float64).T  # (n_features, m)
        self.Y = np.asarray(y, dtype=np.float64).reshape(1, -1)
        self.net = net
        n_x, n_h = self.X.shape[0], net.n_hidden
        shapes = [("W1", (n_h, n_x)), ("b1", (n_h,)), ("W2", (1, n_h)), ("b2", (1,))]
        self.blocks, start = [], 0
        for name, shape in shapes:
            size = int(np.prod(shape))
            self.blocks.append((name, slice(start, start + size), shape))
            start += size
        self.theta0 = np.concatenate([net.params_[name].ravel() for name, _ in shapes])
        m = self.X.shape[1]
        keep = check_random_state(0).random_sample((n_h, m)) < net.keep_prob
        self.D1 = keep.astype(float)
        if net.kink_hook:
            self.kink_signature = self._kink_signature

    def _unpack(self, theta):
        return {name: theta[sl].reshape(shape) for name, sl, shape in self.blocks}

    def _forward(self, theta):
        p = self._unpack(theta)
        g, _ = _activation(self.net.activation)
        Z1 = p["W1"] @ self.X + p["b1"][:, None]
        A1 = g(Z1)
        if self.net.keep_prob < 1:
            A1 = A1 * self.D1 / self.net.keep_prob
        Z2 = p["W2"] @ A1 + p["b2"][:, None]
        return p, Z1, A1, Z2

    def loss(self, theta):
        p, _, _, Z2 = self._forward(theta)
        m = self.X.shape[1]
        cross_entropy = np.mean(np.logaddexp(0.0, Z2) - self.Y * Z2)
        l2 = self.net.alpha / (2 * m) * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        return float(cross_entropy + l2)

    def gradient(self, theta):
        bug, alpha, keep_prob = self.net.bug, self.net.alpha, self.net.keep_prob
        p, Z1, A1, Z2 = self._forward(theta)
        _, derivative = _activation(self.net.activation)
        m = self.X.shape[1]
        dZ2 = expit(Z2) - self.Y
        dW2 = dZ2 @ A1.T / m + alpha / m * p["W2"]
        if bug == "dW2_doubled":
            dW2 = 2 * dW2
        db2 = dZ2.sum(axis=1) / m
        dA1 = p["W2"].T @ dZ2
        if keep_prob < 1 and bug != "dropout_mask_forgotten":
            dA1 = dA1 * self.D1 / keep_prob
        g, _ = _activation(self.net.activation)
        A1_raw = g(Z1)
        if bug == "wrong_derivative_layer1":
            dZ1 = dA1 * (1.0 - A1_raw)
        else:
            dZ1 = dA1 * derivative(A1_raw, Z1)
        scale = self.X.shape[0] if bug == "transposed_scale" else m
        dW1 = dZ1 @ self.X.T / scale
        if bug != "missing_l2_dW1":
            dW1 = dW1 + alpha / m * p["W1"]
        db1 = dZ1.sum(axis=1) * (4.0 if bug == "db1_4_over_m" else 1.0) / m
        return np.concatenate([dW1.ravel(), db1, dW2.ravel(), db2])

    def _kink_signature(self, theta):
        _, Z1, _, _ = self._forward(theta)
        return Z1 > 0


class ToyNet(ClassifierMixin, BaseEstimator):
    """A one-hidden-layer binary classifier trained by plain gradient descent.

    Follows the objective protocol (``initialize``, ``fit``, ``objective``).
    ``fit`` trains with the model's own gradient, buggy or not, starting from
    the weights of the last ``initialize`` if it came after the last ``fit``.
    """

    def __init__(
        self,
        n_hidden=4,
        activation="tanh",
        alpha=0.0,
        keep_prob=1.0,
        bug=None,
        learning_rate=0.5,
        max_iter=200,
        kink_hook=False,
        random_state=None,
    ):
        self.n_hidden = n_hidden
        self.activation = activation
        self.alpha = alpha
        self.keep_prob = keep_prob
        self.bug = bug
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.kink_hook = kink_hook
        self.random_state = random_state

    def initialize(self, X, y, sample_weight=None):
        X = np.asarray(X, dtype=np.float64)
        self.classes_ = np.unique(y)
        self.n_features_in_ = X.shape[1]
        rng = check_random_state(self.random_state)
        n_x = X.shape[1]
        self.params_ = {
            "W1": rng.standard_normal((self.n_hidden, n_x)) / np.sqrt(n_x),
            "b1": np.zeros(self.n_hidden),
            "W2": rng.standard_normal((1, self.n_hidden)) / np.sqrt(self.n_hidden),
            "b2": np.zeros(1),
        }
        self.init_theta_ = self.objective(X, y).theta0.copy()
        self._pending_init = True
        return self

    def objective(self, X, y, sample_weight=None):
        y = (np.asarray(y) == self.classes_[-1]).astype(float)
        return ToyObjective(self, X, y)

    def fit(self, X, y, sample_weight=None):
        if not getattr(self, "_pending_init", False):
            self.initialize(X, y)
        self._pending_init = False
        objective = self.objective(X, y)
        theta = objective.theta0.copy()
        self.start_theta_ = theta.copy()
        for _ in range(self.max_iter):
            theta -= self.learning_rate * objective.gradient(theta)
        for name, sl, shape in objective.blocks:
            self.params_[name] = theta[sl].reshape(shape).copy()
        return self

    def predict(self, X):
        p = self.params_
        g, _ = _activation(self.activation)
        Z2 = p["W2"] @ g(p["W1"] @ np.asarray(X, float).T + p["b1"][:, None])
        return self.classes_[(Z2.ravel() + p["b2"][0] > 0).astype(int)]


class SklearnMLPObjective:
    """scikit-learn's ``MLPRegressor._backprop`` as an objective.

    For multi-output squared error its gradient is ``n_outputs`` times the
    gradient of its own loss (scikit-learn issue #8349).
    """

    def __init__(self, X, Y, hidden_layer_sizes=(5,), alpha=0.0, random_state=0):
        self.X, self.Y = np.asarray(X, float), np.asarray(Y, float)
        self.mlp = MLPRegressor(
            hidden_layer_sizes=hidden_layer_sizes,
            activation="tanh",
            alpha=alpha,
            random_state=random_state,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.mlp.partial_fit(
                self.X, self.Y if self.Y.shape[1] > 1 else self.Y[:, 0]
            )
        self.blocks, start = [], 0
        for layer, (W, b) in enumerate(
            zip(self.mlp.coefs_, self.mlp.intercepts_), start=1
        ):
            for name, array in ((f"W{layer}", W), (f"b{layer}", b)):
                self.blocks.append(
                    (name, slice(start, start + array.size), array.shape)
                )
                start += array.size
        self.theta0 = np.concatenate(
            [
                a.ravel()
                for W, b in zip(self.mlp.coefs_, self.mlp.intercepts_)
                for a in (W, b)
            ]
        )

    def _backprop(self, theta):
        arrays = [theta[sl].reshape(shape).copy() for _, sl, shape in self.blocks]
        self.mlp.coefs_, self.mlp.intercepts_ = arrays[0::2], arrays[1::2]
        n_layers = len(self.mlp.coefs_) + 1
        activations = [self.X] + [None] * (n_layers - 1)
        deltas = [None] * (n_layers - 1)
        coef_grads = [np.empty_like(W) for W in self.mlp.coefs_]
        intercept_grads = [np.empty_like(b) for b in self.mlp.intercepts_]
        # scikit-learn 1.7 added sample_weight as _backprop's third argument.
        weights = (None,) if SKLEARN_1_7 else ()
        loss, coef_grads, intercept_grads = self.mlp._backprop(
            self.X, self.Y, *weights, activations, deltas, coef_grads, intercept_grads
        )
        grads = [a.ravel() for W, b in zip(coef_grads, intercept_grads) for a in (W, b)]
        return float(loss), np.concatenate(grads)

    def loss(self, theta):
        return self._backprop(np.asarray(theta, float))[0]

    def gradient(self, theta):
        return self._backprop(np.asarray(theta, float))[1]
