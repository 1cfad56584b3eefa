"""Why normalizing helps: the conditioning of a linear model's cost bowl."""

from numbers import Real

import numpy as np
from sklearn.utils.validation import check_array

from .._compat import Interval, validate_params


@validate_params(
    {
        "X": ["array-like"],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "tol": [Interval(Real, 0, 1, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def linear_conditioning(X, *, alpha=0.0, fit_intercept=True, tol=1e-6):
    """How hard gradient descent finds a linear least-squares fit on ``X``.

    The loss ``J(w, b) = ||X w + b - y||^2 / (2 n) + alpha ||w||^2 / 2`` is a
    quadratic whose Hessian is ``H = [X, 1]^T [X, 1] / n + alpha I`` (the
    intercept column only when ``fit_intercept``). Its condition number
    ``kappa = lambda_max / lambda_min`` is the elongation of the cost bowl:
    gradient descent diverges for steps above ``2 / lambda_max`` and, at the
    best fixed step ``2 / (lambda_max + lambda_min)``, shrinks the error by
    ``(kappa - 1) / (kappa + 1)`` per step. Normalizing the inputs makes the
    bowl round (kappa near 1): larger stable steps, far fewer of them.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Input data (raw or normalized).
    alpha : float, default=0.0
        L2 penalty; keeps ``lambda_min`` positive for rank-deficient X.
    fit_intercept : bool, default=True
        Whether the model has an (unpenalized) intercept.
    tol : float, default=1e-6
        Relative error for ``steps_to_tolerance``.

    Returns
    -------
    report : dict
        ``condition_number``, ``max_eigenvalue``, ``min_eigenvalue``,
        ``max_stable_learning_rate`` (``2 / lambda_max``), ``best_learning_rate``
        (``2 / (lambda_max + lambda_min)``) and ``steps_to_tolerance`` (steps at
        the best rate to shrink the error by ``tol``; inf when singular).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sk_dlsetup import InputNormalizer
    >>> from sk_dlsetup.diagnostics import linear_conditioning
    >>> X, _ = load_diabetes(return_X_y=True, scaled=False)
    >>> raw = linear_conditioning(X)
    >>> normalized = linear_conditioning(InputNormalizer().fit_transform(X))
    >>> print(f"{raw['condition_number']:.1e} -> {normalized['condition_number']:.0f}")
    5.2e+07 -> 470
    >>> raw["steps_to_tolerance"] > 10_000 * normalized["steps_to_tolerance"]
    True
    """
    X = check_array(X, dtype=np.float64)
    n_samples = X.shape[0]
    design = np.hstack([X, np.ones((n_samples, 1))]) if fit_intercept else X
    hessian = design.T @ design / n_samples
    penalty = np.full(design.shape[1], float(alpha))
    if fit_intercept:
        penalty[-1] = 0.0
    hessian[np.diag_indices_from(hessian)] += penalty
    eigenvalues = np.linalg.eigvalsh(hessian)
    largest = float(eigenvalues[-1])
    smallest = float(eigenvalues[0])
    if smallest <= largest * hessian.shape[0] * np.finfo(np.float64).eps:
        smallest = 0.0  # singular up to round-off (as numpy's matrix_rank decides)
    kappa = largest / smallest if smallest > 0 else np.inf
    if kappa == 1:
        steps = 1
    elif np.isfinite(kappa):
        # log1p keeps the per-step rate (kappa - 1) / (kappa + 1) exact for large kappa
        steps = int(np.ceil(np.log(1 / tol) / np.log1p(2 / (kappa - 1))))
    else:
        steps = np.inf
    return {
        "condition_number": kappa,
        "max_eigenvalue": largest,
        "min_eigenvalue": smallest,
        "max_stable_learning_rate": 2.0 / largest,
        "best_learning_rate": 2.0 / (largest + smallest),
        "steps_to_tolerance": steps,
    }
