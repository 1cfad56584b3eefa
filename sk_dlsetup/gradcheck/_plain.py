"""Central differences of any objective, one plain evaluation of ``J`` at a time.

Works on every object following the objective protocol (``theta0``, ``blocks``,
``loss(theta)``, ``gradient(theta)``). Besides the differences themselves it
bounds each one's error from that entry's own evaluations (:func:`entry_bounds`)
and recognizes kink crossings: through the objective's optional
``kink_signature(theta)`` hook when it has one, otherwise from one-sided
differences (:func:`kinks_from_sides`).
"""

import numpy as np
from sklearn.utils import check_random_state

from ._noise import UNIT_ROUNDOFF, estimate_noise
from ._protocol import scalar_loss


def kinks_from_sides(
    analytic, plus, minus, loss0, step_plus, step_minus, noise, double=None
):
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
    double : ndarray of shape (m,) or None, default=None
        ``J(theta + 2 eps e)`` where it was evaluated (NaN elsewhere). There,
        a kink must also show as a slope change that the curvature next to it
        does not explain: a smooth entry's one-sided differences differ by
        eps times the second derivative, as much as a large step makes them,
        and a wrong analytic value close to one of them must not pass for a
        kink.

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
    kinks = off & (jump > 10.0 * one_sided_noise) & (closest <= 0.1 * jump)
    if double is not None:
        # Second differences centred on theta and on theta + eps: equal up to
        # eps^3 times the third derivative for a smooth J, apart by the jump
        # when a kink lies between.
        with np.errstate(invalid="ignore"):
            centred = plus - 2.0 * loss0 + minus
            beside = double - 2.0 * plus + loss0
            smooth = np.abs(centred - beside) <= 0.5 * np.abs(centred) + 20.0 * noise
        kinks &= ~(np.isfinite(double) & smooth)
    return kinks


#: Standard deviations of round-off a bound allows (rounding errors are not
#: Gaussian, but rarely beyond this), and the safety factor on truncation.
_ROUNDING_SIGMAS = 3.0
_TRUNCATION_SAFETY = 2.0
#: The upper quartile of |N(0, 1)|: turns that of |third differences| into a
#: sigma. A quartile, not the median: round-off is often quantized (a loss
#: summed from large terms moves in whole ulps), and many third differences
#: are then exactly 0.
_QUARTILE_ABS_NORMAL = 1.1503


def entry_bounds(values, steps, loss0, unit_roundoff=UNIT_ROUNDOFF, floor=0.0):
    r"""Each central difference's error bound: its own round-off plus truncation.

    From ``J`` at ``theta + s e`` for the steps ``s = +h, -h, +2h`` (and
    ``J(theta) = loss0``), the third difference

    .. math::

        \Delta^3 = J(\theta + 2h) - 3 J(\theta + h) + 3 J(\theta)
            - J(\theta - h) \approx h^3 J^{(3)} + \text{round-off}

    measures both errors at that entry: the central difference's truncation
    error is ``h^2 J''' / 6``, about ``|Delta^3| / (6 h)``, and where round-off
    dominates, ``Delta^3`` has standard deviation ``sqrt(20) sigma``. The
    round-off level of an entry is the largest of its own ``|Delta^3| /
    sqrt(20)``, the typical one over the entries evaluated together (from the
    upper quartile: one draw can be small by chance, and a minority of noisy
    entries cannot move a quartile) and ``u |J|``. The bound is
    ``3 sqrt(2) sigma / (2 h) + 2 |Delta^3| / (6 h)``.

    Parameters
    ----------
    values : ndarray of shape (3, m)
        ``J`` at ``theta + h e``, ``theta - h e`` and ``theta + 2 h e``; NaN
        (or any non-finite value) at ``+2 h`` where it was not evaluated:
        that entry's bound is then the typical round-off alone.
    steps : ndarray of shape (3, m)
        The magnitudes of the steps actually taken (rounding included).
    loss0 : float
        ``J(theta)``.
    unit_roundoff : float, default=float64's
        Of the dtype ``J`` is evaluated in.
    floor : float, default=0.0
        A round-off level of ``J`` known otherwise (measured by
        :func:`estimate_noise`), the least the typical level can be.

    Returns
    -------
    bound : ndarray of shape (m,)
        The error a correct gradient's central difference may show.
    typical : float
        The round-off level of ``J`` common to the entries (from the upper
        quartile, at least ``u |J|``), without any one entry's kink or truncation: what
        :func:`kinks_from_sides` compares one-sided differences with.

    Examples
    --------
    >>> import numpy as np
    >>> # J = -log(q) at q = 3e-5, h = 1e-7: the truncation (h/q)^2/3 dominates.
    >>> q, h = 3e-5, 1e-7
    >>> J = lambda x: -np.log(x)
    >>> values = np.array([[J(q + h)], [J(q - h)], [J(q + 2 * h)]])
    >>> bound, _ = entry_bounds(values, np.array([[h], [h], [2 * h]]), J(q))
    >>> error = abs((values[0] - values[1]) / (2 * h) - (-1 / q))[0]
    >>> bool(error <= bound[0] <= 10 * error)
    True
    """
    (plus, minus, double), (step_plus, step_minus, step_double) = values, steps
    central = (plus - minus) / (step_plus + step_minus)
    third = double - 3.0 * plus + 3.0 * loss0 - minus
    # Unequal rounded steps leave a first-order term; take it out.
    third -= central * (step_double - 3.0 * step_plus + step_minus)
    measured = np.isfinite(third)
    third = np.where(measured, np.abs(third), 0.0)
    own = third / np.sqrt(20.0)
    typical = (
        float(np.quantile(own[measured], 0.75)) / _QUARTILE_ABS_NORMAL
        if measured.any()
        else 0.0
    )
    typical = max(typical, unit_roundoff * abs(loss0), floor)
    sigma = np.maximum(own, typical)
    h = 0.5 * (step_plus + step_minus)
    rounding = _ROUNDING_SIGMAS * np.sqrt(2.0) * sigma / (2.0 * h)
    truncation = _TRUNCATION_SAFETY * third / (6.0 * h)
    return rounding + truncation, typical


def _differ(a, b):
    return a.shape != b.shape or bool(np.any(a != b))


class PlainFiniteDifferences:
    """Central differences from plain calls of ``objective.loss``, each with its bound.

    Follows the engine interface of :mod:`._engines`. Every value is computed
    from ``J(theta ± eps e)`` and comes with the error a correct gradient may
    show *at that entry*: its own round-off plus the step's truncation error,
    both read from a third evaluation ``J(theta + 2 eps e)`` (see
    :func:`entry_bounds`), so that noise at one entry (a kink, a step, an L1
    term at 0) never widens another entry's bound.

    Parameters
    ----------
    objective : object
        Follows the objective protocol; ``kink_signature(theta)`` is used if
        present (an array that changes when a kink is crossed).
    theta0 : ndarray
        float64 copy of ``objective.theta0``.
    loss0 : float
        ``objective.loss(theta0)``.
    noise : float or None, default=None
        Round-off noise of one evaluation of ``J`` (the report's figure); None
        measures it with :func:`estimate_noise`.
    blocks : list of (name, slice, shape) or None, default=None
        The validated blocks; None takes ``objective.blocks``.
    rng : RandomState or None, default=None
        Seeds the noise measurement.

    Every call of ``loss`` gets a fresh array, so objectives that keep a
    reference to their argument stay correct.
    """

    name = "plain"
    method = "central"
    #: Entries per call whose third difference is always measured: the typical
    #: round-off of J (an upper quartile of 24 is steady to about 30 %).
    sample_size = 24
    cheap_entries = False
    step_scale_floor = 1.0  # 'auto' steps: round-off falls as the step grows
    #: 'auto' steps are u^step_power times the scale: cbrt(u) balances a
    #: central difference's round-off, ~u / h, and truncation, ~h^2.
    step_power = 1.0 / 3.0

    def __init__(self, objective, theta0, loss0, noise=None, *, blocks=None, rng=None):
        self.objective = objective
        self.theta0 = theta0
        self.loss0 = loss0
        self.blocks = list(objective.blocks if blocks is None else blocks)
        dtype = np.dtype(getattr(objective, "dtype", np.float64))
        self.unit_roundoff = (
            float(np.finfo(dtype).eps) if dtype.kind == "f" else UNIT_ROUNDOFF
        )
        if noise is None:
            noise = estimate_noise(
                objective.loss, theta0, loss0, check_random_state(rng),
                self.unit_roundoff,
            )  # fmt: skip
        self.noise = self.evaluation_noise = noise
        self.signature = getattr(objective, "kink_signature", None)
        self._signature0 = None

    @staticmethod
    def full_limit(n_entries):
        """Mode 'auto' checks every entry up to the 'sampled' budget."""
        return n_entries

    def _evaluate(self, perturb, members, sides, out):
        """Losses at theta0 + multiple * each member's perturbation, and kink
        crossings from the hook, written into ``out``.

        ``values[side, m]`` and ``steps[side, m]`` for the multiples
        ``self.SIDES[side]``; ``crossed[side, m]``: the signature there differs
        from theta0's; ``flips[m]``: the signatures at sides 0 and 1 (the
        widest pair, +1 and -1) differ (a kink in between).
        """
        values, steps, crossed, flips = out
        if self.signature is not None and self._signature0 is None:
            self._signature0 = np.asarray(self.signature(self.theta0.copy()))
        for m in members:
            signatures = {}
            for side in sides:
                theta, steps[side, m] = perturb(m, self.SIDES[side])
                values[side, m] = self._value(self.objective.loss(theta))
                if self.signature is not None:
                    signatures[side] = np.asarray(self.signature(theta.copy()))
                    crossed[side, m] = _differ(signatures[side], self._signature0)
            if 0 in signatures and 1 in signatures:
                flips[m] = _differ(signatures[0], signatures[1])

    #: The multiples of the step evaluated per value: the central pair, and +2
    #: for the third difference that measures the entry's own round-off and
    #: truncation.
    SIDES = (1, -1, 2)
    #: What each evaluation's value is read as.
    _value = staticmethod(scalar_loss)

    def _arrays(self, count):
        """``(values, steps, crossed, flips)`` for ``count`` values, unevaluated."""
        sides = len(self.SIDES)
        dtype = complex if any(isinstance(m, complex) for m in self.SIDES) else float
        return (
            np.full((sides, count), np.nan, dtype=dtype),
            np.full((sides, count), np.nan),
            np.zeros((sides, count), dtype=bool),
            np.zeros(count, dtype=bool),
        )

    def _differences(self, perturb, count, analytic, sample):
        """``(numeric, kinks, bound, one_sided)`` of ``count`` perturbations.

        ``J(theta + 2 eps e)`` is evaluated for a spread sample of the entries
        (the typical round-off) and for every entry whose error exceeds the
        bound that round-off alone gives; the others agree already, and their
        own third difference could only widen their bound. A correct gradient
        costs about two evaluations per entry, a suspicious entry three.
        """
        out = self._arrays(count)
        values, steps = out[:2]
        self._evaluate(perturb, range(count), (0, 1), out)
        third = spread_sample(count, sample)
        self._evaluate(perturb, np.flatnonzero(third), (2,), out)
        numeric = (values[0] - values[1]) / (steps[0] + steps[1])
        # Without a sample, the measured noise of J is the typical round-off.
        floor = 0.0 if third.any() else self.noise
        bounds = entry_bounds(values, steps, self.loss0, self.unit_roundoff, floor)
        with np.errstate(invalid="ignore"):
            need = ~third & ~(np.abs(numeric - analytic) <= bounds[0])
        if need.any():
            self._evaluate(perturb, np.flatnonzero(need), (2,), out)
            bounds = entry_bounds(values, steps, self.loss0, self.unit_roundoff, floor)
        return self._finish(analytic, numeric, bounds, *out)

    def _finish(self, analytic, numeric, bounds, values, steps, crossed, flips):
        """Kinks and one-sided re-checks of the central differences.

        ``one_sided`` re-checks a kink entry with the one-sided difference on
        the side whose signature did not change (NaN elsewhere, and without the
        hook: the one-sided differences then decided that it is a kink, so
        they are no independent re-check).
        """
        (plus, minus, double), (step_plus, step_minus, _) = values, steps
        bound, typical = bounds
        one_sided = np.full(numeric.size, np.nan)
        if self.signature is not None:
            kinks = flips
            forward = kinks & crossed[1] & ~crossed[0]
            backward = kinks & crossed[0] & ~crossed[1]
            one_sided[forward] = ((plus - self.loss0) / step_plus)[forward]
            one_sided[backward] = ((self.loss0 - minus) / step_minus)[backward]
        else:
            kinks = kinks_from_sides(
                analytic, plus, minus, self.loss0, step_plus, step_minus, typical,
                double,
            )  # fmt: skip
        return numeric, kinks, bound, one_sided

    def entries(self, block, flat, eps, analytic):
        """Central differences of the entries ``flat`` of block number ``block``.

        The steps actually taken, ``(theta + eps) - theta``, are used, so the
        rounding of ``theta ± eps`` does not bias the result.
        """
        positions = self.blocks[block][1].start + np.asarray(flat, dtype=np.intp)

        def perturb(m, multiple):
            theta = self._start(multiple)
            i = positions[m]
            theta[i] = self.theta0[i] + multiple * eps
            return theta, abs(theta[i] - self.theta0[i])

        return self._differences(perturb, positions.size, analytic, self.sample_size)

    def directions(self, block, D, eps, analytic):
        """Central differences along the rows of ``D`` (unit vectors in a block)."""
        D = np.asarray(D, dtype=np.float64)
        block_slice = self.blocks[block][1]

        def perturb(m, multiple):
            theta = self._start(multiple)
            theta[block_slice] += multiple * eps * D[m]
            return theta, abs(multiple) * eps

        # Every direction's own bound (not only where it disagrees): what a
        # directional check promises to catch must not depend on the bug.
        return self._differences(perturb, D.shape[0], analytic, D.shape[0])

    def _start(self, multiple):
        """A fresh copy of theta0 to perturb: complex for an imaginary step."""
        if isinstance(multiple, complex):
            return self.theta0.astype(np.complex128)
        return self.theta0.copy()


def spread_sample(count, size):
    """A mask of ``size`` of ``count`` values spread evenly (all if fewer).

    Examples
    --------
    >>> spread_sample(5, 3).astype(int).tolist()
    [1, 0, 1, 0, 1]
    """
    mask = np.zeros(count, dtype=bool)
    if count and size:
        mask[np.linspace(0, count - 1, min(count, size)).astype(np.intp)] = True
    return mask
