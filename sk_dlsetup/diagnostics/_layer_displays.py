"""Displays of the layer statistics: across depth, and across training epochs."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._layer_statistics import final_step, layer_statistics
from ._plotting import (
    LOG_STATISTICS,
    STATISTIC_LABELS,
    estimator_name,
    get_ax,
)


class LayerStatisticsDisplay:
    """Per-layer signal and gradient scale across depth.

    One line per statistic of :func:`~sk_dlsetup.diagnostics.layer_statistics`
    against the layer index, on a log axis for scales (stds, gradient norms):
    a straight descending line is a vanishing signal, an ascending one an
    exploding signal. Create it with :meth:`from_estimator`; draw several
    networks on one ``ax`` to compare initializations.

    Parameters
    ----------
    stats : list of dict
        The output of :func:`~sk_dlsetup.diagnostics.layer_statistics`.
    name : str, default=None
        Legend label of the lines.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes drawn on.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.
    lines_ : dict of {str: matplotlib Line2D}
        The line of each plotted statistic.

    See Also
    --------
    sk_dlsetup.diagnostics.layer_statistics : The numbers drawn.
    GradientCheckDisplay : Plot a gradient-check report.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sk_dlsetup import MLPFromScratch
    >>> from sk_dlsetup.diagnostics import LayerStatisticsDisplay
    >>> X = np.random.RandomState(0).standard_normal((200, 30))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> net = MLPFromScratch([30] * 8, init="random", random_state=0).initialize(X, y)
    >>> display = LayerStatisticsDisplay.from_estimator(net, X, y)
    >>> sorted(display.lines_)
    ['activation_std', 'dW_norm']
    >>> [f"{row['activation_std']:.0e}" for row in display.stats[:-1:2]]
    ['3e-02', '5e-05', '5e-08', '6e-11']

    The hidden layers 1, 3, 5 and 7: under 'random' init the signal vanishes.
    """

    def __init__(self, stats, *, name=None):
        self.stats = stats
        self.name = name

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y=None,
        *,
        statistics=None,
        name=None,
        ax=None,
        **kwargs,
    ):
        """Compute :func:`~sk_dlsetup.diagnostics.layer_statistics` and plot it.

        Parameters
        ----------
        estimator : MLPFromScratch, MLPFromScratchRegressor or Pipeline
            An initialized or fitted network, or a fitted Pipeline ending in one.
        X : array-like of shape (n_samples, n_features)
            Input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), \
default=None
            Targets; needed for the gradient norms.
        statistics : str or list of str, default=None
            Keys of the statistics to draw; by default ``activation_std``,
            plus ``dW_norm`` when ``y`` is given.
        name : str, default=None
            Legend label; by default the estimator's class, activation and init.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        **kwargs : dict
            Passed to ``matplotlib.axes.Axes.plot``.

        Returns
        -------
        display : LayerStatisticsDisplay
        """

        stats = layer_statistics(estimator, X, y)
        name = estimator_name(estimator) if name is None else name
        return cls(stats, name=name).plot(ax=ax, statistics=statistics, **kwargs)

    def plot(self, ax=None, *, statistics=None, name=None, **kwargs):
        """Draw the statistics against the layer index.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        statistics : str or list of str, default=None
            Keys to draw; by default ``activation_std``, plus ``dW_norm`` when
            the statistics hold gradient norms. The y axis is logarithmic when
            every statistic drawn is a scale (std or norm).
        name : str, default=None
            Legend label; overrides the one given at construction.
        **kwargs : dict
            Passed to ``matplotlib.axes.Axes.plot``.

        Returns
        -------
        display : LayerStatisticsDisplay
            ``self``, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        statistics = self._statistics(statistics)
        ax = get_ax(ax, "LayerStatisticsDisplay.plot")
        name = self.name if name is None else name
        layers = [row["layer"] for row in self.stats]
        markers = "os^vD"
        self.lines_ = {}
        for i, key in enumerate(statistics):
            label = STATISTIC_LABELS.get(key, key)
            if len(statistics) == 1 or name is None:
                label = name or label
            else:
                label = f"{name}: {label}"
            style = {"marker": markers[i % len(markers)], "label": label, **kwargs}
            values = [row[key] for row in self.stats]
            (self.lines_[key],) = ax.plot(layers, values, **style)
        if all(key in LOG_STATISTICS for key in statistics):
            ax.set_yscale("log")
        ax.set_xlabel("layer l")
        if len(statistics) == 1:
            ax.set_ylabel(STATISTIC_LABELS.get(statistics[0], statistics[0]))
        if len(layers) <= 12:
            ax.set_xticks(layers)
        else:
            ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlim(min(layers) - 0.5, max(layers) + 0.5)
        ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _statistics(self, statistics):
        if statistics is None:
            statistics = ["activation_std"]
            if self.stats and "dW_norm" in self.stats[0]:
                statistics.append("dW_norm")
        elif isinstance(statistics, str):
            statistics = [statistics]
        available = set(self.stats[0]) - {"layer", "units"} if self.stats else set()
        unknown = [key for key in statistics if key not in available]
        if unknown:
            raise ValueError(
                f"Unknown statistics {unknown}; available: {sorted(available)}"
                + (
                    " (pass y for the gradient norms)."
                    if {"dW_norm", "db_norm"} & set(unknown)
                    else "."
                )
            )
        return list(statistics)


class LayerHistoryDisplay:
    """Per-layer gradient and weight norms over training, from ``layer_stats_``.

    One line per layer ``l`` of a norm recorded by an MLP fitted with
    ``record_layer_stats=True``, against the epoch (the iteration with
    'lbfgs'), on a log axis. A layer whose gradient line lies orders of
    magnitude below the others is one that training barely moves (a vanishing
    gradient); lines that climb by orders of magnitude are exploding ones.
    :class:`LayerStatisticsDisplay` shows the same norms across depth at one
    point in training.

    Parameters
    ----------
    layer_stats : dict of ndarray of shape (n_steps, n_layers)
        An estimator's ``layer_stats_``.
    name : str, default=None
        Prefix of the legend labels.
    step : str, default='epoch'
        What a row is: the x-axis label.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes drawn on.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.
    lines_ : dict of {int: matplotlib Line2D}
        The line of each plotted layer, keyed by its index ``l`` (from 1).

    See Also
    --------
    LayerStatisticsDisplay : The norms across depth at the current weights.
    sk_dlsetup.MLPFromScratch : ``record_layer_stats`` records the numbers.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sk_dlsetup import MLPFromScratch
    >>> from sk_dlsetup.diagnostics import LayerHistoryDisplay
    >>> X = np.random.RandomState(0).standard_normal((200, 30))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> net = MLPFromScratch([30] * 3, solver="lbfgs", alpha=10.0, random_state=0,
    ...                      record_layer_stats=True).fit(X, y)
    >>> display = LayerHistoryDisplay.from_estimator(net)
    >>> sorted(display.lines_), display.ax_.get_xlabel()
    ([1, 2, 3, 4], 'iteration')
    """

    def __init__(self, layer_stats, *, name=None, step="epoch"):
        self.layer_stats = layer_stats
        self.name = name
        self.step = step

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        statistic="dW_norm",
        layers=None,
        name=None,
        ax=None,
        **kwargs,
    ):
        """Plot the ``layer_stats_`` of a network fitted with ``record_layer_stats``.

        Parameters
        ----------
        estimator : MLPFromScratch, MLPFromScratchRegressor or Pipeline
            A fitted network, or a fitted Pipeline ending in one.
        statistic : {'dW_norm', 'db_norm', 'W_norm'}, default='dW_norm'
            The norm to draw.
        layers : list of int, default=None
            Layer indices ``l`` (from 1) to draw; by default every layer of
            networks with up to 8 weight layers, else 6 spread from the
            first to the last.
        name : str, default=None
            Prefix of the legend labels.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        **kwargs : dict
            Passed to ``matplotlib.axes.Axes.plot``.

        Returns
        -------
        display : LayerHistoryDisplay
        """
        estimator, _ = final_step(estimator)
        check_is_fitted(estimator, "coefs_")
        layer_stats = getattr(estimator, "layer_stats_", None)
        if layer_stats is None:
            raise ValueError(
                f"{type(estimator).__name__} recorded no layer statistics: set "
                "record_layer_stats=True and fit it again."
            )
        step = "iteration" if getattr(estimator, "solver", None) == "lbfgs" else "epoch"
        return cls(layer_stats, name=name, step=step).plot(
            ax=ax, statistic=statistic, layers=layers, **kwargs
        )

    def plot(self, ax=None, *, statistic="dW_norm", layers=None, name=None, **kwargs):
        """Draw one line per layer against the epoch.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        statistic : {'dW_norm', 'db_norm', 'W_norm'}, default='dW_norm'
            The norm to draw.
        layers : list of int, default=None
            Layer indices ``l`` (from 1) to draw; see :meth:`from_estimator`.
        name : str, default=None
            Prefix of the legend labels; overrides the one given at
            construction.
        **kwargs : dict
            Passed to ``matplotlib.axes.Axes.plot``.

        Returns
        -------
        display : LayerHistoryDisplay
            ``self``, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        if statistic not in self.layer_stats:
            raise ValueError(
                f"Unknown statistic {statistic!r}; available: "
                f"{sorted(self.layer_stats)}."
            )
        values = np.asarray(self.layer_stats[statistic])
        layers = self._layers(layers, values.shape[1])
        ax = get_ax(ax, "LayerHistoryDisplay.plot")
        name = self.name if name is None else name
        steps = np.arange(1, values.shape[0] + 1)
        self.lines_ = {}
        for layer in layers:
            label = f"layer {layer}" if name is None else f"{name}: layer {layer}"
            (self.lines_[layer],) = ax.plot(
                steps, values[:, layer - 1], **{"label": label, **kwargs}
            )
        ax.set_yscale("log")
        ax.set_xlabel(self.step)
        ax.set_ylabel(STATISTIC_LABELS.get(statistic, statistic))
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @staticmethod
    def _layers(layers, n_layers):
        if layers is None:
            if n_layers <= 8:
                return list(range(1, n_layers + 1))
            return sorted({int(i) for i in np.linspace(1, n_layers, 6).round()})
        layers = np.atleast_1d(layers)
        if layers.dtype.kind not in "iu":
            raise ValueError(f"layers must be integers (from 1); got {layers}.")
        layers = [int(layer) for layer in layers]
        outside = [layer for layer in layers if not 1 <= layer <= n_layers]
        if outside:
            raise ValueError(
                f"layers must be between 1 and {n_layers} (the weight layers); "
                f"got {outside}."
            )
        return layers
