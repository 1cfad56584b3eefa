"""How noisy is ``J``: unit round-off and Moré and Wild's ECnoise estimate.

A finite difference cannot be trusted below the round-off noise of the two
evaluations of ``J`` it subtracts; the judge compares errors with it.
"""

import math

import numpy as np

from ._protocol import scalar_loss

#: Unit round-off of float64, the dtype every check evaluates in.
UNIT_ROUNDOFF = np.finfo(np.float64).eps


def _difference_table(values):
    """Rows k = 1..m of forward differences of ``values`` (m + 1 points)."""
    table, current = [], np.asarray(values, dtype=np.float64)
    for _ in range(len(values) - 1):
        current = np.diff(current)
        table.append(current)
    return table


def _noise_levels(values):
    """``sigma_k`` and "differences change sign" for k = 1..m."""
    levels, changes = [], []
    for k, diffs in enumerate(_difference_table(values), start=1):
        gamma = math.factorial(k) ** 2 / math.factorial(2 * k)
        levels.append(math.sqrt(gamma * float(np.mean(diffs**2))))
        changes.append(bool(np.any(diffs > 0) and np.any(diffs < 0)))
    return levels, changes


def ecnoise(values):
    """Noise level of equally spaced function values (Moré and Wild's ECnoise).

    For noise of standard deviation ``sigma``, the k-th differences have
    ``E[(Δ^k f)^2] = sigma^2 (2k)! / (k!)^2`` while a smooth function's vanish
    quickly with k. The estimate is the first level ``sigma_k`` that agrees
    within a factor 4 with the next two and whose differences change sign.

    Parameters
    ----------
    values : sequence of float
        ``f(x + i h p)``, i = 0..m (m >= 4).

    Returns
    -------
    sigma : float or None
        The noise level; 0.0 when all values are equal (no noise visible at this
        step); None when no level qualifies (the step is too large, or the
        function is not smooth at this scale).

    References
    ----------
    J. J. Moré and S. M. Wild, "Estimating computational noise", SIAM J. Sci.
    Comput. 33(3), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> noise = np.random.RandomState(0).normal(scale=1e-6, size=9)
    >>> x = np.linspace(0, 1e-3, 9)
    >>> sigma = ecnoise(1.0 + x + x**2 + noise)
    >>> bool(3e-7 < sigma < 3e-6)
    True
    """
    values = np.asarray(values, dtype=np.float64)
    if np.all(values == values[0]):
        return 0.0
    levels, changes = _noise_levels(values)
    for k in range(len(levels) - 2):
        window = levels[k : k + 3]
        if changes[k] and max(window) <= 4.0 * min(window):
            return levels[k]
    return None


def estimate_noise(loss, theta0, loss0, rng, unit_roundoff=UNIT_ROUNDOFF):
    """Round-off noise of ``loss`` near ``theta0``, measured with ECnoise.

    Evaluates ``loss`` at 9 points ``theta0 + i h p`` along a random direction
    ``p`` moving every entry by about ``h`` times its own size (at least the
    root-mean-square size), with ``h`` = 1e-9, then 1e-7 and 1e-5 while no
    noise is visible (all values equal). If no level qualifies (not smooth at
    that scale), the median of the high-order levels is used. Never less than
    ``unit_roundoff * |loss0|``. The report's figure for the whole model;
    each entry's bound comes from its own evaluations
    (:func:`._plain.entry_bounds`).
    """
    floor = unit_roundoff * abs(loss0)
    scale = np.maximum(np.abs(theta0), np.sqrt(np.mean(theta0**2)) or 1.0)
    direction = np.where(rng.random_sample(theta0.size) < 0.5, -1.0, 1.0) * scale
    fallback = floor
    for h in (1e-9, 1e-7, 1e-5):
        values = [scalar_loss(loss(theta0 + (i * h) * direction)) for i in range(-4, 5)]
        if not np.all(np.isfinite(values)):
            break
        sigma = ecnoise(values)
        if sigma:
            return max(sigma, floor)
        if sigma is None:
            fallback = max(floor, float(np.median(_noise_levels(values)[0][3:])))
            break
    return fallback
