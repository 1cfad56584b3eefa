"""Central differences of any objective, one plain evaluation of ``J`` at a time.

Works on every object following the objective protocol (``theta0``, ``blocks``,
``loss(theta)``, ``gradient(theta)``). Besides the differences themselves it
estimates the round-off noise of ``J`` (:func:`estimate_noise`) and recognizes
kink crossings: through the objective's optional ``kink_signature(theta)`` hook
when it has one, otherwise from one-sided differences (:func:`kinks_from_sides`).
"""

import math

import numpy as np

_UNIT_ROUNDOFF = np.finfo(np.float64).eps


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


def estimate_noise(loss, theta0, loss0, rng, unit_roundoff=_UNIT_ROUNDOFF):
    """Round-off noise of ``loss`` near ``theta0``, measured with ECnoise.

    Evaluates ``loss`` at 9 points ``theta0 + i h p`` along a random direction
    ``p`` moving every entry by about ``h`` times its own size (at least the
    root-mean-square size), with ``h`` = 1e-9, then 1e-7 and 1e-5 while no
    noise is visible (all values equal). If no level qualifies (not smooth at
    that scale), the median of the high-order levels is used. Never less than
    ``unit_roundoff * |loss0|``.
    """
    floor = unit_roundoff * abs(loss0)
    scale = np.maximum(np.abs(theta0), np.sqrt(np.mean(theta0**2)) or 1.0)
    direction = np.where(rng.random_sample(theta0.size) < 0.5, -1.0, 1.0) * scale
    fallback = floor
    for h in (1e-9, 1e-7, 1e-5):
        values = [float(loss(theta0 + (i * h) * direction)) for i in range(-4, 5)]
        if not np.all(np.isfinite(values)):
            break
        sigma = ecnoise(values)
        if sigma:
            return max(sigma, floor)
        if sigma is None:
            fallback = max(floor, float(np.median(_noise_levels(values)[0][3:])))
            break
    return fallback


def kinks_from_sides(analytic, plus, minus, loss0, step_plus, step_minus, noise):
    """Entries whose central difference is off because they straddle a kink.

    At a kink between ``theta`` and one of ``theta ± eps e``, the one-sided
    differences disagree by the jump in slope while the analytic gradient (the
    slope on ``theta``'s own side) matches the one-sided difference away from
    the kink. A smooth entry, correct or not, has one-sided differences that
    agree to ``O(eps J'')``.

    Parameters
    ----------
    analytic : ndarray of shape (m,)
        Backprop's values.
    plus, minus : ndarray of shape (m,)
        ``J(theta + eps e) - J(theta)`` and ``J(theta - eps e) - J(theta)`` are
        ``plus - loss0`` and ``minus - loss0``.
    loss0 : float
        ``J(theta)``.
    step_plus, step_minus : ndarray of shape (m,)
        The steps actually taken on each side.
    noise : float
        Round-off noise of one evaluation of ``J``.

    Returns
    -------
    kinks : ndarray of bool of shape (m,)

    Examples
    --------
    >>> import numpy as np
    >>> # |x| at x = 1e-8 with step 1e-7: the slope jumps from -1 to +1.
    >>> f = lambda x: abs(x)
    >>> x, h = 1e-8, 1e-7
    >>> kinks_from_sides(np.array([1.0]), np.array([f(x + h)]),
    ...                  np.array([f(x - h)]), f(x), np.array([h]),
    ...                  np.array([h]), 1e-16)
    array([ True])
    """
    central = (plus - minus) / (step_plus + step_minus)
    forward = (plus - loss0) / step_plus
    backward = (loss0 - minus) / step_minus
    one_sided_noise = 2.0 * noise / np.minimum(step_plus, step_minus)
    central_noise = noise / np.minimum(step_plus, step_minus)
    off = np.abs(central - analytic) > 10.0 * central_noise
    jump = np.abs(forward - backward)
    closest = np.minimum(np.abs(forward - analytic), np.abs(backward - analytic))
    return off & (jump > 10.0 * one_sided_noise) & (closest <= 0.1 * jump)


def _differ(a, b):
    return a.shape != b.shape or bool(np.any(a != b))


class PlainFiniteDifferences:
    """Central differences from plain calls of ``objective.loss``.

    Parameters
    ----------
    objective : object
        Follows the objective protocol; ``kink_signature(theta)`` is used if
        present (an array that changes when a kink is crossed).
    theta0 : ndarray
        float64 copy of ``objective.theta0``.
    loss0 : float
        ``objective.loss(theta0)``.
    noise : float
        Round-off noise of one evaluation of ``J`` (see :func:`estimate_noise`).

    Every call of ``loss`` gets a fresh array, so objectives that keep a
    reference to their argument stay correct.
    """

    def __init__(self, objective, theta0, loss0, noise):
        self.objective = objective
        self.theta0 = theta0
        self.loss0 = loss0
        self.noise = noise
        self.signature = getattr(objective, "kink_signature", None)
        self._signature0 = None

    def _evaluate(self, perturb, count):
        """Losses at theta0 ± each perturbation, and kink crossings from the hook.

        ``crossed[side, m]``: the signature at theta0 + (side 0) or - (side 1)
        the perturbation differs from the one at theta0.
        """
        plus, minus = np.empty(count), np.empty(count)
        step_plus, step_minus = np.empty(count), np.empty(count)
        flips = np.zeros(count, dtype=bool)
        crossed = np.zeros((2, count), dtype=bool)
        if self.signature is not None and self._signature0 is None:
            self._signature0 = np.asarray(self.signature(self.theta0.copy()))
        for m in range(count):
            signatures = []
            for sign, values, steps in ((1, plus, step_plus), (-1, minus, step_minus)):
                theta, step = perturb(m, sign)
                values[m] = float(self.objective.loss(theta))
                steps[m] = step
                if self.signature is not None:
                    signatures.append(np.asarray(self.signature(theta.copy())))
            if signatures:
                flips[m] = _differ(signatures[0], signatures[1])
                crossed[0, m] = _differ(signatures[0], self._signature0)
                crossed[1, m] = _differ(signatures[1], self._signature0)
        return plus, minus, step_plus, step_minus, flips, crossed

    def _finish(self, analytic, plus, minus, step_plus, step_minus, flips, crossed):
        """``(numeric, kinks, noise, one_sided)``.

        ``noise`` is the standard deviation of each central difference from the
        round-off of its two evaluations of J. ``one_sided`` re-checks a kink
        entry with the one-sided difference on the side whose signature did not
        change (NaN elsewhere, and without the hook: the one-sided differences
        then decided that it is a kink, so they are no independent re-check).
        """
        numeric = (plus - minus) / (step_plus + step_minus)
        one_sided = np.full(numeric.size, np.nan)
        if self.signature is not None:
            kinks = flips
            forward = kinks & crossed[1] & ~crossed[0]
            backward = kinks & crossed[0] & ~crossed[1]
            one_sided[forward] = ((plus - self.loss0) / step_plus)[forward]
            one_sided[backward] = ((self.loss0 - minus) / step_minus)[backward]
        else:
            kinks = kinks_from_sides(
                analytic, plus, minus, self.loss0, step_plus, step_minus, self.noise
            )
        noise = np.sqrt(2.0) * self.noise / (step_plus + step_minus)
        return numeric, kinks, noise, one_sided

    def entries(self, block_slice, flat, eps, analytic):
        """Central differences of the entries ``flat`` of a block.

        The steps actually taken, ``(theta + eps) - theta``, are used, so the
        rounding of ``theta ± eps`` does not bias the result.
        """
        positions = block_slice.start + np.asarray(flat, dtype=np.intp)

        def perturb(m, sign):
            theta = self.theta0.copy()
            i = positions[m]
            theta[i] = self.theta0[i] + sign * eps
            return theta, abs(theta[i] - self.theta0[i])

        values = self._evaluate(perturb, positions.size)
        return self._finish(analytic, *values)

    def directions(self, block_slice, D, eps, analytic):
        """Central differences along the rows of ``D`` (unit vectors in a block)."""
        D = np.asarray(D, dtype=np.float64)

        def perturb(m, sign):
            theta = self.theta0.copy()
            theta[block_slice] += sign * eps * D[m]
            return theta, eps

        values = self._evaluate(perturb, D.shape[0])
        return self._finish(analytic, *values)
