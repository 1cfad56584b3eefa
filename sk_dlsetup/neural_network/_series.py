"""Truncated Taylor series ("jets") and small-argument elementary functions.

The fast gradient check (:mod:`sk_dlsetup.gradcheck._fast`) expands how a loss
changes when one hidden unit's pre-activation moves by a tiny ``c``. The
activation and loss tables state their part of that expansion with these
helpers, next to their forward rules.

A jet is a list of ``ORDER`` coefficient arrays without constant term: entry
``o - 1`` multiplies ``c**o``; ``None`` stands for zero.
"""

import numpy as np

#: Degree of the Taylor polynomials of the per-sample loss change.
ORDER = 4

#: Below this size, tanh and expm1 are evaluated by their series: 2-3x faster
#: than the library functions and as exact (the first omitted term is below
#: 1e-17 relative).
SMALL = 1e-3

#: Taylor coefficients of ``exp(x) - 1`` and ``log(1 + x)``, x^1 .. x^ORDER.
EXPM1 = [1.0, 1.0 / 2.0, 1.0 / 6.0, 1.0 / 24.0]
LOG1P = [1.0, -1.0 / 2.0, 1.0 / 3.0, -1.0 / 4.0]


def small_tanh(x):
    """``tanh(x)``; by ``x (1 - x^2/3 + 2 x^4/15)`` when all ``|x| < SMALL``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1e-4, -3e-4])
    >>> bool(np.allclose(small_tanh(x), np.tanh(x), rtol=3e-16, atol=0))  # to an ulp
    True
    """
    if x.size and np.max(np.abs(x)) < SMALL:
        x2 = x * x
        return x * (1.0 - x2 * (1.0 / 3.0 - x2 * (2.0 / 15.0)))
    return np.tanh(x)


def small_expm1(x):
    """``exp(x) - 1``; by its series to ``x^5 / 120`` when all ``|x| < SMALL``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1e-4, -3e-4])
    >>> bool(np.allclose(small_expm1(x), np.expm1(x), rtol=3e-16, atol=0))  # to an ulp
    True
    """
    if x.size and np.max(np.abs(x)) < SMALL:
        return x * (1.0 + x / 2.0 * (1.0 + x / 3.0 * (1.0 + x / 4.0 * (1.0 + x / 5.0))))
    return np.expm1(x)


def _add(total, term):
    return term if total is None else total + term


def jet_mul(x, y):
    """Product of two jets, truncated at ``ORDER``.

    Examples
    --------
    >>> jet_mul([1.0, None, None, None], [2.0, 3.0, None, None])  # c * (2c + 3c^2)
    [None, 2.0, 3.0, None]
    """
    out = [None] * ORDER
    for o in range(2, ORDER + 1):
        for r in range(1, o):
            a, b = x[r - 1], y[o - r - 1]
            if a is not None and b is not None:
                out[o - 1] = _add(out[o - 1], a * b)
    return out


def jet_powers(x):
    """``[x, x**2, ..., x**ORDER]`` as jets."""
    powers = [x]
    for _ in range(ORDER - 1):
        powers.append(jet_mul(powers[-1], x))
    return powers


def jet_series(coefs, powers):
    """``sum_q coefs[q] * x**(q + 1)`` for the jet ``x`` given by its powers.

    Examples
    --------
    >>> x = [1.0, None, None, None]  # the jet of c itself
    >>> jet_series(EXPM1, jet_powers(x)) == EXPM1  # exp(c) - 1
    True
    """
    out = [None] * ORDER
    for coef, power in zip(coefs, powers):
        if coef is None:
            continue
        for o, term in enumerate(power):
            if term is not None:
                out[o] = _add(out[o], coef * term)
    return out


def jet_map(fn, x):
    """``fn`` applied to every non-zero coefficient (a linear map of the jet)."""
    return [None if term is None else fn(term) for term in x]


def jet_add(x, y):
    """Sum of two jets."""
    return [b if a is None else a if b is None else a + b for a, b in zip(x, y)]


def jet_sub(x, y):
    """Difference of two jets."""
    return jet_add(x, jet_map(np.negative, y))
