"""The lecture's gradient-checking exercise, written from its description.

A 3-layer network (LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID) on
X of shape (4, 3) (features x examples), its parameters in a dict W1, b1, ...,
W3, b3 with column biases, forward_propagation_n returning the cost and a cache,
and backward_propagation_n returning a dict of gradients keyed 'dW1', 'db1', ...
(with extra keys 'dZ3', 'dA2', ...). The buggy backprop doubles dW2 and uses
4 / m in db1, the two bugs the exercise plants.
"""

import numpy as np


def relu(Z):
    return np.maximum(0, Z)


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def exercise_data(seed=1):
    """X (4 x 3), Y (1 x 3) and the parameter dict of the exercise's shapes."""
    rng = np.random.RandomState(seed)
    X = rng.randn(4, 3)
    Y = np.array([[1, 1, 0]])
    parameters = {
        "W1": rng.randn(5, 4),
        "b1": rng.randn(5, 1),
        "W2": rng.randn(3, 5),
        "b2": rng.randn(3, 1),
        "W3": rng.randn(1, 3),
        "b3": rng.randn(1, 1),
    }
    return X, Y, parameters


def forward_propagation_n(X, Y, parameters):
    """Cost (mean cross-entropy) and the cache backward_propagation_n needs."""
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
    logprobs = -np.log(A3) * Y - np.log(1 - A3) * (1 - Y)
    cost = 1.0 / m * np.sum(logprobs)
    cache = (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)
    return cost, cache


def backward_propagation_n(X, Y, cache, buggy=False):
    """The gradients of the cost, keyed 'dW1', 'db1', ... (plus dZ / dA keys)."""
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = 1.0 / m * dZ3 @ A2.T
    db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = W3.T @ dZ3
    dZ2 = dA2 * (A2 > 0)
    dW2 = 1.0 / m * dZ2 @ A1.T * (2 if buggy else 1)
    db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = W2.T @ dZ2
    dZ1 = dA1 * (A1 > 0)
    dW1 = 1.0 / m * dZ1 @ X.T
    db1 = (4.0 if buggy else 1.0) / m * np.sum(dZ1, axis=1, keepdims=True)
    return {
        "dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2,
        "db2": db2, "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1,
    }  # fmt: skip
