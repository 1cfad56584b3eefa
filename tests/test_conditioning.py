"""linear_conditioning against numpy's condition number and gradient descent."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sk_dlsetup import InputNormalizer
from sk_dlsetup.diagnostics import linear_conditioning


def _hessian(X, alpha, fit_intercept):
    """Hessian of ||X w + b - y||^2 / (2 n) + alpha ||w||^2 / 2, built by hand."""
    n = X.shape[0]
    D = np.column_stack([X, np.ones(n)]) if fit_intercept else X
    penalty = alpha * np.eye(D.shape[1])
    if fit_intercept:
        penalty[-1, -1] = 0.0
    return D.T @ D / n + penalty


def _ill_conditioned(rng, n=300):
    scales = np.array([1.0, 3.0, 10.0, 0.5])
    return rng.standard_normal((n, 4)) * scales + [2.0, -1.0, 5.0, 0.0]


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_linear_conditioning_matches_numpy_cond(rng, alpha, fit_intercept):
    """kappa, eigenvalues and the step sizes follow from the hand-built Hessian."""
    X = _ill_conditioned(rng)
    H = _hessian(X, alpha, fit_intercept)
    eigenvalues = np.linalg.eigvalsh(H)
    report = linear_conditioning(X, alpha=alpha, fit_intercept=fit_intercept)
    assert_allclose(report["condition_number"], np.linalg.cond(H), rtol=1e-8)
    assert_allclose(report["max_eigenvalue"], eigenvalues[-1], rtol=1e-12)
    assert_allclose(report["min_eigenvalue"], eigenvalues[0], rtol=1e-8)
    assert_allclose(report["max_stable_learning_rate"], 2 / eigenvalues[-1])
    assert_allclose(
        report["best_learning_rate"], 2 / (eigenvalues[-1] + eigenvalues[0])
    )


def _gradient_descent(X, y, learning_rate, n_steps):
    """Plain gradient descent on ||X w + b - y||^2 / (2 n) from zero: (w, b, losses)."""
    n = X.shape[0]
    w, b, losses = np.zeros(X.shape[1]), 0.0, []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_steps):
            residual = X @ w + b - y
            losses.append(residual @ residual / (2 * n))
            w = w - learning_rate * (X.T @ residual / n)
            b = b - learning_rate * residual.mean()
    return w, b, np.array(losses)


def _least_squares_problem(rng):
    X = _ill_conditioned(rng)
    y = X @ [1.0, -2.0, 0.5, 3.0] + 4.0 + 0.1 * rng.standard_normal(X.shape[0])
    solution = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)
    return X, y, solution[0]


def test_linear_conditioning_max_stable_learning_rate_is_the_edge(rng):
    """Gradient descent converges at 0.95 x the stable-step edge, diverges at 1.05."""
    X, y, solution = _least_squares_problem(rng)
    edge = linear_conditioning(X)["max_stable_learning_rate"]
    w, b, _ = _gradient_descent(X, y, 0.95 * edge, n_steps=20_000)
    assert_allclose(np.append(w, b), solution, rtol=1e-8)
    _, _, losses = _gradient_descent(X, y, 1.05 * edge, n_steps=600)
    assert not np.isfinite(losses[-1]) or losses[-1] > 1e10 * losses[0]


def test_linear_conditioning_steps_to_tolerance_bounds_gradient_descent(rng):
    """At the best step, steps_to_tolerance steps shrink the error below tol."""
    X, y, solution = _least_squares_problem(rng)
    report = linear_conditioning(X, tol=1e-6)
    steps = report["steps_to_tolerance"]
    w, b, _ = _gradient_descent(X, y, report["best_learning_rate"], n_steps=steps)
    initial = np.linalg.norm(solution)  # gradient descent starts from 0
    assert np.linalg.norm(np.append(w, b) - solution) <= 1e-6 * initial
    assert steps > 100  # the raw problem is ill-conditioned...
    normalized = linear_conditioning(InputNormalizer().fit_transform(X), tol=1e-6)
    assert normalized["steps_to_tolerance"] < 15  # ...the normalized one is not
    assert normalized["condition_number"] < 1.5


def test_linear_conditioning_perfectly_conditioned():
    """An orthogonal design with unit scale has kappa 1 and converges in one step."""
    Q, _ = np.linalg.qr(np.random.RandomState(0).standard_normal((50, 3)))
    report = linear_conditioning(np.sqrt(50) * Q, fit_intercept=False)
    assert_allclose(report["condition_number"], 1.0)
    assert report["steps_to_tolerance"] == 1


def test_linear_conditioning_singular_design(rng):
    """A duplicated column makes kappa infinite; an L2 penalty makes it finite."""
    X = rng.standard_normal((40, 2))
    X = np.column_stack([X, X[:, 0]])
    singular = linear_conditioning(X, fit_intercept=False)
    assert singular["condition_number"] == np.inf
    assert singular["steps_to_tolerance"] == np.inf
    assert singular["min_eigenvalue"] >= 0.0
    ridge = linear_conditioning(X, alpha=0.1, fit_intercept=False)
    assert np.isfinite(ridge["condition_number"])
    assert np.isfinite(ridge["steps_to_tolerance"])


def test_linear_conditioning_negative_alpha_raises(rng):
    """alpha < 0 is a ValueError."""
    with pytest.raises(ValueError, match="'alpha' parameter"):
        linear_conditioning(rng.standard_normal((5, 2)), alpha=-1.0)
