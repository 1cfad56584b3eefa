"""GradientCheckDisplay: each block's difference on the verdict scale."""

import numpy as np

from ..gradcheck import check_gradients
from ._estimators import checker_of, unwrap
from ._plotting import FLOOR, VERDICT_COLORS, field, get_ax


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
        checker : GradientChecker or Pipeline
            Fitted (or a fitted Pipeline ending in one); its ``reports_``
            ('init', 'fitted') are drawn as grouped bars.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        **kwargs : dict
            Passed to ``matplotlib.axes.Axes.bar``.

        Returns
        -------
        display : GradientCheckDisplay
        """
        checker = checker_of(checker, what="GradientCheckDisplay.from_checker")
        return cls(checker.reports_).plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, name=None, ax=None, **check_params):
        """Run :func:`~sk_dlsetup.check_gradients` and plot its report.

        Parameters
        ----------
        estimator : object
            An initialized or fitted model following the objective protocol,
            a fitted GradientChecker (its trained model is checked), or a
            fitted Pipeline ending in either (X goes through its earlier
            steps).
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

        estimator, X = unwrap(estimator, X, what="GradientCheckDisplay")
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
        ax = get_ax(ax, "GradientCheckDisplay.plot")
        first = next(iter(self.reports.values()))
        pass_at = float(getattr(first, "pass_threshold", 1e-6))
        fail_at = float(getattr(first, "fail_threshold", 1e-3))
        names = [field(row, "name") for row in first.blocks]
        width = 0.8 / len(self.reports)
        x = np.arange(len(names))
        heights_seen, self.bars_ = [], {}
        for k, (label, report) in enumerate(self.reports.items()):
            rows = {field(row, "name"): row for row in report.blocks}
            values = np.array(
                [field(rows.get(n, {}), "difference", np.nan) for n in names],
                dtype=float,
            )
            finite = np.isfinite(values)
            heights = np.where(finite, np.maximum(values, FLOOR), 1.0)
            heights_seen.append(heights)
            offset = (k - (len(self.reports) - 1) / 2) * width
            verdicts = [field(rows.get(n, {}), "verdict", None) for n in names]
            style = {"label": self._label(label, report), **kwargs}
            bars = ax.bar(x + offset, heights, width * 0.9, **style)
            for bar, verdict, ok in zip(bars, verdicts, finite):
                if verdict == "fail":
                    bar.set_edgecolor(VERDICT_COLORS["fail"])
                    bar.set_linewidth(2.0)
                if not ok:
                    ax.annotate(
                        "nan",
                        (bar.get_x() + bar.get_width() / 2, 0.5),
                        ha="center",
                        color=VERDICT_COLORS["fail"],
                    )
            if show_noise:
                noise = [field(rows.get(n, {}), "noise", None) for n in names]
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
        if len(names) > 12:  # a deep network: upright names would overlap
            ax.set_xticks(x, names, rotation=90, fontsize="x-small")
        else:
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
            ax.axhspan(bottom, top, color=VERDICT_COLORS[verdict], alpha=0.08, lw=0)
        self.threshold_lines_ = {
            verdict: ax.axhline(
                value,
                color=VERDICT_COLORS[color],
                linestyle="--",
                linewidth=1,
                label=f"{verdict} threshold {value:.0e}",
            )
            for verdict, value, color in (
                ("pass", pass_at, "pass"),
                ("fail", fail_at, "fail"),
            )
        }
