"""Central differences of any objective, one plain evaluation of ``J`` at a time.

Works on every object following the objective protocol (``theta0``, ``blocks``,
``loss(theta)``, ``gradient(theta)``). Besides the differences themselves it
measures the round-off noise of ``J`` (:func:`._noise.estimate_noise`) and recognizes
kink crossings: through the objective's optional ``kink_signature(theta)`` hook
when it has one, otherwise from one-sided differences (:func:`kinks_from_sides`).
"""

import numpy as np
from sklearn.utils import check_random_state

from ._noise import UNIT_ROUNDOFF, estimate_noise
from ._protocol import scalar_loss


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

    Follows the engine interface of :mod:`._engines`.

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
        Round-off noise of one evaluation of ``J``; None measures it with
        :func:`estimate_noise`.
    blocks : list of (name, slice, shape) or None, default=None
        The validated blocks; None takes ``objective.blocks``.
    rng : RandomState or None, default=None
        Seeds the noise measurement.

    Every call of ``loss`` gets a fresh array, so objectives that keep a
    reference to their argument stay correct.
    """

    name = "plain"
    cheap_entries = False
    step_scale_floor = 1.0  # 'auto' steps: round-off falls as the step grows

    def __init__(self, objective, theta0, loss0, noise=None, *, blocks=None, rng=None):
        self.objective = objective
        self.theta0 = theta0
        self.loss0 = loss0
        self.blocks = list(objective.blocks if blocks is None else blocks)
        dtype = np.dtype(getattr(objective, "dtype", np.float64))
        self.unit_roundoff = (
            float(np.finfo(dtype).eps) if dtype.kind == "f" else UNIT_ROUNDOFF
        )
        self._rng = check_random_state(rng)
        # Measured once for the whole model (the report's figure), and once per
        # block for that block's entries (block_noise), unless given.
        self._given_noise = noise is not None
        if noise is None:
            noise = estimate_noise(
                objective.loss, theta0, loss0, self._rng, self.unit_roundoff
            )
        self.noise = self.evaluation_noise = noise
        self._block_noise = {}
        self.signature = getattr(objective, "kink_signature", None)
        self._signature0 = None

    @staticmethod
    def full_limit(n_entries):
        """Mode 'auto' checks every entry up to the 'sampled' budget."""
        return n_entries

    def block_noise(self, block):
        """Round-off noise of ``J`` when only block number ``block`` moves.

        Measured along a random direction within the block (ECnoise), so that a
        kink, a step or an L1 term at 0 in *another* block never widens this
        block's noise floor (one 1 % bug in W is not excused by b's kink).
        """
        if self._given_noise or len(self.blocks) == 1:
            return self.noise
        if block not in self._block_noise:
            self._block_noise[block] = estimate_noise(
                self.objective.loss,
                self.theta0,
                self.loss0,
                self._rng,
                self.unit_roundoff,
                within=self.blocks[block][1],
            )
        return self._block_noise[block]

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
                values[m] = scalar_loss(self.objective.loss(theta))
                steps[m] = step
                if self.signature is not None:
                    signatures.append(np.asarray(self.signature(theta.copy())))
            if signatures:
                flips[m] = _differ(signatures[0], signatures[1])
                crossed[0, m] = _differ(signatures[0], self._signature0)
                crossed[1, m] = _differ(signatures[1], self._signature0)
        return plus, minus, step_plus, step_minus, flips, crossed

    def _finish(
        self, analytic, plus, minus, step_plus, step_minus, flips, crossed, noise
    ):
        """``(numeric, kinks, noise, one_sided)``.

        ``noise`` (in) is the round-off of one evaluation of J in this block;
        ``noise`` (out) the standard deviation of each central difference from
        the round-off of its two evaluations of J. ``one_sided`` re-checks a kink
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
                analytic, plus, minus, self.loss0, step_plus, step_minus, noise
            )
        noise = np.sqrt(2.0) * noise / (step_plus + step_minus)
        return numeric, kinks, noise, one_sided

    def entries(self, block, flat, eps, analytic):
        """Central differences of the entries ``flat`` of block number ``block``.

        The steps actually taken, ``(theta + eps) - theta``, are used, so the
        rounding of ``theta ± eps`` does not bias the result.
        """
        positions = self.blocks[block][1].start + np.asarray(flat, dtype=np.intp)

        def perturb(m, sign):
            theta = self.theta0.copy()
            i = positions[m]
            theta[i] = self.theta0[i] + sign * eps
            return theta, abs(theta[i] - self.theta0[i])

        values = self._evaluate(perturb, positions.size)
        return self._finish(analytic, *values, self.block_noise(block))

    def directions(self, block, D, eps, analytic):
        """Central differences along the rows of ``D`` (unit vectors in a block)."""
        D = np.asarray(D, dtype=np.float64)
        block_slice = self.blocks[block][1]

        def perturb(m, sign):
            theta = self.theta0.copy()
            theta[block_slice] += sign * eps * D[m]
            return theta, eps

        values = self._evaluate(perturb, D.shape[0])
        return self._finish(analytic, *values, self.block_noise(block))
