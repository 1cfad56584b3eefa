"""Directional checks that say what they could miss.

A directional check compares ``u . g`` (backprop) with the finite difference
along random unit directions ``u`` of one block. An error ``delta`` in the
block's gradient shows only through its projections ``u_j . delta``, and a
single direction can be nearly orthogonal to it; so each row states
``detectable_error``: the smallest ``||delta|| / ||g||`` that the check
catches ('fail') with probability at least 0.999 whatever ``delta``'s direction.

The argument. For ``u`` uniform on the unit sphere of the block's ``n``
entries, ``(u . delta)^2 / ||delta||^2`` follows Beta(1/2, (n - 1)/2) whatever
``delta`` is. With ``k`` independent directions, the largest projection is at
least ``s ||delta||`` with probability ``1 - F(s^2)^k`` (``F`` that Beta's
CDF), so ``s^2 = F^{-1}(0.001^{1/k})`` holds it at 0.999. The check then sees
an error of norm ``E >= s ||delta|| - B`` over the directions (``B`` the norm
of their error bounds), and the judge calls it 'fail' once ``E`` reaches the
verdict scale's ``fail_threshold`` (``E / (2 ||numeric|| + E) >= f``, above
3 bounds) or, noise-aware, 1000 bounds above ``pass_threshold``. Solving for
``||delta||`` gives the guarantee, from the directions drawn, the numeric
values seen and their bounds.
"""

import numpy as np
from scipy.stats import beta

from ._judge import _NOISE_CAP, _NOISE_FAIL, _RELATIVE_FLOOR

#: The probability with which ``detectable_error`` is caught.
CONFIDENCE = 0.999
#: ``detect=`` adds directions up to this many per block (beyond, an entry
#: check of the block costs less).
MAX_DIRECTIONS = 64


def gaussian_directions(rng, count, size):
    """``count`` random unit vectors of ``size`` entries, uniform on the sphere.

    Examples
    --------
    >>> import numpy as np
    >>> D = gaussian_directions(np.random.RandomState(0), 3, 5)
    >>> D.shape, np.allclose(np.linalg.norm(D, axis=1), 1.0)
    ((3, 5), True)
    """
    D = rng.standard_normal((count, size))
    norms = np.linalg.norm(D, axis=1, keepdims=True)
    return D / np.where(norms > 0, norms, 1.0)


def smallest_projection(n_directions, size, confidence=CONFIDENCE):
    """``s``: with this probability, some direction has ``|u . delta| >= s ||delta||``.

    Examples
    --------
    >>> round(smallest_projection(1, 1), 6)  # one entry: the direction is +-delta
    1.0
    >>> bool(smallest_projection(6, 100) > smallest_projection(3, 100))
    True
    """
    if size <= 1:
        return 1.0
    quantile = (1.0 - confidence) ** (1.0 / n_directions)
    return float(np.sqrt(beta.ppf(quantile, 0.5, 0.5 * (size - 1))))


def detectable_error(numeric, analytic, bound, gradient_norm, size, settings):
    """The smallest ``||delta|| / ||g||`` the directions catch with probability 0.999.

    Parameters
    ----------
    numeric, analytic, bound : ndarray of shape (k,)
        The directions' finite differences, backprop's values and bounds.
    gradient_norm : float
        ``||g||`` of the block (backprop's).
    size : int
        Entries in the block.
    settings : object
        With ``pass_threshold``, ``fail_threshold`` and ``noise_aware``.

    Returns
    -------
    float
        ``inf`` when the gradient of the block is 0 (no relative error).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> settings = SimpleNamespace(pass_threshold=1e-6, fail_threshold=1e-3,
    ...                            noise_aware=True)
    >>> values = np.array([0.3, -0.2, 0.1])
    >>> tight = detectable_error(values, values, np.full(3, 1e-15), 1.0, 10, settings)
    >>> loose = detectable_error(values, values, np.full(3, 1e-9), 1.0, 10, settings)
    >>> bool(tight < loose < 0.01)
    True
    """
    if not gradient_norm > 0:
        return np.inf
    numeric_norm = float(np.linalg.norm(numeric))
    B = float(
        np.linalg.norm(bound + _RELATIVE_FLOOR * (np.abs(numeric) + np.abs(analytic)))
    )
    f, p = settings.fail_threshold, settings.pass_threshold
    needed = max(_error_reaching(f, numeric_norm), _NOISE_CAP * B)
    if settings.noise_aware:
        needed = min(needed, max(_error_reaching(p, numeric_norm), _NOISE_FAIL * B))
    s = smallest_projection(numeric.size, size)
    return (needed + B) / (s * gradient_norm)


def _error_reaching(threshold, numeric_norm):
    """The error norm ``E`` whose difference ``E / (||a|| + ||n||)`` reaches
    ``threshold`` however ``a`` lies (``||a|| <= ||n|| + E``)."""
    if threshold >= 1.0:
        return np.inf
    return 2.0 * threshold * numeric_norm / (1.0 - threshold)
