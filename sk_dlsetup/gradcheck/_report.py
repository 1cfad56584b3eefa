"""The result of a gradient check: per-block rows, verdict, table and HTML views."""

import html
from dataclasses import dataclass, field, fields

import numpy as np

from .._text import fmt, text_table

VERDICTS = ("pass", "warn", "fail")
#: A row's verdict may also be 'unresolved': none of its entries could be
#: judged. It ranks with 'pass' (it never makes a report worse).
_RANK = {"unresolved": 0, "pass": 0, "warn": 1, "fail": 2}


class GradientCheckError(RuntimeError):
    """Backpropagation disagrees with finite differences.

    Raised by :class:`~sk_dlsetup.GradientChecker` (``on_failure='raise'``) when
    a check's verdict is 'fail'. The failing report is kept in ``report``.

    Parameters
    ----------
    message : str
        What failed, where, and by how much.
    report : GradientCheckReport or None, default=None
        The failing report.

    See Also
    --------
    GradientCheckWarning : The warning issued with ``on_failure='warn'``.

    Examples
    --------
    >>> from sk_dlsetup import GradientCheckError
    >>> error = GradientCheckError("dW2 is twice too large")
    >>> isinstance(error, RuntimeError), error.report is None
    (True, True)
    """

    def __init__(self, message, report=None):
        super().__init__(message)
        self.report = report


class GradientCheckWarning(UserWarning):
    """A gradient check failed and the checker was asked to warn, not raise.

    Issued by :class:`~sk_dlsetup.GradientChecker` with ``on_failure='warn'``.

    See Also
    --------
    GradientCheckError : The exception raised with ``on_failure='raise'``.

    Examples
    --------
    >>> import warnings
    >>> from sk_dlsetup import GradientCheckWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("b1 is four times too large", GradientCheckWarning)
    >>> caught[0].category.__name__
    'GradientCheckWarning'
    """


@dataclass(frozen=True)
class BlockCheck:
    """The check of one parameter block (``W1``, ``b1``, ...): one row of a report.

    Fields are attributes, and also keys (``row["ratio"]``, ``dict(row)``).

    Attributes
    ----------
    name : str
        The block's name, from the objective's ``blocks``.
    shape : tuple of int
        The block's shape.
    difference : float
        The block's own relative difference over its checked entries, kinks
        excluded (see :class:`GradientCheckReport`); NaN if not finite.
    worst_index : tuple of int or None
        Index, in the block's shape, of the entry with the largest absolute
        error; None when the block was checked through directions only.
    n_checked : int
        Entries (or directions) evaluated, kink-crossing ones included.
    n_kinks : int
        Entries whose two evaluations saw a ReLU pre-activation change sign;
        left out of ``difference`` and ``verdict``.
    n_unresolved : int
        Entries whose analytic and numeric values both lie below their error
        bound: finite differences cannot see that gradient at this step
        (vanishing, a plateau). Left out of ``difference`` and ``verdict``.
    ratio : float
        Median of analytic / numeric over entries whose numeric value stands
        clear of the noise: a constant ratio other than 1 is a scaling bug.
        NaN when no entry qualifies.
    verdict : {'pass', 'warn', 'fail', 'unresolved'}
        The block's verdict; 'unresolved' when every entry was (nothing of
        the block could be judged).
    size : int
        Number of entries of the block.
    mode : {'full', 'sampled', 'directional'}
        How the block was checked (a failing directional check is re-checked
        entry by entry, see ``escalated``).
    epsilon : float
        The step used for this block.
    noise : float
        The difference the entries' error bounds (round-off plus truncation)
        would explain: the norm of the bounds of the resolved entries over
        ``||a|| + ||g||``.
    analytic, numeric : float
        The two values at ``worst_index`` (of the worst direction in
        directional mode).
    escalated : bool
        True when a failing directional check was redone entry by entry.
    kink_difference : float
        The kink-crossing entries re-checked with the one-sided difference on
        the side away from the kink (truncation error ``O(eps)``): their
        relative difference, for information only (never in the verdict). NaN
        when no entry could be re-checked (no kink, a kink on both sides,
        directions, or an objective without ``kink_signature``).
    entries : ndarray of int or None
        Flat indices (in the block) of the checked entries; None for directions.
    numeric_values, analytic_values : ndarray
        The checked values, aligned with ``entries`` (or the directions).
    kinks : ndarray of bool
        Which of them crossed a kink.
    one_sided_values : ndarray
        The one-sided re-checks of kink entries (NaN elsewhere).
    bounds : ndarray
        Each value's error bound: what a correct gradient may show there.
    detectable_error : float
        Directional rows: the smallest error ``delta`` of the block's gradient,
        as ``||delta|| / ||g||``, that this check catches ('fail') with
        probability at least 0.999 whatever ``delta``'s direction, given the
        directions used and their error bounds (see the user guide's "How
        accurate is a gradient check?"). NaN for rows checked entry by entry.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dlsetup import check_gradients
    >>> report = check_gradients(lambda w: float(w @ w), lambda w: 2 * w,
    ...                          np.array([1.0, -2.0]))
    >>> row = report.blocks[0]
    >>> row.name, row.verdict, row.n_checked, row.worst_index in [(0,), (1,)]
    ('theta', 'pass', 2, True)
    >>> sorted(row.to_dict())[:4]
    ['analytic', 'detectable_error', 'difference', 'epsilon']
    """

    name: str
    shape: tuple
    difference: float
    worst_index: tuple | None
    n_checked: int
    n_kinks: int
    ratio: float
    verdict: str
    size: int
    mode: str
    epsilon: float
    noise: float
    analytic: float
    numeric: float
    escalated: bool = False
    kink_difference: float = np.nan
    n_unresolved: int = 0
    detectable_error: float = np.nan
    entries: np.ndarray | None = field(default=None, repr=False, compare=False)
    numeric_values: np.ndarray | None = field(default=None, repr=False, compare=False)
    analytic_values: np.ndarray | None = field(default=None, repr=False, compare=False)
    kinks: np.ndarray | None = field(default=None, repr=False, compare=False)
    one_sided_values: np.ndarray | None = field(default=None, repr=False, compare=False)
    bounds: np.ndarray | None = field(default=None, repr=False, compare=False)

    _ARRAYS = (
        "entries",
        "numeric_values",
        "analytic_values",
        "kinks",
        "one_sided_values",
        "bounds",
    )

    def keys(self):
        """The scalar fields, as for a mapping."""
        return [f.name for f in fields(self) if f.name not in self._ARRAYS]

    def __eq__(self, other):
        """Equal scalar fields, a NaN equal to a NaN: a row equals its own copy,
        a pickle round trip included (``kink_difference`` is NaN by default)."""
        if not isinstance(other, BlockCheck):
            return NotImplemented
        return all(_same(self[key], other[key]) for key in self.keys())

    def __hash__(self):
        return hash((self.name, self.shape, self.verdict))

    def __getitem__(self, key):
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def to_dict(self):
        """The scalar fields as plain Python values."""
        return {key: _plain(getattr(self, key)) for key in self.keys()}


def _plain(value):
    """numpy scalars and tuples of them as plain Python values."""
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


_REPORT_FIELDS = (
    "verdict",
    "passed",
    "difference",
    "mode",
    "requested_mode",
    "epsilon",
    "pass_threshold",
    "fail_threshold",
    "n_params",
    "n_checked",
    "n_kinks",
    "n_unresolved",
    "loss",
    "gradient_norm",
    "noise",
    "regularization_share",
    "engine",
    "method",
    "stage",
    "notes",
)


class GradientCheckReport:
    """What a gradient check found, block by block.

    The relative difference of analytic gradients :math:`g` (backprop) and
    central finite differences :math:`a`, over the checked entries :math:`C`
    (kink-crossing entries left out), is

    .. math::

        \\text{difference} = \\frac{\\lVert a_C - g_C \\rVert_2}
            {\\lVert a_C \\rVert_2 + \\lVert g_C \\rVert_2},
        \\qquad
        a_i = \\frac{J(\\theta + \\varepsilon e_i) - J(\\theta - \\varepsilon e_i)}
            {2 \\varepsilon}

    (0 when both norms are 0). About 1e-7 is great, about 1e-5 deserves a look,
    1e-3 or more is very likely a bug. In directional mode :math:`e_i` are random
    unit directions within a block and :math:`g_i = g \\cdot e_i`.

    Reports are built by :func:`~sk_dlsetup.check_gradients`; print one for a
    table, call :meth:`to_dict` for plain data, or display it in a notebook.

    Parameters
    ----------
    **attributes
        The attributes below, by name.

    Attributes
    ----------
    difference : float
        Over every checked entry of every block.
    verdict : {'pass', 'warn', 'fail'}
        'pass' below ``pass_threshold``, 'fail' at ``fail_threshold`` or above
        or when not finite, 'warn' between. Noise-aware: a block whose error is
        within the estimated finite-difference noise is never 'fail', and one
        whose error stands 1000 times above it is 'fail' from
        ``pass_threshold`` on. The report's verdict is the worst of its blocks'
        and of the overall difference's; 'warn' when no entry at all could be
        resolved (nothing was checked).
    passed : bool
        ``verdict != 'fail'``.
    blocks : list of BlockCheck
        One row per parameter block, in theta's order.
    mode : {'full', 'sampled', 'directional'}
        The mode used.
    requested_mode : {'auto', 'full', 'sampled', 'directional'}
        The mode asked for.
    epsilon : float, 'auto' or 'default'
        The step asked for (the steps used are in the rows): 'default' when
        left at its default with a method other than 'central', which takes
        its own step.
    pass_threshold, fail_threshold : float
        The verdict scale.
    n_params, n_checked, n_kinks : int
        Size of theta, entries (or directions) evaluated, kink-crossing ones.
    n_unresolved : int
        Entries below what finite differences resolve (see
        :class:`BlockCheck`), left out of the difference and the verdict.
    loss : float
        ``J(theta0)``.
    gradient_norm : float
        Norm of the analytic gradient.
    noise : float
        Estimated round-off of one evaluation of ``J``.
    regularization_share : float or None
        ``||g_L2|| / (||g_L2|| + ||g - g_L2||)``: the share of the gradient norm
        coming from the L2 term (None if the objective cannot tell).
    engine : {'mlp-fast', 'plain'}
        How finite differences were computed.
    worst_block : str or None
        The block to look at first: the worst verdict, then the largest
        difference (None when every block passes or is unresolved).
    method : {'central', 'richardson', 'complex'}
        Which differences: central, Richardson-extrapolated central, or the
        complex step.
    stage : str or None
        Set by :class:`~sk_dlsetup.GradientChecker`: 'init' or 'fitted'.
    notes : list of str
        Kinks, noise-limited blocks, escalations, a dominating L2 term, ...

    See Also
    --------
    check_gradients : Builds a report.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dlsetup import MLPFromScratch, check_gradients
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(20, 3), rng.randint(0, 2, 20)
    >>> model = MLPFromScratch(hidden_layer_sizes=(4,), random_state=0)
    >>> report = check_gradients(model.initialize(X, y), X, y)
    >>> report.verdict, report.mode, [row.name for row in report.blocks]
    ('pass', 'full', ['W1', 'b1', 'W2', 'b2'])
    >>> report["b1"].shape, report.to_dict()["n_checked"]
    ((4,), 21)
    """

    def __init__(self, **attributes):
        missing = set(_REPORT_FIELDS) - {"passed"} - set(attributes) - {"blocks"}
        if missing or "blocks" not in attributes:
            raise TypeError(f"missing report attributes: {sorted(missing)}")
        for name, value in attributes.items():
            setattr(self, name, value)

    @property
    def passed(self):
        """``verdict != 'fail'``."""
        return self.verdict != "fail"

    @property
    def worst_block(self):
        """Name of the block with the worst verdict, then largest difference.

        None when every block passes (or is unresolved).
        """
        worst = max(self.blocks, key=_severity, default=None)
        if worst is None or _RANK[worst.verdict] == 0:
            return None
        return worst.name

    def __getitem__(self, name):
        for row in self.blocks:
            if row.name == name:
                return row
        raise KeyError(name)

    def __iter__(self):
        return iter(self.blocks)

    def __len__(self):
        return len(self.blocks)

    def to_dict(self):
        """The report as plain Python data (rows as dicts, no arrays)."""
        data = {name: _plain(getattr(self, name)) for name in _REPORT_FIELDS}
        data["notes"] = list(self.notes)
        data["worst_block"] = self.worst_block
        data["blocks"] = [row.to_dict() for row in self.blocks]
        return data

    def __repr__(self):
        return (
            f"<GradientCheckReport verdict={self.verdict!r} "
            f"difference={fmt(self.difference)} mode={self.mode!r} "
            f"blocks={len(self.blocks)}>"
        )

    # ----------------------------------------------------------------- views

    def _header(self):
        where = "" if self.stage is None else f" at {self.stage!r}"
        scale = (
            f"pass < {self.pass_threshold:.0e} <= warn < "
            f"{self.fail_threshold:.0e} <= fail"
        )
        return (
            f"Gradient check{where}: {self.verdict.upper()}, "
            f"difference {fmt(self.difference)} ({scale})"
        )

    def _summary(self):
        epsilons = sorted({row.epsilon for row in self.blocks})
        if self.epsilon in ("auto", "default"):
            step = f"{self.epsilon} (" + ", ".join(fmt(e) for e in epsilons) + ")"
        else:
            step = fmt(self.epsilon)
        share = (
            "n/a"
            if self.regularization_share is None
            else f"{100 * self.regularization_share:.1f}%"
        )
        return (
            f"mode {self.mode}, method {self.method}, epsilon {step}, "
            f"engine {self.engine}, "
            f"{self.n_checked} checked of {self.n_params} parameters, "
            f"{self.n_kinks} kinks, {self.n_unresolved} unresolved, "
            f"J = {fmt(self.loss)}, "
            f"noise {fmt(self.noise)}, L2 share of gradient {share}"
        )

    def _table(self):
        head = ["block", "shape", "difference", "worst index", "checked", "kinks"]
        head += ["unresolved", "ratio", "verdict"]
        rows = [
            [
                row.name,
                str(row.shape),
                fmt(row.difference),
                "-" if row.worst_index is None else str(row.worst_index),
                str(row.n_checked) + ("*" if row.mode == "directional" else ""),
                str(row.n_kinks),
                str(row.n_unresolved),
                _fmt_ratio(row.ratio),
                row.verdict,
            ]
            for row in self.blocks
        ]
        rows.append(
            ["all", "", fmt(self.difference), "", str(self.n_checked)]
            + [str(self.n_kinks), str(self.n_unresolved), "", self.verdict]
        )
        return head, rows

    def __str__(self):
        lines = [self._header(), self._summary(), text_table(*self._table())]
        if any(row.mode == "directional" for row in self.blocks):
            lines.append("* directions, not entries")
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    def _repr_html_(self):
        head, rows = self._table()
        esc = html.escape
        colors = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e"}

        def cells(tag, values):
            return "".join(f"<{tag}>{esc(v)}</{tag}>" for v in values)

        body = "".join(
            f'<tr style="color:{colors.get(r[-1], "inherit")}">{cells("td", r)}</tr>'
            for r in rows
        )
        notes = "".join(f"<li>{esc(note)}</li>" for note in self.notes)
        return (
            f"<div><p><b>{esc(self._header())}</b><br>{esc(self._summary())}</p>"
            f"<table><thead><tr>{cells('th', head)}</tr></thead>"
            f"<tbody>{body}</tbody></table>"
            + (f"<ul>{notes}</ul>" if notes else "")
            + "</div>"
        )


def _severity(row):
    rank = _RANK[row.verdict]
    difference = row.difference if np.isfinite(row.difference) else np.inf
    return rank, difference


def _fmt_ratio(value):
    return "n/a" if not np.isfinite(value) else f"{value:.4g}"


def _same(a, b):
    """``a == b``, or both NaN."""
    if a == b:
        return True
    return isinstance(a, float) and isinstance(b, float) and a != a and b != b
