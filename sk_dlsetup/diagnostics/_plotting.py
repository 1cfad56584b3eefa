"""What every Display shares: matplotlib on demand, labels, colours, names.

Each Display (:mod:`._layer_displays`, :mod:`._gradcheck_display`) holds the
numbers it draws; ``from_estimator`` / ``from_report`` compute them and call
``plot(ax=...)``, which draws on ``ax`` (or a new figure) and stores the
matplotlib objects as attributes ending in ``_``. matplotlib is an optional
dependency, imported only when something is drawn.
"""

from ._estimators import final_step

VERDICT_COLORS = {"pass": "#1a7f37", "warn": "#bf8700", "fail": "#cf222e"}
LOG_STATISTICS = {
    "preactivation_std",
    "activation_std",
    "dW_norm",
    "db_norm",
}
STATISTIC_LABELS = {
    "preactivation_mean": "mean of Z[l]",
    "preactivation_std": "std of Z[l]",
    "activation_mean": "mean of A[l]",
    "activation_std": "std of A[l]",
    "dead_fraction": "fraction of dead units",
    "dW_norm": "||dW[l]||",
    "db_norm": "||db[l]||",
    "W_norm": "||W[l]||",
}
FLOOR = 1e-18  # where a difference of exactly 0 is drawn on the log axis


def pyplot_or_error(what):
    """matplotlib.pyplot, or an ImportError saying how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{what} requires matplotlib: pip install matplotlib (or "
            "pip install '.[plot]' from a clone of sk_dlsetup)"
        ) from exc
    return plt


#: How the statistics drawn together on one axes tell themselves apart (the
#: colour belongs to the network: one per init when several share the axes).
STATISTIC_STYLES = (("-", "o", "solid"), ("--", "s", "dashed"), (":", "^", "dotted"))


def get_ax(ax, what):
    plt = pyplot_or_error(what)
    if ax is None:
        _, ax = plt.subplots()
    return ax


def new_axes(what, figsize=None):
    """A fresh figure's axes (the Display then owns its layout)."""
    plt = pyplot_or_error(what)
    _, ax = plt.subplots(figsize=figsize)
    return ax


#: The gid prefix of the one line per network that names it in the legend.
NETWORK_GID = "sk_dlsetup-network:"


def legend_outside(ax, title=None):
    """One entry per network, to the right of the axes: it covers no line.

    A line whose gid is :data:`NETWORK_GID` + name stands for its network; the
    other lines of a network share its colour and are told apart by the y
    label.
    """
    handles = [
        line
        for line in ax.get_lines()
        if (line.get_gid() or "").startswith(NETWORK_GID)
    ]
    labels = [line.get_gid()[len(NETWORK_GID) :] for line in handles]
    return ax.legend(
        handles,
        labels,
        title=title,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
    )


def field(row, key, default=None):
    """``row.key`` or ``row[key]``: report rows may be objects or mappings."""
    if hasattr(row, key):
        return getattr(row, key)
    try:
        return row[key]
    except (KeyError, TypeError, IndexError):
        return default


def estimator_name(estimator):
    estimator, _ = final_step(estimator)
    estimator = getattr(estimator, "estimator_", estimator)  # a GradientChecker
    name = type(estimator).__name__
    init = getattr(estimator, "init", None)
    activation = getattr(estimator, "activation", None)
    details = [str(v) for v in (activation, init) if isinstance(v, str)]
    return f"{name} ({', '.join(details)})" if details else name
