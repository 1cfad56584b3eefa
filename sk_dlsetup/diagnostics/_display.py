"""Plots of the why-numbers, in scikit-learn's Display style.

Each Display holds the numbers it draws; ``from_estimator`` / ``from_report``
compute them and call ``plot(ax=...)``, which draws on ``ax`` (or a new figure)
and stores the matplotlib objects as attributes ending in ``_``. matplotlib is
an optional dependency, imported only when something is drawn.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..gradcheck import check_gradients
from ._layer_statistics import layer_statistics

_VERDICT_COLORS = {"pass": "#1a7f37", "warn": "#bf8700", "fail": "#cf222e"}
_LOG_STATISTICS = {
    "preactivation_std",
    "activation_std",
    "dW_norm",
    "db_norm",
}
_STATISTIC_LABELS = {
    "preactivation_mean": "mean of Z[l]",
    "preactivation_std": "std of Z[l]",
    "activation_mean": "mean of A[l]",
    "activation_std": "std of A[l]",
    "dead_fraction": "fraction of dead units",
    "dW_norm": "||dW[l]||",
    "db_norm": "||db[l]||",
    "W_norm": "||W[l]||",
}
_FLOOR = 1e-18  # where a difference of exactly 0 is drawn on the log axis


def _pyplot(what):
    """matplotlib.pyplot, or an ImportError saying how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{what} requires matplotlib: pip install 'sk_dlsetup[plot]'"
        ) from exc
    return plt


def _get_ax(ax, what):
    plt = _pyplot(what)
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _field(row, key, default=None):
    """``row.key`` or ``row[key]``: report rows may be objects or mappings."""
    if hasattr(row, key):
        return getattr(row, key)
    try:
        return row[key]
    except (KeyError, TypeError, IndexError):
        return default


def _final_step(estimator):
    """The last step of a Pipeline, or the estimator itself."""
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def _estimator_name(estimator):
    estimator = _final_step(estimator)
    name = type(estimator).__name__
    init = getattr(estimator, "init", None)
    activation = getattr(estimator, "activation", None)
    details = [str(v) for v in (activation, init) if isinstance(v, str)]
    return f"{name} ({', '.join(details)})" if details else name


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
        name = _estimator_name(estimator) if name is None else name
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
        ax = _get_ax(ax, "LayerStatisticsDisplay.plot")
        name = self.name if name is None else name
        layers = [row["layer"] for row in self.stats]
        markers = "os^vD"
        self.lines_ = {}
        for i, key in enumerate(statistics):
            label = _STATISTIC_LABELS.get(key, key)
            if len(statistics) == 1 or name is None:
                label = name or label
            else:
                label = f"{name}: {label}"
            style = {"marker": markers[i % len(markers)], "label": label, **kwargs}
            values = [row[key] for row in self.stats]
            (self.lines_[key],) = ax.plot(layers, values, **style)
        if all(key in _LOG_STATISTICS for key in statistics):
            ax.set_yscale("log")
        ax.set_xlabel("layer l")
        if len(statistics) == 1:
            ax.set_ylabel(_STATISTIC_LABELS.get(statistics[0], statistics[0]))
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
        estimator = _final_step(estimator)
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
        ax = _get_ax(ax, "LayerHistoryDisplay.plot")
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
        ax.set_ylabel(_STATISTIC_LABELS.get(statistic, statistic))
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


class GradientCheckDisplay:
    """A gradient-check report as a bar chart of per-block differences.

    One bar per parameter block (``W1, b1, ...``) at the block's relative
    difference, on a log axis banded by the verdict scale: below the pass
    threshold (about 1e-7: great), between the thresholds (about 1e-5: look
    closely), above the fail threshold (1e-3: very likely a bug). Several
    reports (e.g. at initialization and after training) are drawn as grouped
    bars. A short black tick on a bar marks the difference that
    finite-difference noise alone would explain for that block.

    Parameters
    ----------
    reports : dict of {str: GradientCheckReport}
        The reports to draw, by legend label.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes drawn on.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.
    bars_ : dict of {str: matplotlib BarContainer}
        The bars of each report.
    threshold_lines_ : dict of {str: matplotlib Line2D}
        The 'pass' and 'fail' threshold lines.

    See Also
    --------
    sk_dlsetup.check_gradients : Builds a report.
    sk_dlsetup.GradientChecker : Checks at initialization and after training.

    Notes
    -----
    A difference of exactly 0 is drawn at 1e-18; a non-finite one reaches the
    top of the axes and is labelled "nan".

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sk_dlsetup import MLPFromScratch, check_gradients
    >>> from sk_dlsetup.diagnostics import GradientCheckDisplay
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(30, 4), rng.randint(0, 3, 30)
    >>> net = MLPFromScratch((5,), activation="tanh", random_state=0).initialize(X, y)
    >>> report = check_gradients(net, X, y)
    >>> display = GradientCheckDisplay.from_report(report)
    >>> [bool(bar.get_height() < 1e-6) for bar in display.bars_["report"]]
    [True, True, True, True]
    >>> sorted(display.threshold_lines_)
    ['fail', 'pass']
    """

    def __init__(self, reports):
        self.reports = dict(reports)

    @classmethod
    def from_report(cls, report, *, name=None, ax=None, **kwargs):
        """Plot one report.

        Parameters
        ----------
        report : GradientCheckReport
            From :func:`~sk_dlsetup.check_gradients`.
        name : str, default=None
            Legend label; by default the report's stage, else "report".
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        **kwargs : dict
            Passed to ``matplotlib.axes.Axes.bar``.

        Returns
        -------
        display : GradientCheckDisplay
        """
        if name is None:
            name = getattr(report, "stage", None) or "report"
        return cls({name: report}).plot(ax=ax, **kwargs)

    @classmethod
    def from_checker(cls, checker, *, ax=None, **kwargs):
        """Plot a fitted :class:`~sk_dlsetup.GradientChecker`'s reports side by side.

        Parameters
        ----------
        checker : GradientChecker
            Fitted; its ``reports_`` ('init', 'fitted') are drawn as grouped bars.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        **kwargs : dict
            Passed to ``matplotlib.axes.Axes.bar``.

        Returns
        -------
        display : GradientCheckDisplay
        """
        reports = getattr(checker, "reports_", None)
        if reports is None:
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                "This GradientChecker is not fitted yet: no reports_ to plot."
            )
        return cls(reports).plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, name=None, ax=None, **check_params):
        """Run :func:`~sk_dlsetup.check_gradients` and plot its report.

        Parameters
        ----------
        estimator : object
            An initialized or fitted model following the objective protocol.
        X : array-like of shape (n_samples, n_features)
            The rows the check is run on.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.
        name : str, default=None
            Legend label.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        **check_params : dict
            Passed to :func:`~sk_dlsetup.check_gradients` (``epsilon``,
            ``mode``, ...).

        Returns
        -------
        display : GradientCheckDisplay
        """

        report = check_gradients(estimator, X, y, **check_params)
        return cls.from_report(report, name=name, ax=ax)

    def plot(self, ax=None, *, show_noise=True, **kwargs):
        """Draw the grouped bars, the threshold lines and the verdict bands.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        show_noise : bool, default=True
            Mark each block's estimated finite-difference noise level.
        **kwargs : dict
            Passed to ``matplotlib.axes.Axes.bar``.

        Returns
        -------
        display : GradientCheckDisplay
            ``self``, with ``ax_``, ``figure_``, ``bars_`` and
            ``threshold_lines_`` set.
        """
        ax = _get_ax(ax, "GradientCheckDisplay.plot")
        first = next(iter(self.reports.values()))
        pass_at = float(getattr(first, "pass_threshold", 1e-6))
        fail_at = float(getattr(first, "fail_threshold", 1e-3))
        names = [_field(row, "name") for row in first.blocks]
        width = 0.8 / len(self.reports)
        x = np.arange(len(names))
        heights_seen, self.bars_ = [], {}
        for k, (label, report) in enumerate(self.reports.items()):
            rows = {_field(row, "name"): row for row in report.blocks}
            values = np.array(
                [_field(rows.get(n, {}), "difference", np.nan) for n in names],
                dtype=float,
            )
            finite = np.isfinite(values)
            heights = np.where(finite, np.maximum(values, _FLOOR), 1.0)
            heights_seen.append(heights)
            offset = (k - (len(self.reports) - 1) / 2) * width
            verdicts = [_field(rows.get(n, {}), "verdict", None) for n in names]
            style = {"label": self._label(label, report), **kwargs}
            bars = ax.bar(x + offset, heights, width * 0.9, **style)
            for bar, verdict, ok in zip(bars, verdicts, finite):
                if verdict == "fail":
                    bar.set_edgecolor(_VERDICT_COLORS["fail"])
                    bar.set_linewidth(2.0)
                if not ok:
                    ax.annotate(
                        "nan",
                        (bar.get_x() + bar.get_width() / 2, 0.5),
                        ha="center",
                        color=_VERDICT_COLORS["fail"],
                    )
            if show_noise:
                noise = [_field(rows.get(n, {}), "noise", None) for n in names]
                if any(v is not None for v in noise):
                    noise = np.array(
                        [np.nan if v is None else v for v in noise], dtype=float
                    )
                    noise = np.where(noise > 0, noise, np.nan)
                    ax.plot(
                        x + offset,
                        noise,
                        linestyle="none",
                        marker="_",
                        markersize=12,
                        color="black",
                        label="noise level" if k == 0 else None,
                    )
            self.bars_[label] = bars
        self._draw_scale(ax, pass_at, fail_at, np.concatenate(heights_seen))
        ax.set_xticks(x, names)
        ax.set_xlabel("parameter block")
        ax.set_ylabel("relative difference")
        ax.legend(loc="best", fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @staticmethod
    def _label(label, report):
        verdict = getattr(report, "verdict", None)
        difference = getattr(report, "difference", None)
        if verdict is None or difference is None:
            return str(label)
        return f"{label}: {verdict} ({difference:.1e})"

    def _draw_scale(self, ax, pass_at, fail_at, heights):
        ax.set_yscale("log")
        low = min(float(np.min(heights)), pass_at) / 10
        high = max(float(np.max(heights)), fail_at) * 10
        ax.set_ylim(low, high)
        bands = (
            (low, pass_at, "pass"),
            (pass_at, fail_at, "warn"),
            (fail_at, high, "fail"),
        )
        for bottom, top, verdict in bands:
            ax.axhspan(bottom, top, color=_VERDICT_COLORS[verdict], alpha=0.08, lw=0)
        self.threshold_lines_ = {
            verdict: ax.axhline(
                value,
                color=_VERDICT_COLORS[color],
                linestyle="--",
                linewidth=1,
                label=f"{verdict} threshold {value:.0e}",
            )
            for verdict, value, color in (
                ("pass", pass_at, "pass"),
                ("fail", fail_at, "fail"),
            )
        }
