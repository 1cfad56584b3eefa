"""Richardson and complex-step differences, each with its own error bound.

Both follow the engine interface of :mod:`._engines` and the plain engine's
bookkeeping (:class:`~._plain.PlainFiniteDifferences`: fresh copies of theta,
kinks from the objective's hook or from one-sided differences); only the
values taken and the bound of each differ.

- :class:`PlainRichardson`: central differences at steps ``h`` and ``h/2``
  combined, ``R = (4 D(h/2) - D(h)) / 3``, error ``O(h^4)``, four evaluations
  per entry. Its bound is the round-off of that combination; an entry whose
  error exceeds it gets two more evaluations at ``±2h`` and the truncation
  error ``|R(2h) - R(h)| / 15`` (``R``'s error grows as ``h^4``).
- :class:`PlainComplexStep`: ``Im J(theta + i h e) / h``, no subtraction, so
  no round-off floor and no truncation at a tiny ``h``; one complex evaluation
  per entry. Its bound comes from a second step ``h' = 1.37 h`` (not a power
  of two times ``h``: its rounding is independent), evaluated for a sample and
  for entries whose error exceeds the sample's level. The imaginary step does
  not move the real part, so no ReLU kink is ever crossed.

An objective that cannot be evaluated on complex theta, that drops the
imaginary part, or whose loss is not real on real input is a clear error
naming 'richardson'; so is one whose complex step disagrees with its central
difference (a function that is not complex-analytic: ``abs``, ``np.real``,
conjugation).
"""

import numpy as np

from ._plain import PlainFiniteDifferences, spread_sample
from ._protocol import scalar_loss

#: Standard deviations of round-off a bound allows, as for central differences.
_ROUNDING_SIGMAS = 3.0
_TRUNCATION_SAFETY = 2.0
#: sqrt(8^2 + 8^2 + 1 + 1) / 6: the round-off of R = [8 (J(h/2) - J(-h/2)) -
#: (J(h) - J(-h))] / (6 h), in units of J's round-off over h.
_RICHARDSON_ROUNDING = np.sqrt(130.0) / 6.0
_USE_RICHARDSON = "use method='richardson' (or 'central') instead"


def richardson(values, steps):
    """``(4 D(h/2) - D(h)) / 3`` from ``J`` at ``±h`` (rows 0, 1) and ``±h/2``
    (rows 2, 3), with the steps actually taken.

    Examples
    --------
    >>> import numpy as np
    >>> h, x = 0.1, 0.3
    >>> values = np.sin(x + h * np.array([[1.0], [-1.0], [0.5], [-0.5]]))
    >>> steps = np.array([[h], [h], [h / 2], [h / 2]])
    >>> bool(abs(richardson(values, steps)[0] - np.cos(x)) < 1e-6)
    True
    """
    wide = (values[0] - values[1]) / (steps[0] + steps[1])
    narrow = (values[2] - values[3]) / (steps[2] + steps[3])
    return (4.0 * narrow - wide) / 3.0


class PlainRichardson(PlainFiniteDifferences):
    """Richardson-extrapolated central differences from plain evaluations of J.

    Parameters are those of :class:`~._plain.PlainFiniteDifferences`.
    """

    method = "richardson"
    SIDES = (1, -1, 0.5, -0.5, 2, -2)
    #: 'auto' and default steps: u^(1/5) balances R's round-off, ~u / h, and
    #: its truncation, ~h^4.
    step_power = 0.2

    def _differences(self, perturb, count, analytic, sample):
        out = self._arrays(count)
        values, steps = out[:2]
        self._evaluate(perturb, range(count), (0, 1, 2, 3), out)
        numeric = richardson(values[:4], steps[:4])
        sigma = max(self.noise, self.unit_roundoff * abs(self.loss0))
        h = 0.5 * (steps[0] + steps[1])
        bound = _ROUNDING_SIGMAS * _RICHARDSON_ROUNDING * sigma / h
        with np.errstate(invalid="ignore"):
            need = ~(np.abs(numeric - analytic) <= bound)
        need |= sample >= count  # directions: every one gets its own bound
        if need.any():
            where = np.flatnonzero(need)
            self._evaluate(perturb, where, (4, 5), out)
            rows = [4, 5, 0, 1]
            wide = richardson(values[rows][:, where], steps[rows][:, where])
            bound[where] += _TRUNCATION_SAFETY * np.abs(wide - numeric[where]) / 15.0
        central = values[[0, 1, 4]], steps[[0, 1, 4]]
        return self._finish(analytic, numeric, (bound, sigma), *central, *out[2:])


class PlainComplexStep(PlainFiniteDifferences):
    """Complex-step derivatives ``Im J(theta + i h e) / h`` from plain evaluations.

    Parameters are those of :class:`~._plain.PlainFiniteDifferences`; the
    objective's ``loss`` must accept complex theta and return a complex value
    (see :func:`complex_loss`).
    """

    method = "complex"
    #: The step and a second one whose rounding is independent of the first's.
    SIDES = (1j, 1.37j)
    #: 'auto' and default steps: tiny (no subtraction, so no round-off floor,
    #: and the truncation error, h^2 times the third derivative, vanishes).
    step_power = None
    #: Relative round-off of a complex-step value itself.
    _RELATIVE = 8.0
    _value = staticmethod(lambda value: complex_loss(value))

    def __init__(self, objective, theta0, loss0, noise=None, **kwargs):
        _check_complex_evaluation(objective, theta0, loss0)
        super().__init__(objective, theta0, loss0, noise, **kwargs)
        self.signature = None  # the real part never moves: no kink is crossed

    def _differences(self, perturb, count, analytic, sample):
        out = self._arrays(count)
        values, steps = out[:2]
        self._evaluate(perturb, range(count), (0,), out)
        second = spread_sample(count, sample)
        self._evaluate(perturb, np.flatnonzero(second), (1,), out)
        numeric = values[0].imag / steps[0]
        bound = self._bounds(numeric, analytic, values, steps)
        with np.errstate(invalid="ignore"):
            need = ~second & ~(np.abs(numeric - analytic) <= bound)
        if need.any():
            self._evaluate(perturb, np.flatnonzero(need), (1,), out)
            bound = self._bounds(numeric, analytic, values, steps)
        with np.errstate(invalid="ignore"):
            off = np.flatnonzero(~(np.abs(numeric - analytic) <= bound))
        if off.size:  # a spread sample tells a function that is not analytic
            off = off[spread_sample(off.size, self.sample_size)]
            self._check_analytic(perturb, off, numeric[off], bound[off])
        kinks = np.zeros(count, dtype=bool)
        return numeric, kinks, bound, np.full(count, np.nan)

    def _bounds(self, numeric, analytic, values, steps):
        """Each value's own round-off (the two steps' disagreement, where the
        second was taken), at least the typical one, plus its relative part."""
        with np.errstate(invalid="ignore"):
            own = np.abs(values[1].imag / steps[1] - numeric)
        measured = np.isfinite(own)
        own = np.where(measured, own, 0.0)
        typical = float(np.quantile(own[measured], 0.75)) if measured.any() else 0.0
        sigma = np.maximum(own, typical) / np.sqrt(2.0)
        relative = self._RELATIVE * self.unit_roundoff
        size = np.abs(numeric) + np.abs(analytic)
        return _ROUNDING_SIGMAS * sigma + relative * size

    def _check_analytic(self, perturb, where, numeric, bound):
        """Complex steps that disagree with backprop are compared with a
        central difference: a function that is not complex-analytic (``abs``,
        ``np.real``, conjugation) gives complex steps that are plain wrong,
        and a correct gradient must not be called 'fail' for it.

        At a ReLU kink the complex step is one side's slope, so agreeing with
        either one-sided difference is consistent; and a function that is not
        analytic is wrong almost everywhere, so it takes most of the sample to
        disagree. A real bug next to kinks is reported, not turned into an
        error.
        """
        h = float(np.cbrt(self.unit_roundoff))
        sigma = max(self.noise, self.unit_roundoff * abs(self.loss0))
        inconsistent = []
        for m, value, own in zip(where, numeric, bound):
            multiple = h / perturb(m, 1j)[1]  # perturb moves theta by multiple * eps
            theta_plus, step_plus = perturb(m, multiple)
            theta_minus, step_minus = perturb(m, -multiple)
            plus = scalar_loss(self.objective.loss(theta_plus))
            minus = scalar_loss(self.objective.loss(theta_minus))
            central = (plus - minus) / (step_plus + step_minus)
            # At a kink the complex step is one side's slope: either one-sided
            # difference agreeing is consistent too.
            sides = (
                central,
                (plus - self.loss0) / step_plus,
                (self.loss0 - minus) / step_minus,
            )
            tolerance = 1e-3 * (abs(central) + abs(value)) + own
            tolerance += 20.0 * sigma / min(step_plus, step_minus)
            if min(abs(side - value) for side in sides) > tolerance:
                inconsistent.append((value, central))
        if inconsistent and 2 * len(inconsistent) > len(where):
            value, central = inconsistent[0]
            raise ValueError(
                f"the complex step ({value:.6g}) and a central difference "
                f"({central:.6g}) disagree at {len(inconsistent)} of "
                f"{len(where)} entries: the loss is not complex-analytic (abs, "
                f"np.real, a conjugate, a comparison on complex values?), so its "
                f"complex step is not a derivative; {_USE_RICHARDSON}."
            )


def complex_loss(value):
    """``loss(theta)``'s value on complex theta, as a Python complex.

    Examples
    --------
    >>> complex_loss(np.array([1.0 + 2e-20j]))
    (1+2e-20j)
    >>> complex_loss(1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: loss(theta) returned a real value on complex theta: it drops ...
    """
    array = np.asarray(value)
    if array.dtype.kind != "c":
        raise ValueError(
            "loss(theta) returned a real value on complex theta: it drops the "
            "imaginary part, so the complex step cannot be taken; "
            f"{_USE_RICHARDSON}."
        )
    if array.size != 1:
        raise ValueError(
            f"loss(theta) must return a scalar; got an array of shape {array.shape}."
        )
    return complex(array.reshape(()))


def _check_complex_evaluation(objective, theta0, loss0):
    """The objective evaluates on complex theta, and is real on real input."""
    try:
        value = objective.loss(theta0.astype(np.complex128))
    except Exception as exc:
        raise ValueError(
            f"method='complex' needs a loss that evaluates on complex theta; "
            f"{type(objective).__name__}.loss raised {type(exc).__name__}: {exc}; "
            f"{_USE_RICHARDSON}."
        ) from exc
    value = complex_loss(value)
    tolerance = 1e-12 * max(abs(loss0), 1e-300)
    if value.imag != 0.0 or abs(value.real - loss0) > tolerance:
        raise ValueError(
            f"method='complex' needs a loss that is real on real input: at theta0 "
            f"it gives {value} on the complex copy of theta0 against {loss0}; "
            f"{_USE_RICHARDSON}."
        )


class Richardson:
    """Richardson extrapolation of another engine's central differences.

    ``(4 D(h/2) - D(h)) / 3`` from two calls of the wrapped engine (the MLP
    fast path), whose bounds combine the same way; every other attribute is
    the wrapped engine's.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dlsetup.neural_network._objective import MLPObjective
    >>> from sk_dlsetup.gradcheck._fast import MLPFiniteDifferences
    >>> rng = np.random.RandomState(0)
    >>> obj = MLPObjective([rng.randn(3, 4), rng.randn(4, 1)],
    ...                    [np.zeros(4), np.zeros(1)], rng.randn(8, 3),
    ...                    rng.randn(8, 1), activation="tanh",
    ...                    loss="squared_error", alpha=0.0)
    >>> engine = Richardson(MLPFiniteDifferences(obj))
    >>> numeric, _, bound, _ = engine.entries(0, np.arange(12), 1e-3)
    >>> error = np.abs(numeric - obj.gradient(obj.theta0)[:12])
    >>> bool(np.all(error <= bound)), bool(error.max() < 1e-11)
    (True, True)
    """

    method = "richardson"

    def __init__(self, engine):
        self.engine = engine

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def entries(self, block, flat, eps, analytic=None):
        """Extrapolated differences of the entries ``flat`` of block ``block``."""
        return self._combine(self.engine.entries, block, flat, eps, analytic)

    def directions(self, block, D, eps, analytic=None):
        """Extrapolated differences along the rows of ``D``."""
        return self._combine(self.engine.directions, block, D, eps, analytic)

    @staticmethod
    def _combine(call, block, where, eps, analytic):
        wide = call(block, where, eps, analytic)
        narrow = call(block, where, eps / 2.0, analytic)
        numeric = (4.0 * narrow[0] - wide[0]) / 3.0
        bound = (4.0 * narrow[2] + wide[2]) / 3.0
        return numeric, wide[1] | narrow[1], bound, narrow[3]
