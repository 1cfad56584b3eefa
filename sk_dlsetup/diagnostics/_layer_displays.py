"""Displays of the layer statistics: across depth, and across training epochs."""

import numpy as np

from ._estimators import network_of
from ._layer_statistics import layer_statistics
from ._plotting import (
    LOG_STATISTICS,
    NETWORK_GID,
    STATISTIC_LABELS,
    STATISTIC_STYLES,
    estimator_name,
    legend_outside,
    new_axes,
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
        estimator : MLPFromScratch, MLPFromScratchRegressor, GradientChecker \
or Pipeline
            An initialized or fitted network, a fitted GradientChecker, or a
            fitted Pipeline ending in either.
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
            Axes to draw on; a new figure when None. Draw several networks
            (one per init) on the same ``ax``: each gets one colour.
        statistics : str or list of str, default=None
            Keys to draw (at most 3, told apart by line style: solid, dashed,
            dotted); by default ``activation_std``, plus ``dW_norm`` when the
            statistics hold gradient norms. The y axis is logarithmic when
            every statistic drawn is a scale (std or norm).
        name : str, default=None
            Legend label; overrides the one given at construction.
        **kwargs : dict
            Passed to ``matplotlib.axes.Axes.plot`` (``color`` sets the
            network's colour).

        Returns
        -------
        display : LayerStatisticsDisplay
            ``self``, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        statistics = self._statistics(statistics)
        if len(statistics) > len(STATISTIC_STYLES):
            raise ValueError(
                f"At most {len(STATISTIC_STYLES)} statistics fit on one axes; got "
                f"{len(statistics)}. Draw the others on another axes."
            )
        own_figure = ax is None
        ax = new_axes("LayerStatisticsDisplay.plot", (8, 4.5)) if own_figure else ax
        name = self.name if name is None else name
        layers = [row["layer"] for row in self.stats]
        self.lines_ = {}
        color = kwargs.pop("color", kwargs.pop("c", None))
        for key, (linestyle, marker, _) in zip(statistics, STATISTIC_STYLES):
            label = STATISTIC_LABELS.get(key, key)
            if len(statistics) == 1 or name is None:
                label = name or label
            else:
                label = f"{name}: {label}"
            style = {"linestyle": linestyle, "marker": marker, "label": label}
            if color is not None:  # one colour per network, whatever it draws
                style["color"] = color
            values = [row[key] for row in self.stats]
            (self.lines_[key],) = ax.plot(layers, values, **{**style, **kwargs})
            if key == statistics[0] and name is not None:  # the legend entry
                self.lines_[key].set_gid(NETWORK_GID + name)
            color = self.lines_[key].get_color()
        if all(key in LOG_STATISTICS for key in statistics):
            ax.set_yscale("log")
        ax.set_xlabel("layer l")
        labels = [STATISTIC_LABELS.get(key, key) for key in statistics]
        if len(statistics) == 1:
            ax.set_ylabel(labels[0])
        else:
            ax.set_ylabel(
                ", ".join(
                    f"{label} ({style[2]})"
                    for label, style in zip(labels, STATISTIC_STYLES)
                )
            )
        if not ax.get_title():
            ax.set_title(f"{' and '.join(labels)} across depth")
        if len(layers) <= 12:
            ax.set_xticks(layers)
        else:
            ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlim(min(layers) - 0.5, max(layers) + 0.5)
        if name is not None:
            legend_outside(ax)
        if own_figure:
            ax.figure.tight_layout()
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
    'lbfgs'), on a log axis, coloured by depth (a colour bar maps colour to
    ``l``), so that twenty layers stay readable. A layer whose gradient line
    lies orders of magnitude below the others is one that training barely
    moves (a vanishing gradient); lines that climb by orders of magnitude are
    exploding ones.
    :class:`LayerStatisticsDisplay` shows the same norms across depth at one
    point in training.

    Parameters
    ----------
    layer_stats : dict of ndarray of shape (n_steps, n_layers)
        An estimator's ``layer_stats_``.
    name : str, default=None
        The network's name, in the title and the line labels.
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
    colorbar_ : matplotlib Colorbar or None
        The colour bar mapping colour to the layer index (None when a single
        ``color`` was given).

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
    >>> display.colorbar_.ax.get_ylabel()
    'layer l'

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
        estimator : MLPFromScratch, MLPFromScratchRegressor, GradientChecker \
or Pipeline
            A fitted network, a fitted GradientChecker, or a fitted Pipeline
            ending in either.
        statistic : {'dW_norm', 'db_norm', 'W_norm'}, default='dW_norm'
            The norm to draw.
        layers : list of int, default=None
            Layer indices ``l`` (from 1) to draw; by default every layer.
        name : str, default=None
            The network's name, in the title and the line labels.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        **kwargs : dict
            Passed to :meth:`plot` (``cmap``) and ``matplotlib.axes.Axes.plot``.

        Returns
        -------
        display : LayerHistoryDisplay
        """
        estimator, _ = network_of(estimator, what="LayerHistoryDisplay")
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

    def plot(
        self,
        ax=None,
        *,
        statistic="dW_norm",
        layers=None,
        name=None,
        cmap="viridis",
        **kwargs,
    ):
        """Draw one line per layer against the epoch, coloured by depth.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        statistic : {'dW_norm', 'db_norm', 'W_norm'}, default='dW_norm'
            The norm to draw.
        layers : list of int, default=None
            Layer indices ``l`` (from 1) to draw; by default every layer.
        name : str, default=None
            The network's name, in the title and the line labels; overrides
            the one given at construction.
        cmap : str or matplotlib Colormap, default='viridis'
            Colours from the first layer to the last (a sequential map reads
            as depth).
        **kwargs : dict
            Passed to ``matplotlib.axes.Axes.plot``. A ``color`` replaces the
            colours by depth (e.g. one colour per network drawn on the same
            axes), and then no colour bar is drawn.

        Returns
        -------
        display : LayerHistoryDisplay
            ``self``, with ``ax_``, ``figure_``, ``lines_`` and ``colorbar_``
            (None when ``color`` was given) set.
        """
        if statistic not in self.layer_stats:
            raise ValueError(
                f"Unknown statistic {statistic!r}; available: "
                f"{sorted(self.layer_stats)}."
            )
        values = np.asarray(self.layer_stats[statistic])
        n_layers = values.shape[1]
        layers = self._layers(layers, n_layers)
        own_figure = ax is None
        ax = new_axes("LayerHistoryDisplay.plot") if own_figure else ax
        import matplotlib as mpl

        colormap = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
        depth = mpl.colors.Normalize(vmin=1, vmax=max(n_layers, 2))
        name = self.name if name is None else name
        steps = np.arange(1, values.shape[0] + 1)
        self.lines_ = {}
        for layer in layers:
            label = f"layer {layer}" if name is None else f"{name}: layer {layer}"
            style = {"label": label, "color": colormap(depth(layer)), **kwargs}
            (self.lines_[layer],) = ax.plot(steps, values[:, layer - 1], **style)
        ax.set_yscale("log")
        ax.set_xlabel(self.step)
        label = STATISTIC_LABELS.get(statistic, statistic)
        ax.set_ylabel(f"{label} (log scale)")
        title = f"{label} of each layer during training"
        ax.set_title(title if name is None else f"{name}: {title}")
        ax.xaxis.get_major_locator().set_params(integer=True)
        self.colorbar_ = None
        if "color" not in kwargs and "c" not in kwargs:
            mappable = mpl.cm.ScalarMappable(norm=depth, cmap=colormap)
            self.colorbar_ = ax.figure.colorbar(mappable, ax=ax, pad=0.02)
            self.colorbar_.set_label("layer l")
            self.colorbar_.ax.yaxis.get_major_locator().set_params(integer=True)
        if own_figure:
            ax.figure.tight_layout()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @staticmethod
    def _layers(layers, n_layers):
        if layers is None:
            return list(range(1, n_layers + 1))
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
