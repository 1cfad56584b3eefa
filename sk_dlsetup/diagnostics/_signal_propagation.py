"""Signal propagation at initialization: the input-output Jacobian layer by layer.

A deep network trains when a small change of its input neither dies nor
explodes on its way up. :func:`signal_propagation` measures exactly that, at
the current weights: for every hidden layer ``l`` the singular values of the
Jacobian ``dA[l]/dX`` of each row, ``J[l] = D[l] W[l]^T J[l-1]`` with
``D[l] = diag(g'(Z[l]))`` and ``J[0] = I`` (a closed form, no finite
differences), averaged over rows. Their spread (largest over median) near 1 at
every depth is *dynamical isometry* (Saxe et al. 2014; Pennington et al.
2017): orthogonal weights with tanh at gain 1 keep it for hundreds of layers,
Gaussian weights lose it geometrically.
"""

import numpy as np
from scipy import sparse
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from .._namespaces import to_numpy
from ..neural_network._activations import ACTIVATIONS
from ._estimators import check_n_features, network_of
from ._plotting import NETWORK_GID, estimator_name, legend_outside, pyplot_or_error

#: At most this many rows enter the Jacobians (the contract's cap).
MAX_ROWS = 256
#: Working memory of one chunk of Jacobians (rows x units x features), MiB.
_CHUNK_MIB = 64


def signal_propagation(estimator, X, *, max_rows=MAX_ROWS, random_state=0):
    """Singular values of the input-output Jacobian per hidden layer.

    For each row ``x`` the Jacobian of the hidden activations ``A[l]`` with
    respect to the input, ``J[l](x) = diag(g'(Z[l])) W[l]^T J[l-1](x)``, is
    built exactly (products of the current weights and the activation's
    derivative at that row), and its singular values are taken; each
    statistic is then averaged over the rows. Dropout is off.

    Parameters
    ----------
    estimator : MLPFromScratch, MLPFromScratchRegressor, GradientChecker or \
Pipeline
        An initialized or fitted network (``initialize`` is enough), a fitted
        GradientChecker, or a fitted Pipeline ending in either (X then goes
        through the earlier steps).
    X : array-like of shape (n_samples, n_features)
        Input rows; at most ``max_rows`` of them (drawn with ``random_state``)
        enter the Jacobians.
    max_rows : int, default=256
        The most rows used.
    random_state : int, RandomState instance or None, default=0
        Draws the rows (when there are more than ``max_rows``) and the random
        unit output direction of ``gradient_ratio``.

    Returns
    -------
    stats : list of dict
        One dict per hidden layer ``l = 1..L-1`` with keys ``layer``,
        ``units``, ``singular_max``, ``singular_median``, ``singular_min``
        (each the mean over rows of that row's Jacobian's singular value),
        ``spread`` (``singular_max / singular_median``), ``activation_std``
        (over rows x units, as :func:`layer_statistics`) and
        ``gradient_ratio`` (``||dJ/dA[l-1]|| / ||dJ/dA[l]||`` for a random
        unit direction at the output: below 1 the gradient shrinks on its way
        to the input, above 1 it grows).

    See Also
    --------
    SignalPropagationDisplay : Plot the spread and the signal across depth.
    layer_statistics : The signal's scale per layer.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dlsetup import MLPFromScratch
    >>> from sk_dlsetup.diagnostics import signal_propagation
    >>> X = np.random.RandomState(0).standard_normal((64, 32))
    >>> y = np.arange(64) % 2
    >>> def spread_at_depth_30(init):
    ...     net = MLPFromScratch([32] * 30, activation="tanh", init=init,
    ...                          random_state=0).initialize(X, y)
    ...     return signal_propagation(net, X)[-1]["spread"]
    >>> bool(spread_at_depth_30("orthogonal") < 3)  # near-isometric
    True
    >>> bool(spread_at_depth_30("xavier") > 100)  # Gaussian: spread grows
    True
    """
    estimator, X = network_of(estimator, X, what="signal_propagation")
    rng = check_random_state(random_state)
    X = to_numpy(X)
    if X.shape[0] > max_rows:
        X = X[np.sort(rng.choice(X.shape[0], max_rows, replace=False))]
    X = X.toarray() if sparse.issparse(X) else X
    X = check_array(X, dtype=np.float64)
    coefs = [np.asarray(to_numpy(W), dtype=np.float64) for W in estimator.coefs_]
    intercepts = [
        np.asarray(to_numpy(b), dtype=np.float64) for b in estimator.intercepts_
    ]
    check_n_features(estimator, X)
    activations, slopes = _hidden_layers(X, coefs, intercepts, estimator.activation)
    singular = _jacobian_singular_values(X.shape, coefs, slopes)
    ratios = _gradient_ratios(coefs, slopes, rng)
    stats = []
    for layer, (A, s, ratio) in enumerate(zip(activations, singular, ratios), 1):
        s_max, s_median, s_min = s
        stats.append(
            {
                "layer": layer,
                "units": int(A.shape[1]),
                "singular_max": s_max,
                "singular_median": s_median,
                "singular_min": s_min,
                "spread": s_max / s_median if s_median > 0 else np.inf,
                "activation_std": float(A.std()),
                "gradient_ratio": ratio,
            }
        )
    return stats


def _hidden_layers(X, coefs, intercepts, activation):
    """Each hidden layer's activations ``A[l]`` and slopes ``g'(Z[l])``."""
    rule = ACTIVATIONS[activation]
    activations, slopes = [], []
    A = X
    for W, b in zip(coefs[:-1], intercepts[:-1]):
        A = rule.forward(A @ W + b)
        activations.append(A)
        slopes.append(rule.derivative(A, np.ones_like(A)))
    return activations, slopes


def _jacobian_singular_values(shape, coefs, slopes):
    """Per hidden layer, the row means of the largest, median and smallest
    singular value of ``J[l](x)``, the rows taken in chunks of bounded memory."""
    n_rows, n_features = shape
    widest = max(W.shape[1] for W in coefs[:-1])
    per_row = 8 * 2 * max(widest, n_features) * n_features
    chunk = max(1, min(n_rows, _CHUNK_MIB * 2**20 // per_row))
    sums = np.zeros((len(slopes), 3))
    for start in range(0, n_rows, chunk):
        rows = slice(start, min(start + chunk, n_rows))
        m = rows.stop - rows.start
        # J laid out (units, rows, features): one GEMM per layer for all rows.
        J = np.broadcast_to(np.eye(n_features)[:, None, :], (n_features, m, n_features))
        for layer, (W, D) in enumerate(zip(coefs, slopes)):
            J = (W.T @ J.reshape(W.shape[0], -1)).reshape(W.shape[1], m, n_features)
            J *= D[rows].T[:, :, None]
            s = np.linalg.svd(J.transpose(1, 0, 2), compute_uv=False)
            sums[layer] += [s[:, 0].sum(), np.median(s, axis=1).sum(), s[:, -1].sum()]
    return [tuple(float(v) for v in row / n_rows) for row in sums]


def _gradient_ratios(coefs, slopes, rng):
    """``||dA[l-1]|| / ||dA[l]||`` per hidden layer for one random unit direction
    at the output pre-activation, backpropagated through every row."""
    n_outputs = coefs[-1].shape[1]
    u = rng.standard_normal(n_outputs)
    u /= np.linalg.norm(u)
    n_rows = slopes[0].shape[0] if slopes else 0
    dA = np.tile(u, (n_rows, 1)) @ coefs[-1].T  # dJ/dA[L-1]
    ratios = []
    for W, D in zip(coefs[-2::-1], slopes[::-1]):
        below = (dA * D) @ W.T  # dJ/dA[l-1]
        norm = np.linalg.norm(dA)
        ratios.append(float(np.linalg.norm(below) / norm) if norm > 0 else np.nan)
        dA = below
    return ratios[::-1]


class SignalPropagationDisplay:
    """The Jacobian's spread and the signal's scale across depth, per network.

    Two panels against the hidden layer ``l``, both on log axes: the spread
    ``singular_max / singular_median`` of the input-output Jacobian (1 is
    dynamical isometry: every input direction reaches layer ``l`` alike) and
    the activations' standard deviation (a vanishing or exploding signal).
    Draw several networks on the same pair of axes to compare
    initializations; create it with :meth:`from_estimator`.

    Parameters
    ----------
    stats : list of dict
        The output of :func:`signal_propagation`.
    name : str, default=None
        Legend label of the network.

    Attributes
    ----------
    axes_ : ndarray of two matplotlib Axes
        The spread panel and the activation-std panel.
    figure_ : matplotlib Figure
        The figure holding ``axes_``.
    lines_ : dict of {str: matplotlib Line2D}
        The lines, keyed ``'spread'`` and ``'activation_std'``.

    See Also
    --------
    signal_propagation : The numbers drawn.
    LayerStatisticsDisplay : The signal and gradient scale per layer.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sk_dlsetup import MLPFromScratch
    >>> from sk_dlsetup.diagnostics import SignalPropagationDisplay
    >>> X = np.random.RandomState(0).standard_normal((32, 16))
    >>> y = np.arange(32) % 2
    >>> display = None
    >>> for init in ("xavier", "orthogonal"):
    ...     net = MLPFromScratch([16] * 12, activation="tanh", init=init,
    ...                          random_state=0).initialize(X, y)
    ...     axes = None if display is None else display.axes_
    ...     display = SignalPropagationDisplay.from_estimator(net, X, axes=axes)
    >>> [len(ax.get_lines()) for ax in display.axes_]
    [2, 2]
    """

    def __init__(self, stats, *, name=None):
        self.stats = stats
        self.name = name

    @classmethod
    def from_estimator(cls, estimator, X, *, name=None, axes=None, **kwargs):
        """Compute :func:`signal_propagation` and plot it.

        Parameters
        ----------
        estimator : MLPFromScratch, MLPFromScratchRegressor, GradientChecker \
or Pipeline
            As :func:`signal_propagation` takes it.
        X : array-like of shape (n_samples, n_features)
            Input rows (at most 256 are used).
        name : str, default=None
            Legend label; by default the estimator's class, activation and init.
        axes : sequence of two matplotlib Axes, default=None
            Where to draw; a new figure when None.
        **kwargs : dict
            ``max_rows`` and ``random_state`` go to :func:`signal_propagation`,
            the rest to ``matplotlib.axes.Axes.plot``.

        Returns
        -------
        display : SignalPropagationDisplay
        """
        options = {
            k: kwargs.pop(k) for k in ("max_rows", "random_state") if k in kwargs
        }
        stats = signal_propagation(estimator, X, **options)
        name = estimator_name(estimator) if name is None else name
        return cls(stats, name=name).plot(axes=axes, **kwargs)

    def plot(self, axes=None, *, name=None, **kwargs):
        """Draw the spread and the activation std against the hidden layer.

        Parameters
        ----------
        axes : sequence of two matplotlib Axes, default=None
            Where to draw; a new figure when None. Draw several networks on the
            same axes: each gets one colour, in both panels.
        name : str, default=None
            Legend label; overrides the one given at construction.
        **kwargs : dict
            Passed to ``matplotlib.axes.Axes.plot``.

        Returns
        -------
        display : SignalPropagationDisplay
            ``self``, with ``axes_``, ``figure_`` and ``lines_`` set.
        """
        own_figure = axes is None
        if own_figure:
            plt = pyplot_or_error("SignalPropagationDisplay.plot")
            _, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        name = self.name if name is None else name
        layers = [row["layer"] for row in self.stats]
        self.lines_ = {}
        color = kwargs.pop("color", None)
        panels = (
            ("spread", "Jacobian spread (max / median singular value)"),
            ("activation_std", "std of A[l]"),
        )
        for ax, (key, label) in zip(axes, panels):
            style = {"marker": "." if len(layers) > 30 else "o", "label": name}
            if color is not None:
                style["color"] = color
            values = [row[key] for row in self.stats]
            (self.lines_[key],) = ax.plot(layers, values, **{**style, **kwargs})
            color = self.lines_[key].get_color()
            ax.set_yscale("log")
            ax.set_xlabel("hidden layer l")
            ax.set_ylabel(label)
            ax.xaxis.get_major_locator().set_params(integer=True)
        self.lines_["spread"].set_gid(NETWORK_GID + (name or ""))
        axes[0].set_title("Jacobian spread across depth (1 = isometry)")
        axes[1].set_title("Signal across depth")
        if name is not None:
            legend_outside(axes[1])
        if own_figure:
            axes[0].figure.tight_layout()
        self.axes_ = np.asarray(axes)
        self.figure_ = axes[0].figure
        return self
